"""A run's models split over processes (dkvb_core.model_pool): the merged result equals one process's
run bit for bit, progress covers every part, and a cancel stops the workers' parts too."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dkvb_core import Config, RunResult, run
from dkvb_core.model_pool import ModelPool, merge_results, split_models
from dkvb_core.models import get_spec, model_names
from dkvb_core.presets import preset
from dkvb_core.progress import RunCancelled

SMALL = {"train.steps_per_stage": 60, "record.every": 20, "record.grid_size": 24}
SIX = ["dkvb", "mlp", "replay", "ewc", "agem", "slda"]


def assert_same(a, b, path="result") -> None:
    """Every field equal (arrays bit for bit), walking dataclasses, dicts and lists; timings excepted."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            if f.name != "seconds":
                assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, path
        assert np.array_equal(a, b, equal_nan=True), path
    elif isinstance(a, (list, tuple)) and a and isinstance(a[0], np.ndarray):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def split_in_process(config: Config, parts: int) -> RunResult:
    groups = split_models(config.train.models, parts)
    return merge_results(config, [run(config.replace(**{"train.models": list(g)})) for g in groups])


@pytest.mark.parametrize("parts", [2, 3])
def test_groups_cover_every_model_once_in_order_and_balance_the_cost(parts):
    models = tuple(model_names())
    groups = split_models(models, parts)
    assert len(groups) == parts and sorted(m for g in groups for m in g) == sorted(models)
    for g in groups:
        assert list(g) == [m for m in models if m in g]
    cost = [sum(get_spec(m).step_cost for m in g) for g in groups]
    assert max(cost) - min(cost) <= max(get_spec(m).step_cost for m in models)
    assert split_models(("mlp",), 2) == [("mlp",)]


@pytest.mark.parametrize(
    "updates",
    [
        {"train.models": list(model_names())},
        {"train.models": ["linear", "dkvb", "joint"], "dkvb.readout": "soft", "dkvb.topk": 4},
        {"train.models": ["dkvb", "mlp", "replay"]},
        {"train.models": ["dkvb", "mlp", "joint"]},
    ],
    ids=["every-model", "soft-readout", "sine-regression", "osaka-online"],
)
def test_a_split_run_merges_to_the_one_process_run_bit_for_bit(request, updates):
    base = {"sine-regression": preset("sine"), "osaka-online": preset("osaka")}.get(request.node.callspec.id, Config())
    config = base.replace(**SMALL, **updates)
    assert_same(split_in_process(config, 2), run(config))


@pytest.fixture(scope="module")
def pool():
    p = ModelPool(workers=1)
    import time

    deadline = time.monotonic() + 120
    while not p.ready():
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    yield p
    p.shutdown()


def test_the_pool_trains_six_models_on_two_processes_with_the_same_numbers(pool):
    config = Config().replace(**SMALL, **{"train.models": SIX})
    calls = []
    result = pool.run(config, progress=lambda done, total, phase="train": calls.append((done, total)))
    assert_same(result, run(config))
    local = split_models(tuple(SIX), 2)[0]
    assert max(total for _, total in calls) > 0 and list(result.models) == SIX and len(local) < len(SIX)


def test_a_cancel_stops_the_workers_part_and_the_pool_runs_on(pool):
    config = Config().replace(**{"train.models": SIX, "train.steps_per_stage": 4000})

    def stop(done, total, phase="train"):
        raise RunCancelled("stop")

    with pytest.raises(RunCancelled):
        pool.run(config, progress=stop)
    small = Config().replace(**SMALL, **{"train.models": ["mlp", "replay"]})
    assert_same(pool.run(small), run(small))  # the worker is free again (its part stopped)
