"""The discrete key-value bottleneck as a torch module, with the authors' module contract.

Input ``(batch, num_codebooks, channels, dim_keys)``. Each codebook ``c`` holds ``K`` keys
``(dim_keys)`` and ``K`` values ``(dim_values)``. A lookup fetches the ``topk`` nearest keys and
returns their values. Keys are buffers, never parameters: they move only by k-means
initialisation and by EMA k-means while not frozen. Values are the one learned parameter and,
because they are gathered by index, only fetched rows receive gradient.

Fixed with respect to the authors' code (each has a test): k-means keys no longer shrink on the
first EMA step (the EMA state starts from the keys, not from zeros); dead keys stay where they
are instead of drifting to the origin (a key moves only while its EMA count is positive);
a replaced dead key keeps its new place (its EMA state is reset with it); and
``return_values_only=True`` returns a tensor, not a tuple.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from dkvb_core.key_cost import kmeans_work, lookup_work
from dkvb_core.kmeans import kmeans_batched
from dkvb_core.nearest import nearest_keys
from dkvb_core.progress import Progress
from dkvb_core.work_meter import WorkMeter

InitMode = Literal["random", "kmeans"]


class KeyValueBottleneck(nn.Module):
    """C codebooks of K (key, value) pairs; nearest-key lookup; sparse value updates."""

    def __init__(
        self,
        num_codebooks: int,
        key_value_pairs_per_codebook: int,
        dim_keys: int,
        dim_values: int,
        topk: int = 1,
        return_values_only: bool = True,
        init_mode: InitMode = "random",
        kmeans_iters: int = 10,
        decay: float = 0.95,
        eps: float = 1e-5,
        threshold_ema_dead_code: float = 0.0,
        value_init: Literal["zeros", "normal"] = "normal",
        seed: int = 0,
    ):
        super().__init__()
        if not 1 <= topk <= key_value_pairs_per_codebook:
            raise ValueError(f"topk: must be in [1, {key_value_pairs_per_codebook}]; got {topk}")
        if init_mode not in ("random", "kmeans"):
            raise ValueError(f"init_mode: must be 'random' or 'kmeans'; got {init_mode!r}")
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay: must be in (0, 1); got {decay}")
        self.num_codebooks = num_codebooks
        self.num_pairs = key_value_pairs_per_codebook
        self.dim_keys = dim_keys
        self.dim_values = dim_values
        self.topk = topk
        self.return_values_only = return_values_only
        self.init_mode = init_mode
        self.kmeans_iters = kmeans_iters
        self.decay = decay
        self.eps = eps
        self.threshold_ema_dead_code = threshold_ema_dead_code
        self.generator = torch.Generator().manual_seed(seed)

        c, k = num_codebooks, key_value_pairs_per_codebook
        self.register_buffer("keys", torch.randn(c, k, dim_keys, generator=self.generator))
        self.register_buffer("ema_cluster_size", torch.ones(c, k))
        self.register_buffer("ema_key_sum", self.keys.clone())
        self.register_buffer("usage", torch.zeros(c, k, dtype=torch.long))
        self.register_buffer("active", torch.ones(c, k, dtype=torch.bool))  # False: surplus key, never fetched
        self.register_buffer("initted", torch.tensor(False))
        self.register_buffer("keys_frozen", torch.tensor(False))
        if value_init == "zeros":
            values = torch.zeros(c, k, dim_values)
        else:
            values = 0.02 * torch.randn(c, k, dim_values, generator=self.generator)
        self.values = nn.Parameter(values)

    # --- key initialisation and EMA ------------------------------------------------------
    @torch.no_grad()
    def initialize_keys(
        self, x: torch.Tensor, progress: Progress | None = None, tick: Callable[[int], None] | None = None
    ) -> None:
        """Set the keys from inputs ``(N, C, dim_keys)`` (or the forward shape): k-means or random.

        k-means marks surplus keys (more keys than distinct points) inactive: the lookup skips them.
        The EMA state starts at count 1 and sum = key, so the first EMA step does not pull the
        keys toward zero. ``progress(done, total, "keys")`` is called during k-means (or ``tick(units)``
        of a caller's :class:`WorkMeter`, units as in :func:`dkvb_core.key_cost.kmeans_work`).
        """
        x = self._flatten_per_codebook(x)
        if self.init_mode == "kmeans":
            meter = WorkMeter(progress, kmeans_work(self.num_codebooks, x.shape[1], self.num_pairs, self.kmeans_iters))
            res = kmeans_batched(x, self.num_pairs, self.kmeans_iters, self.generator, tick or meter.add)
            self.keys.copy_(res.centres)
            self.active.copy_(res.active)
            meter.finish()
        self.ema_cluster_size.fill_(1.0)
        self.ema_key_sum.copy_(self.keys)
        self.initted.fill_(True)

    def freeze_keys(self) -> None:
        self.keys_frozen.fill_(True)

    def unfreeze_keys(self) -> None:
        self.keys_frozen.fill_(False)

    @torch.no_grad()
    def ema_update(self, x: torch.Tensor) -> None:
        """One EMA k-means step on ``(N, C, dim_keys)`` inputs, then dead-key replacement."""
        x = self._flatten_per_codebook(x)  # (C, N, d)
        idx = self._nearest(x)  # (C, N)
        for c in range(self.num_codebooks):
            counts = torch.bincount(idx[c], minlength=self.num_pairs).to(x.dtype)
            sums = torch.zeros_like(self.keys[c]).index_add_(0, idx[c], x[c])
            self.ema_cluster_size[c].mul_(self.decay).add_(counts, alpha=1 - self.decay)
            self.ema_key_sum[c].mul_(self.decay).add_(sums, alpha=1 - self.decay)
            size = self.ema_cluster_size[c]
            alive = (size > self.eps) & self.active[c]
            self.keys[c] = torch.where(
                alive[:, None], self.ema_key_sum[c] / size.clamp_min(self.eps)[:, None], self.keys[c]
            )
        self._replace_dead_keys(x)

    def _replace_dead_keys(self, x: torch.Tensor) -> None:
        if self.threshold_ema_dead_code <= 0:
            return
        for c in range(self.num_codebooks):
            dead = (self.ema_cluster_size[c] < self.threshold_ema_dead_code) & self.active[c]
            n_dead = int(dead.sum())
            if n_dead == 0:
                continue
            pick = torch.randint(x.shape[1], (n_dead,), generator=self.generator)
            self.keys[c, dead] = x[c, pick]
            self.ema_cluster_size[c, dead] = 1.0
            self.ema_key_sum[c, dead] = x[c, pick]

    # --- lookup ------------------------------------------------------------------------
    def _flatten_per_codebook(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, ch, d)`` or ``(N, C, d)`` -> ``(C, N', d)``."""
        if x.dim() == 4:
            b, c, ch, d = x.shape
            return x.permute(1, 0, 2, 3).reshape(c, b * ch, d)
        if x.dim() == 3:
            return x.permute(1, 0, 2)
        raise ValueError(f"input: expected (batch, codebooks, channels, dim_keys); got {tuple(x.shape)}")

    def _nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Top-1 active key index per codebook for ``(C, N, d)`` inputs -> ``(C, N)``, exact."""
        return nearest_keys(x, self.keys, 1, self.active)[0][:, :, 0]

    @torch.no_grad()
    def lookup(
        self, x: torch.Tensor, progress: Progress | None = None, tick: Callable[[int], None] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Nearest ``topk`` active keys for ``(N, C, d)`` inputs -> (indices, squared distances), each
        ``(N, C, topk)``, nearest first; equal to a float64 brute-force search wherever the data lie.

        Frozen keys make this a pure function of the input: compute once, reuse forever.
        """
        x = self._flatten_per_codebook(x)
        meter = WorkMeter(progress, lookup_work(self.num_codebooks, x.shape[1], self.num_pairs))
        idx, dist = nearest_keys(x, self.keys, self.topk, self.active, tick or meter.add)
        meter.finish()
        return idx.permute(1, 0, 2), dist.permute(1, 0, 2)

    def forward(
        self, x: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fetch values for ``x`` of shape ``(B, C, ch, dim_keys)``.

        Returns values ``(B, C, topk, ch, dim_values)``, or with ``return_values_only=False``
        also keys ``(B, C, topk, ch, dim_keys)``, key indices, squared distances and the fetched
        keys' usage counts so far, each ``(B, C, topk, ch, 1)``.
        """
        if x.dim() != 4 or x.shape[1] != self.num_codebooks or x.shape[3] != self.dim_keys:
            raise ValueError(
                f"input: expected (batch, {self.num_codebooks}, channels, {self.dim_keys}); got {tuple(x.shape)}"
            )
        if not bool(self.initted):
            self.initialize_keys(x)
        if self.training and not bool(self.keys_frozen):
            self.ema_update(x)
        b, c, ch, _ = x.shape
        flat = x.detach().permute(1, 0, 2, 3).reshape(c, b * ch, -1)
        with torch.no_grad():
            idx, dist = nearest_keys(flat, self.keys, self.topk, self.active)
            idx = idx.reshape(c, b, ch, self.topk).permute(1, 0, 3, 2)  # B,C,k,ch
            dist = dist.reshape(c, b, ch, self.topk).permute(1, 0, 3, 2)
        cb_index = torch.arange(c).view(1, c, 1, 1)
        values = self.values[cb_index, idx]  # (B, C, k, ch, dv): gradient reaches fetched rows only
        if self.return_values_only:
            self._count_usage(idx)
            return values
        keys = self.keys[cb_index, idx]
        counts = self.usage[cb_index, idx].unsqueeze(-1)
        self._count_usage(idx)
        return values, keys, idx.unsqueeze(-1), dist.unsqueeze(-1), counts

    @torch.no_grad()
    def _count_usage(self, idx: torch.Tensor) -> None:
        for cb in range(self.num_codebooks):
            self.usage[cb] += torch.bincount(idx[:, cb].reshape(-1), minlength=self.num_pairs)
