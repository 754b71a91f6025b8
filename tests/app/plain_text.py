"""Test helpers: what a markdown source (an alert's or caption's value in AppTest) shows as text, and
whether any markup survives in it."""

import re

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """The text a markdown source renders as, for sources built by app.plain (escapes removed)."""
    return _ESCAPE.sub(r"\1", markdown).replace("\u2060", "")


def live_markup(markdown: str, trusted: str = "") -> list[str]:
    """Markup that is not escaped in ``markdown``: images, links, headings, HTML, directives.

    ``trusted`` markup of the app's own template (e.g. ``**``) is ignored."""
    bare = _ESCAPE.sub("", markdown)
    for t in trusted.split():
        bare = bare.replace(t, "")
    found = [m for m in ("![", "](", "<", "\n#", ":[", "://", "www.", "`") if m in bare]
    if bare.lstrip().startswith("#"):
        found.append("#")
    return found
