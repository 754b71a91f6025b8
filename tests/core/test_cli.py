"""The CLI: JSON output contract, --set/--config/--seed, clear errors with exit status 2."""

import json
import subprocess
import sys

import pytest

from dkvb_core.cli import main

QUICK = ["--set", "train.steps_per_stage=100", "--set", "record.grid_size=0", "--no-progress"]


def test_run_writes_the_documented_json(tmp_path):
    out = tmp_path / "r.json"
    assert main(["run", "--preset", "toy", *QUICK, "--seed", "3", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["seed"] == 3
    assert set(doc["results"]) == {"dkvb", "linear", "mlp"}
    for res in doc["results"].values():
        R = res["accuracy_matrix"]
        assert len(R) == 4 and all(len(row) == 4 for row in R)
        assert all(0.0 <= v <= 1.0 for row in R for v in row)
        for key in ("average_accuracy", "forgetting", "bwt", "seconds", "online_accuracy"):
            assert isinstance(res[key], float)
        assert res["average_accuracy"] == pytest.approx(sum(R[-1]) / 4)


def test_same_seed_same_json_timings_aside(tmp_path):
    docs = []
    for i in range(2):
        out = tmp_path / f"{i}.json"
        main(["run", *QUICK, "--out", str(out)])
        doc = json.loads(out.read_text())
        doc.pop("wall_seconds")
        for res in doc["results"].values():
            res.pop("seconds")
        docs.append(doc)
    assert docs[0] == docs[1]


def test_config_file_and_set_override(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"dkvb": {"keys_per_codebook": 4}, "train": {"models": ["dkvb"]}}))
    out = tmp_path / "r.json"
    assert main(["run", "--config", str(cfg), *QUICK, "--set", "dkvb.lr=0.5", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["dkvb"]["keys_per_codebook"] == 4 and doc["config"]["dkvb"]["lr"] == 0.5
    assert list(doc["results"]) == ["dkvb"]


def test_save_run_and_several_seeds(tmp_path):
    out, saved = tmp_path / "r.json", tmp_path / "run-1.npz"
    assert main(["run", *QUICK, "--seeds", "2", "--out", str(out), "--save-run", str(tmp_path / "run-{seed}.npz")]) == 0
    assert set(json.loads(out.read_text())["seeds"]) == {"0", "1"}
    assert saved.stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "dkvb.keys_per_codebook=0"], "dkvb.keys_per_codebook: must be an integer in [1, 4096]; got 0"),
        (["--set", "nosuch.field=1"], "unknown section 'nosuch'"),
        (["--set", "dkvb.lr"], "expected SECTION.FIELD=VALUE"),
        (["--preset", "cifar"], "unknown preset 'cifar'"),
        (["--config", "/nonexistent.json"], "no such file"),
        (["--seed", "-1"], "seed: must be an integer in [0, 2147483647]"),
        (["--seeds", "99"], "--seeds: must be an integer in [1, 32]"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, fragment, capsys):
    assert main(["run", *args, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_bad_config_file_json(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["run", "--config", str(bad)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


def test_help_lists_every_field_with_range():
    proc = subprocess.run(
        [sys.executable, "-m", "dkvb_core", "run", "--help"], capture_output=True, text=True, check=True
    )
    assert "dkvb.keys_per_codebook" in proc.stdout and "an integer in [1, 4096]" in proc.stdout
    assert "record.grid_size" in proc.stdout


def test_unknown_flag_exits_non_zero():
    proc = subprocess.run([sys.executable, "-m", "dkvb_core", "run", "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unrecognized arguments: --bogus" in proc.stderr


def test_importing_the_package_is_light():
    # the app's first paint imports dkvb_core for its config; torch and pandas must wait for a run
    code = "import sys, dkvb_core; dkvb_core.Config(); print('torch' in sys.modules, 'pandas' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "False"]
    code = "import sys, dkvb_core; dkvb_core.run; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["True"]


def test_the_baselines_run_from_the_cli_and_their_preset(tmp_path):
    out = tmp_path / "b.json"
    args = ["run", "--preset", "toy", *QUICK, "--set", 'train.models=["replay","ewc","slda"]', "--set", "ewc.lam=3"]
    assert main([*args, "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert list(doc["results"]) == ["replay", "ewc", "slda"] and doc["config"]["ewc"]["lam"] == 3.0
    assert doc["results"]["slda"]["average_accuracy"] > 0.9  # a class-mean classifier on separable toy data
    from dkvb_core import preset
    from dkvb_core.models import model_names

    assert preset("toy-baselines").train.models == model_names() and preset("toy").train.models == (
        "dkvb",
        "linear",
        "mlp",
    )
