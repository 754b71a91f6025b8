"""The chart library, served by the app itself (``/app/static/vendor/``): no request leaves the machine.

The animated charts (:mod:`app.player`) draw with the plotly.js that ships inside the installed
``plotly`` package. :func:`ensure_plotly_js` copies it once into ``app/static/vendor/`` (Streamlit's
static file serving, ``server.enableStaticServing``); the file name carries the version, so a
browser's cached copy is never stale. The Dockerfile runs ``python -m app.vendor`` at build time
(the image's app folder is read-only to the server's user).
"""

from __future__ import annotations

import functools
import logging
import shutil
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
log = logging.getLogger("dkvb_explorer")


def _source() -> tuple[Path, str]:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js", plotly.__version__


@functools.cache
def ensure_plotly_js() -> str:
    """Copy plotly.min.js into the static folder if it is not there yet; its file name there."""
    source, version = _source()
    name = f"plotly-py{version}.min.js"
    target = VENDOR_DIR / name
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        try:
            VENDOR_DIR.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(target)
        except OSError:
            log.exception("could not copy the chart library to %s; animated charts cannot draw", target)
    return name


def plotly_js_url() -> str:
    """The chart library's URL path on this server (respects ``server.baseUrlPath``)."""
    import streamlit as st

    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"{prefix}/app/static/vendor/{ensure_plotly_js()}"


if __name__ == "__main__":  # the Dockerfile's build step
    print(VENDOR_DIR / ensure_plotly_js())
