"""Following: feeds, channels, playlists and searches, each checked for what is new."""

from bulk_transcribe.web.pages.following_page import render

render()
