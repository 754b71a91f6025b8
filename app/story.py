"""Story mode: a talk as a sequence of steps, each a link's worth of settings, a page, a frame and a
one-paragraph caption. Built-in stories live in ``assets/stories/<name>.json``; a presenter can
upload their own (validated here, every fault named by its field). ``?story=name&step=3`` opens
a built-in story at step 3; PageDown/PageUp (a clicker) and the bar's buttons walk it.

A story file::

    {"title": "Why DKVB does not forget",
     "steps": [{"page": "playground", "settings": {"dkvb.keys_per_codebook": 4, "view.heldout": true},
                "frame": "stage 2", "caption": "..."}]}

``settings`` holds what a link would (config fields like ``dkvb.lr`` and view settings ``view.*``);
whatever a step leaves out is the default. ``frame``: ``"start"``, ``"end"`` or ``"stage N"`` (the
end of stage N) of the page's animation; optional.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STORIES_DIR = Path(__file__).resolve().parents[1] / "assets" / "stories"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
STEP_FIELDS = ("page", "settings", "frame", "caption")
MAX_STEPS = 60
MAX_CAPTION = 800
MAX_FILE_BYTES = 200_000
FRAME = re.compile(r"^(start|end|stage [1-9][0-9]?)$")


class StoryError(ValueError):
    """A story file that cannot be used; the message names the field (plain text)."""


@dataclass(frozen=True)
class Step:
    page: str
    settings: dict[str, Any]
    frame: str | None
    caption: str


@dataclass(frozen=True)
class Story:
    name: str
    title: str
    steps: tuple[Step, ...] = field(default_factory=tuple)


def _pages() -> list[str]:
    from app.views import PAGES

    return [p.url_path for p in PAGES]


def _check_settings(where: str, settings: Any) -> dict[str, Any]:
    """A step's settings: known names only, values a config accepts (checked together, as a link is)."""
    from app.url_state import DEFAULTS, NOT_FROM_URL, encode_value
    from dkvb_core.config import Config, ConfigError

    if not isinstance(settings, dict):
        raise StoryError(f"{where}: must be an object of setting names and values, e.g. {{'dkvb.lr': 0.1}}")
    config_part: dict[str, Any] = {}
    for name, value in settings.items():
        if name.startswith("view."):
            if not isinstance(value, str | int | float | bool) or len(str(value)) > 100:
                raise StoryError(f"{where}.{name}: must be a short text, number or true/false")
            continue
        if name not in DEFAULTS or name in NOT_FROM_URL:
            example = "e.g. dkvb.keys_per_codebook, view.figure"
            raise StoryError(f"{where}.{name}: not a setting a link can hold ({example})")
        config_part[name] = value
    nested: dict[str, Any] = {}
    for name, value in {**DEFAULTS, **config_part}.items():
        section, _, sub = name.partition(".")
        if sub:
            nested.setdefault(section, {})[sub] = value
        else:
            nested[name] = value
    try:
        Config.from_dict(nested)
    except ConfigError as exc:
        field_name, message = exc.problems[0]
        raise StoryError(f"{where}.{field_name}: {message}") from None
    return {k: (v if k.startswith("view.") else encode_value(v)) for k, v in settings.items()}


def _check_step(i: int, raw: Any) -> Step:
    where = f"steps[{i + 1}]"
    if not isinstance(raw, dict):
        raise StoryError(f"{where}: must be an object with {', '.join(STEP_FIELDS)}")
    unknown = [k for k in raw if k not in STEP_FIELDS]
    if unknown:
        raise StoryError(f"{where}.{unknown[0]}: unknown field (allowed: {', '.join(STEP_FIELDS)})")
    page = raw.get("page", "playground")
    if page not in _pages():
        raise StoryError(f"{where}.page: {str(page)[:40]!r} is not a page (one of {', '.join(_pages())})")
    frame = raw.get("frame")
    if frame is not None and (not isinstance(frame, str) or not FRAME.match(frame)):
        raise StoryError(f"{where}.frame: must be 'start', 'end' or 'stage N' (N = 1..99), got {str(frame)[:40]!r}")
    caption = raw.get("caption")
    if not isinstance(caption, str) or not caption.strip() or len(caption) > MAX_CAPTION:
        raise StoryError(f"{where}.caption: must be a text of 1 to {MAX_CAPTION} characters")
    settings = _check_settings(f"{where}.settings", raw.get("settings", {}))
    return Step(page=page, settings=settings, frame=frame, caption=caption.strip())


def parse_story(text: str | bytes, name: str) -> Story:
    """A validated story from JSON text; raises :class:`StoryError` naming the faulty field."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise StoryError(f"file: {len(text):,} bytes; a story file may have at most {MAX_FILE_BYTES:,}")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise StoryError("file: not UTF-8 text; save the story as UTF-8 JSON") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoryError(f"file: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(raw, dict):
        raise StoryError("file: must be a JSON object with 'title' and 'steps'")
    unknown = [k for k in raw if k not in ("title", "steps")]
    if unknown:
        raise StoryError(f"{str(unknown[0])[:40]}: unknown field (allowed: title, steps)")
    title = raw.get("title")
    if not isinstance(title, str) or not 1 <= len(title.strip()) <= 120:
        raise StoryError("title: must be a text of 1 to 120 characters")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise StoryError(f"steps: must be a list of 1 to {MAX_STEPS} steps")
    return Story(name=name, title=title.strip(), steps=tuple(_check_step(i, s) for i, s in enumerate(steps)))


def builtin_names() -> list[str]:
    """The stories shipped with the app (``assets/stories/*.json``)."""
    return sorted(p.stem for p in STORIES_DIR.glob("*.json") if NAME.match(p.stem))


def load_builtin(name: str) -> Story:
    """A built-in story by name; raises :class:`StoryError` for an unknown or broken one."""
    if not NAME.match(name or "") or name not in builtin_names():
        raise StoryError(f"story: {str(name)[:40]!r} is not a built-in story (one of {', '.join(builtin_names())})")
    return parse_story((STORIES_DIR / f"{name}.json").read_bytes(), name)


def step_query(story: Story, index: int, present: bool = False) -> dict[str, str]:
    """The link of step ``index`` (0-based): its settings, plus ``story`` and ``step`` (1-based)."""
    step = story.steps[index]
    query = {k: _text(v) for k, v in step.settings.items()}
    query["story"] = story.name
    query["step"] = str(index + 1)
    if present:
        query["present"] = "1"
    return query


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
