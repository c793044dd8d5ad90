"""Which network addresses a link may reach: a list of links must not become a way into the
networks around this machine (server-side request forgery), redirects included.

Defaults: public addresses and this machine (loopback) are allowed; private ranges, link-local
(cloud metadata at 169.254.169.254), multicast and reserved ones are blocked unless the user
allows them. A web app served beyond loopback blocks this machine and its networks always.

Two ways of checking, both at connect time, on the address actually connected to (so a name
that resolves differently the second time, DNS rebinding, gets nowhere): our own HTTP clients
(net.py) connect through a backend that resolves once, checks and connects to that address;
`connections_checked` checks every TCP connection a thread (and the threads it starts) opens,
for code whose connections we do not make: yt-dlp, and `requests` under
youtube-transcript-api. `check_url` checks a link by name, for requests a proxy makes for us.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.redact import redact_url
from bulk_transcribe.settings import SourceSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AddressPolicy:
    allow_loopback: bool = True
    allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: SourceSettings) -> AddressPolicy:
        if settings.public_addresses_only:
            return cls(allow_loopback=False, allow_private=False)
        return cls(allow_loopback=True, allow_private=settings.allow_private_addresses)


def check_url(url: str, policy: AddressPolicy) -> None:
    """Raise PermanentError(BLOCKED) when `url`'s host is an address the policy forbids."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return  # the HTTP client reports a malformed URL better
    if not host:
        return
    for address in resolve_addresses(host, port or (443 if parts.scheme == "https" else 80)):
        reason = why_forbidden(address, policy)
        if reason:
            raise PermanentError(ErrorKind.BLOCKED, _message(url, host, address, reason, policy))


def resolve_addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # unresolvable: the request itself fails with a clear network error
    found = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    return found


def why_forbidden(address: IPAddress, policy: AddressPolicy) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if policy.allow_loopback else "this machine (loopback)"
    if address.is_link_local:
        return None if policy.allow_private else "a link-local address"
    if address.is_global:
        return None
    return None if policy.allow_private else "a private network address"


def _message(url: str, host: str, address: IPAddress, reason: str, policy: AddressPolicy) -> str:
    where = f"{host} ({address})" if host != str(address) else host
    return f"{redact_url(url)} points to {where}, {reason}; blocked: {advice(policy)}"


def advice(policy: AddressPolicy) -> str:
    if not policy.allow_loopback:
        return "this web app is served beyond this machine, so such links are always refused"
    return (
        "if you trust this link, allow it with --allow-private-addresses "
        "(BULK_TRANSCRIBE_ALLOW_PRIVATE_ADDRESSES=1)"
    )


class BlockedConnection(ConnectionRefusedError):
    """A connection the address policy refused. An OSError, so that any HTTP stack treats it
    as a connection that failed (and stops) rather than as a bug of its own."""


@dataclass
class ConnectionGuard:
    """What `connections_checked` watches for one thread, and the first connection it refused."""

    policy: AddressPolicy
    # The configured proxies, each its exact address and port: the user chose them, and
    # nothing else on those machines.
    exempt: frozenset[tuple[IPAddress, int]]
    refusal: PermanentError | None = field(default=None)


_guards = threading.local()
_hook_lock = threading.Lock()
_hook_installed = False


@contextmanager
def connections_checked(
    policy: AddressPolicy, proxy: str | None = None
) -> Iterator[ConnectionGuard]:
    """Refuse, in this thread and for the block's duration, every TCP connection to an address
    the policy forbids (BlockedConnection). The guard's `refusal` then says which, in words
    for the user: the caller raises it instead of the library's own "connection failed".

    Connections to a proxy (`proxy`, or the environment's) are allowed: the user chose it,
    and what it connects to is beyond this process. Written by hand on Python's audit hooks
    (PEP 578): no library checks the addresses another library connects to.
    """
    _install_hook()
    guard = ConnectionGuard(policy, _proxy_addresses(proxy))
    previous = getattr(_guards, "guard", None)
    _guards.guard = guard
    try:
        yield guard
    finally:
        _guards.guard = previous


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_on_audit_event)  # process-wide and permanent: installed once
            _pass_guards_to_new_threads()
            _hook_installed = True


def _pass_guards_to_new_threads() -> None:
    """A thread started inside a guarded block is checked by the same guard: otherwise code
    under guard could open its connections from a thread of its own. Python 3.11 has no
    audit event for a new thread, hence the wrapped `Thread.start` (process-wide, once)."""
    start = threading.Thread.start

    def start_under_guard(thread: threading.Thread) -> None:
        guard = getattr(_guards, "guard", None)
        if guard is not None:
            run = thread.run

            def run_under_guard() -> None:
                _guards.guard = guard
                run()

            thread.run = run_under_guard  # type: ignore[method-assign]
        start(thread)

    threading.Thread.start = start_under_guard  # type: ignore[method-assign]


def _on_audit_event(event: str, args: tuple) -> None:
    # Runs for every audited event of every thread: return at once unless it is ours.
    if event != "socket.connect":
        return
    guard: ConnectionGuard | None = getattr(_guards, "guard", None)
    if guard is None:
        return
    address = args[1]
    if not isinstance(address, tuple) or len(address) < 2:
        return  # a Unix socket: no network
    host, port = str(address[0]), int(address[1])
    for ip in resolve_addresses(host, port):
        if (ip, port) in guard.exempt:
            continue
        reason = why_forbidden(ip, guard.policy)
        if reason:
            where = host if host == str(ip) else f"{host} ({ip})"
            refusal = PermanentError(
                ErrorKind.BLOCKED, _connection_message(where, reason, guard.policy)
            )
            guard.refusal = guard.refusal or refusal
            raise BlockedConnection(refusal.message)


def _proxy_addresses(proxy: str | None) -> frozenset[tuple[IPAddress, int]]:
    proxies = [proxy] if proxy else []
    # What yt-dlp uses without --proxy ("no" is the list of hosts to reach directly).
    proxies += [url for scheme, url in urllib.request.getproxies().items() if scheme != "no"]
    found: set[tuple[IPAddress, int]] = set()
    for url in proxies:
        endpoint = proxy_endpoint(url)
        if endpoint:
            found.update((ip, endpoint[1]) for ip in resolve_addresses(*endpoint))
    return frozenset(found)


def proxy_endpoint(url: str) -> tuple[str, int] | None:
    """The host and port a proxy URL names (its scheme's default port when it names none)."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    defaults = {"https": 443, "socks5": 1080, "socks5h": 1080, "socks4": 1080}
    return host.lower(), port or defaults.get(parts.scheme, 80)


def _connection_message(where: str, reason: str, policy: AddressPolicy) -> str:
    return (
        f"a link led to {where}, {reason} (through a redirect or a media link inside the "
        f"page); blocked: {advice(policy)}"
    )
