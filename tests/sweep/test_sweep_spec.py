"""Sweep specs: grid and random points, and a clear message naming the field for each bad spec."""

from __future__ import annotations

import json

import pytest

from dkvb_core.errors import ConfigError
from dkvb_core.sweep import load_spec, parse_spec
from dkvb_core.sweep.ids import config_id, run_id


def problems(data, **kw) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_spec(data, **kw)
    return info.value.problems


def test_grid_is_the_product_of_the_axes_in_order():
    spec = parse_spec({"axes": {"dkvb.num_codebooks": [1, 2], "dkvb.keys_per_codebook": [4, 8, 16]}, "seeds": 3})
    assert len(spec.points) == 6 and spec.seeds == [0, 1, 2] and spec.num_runs == 18
    assert spec.points[0] == {"dkvb.num_codebooks": 1, "dkvb.keys_per_codebook": 4}
    assert spec.points[-1] == {"dkvb.num_codebooks": 2, "dkvb.keys_per_codebook": 16}
    assert [c.dkvb.keys_per_codebook for c in spec.configs()[:3]] == [4, 8, 16]
    assert spec.axes == ["dkvb.num_codebooks", "dkvb.keys_per_codebook"]


def test_base_and_preset_apply_under_the_axes():
    spec = parse_spec({"preset": "toy-4-keys", "base": {"train": {"steps_per_stage": 50}}, "axes": {"dkvb.lr": [0.5]}})
    (config,) = spec.configs()
    assert config.dkvb.keys_per_codebook == 4 and config.train.steps_per_stage == 50 and config.dkvb.lr == 0.5


def test_random_points_are_reproducible_and_in_range():
    data = {
        "mode": "random",
        "samples": 12,
        "sample_seed": 7,
        "axes": {
            "dkvb.lr": {"low": 0.001, "high": 1.0, "log": True},
            "dkvb.keys_per_codebook": {"low": 2, "high": 64, "integer": True},
            "dkvb.num_codebooks": [1, 2, 4],
        },
    }
    a, b = parse_spec(data), parse_spec(data)
    assert a.points == b.points and 1 < len(a.points) <= 12
    for p in a.points:
        assert 0.001 <= p["dkvb.lr"] <= 1.0
        assert isinstance(p["dkvb.keys_per_codebook"], int) and 2 <= p["dkvb.keys_per_codebook"] <= 64
        assert p["dkvb.num_codebooks"] in (1, 2, 4)
    assert parse_spec({**data, "sample_seed": 8}).points != a.points


def test_unknown_field_names_it_and_lists_the_sections_fields():
    [(field, msg)] = problems({"axes": {"dkvb.keys": [4, 8]}})
    assert field == "axes.dkvb.keys"
    assert "unknown field" in msg and "keys_per_codebook" in msg


def test_unknown_section_names_the_sections():
    [(field, msg)] = problems({"axes": {"model.lr": [0.1]}})
    assert field == "axes.model.lr" and "dkvb" in msg and "train" in msg


def test_empty_grid_names_the_axis_and_its_range():
    [(field, msg)] = problems({"axes": {"dkvb.keys_per_codebook": []}})
    assert field == "axes.dkvb.keys_per_codebook"
    assert "empty" in msg and "[1, 4096]" in msg


def test_no_axes_is_an_error():
    assert problems({"axes": {}})[0][0] == "axes"
    assert problems({"seeds": 2})[0][0] == "axes"


def test_too_many_runs_for_the_page_points_to_the_cli():
    data = {"axes": {"dkvb.keys_per_codebook": list(range(1, 51)), "dkvb.num_codebooks": [1, 2]}, "seeds": 3}
    [(field, msg)] = problems(data, max_runs=200)
    assert field == "runs"
    assert "100 configs x 3 seeds = 300 runs" in msg and "200" in msg and "python -m dkvb_core sweep" in msg
    assert parse_spec(data).num_runs == 300  # the CLI's limit is higher


def test_out_of_range_value_names_the_axis_range_and_point():
    [(field, msg)] = problems({"axes": {"dkvb.keys_per_codebook": [4, 99999]}})
    assert field == "axes.dkvb.keys_per_codebook"
    assert "[1, 4096]" in msg and "99999" in msg


def test_bad_combination_is_reported_before_any_run():
    [(field, msg)] = problems({"axes": {"dkvb.topk": [1, 8], "dkvb.keys_per_codebook": [4, 16]}})
    assert field == "axes.dkvb.topk" and "dkvb.keys_per_codebook" in msg and "dkvb.topk=8" in msg


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"axes": {"dkvb.lr": [0.1]}, "seeds": 0}, "seeds"),
        ({"axes": {"dkvb.lr": [0.1]}, "seeds": [1, 1]}, "seeds"),
        ({"axes": {"dkvb.lr": [0.1]}, "mode": "bayes"}, "mode"),
        ({"axes": {"dkvb.lr": [0.1]}, "preset": "cifar"}, "preset"),
        ({"axes": {"dkvb.lr": [0.1]}, "base": {"dkvb": {"lr": -1}}}, "base.dkvb.lr"),
        ({"axes": {"dkvb.lr": [0.1]}, "grid": True}, "grid"),
        ({"axes": {"dkvb.lr": 0.1}}, "axes.dkvb.lr"),
        ({"axes": {"dkvb.lr": [0.1, 0.1]}}, "axes.dkvb.lr"),
        ({"axes": {"seed": [1, 2]}}, "axes.seed"),
        ({"mode": "random", "axes": {"dkvb.lr": {"low": 1, "high": 0.1}}}, "axes.dkvb.lr"),
        ({"mode": "random", "axes": {"dkvb.lr": {"low": 0, "high": 1, "log": True}}}, "axes.dkvb.lr"),
        ({"mode": "random", "samples": 0, "axes": {"dkvb.lr": [0.1]}}, "samples"),
    ],
)
def test_each_bad_entry_is_named(data, field):
    assert problems(data)[0][0] == field


def test_load_spec_reports_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_spec(tmp_path / "nope.json")
    assert info.value.problems[0][0] == "--spec" and "no such file" in info.value.problems[0][1]
    bad = tmp_path / "bad.json"
    bad.write_text("{axes: ", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_spec(bad)
    assert "not valid JSON" in info.value.problems[0][1]
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"axes": {"dkvb.lr": [0.1, 0.2]}}), encoding="utf-8")
    assert load_spec(good).num_runs == 2


def test_run_ids_are_stable_and_depend_on_config_and_seed():
    spec = parse_spec({"axes": {"dkvb.lr": [0.1, 0.2]}})
    a, b = spec.configs()
    assert run_id(a, 0) == run_id(a.replace(seed=5), 0)  # the config's own seed is not part of it
    assert run_id(a, 0) != run_id(a, 1) != run_id(b, 1)
    assert config_id(a) == config_id(a.replace(seed=3)) != config_id(b)
    assert len(run_id(a, 0)) == 16
