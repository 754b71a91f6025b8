"""The chart library, served by the app itself (``/app/static/vendor/``): no request leaves the machine.

The animated charts (:mod:`app.cockpit`) draw with the plotly.js that ships inside the installed
``plotly`` package. ``app/serve.py`` (the README's server) serves it from memory at ``/vendor/<name>``,
gzipped once and marked immutable (the file name carries the version). Streamlit's static file
serving (``server.enableStaticServing``, used by a bare ``streamlit run app/main.py``) works too but
gzips the 4.8 MB file again on every request, on the server's event loop; :func:`ensure_plotly_js`
copies the file there. The Dockerfile runs ``python -m app.vendor`` at build time (the image's app
folder is read-only to the server's user).
"""

from __future__ import annotations

import functools
import gzip
import logging
import shutil
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
ROUTE = "/vendor"
log = logging.getLogger("dkvb_explorer")
_route_active = False  # set by app/serve.py, which serves ROUTE


def activate_route() -> None:
    """Called by ``app/serve.py``: pages then load the chart library from :data:`ROUTE`."""
    global _route_active
    _route_active = True


@functools.cache
def gzipped_plotly_js() -> bytes:
    """The chart library, gzipped once per server process (~1.4 MB; ~0.2 s)."""
    source, _version = plotly_js_source()
    return gzip.compress(source.read_bytes(), compresslevel=6)


def plotly_js_source() -> tuple[Path, str]:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js", plotly.__version__


@functools.cache
def ensure_plotly_js() -> str:
    """Copy plotly.min.js into the static folder if it is not there yet; its file name there."""
    source, _version = plotly_js_source()
    name = plotly_js_name()
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
    if _route_active:
        return f"{prefix}{ROUTE}/{plotly_js_name()}"
    return f"{prefix}/app/static/vendor/{ensure_plotly_js()}"


def plotly_js_name() -> str:
    """The chart library's versioned file name."""
    return f"plotly-py{plotly_js_source()[1]}.min.js"


if __name__ == "__main__":  # the Dockerfile's build step
    print(VENDOR_DIR / ensure_plotly_js())
