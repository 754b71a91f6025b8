"""The chart library the app serves: the pinned cartesian bundle when it is installed and intact, else
plotly's full bundle; and every figure the cockpit draws stays within the cartesian bundle's traces."""

import hashlib

import pytest

from app import vendor
from app.charts import boundaries
from app.charts import keys as key_charts


def traces_of(fig) -> set[str]:
    spec = fig.to_plotly_json()
    frames = [t for f in spec.get("frames") or [] for t in f.get("data") or []]
    return {t.get("type", "scatter") for t in [*spec["data"], *frames]}


def test_every_cockpit_figure_uses_cartesian_traces_only(small_result):
    models = list(small_result.models)
    figures = [
        boundaries.animated_boundaries(small_result, models, show_test=True),
        boundaries.paper_figure(small_result, models),
        key_charts.animated_key_map(small_result, 0),
    ]
    for fig in figures:
        used = traces_of(fig)
        assert used and used <= vendor.CARTESIAN_TRACES, used - vendor.CARTESIAN_TRACES


@pytest.fixture
def bundle_dir(tmp_path, monkeypatch):
    """A vendor folder of its own and a fresh choice of library."""
    monkeypatch.setattr(vendor, "VENDOR_DIR", tmp_path)
    vendor.chart_library.cache_clear()
    yield tmp_path
    vendor.chart_library.cache_clear()


def pinned(body: bytes) -> vendor.PartialBundle:
    version = vendor.bundled_version(vendor.full_bundle())
    return vendor.PartialBundle("pkg", version, "package/x.js", hashlib.sha256(body).hexdigest())


def test_the_intact_cartesian_bundle_is_served(bundle_dir, monkeypatch):
    body = b"/** plotly.js (cartesian) v0 */ window.Plotly = {};"
    bundle = pinned(body)
    monkeypatch.setattr(vendor, "CARTESIAN", bundle)
    bundle.path.write_bytes(body)
    assert vendor.chart_library() == (bundle.path, bundle.path.name)


def test_a_tampered_or_missing_bundle_falls_back_to_the_full_one(bundle_dir, monkeypatch):
    bundle = pinned(b"the pinned bytes")
    monkeypatch.setattr(vendor, "CARTESIAN", bundle)
    path, name = vendor.chart_library()
    assert path == vendor.full_bundle() and name.startswith("plotly-full-")
    bundle.path.write_bytes(b"other bytes")
    vendor.chart_library.cache_clear()
    assert vendor.chart_library()[0] == vendor.full_bundle()


def test_the_full_bundle_names_its_version():
    assert vendor.bundled_version(vendor.full_bundle()) == vendor.CARTESIAN.version  # the pin follows plotly


def test_fetch_without_npm_says_why(bundle_dir, monkeypatch):
    monkeypatch.setattr(vendor.shutil, "which", lambda _name: None)
    assert vendor.fetch_partial() == "npm is not installed"
