"""The `bulk-transcribe` command: a thin view that reads the store and sends commands."""
