"""Sessions: every session in the database, live; open, stop, cancel, resume, retry, delete."""

from bulk_transcribe.web.pages.sessions_page import render

render()
