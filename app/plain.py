"""Text from users (link keys and values, file names, folder paths, CSV contents, spec values) shown as
plain text: never markdown or HTML, so a link cannot make every viewer's browser fetch an image from
elsewhere or draw a convincing "Sign in again" block inside the app.

Streamlit's alerts and captions render markdown; :func:`text` escapes every ASCII punctuation mark
(CommonMark's backslash escapes), flattens line breaks, and puts an invisible word joiner (U+2060) into
what GitHub-flavoured markdown would turn into a link regardless of escapes (``http://``, ``www.``,
``a@b``), so the words arrive as typed and nothing in them is markup. :func:`alert` and :func:`caption`
fill a trusted template's ``{}`` slots with escaped text.
"""

from __future__ import annotations

import re
import string
from typing import Any

import streamlit as st

MAX_CHARS = 300
_ESCAPES = {ord(c): "\\" + c for c in string.punctuation}
_CONTROLS = {i: " " for i in [*range(32), 127]}
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?:(?:https?|ftps?|mailto|xmpp)(?=:)|www(?=\.)|@)")  # what GFM links without markup


def text(value: Any, limit: int = MAX_CHARS) -> str:
    """``value`` as markdown that renders as its plain text: punctuation escaped, line breaks and
    control characters (NUL included) turned into spaces, at most ``limit`` characters."""
    s = str(value).translate(_CONTROLS)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, s)
    return s.translate(_ESCAPES)


def fill(template: str, *values: Any, limit: int = MAX_CHARS) -> str:
    """The trusted markdown ``template`` with each ``{}`` replaced by a value as plain text."""
    return template.format(*(text(v, limit) for v in values))


def alert(kind: str, template: str, *values: Any, container: Any = None, icon: str | None = None) -> None:
    """``st.error`` / ``warning`` / ``info`` / ``success`` of ``template`` filled with plain-text values."""
    draw = getattr(container or st, kind)
    draw(fill(template, *values), icon=icon) if icon else draw(fill(template, *values))


def caption(template: str, *values: Any, container: Any = None) -> None:
    """``st.caption`` of ``template`` filled with plain-text values."""
    (container or st).caption(fill(template, *values))
