"""Seeded k-means (k-means++ seeding, then Lloyd) in torch, batched over codebooks, for
unsupervised key initialisation. Batching matters: C codebooks x K keys of k-means++ draws as a
Python loop was most of a 16 x 512-key run's time; here the loop runs K times, not C x K."""

from __future__ import annotations

import torch


def squared_distances(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """``(N, D), (K, D) -> (N, K)`` or batched ``(C, N, D), (C, K, D) -> (C, N, K)``; never negative."""
    if x.dim() == 2:
        return squared_distances(x[None], centers[None])[0]
    d = torch.baddbmm((centers * centers).sum(-1)[:, None, :], x, centers.transpose(1, 2), alpha=-2.0)
    return d.add_((x * x).sum(-1)[:, :, None]).clamp_min_(0.0)


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding of ``(C, N, D)`` points: each next centre is drawn with probability
    proportional to D(x)^2, independently per codebook -> ``(C, k, D)``.

    Where every point already coincides with a centre (fewer distinct points than ``k``), the
    next centre repeats a random point nudged by a tiny seeded jitter, so no two keys coincide.
    """
    c, n, d = x.shape
    rows = torch.arange(c)
    centers = torch.empty(c, k, d, dtype=x.dtype)
    first = torch.randint(n, (c,), generator=generator)
    centers[:, 0] = x[rows, first]
    x_sq = (x * x).sum(-1)

    def dist_to(p: torch.Tensor) -> torch.Tensor:  # (C, D) -> (C, N)
        return (x_sq - 2.0 * torch.bmm(x, p[:, :, None])[:, :, 0] + (p * p).sum(-1)[:, None]).clamp_min_(0.0)

    closest = dist_to(centers[:, 0])
    for j in range(1, k):
        cdf = closest.cumsum(1)  # inverse-CDF draw: one searchsorted beats multinomial here
        total = cdf[:, -1:]
        degenerate = total[:, 0] <= 0.0
        cdf = torch.where(degenerate[:, None], torch.arange(1, n + 1, dtype=x.dtype).expand(c, n), cdf)
        u = torch.rand(c, 1, generator=generator, dtype=x.dtype) * cdf[:, -1:]
        idx = torch.searchsorted(cdf, u, right=True)[:, 0].clamp_(max=n - 1)
        new = x[rows, idx]
        if degenerate.any():
            jitter = 1e-3 * torch.randn(c, d, generator=generator, dtype=x.dtype)
            new = torch.where(degenerate[:, None], new + jitter, new)
        centers[:, j] = new
        torch.minimum(closest, dist_to(new), out=closest)
    return centers


def kmeans_batched(
    x: torch.Tensor, k: int, iters: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster each codebook's points ``(C, N, D)`` into ``k`` centres: ``(C, k, D)``, counts ``(C, k)``.

    An empty cluster keeps its previous centre instead of collapsing to the origin.
    """
    x = x.detach()
    c, n, d = x.shape
    centers = kmeans_plus_plus(x, k, generator)
    offsets = (torch.arange(c) * k)[:, None]
    flat_x = x.reshape(c * n, d)
    assign = squared_distances(x, centers).argmin(-1)
    for _ in range(iters):
        flat = (assign + offsets).reshape(-1)
        sums = torch.zeros(c * k, d, dtype=x.dtype).index_add_(0, flat, flat_x)
        counts = torch.bincount(flat, minlength=c * k).to(x.dtype)
        means = sums / counts.clamp_min(1.0)[:, None]
        centers = torch.where((counts > 0)[:, None], means, centers.reshape(c * k, d)).reshape(c, k, d)
        new_assign = squared_distances(x, centers).argmin(-1)
        if torch.equal(new_assign, assign):
            break
        assign = new_assign
    counts = torch.bincount((assign + offsets).reshape(-1), minlength=c * k).reshape(c, k).to(x.dtype)
    return centers, counts


def kmeans(x: torch.Tensor, k: int, iters: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One codebook: ``(N, D)`` -> centres ``(k, D)``, counts ``(k,)``."""
    centers, counts = kmeans_batched(x[None], k, iters, generator)
    return centers[0], counts[0]
