"""Exact nearest keys, fast: a float32 filter, a float64 re-rank, and a bound that says when to trust it.

Distances written as ||x||^2 - 2 x.k + ||k||^2 in float32 cancel when the data sit far from the
origin (at an offset of 1,000 a third of the samples fetched a key that was not their nearest).
Here every codebook is first centred on its keys' mean (in float64), so the float32 products only
see the data's spread, not its offset. The float32 scores pick ``topk`` candidates; their
distances are then recomputed exactly, ``sum((x - k)^2)`` in float64 from the original numbers, and
a rounding bound on the float32 scores proves no key outside the candidates can be nearer. Rows
the bound cannot vouch for (near ties) are searched again in float64 over all keys. The result
equals a float64 brute-force search, ties going to the lower key index.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

_UNIT = 2.0**-24  # float32 unit roundoff
_CHUNK_ELEMENTS = 1 << 21  # rows x keys x codebooks scored at once (16 MB of float32)
_EXACT_CHUNK = 1 << 21  # rows x keys x dim of float64 differences at once in the fallback
_FAR = 1e30  # score of an inactive key: finite (no inf inside the matrix product), never the nearest

Tick = Callable[[int], None]


def nearest_keys(
    x: torch.Tensor,
    keys: torch.Tensor,
    topk: int = 1,
    active: torch.Tensor | None = None,
    tick: Tick | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``topk`` nearest active keys of each point: ``(C, N, d), (C, K, d) -> (C, N, topk)`` indices
    (int64) and squared distances (float32 of the exact float64 value), nearest first.

    ``active`` ``(C, K)`` bool leaves keys out (they are never returned while ``topk`` active keys
    exist). ``tick(units)`` is called after each chunk of rows with the distances it scored
    (rows x keys x codebooks), for progress and cancelling.
    """
    c, n, _ = x.shape
    k = keys.shape[1]
    if not 1 <= topk <= k:
        raise ValueError(f"topk: must be in [1, {k}]; got {topk}")
    book = _Codebooks(keys, active)
    rows = max(1, _CHUNK_ELEMENTS // max(1, c * k))
    out_i = torch.empty(c, n, topk, dtype=torch.long)
    out_d = torch.empty(c, n, topk, dtype=torch.float32)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        idx, dist = _chunk(x[:, start:stop], book, topk)
        out_i[:, start:stop], out_d[:, start:stop] = idx, dist.float()
        if tick is not None:
            tick((stop - start) * c * k)
    return out_i, out_d


def nearest_key(x: torch.Tensor, keys: torch.Tensor, active: torch.Tensor | None = None) -> torch.Tensor:
    """The nearest active key of each point, ``(C, N, d), (C, K, d) -> (C, N)``: the k-means assignment."""
    return nearest_keys(x, keys, 1, active)[0][:, :, 0]


class _Codebooks:
    """Keys prepared once for scoring: centred on their mean, as float64 and as an augmented float32
    matrix ``[-2 k, ||k||^2]`` so one matrix product gives ``||x - k||^2 - ||x||^2``."""

    def __init__(self, keys: torch.Tensor, active: torch.Tensor | None):
        c, k, d = keys.shape
        if torch.get_float32_matmul_precision() != "highest":
            raise RuntimeError("nearest_keys: float32 matmul precision must be 'highest' for its error bound")
        self.keys64 = keys.double()
        self.mask = torch.ones(c, k, dtype=torch.bool) if active is None else active.bool()
        w = self.mask.double()[:, :, None]
        self.centre = (self.keys64 * w).sum(1) / w.sum(1).clamp_min(1.0)  # (C, d)
        kc64 = self.keys64 - self.centre[:, None]
        kc32 = kc64.float()
        k_sq = (kc32 * kc32).sum(-1).masked_fill(~self.mask, _FAR)  # inactive keys never score low
        self.aug = torch.cat([-2.0 * kc32, k_sq[:, :, None]], dim=-1).transpose(1, 2).contiguous()
        self.k_max = (kc64.norm(dim=-1) * self.mask).amax(1)  # (C,)
        self.dim = d


def _chunk(x: torch.Tensor, book: _Codebooks, topk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One chunk of rows: float32 scores pick ``topk`` candidates, exact float64 re-rank, and a
    rounding bound proving no other key is nearer; unproven rows are searched again in float64."""
    x64 = x.double()
    xc64 = x64 - book.centre[:, None]
    ones = torch.ones(*x.shape[:2], 1)
    score = torch.bmm(torch.cat([xc64.float(), ones], dim=-1), book.aug)  # (C, n, K)
    k = score.shape[-1]
    if topk == 1:
        cand = score.argmin(dim=-1, keepdim=True)
        outside = score.scatter_(-1, cand, math.inf).amin(dim=-1) if k > 1 else None
    else:
        approx, cand = torch.topk(score, min(k, topk + 1), dim=-1, largest=False, sorted=True)
        outside = approx[:, :, topk] if k > topk else None
        cand = cand[:, :, :topk]
    idx, dist = _rank(cand, _exact(x64, book, cand), topk)
    if outside is None:  # every key was a candidate: nothing left to prove
        return idx, dist
    x_norm = xc64.norm(dim=-1)  # (C, n)
    bound = (2 * book.dim + 16) * _UNIT * (x_norm + book.k_max[:, None]) ** 2  # |score + ||x||^2 - true| <=
    unproven = ~(dist[:, :, -1] < outside.double() + x_norm**2 - bound)
    if bool(unproven.any()):
        for cb in unproven.any(dim=1).nonzero()[:, 0].tolist():
            row = unproven[cb].nonzero()[:, 0]
            idx[cb, row], dist[cb, row] = _brute(x64[cb, row], book.keys64[cb], book.mask[cb], topk)
    return idx, dist


def _exact(x64: torch.Tensor, book: _Codebooks, cand: torch.Tensor) -> torch.Tensor:
    """float64 ``sum((x - k)^2)`` of each row to its candidate keys ``(C, n, m)``; inactive keys: inf."""
    c = torch.arange(x64.shape[0])[:, None, None]
    diff = x64[:, :, None, :] - book.keys64[c, cand]
    exact = (diff * diff).sum(-1)
    return exact.masked_fill(~book.mask[c, cand], math.inf)


def _rank(cand: torch.Tensor, exact: torch.Tensor, topk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``topk`` candidates by exact distance, ties to the lower key index."""
    by_index, order = cand.sort(dim=-1)
    dist_by_index = exact.gather(-1, order)
    dist, pos = dist_by_index.sort(dim=-1, stable=True)
    return by_index.gather(-1, pos[..., :topk]), dist[..., :topk]


def _brute(x64: torch.Tensor, keys64: torch.Tensor, mask: torch.Tensor, topk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 search over one codebook's keys ``(K, d)`` for rows ``(R, d)``, ties to the lower index."""
    k, d = keys64.shape
    step = max(1, _EXACT_CHUNK // max(1, k * d))
    out_i, out_d = [], []
    for s in range(0, len(x64), step):
        diff = x64[s : s + step, None, :] - keys64[None]
        dist = (diff * diff).sum(-1).masked_fill(~mask[None], float("inf"))
        if topk == 1:  # argmin returns the first minimum: the same tie rule, without sorting K distances a row
            best, idx = dist.min(dim=-1, keepdim=True)
            out_i.append(idx)
            out_d.append(best)
            continue
        dist, idx = dist.sort(dim=-1, stable=True)
        out_i.append(idx[:, :topk])
        out_d.append(dist[:, :topk])
    return torch.cat(out_i), torch.cat(out_d)
