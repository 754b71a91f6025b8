"""The server listens on 127.0.0.1 unless the operator asks otherwise; the Docker image asks (issue 15, item 9)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _effective(option: str, *flags: str) -> str:
    """Streamlit's value of ``option`` when started from the repo root (it reads .streamlit/config.toml there)."""
    code = (
        "import sys; from streamlit import config; "
        "config.get_config_options(options_from_flags=dict(a.split('=', 1) for a in sys.argv[1:])); "
        f"print(config.get_option({option!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code, *flags], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_streamlit_run_binds_to_localhost_by_default():
    assert _effective("server.address") == "127.0.0.1"


def test_the_operator_can_expose_it():
    assert _effective("server.address", "server.address=0.0.0.0") == "0.0.0.0"


def test_the_docker_image_listens_on_every_interface_of_its_container():
    assert '"--server.address=0.0.0.0"' in (ROOT / "Dockerfile").read_text()


def test_readme_says_how_to_expose_it():
    readme = (ROOT / "README.md").read_text()
    assert "--server.address=0.0.0.0" in readme and "127.0.0.1" in readme
