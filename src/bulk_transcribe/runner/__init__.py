"""Running sessions: create one from ingested items, then work through its queue."""

from bulk_transcribe.runner.index import write_outputs_index
from bulk_transcribe.runner.ownership import SessionBusy
from bulk_transcribe.runner.runner import Runner
from bulk_transcribe.runner.session import create_session, session_links

__all__ = ["Runner", "SessionBusy", "create_session", "session_links", "write_outputs_index"]
