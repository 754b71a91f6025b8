"""Seeded k-means (k-means++ seeding, then Lloyd) in torch, for unsupervised key initialisation."""

from __future__ import annotations

import torch


def squared_distances(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """``(N, D), (K, D) -> (N, K)`` squared Euclidean distances, never negative."""
    d = (x * x).sum(1, keepdim=True) - 2.0 * x @ centers.T + (centers * centers).sum(1)[None, :]
    return d.clamp_min_(0.0)


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each next centre drawn with probability proportional to D(x)^2.

    With fewer distinct points than ``k`` the remaining centres repeat data points, each nudged
    by a tiny seeded jitter so that no two keys coincide.
    """
    n = x.shape[0]
    first = int(torch.randint(n, (1,), generator=generator))
    centers = [x[first]]
    closest = squared_distances(x, x[first : first + 1])[:, 0]
    for _ in range(1, k):
        total = float(closest.sum())
        if total <= 0.0:
            idx = int(torch.randint(n, (1,), generator=generator))
            jitter = 1e-3 * torch.randn(x.shape[1], generator=generator, dtype=x.dtype)
            centers.append(x[idx] + jitter)
            continue
        idx = int(torch.multinomial(closest / total, 1, generator=generator))
        centers.append(x[idx])
        closest = torch.minimum(closest, squared_distances(x, x[idx : idx + 1])[:, 0])
    return torch.stack(centers)


def kmeans(x: torch.Tensor, k: int, iters: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster ``x`` (N, D) into ``k`` centres; returns (centres (k, D), counts (k,)).

    An empty cluster keeps its previous centre instead of collapsing to the origin.
    """
    x = x.detach()
    centers = kmeans_plus_plus(x, k, generator)
    assign = squared_distances(x, centers).argmin(1)
    for _ in range(iters):
        sums = torch.zeros_like(centers).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        nonempty = counts > 0
        centers = torch.where(nonempty[:, None], sums / counts.clamp_min(1.0)[:, None], centers)
        new_assign = squared_distances(x, centers).argmin(1)
        if torch.equal(new_assign, assign):
            break
        assign = new_assign
    counts = torch.bincount(assign, minlength=k).to(x.dtype)
    return centers, counts
