"""ruff over the whole repository: the suite fails on a lint or format fault."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    exe = shutil.which("ruff")
    return [exe] if exe else [sys.executable, "-m", "ruff"]


def test_ruff_check_is_clean():
    proc = subprocess.run([*_ruff(), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean():
    proc = subprocess.run([*_ruff(), "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_core_never_imports_ui_or_plotting():
    banned = ("streamlit", "plotly", "altair", "matplotlib")
    offenders = []
    for path in (ROOT / "dkvb_core").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(
                f" {b}" in stripped or f" {b}." in stripped for b in banned
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert not offenders, offenders


def test_core_functions_read_at_once():
    """No function of the core is longer than a screen (about 60 lines; 70 is the hard cap)."""
    import ast

    long = []
    for path in (ROOT / "dkvb_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 70:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, long


def test_only_the_registry_lists_model_names():
    """A catalogue of model names (a literal naming four or more) lives only in the registry."""
    import ast

    from dkvb_core.models import REGISTRY

    names = set(REGISTRY)
    offenders = []
    for folder in ("dkvb_core", "app"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.parts[-2:] == ("models", "__init__.py"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                    items = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                    if len(items & names) >= 4:  # a catalogue, not a default choice
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
