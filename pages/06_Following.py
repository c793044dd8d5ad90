"""Following: feeds, channels, playlists and searches, each checked for what is new."""

from bulk_transcribe.web.following_page import render

render()
