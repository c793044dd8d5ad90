"""The Settings panel: engine, model, language, formats, rate limit and parallel processing."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import streamlit as st
from pydantic import SecretStr, ValidationError

from bulk_transcribe.service.keys import visitor_keys_only
from bulk_transcribe.service.providers import ENGINES, PRESETS
from bulk_transcribe.service.research import chat_configured
from bulk_transcribe.settings import (
    ALL_FORMATS,
    DEFAULT_MODEL,
    MAX_CONCURRENCY,
    MIN_CONCURRENCY,
    SPEAKER_ENCODERS,
    Settings,
    describe_invalid,
)
from bulk_transcribe.web.panels.cloud_setup import (
    SECRET_PREFIX,
    model_options,
    render_cloud_setup,
)
from bulk_transcribe.web.panels.widget_defaults import remembered_select
from bulk_transcribe.web.wording import model_label, rpm_label

log = logging.getLogger(__name__)

PARALLEL_LABEL = "Enable parallel processing (experimental)"
# The user's plan words it this way; the monitor below shows every item in flight.
PARALLEL_HELP = (
    "Process multiple videos simultaneously. May affect progress display. "
    "Turning it off during a run makes the session sequential at once."
)
CONCURRENCY_LABEL = "Items at once"
HINTS_LABEL = "Names and terms (vocabulary hints)"
PREFERENCES_FILE = "web_preferences.json"
# Offered besides the bundled model (faster-whisper downloads these once); any other name
# can be typed in.
OTHER_MODELS = ("tiny.en", "base.en", "small.en", "medium.en", "large-v3", "large-v3-turbo")
ENGINE_LABELS = {
    "local": "Local (faster-whisper, offline)",
    "openai": "OpenAI-compatible API",
    "deapi": "DEAPI",
}
LOCAL_MODELS = (DEFAULT_MODEL, *OTHER_MODELS)
CLOUD_MODEL_KEY = "pref_cloud_model"
_CHANGED_KEY = "settings_changed_by_user"
SPEAKER_CHOICES = ["off", "auto", "2", "3", "4", "5", "6"]
ENCODER_LABELS = {"auto": "Auto", "campplus": "CAM++", "resemblyzer": "Resemblyzer"}
EXECUTOR_LABELS = {"threads": "This computer", "ray": "Ray cluster"}


@dataclass
class RunChoices:
    """What the user picked in the panel; everything here may be remembered on disk."""

    engine: str = "local"
    model: str = DEFAULT_MODEL
    language: str = "auto"
    captions: bool = True
    formats: tuple[str, ...] = ALL_FORMATS
    rpm: int = 0  # 0: the provider's preset
    parallel: bool = False
    concurrency: int = 3  # used only when parallel is on
    force: bool = False  # transcribe again what an earlier session already did
    speakers: str = "off"  # off, auto, or a number: speaker labels (local engine)
    speaker_encoder: str = "auto"  # the voice encoder that tells speakers apart
    speaker_overlap: bool = False  # turns by a segmentation model that hears two at once
    executor: str = "threads"  # or "ray": the items run on a Ray cluster
    ray_address: str = ""  # empty: a local Ray instance
    summarize: bool = False  # summary, key points and chapters in each note (chat model)
    provider: str = ""  # a cloud engine's preset (engines/presets.py); empty: its default
    api_base: str = ""  # empty: the preset's base URL
    hints: str = ""  # names and terms to spell as given (the CLI's --prompt); empty: none

    @property
    def effective_concurrency(self) -> int:
        return self.concurrency if self.parallel else 1


def build_settings(
    choices: RunChoices, base: Settings, secrets: dict[str, str] | None = None
) -> Settings:
    """Settings for a new session; ValueError with a readable message when a choice is bad."""
    update: dict[str, Any] = {
        "engine": choices.engine,
        "model": choices.model.strip() or DEFAULT_MODEL,
        "language": choices.language,
        "captions": choices.captions,
        "formats": choices.formats,
        "rpm": choices.rpm or None,
        "concurrency": choices.effective_concurrency,
        "force": choices.force,
        "speakers": choices.speakers,
        "speaker_encoder": choices.speaker_encoder,
        "speaker_overlap": choices.speaker_overlap,
        "executor": choices.executor,
        "ray_address": choices.ray_address.strip() or None,
        # Only with a chat model configured: otherwise the session could not start.
        "summarize": choices.summarize and chat_configured(base),
        # An empty field keeps a prompt set in the environment.
        "prompt": " ".join(choices.hints.split()) or base.prompt,
    }
    if base.public_addresses_only:
        # A shared app's jobs hand the cluster their settings, the server's keys included:
        # only the cluster whoever runs the server named (BULK_TRANSCRIBE_RAY_ADDRESS).
        update["ray_address"] = base.ray_address
    if choices.engine != "local" and choices.provider:
        update["provider"] = choices.provider
    if choices.engine != "local" and choices.api_base.strip():
        base_field = "deapi_base_url" if choices.engine == "deapi" else "api_base"
        update[base_field] = choices.api_base.strip()
    for name, value in (secrets or {}).items():
        if value:
            update[name] = SecretStr(value)
    data = {**base.model_dump(), **update}
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ValueError(describe_invalid(exc)) from exc
    return visitor_keys_only(settings, secrets or {}, server=base)


def load_preferences(folder: Path) -> RunChoices:
    path = folder / PREFERENCES_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(RunChoices)}
        choices = RunChoices(**{k: v for k, v in stored.items() if k in known})
        # No formats is never a choice worth keeping (Start stays disabled): every format.
        choices.formats = tuple(choices.formats) or ALL_FORMATS
        return choices
    except FileNotFoundError:
        return RunChoices()
    except (ValueError, TypeError) as exc:  # a hand-edited or older file: start afresh
        log.warning("ignoring unreadable %s: %s", path, exc)
        return RunChoices()


def save_preferences(folder: Path, choices: RunChoices) -> None:
    """Remember the choices for the next visit. Keys are not part of RunChoices: never saved.

    An empty list of formats is not saved: the file is the first view of every new tab, and
    one tab's cleared (or, in a redraw, reset) formats would disable Start in all of them.
    """
    remembered = asdict(choices)
    if not choices.formats:
        remembered["formats"] = list(load_preferences(folder).formats)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PREFERENCES_FILE).write_text(json.dumps(remembered, indent=2), "utf-8")


def secrets() -> dict[str, str]:
    """API keys typed in this browser session (never written anywhere)."""
    return {
        name: st.session_state.get(SECRET_PREFIX + name, "")
        for name in ("openai_api_key", "deapi_api_key")
    }


def note_change() -> None:
    """A settings widget's on_change: its user changed it, so the choices are saved.

    Only then. A redraw nobody asked for (another tab's change, a rerun started by the live
    view) may hand back widget values reset to their empty defaults (Streamlit #10114: after
    st.rerun(), a widget's returned value can differ from the one it shows); saved, an empty
    list of formats reached every new tab, whose Start then stayed disabled.
    """
    st.session_state[_CHANGED_KEY] = True


def render_parallel_controls(saved: RunChoices) -> tuple[bool, int]:
    """The parallel switch and the slider: the two settings a running session follows live."""
    parallel_col, slider_col = st.columns([1.3, 1])  # the plan's label whole at 1024 px
    parallel = parallel_col.checkbox(
        PARALLEL_LABEL,
        value=saved.parallel,
        key="pref_parallel",
        on_change=note_change,
        help=PARALLEL_HELP,
    )
    concurrency = slider_col.slider(
        CONCURRENCY_LABEL,
        min_value=MIN_CONCURRENCY,
        max_value=MAX_CONCURRENCY,
        value=min(max(saved.concurrency, MIN_CONCURRENCY), MAX_CONCURRENCY),
        key="pref_concurrency",
        on_change=note_change,
        disabled=not parallel,
        help="How many items are fetched and transcribed at the same time (1 to 10). "
        "Ignored while parallel processing is off.",
    )
    return bool(parallel), int(concurrency)


def render_settings_panel(
    folder: Path, *, live_parallel: bool = True, base: Settings | None = None
) -> RunChoices:
    """Draw the panel; the choices, remembered for the next visit.

    With `live_parallel` False the parallel switch and slider are drawn elsewhere (next to a
    running session, which follows them live) and only read here.
    """
    saved = load_preferences(folder)  # each widget's default (widget_defaults.py)

    engine_col, model_col, language_col = st.columns([1.2, 1, 0.7])
    engines = [name for name in ENGINE_LABELS if name in ENGINES] + sorted(
        set(ENGINES) - set(ENGINE_LABELS)
    )
    engine = remembered_select(
        engine_col,
        "Engine",
        engines,
        saved.engine,
        "pref_engine",
        on_change=note_change,
        format_func=lambda name: ENGINE_LABELS.get(name, name),
        help="Local runs offline on this computer; cloud engines need an API key.",
    )
    # Drawn before the model, whose list comes from the provider set up here.
    cloud = render_cloud_setup(engine, saved, note_change) if engine != "local" else None
    models, model_key, chosen = _model_choices(
        model_options(engine, cloud, base or Settings()), saved
    )
    model = model_col.selectbox(
        "Model",
        models,
        index=models.index(chosen),
        key=model_key,
        on_change=note_change,
        accept_new_options=True,
        format_func=model_label,
        help=f"{model_label(DEFAULT_MODEL)} works without internet. Or type a faster-whisper "
        "model name, a local model folder, or the provider's model for cloud engines.",
    )
    language = language_col.text_input(
        "Language",
        value=saved.language,
        key="pref_language",
        on_change=note_change,
        help="A code such as en or de, or auto to detect.",
    )

    formats_col, rpm_col = st.columns([2, 1])
    formats = formats_col.multiselect(
        "Output formats",
        ALL_FORMATS,
        default=list(saved.formats),
        key="pref_formats",
        on_change=note_change,
        help="Markdown with YAML front matter, subtitles (SRT, VTT), JSON and plain text.",
    )
    rpm = rpm_col.number_input(
        "Requests per minute limit",
        min_value=0,
        max_value=10_000,
        step=10,
        value=min(max(int(saved.rpm), 0), 10_000),
        key="pref_rpm",
        on_change=note_change,
        help="Cap on provider requests per minute across all workers. "
        "0 keeps the provider's default.",
    )
    rpm_col.caption(f"Limit: {rpm_label(int(rpm), engine)}")
    # The two switches stacked in one column and the two narrow selects side by side in the
    # other: laid out in a row of four, their labels were cut short on a 1024 px laptop.
    switches_col, speaker_area = st.columns([1, 1])
    speakers_col, encoder_col = speaker_area.columns(2)
    captions = switches_col.checkbox(
        "Use captions first",
        value=saved.captions,
        key="pref_captions",
        on_change=note_change,
        help="When a YouTube video has captions, use them instead of speech-to-text.",
    )
    force = switches_col.checkbox(
        "Transcribe again if done before",
        value=saved.force,
        key="pref_force",
        on_change=note_change,
        help="Off: items an earlier session already transcribed are skipped, and their "
        "transcripts linked. On: they are transcribed again (and paid for again with a cloud "
        "provider).",
    )

    speakers = remembered_select(
        speakers_col,
        "Speaker labels",
        SPEAKER_CHOICES,
        saved.speakers,
        "pref_speakers",
        on_change=note_change,
        help="Label who speaks (Speaker 1, 2, ...) with the local engine: auto finds how many "
        "speakers there are. Needs the optional speaker model (bulk-transcribe[speakers]).",
    )
    speaker_encoder = _render_speaker_encoder(encoder_col, saved, enabled=speakers != "off")
    speaker_overlap = speaker_area.checkbox(
        "Voices that overlap (meetings)",
        value=saved.speaker_overlap,
        key="pref_speaker_overlap",
        on_change=note_change,
        disabled=speakers == "off" or speaker_encoder == "resemblyzer",
        help="Find the turns with a segmentation model that hears two voices at once (CAM++ "
        "only): better on real meetings and crosstalk, worse on clean turns of similar "
        "voices, about twice the time. Each note records how its turns were found.",
    )

    hints = st.text_input(
        HINTS_LABEL,
        value=saved.hints,
        key="pref_hints",
        on_change=note_change,
        placeholder="e.g. Nguyen, Kubernetes, Sweynheim",
        help="Names and terms the transcript should spell as given, separated by commas. "
        "Every item gets them; a sheet's hints column adds each row's own.",
    )

    if live_parallel:
        parallel, concurrency = render_parallel_controls(saved)
    else:
        parallel = bool(st.session_state.get("pref_parallel", saved.parallel))
        concurrency = int(st.session_state.get("pref_concurrency", saved.concurrency))
    executor, ray_address = _render_executor(saved, base or Settings())
    summarize = _render_summaries(saved)

    choices = RunChoices(
        engine=engine,
        model=model,
        language=language,
        captions=captions,
        formats=tuple(formats),
        rpm=int(rpm),
        parallel=parallel,
        concurrency=int(concurrency),
        force=force,
        speakers=str(speakers),
        speaker_encoder=speaker_encoder,
        speaker_overlap=bool(speaker_overlap) and speaker_encoder != "resemblyzer",
        executor=executor,
        ray_address=ray_address,
        summarize=summarize,
        # Kept while a local engine hides them, for the next switch back to the cloud.
        provider=cloud.provider if cloud else saved.provider,
        api_base=cloud.api_base if cloud else saved.api_base,
        hints=hints,
    )
    if st.session_state.pop(_CHANGED_KEY, False) and choices != saved:
        save_preferences(folder, choices)
    return choices


def _render_speaker_encoder(column: Any, saved: RunChoices, *, enabled: bool) -> str:
    chosen = remembered_select(
        column,
        "Voice encoder",
        list(SPEAKER_ENCODERS),
        saved.speaker_encoder,
        "pref_speaker_encoder",
        on_change=note_change,
        disabled=not enabled,
        format_func=ENCODER_LABELS.__getitem__,
        help="What tells the speakers apart. Auto: CAM++ where it is installed (it separates "
        "voices better), else Resemblyzer. Each note records the one used.",
    )
    return str(chosen)


def _render_summaries(saved: RunChoices) -> bool:
    available = chat_configured(Settings())
    chosen = st.checkbox(
        "Summaries and chapters",
        value=saved.summarize,
        key="pref_summarize",
        on_change=note_change,
        disabled=not available,
        help="A short summary, key points and chapters linked to their moments in each note, "
        "written by a chat model after the item is transcribed; a failed summary never fails "
        "the item."
        + ("" if available else " Set BULK_TRANSCRIBE_CHAT_API_BASE and _CHAT_MODEL first."),
    )
    return bool(chosen) and available


def _render_executor(saved: RunChoices, base: Settings) -> tuple[str, str]:
    executor_col, address_col = st.columns([1, 1])
    executor = remembered_select(
        executor_col,
        "Run on",
        list(EXECUTOR_LABELS),
        saved.executor,
        "pref_executor",
        on_change=note_change,
        format_func=EXECUTOR_LABELS.__getitem__,
        help="A Ray cluster spreads a large batch over many machines (needs "
        "pip install 'bulk-transcribe[ray]'); outputs still come back here.",
    )
    if base.public_addresses_only:  # a shared app: the operator's cluster only
        address_col.text_input(
            "Ray cluster address",
            value=base.ray_address or "",
            disabled=True,
            help="Set by whoever runs this shared app (BULK_TRANSCRIBE_RAY_ADDRESS); empty "
            "starts Ray on its server.",
        )
        return executor, base.ray_address or ""
    address = address_col.text_input(
        "Ray cluster address",
        value=saved.ray_address,
        key="pref_ray_address",
        on_change=note_change,
        disabled=executor != "ray",
        help="host:port of the cluster's head node; empty starts Ray on this computer.",
    )
    return executor, address


def _model_choices(offered: list[str] | None, saved: RunChoices) -> tuple[list[str], str, str]:
    """The model list for the engine, the widget key that holds the choice, and the choice
    (the widget's default); a choice only the other kind of engine knows (a Whisper size for
    a cloud API, a cloud model for faster-whisper) is dropped. A cloud engine's model has a
    widget of its own: a browser still showing a local model then has nothing to send back
    into the cloud list."""
    cloud_models = {preset.model for preset in PRESETS.values()}
    if offered is None:  # local
        chosen = st.session_state.get("pref_model", saved.model)
        if chosen in cloud_models or not chosen:
            st.session_state.pop("pref_model", None)
            chosen = saved.model if saved.model not in cloud_models else DEFAULT_MODEL
        return list(dict.fromkeys([DEFAULT_MODEL, chosen, *OTHER_MODELS])), "pref_model", chosen

    def usable(name: str) -> bool:
        return bool(name) and name not in LOCAL_MODELS and not name.startswith("bundled:")

    chosen = st.session_state.get(CLOUD_MODEL_KEY, "")
    if not usable(chosen):
        st.session_state.pop(CLOUD_MODEL_KEY, None)
        chosen = saved.model if usable(saved.model) else offered[0]
    return list(dict.fromkeys([*offered, chosen])), CLOUD_MODEL_KEY, chosen
