"""The stage-by-stage engine: every chosen model sees the same batches of the same stream.

Flow: build the stream(s) -> encode once (frozen encoder) -> each registry model prepares itself
from the embeddings (DKVB: keys and slots) -> the step loop, batched over seeds, test-then-train
(each batch's logits are taken before the update) -> the recorder's frames -> a :class:`RunResult`
per seed. The engine knows no model by name: it asks the registry, and no stream by kind: a
:class:`~dkvb_core.schedule.Schedule` gives each step's rows and labels and when ``end_stage`` runs
(the stages, or the online stream of :mod:`dkvb_core.online_schedule`).
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
from dkvb_core.online_schedule import pretrain_samples
from dkvb_core.progress import Progress, report
from dkvb_core.recorder import Recorder
from dkvb_core.result import GridSpec, RunResult
from dkvb_core.schedule import Batches, build_schedule, frame_steps, stack_schedules
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
        plans = {"stream": _batches(inputs, "stream")}
        if config.online.enabled and config.online.labels == "task_local":
            n_rows = len(streams[0].y_train)
            inputs.seen_rows, inputs.seen_labels = pretrain_samples(
                plans["stream"], config.online.pretrain_steps, n_rows
            )
        learners = {name: get_spec(name).make(inputs) for name in config.train.models}
        return train(inputs, learners, plans)


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
    online = cfg.online
    outputs = online.n_way if online.enabled and online.labels == "task_local" else None
    return RunInputs(configs, streams, emb, grids, progress, num_outputs=outputs)


def train(inputs: RunInputs, learners: dict[str, Learner], plans: dict[str, Batches] | None = None) -> list[RunResult]:
    """The step loop: each model steps on its schedule's batch; the recorder keeps the frames."""
    plans = dict(plans or {})
    for kind in ["stream", *(lr.schedule for lr in learners.values())]:  # each schedule once
        if kind not in plans:
            plans[kind] = _batches(inputs, kind)
    total, ends = plans["stream"].total, {int(e): i for i, e in enumerate(plans["stream"].ends)}
    recorder = Recorder(inputs, learners, plans, frame_steps(total, plans["stream"].ends, inputs.config.record.every))
    recorder.record_frame(0, 0)
    perf = time.perf_counter
    reported = perf()
    loop = [(name, lr, plans[lr.schedule].rows, plans[lr.schedule].labels) for name, lr in learners.items()]
    for t in range(total):
        for name, learner, r, y in loop:
            t0 = perf()
            learner.step(r[t], y[t], recorder.slot(name))
            learner.seconds += perf() - t0
        done = t + 1
        recorder.after_step(done)
        if done in ends:
            for learner in learners.values():
                learner.end_stage(ends[done])
        if done % _PROGRESS_EVERY == 0 or done == total or perf() - reported > _PROGRESS_SECONDS:
            report(inputs.progress, done, total, "train")
            reported = perf()
    return recorder.results(plans)


def _batches(inputs: RunInputs, kind: str) -> Batches:
    """Every seed's schedule of ``kind``, stacked on the seed axis."""
    return stack_schedules([build_schedule(kind, st, c) for c, st in zip(inputs.configs, inputs.streams, strict=True)])
