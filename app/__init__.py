"""DKVB Explorer: the Streamlit app (pages, widgets, chart builders)."""
