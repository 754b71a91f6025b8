"""Story mode in the app: the bar above every page while a story runs (caption, previous/next, the
clicker's PageDown/PageUp), starting a story from the link or the sidebar, and applying a step
(its settings become the page's link, its page opens, its animation jumps to the step's frame)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import NoReturn

import streamlit as st

from app import cockpit, view_params
from app.story import Story, StoryError, builtin_names, load_builtin, parse_story, step_query

_STATE = "_story"
PAGES_DIR = Path(__file__).resolve().parent / "views"


def current() -> tuple[Story, int] | None:
    """The running story and its step (0-based), if any."""
    state = st.session_state.get(_STATE)
    return (state["story"], state["index"]) if state else None


def start_from_url() -> None:
    """A session's first run: ``?story=name&step=k`` starts a built-in story (bad values are warned)."""
    if st.session_state.get("_story_url_read"):
        return
    st.session_state["_story_url_read"] = True
    name = st.query_params.get("story")
    if not name:
        return
    try:
        story = load_builtin(name)
    except StoryError as exc:
        view_params.warn(f"{exc}; no story started")
        return
    raw = st.query_params.get("step", "1")
    index = int(raw) - 1 if raw.isdigit() and 1 <= int(raw) <= len(story.steps) else None
    if index is None:
        view_params.warn(f"step: {raw[:20]!r} is not a step of this story (1 to {len(story.steps)}); starting at 1")
        index = 0
    st.session_state[_STATE] = {"story": story, "index": index}
    # A story link carries only its name and step: put the step's settings into the link before the settings
    # are read; the step's page opens once navigation is built (follow_page).
    for key, value in step_query(story, index, bool(st.session_state.get("present"))).items():
        st.query_params[key] = value
    _reset_view_state()
    if story.steps[index].frame:
        cockpit.request_seek("*", story.steps[index].frame)
    st.session_state["_story_follow_page"] = True


def follow_page(page: str) -> None:
    """After a story link was read: open its step's page when the link opened another one (``page``:
    the url path of the page about to run). A no-op on every other run."""
    running = current()
    if not st.session_state.pop("_story_follow_page", False) or running is None:
        return
    story, index = running
    if story.steps[index].page != page:
        go(story, index)


def _reset_view_state() -> None:
    """Forget the widgets' values so the next run reads everything from the step's link."""
    for k in list(st.session_state.keys()):
        if isinstance(k, str) and (k.startswith("cfg:") or k.startswith("view:")):
            del st.session_state[k]
    st.session_state["_url_loaded"] = False
    st.session_state.pop("_cockpit_frames", None)


def go(story: Story, index: int) -> NoReturn:
    """Apply step ``index`` (0-based, clipped): its link, its page, its frame."""
    from app.views import PAGES

    index = max(0, min(index, len(story.steps) - 1))
    st.session_state[_STATE] = {"story": story, "index": index}
    step = story.steps[index]
    _reset_view_state()
    if step.frame:
        cockpit.request_seek("*", step.frame)
    spec = next(p for p in PAGES if p.url_path == step.page)
    st.switch_page(PAGES_DIR / spec.file, query_params=step_query(story, index, bool(st.session_state.get("present"))))


def stop() -> None:
    st.session_state.pop(_STATE, None)
    for k in ("story", "step"):
        if k in st.query_params:
            del st.query_params[k]


def bar() -> None:
    """The story bar: title, step k of n, caption, previous/next and exit; clicker keys included."""
    running = current()
    nav = cockpit.story_keys(active=running is not None)
    if running is None:
        return
    story, index = running
    if nav in ("next", "prev"):
        go(story, index + (1 if nav == "next" else -1))
    box = st.container(border=True, key="story_bar")
    left, mid, right = box.columns([1.2, 6, 2.2], vertical_alignment="center")
    if left.button("◀ Previous", disabled=index == 0, key="story_prev", use_container_width=True):
        go(story, index - 1)
    mid.html(
        f"<div class='dkvb-story-title'>{html.escape(story.title)} · step {index + 1} of {len(story.steps)}</div>"
        f"<div class='dkvb-story-caption'>{html.escape(story.steps[index].caption)}</div>"
    )
    a, b = right.columns(2)
    if a.button("Next ▶", disabled=index == len(story.steps) - 1, key="story_next", type="primary"):
        go(story, index + 1)
    if b.button("Exit", key="story_exit", help="Leave the story; the settings stay as they are"):
        stop()
        st.rerun()


def loader() -> None:
    """The sidebar's story box: a built-in story, or your own JSON file (validated, errors as plain text)."""
    with st.sidebar.expander("Story mode", icon=":material/auto_stories:"):
        st.caption("A talk as steps: settings, page, frame and a caption. PageDown/PageUp walk it.")
        names = builtin_names()
        choice = st.selectbox("Built-in story", names, key="story_choice") if names else None
        if choice and st.button("Start this story", key="story_start"):
            go(load_builtin(choice), 0)
        upload = st.file_uploader("Or your own story (JSON)", type=["json"], key="story_upload")
        if upload is not None:
            try:
                story = parse_story(upload.getvalue(), "uploaded")
            except StoryError as exc:
                st.text(f"{upload.name} was not loaded. {exc}")
                return
            st.text(f"{upload.name}: {story.title}, {len(story.steps)} steps")
            if st.button("Start my story", key="story_start_upload"):
                go(story, 0)
