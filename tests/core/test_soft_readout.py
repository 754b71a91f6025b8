"""The soft key-value readout: tau -> 0 is the hard nearest-key readout, tau -> inf the even top-k mean;
effective keys and leak against brute force; the config refuses what cannot run."""

from __future__ import annotations

import numpy as np
import pytest

from dkvb_core import Config, ConfigError, run
from dkvb_core.readout import effective_keys, leak, soft_weights

SMALL = {"train": {"steps_per_stage": 60}, "record": {"every": 30, "grid_size": 12}}


def _cfg(task: str, **dkvb) -> Config:
    # keys on the samples (not on uniform noise, where near-equidistant keys split a tiny-τ softmax): a readout test
    dkvb = {"key_init_data": "stream", **dkvb}
    data = {**SMALL, "task": task, "dkvb": dkvb, "train": {**SMALL["train"], "models": ["dkvb"]}}
    if task == "regression":
        data["regression"] = {"train_per_stage": 40, "test_per_stage": 30}
    return Config.from_dict(data)


def _scores(res, task):
    rec = res.models["dkvb"]
    return rec.stage_mse if task == "regression" else rec.stage_accuracy


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_temperature_to_zero_is_the_hard_nearest_key_readout(task):
    hard = run(_cfg(task, topk=1))
    soft = run(_cfg(task, topk=4, readout="soft", temperature=1e-6))
    np.testing.assert_allclose(soft.models["dkvb"].final_values, hard.models["dkvb"].final_values, atol=1e-6)
    np.testing.assert_allclose(_scores(soft, task), _scores(hard, task), atol=1e-6)
    np.testing.assert_allclose(soft.models["dkvb"].effective_keys, 1.0, atol=1e-3)


def test_large_temperature_is_the_even_top_k_mean():
    hard = run(_cfg("regression", topk=3))
    soft = run(_cfg("regression", topk=3, readout="soft", temperature=1000.0))
    np.testing.assert_allclose(soft.models["dkvb"].final_values, hard.models["dkvb"].final_values, atol=2e-3)
    assert soft.models["dkvb"].effective_keys.min() > 2.95


def test_soft_weights_against_float64_brute_force():
    rng = np.random.default_rng(0)
    d = rng.uniform(0, 3, (50, 2, 4))
    for tau in (0.01, 0.7, 40.0):
        w = soft_weights(d, tau)
        brute = np.exp(-d / tau) / np.exp(-d / tau).sum(axis=-1, keepdims=True)
        np.testing.assert_allclose(w, brute, rtol=1e-5, atol=1e-7)
    assert np.isfinite(soft_weights(d, 1e-9)).all()  # no overflow: exactly one-hot on the nearest
    with pytest.raises(ValueError, match="temperature"):
        soft_weights(d, 0.0)


def test_effective_keys_and_leak_against_brute_force():
    rng = np.random.default_rng(1)
    n, c, k, num_keys, t = 80, 2, 3, 7, 4
    keys = np.stack([np.stack([rng.choice(num_keys, k, replace=False) for _ in range(c)]) for _ in range(n)])
    w = rng.dirichlet(np.ones(k), (n, c))
    stage = np.sort(rng.integers(0, t, n))
    np.testing.assert_allclose(
        effective_keys(w), [np.mean([1 / np.sum(w[i, h] ** 2) for h in range(c)]) for i in range(n)]
    )
    want = np.zeros(t)
    for s in range(1, t):
        earlier = {(h, keys[i, h, 0]) for i in range(n) if stage[i] < s for h in range(c)}
        rows = [i for i in range(n) if stage[i] == s]
        on = sum(w[i, h, m] for i in rows for h in range(c) for m in range(k) if (h, keys[i, h, m]) in earlier)
        want[s] = on / sum(w[i].sum() for i in rows) if rows else 0.0
    np.testing.assert_allclose(leak(keys, w, stage, t), want)


def test_leak_grows_with_temperature_on_the_toy():
    leaks = []
    for tau in (0.01, 1.0, 16.0):
        res = run(_cfg("classification", topk=8, readout="soft", temperature=tau))
        leaks.append(float(res.models["dkvb"].readout_leak[1:].mean()))
    assert leaks[0] < leaks[1] < leaks[2]


def test_config_names_the_fields():
    with pytest.raises(ConfigError, match=r"dkvb.temperature"):
        Config.from_dict({"dkvb": {"temperature": 0}})
    with pytest.raises(ConfigError, match=r"dkvb.readout"):
        Config.from_dict({"dkvb": {"readout": "soft", "decoder": "linear", "dim_values": 4}})
    with pytest.raises(ConfigError, match=r"dkvb.readout"):
        Config.from_dict({"dkvb": {"readout": "fuzzy"}})
