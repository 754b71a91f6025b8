"""Fuzz the budget's surfaces: random configs, random budgets, hostile env values and CLI flags.

For every random valid config: the check either passes with an estimate within the budget, or
refuses with a ConfigError whose first fault is ``budget`` and whose other faults name config
fields; each single-field advice, applied, passes the same check. A few configs estimated within a
small budget are run: they stay within it (CPU seconds of the run's thread, numpy's peak bytes).
Never a traceback: any other exception fails the test.
"""

from __future__ import annotations

import random
import time
import tracemalloc

import pytest

from dkvb_core import Config, ConfigError
from dkvb_core.budget import APP_BUDGET, Budget, GiB, budget_from_env, check_budget, estimate
from dkvb_core.cli import main
from dkvb_core.config import describe_fields

FIELDS = {name for name, *_ in describe_fields()}
# Field -> how to draw a value (log-uniform over the field's range for the sizes that drive the cost).
DRAWS = {
    "stream.num_classes": lambda r: r.randint(2, 32),
    "stream.classes_per_stage": lambda r: r.choice([1, 2, 4, 8]),
    "stream.train_per_class": lambda r: int(10 ** r.uniform(0, 3.7)),
    "stream.test_per_class": lambda r: int(10 ** r.uniform(0, 3.7)),
    "dkvb.num_codebooks": lambda r: int(2 ** r.uniform(0, 6)),
    "dkvb.keys_per_codebook": lambda r: int(2 ** r.uniform(0, 12)),
    "dkvb.topk": lambda r: r.choice([1, 1, 2, 4]),
    "dkvb.kmeans_iters": lambda r: r.choice([0, 10, 50, 200]),
    "dkvb.ema_epochs": lambda r: r.choice([0, 0, 1, 5]),
    "dkvb.dim_keys": lambda r: r.choice([None, 2, 16, 128, 512]),
    "mlp.hidden": lambda r: int(2 ** r.uniform(0, 10)),
    "train.steps_per_stage": lambda r: int(10 ** r.uniform(0, 4.3)),
    "train.batch_size": lambda r: int(2 ** r.uniform(0, 10)),
    "train.models": lambda r: r.sample(["dkvb", "linear", "mlp", "joint"], r.randint(1, 4)),
    "record.every": lambda r: r.choice([0, 1, 10, 50, 500]),
    "record.grid_size": lambda r: r.choice([0, 20, 100, 400]),
    "joint.arch": lambda r: r.choice(["mlp", "linear", "dkvb"]),
}


def random_config(rng: random.Random) -> Config | None:
    updates = {f: draw(rng) for f, draw in DRAWS.items() if rng.random() < 0.6}
    try:
        return Config().replace(**updates)
    except ConfigError:
        return None  # an invalid combination: validation's job, covered elsewhere


def random_budget(rng: random.Random) -> Budget:
    return Budget(10 ** rng.uniform(-1, 3), int(10 ** rng.uniform(6, 10.5)), None)


def _advised(config: Config, field: str, message: str) -> Config:
    words = message.split("->", 1)[1].split()
    value = words[2] if words[0] == "at" else words[0]
    return config.replace(**{field: int(value.replace(",", ""))})


def test_random_configs_fit_or_are_refused_with_field_naming_advice_that_works():
    rng = random.Random(20261202)
    checked = refused = 0
    for _ in range(400):
        config = random_config(rng)
        if config is None:
            continue
        budget = random_budget(rng) if rng.random() < 0.5 else APP_BUDGET
        checked += 1
        try:
            est = check_budget(config, budget)
        except ConfigError as exc:
            refused += 1
            problems = exc.problems
            assert problems[0][0] == "budget" and "estimated at" in problems[0][1]
            for field, message in problems[1:]:
                assert field in FIELDS or field == "together", field
                if field in FIELDS and "stage ends only" not in message:
                    check_budget(_advised(config, field, message), budget)  # the advice is enough
            continue
        assert est.seconds <= budget.seconds and est.bytes <= budget.bytes
    assert checked > 100 and 0 < refused < checked  # both outcomes were exercised


def test_runs_estimated_within_a_small_budget_stay_within_it():
    rng = random.Random(7)
    small = Budget(3.0, 300 * 2**20, None)
    ran = 0
    for _ in range(200):
        if ran == 4:
            break
        config = random_config(rng)
        if config is None or estimate(config).seconds > small.seconds or estimate(config).bytes > small.bytes:
            continue
        check_budget(config, small)
        from dkvb_core.engine import run

        tracemalloc.start()
        start = time.thread_time()
        run(config)
        used = time.thread_time() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert used <= small.seconds, (config.to_json(), used)
        assert peak <= small.bytes, (config.to_json(), peak)
        ran += 1
    assert ran == 4


HOSTILE = ["", " ", "-1", "0", "nan", "inf", "-inf", "1e400", "9" * 5000, "true", "0x10", "1_000", "١٢", "off\x00"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_budget_settings_are_refused_naming_the_variable_or_read(value):
    try:
        b = budget_from_env(APP_BUDGET, {"DKVB_BUDGET_SECONDS": value, "DKVB_BUDGET_GB": value})
    except ConfigError as exc:
        assert exc.problems[0][0] in ("DKVB_BUDGET_SECONDS", "DKVB_BUDGET_GB")
        return
    assert b.seconds is None or 0 < b.seconds <= 1e9
    assert b.bytes is None or 0 < b.bytes <= 1e9 * GiB


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_budget_flags_exit_2_with_a_message(value, capsys):
    try:
        code = main(["run", "--no-progress", "--set", "train.steps_per_stage=2", "--budget-seconds", value])
    except SystemExit as exc:  # argparse's own refusal of a non-number: usage and the flag, exit 2
        code = exc.code
    err = capsys.readouterr().err
    if code == 0:  # a value argparse and the check accept (a positive number) simply ran
        return
    assert code == 2 and "budget-seconds" in err and "Traceback" not in err
