"""The Streamlit web app (`bulk-transcribe ui`): pages lay out panels; panels read the store and
act through the service; state holds what is shared between reruns and tabs. Jobs run in
processes of their own, never in the web server."""
