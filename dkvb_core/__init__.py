"""dkvb_core: the Discrete Key-Value Bottleneck, its baselines, streams and the stage-by-stage engine.

Plain Python + numpy + torch: no UI or plotting imports, so everything the app shows is
computed (and tested) here.
"""

from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.config import Config, ConfigError
from dkvb_core.engine import run, run_seeds
from dkvb_core.errors import DataError, DKVBError
from dkvb_core.presets import PRESETS, preset
from dkvb_core.result import GridSpec, ModelRecord, RunResult
from dkvb_core.streams import Stream, build_stream

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
