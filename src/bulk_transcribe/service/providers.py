"""Engines and providers as the views need them: which exist, their presets, the model loaded
early, a cloud engine's preflight (balance, price) and where a session's items may run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr

from bulk_transcribe.engines import ENGINES, Engine, create_engine, load_local_engine_early
from bulk_transcribe.engines.access import AccessCheck, AccessProblem, check_access, check_setup
from bulk_transcribe.engines.presets import PRESETS
from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.runner.executors import check_executor
from bulk_transcribe.runner.ratelimit import RateLimitHook
from bulk_transcribe.settings import Settings

__all__ = [
    "ENGINES",
    "PRESETS",
    "AccessCheck",
    "AccessProblem",
    "Engine",
    "check_cloud_access",
    "check_cloud_setup",
    "check_executor",
    "check_local_model",
    "check_speaker_labels",
    "cloud_engine",
    "deapi_balance",
    "engine_names",
    "model_loading_early",
    "preflight",
    "save_in_env_file",
]


def engine_names() -> list[str]:
    return list(ENGINES)


@contextmanager
def model_loading_early(settings: Settings) -> Iterator[Engine | None]:
    """The local engine, its model already loading on a thread (None for cloud engines and
    Ray); closed on the way out. Start it first: the load overlaps everything else."""
    engine = load_local_engine_early(settings)
    try:
        yield engine
    finally:
        if engine is not None:
            engine.close()


def check_speaker_labels(settings: Settings) -> None:
    """Raise a PermanentError saying what to install when speaker labels were asked for with
    a voice encoder this machine lacks: before any item starts, not once per item. A Ray
    cluster's nodes have packages of their own; each worker's warm-up checks there."""
    remote = settings.executor == "ray" and settings.ray_address
    if settings.engine != "local" or not settings.speakers or remote:
        return
    from bulk_transcribe.engines.voice_encoders import require_voice_encoder

    require_voice_encoder(settings.speaker_encoder)
    if settings.speaker_overlap:
        from bulk_transcribe.engines.segmentation import require_segmentation

        require_segmentation(settings.speaker_encoder)


def check_local_model(settings: Settings) -> None:
    """Raise a PermanentError when the local engine's --model is written as a folder that is
    not there: before anything is stored, not once per item. Ray nodes have disks of their
    own (a folder may be there only)."""
    if settings.engine != "local" or (settings.executor == "ray" and settings.ray_address):
        return
    from bulk_transcribe.engines.model_names import check_model_folder

    check_model_folder(settings.model)


def cloud_engine(settings: Settings) -> Engine | None:
    """The session's cloud engine, built before anything is stored so that a missing key or
    an unknown preset stops a start at once (TranscribeError); None for the local engine.
    Its requests count against the provider's shared budget."""
    if settings.engine == "local":
        return None
    return create_engine(settings, RateLimitHook.for_settings(settings))


def preflight(engine: Engine, audio_seconds: float | None) -> list[str]:
    """What the provider says before anything is spent (balance, price estimate); closes the
    engine. Raises TranscribeError: permanent (no credit, key refused) or transient."""
    try:
        return list(engine.preflight(audio_seconds))
    finally:
        engine.close()


def deapi_balance(api_key: str, base_url: str | None) -> str:
    """The DEAPI account's balance in dollars, or why it could not be read; the request goes
    through the provider's shared budget like every other."""
    settings = Settings(
        engine="deapi", deapi_api_key=SecretStr(api_key), deapi_base_url=base_url or None
    )
    limits = RateLimitHook.for_settings(settings)
    try:
        engine = create_engine(settings, limits)
        try:
            return f"${engine.balance():.2f}"
        finally:
            engine.close()
    except TranscribeError as exc:
        return f"unavailable ({exc.message})"
    finally:
        limits.close()


def check_cloud_setup(settings: Settings) -> AccessCheck:
    """Before a session is made: a known provider and a key, where one is needed (no request)."""
    return check_setup(settings)


def check_cloud_access(settings: Settings, audio_seconds: float | None = None) -> AccessCheck:
    """Before any paid work: the cloud engine's key and endpoint tried with one cheap request
    (the model list, or DEAPI's balance), counted in the provider's request budget."""
    return check_access(settings, audio_seconds, RateLimitHook.for_settings(settings))


def save_in_env_file(variable: str, value: str, path: Path = Path(".env")) -> Path:
    """Keep a setting (an API key, a proxy) in the .env file the settings are read from, for
    restarts and the CLI; a new file is readable by its owner only."""
    from dotenv import set_key

    path.touch(mode=0o600, exist_ok=True)
    set_key(str(path), variable, value, quote_mode="always")
    return path.resolve()
