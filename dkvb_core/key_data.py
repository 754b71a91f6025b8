"""Which unlabelled inputs DKVB's keys are initialised on (``dkvb.key_init_data``), and what each means.

Keys are fitted once, before stage 1. Fitting them on every stage's inputs (``stream``) lets the
key initialisation see the future: keys wait ready where later classes will appear, which flatters
DKVB. The default, ``uniform``, sees no later stage: uniform noise (as in the authors' toy notebook)
over, on the toy, the square its classes are drawn from (known from its settings before any sample)
and, on other streams, the box of the first stage's inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dkvb_core.errors import ConfigError

KEY_INIT_DATA: dict[str, str] = {
    "stream": "every stage's inputs, before stage 1: the keys see the future (flatters DKVB)",
    "first_stage": "the first stage's inputs only: later classes must make do with keys placed for others",
    "uniform": "uniform noise over the data's region (the toy: the square its classes are drawn from; "
    "other streams: the first stage's box), as the authors' toy notebook; the default, sees no later stage "
    "(on a stream with a pre-training mode the default uses its pre-training rows)",
    "pretrain": "the online stream's pre-training rows (Stream.pretrain_rows; streams with a pre-training mode)",
    "pool": "a held-out pool of unlabelled inputs the stream keeps out of its stages (where it has one)",
}
UNIFORM_MIN_POINTS = 1000  # uniform noise: max(this, 4 x keys) points


def key_init_embeddings(config: Any, stream: Any, train_emb: np.ndarray, seed: int) -> np.ndarray:
    """The embeddings ``(M, D)`` float32 the keys of one seed are fitted on (see :data:`KEY_INIT_DATA`)."""
    choice = config.dkvb.key_init_data
    if choice == "uniform" and getattr(stream, "pretrain_rows", None) is not None:
        choice = "pretrain"  # a stream with a pre-training mode: a deployed model has seen only that
    first = train_emb[np.asarray(stream.stage_train) == 0]
    if choice == "stream":
        return train_emb
    if choice == "first_stage":
        return first
    if choice == "uniform":
        lo, hi = _region(config, first)
        n = max(UNIFORM_MIN_POINTS, 4 * config.dkvb.keys_per_codebook)
        rng = np.random.default_rng([seed, 0x4E1F])
        return rng.uniform(lo, hi, size=(n, len(lo))).astype(np.float32)
    if choice == "pretrain":
        pre = getattr(stream, "pretrain_rows", None)
        if pre is None or len(pre) == 0:
            raise ConfigError([("dkvb.key_init_data", _missing(choice, config.stream.kind))])
        return train_emb[np.asarray(pre)]
    rows = getattr(stream, "x_pool", None)
    if rows is None or len(rows) == 0:
        raise ConfigError([("dkvb.key_init_data", _missing(choice, config.stream.kind))])
    from dkvb_core.encoders import make_encoder  # the run's frozen encoder, made again (same weights)

    encoder = make_encoder(config.stream.encoder, stream.input_dim, stream.name)
    return np.asarray(encoder.encode(np.asarray(rows)), dtype=np.float32)


def _region(config: Any, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box uniform noise fills: the toy's drawing square (regression: its configured input range),
    else the first stage's extent."""
    s = config.stream
    reg = getattr(config, "regression", None)
    if getattr(config, "task", "") == "regression" and reg is not None and first.shape[1] == 1:
        return np.array([reg.x_min], np.float64), np.array([reg.x_max], np.float64)  # the configured input range
    if s.kind == "toy" and s.encoder == "identity" and first.shape[1] == 2:
        half = s.radius + 3.0 * s.spread  # every class mean lies within the radius
        return np.full(2, -half), np.full(2, half)
    lo, hi = first.min(axis=0).astype(np.float64), first.max(axis=0).astype(np.float64)
    return lo, np.where(hi > lo, hi, lo + 1e-6)


def _missing(choice: str, kind: str) -> str:
    if choice == "pretrain":
        return f"pretrain needs a stream with a pre-training mode (the online stream); stream.kind {kind!r} has none"
    return f"pool needs a stream that keeps a held-out pool of inputs; stream.kind {kind!r} has none"
