"""Search transcripts: every session in the store, each hit linked to the moment it was said."""

from bulk_transcribe.web.pages.search_transcripts_page import render

render()
