"""The numpy learners take the same steps as the torch modules trained by autograd (cross-entropy and
squared loss; hard and soft key-value readout)."""

import copy

import numpy as np
import pytest
import torch

from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.encoders import RandomProjectionSplit
from dkvb_core.models.baselines import LinearLearner, MLPLearner
from dkvb_core.models.dkvb import DKVBLearner, readout_weights
from dkvb_core.models.losses import SquaredError, make_loss
from dkvb_core.models.regularised import EWCLearner, LwFLearner
from dkvb_core.models.replay import AGEMLearner, EpisodicMemory, ReplayLearner
from dkvb_core.torch_models import (
    MLP,
    DKVBClassifier,
    LinearProbe,
    MLPStack,
    agem_project,
    empirical_fisher,
    ewc_penalty,
    lwf_distillation,
)

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


# --- the continual-learning baselines: the MLP's step plus each method's term --------------------

HIDDEN = 7


def mlp_twin(fast: MLPLearner) -> MLP:
    """The torch MLP with the numpy learner's initial weights (seed 0 of the stack)."""
    ref = MLP(D, HIDDEN, CLASSES)
    with torch.no_grad():
        ref.hidden.weight.copy_(torch.from_numpy(fast.W1[0].T))
        ref.out.weight.copy_(torch.from_numpy(fast.W2[0].T))
    return ref


def assert_same_mlp(fast: MLPLearner, ref: MLP) -> None:
    pairs = [(fast.W1, ref.hidden.weight.T), (fast.b1, ref.hidden.bias), (fast.W2, ref.out.weight.T)]
    for mine, theirs in [*pairs, (fast.b2, ref.out.bias)]:
        np.testing.assert_allclose(mine[0].reshape(theirs.shape), theirs.detach().numpy(), atol=2e-5)


def make_opt(params, opt_name, lr):
    return torch.optim.SGD(params, lr=lr) if opt_name == "sgd" else torch.optim.Adam(params, lr=lr)


def xt(x, rows):
    return torch.from_numpy(x[np.asarray(rows).reshape(-1)])


def yt(y):
    return torch.from_numpy(np.asarray(y).reshape(-1))


def two_stages(rows):
    """The steps' rows mapped so the first half of the steps sees stage 0 (rows < N/2), the rest stage 1."""
    half = STEPS // 2
    out = rows % (N // 2)
    out[half:] += N // 2
    return out, half, [np.arange(N // 2), np.arange(N // 2, N)]


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_replay(data, opt):
    x, y, rows = data
    gens = [np.random.default_rng(k) for k in (1, 2, 3)]
    fast = ReplayLearner({"train": x[None]}, CLASSES, opt, 0.05, B, HIDDEN, [gens[0]], 9, [gens[1]], [gens[2]])
    ref = mlp_twin(fast)
    optim = make_opt(list(ref.parameters()), opt, 0.05)
    buf = np.zeros((1, B, CLASSES), np.float32)
    replayed, seen = 0, set()
    for r in rows:
        fast.step(r[None], y[r][None], buf)
        batch_x, batch_y = xt(x, r), yt(y[r])
        if fast.last_replay is not None:
            mem_rows, mem_y = fast.last_replay
            assert mem_rows.shape[1] == min(B, fast.buffer.filled) and set(mem_rows[0]) <= seen
            np.testing.assert_array_equal(mem_y[0], y[mem_rows[0]])  # the buffer keeps true (row, label) pairs
            batch_x, batch_y = torch.cat([batch_x, xt(x, mem_rows)]), torch.cat([batch_y, yt(mem_y)])
            replayed += 1
        seen |= set(r)
        loss = torch.nn.functional.cross_entropy(ref(batch_x), batch_y)
        optim.zero_grad()
        loss.backward()
        optim.step()
        assert_same_mlp(fast, ref)
    assert replayed == STEPS - 1  # every step but the first replays


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_ewc(data, opt):
    x, y, rows = data
    rows, half, stage_rows = two_stages(rows)
    lam = 3.0
    fast = EWCLearner(
        {"train": x[None]}, CLASSES, opt, 0.05, B, HIDDEN, [np.random.default_rng(1)], lam, 0.9, y[None],
        [[r] for r in stage_rows],
    )  # fmt: skip
    ref = mlp_twin(fast)
    optim = make_opt(list(ref.parameters()), opt, 0.05)
    buf = np.zeros((1, B, CLASSES), np.float32)
    fisher = anchor = None
    for t, r in enumerate(rows):
        fast.step(r[None], y[r][None], buf)
        loss = torch.nn.functional.cross_entropy(ref(xt(x, r)), yt(y[r]))
        if fisher is not None:
            loss = loss + ewc_penalty(ref, fisher, anchor, lam)
        optim.zero_grad()
        loss.backward()
        optim.step()
        assert_same_mlp(fast, ref)
        if t + 1 in (half, STEPS):
            stage = 0 if t + 1 == half else 1
            fast.end_stage(stage)
            new = empirical_fisher(ref, xt(x, stage_rows[stage]), yt(y[stage_rows[stage]]))
            fisher = new if fisher is None else [0.9 * f + n for f, n in zip(fisher, new, strict=True)]
            anchor = [p.detach().clone() for p in ref.parameters()]
            for mine, theirs in zip(fast.fisher, fisher, strict=True):
                theirs = theirs.numpy()
                np.testing.assert_allclose(mine[0].reshape(theirs.T.shape), theirs.T, rtol=1e-4, atol=1e-6)
    assert fast.anchored and all(f.max() > 0 for f in fast.fisher)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_lwf(data, opt):
    x, y, rows = data
    rows, half, _ = two_stages(rows)
    stage_classes = ((0, 2), (1, 3))
    fast = LwFLearner(
        {"train": x[None]}, CLASSES, opt, 0.05, B, HIDDEN, [np.random.default_rng(1)], 1.5, 2.0, stage_classes
    )
    ref = mlp_twin(fast)
    optim = make_opt(list(ref.parameters()), opt, 0.05)
    buf = np.zeros((1, B, CLASSES), np.float32)
    old = None
    seen = torch.tensor([True, False, True, False])
    for t, r in enumerate(rows):
        fast.step(r[None], y[r][None], buf)
        logits = ref(xt(x, r))
        loss = torch.nn.functional.cross_entropy(logits, yt(y[r]))
        if old is not None:
            with torch.no_grad():
                old_logits = old(xt(x, r))
            loss = loss + lwf_distillation(logits, old_logits, seen, 2.0, 1.5)
        optim.zero_grad()
        loss.backward()
        optim.step()
        assert_same_mlp(fast, ref)
        if t + 1 == half:
            fast.end_stage(0)
            old = copy.deepcopy(ref)
    assert fast.seen.tolist() == seen.tolist()


@pytest.mark.parametrize(("opt", "memory_batch"), [("sgd", 4), ("adam", 4), ("sgd", 8)])
def test_agem(data, opt, memory_batch):
    """A memory batch smaller than the memory is drawn at random; as large, it is the whole memory."""
    x, y, rows = data
    rows, half, stage_rows = two_stages(rows)
    memory = EpisodicMemory(8, y[None], [np.random.default_rng(4)])
    fast = AGEMLearner(
        {"train": x[None]}, CLASSES, opt, 0.05, B, HIDDEN, [np.random.default_rng(1)], memory, memory_batch,
        [np.random.default_rng(5)], [[r] for r in stage_rows],
    )  # fmt: skip
    ref = mlp_twin(fast)
    params = list(ref.parameters())
    optim = make_opt(params, opt, 0.05)
    buf = np.zeros((1, B, CLASSES), np.float32)
    projected = 0
    for t, r in enumerate(rows):
        fast.step(r[None], y[r][None], buf)
        grads = torch.autograd.grad(torch.nn.functional.cross_entropy(ref(xt(x, r)), yt(y[r])), params)
        assert (fast.last_reference is None) == (t < half)
        if fast.last_reference is not None:
            mem_rows, mem_y = fast.last_reference
            assert set(mem_rows[0]) <= set(stage_rows[0]) and len(set(mem_rows[0])) == min(memory_batch, 8)
            ref_loss = torch.nn.functional.cross_entropy(ref(xt(x, mem_rows)), yt(mem_y))
            new = agem_project(list(grads), list(torch.autograd.grad(ref_loss, params)))
            projected += new is not grads
            grads = new
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        optim.step()
        assert_same_mlp(fast, ref)
        if t + 1 == half:
            fast.end_stage(0)
    assert projected > 0  # the projection was exercised, not only the plain step


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_replay_regression(reg_data, opt):
    """Replay with squared loss on a 40-40 MLP: batch plus replayed samples, one mean squared error."""
    x, y, rows = reg_data
    gens = [np.random.default_rng(k) for k in (1, 2, 3)]
    fast = ReplayLearner(
        {"train": x[None]}, 1, opt, 0.01, B, (40, 40), [gens[0]], 9, [gens[1]], [gens[2]], SquaredError()
    )
    assert fast.buffer.y.dtype == np.float32
    ref = MLPStack(1, (40, 40), 1)
    with torch.no_grad():
        for layer, W in zip(ref.layers, fast.weights, strict=True):
            layer.weight.copy_(torch.from_numpy(W[0].T))
    optim = make_opt(list(ref.parameters()), opt, 0.01)
    buf = np.zeros((1, B, 1), np.float32)
    replayed = 0
    for r in rows:
        fast.step(r[None], y[r][None], buf)
        batch_x, batch_y = xt(x, r), yt(y[r])
        if fast.last_replay is not None:
            mem_rows, mem_y = fast.last_replay
            np.testing.assert_array_equal(mem_y[0], y[mem_rows[0]])  # the buffer keeps true (row, target) pairs
            batch_x, batch_y = torch.cat([batch_x, xt(x, mem_rows)]), torch.cat([batch_y, yt(mem_y)])
            replayed += 1
        loss = torch.nn.functional.mse_loss(ref(batch_x)[:, 0], batch_y)
        optim.zero_grad()
        loss.backward()
        optim.step()
    for layer, W, b in zip(ref.layers, fast.weights, fast.biases, strict=True):
        np.testing.assert_allclose(W[0], layer.weight.detach().numpy().T, atol=2e-5)
        np.testing.assert_allclose(b[0, 0], layer.bias.detach().numpy(), atol=2e-5)
    assert replayed == STEPS - 1


def test_class_major_argmax_equals_torchs_on_ties_infinities_and_nans():
    """predict_classes' class-major path (up to 32 classes) gives exactly what torch's max/amin give."""
    import torch

    from dkvb_core.models.base import NO_CLASS, _predict_class_major

    rng = np.random.default_rng(7)
    for shape in [(1, 500, 8), (3, 200, 2), (2, 300, 32), (400, 5)]:
        x = rng.integers(-2, 3, size=shape).astype(np.float32)  # many ties
        flat = x.reshape(-1, shape[-1])
        flat[::7] = 1.0  # all equal: no class
        flat[1::11, 0] = np.inf
        flat[2::13, -1] = -np.inf
        flat[3::17, 1] = np.nan
        flat[5::19, :] = np.nan
        t = torch.from_numpy(x)
        top, arg = t.max(dim=-1)
        want = arg.to(torch.uint8)
        want[top == t.amin(dim=-1)] = NO_CLASS
        assert np.array_equal(_predict_class_major(x), want.numpy()), shape
