"""Streamlit pages, one script each, and the list the navigation is built from.

To add a page: write ``app/pages/<name>.py`` (a plain Streamlit script) and add one line to
``PAGES``. ``shared_settings=True`` pages get the toy-stream settings sidebar and read the
current config with :func:`app.settings.current_config`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """One entry of the navigation: script file (in app/pages), title, icon, url path."""

    file: str
    title: str
    icon: str
    url_path: str
    default: bool = False
    shared_settings: bool = True


PAGES: list[PageSpec] = [
    PageSpec("playground.py", "Playground", ":material/play_circle:", "playground", default=True),
    PageSpec("keys.py", "Keys", ":material/key:", "keys"),
    PageSpec("forgetting.py", "Forgetting", ":material/trending_down:", "forgetting"),
    PageSpec("images.py", "Images", ":material/image:", "images", shared_settings=False),
    PageSpec("sweeps.py", "Sweeps", ":material/grid_on:", "sweeps", shared_settings=False),
]
