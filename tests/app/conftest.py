"""Small real runs shared by the chart and page tests (a few hundred steps: fast, same shapes)."""

import pytest

from dkvb_core import Config, RunResult, run

SMALL = {"train.steps_per_stage": 100, "record.every": 20}


@pytest.fixture(scope="session")
def small_result() -> RunResult:
    return run(Config().replace(**SMALL))


@pytest.fixture(scope="session")
def four_keys_result() -> RunResult:
    return run(Config().replace(**SMALL, **{"dkvb.keys_per_codebook": 4}))


@pytest.fixture(scope="session")
def default_result() -> RunResult:
    return run(Config())
