"""The chart library, served by the app itself (``/vendor/<name>``): no request leaves the machine.

The animated charts (:mod:`app.cockpit`) draw with plotly.js. Two builds can serve them:

- plotly's own **cartesian bundle** (the npm package ``plotly.js-cartesian-dist-min``, same version as
  the plotly.js inside the Python ``plotly`` package): 1.5 MB instead of 4.8 MB, and a browser
  evaluates it in ~0.37 s instead of ~0.85 s on this 2-core machine (it blocks the page meanwhile,
  so it is most of a first visit's wait). ``python -m app.vendor --fetch`` gets it at install time
  (``npm pack``, checked against :data:`CARTESIAN`'s SHA-256); the page never downloads anything.
- the full bundle inside the Python ``plotly`` package, when the cartesian one is absent (no npm at
  install time) or is for another plotly.js version.

The cockpit's figures use only :data:`CARTESIAN_TRACES` (a test checks every chart builder).
``app/serve.py`` (the README's server) serves the library from memory, gzipped once and marked
immutable (the file name carries the version). Streamlit's static file serving (a bare
``streamlit run app/main.py``) works too but gzips the file again on every request, on the server's
event loop; :func:`ensure_plotly_js` copies the file there.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import logging
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
ROUTE = "/vendor"
log = logging.getLogger("dkvb_explorer")
_route_active = False  # set by app/serve.py, which serves ROUTE


@dataclass(frozen=True)
class PartialBundle:
    """A pinned plotly.js partial bundle from its npm package: what to fetch and how to check it."""

    package: str
    version: str
    member: str  # the file inside the package
    sha256: str

    @property
    def path(self) -> Path:
        return VENDOR_DIR / f"plotly-cartesian-{self.version}.min.js"


CARTESIAN = PartialBundle(
    "plotly.js-cartesian-dist-min",
    "4.1.1",
    "package/plotly-cartesian.min.js",
    "79542150855a52c567260e3137095dbe2b744e6d702a5cabe67da246942fba7a",
)
# The trace types the cartesian bundle draws (its README); the cockpit's figures stay within them.
CARTESIAN_TRACES = frozenset(
    [
        "bar",
        "box",
        "contour",
        "heatmap",
        "histogram",
        "histogram2d",
        "histogram2dcontour",
        "image",
        "pie",
        "scatter",
        "scatterternary",
        "violin",
    ]
)


def activate_route() -> None:
    """Called by ``app/serve.py``: pages then load the chart library from :data:`ROUTE`."""
    global _route_active
    _route_active = True


def full_bundle() -> Path:
    """The full plotly.js inside the Python ``plotly`` package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def bundled_version(path: Path) -> str | None:
    """The plotly.js version a bundle's banner names (``v4.1.1``), or None."""
    with path.open("rb") as f:
        match = re.search(rb"plotly\.js[^\n]*? v(\d+\.\d+\.\d+)", f.read(200))
    return match.group(1).decode() if match else None


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def chart_library() -> tuple[Path, str]:
    """The file to serve and its versioned name: the cartesian bundle when it is installed, intact and
    of the Python plotly's plotly.js version; else the full bundle."""
    full = full_bundle()
    version = bundled_version(full) or "unknown"
    part = CARTESIAN.path
    if part.exists() and CARTESIAN.version == version and sha256_of(part) == CARTESIAN.sha256:
        return part, part.name
    if part.exists():
        log.warning("%s is not plotly.js %s as pinned; serving the full bundle", part, version)
    return full, f"plotly-full-{version}.min.js"


@functools.cache
def gzipped_plotly_js() -> bytes:
    """The chart library, gzipped once per server process (~0.5-1.4 MB; ~0.1-0.2 s)."""
    return gzip.compress(chart_library()[0].read_bytes(), compresslevel=6)


def plotly_js_name() -> str:
    """The chart library's versioned file name."""
    return chart_library()[1]


@functools.cache
def ensure_plotly_js() -> str:
    """Copy the chart library into the static folder if it is not there yet; its file name there."""
    source, name = chart_library()
    target = VENDOR_DIR / name
    if target != source and (not target.exists() or target.stat().st_size != source.stat().st_size):
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


def fetch_partial(bundle: PartialBundle = CARTESIAN) -> str | None:
    """Install ``bundle`` from its npm package (``npm pack``; checked by SHA-256). None when done, else
    why not (no npm, no registry, a checksum that differs): the app then serves the full bundle."""
    if bundle.path.exists() and sha256_of(bundle.path) == bundle.sha256:
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        spec = f"{bundle.package}@{bundle.version}"
        done = subprocess.run([npm, "pack", "--silent", spec], cwd=tmp, capture_output=True, text=True, timeout=300)
        tgz = sorted(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tgz:
            return f"npm pack {spec} failed: {(done.stderr or done.stdout).strip()[:300]}"
        with tarfile.open(tgz[0]) as tar:
            data = tar.extractfile(bundle.member)
            body = data.read() if data is not None else b""
    if hashlib.sha256(body).hexdigest() != bundle.sha256:
        return f"{spec}: {bundle.member} does not have the pinned SHA-256"
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    bundle.path.write_bytes(body)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.vendor", description="Install the app's chart library.")
    parser.add_argument("--fetch", action="store_true", help="get plotly's cartesian bundle with npm first")
    parser.add_argument("--strict", action="store_true", help="with --fetch: fail when it cannot be had")
    args = parser.parse_args(argv)
    if args.fetch:
        problem = fetch_partial()
        if problem:
            print(f"cartesian chart bundle not installed ({problem}); the app serves the full plotly.js")
            if args.strict:
                return 1
    chart_library.cache_clear()
    print(VENDOR_DIR / ensure_plotly_js())
    return 0


if __name__ == "__main__":  # install scripts and the Dockerfile's build step
    raise SystemExit(main())
