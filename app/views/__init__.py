"""Streamlit pages, one script each, and the list the navigation is built from.

The folder is deliberately not called ``pages/``: next to ``main.py`` that name switches Streamlit to
its old file-based navigation (a deep link opened first on a fresh server would skip ``main.py``).

To add a page: write ``app/views/<name>.py`` (a plain Streamlit script) and add one line to
``PAGES``. ``shared_settings=True`` pages get the toy-stream settings sidebar and read the
current config with :func:`app.settings.current_config`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """One entry of the navigation: script file (in app/views), title, icon, url path."""

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
    PageSpec("online.py", "Online", ":material/timeline:", "online", shared_settings=False),
    PageSpec("images.py", "Images", ":material/image:", "images", shared_settings=False),
    PageSpec("embeddings.py", "Embeddings", ":material/scatter_plot:", "embeddings", shared_settings=False),
    PageSpec("regression.py", "Regression", ":material/show_chart:", "regression", shared_settings=False),
    PageSpec("sweeps.py", "Sweeps", ":material/grid_on:", "sweeps", shared_settings=False),
]
