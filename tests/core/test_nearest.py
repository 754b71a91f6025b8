"""Key lookup and k-means: exact against a float64 brute force wherever the data lie; surplus keys."""

import numpy as np
import pytest
import torch

from dkvb_core.analysis import key_counts
from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.kmeans import kmeans_batched
from dkvb_core.nearest import nearest_key, nearest_keys
from dkvb_core.progress import RunCancelled
from dkvb_core.result import GridSpec

PLACES = [(0.0, 1.0), (100.0, 1.0), (1000.0, 1.0), (1000.0, 0.01), (0.0, 1e4), (-3e4, 3.0)]


def brute(x: torch.Tensor, keys: torch.Tensor, topk: int, active: torch.Tensor | None = None):
    """The reference: float64 squared distances to every key, ties to the lower index."""
    d = ((x.double()[:, :, None, :] - keys.double()[:, None, :, :]) ** 2).sum(-1)
    if active is not None:
        d = d.masked_fill(~active[:, None, :], float("inf"))
    dist, idx = d.sort(dim=-1, stable=True)
    return idx[..., :topk], dist[..., :topk]


def cloud(n: int, offset: float, scale: float, seed: int, codebooks: int = 2, dim: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(codebooks, n, dim, generator=g) * scale + offset


@pytest.mark.parametrize(("offset", "scale"), PLACES)
@pytest.mark.parametrize("topk", [1, 4])
def test_lookup_equals_float64_brute_force_far_from_the_origin(offset, scale, topk):
    x, keys = cloud(1500, offset, scale, 1), cloud(4096, offset, scale, 2)
    idx, dist = nearest_keys(x, keys, topk)
    ref_i, ref_d = brute(x, keys, topk)
    assert torch.equal(idx, ref_i)
    np.testing.assert_allclose(dist.double().numpy(), ref_d.numpy(), rtol=1e-6)


@pytest.mark.parametrize(("offset", "scale"), PLACES[:4])
def test_high_dimensional_heads_and_inactive_keys(offset, scale):
    x, keys = cloud(600, offset, scale, 3, codebooks=3, dim=64), cloud(300, offset, scale, 4, codebooks=3, dim=64)
    active = torch.rand(3, 300, generator=torch.Generator().manual_seed(5)) > 0.3
    idx, _ = nearest_keys(x, keys, 3, active)
    assert torch.equal(idx, brute(x, keys, 3, active)[0])
    assert active.gather(1, idx.reshape(3, -1)).all()


def test_near_ties_resolve_like_the_brute_force():
    # points exactly halfway between two keys, and duplicated keys: ties go to the lower index
    keys = torch.tensor([[[1000.0, 0.0], [1001.0, 0.0], [1001.0, 0.0], [1000.5, 3.0]]])
    x = torch.tensor([[[1000.5, 0.0], [1000.5, 1e-4], [1001.0, 0.0], [1000.75, 1.5]]])
    assert torch.equal(nearest_keys(x, keys, 2)[0], brute(x, keys, 2)[0])


@pytest.mark.parametrize("offset", [100.0, 1000.0])
def test_bottleneck_lookup_forward_and_grid_are_exact_off_centre(offset):
    torch.manual_seed(0)
    data = torch.randn(800, 1, 2) * 0.7 + offset
    bn = KeyValueBottleneck(1, 1024, 2, 8, topk=3, init_mode="kmeans", seed=3)
    bn.initialize_keys(data)
    idx, _ = bn.lookup(data)
    ref_i, ref_d = brute(data.permute(1, 0, 2), bn.keys, 3, bn.active)
    assert torch.equal(idx.permute(1, 0, 2), ref_i)
    grid = torch.from_numpy(GridSpec(offset - 3, offset + 3, offset - 3, offset + 3, 60).points())[:, None, :]
    g_idx, _ = bn.lookup(grid)
    assert torch.equal(g_idx.permute(1, 0, 2), brute(grid.permute(1, 0, 2), bn.keys, 3, bn.active)[0])
    _, _, f_idx, f_dist, _ = KeyValueBottleneck.forward(_eval(bn), data[:100, :, None, :])
    assert torch.equal(f_idx[:, 0, :, 0, 0], ref_i[0, :100])
    np.testing.assert_allclose(f_dist[:, 0, :, 0, 0].double().numpy(), ref_d[0, :100].numpy(), rtol=1e-6)


def _eval(bn: KeyValueBottleneck) -> KeyValueBottleneck:
    bn.return_values_only = False
    bn.freeze_keys()
    return bn.eval()


def test_kmeans_assignment_is_exact_and_kmeans_is_translation_invariant():
    g = torch.Generator().manual_seed(7)
    base = torch.round(torch.randn(2, 600, 2, generator=g) * 1024) / 1024  # dyadic: + 1024 is exact
    a = kmeans_batched(base, 48, 10, torch.Generator().manual_seed(1))
    b = kmeans_batched(base + 1024.0, 48, 10, torch.Generator().manual_seed(1))
    assert torch.equal(a.active, b.active)
    np.testing.assert_allclose((b.centres - 1024.0).numpy(), a.centres.numpy(), atol=2e-3)
    assign = nearest_key(base + 1024.0, b.centres, b.active)
    assert torch.equal(assign, brute(base + 1024.0, b.centres, 1, b.active)[0][:, :, 0])
    same = (assign == nearest_key(base, a.centres, a.active)).float().mean()
    assert same > 0.99


def test_surplus_keys_are_unused_not_jittered_twins():
    torch.manual_seed(0)
    data = torch.randn(800, 2, 2)
    bn = KeyValueBottleneck(2, 4096, 2, 8, topk=1, init_mode="kmeans", seed=1)
    bn.initialize_keys(data)
    assert bn.active.sum(1).tolist() == [800, 800]  # every distinct point is a key, the rest unused
    counts = key_counts(bn.keys.numpy(), bn.active.numpy(), None)
    assert counts.unused == 2 * (4096 - 800) and counts.duplicates == 0
    # each training point is its own key, so a test point next to it fetches that (trained) key
    idx, dist = bn.lookup(data)
    assert float(dist.max()) == 0.0
    near = data + 1e-3
    assert torch.equal(bn.lookup(near)[0], idx)


def test_duplicate_points_give_unused_keys_not_duplicate_keys():
    pts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]).repeat(40, 1)[:, None, :]
    bn = KeyValueBottleneck(1, 16, 2, 3, init_mode="kmeans", seed=0)
    bn.initialize_keys(pts)
    assert int(bn.active.sum()) == 3
    active_keys = bn.keys[0, bn.active[0]]
    assert len(torch.unique(active_keys, dim=0)) == 3


def test_key_counts_finds_twins_and_never_trained_keys():
    keys = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1e-9], [5.0, 5.0], [9.0, 9.0]]], np.float32)
    active = np.array([[True, True, True, True, False]])
    usage = np.zeros((2, 1, 5), np.int32)
    usage[0, 0, 0] = 3
    usage[1, 0, 1] = 1
    c = key_counts(keys, active, usage)
    assert (c.total, c.unused, c.duplicates, c.never_trained) == (5, 1, 1, 2)  # keys 2 and 3 untrained


def test_key_init_reports_progress_and_stops_when_cancelled():
    data = torch.randn(3000, 4, 8)
    calls = []
    bn = KeyValueBottleneck(4, 512, 8, 3, init_mode="kmeans", seed=0)
    bn.initialize_keys(data, progress=lambda d, t, p: calls.append((d, t, p)))
    assert calls and all(p == "keys" for _, _, p in calls)
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls) and calls[-1][0] == calls[-1][1]

    def cancel(done, total, phase):
        raise RunCancelled("stop")

    fresh = KeyValueBottleneck(4, 512, 8, 3, init_mode="kmeans", seed=0)
    with pytest.raises(RunCancelled):
        fresh.initialize_keys(data, progress=cancel)
    assert not bool(fresh.initted)


def test_same_seed_same_keys_bit_for_bit():
    data = torch.randn(5000, 8, 4)
    one = KeyValueBottleneck(8, 256, 4, 3, init_mode="kmeans", seed=5)
    two = KeyValueBottleneck(8, 256, 4, 3, init_mode="kmeans", seed=5)
    one.initialize_keys(data)
    two.initialize_keys(data)
    assert torch.equal(one.keys, two.keys) and torch.equal(one.active, two.active)
