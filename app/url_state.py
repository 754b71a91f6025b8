"""Config <-> URL query parameters, so a link reproduces a view.

Only fields that differ from the defaults go into the URL, under dotted keys
(``dkvb.keys_per_codebook=4``). Reading is forgiving: a bad value falls back to that field's
default and yields a warning naming the field and its allowed range; it never raises.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from dkvb_core import safe_json
from dkvb_core.config import Config, ConfigError, describe_fields

# Fields a link may not set: a server path must never come from a URL.
NOT_FROM_URL = frozenset({"stream.csv_path", "stream.path", "regression.csv_path"})
MAX_VALUE_CHARS = 500
MAX_VALUE_DEPTH = 4  # the deepest field value is a list of lists (stream.stage_classes)
MAX_KEY_CHARS = 60


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """``{'dkvb': {'lr': 0.1}}`` -> ``{'dkvb.lr': 0.1}``: the dotted names used in links and widgets."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = v
        else:
            out[key] = value
    return out


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        if "." in path:
            section, name = path.split(".", 1)
            out.setdefault(section, {})[name] = value
        else:
            out[path] = value
    return out


DEFAULTS: dict[str, Any] = flatten(Config().to_dict())
RANGES: dict[str, str] = {name: allowed for name, _default, allowed, _desc in describe_fields()}


MAX_MESSAGE_CHARS = 160


def _clip(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message about a link value, at most ``limit`` long (it may echo a very long value)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def encode_value(value: Any) -> str:
    """A short text form: strings as they are, lists of names comma-separated, else JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    return json.dumps(value, separators=(",", ":"))


def decode_value(field: str, text: str) -> Any:
    """Inverse of :func:`encode_value`, guided by the field's default (a string stays a string)."""
    default = DEFAULTS.get(field)
    text = text.strip()
    if field == "train.models" and not text.startswith("["):
        return [part.strip() for part in text.split(",") if part.strip()]
    if text in ("null", "None", ""):
        return None
    if isinstance(default, str):
        return text
    try:
        return safe_json.loads(text, field, max_chars=MAX_VALUE_CHARS, max_depth=MAX_VALUE_DEPTH)
    except safe_json.JSONLimitError:
        raise
    except ConfigError:
        return text  # a bare word where a number belongs: pydantic names the fault later


# The shared settings pages (Playground, Keys, Forgetting) run the stage stream: the online section
# belongs to the Online page, which keeps its own fields in its links.
SHARED_FIELDS = frozenset(k for k in DEFAULTS if not k.startswith("online."))


def config_to_query(
    config: Config, base: Config | None = None, fields: Collection[str] | None = None
) -> dict[str, str]:
    """The fields of ``config`` that differ from ``base`` (the defaults), as URL query parameters;
    ``fields`` limits them to a page's own."""
    flat = flatten(config.to_dict())
    ref = DEFAULTS if base is None else flatten(base.to_dict())
    keep = set(DEFAULTS) if fields is None else set(fields)
    return {k: encode_value(v) for k, v in flat.items() if v != ref.get(k) and k not in NOT_FROM_URL and k in keep}


def config_from_query(
    params: Mapping[str, str], base: Config | None = None, fields: Collection[str] = SHARED_FIELDS
) -> tuple[Config, list[str]]:
    """A valid Config from query parameters over ``base`` (the defaults), plus one warning per value ignored.

    Keys that are not ``section.field`` names of the config (e.g. a page's own ``frame``) are
    left alone; config fields outside ``fields`` are warned about. Never raises: whatever cannot be
    used falls back to its value in ``base``.
    """
    start = DEFAULTS if base is None else flatten(base.to_dict())
    warnings: list[str] = []
    chosen: dict[str, Any] = {}
    for key, raw in params.items():
        text = raw[-1] if isinstance(raw, list) else raw
        if key not in fields:
            if "." in key and key.split(".", 1)[0] in Config.model_fields:
                warnings.append(f"{_clip(key, MAX_KEY_CHARS)}: not a setting of this page; ignored")
            continue
        if key in NOT_FROM_URL:
            warnings.append(f"{key}: cannot be set from a link; ignored")
            continue
        if not isinstance(text, str) or len(text) > MAX_VALUE_CHARS:
            warnings.append(f"{key}: value too long; using the default {encode_value(start[key])}")
            continue
        try:
            chosen[key] = decode_value(key, text)
        except ConfigError as exc:  # too deep, or a number of absurd length
            warnings.append(f"{key}: {_clip(exc.problems[0][1])}; using the default {encode_value(start[key])}")
    for _ in range(len(chosen) + 1):
        try:
            return Config.from_dict(_nest({**start, **chosen})), warnings
        except ConfigError as exc:
            dropped = False
            for field, message in exc.problems:
                culprit = field if field in chosen else None
                if culprit is None:  # a cross-field fault named elsewhere: drop every chosen field it mentions
                    culprit = next((k for k in chosen if k in message or k == field), None)
                if culprit is not None:
                    allowed = RANGES.get(culprit, "")
                    hint = f" (allowed: {allowed})" if allowed and allowed not in message else ""
                    warnings.append(
                        f"{culprit}: {_clip(message)}{hint}; using the default {encode_value(start[culprit])}"
                    )
                    chosen.pop(culprit)
                    dropped = True
            if not dropped:
                break
        except Exception as exc:  # a URL must never crash the app
            warnings.append(f"link: could not be read ({type(exc).__name__}); using the defaults")
            break
    if chosen:
        warnings.append("link: settings could not be combined; using the defaults")
    return (Config() if base is None else base), warnings
