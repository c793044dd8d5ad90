"""Find videos: search YouTube, choose what to transcribe, start a session with one click."""

from bulk_transcribe.web.pages.find_videos_page import render

render()
