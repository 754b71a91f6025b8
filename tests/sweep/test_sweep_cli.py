"""The `sweep` subcommand: bad input exits 2 with the field named; a killed sweep resumes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dkvb_core.cli import main
from dkvb_core.sweep.table import RunLog

REPO = Path(__file__).resolve().parents[2]
BASE = {"train": {"steps_per_stage": 15, "models": ["dkvb"]}, "stream": {"train_per_class": 15, "test_per_class": 10}}


def write_spec(path: Path, **extra) -> Path:
    data = {"base": BASE, "axes": {"dkvb.keys_per_codebook": [4, 8]}, "seeds": 1, **extra}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_sweep_subcommand_runs_and_writes_tables(tmp_path, capsys):
    spec = write_spec(tmp_path / "s.json")
    assert main(["sweep", "--spec", str(spec), "--out", str(tmp_path / "out"), "--executor", "inline"]) == 0
    err = capsys.readouterr().err
    assert "2 configs x 1 seeds = 2 runs" in err and "2/2 runs, complete" in err
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"runs.jsonl", "runs.csv", "summary.csv", "spec.json"}


@pytest.mark.parametrize(
    ("spec_extra", "flags", "expected"),
    [
        ({"axes": {"dkvb.keys": [4]}}, [], "error: axes.dkvb.keys: unknown field"),
        ({"axes": {"dkvb.keys_per_codebook": []}}, [], "error: axes.dkvb.keys_per_codebook: empty list"),
        ({}, ["--executor", "spark"], "error: --executor: must be one of local, ray, inline"),
        ({}, ["--address", "127.0.0.1:1"], "error: --address: only with --executor ray"),
        ({}, ["--workers", "0"], "error: --workers: must be an integer in [1, 256]"),
    ],
)
def test_bad_input_exits_2_naming_the_field(tmp_path, capsys, spec_extra, flags, expected):
    spec = write_spec(tmp_path / "s.json", **spec_extra)
    assert main(["sweep", "--spec", str(spec), "--out", str(tmp_path / "o"), *flags]) == 2
    assert expected in capsys.readouterr().err


def test_missing_spec_file_exits_2(tmp_path, capsys):
    assert main(["sweep", "--spec", str(tmp_path / "none.json"), "--out", str(tmp_path / "o")]) == 2
    assert "error: --spec: no such file" in capsys.readouterr().err


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "dkvb_core", "sweep", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_killed_sweep_resumes_without_redoing_finished_runs(tmp_path):
    """Kill the CLI (and its pool workers) after its first finished run, then run it again."""
    spec = tmp_path / "s.json"
    spec.write_text(
        json.dumps(
            {
                "base": {"train": {"steps_per_stage": 100, "models": ["dkvb", "linear"]}},
                "axes": {"dkvb.keys_per_codebook": [2, 4, 8, 16, 32, 64]},
                "seeds": 2,
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["--spec", str(spec), "--out", str(out), "--workers", "1", "--no-progress"]
    proc = _cli(*args, start_new_session=True)  # its own process group: the pool dies with it
    try:
        deadline = time.monotonic() + 180
        while not RunLog(out).read() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the sweep ended before it could be killed: {proc.communicate()[1]}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    before = RunLog(out).read()
    assert 2 <= len(before) < 12  # at least one config's seeds, not the whole sweep
    again = _cli(*args)
    _, err = again.communicate(timeout=180)
    assert again.returncode == 0, err
    m = re.search(r"(\d+) new runs \((\d+) already done\)", err)
    assert m, err
    assert int(m.group(2)) == len(before) and int(m.group(1)) == 12 - len(before)
    after = RunLog(out).read()
    assert len(after) == 12 and after[: len(before)] == before
    summary = (out / "summary.csv").read_text().splitlines()
    assert len(summary) == 7
