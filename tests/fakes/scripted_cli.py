"""The real `bulk-transcribe` CLI with the scripted engine registered as `--engine scripted`."""

from bulk_transcribe.cli.main import main
from bulk_transcribe.engines import ENGINES

ENGINES["scripted"] = "tests.fakes.scripted_engine:create"
main()
