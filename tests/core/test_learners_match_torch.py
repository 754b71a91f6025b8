"""The numpy learners take the same steps as the torch modules trained by autograd."""

import numpy as np
import pytest
import torch

from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.encoders import RandomProjectionSplit
from dkvb_core.models.baselines import LinearLearner, MLPLearner
from dkvb_core.models.dkvb import DKVBLearner
from dkvb_core.torch_models import MLP, DKVBClassifier, LinearProbe

N, D, CLASSES, B, STEPS = 60, 5, 4, 6, 25


@pytest.fixture()
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D)).astype(np.float32)
    y = rng.integers(0, CLASSES, N)
    rows = rng.integers(0, N, (STEPS, B))
    return x, y, rows


def torch_train(model, params, x, y, rows, opt_name, lr):
    opt = torch.optim.SGD(params, lr=lr) if opt_name == "sgd" else torch.optim.Adam(params, lr=lr)
    for r in rows:
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x[r])), torch.from_numpy(y[r]))
        opt.zero_grad()
        loss.backward()
        opt.step()


def numpy_train(learner, y, rows):
    buf = np.zeros((1, B, CLASSES), np.float32)
    for r in rows:
        learner.step(r[None], y[r][None], buf[0])


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_linear(data, opt):
    x, y, rows = data
    fast = LinearLearner({"train": x[None]}, CLASSES, opt, 0.1, B)
    ref = LinearProbe(D, CLASSES)
    torch_train(ref, list(ref.parameters()), x, y, rows, opt, 0.1)
    numpy_train(fast, y, rows)
    np.testing.assert_allclose(fast.W[0], ref.linear.weight.detach().numpy().T, atol=1e-5)
    np.testing.assert_allclose(fast.b[0, 0], ref.linear.bias.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_mlp(data, opt):
    x, y, rows = data
    fast = MLPLearner({"train": x[None]}, CLASSES, opt, 0.05, B, 7, [np.random.default_rng(1)])
    ref = MLP(D, 7, CLASSES)
    with torch.no_grad():
        ref.hidden.weight.copy_(torch.from_numpy(fast.W1[0].T))
        ref.out.weight.copy_(torch.from_numpy(fast.W2[0].T))
    torch_train(ref, list(ref.parameters()), x, y, rows, opt, 0.05)
    numpy_train(fast, y, rows)
    np.testing.assert_allclose(fast.W1[0], ref.hidden.weight.detach().numpy().T, atol=1e-5)
    np.testing.assert_allclose(fast.W2[0], ref.out.weight.detach().numpy().T, atol=1e-5)
    np.testing.assert_allclose(fast.b2[0, 0], ref.out.bias.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize(
    ("opt", "decoder", "topk"), [("sgd", "mean", 1), ("adam", "mean", 1), ("sgd", "mean", 2), ("sgd", "linear", 1)]
)
def test_dkvb(data, opt, decoder, topk):
    x, y, rows = data
    C, K = 3, 10
    split = RandomProjectionSplit(D, C, 2, seed=0)
    dv = CLASSES if decoder == "mean" else 6
    bn = KeyValueBottleneck(C, K, 2, dv, topk=topk, init_mode="kmeans", value_init="normal", seed=0)
    heads = split(torch.from_numpy(x))
    bn.initialize_keys(heads)
    bn.freeze_keys()
    ref = DKVBClassifier(split, bn, CLASSES, decoder)
    idx, _ = bn.lookup(heads)  # (N, C, topk)
    slots = (idx + (torch.arange(C) * K).view(1, C, 1)).reshape(N, -1).numpy()
    fast = DKVBLearner(
        {"train": slots[None]},
        CLASSES,
        opt,
        0.2,
        B,
        bn.values.detach().numpy().reshape(1, C * K, dv).copy(),
        decoder,
        [np.random.default_rng(2)],
    )
    params = [bn.values]
    if decoder == "linear":
        with torch.no_grad():
            ref.decoder.weight.copy_(torch.from_numpy(fast.W[0].T))
            ref.decoder.bias.zero_()
        params += list(ref.decoder.parameters())
    torch_train(ref, params, x, y, rows, opt, 0.2)
    numpy_train(fast, y, rows)
    np.testing.assert_allclose(fast.values[0], bn.values.detach().numpy().reshape(C * K, dv), atol=1e-5)
    logits_ref = ref(torch.from_numpy(x)).detach().numpy()
    fast.inputs["all"] = slots[None]
    np.testing.assert_allclose(fast.logits("all")[0], logits_ref, atol=1e-5)


def test_sgd_freezes_a_row_once_no_longer_fetched_but_adam_keeps_moving_it(data):
    _, y, rows = data
    slots = np.ones((1, N, 1), np.int64)  # samples fetch row 1 ...
    slots[0, :B] = 0  # ... except the first B, which fetch row 0
    first, later = np.arange(B)[None], rows[1:] % (N - B) + B
    for opt, keeps_moving in (("sgd", False), ("adam", True)):
        fast = DKVBLearner({"train": slots}, CLASSES, opt, 0.1, B, np.zeros((1, 3, CLASSES), np.float32))
        numpy_train(fast, y, first)
        after_first = fast.values[0, 0].copy()
        assert np.any(after_first != 0)
        numpy_train(fast, y, later)
        assert (not np.array_equal(fast.values[0, 0], after_first)) is keeps_moving
        assert np.all(fast.values[0, 2] == 0)  # never fetched: untouched by either optimiser
