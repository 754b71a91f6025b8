"""Key-initialisation data (``dkvb.key_init_data``), the evaluation rule, and more keys on the toy."""

import dataclasses
import itertools

import numpy as np
import pytest

from dkvb_core import Config, run_seeds
from dkvb_core.engine import prepare_inputs
from dkvb_core.errors import ConfigError
from dkvb_core.models.dkvb import make_dkvb_learner, prepare_dkvb
from dkvb_core.streams import build_stream


def keys_of(cfg: Config, stream) -> np.ndarray:
    return prepare_dkvb(prepare_inputs([cfg], [stream])).books[0].keys


def later_stages_moved(stream, shift: float):
    """The same stream with every later stage's training inputs moved (stage 1 untouched)."""
    x = stream.x_train.copy()
    later = stream.stage_train > 0
    x[later] = x[later] * 1.5 + shift
    return dataclasses.replace(stream, x_train=x)


@pytest.mark.parametrize("kind", ["toy", "digits"])
def test_default_key_init_sees_no_later_stage(kind):
    extra = {} if kind == "toy" else {"stream": {"kind": "digits", "num_classes": 10, "classes_per_stage": 2}}
    cfg = Config.from_dict({**extra, "dkvb": {"num_codebooks": 2, "keys_per_codebook": 32}})
    stream = build_stream(cfg)
    moved = later_stages_moved(stream, 3.0)
    assert np.array_equal(keys_of(cfg, stream), keys_of(cfg, moved))
    first = cfg.replace(**{"dkvb.key_init_data": "first_stage"})
    assert np.array_equal(keys_of(first, stream), keys_of(first, moved))
    peeking = cfg.replace(**{"dkvb.key_init_data": "stream"})  # the check can fail: this one sees the future
    assert not np.array_equal(keys_of(peeking, stream), keys_of(peeking, moved))


def test_each_choice_puts_keys_where_it_says():
    cfg = Config.from_dict({"dkvb": {"keys_per_codebook": 64}})
    stream = build_stream(cfg)
    half = cfg.stream.radius + 3 * cfg.stream.spread
    uniform = keys_of(cfg, stream)[0]
    assert np.abs(uniform).max() <= half and np.ptp(uniform, axis=0).min() > half  # fills the square
    first = keys_of(cfg.replace(**{"dkvb.key_init_data": "first_stage"}), stream)[0]
    x1 = stream.x_train[stream.stage_train == 0]
    assert (first >= x1.min(axis=0) - 1e-6).all() and (first <= x1.max(axis=0) + 1e-6).all()


@pytest.mark.parametrize("choice", ["pretrain", "pool"])
def test_choices_a_stream_cannot_serve_are_named(choice):
    cfg = Config.from_dict({"dkvb": {"key_init_data": choice}})
    with pytest.raises(ConfigError, match=r"dkvb\.key_init_data"):
        run_seeds(cfg, [0])


def test_bad_choice_is_refused_by_the_config():
    with pytest.raises(ConfigError, match="key_init_data"):
        Config.from_dict({"dkvb": {"key_init_data": "future"}})
    with pytest.raises(ConfigError, match="eval_rule"):
        Config.from_dict({"dkvb": {"eval_rule": "lenient"}})


def test_authors_rule_fetches_only_trained_keys():
    cfg = Config.from_dict({"dkvb": {"keys_per_codebook": 1024}, "train": {"models": ["dkvb"], "steps_per_stage": 200}})
    authors = cfg.replace(**{"dkvb.eval_rule": "trained_keys_only"})
    inputs = prepare_inputs([authors], [build_stream(authors)])
    learner = make_dkvb_learner(inputs, 0.1, 0x21, with_extras=False)
    rng = np.random.default_rng(0)
    n = inputs.embeddings["train"].shape[1]
    for _ in range(300):
        rows = rng.integers(0, n, (1, 10))
        learner.step(rows, inputs.streams[0].y_train[rows], np.zeros((1, 10, 8), np.float32))
    test_slots = learner.eval_slots("test")
    assert learner.trained_only.trained[test_slots].all()
    assert not learner.trained_only.trained[learner.inputs["test"]].all()  # the project's rule does fetch untrained
    own, theirs = run_seeds(cfg, [3])[0], run_seeds(authors, [3])[0]
    assert theirs.summary("dkvb")["average_accuracy"] >= own.summary("dkvb")["average_accuracy"]


def test_more_keys_never_hurt_fitted_keys_on_the_toy():
    """64 -> 4,096 keys, 5 seeds, keys fitted on the data: mean accuracy non-decreasing within 1 point."""
    means = []
    for k in (64, 256, 1024, 4096):
        cfg = Config.from_dict(
            {
                "dkvb": {"keys_per_codebook": k, "key_init_data": "stream"},
                "train": {"models": ["dkvb"]},
                "record": {"grid_size": 0, "every": 0},
            }
        )
        means.append(np.mean([r.summary("dkvb")["average_accuracy"] for r in run_seeds(cfg, [11, 12, 13, 14, 15])]))
    assert all(b >= a - 0.01 for a, b in itertools.pairwise(means)), means
    assert means[-1] > 0.95
