"""Which network addresses a link may reach: a list of links must not become a way into the
networks around this machine (server-side request forgery), redirects included.

Defaults: public addresses and this machine (loopback) are allowed; private ranges, link-local
(cloud metadata at 169.254.169.254), multicast and reserved ones are blocked unless the user
allows them. A web app served beyond loopback blocks this machine and its networks always.
The check resolves the host name itself; a host that resolves differently a moment later (DNS
rebinding) is not covered, which is why the web app's strict mode matters.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.redact import redact_url
from bulk_transcribe.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AddressPolicy:
    allow_loopback: bool = True
    allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
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
    for address in _addresses(host, port or (443 if parts.scheme == "https" else 80)):
        reason = _forbidden(address, policy)
        if reason:
            raise PermanentError(ErrorKind.BLOCKED, _message(url, host, address, reason, policy))


def _addresses(host: str, port: int) -> list[IPAddress]:
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


def _forbidden(address: IPAddress, policy: AddressPolicy) -> str | None:
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
    advice = (
        "this web app is served beyond this machine, so such links are always refused"
        if not policy.allow_loopback
        else "if you trust this link, allow it with --allow-private-addresses "
        "(BULK_TRANSCRIBE_ALLOW_PRIVATE_ADDRESSES=1)"
    )
    return f"{redact_url(url)} points to {where}, {reason}; blocked: {advice}"
