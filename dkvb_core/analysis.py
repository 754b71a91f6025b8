"""Derived quantities the app shows about keys and frames (numpy only, no UI imports).

Definitions (``usage_stages`` is ``(T, C, K)``: how often each key of each codebook was fetched
during each stage's training; see ``ModelRecord.key_usage_stages``):

- a key is *touched* in stage t if it was fetched at least once during stage t;
- *fraction touched* of stage t: touched keys / all keys, averaged over codebooks;
- *key-set overlap* of stages s and t: Jaccard index |A_s ∩ A_t| / |A_s ∪ A_t| of their touched
  key sets, averaged over codebooks (0 when both are empty). Overlap between stages is what lets a
  later stage overwrite an earlier stage's values: with few keys it is high, with many it is ~0;
- a *dead* key was never fetched during the whole run;
- a *shared* key was touched in more than one stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _usage(usage_stages: np.ndarray) -> np.ndarray:
    u = np.asarray(usage_stages)
    if u.ndim != 3:
        raise ValueError(f"usage_stages: must be (stages, codebooks, keys); got shape {u.shape}")
    return u


def keys_touched(usage_stages: np.ndarray) -> np.ndarray:
    """``(T, C, K)`` bool: key fetched at least once during stage t."""
    return _usage(usage_stages) > 0


def fraction_touched_per_stage(usage_stages: np.ndarray) -> np.ndarray:
    """``(T,)``: share of keys touched in each stage, averaged over codebooks."""
    return keys_touched(usage_stages).mean(axis=(1, 2))


def stage_key_overlap(usage_stages: np.ndarray) -> np.ndarray:
    """``(T, T)`` Jaccard overlap of the touched key sets of two stages, mean over codebooks."""
    touched = keys_touched(usage_stages).astype(np.float64)  # (T, C, K)
    inter = np.einsum("sck,tck->stc", touched, touched)
    sizes = touched.sum(axis=2)  # (T, C)
    union = sizes[:, None, :] + sizes[None, :, :] - inter
    jaccard = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return jaccard.mean(axis=2)


def dead_keys(usage_stages: np.ndarray) -> np.ndarray:
    """``(C, K)`` bool: never fetched in the whole run."""
    return ~keys_touched(usage_stages).any(axis=0)


def shared_key_fraction(usage_stages: np.ndarray) -> float:
    """Share of the touched keys that were touched in more than one stage (0 if none touched)."""
    per_key = keys_touched(usage_stages).sum(axis=0)  # (C, K) stages touching each key
    touched = per_key > 0
    return float((per_key > 1).sum() / touched.sum()) if touched.any() else 0.0


def region_votes(value_votes: np.ndarray, grid_key_index: np.ndarray, codebook: int) -> np.ndarray:
    """``(F, G*G)`` uint8: per frame, the class voted by the value of each grid cell's nearest key
    in ``codebook`` (255 where that value is untouched or tied)."""
    votes = np.asarray(value_votes)[:, codebook, :]  # (F, K)
    return votes[:, np.asarray(grid_key_index)[codebook]].astype(np.uint8)


def seen_accuracy_per_frame(stage_accuracy: np.ndarray, frame_stage: np.ndarray) -> np.ndarray:
    """``(F,)``: mean accuracy over the stages seen so far (0..current stage) at each frame."""
    acc = np.asarray(stage_accuracy, dtype=np.float64)
    stage = np.asarray(frame_stage)
    seen = np.arange(acc.shape[1])[None, :] <= stage[:, None]
    return (acc * seen).sum(axis=1) / seen.sum(axis=1)


def bwt_per_stage(R: np.ndarray) -> np.ndarray:
    """``(T,)``: backward transfer of each stage, ``R[T-1, j] - R[j, j]`` (0 for the last stage)."""
    R = np.asarray(R, dtype=np.float64)
    out = R[-1] - np.diag(R)
    out[-1] = 0.0
    return out


@dataclass(frozen=True)
class KeyCounts:
    """How many keys (summed over codebooks) can do nothing useful, and why.

    - ``unused``: surplus keys left out of the lookup (a codebook had fewer distinct points than keys);
    - ``duplicates``: active keys within ``1e-6`` of the codebook's key spread of a lower-indexed
      active key (a test sample could fetch such a twin, untrained, instead of the trained key);
    - ``never_trained``: active keys no training sample fetched, whose value stays at its start
      (a test sample that fetches one gets no class under the project's evaluation rule).
    """

    total: int
    unused: int
    duplicates: int
    never_trained: int


def key_counts(keys: np.ndarray, active: np.ndarray | None, usage_stages: np.ndarray | None) -> KeyCounts:
    """Count unused, duplicate and never-trained keys of ``keys (C, K, d)`` (``active (C, K)``,
    ``usage_stages (T, C, K)``; None: all active / training usage unknown, counted as 0)."""
    import torch

    from dkvb_core.nearest import nearest_keys

    k = np.asarray(keys, dtype=np.float32)
    c, n, _ = k.shape
    act = np.ones((c, n), bool) if active is None else np.asarray(active, bool)
    duplicates = 0
    if n > 1:
        kt = torch.from_numpy(k)
        idx, dist = nearest_keys(kt, kt, 2, torch.from_numpy(act))
        spread = np.sqrt(((k - k.mean(axis=1, keepdims=True)) ** 2).sum(-1).mean(axis=1))  # (C,)
        other = np.where(idx[:, :, 0].numpy() == np.arange(n), idx[:, :, 1].numpy(), idx[:, :, 0].numpy())
        d_other = np.where(idx[:, :, 0].numpy() == np.arange(n), dist[:, :, 1].numpy(), dist[:, :, 0].numpy())
        twin = (np.sqrt(d_other) <= 1e-6 * spread[:, None]) & (other < np.arange(n)) & act
        duplicates = int(twin.sum())
    never = 0
    if usage_stages is not None:
        never = int((~keys_touched(usage_stages).any(axis=0) & act).sum())
    return KeyCounts(total=c * n, unused=int((~act).sum()), duplicates=duplicates, never_trained=never)
