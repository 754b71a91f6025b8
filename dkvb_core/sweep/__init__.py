"""What-if sweeps: grid or random over any config fields x seeds, on a process pool or Ray.

``parse_spec``/``load_spec`` validate a spec; ``run_sweep`` runs what is missing in an out dir
(so an interrupted sweep resumes) and returns per-run and per-config (mean, std over seeds)
pandas tables; ``load_sweep`` reads them back.
"""

from dkvb_core.sweep.runner import SweepOutcome, load_sweep, plan_tasks, run_sweep, sweep_tables
from dkvb_core.sweep.spec import MAX_RUNS, SweepSpec, load_spec, parse_spec
from dkvb_core.sweep.table import metric_columns, runs_frame, summary_frame
from dkvb_core.sweep.task import METRICS

__all__ = [
    "MAX_RUNS",
    "METRICS",
    "SweepOutcome",
    "SweepSpec",
    "load_spec",
    "load_sweep",
    "metric_columns",
    "parse_spec",
    "plan_tasks",
    "run_sweep",
    "runs_frame",
    "summary_frame",
    "sweep_tables",
]
