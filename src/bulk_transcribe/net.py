"""One way out to the network: every HTTP client the product uses is made here.

Each client connects through `GuardedBackend`, which resolves a host once, checks every address
against the address policy (addresses.py) and connects to the address it checked, the
name kept for TLS (SNI) and the Host header: a name that answers differently the second time
(DNS rebinding) gets nowhere. A proxy is exempt for its exact host and port only. Clients for
links share one SSL context per process and a pool of clients, each lent to one download at a
time (so connections to a host are reused across items); provider clients pass one hook, the
rate limiter's way in. Every connection's stream is abortable (abortable.py): an item's cancel
ends its requests in flight, uploads and waits for an answer alike.
"""

from __future__ import annotations

import functools
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import httpcore
import httpx
from httpcore._backends.sync import SyncStream  # the stream SyncBackend itself returns

from bulk_transcribe.abortable import AbortableStream, connecting
from bulk_transcribe.addresses import (
    AddressPolicy,
    IPAddress,
    advice,
    check_url,
    connections_checked,
    proxy_endpoint,
    resolve_addresses,
    why_forbidden,
)
from bulk_transcribe.errors import ErrorKind, PermanentError

if TYPE_CHECKING:
    import requests

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One per process: building one reads the whole CA bundle (tens of milliseconds)."""
    return httpx.create_ssl_context()


class GuardedBackend(httpcore.SyncBackend):
    """Opens TCP connections only to addresses the policy allows, to the very address checked."""

    def __init__(self, policy: AddressPolicy, exempt: Iterable[tuple[str, int]] = ()):
        self.policy = policy
        self.exempt = frozenset((host.lower(), port) for host, port in exempt)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_addresses(host, port)  # once: what is checked is what is connected
        if not addresses:
            raise httpcore.ConnectError(f"could not resolve {host}")
        if (host.lower(), port) not in self.exempt:
            for address in addresses:
                reason = why_forbidden(address, self.policy)
                if reason:
                    where = host if host == str(address) else f"{host} ({address})"
                    raise PermanentError(
                        ErrorKind.BLOCKED, f"{where} is {reason}; blocked: {advice(self.policy)}"
                    )
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return AbortableStream(
                    _connect(address, port, timeout, local_address, socket_options)
                )
            except httpcore.ConnectError as exc:  # the next address may answer
                failure = exc
        assert failure is not None
        raise failure


def _connect(
    address: IPAddress,
    port: int,
    timeout: float | None,
    local_address: str | None,
    socket_options: Iterable[Any] | None,
) -> httpcore.NetworkStream:
    """httpcore's own SyncBackend.connect_tcp, step for step, except that the socket exists
    before connect() blocks, so an item's cancel can cut the connect short (abortable.py)
    instead of waiting out the connect timeout. httpcore offers no hook between the two."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        if local_address is not None:
            sock.bind((local_address, 0))
        with connecting(sock):
            sock.connect((str(address), port))
        for option in socket_options or ():
            sock.setsockopt(*option)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except TimeoutError as exc:
        sock.close()
        raise httpcore.ConnectTimeout(str(exc) or "timed out connecting") from exc
    except OSError as exc:
        sock.close()
        raise httpcore.ConnectError(str(exc)) from exc
    except BaseException:  # Cancelled among them
        sock.close()
        raise
    return SyncStream(sock)


class _PoolTransport(httpx.HTTPTransport):
    """httpx's own transport over a pool we build: httpx has no seam for a network backend."""

    def __init__(self, pool: httpcore.ConnectionPool):
        super().__init__(verify=ssl_context(), trust_env=False)
        self._pool.close()
        self._pool = pool


class GuardedTransport(httpx.BaseTransport):
    """Sends each request directly or through its proxy (`proxy`, else the environment's,
    NO_PROXY respected), every connection through the guard."""

    def __init__(
        self,
        policy: AddressPolicy,
        proxy: str | None = None,
        *,
        trusted: Iterable[str] = (),
        limits: httpx.Limits = DEFAULT_LIMITS,
    ):
        self.policy = policy
        proxies = {"http": proxy, "https": proxy} if proxy else _environment_proxies()
        self._no_proxy = {} if proxy else {"no": proxies.pop("no", "")}
        # The operator's own endpoints (a proxy, a provider's API base) may be anywhere.
        exempt = {proxy_endpoint(url) for url in [*proxies.values(), *trusted]}
        backend = GuardedBackend(policy, (endpoint for endpoint in exempt if endpoint))
        self._direct = _PoolTransport(
            httpcore.ConnectionPool(
                ssl_context=ssl_context(), network_backend=backend, **_pool_limits(limits)
            )
        )
        self._proxied = {
            scheme: _PoolTransport(_proxy_pool(url, backend, limits))
            for scheme, url in proxies.items()
            if scheme in ("http", "https", "all")
        }

    def _route(self, url: httpx.URL) -> httpx.HTTPTransport:
        if self._no_proxy.get("no") and urllib.request.proxy_bypass_environment(
            url.host, self._no_proxy
        ):
            return self._direct
        return self._proxied.get(url.scheme) or self._proxied.get("all") or self._direct

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._route(request.url)
        if transport is not self._direct:
            # The proxy connects, not us: its target is checked by name before it is sent.
            check_url(str(request.url), self.policy)
        return transport.handle_request(request)

    def close(self) -> None:
        self._direct.close()
        for transport in self._proxied.values():
            transport.close()


def _pool_limits(limits: httpx.Limits) -> dict[str, Any]:
    return {
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


def _proxy_pool(url: str, backend: GuardedBackend, limits: httpx.Limits) -> httpcore.ConnectionPool:
    proxy = httpx.Proxy(url if "://" in url else f"http://{url}")
    target = httpcore.URL(
        scheme=proxy.url.raw_scheme,
        host=proxy.url.raw_host,
        port=proxy.url.port,
        target=proxy.url.raw_path,
    )
    if proxy.url.scheme in ("socks5", "socks5h"):
        return httpcore.SOCKSProxy(
            proxy_url=target,
            proxy_auth=proxy.raw_auth,
            ssl_context=ssl_context(),
            network_backend=backend,
            **_pool_limits(limits),
        )
    if proxy.url.scheme not in ("http", "https"):
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"proxy scheme {proxy.url.scheme!r} is not supported; use http, https or socks5",
        )
    return httpcore.HTTPProxy(
        proxy_url=target,
        proxy_auth=proxy.raw_auth,
        proxy_headers=proxy.headers.raw,
        ssl_context=ssl_context(),
        network_backend=backend,
        **_pool_limits(limits),
    )


def _environment_proxies() -> dict[str, str]:
    """HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY, as httpx and yt-dlp read them."""
    return {
        scheme: url
        for scheme, url in urllib.request.getproxies().items()
        if scheme in ("http", "https", "all", "no") and url
    }


def guarded_client(
    policy: AddressPolicy,
    *,
    proxy: str | None = None,
    trusted: Iterable[str] = (),
    **client_options: Any,
) -> httpx.Client:
    """A new client whose every connection passes the address policy; the caller closes it."""
    # trust_env=False: httpx would otherwise add transports of its own for proxies it reads.
    return httpx.Client(
        transport=GuardedTransport(policy, proxy, trusted=trusted),
        trust_env=False,
        **client_options,
    )


# Idle clients by key. Kept in a pool, not per thread: the thread executor starts a thread per
# item, so a thread's own client would serve one download and be thrown away, its TCP (and TLS)
# connection with it. httpx has no checkout pool of whole clients; its own pool shares
# connections but not the cookie jar, which must never carry one link's cookies to another.
MAX_IDLE_CLIENTS = 32  # per key; more idle than this are closed (no more run at once)
_idle: dict[Hashable, list[httpx.Client]] = {}
_idle_lock = threading.Lock()


@contextmanager
def borrowed_client(key: Hashable, make: Callable[[], httpx.Client]) -> Iterator[httpx.Client]:
    """A client for `key` that only this caller uses until the block ends: an idle one kept
    from earlier work (its connections reused), else a new one from `make`. Its cookies are
    cleared first: one link's cookies never go with another's requests."""
    with _idle_lock:
        idle = _idle.setdefault(key, [])
        client = idle.pop() if idle else None
    if client is None or client.is_closed:
        client = make()
    client.cookies.clear()
    try:
        yield client
    finally:
        if not client.is_closed:
            with _idle_lock:
                idle = _idle.setdefault(key, [])
                kept = len(idle) < MAX_IDLE_CLIENTS
                if kept:
                    idle.append(client)
            if not kept:
                client.close()


class RequestHook(Protocol):
    """Sees every real HTTP request a provider client makes (uploads and status polls alike)."""

    def before_request(self, provider: str, request: httpx.Request) -> None:
        """Called before sending; may block until the request is allowed."""
        ...

    def after_response(
        self, provider: str, request: httpx.Request, response: httpx.Response
    ) -> None:
        """Called with the response headers (429, Retry-After, rate-limit headers)."""
        ...


class HookedTransport(httpx.BaseTransport):
    """Wraps a transport so that the hook sees each request, retries by tenacity included."""

    def __init__(self, provider: str, hook: RequestHook, inner: httpx.BaseTransport):
        self._provider = provider
        self._hook = hook
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._hook.before_request(self._provider, request)
        response = self._inner.handle_request(request)
        self._hook.after_response(self._provider, request, response)
        return response

    def close(self) -> None:
        self._inner.close()


def provider_client(
    provider: str,
    hook: RequestHook | None = None,
    *,
    policy: AddressPolicy | None = None,
    trusted: Iterable[str] = (),
    transport: httpx.BaseTransport | None = None,
    **client_options: Any,
) -> httpx.Client:
    """A client for a provider's API: guarded (its configured endpoints, `trusted`, may be
    anywhere; where it leads elsewhere, the policy rules), its requests all through `hook`.
    `transport` replaces the network (tests only)."""
    inner = transport or GuardedTransport(policy or AddressPolicy(), trusted=trusted)
    if hook is not None:
        inner = HookedTransport(provider, hook, inner)
    return httpx.Client(transport=inner, trust_env=False, **client_options)


def requests_session(policy: AddressPolicy, proxy: str | None = None) -> requests.Session:
    """A `requests` session (for libraries built on it: youtube-transcript-api) whose every
    connection, proxy exempt, is checked at connect time by the guard yt-dlp runs under."""
    import requests

    class GuardedSession(requests.Session):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            with connections_checked(policy, proxy) as guard:
                try:
                    return super().send(request, **kwargs)
                except requests.ConnectionError as exc:
                    if guard.refusal is not None:
                        raise guard.refusal from exc
                    raise

    return GuardedSession()
