"""The research pages' pieces: finding videos to transcribe, and searching what was."""
