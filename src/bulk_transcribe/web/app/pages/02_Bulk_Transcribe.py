"""Bulk Transcribe: give it links, pick settings, start, and watch every item live."""

from bulk_transcribe.web.pages.bulk_page import render

render()
