"""The registry is the one list of models: every entry builds, runs and is known to the config."""

from __future__ import annotations

import numpy as np
import pytest

from dkvb_core import Config, ConfigError, run, run_seeds
from dkvb_core.config import section_names
from dkvb_core.models import REGISTRY, get_spec, model_names
from dkvb_core.sweep.spec import parse_spec

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


NEW_BASELINES = ["mlp", "replay", "ewc", "lwf", "agem", "slda"]


def _fast(models: list[str], seed: int = 0, steps: int = 20) -> Config:
    return Config.from_dict({**FAST, "seed": seed, "train": {"steps_per_stage": steps, "models": models}})


def _same(a, b, name: str) -> bool:
    ma, mb = a.models[name], b.models[name]
    # equal_nan: a run that diverges (EWC with a large lr x lambda on 20-step stages) must diverge the same way
    return all(
        np.array_equal(getattr(ma, f), getattr(mb, f), equal_nan=f in ("step_loss", "stage_accuracy"))
        for f in ("step_loss", "step_correct", "stage_accuracy", "grid_predictions", "test_predictions")
    )


@pytest.mark.parametrize("name", NEW_BASELINES)
def test_a_model_does_not_change_with_its_neighbours(name):
    """A model's numbers depend on its name and seed only, not on which models run beside it."""
    alone = run(_fast([name]))
    together = run(_fast(list(REGISTRY)))
    assert _same(alone, together, name)


@pytest.mark.parametrize("name", NEW_BASELINES)
def test_same_seed_same_bits_and_seeds_batched_equal_separate_runs(name):
    again = run(_fast([name], seed=2))
    batched = run_seeds(_fast([name]), [5, 2])
    assert _same(run(_fast([name], seed=2)), again, name)
    assert _same(batched[1], again, name)
    assert not _same(batched[0], again, name)  # another seed is another run


def test_sweeps_vary_the_baselines_fields_and_models():
    spec = parse_spec(
        {
            "base": {"train": {"steps_per_stage": 5}, "record": {"every": 0, "grid_size": 0}},
            "axes": {
                "train.models": [["replay", "agem"], ["slda"]],
                "ewc.lam": [1.0, 10.0],
                "slda.covariance": ["identity"],
            },
        }
    )
    configs = spec.configs()
    assert [c.train.models for c in configs] == [("replay", "agem")] * 2 + [("slda",)] * 2
    assert [c.ewc.lam for c in configs] == [1.0, 10.0, 1.0, 10.0] and configs[0].slda.covariance == "identity"
    with pytest.raises(ConfigError, match=r"axes\.replay\.memory"):
        parse_spec({"axes": {"replay.memory": [0]}})
