"""Sweeps against careless and hostile use (issue 15, items 6 and 14): damaged logs, two sweeps in one
folder, values that collapse, bad --out, Ray absent or unreachable, --max-runs below the seed count."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from dkvb_core.cli import main
from dkvb_core.errors import DataError, DKVBError
from dkvb_core.sweep import load_sweep
from dkvb_core.sweep.executors import check_ray_address
from dkvb_core.sweep.lock import folder_lock
from dkvb_core.sweep.table import RunLog

BASE = {"train": {"steps_per_stage": 15, "models": ["dkvb"]}, "stream": {"train_per_class": 15, "test_per_class": 10}}


def write_spec(path: Path, **extra) -> Path:
    data = {"base": BASE, "axes": {"dkvb.keys_per_codebook": [4, 8]}, "seeds": 1, **extra}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sweep(tmp_path: Path, out: Path, *flags: str, **extra) -> int:
    spec = write_spec(tmp_path / "s.json", **extra)
    return main(["sweep", "--spec", str(spec), "--out", str(out), "--executor", "inline", "--no-progress", *flags])


def _lines(out: Path) -> list[bytes]:
    return (out / "runs.jsonl").read_bytes().splitlines(keepends=True)


def test_damaged_log_lines_are_skipped_with_a_warning_and_redone(tmp_path, capsys):
    out = tmp_path / "out"
    assert sweep(tmp_path, out, seeds=2) == 0
    good = {row["run_id"]: row["metrics"] for row in RunLog(out).read()}
    lines = _lines(out)
    assert len(lines) == 4
    rows = [json.loads(line) for line in lines]
    tampered = dict(rows[2], metrics={**rows[2]["metrics"], "dkvb/average_accuracy": 0.123456})
    no_id = {k: v for k, v in rows[1].items() if k != "config_id"}
    as_text = dict(rows[3], metrics={k: str(v) for k, v in rows[3]["metrics"].items()})
    damaged = [lines[0][:20] + b"\xff\xfe" + lines[0][20:]]
    damaged += [json.dumps(r).encode() + b"\n" for r in (no_id, tampered, as_text)]
    (out / "runs.jsonl").write_bytes(b"".join(damaged))
    capsys.readouterr()
    assert sweep(tmp_path, out, seeds=2) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for fragment in ("line 1: not UTF-8", "line 2: config_id missing", "line 3: checksum", "line 4: metric"):
        assert fragment in err, err
    assert "4 new runs (0 already done)" in err
    redone = {row["run_id"]: row["metrics"] for row in RunLog(out).read()}
    for rid, metrics in good.items():  # the honest numbers again, not the tampered value
        assert {k: v for k, v in redone[rid].items() if not k.endswith("/seconds")} == {
            k: v for k, v in metrics.items() if not k.endswith("/seconds")
        }


def test_a_second_sweep_in_a_locked_folder_is_told_and_stops(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    with folder_lock(out):
        assert sweep(tmp_path, out) == 2
    err = capsys.readouterr().err
    assert "error: --out: another sweep (process" in err and "is running in" in err
    assert not (out / "runs.jsonl").exists() and not (out / "summary.csv").exists()
    assert sweep(tmp_path, out) == 0  # released: the folder is usable again


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ([4, True], "axes.dkvb.keys_per_codebook: must be an integer in [1, 4096], not true/false"),
        ([4, 4.0], "axes: dkvb.keys_per_codebook=4 and dkvb.keys_per_codebook=4.0 give the same config"),
        ([4, "4"], "give the same config"),
    ],
)
def test_axis_values_that_collapse_are_refused(tmp_path, capsys, values, fragment):
    assert sweep(tmp_path, tmp_path / "o", axes={"dkvb.keys_per_codebook": values}) == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize(
    ("out", "fragment"),
    [("", "--out: give a folder"), ("  ", "--out: give a folder"), ("a\x00b", "--out: a folder path may not hold")],
)
def test_bad_out_refused(tmp_path, capsys, out, fragment):
    assert sweep(tmp_path, Path(out) if out.strip() else out) == 2
    assert fragment in capsys.readouterr().err


def test_out_that_is_a_file_refused(tmp_path, capsys):
    f = tmp_path / "f.txt"
    f.write_text("x")
    assert sweep(tmp_path, f) == 2
    assert "--out:" in capsys.readouterr().err and f.read_text() == "x"


def test_nothing_is_written_outside_the_folder_asked_for(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    spec = write_spec(tmp_path / "s.json")
    before = {p for p in tmp_path.rglob("*")}
    assert main(["sweep", "--spec", str(spec), "--out", "a/b", "--executor", "inline", "--no-progress"]) == 0
    new = {p for p in tmp_path.rglob("*")} - before
    assert new and all(p == work / "a" or (work / "a" / "b") in [p, *p.parents] for p in new), new


def test_ray_executor_without_ray_is_refused(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert sweep(tmp_path, tmp_path / "o", "--executor", "ray") == 2
    assert "--executor: ray is not installed" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["nonsense", "host:port", "host:99999", "host:１２"])
def test_ray_address_format_checked(address):
    with pytest.raises(DKVBError, match="--address: expected HOST:PORT"):
        check_ray_address(address)


def test_ray_address_that_does_not_answer_fails_within_the_timeout():
    start = time.monotonic()
    with pytest.raises(DKVBError, match=r"--address: nothing answers at 127\.0\.0\.1:1"):
        check_ray_address("127.0.0.1:1", timeout=1.0)
    assert time.monotonic() - start < 10


def test_joining_a_cluster_that_never_answers_is_given_up():
    """Where something else answers on the port (a proxy), ray.init retries for ever: bounded here."""
    import threading

    from dkvb_core.sweep.executors import _init_within

    release = threading.Event()

    class HangingRay:
        def init(self, **kwargs):
            release.wait(30)

    start = time.monotonic()
    with pytest.raises(DKVBError, match="--address: no Ray cluster answered at h:1 within 1 s"):
        _init_within(HangingRay(), {}, "h:1", timeout=1.0)
    release.set()
    assert time.monotonic() - start < 10


def test_max_runs_below_the_seed_count_makes_progress(tmp_path, capsys):
    out = tmp_path / "out"
    counts = []
    for _ in range(4):
        assert sweep(tmp_path, out, "--max-runs", "2", seeds=3) == 0
        counts.append(len(RunLog(out).read()))
    assert counts == [2, 4, 6, 6]
    assert "6/6 runs, complete" in capsys.readouterr().err


@pytest.mark.parametrize(
    "spec_text",
    ["[" * 30_000 + "]" * 30_000, '{"seeds": ' + "9" * 5000 + "}", "\xff{", '{"axes": {"dkvb.lr": [NaN]}}'],
    ids=["deep", "huge-int", "bad-utf8", "nan"],
)
def test_hostile_spec_files_name_the_fault(tmp_path, capsys, spec_text):
    spec = tmp_path / "s.json"
    spec.write_bytes(spec_text.encode("utf-8", "surrogateescape") if "\xff" not in spec_text else b"\xff{")
    assert main(["sweep", "--spec", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "error: --spec:" in err and "Traceback" not in err


def test_load_sweep_keeps_good_rows_and_reports_bad_ones(tmp_path):
    out = tmp_path / "out"
    assert sweep(tmp_path, out) == 0
    with (out / "runs.jsonl").open("ab") as fh:
        fh.write(b'{"run_id": "x", "metrics": {"dkvb/average_accuracy": "high"}}\n\xff\xfe\n')
    warnings: list[str] = []
    _spec, runs, _summary = load_sweep(out, warnings)
    assert len(runs) == 2 and len(warnings) == 2


@pytest.mark.parametrize(
    "spec_text", ["[" * 30_000 + "]" * 30_000, '{"axes": {"dkvb.lr": [' + "1" * 5000 + "]}}"], ids=["deep", "huge"]
)
def test_load_sweep_with_a_hostile_spec_is_a_data_error(tmp_path, spec_text):
    (tmp_path / "spec.json").write_text(spec_text)
    with pytest.raises(DataError, match="not a valid sweep spec"):
        load_sweep(tmp_path)
