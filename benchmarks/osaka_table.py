"""Cumulative online accuracy per model and mode on the OSAKA presets: 5 seeds, mean ± sd.

``python benchmarks/osaka_table.py`` prints one markdown table a preset, for p = 0.9 and 0.98 and both
label rules (the figures of the README's Online section); ``--all`` runs every registry model, not
only the preset's.
"""

from __future__ import annotations

import sys

import numpy as np

from dkvb_core import preset, run_seeds
from dkvb_core.models import model_names

SEEDS = [0, 1, 2, 3, 4]


def cell(values: list[float | None]) -> str:
    v = np.array([np.nan if x is None else x for x in values], dtype=np.float64)
    return f"{np.nanmean(v):.3f} ± {np.nanstd(v, ddof=1):.3f}"


def table(name: str, every_model: bool) -> None:
    print(f"\n### {name}\n")
    header = "| p | labels | model | overall | pre-training mode | OoD mode 1 | OoD mode 2 | recovery gap |"
    print(header)
    print("|---|---|---|---|---|---|---|---|")
    for p in (0.9, 0.98):
        for rule in ("global", "task_local"):
            config = preset(name).replace(
                **{"online.p": p, "online.labels": rule, "record.every": 0, "record.grid_size": 0}
            )
            if every_model:
                config = config.replace(**{"train.models": list(model_names())})
            results = run_seeds(config, SEEDS)
            for model in config.train.models:
                sums = [r.summary(model) for r in results]
                modes = [cell([s["online_accuracy_per_mode"][m] for s in sums]) for m in range(3)]
                gap = cell([s["recovery_gap"] for s in sums]) if model != "joint" else "n/a"
                print(
                    f"| {p} | {rule} | {model} | {cell([s['online_accuracy'] for s in sums])} | "
                    f"{' | '.join(modes)} | {gap} |"
                )
            sys.stdout.flush()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--all"]
    for preset_name in args or ["osaka", "osaka-digits"]:
        table(preset_name, "--all" in sys.argv)
