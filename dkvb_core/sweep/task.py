"""One unit of sweep work, run in a worker: one config for some seeds, vectorised by ``run_seeds``.

A task travels to the worker as plain JSON-ready data and comes back as one result row per seed,
so any executor (a local process pool, Ray) can carry it without pickling torch objects.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

# Scalar summary metrics kept per model (the accuracy matrix etc. stay out of the table).
METRICS: tuple[str, ...] = ("average_accuracy", "forgetting", "bwt", "online_accuracy", "seconds")
# Online runs (OSAKA) have no stage matrix; these are their scalar figures (see dkvb_core.metrics.online_summary).
ONLINE_METRICS: tuple[str, ...] = (
    "online_accuracy",
    "online_accuracy_pretrain_mode",
    "online_accuracy_ood",
    "recovery_gap",
    "seconds",
)
# The same for task = 'regression' (every MSE figure is named lower_is_better).
REGRESSION_METRICS: tuple[str, ...] = (
    "final_mse_lower_is_better",
    "forgetting_mse_lower_is_better",
    "bwt_mse_lower_is_better",
    "online_mse_lower_is_better",
    "seconds",
)
# Recording that only feeds animations: metrics do not depend on it, so sweeps skip it (3-10x faster).
LEAN_RECORDING: dict[str, Any] = {"record.every": 0, "record.grid_size": 0}


@dataclass(frozen=True)
class Task:
    """Run ``config_json`` (canonical, seed 0) for ``seeds``; ``run_ids`` align with ``seeds``."""

    config_id: str
    config_json: str
    seeds: tuple[int, ...]
    run_ids: tuple[str, ...]
    params: tuple[tuple[str, Any], ...]  # the swept fields of this config, for the table

    @property
    def size(self) -> int:
        return len(self.seeds)


def limit_threads() -> None:
    """One torch thread per worker: two workers on two cores must not oversubscribe them."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def run_task(task: Task) -> list[dict[str, Any]]:
    """Train ``task``'s config for its seeds in one vectorised call; one result row per seed."""
    limit_threads()
    from dkvb_core.config import Config
    from dkvb_core.engine import run_seeds

    config = Config.from_json(task.config_json)
    start = time.perf_counter()
    results = run_seeds(config.replace(**LEAN_RECORDING), list(task.seeds))
    wall = (time.perf_counter() - start) / len(results)
    rows = []
    for seed, rid, result in zip(task.seeds, task.run_ids, results, strict=True):
        metrics = {}
        if result.online is not None:
            names = ONLINE_METRICS
        else:
            names = REGRESSION_METRICS if result.task == "regression" else METRICS
        for model, summary in result.summaries().items():
            for name in names:
                value = summary[name]
                if value is not None:  # None: not defined for this run (e.g. no task returned): left out
                    metrics[f"{model}/{name}"] = float(value)
        rows.append(
            {
                "run_id": rid,
                "config_id": task.config_id,
                "seed": int(seed),
                "params": dict(task.params),
                "metrics": metrics,
                "wall_seconds": wall,
                "pid": os.getpid(),
                "config": json.loads(task.config_json),
            }
        )
    return rows
