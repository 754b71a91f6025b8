"""Key initialisation and lookup: ours against the straightforward path, timed and measured.

Ours: :class:`dkvb_core.bottleneck.KeyValueBottleneck` (k-means++ in rounds, Lloyd or mini-batch
k-means, exact lookup). The straightforward path is the bottleneck module as it was before (kept
below, verbatim in substance): k-means++ drawing one key at a time over all points, 10 Lloyd
iterations, and a per-codebook float32 ||x||^2 - 2x.k + ||k||^2 lookup. Each case runs in a fresh
process (so peak memory is its own), single-threaded like the engine; the table shows the median
wall time of ``--repeat`` runs, the extra peak resident memory, and old / ours ratios.

    python benchmarks/bench_keys.py              # toy and research-scale cases (several minutes)
    python benchmarks/bench_keys.py --quick      # small cases only
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import time

import torch
from threadpoolctl import threadpool_limits

# --- the straightforward path (the bottleneck module before the exact lookup) ---------------


def old_squared_distances(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    if x.dim() == 2:
        return old_squared_distances(x[None], centers[None])[0]
    d = torch.baddbmm((centers * centers).sum(-1)[:, None, :], x, centers.transpose(1, 2), alpha=-2.0)
    return d.add_((x * x).sum(-1)[:, :, None]).clamp_min_(0.0)


def old_kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    c, n, d = x.shape
    rows = torch.arange(c)
    centers = torch.empty(c, k, d, dtype=x.dtype)
    centers[:, 0] = x[rows, torch.randint(n, (c,), generator=generator)]
    x_sq = (x * x).sum(-1)

    def dist_to(p: torch.Tensor) -> torch.Tensor:
        return (x_sq - 2.0 * torch.bmm(x, p[:, :, None])[:, :, 0] + (p * p).sum(-1)[:, None]).clamp_min_(0.0)

    closest = dist_to(centers[:, 0])
    for j in range(1, k):
        cdf = closest.cumsum(1)
        degenerate = cdf[:, -1] <= 0.0
        cdf = torch.where(degenerate[:, None], torch.arange(1, n + 1, dtype=x.dtype).expand(c, n), cdf)
        u = torch.rand(c, 1, generator=generator, dtype=x.dtype) * cdf[:, -1:]
        idx = torch.searchsorted(cdf, u, right=True)[:, 0].clamp_(max=n - 1)
        new = x[rows, idx]
        if degenerate.any():
            new = torch.where(degenerate[:, None], new + 1e-3 * torch.randn(c, d, generator=generator), new)
        centers[:, j] = new
        torch.minimum(closest, dist_to(new), out=closest)
    return centers


def old_kmeans(x: torch.Tensor, k: int, iters: int, generator: torch.Generator) -> torch.Tensor:
    c, n, d = x.shape
    centers = old_kmeans_plus_plus(x, k, generator)
    offsets = (torch.arange(c) * k)[:, None]
    flat_x = x.reshape(c * n, d)
    assign = old_squared_distances(x, centers).argmin(-1)
    for _ in range(iters):
        flat = (assign + offsets).reshape(-1)
        sums = torch.zeros(c * k, d).index_add_(0, flat, flat_x)
        counts = torch.bincount(flat, minlength=c * k).to(x.dtype)
        means = sums / counts.clamp_min(1.0)[:, None]
        centers = torch.where((counts > 0)[:, None], means, centers.reshape(c * k, d)).reshape(c, k, d)
        new_assign = old_squared_distances(x, centers).argmin(-1)
        if torch.equal(new_assign, assign):
            break
        assign = new_assign
    return centers


def old_lookup(x: torch.Tensor, keys: torch.Tensor, topk: int = 1, chunk: int = 65_536) -> torch.Tensor:
    out = []
    for c in range(keys.shape[0]):
        parts = []
        for start in range(0, x.shape[1], chunk):
            d = old_squared_distances(x[c, start : start + chunk], keys[c])
            parts.append(torch.topk(d, topk, dim=1, largest=False, sorted=True)[1])
        out.append(torch.cat(parts))
    return torch.stack(out)


# --- cases -------------------------------------------------------------------------------------

CASES = {
    # name: (codebooks, keys, key-init points, lookup points, head dim, features)
    "toy 1x64": (1, 64, 800, 1000, 2, 2),
    "toy 1x4096": (1, 4096, 800, 1000, 2, 2),
    "digits 16x256": (16, 256, 1440, 1800, 8, 64),
    "research 64x1024": (64, 1024, 16_000, 20_000, 16, 512),
}


def heads(case: str) -> torch.Tensor:
    """Class-clustered features (10 classes), randomly projected to the case's heads ``(C, N, d)``."""
    c, _, _, n, dk, feat = CASES[case]
    g = torch.Generator().manual_seed(0)
    means = torch.randn(10, feat, generator=g) * 3
    x = means[torch.randint(10, (n,), generator=g)] + torch.randn(n, feat, generator=g)
    if feat == dk:
        return x[None].expand(c, n, dk).contiguous()
    proj = torch.randn(c, feat, dk, generator=g) / dk**0.5
    return torch.einsum("nf,cfd->cnd", x, proj).contiguous()


def measure(case: str, path: str, queue: mp.Queue) -> None:
    """Child process: key init then lookup of every point; (init s, lookup s, extra peak MiB)."""
    from dkvb_core.bottleneck import KeyValueBottleneck

    c, k, n_init, _, dk, _ = CASES[case]
    h = heads(case)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        if path == "ours":
            bn = KeyValueBottleneck(c, k, dk, 10, init_mode="kmeans", kmeans_iters=10, seed=0)
            bn.initialize_keys(h[:, :n_init].permute(1, 0, 2))
            t1 = time.perf_counter()
            bn.lookup(h.permute(1, 0, 2))
        else:
            keys = old_kmeans(h[:, :n_init], k, 10, torch.Generator().manual_seed(0))
            t1 = time.perf_counter()
            old_lookup(h, keys)
        t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((t1 - t0, t2 - t1, max(0, peak - base) / 1024))


def run_case(case: str, path: str, repeat: int) -> tuple[float, float, float]:
    ctx = mp.get_context("spawn")
    out = []
    for _ in range(repeat):
        q = ctx.Queue()
        p = ctx.Process(target=measure, args=(case, path, q))
        p.start()
        out.append(q.get())
        p.join()
    return (
        statistics.median(r[0] for r in out),
        statistics.median(r[1] for r in out),
        max(r[2] for r in out),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs a case (median), default 3")
    parser.add_argument("--quick", action="store_true", help="small cases only")
    parser.add_argument("--old-repeat", type=int, default=None, help="runs of the slow old path (default --repeat)")
    args = parser.parse_args()
    cases = [c for c in CASES if not (args.quick and c.startswith("research"))]
    print(f"Key init (k-means on the init points) and lookup (every point), 1 thread, median of {args.repeat}")
    head = f"{'case':<18}{'init s':>8}{'old':>8}{'x':>6}{'lookup s':>10}{'old':>8}{'x':>6}{'MiB':>7}{'old':>7}"
    print(head, flush=True)
    for case in cases:
        ours = run_case(case, "ours", args.repeat)
        old = run_case(case, "old", args.old_repeat or args.repeat)
        print(
            f"{case:<18}{ours[0]:>8.2f}{old[0]:>8.2f}{old[0] / ours[0]:>6.1f}"
            f"{ours[1]:>10.2f}{old[1]:>8.2f}{old[1] / ours[1]:>6.1f}{ours[2]:>7.0f}{old[2]:>7.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
