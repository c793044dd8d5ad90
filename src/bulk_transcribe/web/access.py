"""Who may use a shared web app: one team password, kept only as a salted hash, a signed
sign-in token that lasts a working day, and a per-client brake on guessing.

`bulk-transcribe ui` hashes the password before the app starts; the app receives the hash and
a random signing key through its environment, never the password itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

# scrypt's interactive parameters (RFC 7914): about 16 MB and a few tens of ms per check.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SCRYPT_MEMORY = 64 * 1024**2
_SALT_BYTES = 16
_SCHEME = "scrypt"
WORKING_DAY_SECONDS = 12 * 3600  # how long a signed-in browser stays signed in
_TOKEN_SALT = "bulk-transcribe web sign-in"  # separates these tokens from any other use of the key


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MEMORY, dklen=32
    )


def hash_password(password: str) -> str:
    """A self-describing salted hash of `password` (scheme, parameters, salt, digest)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"{_SCHEME}${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(stored: str, attempt: str) -> bool:
    """Whether `attempt` is the password `stored` was made from (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        computed = _scrypt(attempt, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(computed, bytes.fromhex(digest))
    except ValueError:
        return False  # a malformed hash lets nobody in


def new_signing_key() -> str:
    return secrets.token_urlsafe(32)


class SignInTokens:
    """Signed, expiring tokens that say "this browser gave the password" (itsdangerous)."""

    def __init__(self, signing_key: str, max_age: int = WORKING_DAY_SECONDS):
        self._serializer = URLSafeTimedSerializer(signing_key, salt=_TOKEN_SALT)
        self.max_age = max_age

    def issue(self) -> str:
        # A random nonce: two sign-ins never share a token.
        return self._serializer.dumps({"nonce": secrets.token_hex(8)})

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        try:
            self._serializer.loads(token, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is one too
            return False
        return True


@dataclass
class _Failures:
    count: int
    last: float


class AttemptThrottle:
    """After a few wrong passwords from one client, each next attempt waits longer (doubling,
    up to a cap). It never sleeps: an attempt that comes too early is refused at once with the
    wait left, so one guesser never holds up anyone else. Lives in the server process."""

    def __init__(
        self,
        free_failures: int = 3,
        max_wait: float = 300.0,
        forget_after: float = 3600.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free_failures = free_failures
        self.max_wait = max_wait
        self.forget_after = forget_after
        self.max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def wait_left(self, client: str) -> float:
        """Seconds `client` must still wait before its next attempt is checked (0: go ahead)."""
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            failures = self._failures.get(client)
            if failures is None or failures.count < self.free_failures:
                return 0.0
            wait = min(self.max_wait, 2.0 ** (failures.count - self.free_failures + 1))
            return max(0.0, failures.last + wait - now)

    def failed(self, client: str) -> None:
        with self._lock:
            now = self._clock()
            failures = self._failures.pop(client, None) or _Failures(0, now)
            self._failures[client] = _Failures(failures.count + 1, now)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _forget_old(self, now: float) -> None:
        # Oldest first: stop at the first one still remembered.
        while self._failures:
            oldest = next(iter(self._failures.values()))
            if now - oldest.last < self.forget_after:
                return
            self._failures.popitem(last=False)
