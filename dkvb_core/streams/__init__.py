"""Streams: where the data comes from. ``build_stream`` picks the builder for a config's kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dkvb_core.config import Config
from dkvb_core.errors import DataError
from dkvb_core.streams.base import Stream
from dkvb_core.streams.toy import make_toy_stream

if TYPE_CHECKING:
    from dkvb_core.streams.csv_stream import load_csv_stream

StreamBuilder = Callable[[Config], Stream]


def _toy(config: Config) -> Stream:
    return make_toy_stream(config.stream, config.seed_of_stream)


def __getattr__(name: str) -> Any:
    """``load_csv_stream`` on first use: its module imports pandas (~0.3 s), which toy runs never need."""
    if name == "load_csv_stream":
        from dkvb_core.streams.csv_stream import load_csv_stream

        globals()[name] = load_csv_stream
        return load_csv_stream
    raise AttributeError(f"module 'dkvb_core.streams' has no attribute {name!r}")


def _csv(config: Config) -> Stream:
    from dkvb_core.streams.csv_stream import load_csv_stream

    s = config.stream
    assert s.csv_path is not None
    return load_csv_stream(s.csv_path, s.classes_per_stage, s.stage_order, s.test_fraction, config.seed_of_stream)


def _image(config: Config) -> Stream:
    from dkvb_core.streams.images import make_image_stream  # imported on first use: reads data files

    return make_image_stream(config)


def _features(config: Config) -> Stream:
    from dkvb_core.streams.features import load_features_stream  # pandas/pyarrow: only for a file

    s = config.stream
    assert s.path is not None
    name = s.path.replace("\\", "/").rsplit("/", 1)[-1]
    stream = load_features_stream(
        s.path, s.classes_per_stage, s.stage_order, s.test_fraction, config.seed_of_stream, name
    )
    fault = config.size_fault(stream.num_stages)  # the config could not know the file's stages
    if fault:
        raise DataError(fault)
    return stream


def _sine_sweep(config: Config) -> Stream:
    from dkvb_core.streams.sine_sweep import make_sine_sweep

    return make_sine_sweep(config)


def _sine_tasks(config: Config) -> Stream:
    from dkvb_core.streams.sine_tasks import make_sine_tasks

    return make_sine_tasks(config)


def _regression_csv(config: Config) -> Stream:
    from dkvb_core.streams.regression_csv import load_regression_csv  # pandas: only for a file

    r = config.regression
    assert r.csv_path is not None
    return load_regression_csv(r.csv_path, r.num_stages, config.stream.test_fraction, config.seed_of_stream)


BUILDERS: dict[str, StreamBuilder] = {
    "toy": _toy,
    "csv": _csv,
    "digits": _image,
    "mnist": _image,
    "fashion": _image,
    "features": _features,
}
# regression streams (task = 'regression'), chosen by regression.kind
REGRESSION_BUILDERS: dict[str, StreamBuilder] = {
    "sine-sweep": _sine_sweep,
    "sine-tasks": _sine_tasks,
    "csv": _regression_csv,
}


def register_stream(kind: str, builder: StreamBuilder) -> None:
    """Add a builder for a stream kind (image sets register themselves this way)."""
    BUILDERS[kind] = builder


def build_stream(config: Config) -> Stream:
    """The stream a config describes; a clear error for a kind that is not available here."""
    if config.online.enabled:
        from dkvb_core.streams.online import build_online_stream

        return build_online_stream(config.replace(**{"online.enabled": False}))
    if config.task == "regression":
        return REGRESSION_BUILDERS[config.regression.kind](config)
    builder = BUILDERS.get(config.stream.kind)
    if builder is None:
        raise DataError(
            f"stream.kind: {config.stream.kind!r} is not available; available: {', '.join(sorted(BUILDERS))}"
        )
    return builder(config)


__all__ = ["Stream", "build_stream", "load_csv_stream", "make_toy_stream", "register_stream"]
