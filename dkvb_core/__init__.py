"""dkvb_core: the Discrete Key-Value Bottleneck, its baselines, streams and the stage-by-stage engine.

Plain Python + numpy + torch: no UI or plotting imports, so everything the app shows is
computed (and tested) here. torch is imported on first use of ``run``/``run_seeds``/``KeyValueBottleneck``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dkvb_core.config import Config, ConfigError
from dkvb_core.errors import DataError, DKVBError
from dkvb_core.presets import PRESETS, preset
from dkvb_core.result import GridSpec, ModelRecord, RunResult
from dkvb_core.streams import Stream, build_stream

if TYPE_CHECKING:
    from dkvb_core.bottleneck import KeyValueBottleneck
    from dkvb_core.engine import run, run_seeds

# Names whose modules import torch (~1.5 s): loaded on first use, so configs, results and
# streams (an app's settings, a results viewer) start without it.
_LAZY = {"run": "dkvb_core.engine", "run_seeds": "dkvb_core.engine", "KeyValueBottleneck": "dkvb_core.bottleneck"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dkvb_core' has no attribute {name!r}")


__all__ = [
    "PRESETS",
    "Config",
    "ConfigError",
    "DKVBError",
    "DataError",
    "GridSpec",
    "KeyValueBottleneck",
    "ModelRecord",
    "RunResult",
    "Stream",
    "build_stream",
    "preset",
    "run",
    "run_seeds",
]
__version__ = "0.1.0"
