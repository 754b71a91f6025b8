"""playground page (being built)."""

import streamlit as st

from app import layout
from app.settings import current_config

layout.page_header("playground", "work in progress")
st.write(current_config().dkvb.keys_per_codebook)
