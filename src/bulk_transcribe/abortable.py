"""Requests that a cancel ends while they are on the wire (an upload sending, an answer awaited).

httpx's synchronous API has no way to cancel a request from outside (only its async API,
through anyio's cancel scopes), and a thread blocked in a socket call cannot be woken from
within. So every connection `net.py` opens is wrapped in an `AbortableStream`: while a call
made for a cancellable item (workscope.current_cancel) blocks on the socket, one watcher
thread shuts the socket down the moment that item's cancel is set. The blocked call returns
at once, raises `Cancelled`, and httpcore throws the connection away; whatever slot the
request held is let go as the exception unwinds. Calls made outside any item are untouched.
A connection carries one request at a time (HTTP/1.1; no client here enables HTTP/2), so
only the cancelled item's request ends.

Libraries that open sockets of their own (yt-dlp) are cut the same way inside
`sockets_cut_on_cancel()`: every socket the thread makes there is watched, found through
Python's audit events since no such library lets a caller reach its sockets.

A request whose answer says what the provider started (a DEAPI job's id) is sent inside
`answer_kept()`: cut off while it sends, never while its answer is awaited, so a cancel
cannot leave a job running, and paid for, that nobody knows the id of.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import struct
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

import httpcore

from bulk_transcribe import workscope
from bulk_transcribe.errors import Cancelled

log = logging.getLogger(__name__)
T = TypeVar("T")

# How often the watcher looks at the cancels of the calls blocked on a socket. It sleeps
# while no such call is waiting, so this costs nothing between requests.
WATCH_SECONDS = 0.05

_answer_kept: ContextVar[bool] = ContextVar("abortable_answer_kept", default=False)


@contextlib.contextmanager
def answer_kept() -> Iterator[None]:
    """Requests sent inside may be cut off while they send, not while their answer comes."""
    token = _answer_kept.set(True)
    try:
        yield
    finally:
        _answer_kept.reset(token)


class _Stoppable(Protocol):
    """What the watcher cuts: a stream, a connecting socket, a thread's sockets."""

    def shut_down(self, sending_only: bool = False) -> None: ...


class _Watcher:
    """One daemon thread per process, polling the cancels of calls blocked on a socket.

    Written by hand: threading.Event has no callbacks and no way to wait on several at once,
    so cancels set anywhere (a stop, a superseded owner) are noticed by looking at them."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._calls: dict[int, tuple[threading.Event, _Stoppable, bool]] = {}
        self._aborted: set[int] = set()
        self._tokens = itertools.count()
        self._started = False

    def watch(
        self,
        cancel: threading.Event,
        stream: _Stoppable,
        sending_only: bool,
    ) -> int:
        with self._condition:
            token = next(self._tokens)
            self._calls[token] = (cancel, stream, sending_only)
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="abort-watcher", daemon=True).start()
            if len(self._calls) == 1:  # the watcher sleeps while no call blocks: wake it
                self._condition.notify_all()
            return token

    def unwatch(self, token: int) -> bool:
        """Stop watching; True when the call was aborted (its socket is shut down)."""
        with self._condition:
            self._calls.pop(token, None)
            if token in self._aborted:
                self._aborted.discard(token)
                return True
            return False

    def _run(self) -> None:
        with self._condition:
            while True:
                while not self._calls:
                    self._condition.wait()
                for token, (cancel, stream, sending_only) in list(self._calls.items()):
                    if cancel.is_set():
                        del self._calls[token]
                        self._aborted.add(token)
                        try:
                            stream.shut_down(sending_only)
                        except Exception:  # the watcher must outlive any one stream
                            log.exception("could not cut off a cancelled request")
                self._condition.wait(WATCH_SECONDS)


_watcher = _Watcher()


def _new_watcher() -> None:
    """A forked child has no watcher thread, and may have copied its lock held: a new one."""
    global _watcher
    _watcher = _Watcher()


os.register_at_fork(after_in_child=_new_watcher)


class _Connecting:
    """A socket still connecting, as the watcher sees it: shut down, its connect() ends at
    once (ECONNRESET) instead of waiting out the connect timeout."""

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def shut_down(self, sending_only: bool = False) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def connecting(sock: socket.socket) -> Iterator[None]:
    """Connect `sock` inside: the current item's cancel cuts the connect short (Cancelled)."""
    cancel = workscope.current_cancel.get()
    if cancel is None:
        yield
        return
    workscope.raise_if_cancelled(cancel)
    token = _watcher.watch(cancel, _Connecting(sock), False)
    try:
        yield
    except BaseException:
        if _watcher.unwatch(token):
            raise Cancelled() from None
        raise
    if _watcher.unwatch(token):  # connected just as the cancel came: cancelled all the same
        raise Cancelled()


class AbortableStream(httpcore.NetworkStream):
    """A connection's stream whose blocking calls end when the current item is cancelled."""

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if _answer_kept.get():  # the request is sent whole: its answer is awaited
            return self._inner.read(max_bytes, timeout)
        return self._call(lambda: self._inner.read(max_bytes, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # A request whose answer names what it started is cut off by closing its sending side
        # alone: when the cut comes just after its last bytes went out, the provider has it
        # whole, and its answer is still read.
        if not buffer:  # h11 ends a sized body with an empty write: the request is whole
            self._inner.write(buffer, timeout)
            return
        keep_answer = _answer_kept.get()
        self._call(lambda: self._inner.write(buffer, timeout), sending_only=keep_answer)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._call(lambda: self._inner.start_tls(ssl_context, server_hostname, timeout))
        return AbortableStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def shut_down(self, sending_only: bool = False) -> None:
        """Wake the call blocked on this socket (from another thread): no more bytes either
        way, and the close that follows resets the connection instead of sending what is
        still queued. `sending_only`: no more bytes out, the answer may still come in."""
        sock = self._inner.get_extra_info("socket")
        if not isinstance(sock, socket.socket):
            return
        if sending_only:
            with contextlib.suppress(OSError):  # already closed: nothing left to stop
                socket.socket.shutdown(sock, socket.SHUT_WR)
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The plain socket's shutdown: an SSLSocket's own would drop its TLS state under
            # the thread still using it.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:  # already closed or reset: nothing left to wake
            pass

    def _call(self, action: Callable[[], T], sending_only: bool = False) -> T:
        cancel = workscope.current_cancel.get()
        if cancel is None:
            return action()
        workscope.raise_if_cancelled(cancel)
        token = _watcher.watch(cancel, self, sending_only)
        try:
            result = action()
        except BaseException:
            if _watcher.unwatch(token):
                raise Cancelled() from None
            raise
        # A read that came back empty because of the shutdown. A write that went out whole
        # before its sending side was closed stands when its answer is kept (a next write
        # would find the cancel first).
        if _watcher.unwatch(token) and not sending_only:
            raise Cancelled()
        return result


class _ThreadSockets:
    """The sockets one thread made inside `sockets_cut_on_cancel`, as the watcher sees them:
    each still open is shut down (a TLS socket's plain shutdown, as above). Held weakly, so
    a socket the library drops is closed as usual; one detached into a TLS socket (fileno
    -1 then) is passed over, its TLS socket being watched in its place."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()  # added on the item's thread, read on the watcher's

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def shut_down(self, sending_only: bool = False) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            if sock.fileno() != -1:
                with contextlib.suppress(OSError):  # closed meanwhile: nothing to wake
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


_in_thread = threading.local()  # .sockets: the _ThreadSockets of the block this thread is in
_hook_lock = threading.Lock()
_hook_installed = False


def _on_audit_event(event: str, args: tuple) -> None:
    # Runs for every audited event of every thread: return at once unless it is ours.
    if event != "socket.__new__" and event != "socket.connect":
        return
    watched: _ThreadSockets | None = getattr(_in_thread, "sockets", None)
    if watched is None:
        return
    if watched.cancel.is_set():
        raise Cancelled()  # a new connection (a library's retry) after the cancel: none
    sock = args[0]
    if isinstance(sock, socket.socket):
        watched.add(sock)


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_on_audit_event)  # process-wide and permanent: installed once
            _hook_installed = True


@contextlib.contextmanager
def sockets_cut_on_cancel() -> Iterator[None]:
    """Inside, every socket this thread makes (a library's own, e.g. yt-dlp's) is shut down
    the moment the current item is cancelled, and the block raises Cancelled instead of the
    library's error for the cut connection. Outside an item, nothing is watched."""
    cancel = workscope.current_cancel.get()
    if cancel is None or getattr(_in_thread, "sockets", None) is not None:
        yield  # no item, or an outer block watches this thread already
        return
    workscope.raise_if_cancelled(cancel)
    _install_hook()
    watched = _ThreadSockets(cancel)
    _in_thread.sockets = watched
    token = _watcher.watch(cancel, watched, False)
    try:
        yield
    except BaseException:
        if _watcher.unwatch(token) or cancel.is_set():
            raise Cancelled() from None
        raise
    finally:
        _in_thread.sockets = None
        _watcher.unwatch(token)
    workscope.raise_if_cancelled(cancel)  # the library took the cut for an answer
