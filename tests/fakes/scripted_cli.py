"""The real `bulk-transcribe` CLI with the scripted engine registered as `--engine scripted`.

SCRIPTED_OWNER_EXPIRY_SECONDS shortens how long an owner may stay silent before another
process takes its session over (15 s in the product), so takeover scenarios run fast.
"""

import os

from bulk_transcribe.cli.main import main
from bulk_transcribe.engines import ENGINES
from bulk_transcribe.runner import ownership, runner

ENGINES["scripted"] = "tests.fakes.scripted_engine:create"
if os.environ.get("SCRIPTED_OWNER_EXPIRY_SECONDS"):
    expiry = float(os.environ["SCRIPTED_OWNER_EXPIRY_SECONDS"])
    ownership.OWNER_EXPIRY_SECONDS = runner.OWNER_EXPIRY_SECONDS = expiry
main()
