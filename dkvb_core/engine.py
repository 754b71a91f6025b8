"""The stage-by-stage engine: every chosen model sees the same batches of the same stream.

Flow: build the stream(s) -> encode once (frozen encoder) -> each registry model prepares itself
from the embeddings (DKVB: keys and slots) -> the step loop, batched over seeds, test-then-train
(each batch's logits are taken before the update) -> the recorder's frames -> a :class:`RunResult`
per seed. The engine knows no model by name: it asks the registry.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from dkvb_core.config import Config
from dkvb_core.encoders import make_encoder
from dkvb_core.errors import ConfigError, DataError
from dkvb_core.models import get_spec
from dkvb_core.models.base import Learner, RunInputs
from dkvb_core.progress import Progress, report
from dkvb_core.recorder import Recorder
from dkvb_core.result import GridSpec, RunResult
from dkvb_core.schedule import build_schedule, frame_steps
from dkvb_core.streams import Stream, build_stream

_PROGRESS_EVERY = 50  # steps between progress calls: often enough to cancel a run within a second
_PROGRESS_SECONDS = 0.2  # ...and at least this often when steps are slow (frames of a large grid every step)


def run(config: Config, stream: Stream | None = None, progress: Progress | None = None) -> RunResult:
    """Run every model of ``config`` on its stream (or on ``stream``) for ``config.seed``."""
    return run_seeds(config, [config.seed], stream, progress)[0]


def run_seeds(
    config: Config, seeds: list[int], stream: Stream | None = None, progress: Progress | None = None
) -> list[RunResult]:
    """The same config for several seeds at once, vectorised across seeds.

    Each seed gets its own data sample (unless ``stream`` is given or ``stream.seed`` is set),
    key initialisation, model initialisation and batch order. Results equal separate runs.
    """
    if not seeds:
        raise ConfigError([("seeds", "give at least one seed")])
    configs = [config.replace(seed=int(s)) for s in seeds]
    streams = [stream if stream is not None else build_stream(c) for c in configs]
    _check_same_shape(streams)
    # The arrays are small: a multi-threaded BLAS spends more on waking threads than on the work,
    # and on a loaded 2-core machine (a server, a sweep) it is 10-20x slower. One thread, restored after.
    with threadpool_limits(limits=1):
        inputs = prepare_inputs(configs, streams, progress)
        learners = {name: get_spec(name).make(inputs) for name in config.train.models}
        return train(inputs, learners)


def _check_same_shape(streams: list[Stream]) -> None:
    first = streams[0]
    for s in streams[1:]:
        if s.x_train.shape != first.x_train.shape or s.x_test.shape != first.x_test.shape:
            raise DataError("seeds: the streams of different seeds differ in size; run them one by one")


def grid_for(stream: Stream, size: int, margin: float) -> GridSpec:
    """A square grid over the data's extent plus ``margin`` of it on every side."""
    pts = np.concatenate([stream.x_train, stream.x_test])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 1e-3) * (1 + margin)
    return GridSpec(
        float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half), size
    )


def prepare_inputs(configs: list[Config], streams: list[Stream], progress: Progress | None = None) -> RunInputs:
    """Frozen embeddings of every seed's train and test sets, and of the decision grid for 2-D inputs
    (regression: of the curve inputs, where each frame records the prediction curve)."""
    cfg = configs[0]
    encoder = make_encoder(cfg.stream.encoder, streams[0].input_dim, streams[0].name)
    emb = {
        "train": np.stack([encoder.encode(s.x_train) for s in streams]),
        "test": np.stack([encoder.encode(s.x_test) for s in streams]),
    }
    grids = None
    if cfg.task == "regression" and streams[0].curve_x is not None:  # the prediction curves over x
        emb["grid"] = np.stack([s.curve_x.reshape(-1, 1).astype(np.float32) for s in streams])
    elif cfg.record.grid_size > 0 and streams[0].input_dim == 2 and encoder.name == "identity":
        grids = [grid_for(s, cfg.record.grid_size, cfg.record.grid_margin) for s in streams]
        emb["grid"] = np.stack([g.points() for g in grids])
    return RunInputs(configs, streams, emb, grids, progress)


def train(inputs: RunInputs, learners: dict[str, Learner]) -> list[RunResult]:
    """The step loop: each model steps on its schedule's batch; the recorder keeps the frames."""
    cfg, streams = inputs.config, inputs.streams
    steps = cfg.train.steps_per_stage
    total = streams[0].num_stages * steps
    kinds = dict.fromkeys(lr.schedule for lr in learners.values())  # each schedule once, in model order
    rows = {k: _schedule_rows(inputs, k) for k in kinds}
    labels = {k: np.stack([st.y_train[r[:, s]] for s, st in enumerate(streams)], axis=1) for k, r in rows.items()}
    recorder = Recorder(inputs, learners, labels, frame_steps(total, steps, cfg.record.every))
    recorder.record_frame(0, 0)
    perf = time.perf_counter
    reported = perf()
    loop = [(name, lr, rows[lr.schedule], labels[lr.schedule]) for name, lr in learners.items()]
    for t in range(total):
        for name, learner, r, y in loop:
            t0 = perf()
            learner.step(r[t], y[t], recorder.slot(name))
            learner.seconds += perf() - t0
        done = t + 1
        recorder.after_step(done)
        if done % steps == 0:
            for learner in learners.values():
                learner.end_stage(done // steps - 1)
        if done % _PROGRESS_EVERY == 0 or done == total or perf() - reported > _PROGRESS_SECONDS:
            report(inputs.progress, done, total, "train")
            reported = perf()
    return recorder.results(rows)


def _schedule_rows(inputs: RunInputs, kind: str) -> np.ndarray:
    """Training rows ``(steps, S, B)`` of schedule ``kind`` for every seed."""
    train = inputs.config.train
    per_seed = [
        build_schedule(kind, st, c.seed, train.steps_per_stage, train.batch_size)
        for c, st in zip(inputs.configs, inputs.streams, strict=True)
    ]
    return np.stack(per_seed, axis=1)
