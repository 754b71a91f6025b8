"""DKVB Explorer's entry point: ``streamlit run app/main.py``.

Puts the repo root on ``sys.path`` (so ``app`` and ``dkvb_core`` import under ``streamlit run``),
sets the page config, draws the shared settings and runs the page chosen in the navigation.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import logging  # noqa: E402
import time  # noqa: E402

import streamlit as st  # noqa: E402
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException  # noqa: E402

from app import layout, story_mode, view_params, warmup  # noqa: E402 - light: only streamlit
from app.views import PAGES  # noqa: E402

PAGES_DIR = Path(__file__).resolve().parent / "views"
# A session's first run pauses briefly after the title and the chart-library loader have gone out, so
# the browser mounts the loader and requests the library before it is busy drawing the sidebar and page
# (otherwise the request waits for all of that). With plotly's 1.5 MB cartesian bundle (app/vendor.py)
# and no pause, the library was requested ~1.2-1.6 s into the visit; with 0.15 s, at ~0.7 s. Measured
# with fresh servers (benchmarks/bench_browser.py, first render). The earlier 0.6 s pause (serving the
# 4.8 MB full bundle competed with the script for this process) is no longer needed. Skipped while a
# fresh `app/main.py` server still imports torch.
FIRST_VISIT_PAUSE_S = 0.15
log = logging.getLogger("dkvb_explorer")


def main() -> None:
    present = layout.presentation_mode()
    st.set_page_config(
        page_title="DKVB Explorer",
        page_icon=str(ROOT / "assets" / "icon.png"),  # a file served by the app: no outside request for the tab icon
        layout="wide",
        initial_sidebar_state="collapsed" if present else "expanded",
    )
    layout.inject_css(present)
    view_params.start_run()
    story_mode.start_from_url()
    pages = [
        st.Page(PAGES_DIR / p.file, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default) for p in PAGES
    ]
    nav = st.navigation(pages, position="top" if present else "sidebar")
    spec = next((p for p in PAGES if p.url_path == nav.url_path), PAGES[0])
    story_mode.follow_page(spec.url_path)  # a story link to a step on another page opens that page
    # A session's first run: the page's title and an empty placeholder chart go out first, so the browser
    # shows the title and loads the chart library (4.7 MB of JS) while the server looks up (or, on a fresh
    # server, imports torch for) the run.
    title, starting, preload = st.empty(), st.empty(), st.container()
    if not st.session_state.get("_chart_library_sent"):
        st.session_state["_chart_library_sent"] = True
        title.title(spec.title)
        engine_ready = warmup.ready()
        layout.preload_chart_library(preload, starting if not engine_ready else None)
        if engine_ready and not st.get_option("global.appTest"):  # AppTest has no browser to wait for
            time.sleep(FIRST_VISIT_PAUSE_S)
    from app import settings  # dkvb_core's config (pydantic, ~0.2 s); torch stays out (see app.warmup)

    if spec.shared_settings:
        settings.load_from_url_once()
        if present:
            settings.current_config()
        else:
            settings.render_sidebar()
    if not present:
        story_mode.loader()
    # torch (~1.5 s) loads in the background from here: the sidebar and placeholder are already on their way
    # (not slowed by the import's hold on the GIL), so the browser builds them while the engine starts.
    warmup.start()
    warnings_slot = st.container()  # filled after the page ran: pages read their own view.* parameters
    title.empty()  # the page draws its own header
    story_mode.bar()
    try:
        nav.run()
    except layout.PageEnd:
        pass  # the page ended early on purpose and said why
    except ScriptControlException:
        raise
    except Exception:  # never a traceback on screen: log it, show a message
        log.exception("page %s failed", spec.title)
        st.error(
            "Something went wrong while drawing this page. The settings are unchanged; "
            "try another value or reload. (Details are in the server log.)",
            icon=":material/error:",
        )
    starting.empty()
    layout.show_url_warnings(warnings_slot)
    if spec.shared_settings:
        settings.sync_url()
    else:
        view_params.sync_url()


main()
