"""The real links of a session's items, credentials included: in memory, passed by hand.

A link with credentials is stored scrubbed (redact.py) and keyed by the real link
(`Store.item_key`), so two links that differ only in a secret are two items. The real link
goes from whoever read the input, with the session it starts, to the runner and from there
with each work unit to its worker: a `RealLinks` is one session's, keyed by item key, never
a process-wide table looked up by the scrubbed form (two links scrub to one form). A job
process started to run the session gets them through a pipe (`handed_over`,
`received_links`); a later process that never had them says so (`link_of`).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import Item, ItemSpec
from bulk_transcribe.redact import is_redacted, redact_url

# Item key -> the real link, for the items whose stored link was scrubbed.
RealLinks = Mapping[str, str]

_HANDED_OVER_FD_ENV = "BULK_TRANSCRIBE_URL_SECRETS_FD"


def real_links(specs: Iterable[ItemSpec], key_of: Callable[[str], str]) -> dict[str, str]:
    """The real links of `specs` that are stored scrubbed, by the key `key_of` gives them."""
    return {
        key_of(spec.source): spec.source for spec in specs if redact_url(spec.source) != spec.source
    }


def link_of(item: Item, real: str | None) -> str:
    """The link to request for `item`: its real link when it had credentials (`real`, from
    its work unit), else the stored one; a clear error when the credentials are not known."""
    if real is not None:
        return real
    if not is_redacted(item.source):
        return item.source
    raise PermanentError(
        ErrorKind.AUTH,
        f"{item.source}: this link carried credentials, which are never saved, so a later run "
        "cannot use them; add the link again in a new run (bulk-transcribe run LINK)",
    )


@contextmanager
def handed_over(links: RealLinks) -> Iterator[tuple[dict[str, str], tuple[int, ...]]]:
    """The environment and file descriptors to give a process started now (a job running
    the session), so it gets these links: through a pipe, never a file or the command line,
    and of any size (an environment variable is limited to 128 KB)."""
    if not links:
        yield {}, ()
        return
    read, write = os.pipe()
    payload = json.dumps(dict(links)).encode("utf-8")

    def send() -> None:
        with open(write, "wb") as pipe, contextlib.suppress(BrokenPipeError):
            pipe.write(payload)

    threading.Thread(target=send, name="hand-over-links", daemon=True).start()
    try:
        yield {_HANDED_OVER_FD_ENV: str(read)}, (read,)
    finally:
        os.close(read)  # the child has its own copy


def received_links() -> dict[str, str]:
    """The links the process that started this one handed over (once; empty when none)."""
    fd = os.environ.pop(_HANDED_OVER_FD_ENV, None)  # not passed on to this one's children
    if not fd or not fd.isdigit():
        return {}
    try:
        with open(int(fd), "rb") as pipe:
            known = json.loads(pipe.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(known, dict):
        return {}
    return {str(key): str(link) for key, link in known.items()}
