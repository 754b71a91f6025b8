"""JSON from users (links, ``--set``, config files, sweep specs, run files) parsed within bounds.

Python's parser recurses once per nesting level and turns a 5,000-digit integer into a
ValueError; both used to surface as tracebacks. :func:`loads` checks the size and the nesting
depth before parsing and bounds every number's digits while parsing, and answers with a
:class:`ConfigError` naming the field and the limit it broke.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dkvb_core.errors import ConfigError

MAX_DEPTH = 32  # a config is 3 levels deep; a run file about 5
MAX_NUMBER_CHARS = 40  # 2**63 has 19 digits; 1.2345678901234567e-308 has 23 characters
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class JSONLimitError(ConfigError):
    """JSON that is too large, too deep or holds an absurd number (a ConfigError naming the field)."""


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of JSON ``text`` (brackets inside strings do not count)."""
    depth = deepest = 0
    for ch in _STRING.sub('""', text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _number(field: str, kind: type) -> Any:
    def parse(token: str) -> Any:
        if len(token) > MAX_NUMBER_CHARS:
            raise JSONLimitError([(field, f"a number of {len(token):,} characters; at most {MAX_NUMBER_CHARS}")])
        return kind(token)

    return parse


def _no_constant(field: str) -> Any:
    def parse(token: str) -> Any:
        raise JSONLimitError([(field, f"{token} is not a finite number")])

    return parse


def loads(
    text: str | bytes,
    field: str,
    *,
    max_chars: int = 1_000_000,
    max_depth: int = MAX_DEPTH,
    allow_nan: bool = False,
) -> Any:
    """Parse JSON ``text`` for ``field``: size, depth and number length bounded first.

    Raises :class:`JSONLimitError` for a bound and :class:`ConfigError` for text that is not JSON,
    both naming ``field``; never RecursionError or a bare ValueError."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError([(field, f"not UTF-8 text (bad byte at position {exc.start})")]) from None
    if len(text) > max_chars:
        raise JSONLimitError([(field, f"{len(text):,} characters; at most {max_chars:,}")])
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JSONLimitError([(field, f"nested {depth:,} levels deep; at most {max_depth}")])
    hooks: dict[str, Any] = {"parse_int": _number(field, int), "parse_float": _number(field, float)}
    if not allow_nan:
        hooks["parse_constant"] = _no_constant(field)
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        raise ConfigError([(field, f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")]) from None
    except (RecursionError, ValueError) as exc:  # a limit this check missed: still a message, not a traceback
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError([(field, f"could not be read as JSON ({type(exc).__name__})")]) from None


def read_file(path: str | Path, field: str, max_bytes: int = 1_000_000) -> bytes:
    """A small user file's bytes, at most ``max_bytes`` (read bounded: /proc files report size 0);
    a missing, unreadable or too large file is a ConfigError naming ``field``."""
    shown = str(path)[:200].replace("\x00", "\\0")
    try:
        p = Path(path)
        if not p.is_file():
            raise ConfigError([(field, f"no such file: {shown}")])
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except ConfigError:
        raise
    except (OSError, ValueError) as exc:
        raise ConfigError([(field, f"cannot read {shown}: {getattr(exc, 'strerror', None) or exc}")]) from None
    if len(data) > max_bytes:
        raise ConfigError([(field, f"{shown} is larger than {max_bytes:,} bytes; it should be a small JSON file")])
    return data
