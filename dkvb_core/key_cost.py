"""How much work key initialisation and lookup do, in distances scored: torch-free, so the budget
can estimate a run's cost before anything heavy is imported. :mod:`dkvb_core.kmeans` follows it."""

from __future__ import annotations

POOL_PER_KEY = 4  # k-means++ seeds on a pool of at most this many points a key
FULL_PASS_WORK = 1 << 26  # Lloyd on all points while codebooks x points x keys stays under this


def full_batch(codebooks: int, points: int, k: int) -> bool:
    """Lloyd on every point (True) or mini-batch k-means (False)."""
    return codebooks * points * k <= FULL_PASS_WORK or batch_size(codebooks, points, k) >= points


def batch_size(codebooks: int, points: int, k: int) -> int:
    """Mini-batch size: about 2^26 scored distances a step, and at least one point a key."""
    return max(k, FULL_PASS_WORK // max(1, codebooks * k))


def kmeans_work(codebooks: int, points: int, k: int, iters: int) -> int:
    """Distances scored by k-means at most: the unit of its progress, for cost estimates."""
    seeding = codebooks * min(points, POOL_PER_KEY * k) * k
    if full_batch(codebooks, points, k):
        return seeding + iters * codebooks * points * k
    return seeding + iters * codebooks * batch_size(codebooks, points, k) * k


def lookup_work(codebooks: int, points: int, keys: int) -> int:
    """Distances a lookup scores: the unit of its progress, for cost estimates."""
    return codebooks * points * keys
