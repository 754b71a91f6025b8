"""The registry is the one list of models: every entry builds, runs and is known to the config."""

from __future__ import annotations

import pytest

from dkvb_core import Config, ConfigError, run
from dkvb_core.config import section_names
from dkvb_core.models import REGISTRY, get_spec, model_names

FAST = {"train": {"steps_per_stage": 20}, "record": {"every": 0, "grid_size": 8}}


def test_specs_are_complete_and_distinct():
    assert model_names() == tuple(REGISTRY)
    assert len({s.init_tag for s in REGISTRY.values()}) == len(REGISTRY)
    for name, spec in REGISTRY.items():
        assert spec.name == name and spec.label and spec.description
        assert spec.section is None or spec.section in section_names()
        assert spec.step_cost > 0 and isinstance(spec.stores(Config()), str)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_registered_model_runs_alone(name):
    result = run(Config.from_dict({**FAST, "train": {**FAST["train"], "models": [name]}}))
    assert list(result.models) == [name]
    assert result.accuracy_matrix(name).shape == (4, 4)


def test_config_accepts_exactly_the_registry():
    with pytest.raises(ConfigError) as err:
        Config.from_dict({"train": {"models": ["dkvb", "nope"]}})
    assert "train.models" in str(err.value) and all(n in str(err.value) for n in REGISTRY)


def test_unknown_spec_names_the_known_ones():
    with pytest.raises(KeyError, match="known: dkvb"):
        get_spec("nope")


def test_a_model_does_not_change_with_its_neighbours():
    """A model's numbers depend on its name and seed only, not on which models run beside it."""
    alone = run(Config.from_dict({**FAST, "train": {**FAST["train"], "models": ["mlp"]}}))
    together = run(Config.from_dict({**FAST, "train": {**FAST["train"], "models": list(REGISTRY)}}))
    assert (alone.models["mlp"].step_loss == together.models["mlp"].step_loss).all()
