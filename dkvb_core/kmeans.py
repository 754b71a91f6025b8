"""Seeded k-means for key initialisation, batched over codebooks, exact, and sized for research runs.

- Seeding: k-means++ (D^2 sampling). For many keys it draws ``ceil(k / 64)`` centres a round
  (weighted sampling without replacement, proportional to D^2), so the sequential loop runs at most
  64 times, not k times; with k <= 64 it is plain k-means++. On large data it seeds on a random
  pool of ``4 k`` points.
- Refinement: Lloyd iterations on all points while one pass is cheap (codebooks x points x keys
  <= 2^26 scored distances); beyond that, mini-batch k-means (Sculley 2010): each of ``iters`` steps
  assigns a random batch and moves each centre to the running mean of the points it has received.
- Surplus keys: where a codebook has fewer distinct points than keys, every distinct point becomes a
  key and the rest are *inactive*: never fetched (the lookup skips them), reported as unused. No key
  is a jittered copy of another, so no test sample fetches an untrained twin.
- Every assignment is the exact nearest centre (see :mod:`dkvb_core.nearest`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from dkvb_core.key_cost import POOL_PER_KEY, batch_size, full_batch
from dkvb_core.nearest import nearest_keys

SEED_ROUNDS = 64  # at most this many sequential k-means++ rounds

Tick = Callable[[int], None]


@dataclass(frozen=True)
class KMeansResult:
    """Centres ``(C, k, d)`` and which of them are in use ``(C, k)`` bool (False: surplus, never fetched)."""

    centres: torch.Tensor
    active: torch.Tensor


def kmeans_batched(
    x: torch.Tensor, k: int, iters: int, generator: torch.Generator, tick: Tick | None = None
) -> KMeansResult:
    """Cluster each codebook's points ``(C, N, d)`` into ``k`` centres (see the module docstring).

    ``tick(units)`` is called as distances are scored (units as in :func:`dkvb_core.key_cost.kmeans_work`).
    """
    x = x.detach().float()
    c, n, _ = x.shape
    pool = x
    if n > POOL_PER_KEY * k:
        pool = x[:, torch.randperm(n, generator=generator)[: POOL_PER_KEY * k]]
    centres, active = seed_centres(pool, k, generator, tick)
    if full_batch(c, n, k):
        centres = _lloyd(x, centres, active, iters, tick)
    else:
        centres = _minibatch(x, centres, active, iters, batch_size(c, n, k), generator, tick)
    return KMeansResult(centres, active & ~_duplicates(centres))


def kmeans(x: torch.Tensor, k: int, iters: int, generator: torch.Generator) -> KMeansResult:
    """One codebook: ``(N, d)`` -> centres ``(k, d)``, active ``(k,)``."""
    res = kmeans_batched(x[None], k, iters, generator)
    return KMeansResult(res.centres[0], res.active[0])


def seed_centres(
    x: torch.Tensor, k: int, generator: torch.Generator, tick: Tick | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means++ seeding of ``(C, P, d)`` points in at most 64 rounds -> centres ``(C, k, d)``, active.

    D^2 only weighs the draws, so it is computed in float32 on data centred per codebook (no
    cancellation far from the origin). A drawn point gets D^2 = 0 and is never drawn again; when a
    codebook runs out of new points the remaining centres stay inactive (never fetched); a drawn
    point equal to an earlier centre is caught by :func:`_duplicates`.
    """
    c, p, d = x.shape
    rows = torch.arange(c)[:, None]
    mean = x.double().mean(dim=1, keepdim=True)
    xc = (x.double() - mean).float()
    x_sq = (xc * xc).sum(-1)
    first = torch.randint(p, (c, 1), generator=generator)
    centres = x[rows, first].expand(c, k, d).clone()
    active = torch.zeros(c, k, dtype=torch.bool)
    active[:, 0] = True
    taken = torch.zeros(c, p, dtype=torch.bool).scatter_(1, first, True)
    closest = _d2(xc, x_sq, xc[rows, first], taken, None)
    per_round = math.ceil((k - 1) / SEED_ROUNDS) if k > 1 else 1
    for start in range(1, k, per_round):
        r = min(per_round, k - start)
        pick, ok = _draw(closest, r, generator)
        centres[:, start : start + r] = torch.where(ok[:, :, None], x[rows, pick], centres[:, :1])
        active[:, start : start + r] = ok
        if not bool(ok.any()):  # every codebook ran out of new points: the rest stay unused
            break
        taken[rows.expand_as(pick)[ok], pick[ok]] = True
        if start + r < k:
            closest = torch.minimum(closest, _d2(xc, x_sq, xc[rows, pick], taken, ok))
        if tick is not None:
            tick(c * p * r)
    return centres, active


def _d2(
    xc: torch.Tensor, x_sq: torch.Tensor, new: torch.Tensor, taken: torch.Tensor, ok: torch.Tensor | None
) -> torch.Tensor:
    """float64 ``(C, P)``: squared distance of every centred point to its nearest of ``new`` ``(C, r, d)``
    (centres not ``ok`` ignored), 0 for points already drawn."""
    d = torch.baddbmm(x_sq[:, :, None] + (new * new).sum(-1)[:, None, :], xc, new.transpose(1, 2), alpha=-2.0)
    if ok is not None:
        d.masked_fill_(~ok[:, None, :], math.inf)
    return d.amin(-1).clamp_min_(0.0).masked_fill_(taken, 0.0).double()


def _draw(closest: torch.Tensor, r: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``r`` distinct points a codebook drawn with probability proportional to D^2, without replacement
    (Efraimidis-Spirakis keys ``log(u) / w``); ``ok`` is False where no point with D^2 > 0 was left."""
    u = torch.rand(closest.shape, generator=generator, dtype=torch.float64).clamp_min_(1e-300)
    keys = torch.where(closest > 0, u.log() / closest, torch.full_like(closest, -math.inf))
    top, pick = torch.topk(keys, r, dim=1)
    return pick, top > -math.inf


def _lloyd(x: torch.Tensor, centres: torch.Tensor, active: torch.Tensor, iters: int, tick: Tick | None) -> torch.Tensor:
    """Lloyd iterations on all points; an empty cluster keeps its centre; stops when nothing moves."""
    c, n, _ = x.shape
    k = centres.shape[1]
    assign = None
    for it in range(iters):
        new_assign = nearest_keys(x, centres, 1, active, tick)[0][:, :, 0]
        if assign is not None and torch.equal(new_assign, assign):
            if tick is not None:
                tick((iters - it) * c * n * k)  # the work that convergence saved
            break
        assign = new_assign
        sums, counts = _cluster_sums(x, assign, k)
        means = (sums / counts.clamp_min(1.0)[..., None]).float()
        centres = torch.where(((counts > 0) & active)[..., None], means, centres)
    return centres


def _minibatch(
    x: torch.Tensor,
    centres: torch.Tensor,
    active: torch.Tensor,
    iters: int,
    batch: int,
    generator: torch.Generator,
    tick: Tick | None,
) -> torch.Tensor:
    """Mini-batch k-means: each step moves a centre to the running mean of every point it received
    (its seed point counting as one)."""
    n, k = x.shape[1], centres.shape[1]
    c64 = centres.double()
    seen = torch.ones(centres.shape[:2], dtype=torch.float64)
    for _ in range(iters):
        xb = x[:, torch.randperm(n, generator=generator)[:batch]]
        assign = nearest_keys(xb, c64.float(), 1, active, tick)[0][:, :, 0]
        sums, counts = _cluster_sums(xb, assign, k)
        seen += counts
        c64 += (sums - counts[..., None] * c64) / seen[..., None]
    return c64.float()


def _cluster_sums(x: torch.Tensor, assign: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-centre float64 sums ``(C, k, d)`` and counts ``(C, k)`` of the points assigned to it."""
    c, n, d = x.shape
    flat = (assign + (torch.arange(c) * k)[:, None]).reshape(-1)
    sums = torch.zeros(c * k, d, dtype=torch.float64).index_add_(0, flat, x.reshape(c * n, d).double())
    counts = torch.bincount(flat, minlength=c * k).to(torch.float64)
    return sums.reshape(c, k, d), counts.reshape(c, k)


def _duplicates(centres: torch.Tensor) -> torch.Tensor:
    """``(C, k)`` bool: True for a centre equal to a lower-indexed one (kept out of use)."""
    out = torch.zeros(centres.shape[:2], dtype=torch.bool)
    for cb in range(centres.shape[0]):
        _, inverse = torch.unique(centres[cb], dim=0, return_inverse=True)
        first = torch.full((int(inverse.max()) + 1,), centres.shape[1], dtype=torch.long)
        first = first.scatter_reduce(0, inverse, torch.arange(centres.shape[1]), reduce="amin")
        out[cb] = first[inverse] != torch.arange(centres.shape[1])
    return out
