"""KeyValueBottleneck: the authors' module contract, sparse gradients, and their faults fixed."""

import pytest
import torch

from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.encoders import BottleneckedEncoder, RandomProjectionSplit


def make(**kw):
    args = dict(num_codebooks=3, key_value_pairs_per_codebook=20, dim_keys=4, dim_values=5, topk=2, seed=0)
    args.update(kw)
    return KeyValueBottleneck(**args)


def test_forward_shapes_match_the_authors_contract():
    bn = make(return_values_only=False)
    x = torch.randn(7, 3, 6, 4)
    values, keys, idx, dists, counts = bn(x)
    assert values.shape == (7, 3, 2, 6, 5)
    assert keys.shape == (7, 3, 2, 6, 4)
    assert idx.shape == dists.shape == counts.shape == (7, 3, 2, 6, 1)
    assert bn.keys.shape == (3, 20, 4) and bn.values.shape == (3, 20, 5)
    # the fetched keys are the nearest ones, in order
    assert torch.all(dists[:, :, 0] <= dists[:, :, 1])


def test_return_values_only_returns_a_tensor():
    out = make(return_values_only=True)(torch.randn(2, 3, 1, 4))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 2, 1, 5)


def test_only_fetched_values_get_gradient_and_keys_none():
    bn = make(topk=1, init_mode="kmeans")
    bn.initialize_keys(torch.randn(200, 3, 4))
    bn.freeze_keys()
    x = torch.randn(5, 3, 1, 4)
    values, _, idx, _, _ = make_tuple(bn, x)
    values.sum().backward()
    grad_rows = bn.values.grad.abs().sum(-1) > 0
    fetched = torch.zeros_like(grad_rows)
    for c in range(3):
        fetched[c, idx[:, c].reshape(-1)] = True
    assert torch.equal(grad_rows, fetched)
    assert not bn.keys.requires_grad


def make_tuple(bn, x):
    bn.return_values_only = False
    return bn(x)


def test_frozen_keys_do_not_move_in_training_mode():
    bn = make(init_mode="kmeans")
    bn.initialize_keys(torch.randn(100, 3, 4))
    bn.freeze_keys()
    before = bn.keys.clone()
    bn.train()
    bn(torch.randn(50, 3, 1, 4) + 5)
    assert torch.equal(bn.keys, before)


def test_kmeans_keys_do_not_shrink_on_the_first_ema_step():
    # authors' fault: the EMA sum started at zero, so keys collapsed toward 0 after one step
    data = torch.randn(400, 1, 2) + torch.tensor([20.0, -10.0])
    bn = make(num_codebooks=1, key_value_pairs_per_codebook=8, dim_keys=2, init_mode="kmeans", decay=0.95)
    bn.initialize_keys(data)
    norms_before = bn.keys.norm(dim=-1)
    bn.ema_update(data)
    ratio = bn.keys.norm(dim=-1) / norms_before
    assert torch.all(ratio > 0.9), ratio


def test_dead_keys_do_not_pile_up_at_the_origin():
    # authors' fault: with random init + EMA, never-chosen keys decayed to the origin
    data = torch.randn(300, 1, 2) * 0.1 + 30.0
    bn = make(
        num_codebooks=1, key_value_pairs_per_codebook=16, dim_keys=2, init_mode="random", threshold_ema_dead_code=0.0
    )
    bn.initialize_keys(data)
    start = bn.keys.clone()
    for _ in range(300):
        bn.ema_update(data[torch.randint(300, (32,))])
    dead = bn.ema_cluster_size[0] < 1e-3
    assert dead.any(), "the test needs keys that no sample chooses"
    assert torch.allclose(bn.keys[0, dead], start[0, dead])
    assert (bn.keys[0].norm(dim=-1) > 1e-2).all()


def test_dead_key_replacement_survives_the_next_ema_step():
    # authors' fault: a replaced key snapped back because its EMA state was left stale
    data = torch.randn(300, 1, 2) * 0.5 + torch.tensor([10.0, 10.0])
    bn = make(
        num_codebooks=1, key_value_pairs_per_codebook=8, dim_keys=2, init_mode="random", threshold_ema_dead_code=0.5
    )
    bn.initialize_keys(data)
    centre = torch.tensor([10.0, 10.0])
    was_near = torch.zeros(8, dtype=torch.bool)
    for _ in range(40):  # far random keys die (EMA count < 0.5 after ~14 steps) and are replaced
        bn.ema_update(data[torch.randint(300, (64,))])
        near = (bn.keys[0] - centre).norm(dim=-1) < 5
        assert not (was_near & ~near).any(), "a replaced key moved back out of the data"
        was_near = near
    assert was_near.all(), bn.keys


def test_concatenating_values_from_all_codebooks_works():
    # authors' fault: concat_values_from_all_codebooks crashed
    bn = make(num_codebooks=4, topk=1, dim_keys=3, dim_values=5)
    enc = BottleneckedEncoder(
        torch.nn.Identity(), RandomProjectionSplit(6, 4, 3, seed=0), bn, concat_values_from_all_codebooks=True
    )
    out = enc(torch.randn(9, 6))
    assert out.shape == (9, 4 * 5)
    enc.concat_values_from_all_codebooks = False
    assert enc(torch.randn(9, 6)).shape == (9, 4, 5)


def test_prepare_freezes_encoder_and_keys():
    encoder = torch.nn.Linear(6, 6)
    bn = make(num_codebooks=2, topk=1, dim_keys=3, init_mode="kmeans")
    enc = BottleneckedEncoder(encoder, RandomProjectionSplit(6, 2, 3, seed=1), bn)
    loader = [(torch.randn(32, 6), torch.zeros(32)) for _ in range(3)]
    assert enc.prepare(loader, epochs=2) is enc
    assert bool(bn.keys_frozen) and not any(p.requires_grad for p in encoder.parameters())


def test_kmeans_init_covers_separated_clusters():
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    data = (centres[:, None, :] + 0.1 * torch.randn(4, 50, 2)).reshape(-1, 1, 2)
    bn = make(num_codebooks=1, key_value_pairs_per_codebook=4, dim_keys=2, init_mode="kmeans", topk=1)
    bn.initialize_keys(data)
    d = torch.cdist(centres, bn.keys[0])
    assert (d.min(dim=1).values < 0.5).all()


def test_bad_shapes_and_arguments_are_named():
    with pytest.raises(ValueError, match="input"):
        make()(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="topk"):
        make(topk=50)
