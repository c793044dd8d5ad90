"""Bulk Transcribe's web app as installed: `bulk-transcribe ui` runs this (the Home page).

A checkout's app.py and pages/ are the same thin scripts, for `streamlit run app.py`.
"""

from bulk_transcribe.web.home_page import render

render()
