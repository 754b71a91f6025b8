"""DKVB Explorer: the Streamlit app (entry point, pages in ``views/``, chart builders in ``charts/``)."""
