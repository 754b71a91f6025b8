"""DKVB Explorer's server: ``streamlit run app/serve.py`` (what the README and the Dockerfile start).

The same app as ``streamlit run app/main.py`` (every visit runs ``main.py``), plus a warm start:
before the server reports itself up it imports the engine (torch) and trains the default config
(~2 s in all), so the first visitor's landing page finds its result cached instead of waiting.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import warmup  # noqa: E402 - light: only the standard library


@asynccontextmanager
async def _warm_start(_server: st.App):
    """Server start: warm up in a worker thread (the event loop stays free), then serve."""
    await asyncio.to_thread(warmup.warm_default)
    yield


streamlit_app = st.App("main.py", lifespan=_warm_start)
