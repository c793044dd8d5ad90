"""Bulk Transcribe: organised transcripts for long lists of media, in parallel and resumable."""

import os

# CTranslate2's OpenMP threads otherwise spin at every barrier; on shared cores (a browser, a
# second job) that burned 4-9x the CPU and ran 2-5x slower. libgomp reads the policy once, when
# it loads, so it is set here, before anything can import faster-whisper. A user's own value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
