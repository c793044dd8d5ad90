"""Speech-to-text engines. Adding one means one module and one line in ENGINES."""

from __future__ import annotations

from importlib import import_module

from bulk_transcribe.engines.base import Engine, EngineJob, ProgressCallback
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.net import RequestHook
from bulk_transcribe.settings import Settings

# name -> "module:factory(settings, request_hook)", imported lazily so that a cloud
# engine's SDK loads only when it is used.
ENGINES: dict[str, str] = {
    "local": "bulk_transcribe.engines.local_whisper:create",
    "openai": "bulk_transcribe.engines.openai_api:create",
    "deapi": "bulk_transcribe.engines.deapi:create",
}


def create_engine(settings: Settings, request_hook: RequestHook | None = None) -> Engine:
    """The engine the settings name; cloud engines send every HTTP request via `request_hook`."""
    target = ENGINES.get(settings.engine)
    if target is None:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"unknown engine {settings.engine!r}; choose from {', '.join(sorted(ENGINES))}",
        )
    module_name, factory = target.split(":")
    return getattr(import_module(module_name), factory)(settings, request_hook)


__all__ = ["ENGINES", "Engine", "EngineJob", "ProgressCallback", "create_engine"]
