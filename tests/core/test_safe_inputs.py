"""Hostile values on the CLI and in config files: deep or huge JSON, booleans and odd digits, output paths.

Each case gets exit status 2 and one line naming the flag or field, never a traceback (issue 15, items 3, 4, 7, 8)."""

import json
import os

import pytest

from dkvb_core.cli import main
from dkvb_core.config import Config, ConfigError
from dkvb_core.result import RunResult

QUICK = ["--set", "train.steps_per_stage=20", "--set", "record.grid_size=0", "--no-progress"]
DEEP = "[" * 30_000 + "]" * 30_000
HUGE_INT = "9" * 5_000


def _fails_naming(capsys, argv, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.mark.parametrize(
    "value",
    [DEEP, HUGE_INT, "[" + HUGE_INT + "]", '{"a":' * 40 + "1" + "}" * 40],
    ids=["deep", "huge-int", "huge-int-in-list", "deep-objects"],
)
def test_set_value_deep_or_huge(capsys, value):
    _fails_naming(capsys, ["run", *QUICK, "--set", f"dkvb.lr={value}"], "--set dkvb.lr")


@pytest.mark.parametrize(
    "text",
    [DEEP, HUGE_INT, '{"dkvb": {"lr": ' + HUGE_INT + "}}", '{"seed": NaN}'],
    ids=["deep", "huge-int", "huge-int-field", "nan"],
)
def test_config_file_deep_or_huge(capsys, tmp_path, text):
    cfg = tmp_path / "c.json"
    cfg.write_text(text)
    _fails_naming(capsys, ["run", *QUICK, "--config", str(cfg)], "--config")


def test_bounded_loads_names_the_limits():
    from dkvb_core.safe_json import MAX_DEPTH, loads

    with pytest.raises(ConfigError, match=rf"f: nested 30,000 levels deep; at most {MAX_DEPTH}"):
        loads(DEEP, "f")
    with pytest.raises(ConfigError, match="f: a number of 5,000 characters"):
        loads(HUGE_INT, "f")
    assert loads('{"a": "[[[[", "b": [1, 2.5]}', "f") == {"a": "[[[[", "b": [1, 2.5]}  # brackets in strings
    with pytest.raises(ConfigError, match="f: not UTF-8"):
        loads(b'{"a": "\xff"}', "f")


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"dkvb.keys_per_codebook": True}, "dkvb.keys_per_codebook"),
        ({"seed": True}, "seed"),
        ({"seed": False}, "seed"),
        ({"dkvb.lr": True}, "dkvb.lr"),
        ({"seed": "１２"}, "seed"),  # full-width digits
        ({"seed": "1_0"}, "seed"),
        ({"stream.num_classes": " 8"}, "stream.num_classes"),
        ({"stream.stage_classes": [[True, 1]]}, "stream.stage_classes"),
    ],
)
def test_booleans_and_odd_digits_are_not_numbers(update, field):
    with pytest.raises(ConfigError) as info:
        Config().replace(**update)
    assert [f for f, _ in info.value.problems] == [field], info.value.problems


def test_numbers_still_read():
    c = Config().replace(**{"seed": "3", "dkvb.lr": "1e-2", "dkvb.keys_per_codebook": 16.0})
    assert (c.seed, c.dkvb.lr, c.dkvb.keys_per_codebook) == (3, 0.01, 16)


@pytest.mark.parametrize("argv", [["--set", "seed=true"], ["--set", "dkvb.keys_per_codebook=true"]])
def test_cli_boolean_refused(capsys, argv):
    _fails_naming(capsys, ["run", *QUICK, *argv], "true/false")


@pytest.mark.parametrize("seed", ["１２", "1_0", " 5"])
def test_cli_seed_ascii_digits_only(capsys, seed):
    with pytest.raises(SystemExit) as info:
        main(["run", *QUICK, "--seed", seed])
    assert info.value.code == 2
    assert "--seed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--out", ""], "--out: give a file path"),
        (["--save-run", ""], "--save-run: give a file path"),
        (["--out", "/nonexistent-dir/r.json"], "--out: the folder /nonexistent-dir does not exist"),
        (["--save-run", "/nonexistent-dir/r.npz"], "--save-run: the folder"),
        (["--save-run", "r.png"], "--save-run: the file name must end in .json or .npz"),
        (["--out", "a\x00b"], "--out: a file path may not hold control characters"),
    ],
)
def test_output_paths_checked_before_running(capsys, flags, fragment):
    _fails_naming(capsys, ["run", *QUICK, *flags], fragment)


def test_output_path_is_a_folder_or_unwritable(capsys, tmp_path):
    _fails_naming(capsys, ["run", *QUICK, "--out", str(tmp_path)], "--out:", "is a folder")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: the check cannot trigger here
            pytest.skip("running as root: every folder is writable")
        _fails_naming(capsys, ["run", *QUICK, "--out", str(locked / "r.json")], "--out:", "permission denied")
    finally:
        locked.chmod(0o700)


def test_write_failure_names_the_flag(capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    _fails_naming(capsys, ["run", *QUICK, "--out", "/dev/full"], "--out: could not write")


def test_out_equal_to_save_run_refused(capsys, tmp_path):
    same = str(tmp_path / "r.json")
    _fails_naming(capsys, ["run", *QUICK, "--out", same, "--save-run", same], "--save-run: names the same file")


def test_several_seeds_need_a_seed_in_the_name(capsys, tmp_path):
    _fails_naming(capsys, ["run", *QUICK, "--seeds", "3", "--save-run", str(tmp_path / "run.npz")], "{seed}")
    assert not list(tmp_path.iterdir())


def test_several_seeds_save_every_seed(tmp_path):
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "run",
                *QUICK,
                "--seeds",
                "3",
                "--seed",
                "4",
                "--out",
                str(out),
                "--save-run",
                str(tmp_path / "run-{seed}.npz"),
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    for seed in (4, 5, 6):
        back = RunResult.load(tmp_path / f"run-{seed}.npz")
        assert back.config.seed == seed
        assert back.summaries()["dkvb"]["average_accuracy"] == pytest.approx(
            doc["seeds"][str(seed)]["dkvb"]["average_accuracy"]
        )


@pytest.mark.parametrize("path", ["a\x00b", "/etc", "/proc/self/mem"], ids=["nul", "folder", "unreadable"])
@pytest.mark.parametrize("flag", ["--config", "--spec"])
def test_unreadable_input_files_name_the_flag(capsys, path, flag):
    argv = ["run", *QUICK, "--config", path] if flag == "--config" else ["sweep", "--spec", path, "--out", "o"]
    _fails_naming(capsys, argv, f"error: {flag}:")
