"""The run budget applied to a sweep before it starts: every run's estimate, and their sum.

A sweep's runs record no frames (``LEAN_RECORDING``) and train each config's seeds together, so
each config is estimated that way. Refusals name the spec entry to change (``axes.<field>`` for a
swept field, ``base.<field>`` otherwise, ``seeds``) and how far.
"""

from __future__ import annotations

from dkvb_core.budget import Budget, Estimate, estimate, fmt_seconds, over_budget_problems
from dkvb_core.config import Config
from dkvb_core.errors import ConfigError
from dkvb_core.sweep.spec import SweepSpec
from dkvb_core.sweep.task import LEAN_RECORDING


def sweep_estimates(spec: SweepSpec) -> list[tuple[Config, Estimate]]:
    """Each config of the sweep as its runs train it, with the estimate of all its seeds at once."""
    out = []
    for config in spec.configs():
        lean = config.replace(**LEAN_RECORDING)
        out.append((lean, estimate(lean, seeds=len(spec.seeds))))
    return out


def check_sweep_budget(spec: SweepSpec, budget: Budget) -> float:
    """Raise a ConfigError when a run of ``spec`` or all of them together are over ``budget``;
    return the estimated seconds of the whole sweep (one worker)."""
    if budget.unlimited:
        return 0.0
    per_run = Budget(budget.seconds, budget.bytes)
    total = 0.0
    for point, (config, est) in zip(spec.points, sweep_estimates(spec), strict=True):
        one = estimate(config)
        task_fits = budget.bytes is None or est.bytes <= budget.bytes
        if not task_fits or not _fits(one, per_run):
            shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
            problems = over_budget_problems(
                config, one if task_fits else est, per_run, 1 if task_fits else len(spec.seeds)
            )
            head = (f"runs at {shown}", problems[0][1])
            raise ConfigError([head, *[(_where(f, point), m) for f, m in problems[1:]]])
        total += est.seconds
    if budget.total_seconds is not None and total > budget.total_seconds:
        raise ConfigError(
            [
                (
                    "runs",
                    f"the sweep's {spec.num_runs} runs add up to about {fmt_seconds(total)}, over the budget of "
                    f"{fmt_seconds(budget.total_seconds)} for a sweep; vary fewer values, use fewer seeds, or "
                    "train fewer steps (base.train.steps_per_stage)",
                )
            ]
        )
    return total


def _fits(est: Estimate, budget: Budget) -> bool:
    return (budget.seconds is None or est.seconds <= budget.seconds) and (
        budget.bytes is None or est.bytes <= budget.bytes
    )


def _where(field: str, point: dict) -> str:
    if field == "together":
        return field
    return f"axes.{field}" if field in point else f"base.{field}"
