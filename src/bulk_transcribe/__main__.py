"""`python -m bulk_transcribe`: the CLI, as the web app starts a job in its own process."""

from bulk_transcribe.cli.main import main

main()
