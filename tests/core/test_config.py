"""Config: defaults, immutability, hashing, JSON round trip, and errors naming field and range."""

import json

import pytest

from dkvb_core import Config, ConfigError, preset
from dkvb_core.config import describe_fields


def test_defaults_are_the_seed_setting():
    c = Config()
    assert c.stream.num_classes == 8 and c.stream.classes_per_stage == 2
    assert c.stream.train_per_class == 100
    assert c.train.steps_per_stage == 1000 and c.train.batch_size == 10
    assert c.stream.resolved_stage_classes() == ((0, 4), (1, 5), (2, 6), (3, 7))
    assert c.dkvb.keys_per_codebook == 64 and c.dkvb.num_codebooks == 1


def test_frozen_and_hashable():
    c = Config()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError subclass
        c.seed = 3  # type: ignore[misc]
    assert hash(c) == hash(Config())
    assert {c: 1}[Config()] == 1
    assert hash(c.replace(seed=1)) != hash(c)


def test_json_round_trip():
    c = Config().replace(
        **{"dkvb.keys_per_codebook": 4, "stream.stage_classes": [[0, 1], [2, 3]], "stream.num_classes": 4}
    )
    again = Config.from_json(c.to_json())
    assert again == c
    assert again.stream.stage_classes == ((0, 1), (2, 3))


@pytest.mark.parametrize(
    ("updates", "field", "fragment"),
    [
        ({"dkvb.num_codebooks": 0}, "dkvb.num_codebooks", "[1, 64]"),
        ({"dkvb.keys_per_codebook": 10_000}, "dkvb.keys_per_codebook", "[1, 4096]"),
        ({"dkvb.lr": -1}, "dkvb.lr", "(0.0, 100.0]"),
        ({"stream.layout": "hex"}, "stream.layout", "'circle', 'grid', 'random'"),
        ({"train.batch_size": "ten"}, "train.batch_size", "[1, 1024]"),
        ({"train.models": []}, "train.models", "at least one"),
        ({"train.models": ["dkvb", "gpt"]}, "train.models", "'dkvb'"),
        ({"dkvb.topk": 8, "dkvb.keys_per_codebook": 4}, "dkvb.topk", "at most dkvb.keys_per_codebook"),
        ({"stream.classes_per_stage": 9}, "stream.classes_per_stage", "at most stream.num_classes"),
        ({"stream.stage_classes": [[0, 1], [1, 2]]}, "stream.stage_classes", "one stage only"),
        ({"stream.kind": "csv"}, "stream.csv_path", "required"),
        ({"train.steps_per_stage": 20000, "stream.classes_per_stage": 1}, "train.steps_per_stage", "limit"),
        ({"dkvb.dim_values": 3}, "dkvb.dim_values", "stream.num_classes"),
        ({"train.batch_size": 1024, "train.steps_per_stage": 2000}, "train.batch_size", "5,000,000"),
        ({"record.grid_size": 400, "record.every": 5}, "record.grid_size", "record.every"),
    ],
)
def test_bad_values_name_field_and_range(updates, field, fragment):
    with pytest.raises(ConfigError) as info:
        Config().replace(**updates)
    fields = [f for f, _ in info.value.problems]
    assert field in fields, info.value.problems
    msg = dict(info.value.problems)[field]
    assert fragment in msg


def test_unknown_field_and_section():
    with pytest.raises(ConfigError, match="unknown field"):
        Config.from_dict({"dkvb": {"keyz": 3}})
    with pytest.raises(ConfigError, match="unknown section"):
        Config().replace(**{"model.keys": 3})


def test_nothing_is_clamped():
    with pytest.raises(ConfigError):
        Config().replace(**{"record.grid_size": 401})


def test_from_json_bad_text():
    with pytest.raises(ConfigError, match="not valid JSON"):
        Config.from_json("{")
    with pytest.raises(ConfigError, match="JSON object"):
        Config.from_json("[1]")


def test_presets_validate_and_differ():
    assert preset("toy") == Config()
    assert preset("toy-4-keys").dkvb.keys_per_codebook == 4


def test_describe_fields_lists_every_field_with_range():
    rows = {name: (default, allowed) for name, default, allowed, _ in describe_fields()}
    assert rows["dkvb.keys_per_codebook"] == ("64", "an integer in [1, 4096]")
    assert json.loads(rows["train.models"][0]) == ["dkvb", "linear", "mlp"]
    assert len(rows) > 30
