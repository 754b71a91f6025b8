"""Bit-for-bit pins: runs of dkvb, linear, mlp and joint recorded before the models wing.

``pinned_runs.json`` holds, per case and seed, a digest of every array a run records (and the final
accuracies, readable). A refactor of the engine or the learners must leave all of them unchanged;
a deliberate change of the numbers updates the file with ``python tests/core/test_pinned_runs.py``
and says why in its commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from dkvb_core import Config, RunResult, run_seeds

PIN_FILE = Path(__file__).with_name("pinned_runs.json")

CASES: dict[str, tuple[dict, list[int]]] = {
    "toy_all": (
        {
            "train": {"models": ["dkvb", "linear", "mlp", "joint"], "steps_per_stage": 100},
            "record": {"every": 25, "grid_size": 20},
        },
        [0],
    ),
    "adam_topk_joint_dkvb": (
        {
            "dkvb": {"num_codebooks": 4, "keys_per_codebook": 32, "topk": 2},
            "joint": {"arch": "dkvb", "lr": 0.05},
            "train": {
                "models": ["dkvb", "linear", "mlp", "joint"],
                "steps_per_stage": 60,
                "optimizer": "adam",
                "batch_size": 8,
            },
            "record": {"every": 30, "grid_size": 16},
        },
        [3],
    ),
    "linear_decoder_seeds": (
        {
            "dkvb": {"decoder": "linear", "num_codebooks": 2, "keys_per_codebook": 16, "key_init": "random"},
            "joint": {"arch": "linear"},
            "stream": {"num_classes": 6, "classes_per_stage": 3, "stage_order": "consecutive"},
            "train": {"models": ["joint", "dkvb", "mlp"], "steps_per_stage": 40},
            "record": {"every": 0, "grid_size": 12},
        },
        [1, 2],
    ),
}


def _digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(a.tobytes() + str(a.dtype).encode() + str(a.shape).encode()).hexdigest()[:16]


def fingerprint(res: RunResult) -> dict[str, str]:
    """A digest of every recorded array of a run (model records and run-level arrays)."""
    out = {}
    for name, rec in res.models.items():
        for f in fields(rec):
            value = getattr(rec, f.name)
            if isinstance(value, np.ndarray):
                out[f"{name}.{f.name}"] = _digest(value)
    for key in ("keys_2d", "grid_key_index", "frame_steps", "frame_stage", "stage_end_frames"):
        value = getattr(res, key)
        if value is not None:
            out[key] = _digest(value)
    return out


def _record(case: str) -> dict[str, dict]:
    data, seeds = CASES[case]
    results = run_seeds(Config.from_dict(data), seeds)
    return {
        f"{case}/{s}": {
            "fp": fingerprint(r),
            "final": {m: r.accuracy_matrix(m)[-1].round(4).tolist() for m in r.models},
        }
        for s, r in zip(seeds, results, strict=True)
    }


@pytest.mark.parametrize("case", list(CASES))
def test_runs_match_their_pins(case: str) -> None:
    pins = json.loads(PIN_FILE.read_text())
    got = _record(case)
    for key, entry in got.items():
        assert entry["final"] == pins[key]["final"], key
        assert entry["fp"] == pins[key]["fp"], key


if __name__ == "__main__":  # re-record the pins (a deliberate change of the numbers only)
    recorded: dict[str, dict] = {}
    for name in CASES:
        recorded.update(_record(name))
    PIN_FILE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    sys.exit(0)
