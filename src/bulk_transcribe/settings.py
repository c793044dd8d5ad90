"""One settings object, read from CLI flags, the environment (BULK_TRANSCRIBE_*) and `.env`.

Its fields come in groups, one class each, so a layer can say which part it reads: where
output goes (OutputSettings), how speech becomes text (EngineSettings), how a run is paced
and limited (RunSettings), where media comes from (SourceSettings), and finding videos
(ResearchSettings). `Settings` is all of them: the object the views build and the store keeps.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bulk_transcribe.redact import redact_url

ALL_FORMATS = ("md", "srt", "vtt", "json", "txt")
TIMED_FORMATS = frozenset({"md", "srt", "vtt", "json"})  # every format but plain text
DEFAULT_MODEL = "bundled:tiny.en"
# Windows per model batch on the CPU (on a GPU this default becomes 16). On the CPU a batch
# holds windows of one length only, encoded one by one and decoded together (window_batches):
# 15 files of real speech took 10 % less time in batches of up to 4 than one window at a
# time (six alternating rounds, the same words), with a batch per core.
DEFAULT_BATCH_SIZE = 4
MIN_CONCURRENCY = 1
MAX_CONCURRENCY = 10
# The voice encoders speaker labels can use (engines/voice_encoders.py); auto: CAM++ where
# it is installed, else Resemblyzer.
SPEAKER_ENCODERS = ("auto", "campplus", "resemblyzer")
REDACTED_PASSWORD = "***"  # stands for a password that was never stored


class OutputSettings(BaseModel):
    """Where sessions, their files and the database go, and which files are written."""

    out_dir: Path = Path("output")
    db_path: Path | None = None  # default: <out_dir>/bulk_transcribe.db
    formats: tuple[str, ...] = ("md", "srt", "vtt", "json", "txt")

    @field_validator("formats", mode="before")
    @classmethod
    def _parse_formats(cls, value: Any) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else list(value)
        formats = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in items if f.strip()))
        unknown = [f for f in formats if f not in ALL_FORMATS]
        if unknown:
            raise ValueError(
                f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(ALL_FORMATS)}"
            )
        if not formats:
            raise ValueError(f"choose at least one format from {', '.join(ALL_FORMATS)}")
        return formats

    @property
    def database(self) -> Path:
        return self.db_path or self.out_dir / "bulk_transcribe.db"


class EngineSettings(BaseModel):
    """How speech becomes text: the engine, its model and decoding, and a cloud provider."""

    engine: str = "local"
    model: str = DEFAULT_MODEL
    language: str | None = None  # None: detect
    # Local decoding (faster-whisper); recorded in each note's frontmatter.
    beam_size: int = Field(default=2, ge=1, le=10)
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=64)
    compute_type: str = "int8"
    device: str = "cpu"  # cpu, cuda, or auto (cuda when a GPU is there)
    # Vocabulary hints for every item (a sheet's hints column adds per-item ones).
    prompt: str | None = None
    hotwords: str | None = None
    # Speaker labels (needs the `speakers` extra): None off, "auto" finds the count, or N.
    speakers: int | str | None = None
    speaker_encoder: str = "auto"  # one of SPEAKER_ENCODERS
    # Turns from a speaker segmentation model that hears two voices at once (CAM++ only):
    # better on real meetings and crosstalk, worse on clean turns of similar voices.
    speaker_overlap: bool = False

    # Cloud engines (OpenAI-compatible, DEAPI). Keys are secrets: never stored or shown.
    provider: str | None = None  # preset name, e.g. "openai", "groq", "deapi"
    api_base: str | None = None
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "openai_api_key", "OPENAI_API_KEY", "BULK_TRANSCRIBE_OPENAI_API_KEY"
        ),
    )
    deapi_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "deapi_api_key", "DEAPI_API_KEY", "BULK_TRANSCRIBE_DEAPI_API_KEY"
        ),
    )
    deapi_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "deapi_base_url", "DEAPI_BASE_URL", "BULK_TRANSCRIBE_DEAPI_BASE_URL"
        ),
    )
    groq_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "groq_api_key", "GROQ_API_KEY", "BULK_TRANSCRIBE_GROQ_API_KEY"
        ),
    )
    upload_limit_mb: float | None = Field(default=None, gt=0)  # None: the provider preset's
    rpm: int | None = Field(default=None, ge=1)  # requests per minute; None: provider preset

    @field_validator("device", mode="before")
    @classmethod
    def _known_device(cls, value: Any) -> str:
        device = str(value or "cpu").strip().lower()
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"unknown device {value!r}; choose auto, cpu or cuda")
        return device

    @field_validator("speakers", mode="before")
    @classmethod
    def _parse_speakers(cls, value: Any) -> int | str | None:
        text = "" if value is None else str(value).strip().lower()
        if text in ("", "off", "none", "no", "0", "false"):
            return None
        if text == "auto":
            return "auto"
        if text.isdigit() and 1 <= int(text) <= 20:
            return int(text)
        raise ValueError(f"speakers must be auto or a number from 1 to 20, not {value!r}")

    @field_validator("speaker_encoder", mode="before")
    @classmethod
    def _known_speaker_encoder(cls, value: Any) -> str:
        name = str(value or "auto").strip().lower().replace("cam++", "campplus")
        if name not in SPEAKER_ENCODERS:
            raise ValueError(
                f"unknown speaker encoder {value!r}; choose {', '.join(SPEAKER_ENCODERS)}"
            )
        return name

    @field_validator("language", mode="before")
    @classmethod
    def _parse_language(cls, value: Any) -> str | None:
        if value is None or str(value).strip().lower() in ("", "auto"):
            return None
        code = str(value).strip().lower()
        if not re.fullmatch(r"[a-z]{2,3}(?:[-_][a-z0-9]{2,4})?", code):  # en, haw, pt-br
            raise ValueError(  # the value is not quoted: settings errors never show one
                "not a language code: give one such as en, de or pt (ISO 639), or auto to detect it"
            )
        return _speech_language(code)


# Country codes often given for the language spoken there, which Whisper would refuse.
_COUNTRY_CODES = dict(
    jp="ja", cn="zh", kr="ko", gr="el", dk="da", cz="cs", ua="uk", iw="he", vn="vi", se="sv"
)


def _speech_language(code: str) -> str:
    """`code` as the speech engines take it: one of Whisper's languages, a region dropped
    (pt-br is pt: Whisper and the OpenAI API know no regions, and refuse such a code on every
    item); ValueError, with the likely meant code, for one Whisper does not know."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # Whisper's own list; no public one

    language = re.split(r"[-_]", code)[0]
    if language in _LANGUAGE_CODES:
        return language
    meant = _COUNTRY_CODES.get(language)
    hint = f" (did you mean {meant}?)" if meant else ""
    raise ValueError(
        f"not a language Whisper knows{hint}: give one such as en, de or pt (ISO 639), or auto "
        "to detect it"
    )


class RunSettings(BaseModel):
    """How a run goes: items at once, where they run, retries, limits and time limits."""

    concurrency: int = Field(default=1, ge=MIN_CONCURRENCY, le=MAX_CONCURRENCY)
    # Where the work runs: threads of this process, or a Ray cluster (`pip install
    # 'bulk-transcribe[ray]'`); no address starts a local Ray instance.
    executor: Literal["threads", "ray"] = "threads"
    ray_address: str | None = None
    max_retries: int = Field(default=2, ge=0, le=10)
    force: bool = False  # transcribe again even if an earlier session already did
    # Parallel processing: limits, adapting and timeouts.
    rate_window_seconds: float = Field(default=60.0, gt=0)  # benchmarks scale time down
    # The machine-wide request budgets every process shares; None: in the user's cache folder.
    rate_limit_db: Path | None = None
    quiet_seconds: float = Field(default=60.0, gt=0)  # trouble-free time before climbing back
    # A provider asking for a longer pause (Retry-After) is not waited for: the run ends and
    # says when to resume. Also the longest pause kept in the shared budget file.
    max_provider_pause_seconds: float = Field(default=300.0, gt=0)
    # Memory a run may add above its process's own baseline after warm-up (model loaded).
    memory_budget_mb: float = Field(default=2048.0, gt=0)
    min_free_disk_mb: float = Field(default=500.0, ge=0)
    item_timeout_seconds: float = Field(default=600.0, gt=0)  # plus the per-audio part below
    item_timeout_per_audio_second: float = Field(default=10.0, ge=0)


class SourceSettings(BaseModel):
    """Where media comes from: downloads, the address policy, YouTube and podcast feeds."""

    download_max_bytes: int = 4 * 1024**3
    http_timeout: float = 30.0
    # A download that receives under 1 KB in this many seconds has stalled (a trickling
    # server must not hold a batch); separate from the item's own time limit.
    download_stall_seconds: float = Field(default=60.0, gt=0)
    cache_max_mb: float = Field(default=5000.0, ge=0)  # downloads kept for resumes; LRU beyond
    # Links may point at this machine (loopback) but not at private or link-local networks
    # (routers, cloud metadata services) unless the user allows it.
    allow_private_addresses: bool = False
    # Set by the web app when it is shared (it listens beyond loopback, or has a password):
    # then no link may reach this machine or its networks, whatever the user allowed, and no
    # entry may name a file of the server. Never stored with a session.
    public_addresses_only: bool = False

    # YouTube and podcasts.
    captions: bool = True  # use captions when a video has them, before any speech-to-text
    caption_languages: tuple[str, ...] = ()  # preference list; empty: video language, then en
    cookies_file: Path | None = None
    proxy: str | None = None
    limit: int | None = Field(default=None, ge=1)  # videos per playlist or channel
    latest: int | None = Field(default=None, ge=1)  # episodes per podcast feed
    date_after: date | None = None  # keep videos and episodes published on or after this day
    date_before: date | None = None  # ... and on or before this day
    youtube_pace_seconds: float = Field(default=2.0, ge=0)  # between requests to YouTube

    @field_validator("date_after", "date_before", mode="before")
    @classmethod
    def _parse_day(cls, value: Any) -> Any:
        # yt-dlp users write 20240131; pydantic would read a bare number as a Unix timestamp.
        if isinstance(value, str | int) and re.fullmatch(r"\d{8}", str(value).strip()):
            text = str(value).strip()
            return f"{text[:4]}-{text[4:6]}-{text[6:]}"
        return value or None


class ResearchSettings(BaseModel):
    """Finding videos and the chat model: YouTube search, and the chat model that plans,
    scores, summarises and answers."""

    # Finding videos (research/): the YouTube Data API when a key is set, else yt-dlp search;
    # an OpenAI-compatible chat model, when configured, plans queries and scores relevance.
    youtube_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "youtube_api_key", "YOUTUBE_API_KEY", "BULK_TRANSCRIBE_YOUTUBE_API_KEY"
        ),
    )
    youtube_api_base: str = "https://www.googleapis.com/youtube/v3"
    chat_api_base: str | None = None  # e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1
    chat_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "chat_api_key", "BULK_TRANSCRIBE_CHAT_API_KEY", "OPENROUTER_API_KEY"
        ),
    )
    chat_model: str | None = None  # planning and relevance need one; unset: both are off
    chat_timeout_seconds: float = Field(default=60.0, gt=0)
    chat_rpm: int | None = Field(default=None, ge=1)  # chat requests per minute; None: learnt
    # Summaries, key points and chapters of each transcript (opt-in; needs the chat model).
    summarize: bool = False
    summary_part_chars: int = Field(default=12_000, ge=1_000)  # transcript text per request
    chat_input_price: float | None = Field(default=None, ge=0)  # USD per million tokens
    chat_output_price: float | None = Field(default=None, ge=0)


class WebSettings(BaseModel):
    """The shared web app's sign-in."""

    # The shared web app's password (`bulk-transcribe ui` beyond loopback). Never stored or
    # shown: `ui` hands the app only a salted hash of it and a key that signs sign-ins.
    ui_password: SecretStr | None = None
    ui_password_hash: SecretStr | None = None
    ui_signing_key: SecretStr | None = None


class Settings(
    OutputSettings,
    EngineSettings,
    RunSettings,
    SourceSettings,
    ResearchSettings,
    WebSettings,
    BaseSettings,
):
    """Every setting: read from the environment (BULK_TRANSCRIBE_*) and `.env`, given by
    CLI flags or the web app. An unknown engine name is refused when the engine is made
    (engines.create_engine), so this module needs no engine registry."""

    model_config = SettingsConfigDict(
        env_prefix="BULK_TRANSCRIBE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    @property
    def shows_times(self) -> bool:
        """Whether an output shows when things were said (speaker turns need word times too)."""
        return bool(self.speakers) or any(f in TIMED_FORMATS for f in self.formats)

    def public_dict(self) -> dict[str, Any]:
        """What may be stored in the manifest and the database: nothing secret."""
        data = self.model_dump(
            mode="json",
            exclude={
                "openai_api_key",
                "deapi_api_key",
                "groq_api_key",
                "public_addresses_only",
                "ui_password",
                "ui_password_hash",
                "ui_signing_key",
            },
        )
        for name in ("proxy", "api_base", "deapi_base_url", "ray_address"):
            if data.get(name):
                data[name] = redact_url(data[name])
        return {k: v for k, v in data.items() if "key" not in k and "token" not in k}


def redact_credentials(url: str) -> str:
    """A URL without its password (proxies carry them as user:password@host)."""
    return redact_url(url)


def describe_invalid(exc: ValidationError) -> str:
    """Settings that do not validate, in one line: each one's name and what is wrong, never
    its value (pydantic's own message quotes it, and it may be a key put in the wrong place)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
    )
