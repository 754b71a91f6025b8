"""A run stops soon after its progress callback raises RunCancelled, in the key phase and in training.

Latency is measured in the run thread's CPU seconds (``time.thread_time``): that is what the code
controls; a loaded machine stretches wall time for everything alike.
"""

import time

import pytest

from dkvb_core import Config
from dkvb_core.engine import run
from dkvb_core.progress import RunCancelled

# Each phase takes several CPU seconds here, so a callback called only at the phase's ends would fail.
SLOW_TRAIN = {"record.every": 1, "record.grid_size": 200, "train.steps_per_stage": 500}
SLOW_KEYS = {"dkvb.num_codebooks": 32, "dkvb.keys_per_codebook": 1024, "train.steps_per_stage": 10}


class CancelAfter:
    """Raise RunCancelled at the first call of ``phase`` once ``after`` CPU seconds of the run have passed."""

    def __init__(self, phase: str, after: float):
        self.phase, self.after = phase, after
        self.start = time.thread_time()
        self.requested: float | None = None
        self.phases: list[str] = []

    def __call__(self, done: int, total: int, phase: str = "train") -> None:
        self.phases.append(phase)
        now = time.thread_time() - self.start
        if self.requested is None and now >= self.after:
            self.requested = now  # the moment a cancel would have been asked for, at the latest
        if self.requested is not None:
            raise RunCancelled(f"cancelled in {phase}")


def _latency(config: Config, phase: str, after: float) -> tuple[float, CancelAfter]:
    cb = CancelAfter(phase, after)
    with pytest.raises(RunCancelled):
        run(config, progress=cb)
    return time.thread_time() - cb.start - after, cb


def test_a_cancel_in_training_stops_the_run_within_a_second_of_cpu():
    config = Config().replace(**SLOW_TRAIN)
    latency, cb = _latency(config, "train", 1.0)
    assert cb.phases[-1] == "train"
    assert latency < 1.0, f"stopped {latency:.2f} CPU s after the cancel"


def test_a_cancel_during_kmeans_stops_the_run_within_a_second_of_cpu():
    config = Config().replace(**SLOW_KEYS)
    latency, cb = _latency(config, "keys", 0.5)
    assert cb.phases[-1] == "keys"
    assert latency < 1.0, f"stopped {latency:.2f} CPU s after the cancel"
