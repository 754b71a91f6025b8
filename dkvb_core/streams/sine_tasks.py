"""``sine-tasks``: the input range stays, each stage brings a sinusoid of another amplitude and phase.

Stage ``s``: y = A_s sin(x + phi_s) + noise, with A_s uniform in [0.1, 5] and phi_s uniform in [0, pi]
(the sinusoid toy of the conditionally-shifted-neurons seed), x uniform over ``[x_min, x_max]``. The
stages conflict: the same x has a different target in every stage, so no single function can keep
them all; a model can at best fit the latest one (or a compromise).
"""

from __future__ import annotations

import numpy as np

from dkvb_core.config import Config
from dkvb_core.streams.base import Stream
from dkvb_core.streams.regression import regression_stream

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, np.pi)


def make_sine_tasks(config: Config) -> Stream:
    r = config.regression
    rng = np.random.default_rng([config.seed_of_stream, 0x5A5])
    amp = rng.uniform(*AMPLITUDE, r.num_stages)
    phase = rng.uniform(*PHASE, r.num_stages)

    def sample(per_stage: int, noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stage = np.repeat(np.arange(r.num_stages), per_stage)
        x = rng.uniform(r.x_min, r.x_max, len(stage))
        y = amp[stage] * np.sin(x + phase[stage]) + noise * rng.standard_normal(len(x))
        return x, y, stage

    train = sample(r.train_per_stage, r.noise)
    test = sample(r.test_per_stage, 0.0)
    curve_x = np.linspace(r.x_min, r.x_max, r.curve_points)
    curve_true = amp[:, None] * np.sin(curve_x[None, :] + phase[:, None])
    return regression_stream("sine-tasks", train, test, r.num_stages, curve_x, curve_true)
