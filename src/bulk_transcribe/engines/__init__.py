"""Speech-to-text engines. Adding one means one module and one line in ENGINES."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from bulk_transcribe.engines.base import Engine, EngineJob, ProgressCallback
from bulk_transcribe.errors import ErrorKind, PermanentError

if TYPE_CHECKING:  # httpx and pydantic load only when an engine needs them
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


def load_local_engine_early(settings: Settings) -> Engine | None:
    """The local engine a run in this process will use, its model already loading on a
    thread; None when items run elsewhere (a cloud API, Ray workers).

    Called as soon as the settings are known, before the rest of the program is imported,
    so the model loads (CTranslate2 reads it with the GIL released) while the inputs are
    read and the session is created: in a short batch the load was on the critical path
    before the first window. Hand the engine to the run and close it afterwards.
    """
    if settings.engine != "local" or settings.executor == "ray":
        return None
    from bulk_transcribe.engines import local_whisper

    engine = local_whisper.create(settings)
    engine.load_in_background()
    return engine


__all__ = [
    "ENGINES",
    "Engine",
    "EngineJob",
    "ProgressCallback",
    "create_engine",
    "load_local_engine_early",
]
