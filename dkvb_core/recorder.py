"""What a run records while it trains: per-step loss and hits, frames of accuracy and grid predictions.

The engine hands each model's pre-update logits to :meth:`Recorder.slot`; they are buffered and
turned into loss and correct counts in chunks (one vectorised pass instead of one per step).
At each frame every model is evaluated on the held-out set (accuracy per stage) and, for 2-D
streams, on the decision-boundary grid; then its ``frame`` hook runs. :meth:`Recorder.results`
assembles one :class:`RunResult` per seed, with each model's extras from its ``record_extras``.
"""

from __future__ import annotations

import time

import numpy as np

from dkvb_core.models.base import Learner, RunInputs, Trace, predict_classes
from dkvb_core.result import ModelRecord, RunResult
from dkvb_core.schedule import Batches

_LOGIT_CHUNK = 256  # steps of pre-update logits buffered before loss/accuracy are computed


class Recorder:
    """Loss, hits, accuracy frames and grid frames of every model, stacked over seeds."""

    def __init__(self, inputs: RunInputs, learners: dict[str, Learner], plans: dict[str, Batches], marks: np.ndarray):
        self.inputs, self.learners, self.marks = inputs, learners, marks
        self.labels = {k: b.labels for k, b in plans.items()}
        streams = inputs.streams
        S, T, F = inputs.num_seeds, streams[0].num_stages, len(marks)
        total = int(marks[-1])
        self.end_index = {int(e): i for i, e in enumerate(plans["stream"].ends)}  # test predictions kept there
        online = inputs.config.online
        self.heldout_defined = not (online.enabled and online.labels == "task_local")  # local labels: none
        self.y_test = np.stack([st.y_test for st in streams])
        self.stage_onehot = np.stack([np.eye(T, dtype=np.float32)[st.stage_test] for st in streams])  # (S, Nt, T)
        self.stage_counts = self.stage_onehot.sum(axis=1)  # (S, T)
        self.has_grid = "grid" in inputs.embeddings
        grid_cells = inputs.embeddings["grid"].shape[1] if self.has_grid else 0
        self.regression = inputs.config.task == "regression"
        out_type = np.float32 if self.regression else np.uint8  # predictions: outputs, or classes
        self.acc = {n: np.zeros((F, S, T), np.float32) for n in learners}  # accuracy, or MSE for regression
        self.loss = {n: np.zeros((total, S), np.float32) for n in learners}
        self.correct = {n: np.zeros((total, S), np.int16) for n in learners}
        self.grid = {n: np.zeros((F, S, grid_cells), out_type) for n in learners} if self.has_grid else None
        ends = len(self.end_index)
        self.test_pred = {n: np.zeros((ends, S, self.y_test.shape[1]), out_type) for n in learners}
        self.chunk = max(1, min(int(np.diff(marks).max()) if F > 1 else 1, _LOGIT_CHUNK))
        batch, n_cls = inputs.config.train.batch_size, inputs.num_classes
        self.buffers = {n: np.zeros((self.chunk, S, batch, n_cls), np.float32) for n in learners}
        self.filled = 0
        self.next_frame = 1

    def slot(self, name: str) -> np.ndarray:
        """Where the model writes this step's pre-update logits ``(S, B, n)``."""
        return self.buffers[name][self.filled]

    def after_step(self, done: int) -> None:
        """Close step ``done`` (1-based): flush the buffers when full or at a frame, record the frame."""
        self.filled += 1
        at_frame = done == self.marks[self.next_frame]
        if at_frame or self.filled == self.chunk:
            self._flush(done)
        if at_frame:
            self.record_frame(self.next_frame, done)
            self.next_frame = min(self.next_frame + 1, len(self.marks) - 1)

    def _flush(self, done: int) -> None:
        """Turn the buffered pre-update logits of the last ``filled`` steps into loss and hits."""
        lo = done - self.filled
        for name, learner in self.learners.items():
            t0 = time.perf_counter()
            ys = self.labels[learner.schedule][lo:done]
            if self.regression:  # the batch's squared error before the update; no 'correct' count
                self.loss[name][lo:done] = squared_error(self.buffers[name][: self.filled], ys)
            else:
                self.loss[name][lo:done], self.correct[name][lo:done] = loss_and_correct(
                    self.buffers[name][: self.filled], ys
                )
            learner.seconds += time.perf_counter() - t0
        self.filled = 0

    def record_frame(self, f: int, done: int) -> None:
        """Evaluate every model on the held-out set (and grid) and run its frame hook."""
        for name, learner in self.learners.items():
            t0 = time.perf_counter()
            pred = learner.predict("test")
            if self.regression:
                score = np.square(pred - self.y_test, dtype=np.float32)  # (S, Nt) squared errors
            else:
                score = (pred == self.y_test).astype(np.float32)  # (S, Nt)
            self.acc[name][f] = np.einsum("sn,snt->st", score, self.stage_onehot) / np.maximum(self.stage_counts, 1)
            if not self.heldout_defined:
                self.acc[name][f] = np.nan
            if self.grid is not None:
                self.grid[name][f] = learner.predict("grid")
            if done in self.end_index:
                self.test_pred[name][self.end_index[done]] = pred
            learner.frame(f)
            learner.seconds += time.perf_counter() - t0

    def model_record(self, name: str, s: int, trace: Trace, order: np.ndarray | None) -> ModelRecord:
        """One model's record for seed ``s``, with the extras its learner adds."""
        learner = self.learners[name]
        if self.regression:
            return self._regression_record(name, s, trace)
        record = ModelRecord(
            name=name,
            stage_accuracy=self.acc[name][:, s].copy(),
            step_loss=self.loss[name][:, s].copy(),
            step_correct=self.correct[name][:, s].copy(),
            seconds=float(learner.seconds) / self.inputs.num_seeds,
            grid_predictions=self.grid[name][:, s].copy() if self.grid is not None else None,
            test_predictions=self.test_pred[name][:, s].copy(),
            step_order=order,
        )
        for key, value in learner.record_extras(s, trace).items():
            setattr(record, key, value)
        return record

    def _regression_record(self, name: str, s: int, trace: Trace) -> ModelRecord:
        """A regression model's record: test MSE per stage (no accuracy), prediction curves per frame."""
        learner = self.learners[name]
        F = len(self.marks)
        record = ModelRecord(
            name=name,
            stage_accuracy=np.zeros((F, 0), np.float32),
            step_loss=self.loss[name][:, s].copy(),
            step_correct=np.zeros(0, np.int16),
            seconds=float(learner.seconds) / self.inputs.num_seeds,
            test_predictions=self.test_pred[name][:, s].copy(),
            stage_mse=self.acc[name][:, s].copy(),
            curve_predictions=self.grid[name][:, s].copy() if self.grid is not None else None,
        )
        for key, value in learner.record_extras(s, trace).items():
            setattr(record, key, value)
        return record

    def results(self, plans: dict[str, Batches]) -> list[RunResult]:
        """One :class:`RunResult` per seed."""
        marks, ref = self.marks, plans["stream"]
        stage_end = np.searchsorted(marks, ref.seeds[0].stage_end_steps).astype(np.int32)
        traces = {k: _trace(b, marks) for k, b in plans.items()}
        out = []
        for s, (c, st) in enumerate(zip(self.inputs.configs, self.inputs.streams, strict=True)):
            models = {
                n: self.model_record(n, s, traces[lr.schedule], plans[lr.schedule].seeds[s].order)
                for n, lr in self.learners.items()
            }
            run_level: dict = {"keys_2d": None, "grid_key_index": None}
            for learner in self.learners.values():
                run_level.update(learner.run_extras(s))
            two_d = st.input_dim == 2 or st.task == "regression"  # points small enough to keep for plotting
            grids = self.inputs.grids
            out.append(
                RunResult(
                    config=c,
                    stage_classes=st.stage_classes,
                    class_names=st.class_names,
                    frame_steps=marks.copy(),
                    frame_stage=ref.seeds[s].stage[np.maximum(marks, 1) - 1].astype(np.int16),
                    stage_end_frames=stage_end,
                    models=models,
                    batch_size=c.train.batch_size,
                    grid=grids[s] if grids else None,
                    x_train=st.x_train if two_d else None,
                    y_train=st.y_train if two_d else None,
                    stage_train=st.stage_train if two_d else None,
                    x_test=st.x_test if two_d else None,
                    y_test=st.y_test if two_d else None,
                    stage_test=st.stage_test if two_d else None,
                    extra={"stream_name": st.name},
                    online=ref.seeds[s].online,
                    curve_x=st.curve_x,
                    curve_true=st.curve_true,
                    **run_level,
                )
            )
        return out


def _trace(batches: Batches, marks: np.ndarray) -> Trace:
    """What a learner's ``record_extras`` gets: its rows, the frame marks and the key-usage buckets."""
    period = batches.seeds[0].usage_period
    return Trace(batches.rows, marks, period, -(-batches.total // period))


def loss_and_correct(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and correct count per step for logits ``(k, S, B, n)``, labels ``(k, S, B)``."""
    m = logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=-1)) + m[..., 0]
    target = np.take_along_axis(logits, y[..., None], axis=-1)[..., 0]
    loss = (lse - target).mean(axis=-1)
    correct = (predict_classes(logits) == y).sum(axis=-1).astype(np.int16)
    return loss, correct


def squared_error(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean squared error per step for outputs ``(k, S, B, 1)`` and targets ``(k, S, B)``."""
    return np.square(outputs[..., 0] - y, dtype=np.float32).mean(axis=-1)
