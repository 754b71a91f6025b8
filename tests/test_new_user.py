"""A new user's path (issue 15, item 10): the README creates a virtual environment first and says how to get
torch's CPU build; benchmarks say what they need and skip what is absent."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_first_command_creates_a_virtual_environment():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "python3 -m venv .venv" in first_block
    assert first_block.index("venv") < first_block.index("pip install")


def test_readme_says_how_to_get_the_cpu_build_of_torch():
    assert "PyTorch's CPU wheel index" in README and "--index-url" in README


def test_readme_says_what_the_browser_benchmark_needs():
    flat = " ".join(README.split())
    said = flat[flat.index("`bench_browser.py` needs the test requirements") :][:200]
    assert "requirements-dev.txt" in said and "Chromium" in said


def test_bench_browser_without_playwright_says_what_it_needs(tmp_path):
    (tmp_path / "playwright").mkdir()
    (tmp_path / "playwright" / "__init__.py").write_text("raise ImportError('hidden for this test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_browser.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "requirements-dev.txt" in out.stderr and "Traceback" not in out.stderr


def test_bench_sweep_skips_the_ray_rows_with_a_note_when_ray_is_absent(monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_sweep
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    kinds, note = bench_sweep.executor_kinds(no_ray=False)
    assert "ray" not in kinds and "Ray rows skipped" in note
