"""Streamlit pages, one file each."""
