"""DKVB Explorer: the Streamlit app (pages, widgets, chart builders)."""


def _prefer_st_navigation() -> None:
    """Turn off Streamlit's old pages-folder mode for this server process.

    ``app/pages/`` next to ``app/main.py`` makes a fresh server start in that mode until the entry
    script first calls ``st.navigation``; a shared deep link (``/keys?...``) opened first would then
    run the page without the entry script (no settings, no URL state). The pages re-run once
    through the entry script when that happened (see :func:`app.layout.page_header`).
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # streamlit not installed: the core and the CLI do not need it
        return
    PagesManager.uses_pages_directory = False


_prefer_st_navigation()
