"""Bulk Transcribe: organised transcripts for long lists of media, in parallel and resumable."""

from bulk_transcribe.errors import ErrorKind, PermanentError, TranscribeError, TransientError
from bulk_transcribe.models import ItemSpec, Segment, SourceType, Transcript

__all__ = [
    "ErrorKind",
    "ItemSpec",
    "PermanentError",
    "Segment",
    "SourceType",
    "TranscribeError",
    "Transcript",
    "TransientError",
]

__version__ = "0.1.0"
