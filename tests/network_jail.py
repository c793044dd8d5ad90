"""Keeping a test's connections on this machine: every TCP connection the test's thread opens
to an address beyond loopback is recorded and refused before it
leaves, so a test can see where a client tried to go without reaching the network."""

from __future__ import annotations

import ipaddress
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_jails = threading.local()
_installed = threading.Lock()
_hook_added = False


@contextmanager
def network_jail() -> Iterator[list[str]]:
    """Yields the addresses connected to, in order, loopback ones included."""
    global _hook_added
    with _installed:
        if not _hook_added:
            sys.addaudithook(_on_audit_event)
            _hook_added = True
    attempts: list[str] = []
    _jails.attempts = attempts
    try:
        yield attempts
    finally:
        _jails.attempts = None


def _on_audit_event(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    attempts = getattr(_jails, "attempts", None)
    address = args[1]
    if attempts is None or not isinstance(address, tuple):
        return
    host = str(address[0])
    attempts.append(host)
    if not ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
        raise ConnectionRefusedError(f"{host}: kept off the network by the test")
