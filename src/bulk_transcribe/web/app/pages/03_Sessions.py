"""Sessions: every session in the database, live; open, stop, cancel, resume, retry, delete."""

from bulk_transcribe.web.sessions_page import render

render()
