"""Whether a cloud provider takes our key: one cheap request before any paid work."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from bulk_transcribe.engines import ENGINES, create_engine
from bulk_transcribe.engines.presets import PRESETS, default_provider, resolve_provider
from bulk_transcribe.errors import ErrorKind, TranscribeError
from bulk_transcribe.figures import clock_time
from bulk_transcribe.net import RequestHook
from bulk_transcribe.settings import Settings

# The engines that reach a provider through a preset (engines/presets.py): a key and an
# endpoint to check.
PROVIDER_ENGINES = frozenset({"openai", "deapi"})


class AccessProblem(StrEnum):
    MISSING_KEY = "missing_key"  # no key anywhere, and the provider needs one
    REJECTED_KEY = "rejected_key"  # the provider refused the key it was given
    NO_CREDIT = "no_credit"
    UNREACHABLE = "unreachable"  # no answer: network, proxy or base URL
    SETUP = "setup"  # an answer that says the setup is wrong (unknown provider, 404)
    PROVIDER = "provider"  # the provider is busy or failing right now
    UNAVAILABLE = "unavailable"  # asked to wait longer than a run waits (a long Retry-After)


_PROBLEM_OF_KIND = {
    ErrorKind.AUTH: AccessProblem.REJECTED_KEY,
    ErrorKind.QUOTA: AccessProblem.NO_CREDIT,
    ErrorKind.NETWORK: AccessProblem.UNREACHABLE,
    ErrorKind.TIMEOUT: AccessProblem.UNREACHABLE,
    ErrorKind.BLOCKED: AccessProblem.UNREACHABLE,
    ErrorKind.INVALID_INPUT: AccessProblem.SETUP,
    ErrorKind.NOT_FOUND: AccessProblem.SETUP,
    ErrorKind.UNSUPPORTED: AccessProblem.SETUP,
}


@dataclass(frozen=True)
class AccessCheck:
    """What the provider said to one request; `problem` None means the work may start."""

    provider: str  # the preset's name ("openai", "groq", "deapi"...); "local" for no cloud
    key_hint: str = ""  # the environment variable that holds the key
    problem: AccessProblem | None = None
    message: str = ""  # the provider's answer in words, never containing the key
    transient: bool = False  # trying again later may help (busy provider, network)
    notes: tuple[str, ...] = ()  # balance and price estimate, where the provider has them
    models: tuple[str, ...] | None = None  # the provider's model list, where it offers one

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_setup(settings: Settings) -> AccessCheck:
    """What can be told without asking the provider: a known provider, and a key if it needs
    one."""
    if settings.engine == "local":
        return AccessCheck("local")
    if settings.engine not in ENGINES:
        known = ", ".join(sorted(ENGINES))
        message = f"unknown engine {settings.engine!r}; choose from {known}"
        return AccessCheck(settings.engine, "", AccessProblem.SETUP, message)
    if settings.engine not in PROVIDER_ENGINES:  # an engine with no provider to set up
        return AccessCheck(settings.engine)
    name = default_provider(settings).lower()
    preset = PRESETS.get(name)
    hint = preset.key_hint if preset else ""
    try:
        provider = resolve_provider(settings)
    except TranscribeError as exc:
        return AccessCheck(name, hint, AccessProblem.SETUP, exc.message)
    if provider.key_required and not (provider.api_key and provider.api_key.get_secret_value()):
        return AccessCheck(
            name, hint, AccessProblem.MISSING_KEY, f"no API key for {name}: set {hint}"
        )
    return AccessCheck(name, hint)


def check_access(
    settings: Settings,
    audio_seconds: float | None = None,
    request_hook: RequestHook | None = None,
) -> AccessCheck:
    """Try the settings' cloud engine with one request (through `request_hook`, so it counts
    against the provider's budget); a local engine needs no check."""
    setup = check_setup(settings)
    if not setup.ok or settings.engine == "local":
        return setup
    name, hint = setup.provider, setup.key_hint
    try:
        engine = create_engine(settings, request_hook)
    except TranscribeError as exc:
        return _failed(name, hint, exc)
    try:
        notes = tuple(engine.preflight(audio_seconds))
    except TranscribeError as exc:
        if exc.retry_after is not None and exc.retry_after > settings.max_provider_pause_seconds:
            until = clock_time(time.time() + exc.retry_after)
            message = (
                f"{name} is unavailable until {until} (it asked to wait "
                f"{exc.retry_after:,.0f} s): start or resume after then"
            )
            return AccessCheck(name, hint, AccessProblem.UNAVAILABLE, message, transient=False)
        return _failed(name, hint, exc)
    finally:
        engine.close()
    return AccessCheck(name, hint, notes=notes, models=engine.offered_models)


def _failed(name: str, hint: str, exc: TranscribeError) -> AccessCheck:
    problem = _PROBLEM_OF_KIND.get(exc.kind, AccessProblem.PROVIDER)
    return AccessCheck(name, hint, problem, exc.message, transient=exc.transient)
