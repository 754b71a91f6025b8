"""The numpy learners take the same steps as the torch modules trained by autograd (cross-entropy and
squared loss; hard and soft key-value readout)."""

import numpy as np
import pytest
import torch

from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.encoders import RandomProjectionSplit
from dkvb_core.models.baselines import LinearLearner, MLPLearner
from dkvb_core.models.dkvb import DKVBLearner, readout_weights
from dkvb_core.models.losses import SquaredError, make_loss
from dkvb_core.torch_models import MLP, DKVBClassifier, LinearProbe, MLPStack

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


# --- regression (squared loss) and the soft readout --------------------------------------------


@pytest.fixture()
def reg_data():
    rng = np.random.default_rng(5)
    x = rng.uniform(-3, 3, (N, 1)).astype(np.float32)
    y = (np.sin(2 * x[:, 0]) + 0.1 * rng.standard_normal(N)).astype(np.float32)
    rows = rng.integers(0, N, (STEPS, B))
    return x, y, rows


def torch_train_mse(model, params, x, y, rows, opt_name, lr):
    opt = torch.optim.SGD(params, lr=lr) if opt_name == "sgd" else torch.optim.Adam(params, lr=lr)
    for r in rows:
        loss = torch.nn.functional.mse_loss(model(torch.from_numpy(x[r]))[:, 0], torch.from_numpy(y[r]))
        opt.zero_grad()
        loss.backward()
        opt.step()


def numpy_train_mse(learner, y, rows):
    buf = np.zeros((1, B, 1), np.float32)
    for r in rows:
        learner.step(r[None], y[r][None], buf[0])


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_linear_regression(reg_data, opt):
    x, y, rows = reg_data
    fast = LinearLearner({"train": x[None]}, 1, opt, 0.05, B, SquaredError())
    ref = LinearProbe(1, 1)
    torch_train_mse(ref, list(ref.parameters()), x, y, rows, opt, 0.05)
    numpy_train_mse(fast, y, rows)
    np.testing.assert_allclose(fast.W[0], ref.linear.weight.detach().numpy().T, atol=1e-5)
    np.testing.assert_allclose(fast.b[0, 0], ref.linear.bias.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_mlp_40_40_regression(reg_data, opt):
    x, y, rows = reg_data
    fast = MLPLearner({"train": x[None]}, 1, opt, 0.01, B, (40, 40), [np.random.default_rng(3)], SquaredError())
    ref = MLPStack(1, (40, 40), 1)
    with torch.no_grad():
        for layer, W in zip(ref.layers, fast.weights, strict=True):
            layer.weight.copy_(torch.from_numpy(W[0].T))
    torch_train_mse(ref, list(ref.parameters()), x, y, rows, opt, 0.01)
    numpy_train_mse(fast, y, rows)
    for layer, W, b in zip(ref.layers, fast.weights, fast.biases, strict=True):
        np.testing.assert_allclose(W[0], layer.weight.detach().numpy().T, atol=1e-5)
        np.testing.assert_allclose(b[0, 0], layer.bias.detach().numpy(), atol=1e-5)
    fast.inputs["all"] = x[None]
    np.testing.assert_allclose(fast.logits("all")[0], ref(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def _bottleneck_and_slots(x, C, K, topk, dv):
    split = RandomProjectionSplit(x.shape[1], C, 2, seed=0)
    bn = KeyValueBottleneck(C, K, 2, dv, topk=topk, init_mode="kmeans", value_init="normal", seed=0)
    heads = split(torch.from_numpy(x))
    bn.initialize_keys(heads)
    bn.freeze_keys()
    idx, dist = bn.lookup(heads)  # (N, C, topk)
    slots = (idx + (torch.arange(C) * K).view(1, C, 1)).reshape(len(x), -1).numpy()
    return split, bn, slots, dist.numpy()


@pytest.mark.parametrize(
    ("task", "opt", "temperature", "topk"),
    [
        ("regression", "sgd", None, 1),
        ("regression", "adam", None, 2),
        ("regression", "sgd", 0.5, 3),
        ("regression", "adam", 2.0, 4),
        ("classification", "sgd", 0.3, 3),
        ("classification", "adam", 1.0, 2),
    ],
)
def test_dkvb_hard_and_soft_readout(data, reg_data, task, opt, temperature, topk):
    """Soft readout: the numpy weights (computed once from the lookup's distances) and the weighted
    gather/scatter match a torch model that computes softmax(-d^2/tau) itself, step by step."""
    x, y, rows = reg_data if task == "regression" else data
    outputs = 1 if task == "regression" else CLASSES
    C, K = 3, 10
    split, bn, slots, dist = _bottleneck_and_slots(x, C, K, topk, outputs)
    weights = None
    if temperature is not None:
        weights = {"train": readout_weights(dist, "soft", temperature)[None]}
        weights["all"] = weights["train"]
    fast = DKVBLearner(
        {"train": slots[None]},
        outputs,
        opt,
        0.2,
        B,
        bn.values.detach().numpy().reshape(1, C * K, outputs).copy(),
        loss=make_loss(task),
        weights=weights,
    )
    ref = DKVBClassifier(split, bn, outputs, "mean", temperature=temperature)
    if task == "regression":
        torch_train_mse(ref, [bn.values], x, y, rows, opt, 0.2)
        numpy_train_mse(fast, y, rows)
    else:
        torch_train(ref, [bn.values], x, y, rows, opt, 0.2)
        numpy_train(fast, y, rows)
    np.testing.assert_allclose(fast.values[0], bn.values.detach().numpy().reshape(C * K, outputs), atol=1e-5)
    fast.inputs["all"] = slots[None]
    np.testing.assert_allclose(fast.logits("all")[0], ref(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
