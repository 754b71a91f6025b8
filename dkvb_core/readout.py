"""The soft key-value readout and what it does to locality: pure numpy functions.

Hard readout (the paper's): each head fetches its ``k`` nearest keys and averages their values
equally. Soft readout (the conditionally-shifted-neurons seed's attention over keys): the same
``k`` keys, weighted ``w = softmax(-||h - key||^2 / tau)``. As ``tau -> 0`` all weight goes to the
nearest key (hard readout with ``k = 1``); as ``tau -> inf`` the weights even out (hard readout with
that ``k``). Keys are frozen, so every sample's weights are computed once, like its key indices.

Two numbers tell how local a readout is:
- effective keys of a sample: ``1 / sum(w^2)`` per head (1 = one key, k = an even spread), mean over heads;
- leak of stage ``t``: the share of stage ``t``'s value updates (its samples' readout weight) that lands
  on keys fetched by earlier stages, where a stage "fetches" the nearest key of each of its training
  samples. With hard top-1 lookup the leak is the stages' key overlap; a soft readout adds to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def soft_weights(sq_dist: np.ndarray, temperature: float) -> np.ndarray:
    """Weights ``(..., k)`` = softmax over the last axis of ``-sq_dist / temperature`` (float64 inside)."""
    if not temperature > 0:
        raise ValueError(f"dkvb.temperature: must be > 0; got {temperature}")
    z = -np.asarray(sq_dist, dtype=np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    w = np.exp(z)
    w /= w.sum(axis=-1, keepdims=True)
    return w.astype(np.float32)


def effective_keys(weights: np.ndarray) -> np.ndarray:
    """Per sample, the mean over heads of ``1 / sum_k w^2`` for weights ``(N, C, k)`` (each head sums to 1)."""
    w = np.asarray(weights, dtype=np.float64)
    return (1.0 / (w * w).sum(axis=-1)).mean(axis=-1)


def stage_means(values: np.ndarray, stage: np.ndarray, num_stages: int) -> np.ndarray:
    """Mean of ``values`` ``(N,)`` over each stage's samples ``(T,)`` (NaN for a stage without samples)."""
    sums = np.bincount(stage, weights=values, minlength=num_stages)
    counts = np.bincount(stage, minlength=num_stages)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def leak(keys: np.ndarray, weights: np.ndarray, stage: np.ndarray, num_stages: int) -> np.ndarray:
    """Per stage ``t``, the share of its samples' readout weight on keys that an earlier stage fetched.

    ``keys`` ``(N, C, k)`` are the fetched key ids per head (sorted nearest first), ``weights`` the same
    shape (each head sums to 1), ``stage`` ``(N,)`` the training samples' stages. A stage fetches the
    nearest key (``keys[:, :, 0]``) of each of its samples. Stage 0 has no earlier stage: 0.
    """
    keys = np.asarray(keys)
    c = keys.shape[1]
    num_keys = int(keys.max()) + 1 if keys.size else 1
    flat = keys + (np.arange(c) * num_keys)[None, :, None]  # a distinct id per (head, key)
    owned = np.zeros(c * num_keys, dtype=bool)  # fetched by a stage before the current one
    out = np.zeros(num_stages)
    for t in range(num_stages):
        rows = stage == t
        if t and rows.any():
            w = np.asarray(weights, dtype=np.float64)[rows]
            out[t] = (w * owned[flat[rows]]).sum() / w.sum()
        owned[flat[rows][:, :, 0].ravel()] = True
    return out


def dial_point(result: Any, model: str = "dkvb") -> dict[str, float]:
    """One run of a temperature dial: final accuracy, forgetting, and (soft readout) the mean leak over
    stages after the first and the mean effective keys. A hard top-1 run's leak is its stages' key
    overlap, computed from the recorded nearest keys; other hard runs have no leak figure (NaN)."""
    rec = result.models[model]
    s = result.summary(model)
    d = result.config.dkvb
    if rec.readout_leak is not None:
        leak_mean, eff = (
            float(np.mean(rec.readout_leak[1:])) if result.num_stages > 1 else 0.0,
            float(np.mean(rec.effective_keys)),
        )
    elif d.topk == 1 and rec.train_key_index is not None and result.stage_train is not None:
        keys = np.asarray(rec.train_key_index)[:, :, None]
        per_stage = leak(keys, np.ones(keys.shape), result.stage_train, result.num_stages)
        leak_mean, eff = float(np.mean(per_stage[1:])) if result.num_stages > 1 else 0.0, 1.0
    else:
        leak_mean, eff = float("nan"), float(d.topk)
    return {
        "temperature": float(d.temperature) if d.readout == "soft" else float("nan"),
        "accuracy": float(s["average_accuracy"]),
        "forgetting": float(s["forgetting"]),
        "leak": leak_mean,
        "effective_keys": eff,
    }


DIAL_TEMPERATURES = (0.01, 0.1, 1.0, 4.0, 16.0)
DIAL_TOPK = 16


def dial_configs(base: Any, temperatures: tuple[float, ...] = DIAL_TEMPERATURES) -> tuple[Any, list[Any]]:
    """The runs of a temperature dial on ``base`` (a Config), DKVB only: the hard readout as it is, and the
    soft readout at each temperature over the top ``max(topk, 16)`` keys (at most the keys a codebook)."""
    topk = min(max(base.dkvb.topk, DIAL_TOPK), base.dkvb.keys_per_codebook)
    hard = base.replace(**{"dkvb.readout": "hard", "train.models": ["dkvb"]})
    soft = [
        base.replace(
            **{"dkvb.readout": "soft", "dkvb.topk": topk, "dkvb.temperature": t, "dkvb.decoder": "mean"},
            **{"dkvb.dim_values": None, "train.models": ["dkvb"]},
        )
        for t in temperatures
    ]
    return hard, soft
