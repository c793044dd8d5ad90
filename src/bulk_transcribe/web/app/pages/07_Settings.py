"""Settings: the proxy and the YouTube cookies file the app uses."""

from bulk_transcribe.web.pages.settings_page import render

render()
