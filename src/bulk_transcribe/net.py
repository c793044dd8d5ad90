"""HTTP clients for providers. Every request passes one hook: the rate limiter's way in."""

from __future__ import annotations

from typing import Any, Protocol

import httpx


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

    def __init__(self, provider: str, hook: RequestHook, inner: httpx.BaseTransport | None = None):
        self._provider = provider
        self._hook = hook
        self._inner = inner or httpx.HTTPTransport()

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
    transport: httpx.BaseTransport | None = None,
    **client_options: Any,
) -> httpx.Client:
    """An httpx.Client whose requests all go through `hook` (when given) for `provider`."""
    if hook is not None:
        transport = HookedTransport(provider, hook, transport)
    return httpx.Client(transport=transport, **client_options)
