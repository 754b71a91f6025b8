"""The CLI's regression runs: the sine presets, --set task=regression, MSE figures in the JSON."""

import json

import pytest

from dkvb_core.cli import main

QUICK = ["--set", "train.steps_per_stage=60", "--set", "record.every=0", "--no-progress"]
MSE_KEYS = (
    "final_mse_lower_is_better",
    "forgetting_mse_lower_is_better",
    "bwt_mse_lower_is_better",
    "online_mse_lower_is_better",
)


@pytest.mark.parametrize("preset", ["sine", "sine-tasks"])
def test_sine_presets_write_mse_figures(tmp_path, preset):
    out = tmp_path / "r.json"
    assert main(["run", "--preset", preset, *QUICK, "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["task"] == "regression"
    assert set(doc["results"]) == {"dkvb", "linear", "mlp", "joint", "replay"}  # every model that can regress
    for res in doc["results"].values():
        E = res["mse_matrix_lower_is_better"]
        assert len(E) == 5 and all(len(row) == 5 for row in E)
        assert all(v >= 0 for row in E for v in row)
        for key in MSE_KEYS:
            assert isinstance(res[key], float), key
        assert "average_accuracy" not in res


def test_set_task_regression_on_the_toy_preset(tmp_path, capsys):
    args = ["run", *QUICK, "--set", "task=regression", "--set", "regression.num_stages=3", "--seeds", "2"]
    assert main([*args, "--set", "dkvb.readout=soft", "--set", "dkvb.topk=4", "--set", "dkvb.temperature=0.1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["config"]["task"] == "regression" and doc["config"]["dkvb"]["readout"] == "soft"
    assert len(doc["results"]["dkvb"]["mse_matrix_lower_is_better"]) == 3
    assert set(doc["seeds"]) == {"0", "1"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "task=ranking"], "task: must be one of 'classification', 'regression'"),
        (["--preset", "sine", "--set", "regression.kind=cosine"], "regression.kind: must be one of"),
        (["--preset", "sine", "--set", "dkvb.temperature=-1"], "dkvb.temperature: must be a number in (0.0, 1000.0]"),
    ],
)
def test_bad_regression_settings_exit_2_naming_the_field(args, message, capsys):
    assert main(["run", *args, "--no-progress"]) == 2
    assert message in capsys.readouterr().err
