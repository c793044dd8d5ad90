"""The Streamlit web app's pieces: a background job manager and one module per page panel."""
