"""Stable ids: a config's id ignores its seed; a run's id is the config's JSON plus the run seed.

They key the results file, so a sweep that is started again (same or grown spec) finds the
runs it already finished. Same config JSON and seed -> same id, on any machine.
"""

from __future__ import annotations

import hashlib

from dkvb_core.config import Config

ID_CHARS = 16


def config_json(config: Config) -> str:
    """The config's canonical JSON with the seed set to 0 (the seed belongs to the run)."""
    return config.replace(seed=0).to_json()


def config_id(config: Config) -> str:
    return _digest(config_json(config))


def run_id(config: Config, seed: int) -> str:
    return run_id_from_json(config_json(config), seed)


def run_id_from_json(canonical_json: str, seed: int) -> str:
    """:func:`run_id` from an already canonical config JSON (saves re-validating the config)."""
    return _digest(f"{canonical_json}#seed={int(seed)}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_CHARS]
