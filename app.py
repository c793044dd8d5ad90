"""Bulk Transcribe's web app: `streamlit run app.py` or `bulk-transcribe ui` (the Home page)."""

from bulk_transcribe.web.home_page import render

render()
