"""``sine-sweep``: one fixed function learned on contiguous input ranges that sweep left to right.

y = sin(2x + 0.3) + 0.5 sin(3x - 0.2) + noise. Stage ``s`` draws its training inputs uniformly from the
``s``-th of ``T`` equal ranges of ``[x_min, x_max]``; the held-out set has noise-free targets on every
range, so a model that keeps what it learned can score well on all stages at the end.
"""

from __future__ import annotations

import numpy as np

from dkvb_core.config import Config
from dkvb_core.streams.base import Stream
from dkvb_core.streams.regression import regression_stream, stage_ranges


def sweep_function(x: np.ndarray) -> np.ndarray:
    """The stream's true function."""
    return np.sin(2 * x + 0.3) + 0.5 * np.sin(3 * x - 0.2)


def make_sine_sweep(config: Config) -> Stream:
    r = config.regression
    rng = np.random.default_rng([config.seed_of_stream, 0x51E])
    ranges = stage_ranges(r.x_min, r.x_max, r.num_stages)

    def sample(per_stage: int, noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stage = np.repeat(np.arange(r.num_stages), per_stage)
        x = rng.uniform(ranges[stage, 0], ranges[stage, 1])
        return x, sweep_function(x) + noise * rng.standard_normal(len(x)), stage

    train = sample(r.train_per_stage, r.noise)
    test = sample(r.test_per_stage, 0.0)
    curve_x = np.linspace(r.x_min, r.x_max, r.curve_points)
    curve_true = np.tile(sweep_function(curve_x), (r.num_stages, 1))
    return regression_stream("sine-sweep", train, test, r.num_stages, curve_x, curve_true)
