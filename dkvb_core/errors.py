"""Errors that carry a message a person can act on (the field and its allowed range)."""

from __future__ import annotations


class DKVBError(Exception):
    """Base class for every error the core raises on purpose."""


class ConfigError(DKVBError, ValueError):
    """A configuration value is missing, of the wrong type or out of range.

    ``problems`` holds one ``(field, message)`` pair per fault so that callers (the CLI, the
    app) can show each fault next to the control it belongs to.
    """

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in problems))


class DataError(DKVBError, ValueError):
    """An input data file (CSV, image set, weights) is missing, malformed or too large."""
