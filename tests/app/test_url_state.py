"""Config <-> URL: round trips, and garbage falls back to defaults with a warning naming the field."""

import pytest

from app.url_state import config_from_query, config_to_query
from dkvb_core import Config


def test_defaults_give_an_empty_query():
    assert config_to_query(Config()) == {}


def test_round_trip_of_changed_fields():
    cfg = Config().replace(
        **{
            "dkvb.keys_per_codebook": 4,
            "dkvb.lr": 0.3,
            "train.models": ["dkvb", "mlp"],
            "stream.layout": "grid",
            "seed": 7,
        }
    )
    query = config_to_query(cfg)
    assert query["dkvb.keys_per_codebook"] == "4"
    assert query["train.models"] == "dkvb,mlp"
    back, warnings = config_from_query(query)
    assert back == cfg
    assert warnings == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"dkvb.keys_per_codebook": "abc"}, "dkvb.keys_per_codebook"),
        ({"dkvb.keys_per_codebook": "99999"}, "dkvb.keys_per_codebook"),
        ({"dkvb.lr": "-1"}, "dkvb.lr"),
        ({"train.models": "dkvb,bogus"}, "train.models"),
        ({"stream.layout": "spiral"}, "stream.layout"),
        ({"train.optimizer": "[1,2"}, "train.optimizer"),
    ],
)
def test_garbage_falls_back_to_the_default_with_a_named_warning(params, field):
    cfg, warnings = config_from_query(params)
    assert cfg == Config()
    assert len(warnings) == 1
    assert warnings[0].startswith(field)
    assert "default" in warnings[0]


def test_a_bad_field_does_not_discard_the_good_ones():
    cfg, warnings = config_from_query({"dkvb.keys_per_codebook": "4", "dkvb.lr": "fast"})
    assert cfg.dkvb.keys_per_codebook == 4
    assert cfg.dkvb.lr == Config().dkvb.lr
    assert [w.split(":")[0] for w in warnings] == ["dkvb.lr"]


def test_inconsistent_fields_name_the_setting_and_range():
    cfg, warnings = config_from_query({"stream.num_classes": "3", "stream.classes_per_stage": "9"})
    assert cfg.stream.num_classes == 3
    assert cfg.stream.classes_per_stage == 2
    assert "stream.classes_per_stage" in warnings[0] and "at most" in warnings[0]


def test_server_paths_cannot_come_from_a_link():
    cfg, warnings = config_from_query({"stream.csv_path": "/etc/passwd", "stream.kind": "csv"})
    assert cfg.stream.csv_path is None
    assert any(w.startswith("stream.csv_path") for w in warnings)


def test_page_parameters_are_left_alone_and_unknown_settings_warned():
    cfg, warnings = config_from_query({"view.figure": "paper", "present": "1", "dkvb.nonsense": "1"})
    assert cfg == Config()
    assert warnings == ["dkvb.nonsense: not a setting of this page; ignored"]


@pytest.mark.parametrize("value", ["", "null", "1e999", "NaN", "[[[[", "x" * 5000, "{}", "true"])
def test_never_raises(value):
    for key in ("dkvb.keys_per_codebook", "train.models", "stream.spread", "seed", "record.every"):
        cfg, _ = config_from_query({key: value})
        assert isinstance(cfg, Config)


def test_a_long_bad_value_is_not_echoed_in_full():
    config, warnings = config_from_query({"stream.layout": "z" * 400})
    assert config == Config()
    (warning,) = warnings
    assert warning.startswith("stream.layout") and len(warning) < 300 and "z" * 200 not in warning
