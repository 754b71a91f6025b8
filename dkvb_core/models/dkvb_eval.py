"""DKVB's evaluation rules (``dkvb.eval_rule``): which keys a test sample may fetch.

- ``untrained_no_class`` (the project's, default): a sample fetches its nearest key; if that key's
  value was never trained, its (zero) value ties every class and the sample counts as wrong (no
  class). Honest for an input from a region no training sample reached.
- ``trained_keys_only`` (the authors' evaluation): a sample fetches its nearest key *among the keys
  fetched in training so far*, so it always lands on some trained value. Final accuracies agree
  with the project's rule on the toy; intermediate stages can read several points higher.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dkvb_core.nearest import nearest_keys


class TrainedKeysLookup:
    """Slots of a set under ``trained_keys_only``: nearest among the keys trained so far, per seed.

    ``prepared`` is a :class:`~dkvb_core.models.dkvb.DKVBPrepared`; slots are recomputed only when
    a step has trained a key not trained before.
    """

    def __init__(self, prepared: Any, topk: int):
        self.prepared, self.topk = prepared, topk
        s, ck = len(prepared.books), prepared.codebooks * prepared.keys
        self.trained = np.zeros(s * ck, dtype=bool)  # flat over the seed-stacked value table
        self.version = 0
        self._cache: dict[str, tuple[int, np.ndarray]] = {}

    def mark(self, slots: np.ndarray) -> None:
        """Record the value-table rows a training step fetched."""
        flat = slots.reshape(-1)
        if not self.trained[flat].all():
            self.trained[flat] = True
            self.version += 1

    def slots(self, which: str) -> np.ndarray:
        """``(S, N, C * topk)`` flat value-table rows of set ``which``."""
        hit = self._cache.get(which)
        if hit is not None and hit[0] == self.version:
            return hit[1]
        p = self.prepared
        ck = p.codebooks * p.keys
        out = []
        for s, book in enumerate(p.books):
            trained = self.trained[s * ck : (s + 1) * ck].reshape(p.codebooks, p.keys) & book.active
            usable = np.where(trained.sum(axis=1, keepdims=True) >= self.topk, trained, book.active)
            heads = book.heads[which].permute(1, 0, 2)  # (C, N, dk)
            idx, _ = nearest_keys(heads, torch.from_numpy(book.keys), self.topk, torch.from_numpy(usable))
            rows = idx.permute(1, 0, 2) + (torch.arange(p.codebooks) * p.keys).view(1, -1, 1) + s * ck
            out.append(rows.reshape(heads.shape[1], -1).numpy().astype(np.int64))
        slots = np.stack(out)
        self._cache[which] = (self.version, slots)
        return slots
