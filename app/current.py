"""The run a page shows: the current settings' (cached) result, with progress for long runs and
the previous result kept on screen when the new settings cannot run."""

from __future__ import annotations

import time

import streamlit as st

from app import layout, plain, runs, settings
from dkvb_core import Config, RunResult, Stream

BAR_EVERY_S = 0.25  # seconds between progress-bar updates


def current_result() -> RunResult | None:
    """Run (or fetch from cache) the current config on the current stream; None if nothing to show."""
    config = settings.current_config()
    stream = settings.current_stream()
    problems = settings.settings_problems()
    if problems:  # said next to the chart too: the sidebar's message may be far below the fold
        plain.alert(
            "warning",
            "**The charts still show the last valid settings.** " + " ".join("**{}**: {}." for _ in problems),
            *[part for problem in problems for part in problem],
            icon=":material/warning:",
        )
    outcome = run_with_progress(config, stream)
    if outcome.result is not None:
        st.session_state["last_result"] = outcome.result
        return outcome.result
    show_refusal(outcome.error or "")
    previous = st.session_state.get("last_result")
    if previous is not None:
        st.info("Showing the previous result.", icon=":material/history:")
    return previous


def run_with_progress(config: Config, stream: Stream | None = None) -> runs.Outcome:
    """:func:`runs.try_run` for a page: cached runs at once; others with a spinner and, from half a
    second on, a progress bar (four updates a second: each redraws the page in the browser, which
    shares the run's cores). A newer setting from the same session or a closed tab stops the run."""
    if runs.is_cached(config, stream):  # the usual case on a slider move back and forth: no spinner, no timer
        return runs.try_run(config, stream)
    bar = st.empty()
    started = time.monotonic()
    shown = [started]

    def progress(done: int, total: int, phase: str = "train") -> None:
        now = time.monotonic()
        if now - started > 0.5 and now - shown[0] >= BAR_EVERY_S and total:
            shown[0] = now
            what = f"step {done:,} of {total:,}" if phase == "train" else f"placing keys ({done / total:.0%})"
            bar.progress(min(done / total, 1.0), text=f"Training: {what}")

    # The spinner shows after half a second; before the first training step (key k-means with many
    # codebooks and keys can take a while) it is the only sign of life.
    with st.spinner("Training these settings…", show_time=True):
        outcome = runs.try_run(config, stream, runs.SessionWatch(progress))
    bar.empty()
    return outcome


def show_refusal(message: str) -> None:
    """Why these settings cannot run, as plain text (it may echo values from a link or a file)."""
    st.error("These settings cannot run:", icon=":material/error:")
    st.text(message)


def upload_notice() -> None:
    """Repeat an upload fault on the page itself (it is also next to the uploader)."""
    err = st.session_state.get("upload_error")
    if err and st.session_state.get("view:data") == "Your CSV":
        plain.alert("error", "The uploaded file was not used. {}", err, icon=":material/upload_file:")
    name = st.session_state.get("upload_name")
    if settings.current_stream() is not None and name:
        plain.caption("Data: your file **{}**.", name)


def page_result() -> RunResult:
    """What a toy-stream page starts with: the current result and any upload fault; ends the page
    (having said why) when there is nothing to show."""
    result = current_result()
    upload_notice()
    if result is None:
        layout.end_page()
    return result
