"""Bulk Transcribe's web app: `bulk-transcribe ui` runs this (the Home page); the scripts in
pages/ are its other pages. Each only calls its page module's render()."""

from bulk_transcribe.web.pages.home_page import render

render()
