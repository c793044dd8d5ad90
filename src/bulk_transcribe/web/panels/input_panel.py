"""The Input panel: pasted links and uploaded lists or sheets, checked before anything runs."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.media import MEDIA_EXTENSIONS
from bulk_transcribe.models import Entry, ItemSpec, SourceType
from bulk_transcribe.plurals import counted
from bulk_transcribe.service.inputs import (
    ColumnMapping,
    IngestResult,
    UploadedMedia,
    is_collection,
    keep_uploaded_media,
    read_inputs,
    read_table,
    sheet_mapping,
    with_found_header,
    with_uploaded_media,
)
from bulk_transcribe.web.wording import web_advice

UPLOAD_TYPES = ["txt", "csv", "tsv", "xlsx"]
SHEET_SUFFIXES = (".csv", ".tsv", ".xlsx")
PASTED_NAME = "pasted.txt"
AUTOMATIC = "(automatic)"
PREVIEW_ROWS = 8
_PASTED_KEY = "input_pasted"  # kept across pages
_BOX_KEY = "input_pasted_box"  # the widget's own state
_KEPT_MEDIA_KEY = "input_kept_media"
_TYPE_LABELS = {
    SourceType.YOUTUBE: "YouTube",
    SourceType.HTTP_MEDIA: "media links",
    SourceType.LOCAL_FILE: "local files",
    SourceType.PODCAST_FEED: "podcast feeds",
    SourceType.WEB_PAGE: "web pages",
}


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes

    @property
    def is_sheet(self) -> bool:
        return Path(self.name).suffix.lower() in SHEET_SUFFIXES

    @property
    def readable(self) -> bool:
        """Whether this can be a list or a sheet at all: a workbook is a zip, anything else
        must be text. Catches images, media and archives renamed .csv or .txt before a
        preview of garbage is shown."""
        if Path(self.name).suffix.lower() == ".xlsx":
            return self.data[:4] == ZIP_MAGIC
        return not looks_binary(self.data)


ZIP_MAGIC = b"PK\x03\x04"
_SAMPLE_BYTES = 8192
# Control characters other than tab, newline, form feed and carriage return.
_CONTROL = bytes(range(32)).translate(None, b"\t\n\x0c\r")


def looks_binary(data: bytes) -> bool:
    """True for data no text editor would show as text: NULs (outside UTF-16, which has a
    byte-order mark) or many control characters in the first few kilobytes."""
    sample = data[:_SAMPLE_BYTES]
    if not sample or sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(sample.count(bytes([c])) for c in _CONTROL)
    return controls / len(sample) > 0.05


@dataclass(frozen=True)
class SheetPreview:
    table_name: str
    headers: list[str]
    rows: list[list[str]]
    row_count: int
    worksheets: list[str]
    # The columns the run will read by role ("url", "title", "description"), in words.
    guessed: dict[str, str] = field(default_factory=dict)


def preview_sheet(upload: Upload, worksheet: str | None = None) -> SheetPreview:
    """Headers and first rows of an uploaded sheet, and the columns a run reads from it (as
    ingest reads them: below a banner row, links in titled cells); PermanentError when it
    cannot be read."""
    with tempfile.TemporaryDirectory(prefix="bulk-transcribe-upload-") as folder:
        path = _write_upload(Path(folder), upload)
        worksheets = _worksheet_names(path)
        table = read_table(path, worksheet)
    try:
        table, mapping, titles_linked = sheet_mapping(table, {})
        guessed = _roles(table.headers, mapping, titles_linked)
    except TranscribeError:  # nothing to guess from: the user picks the link column
        table, guessed = with_found_header(table), {}
    return SheetPreview(
        table_name=table.name,
        headers=table.headers,
        rows=[cells for _, cells in table.rows[:PREVIEW_ROWS]],
        row_count=len(table.rows),
        worksheets=worksheets,
        guessed=guessed,
    )


def _roles(headers: list[str], mapping: ColumnMapping, titles_linked: bool) -> dict[str, str]:
    links = ", ".join(headers[column.index] for column in mapping.url_columns)
    roles = {"url": f"the links in {links}" if titles_linked else links}
    for role in ("title", "description"):
        index = getattr(mapping, role)
        if index is not None:
            roles[role] = headers[index]
    return roles


@st.cache_data(show_spinner=False, max_entries=32)
def ingest(
    pasted: str,
    upload: Upload | None,
    column_map: tuple[tuple[str, str], ...] = (),
    worksheet: str | None = None,
    server_files: bool = True,
) -> IngestResult:
    """Read pasted text and an upload the way the CLI reads files; PermanentError if unusable.
    `server_files=False` (a shared app): entries naming files of the server are refused."""
    with tempfile.TemporaryDirectory(prefix="bulk-transcribe-input-") as folder:
        inputs: list[str] = []
        if pasted.strip():
            pasted_path = Path(folder) / PASTED_NAME
            pasted_path.write_text(pasted, encoding="utf-8")
            inputs.append(str(pasted_path))
        if upload is not None:
            inputs.append(str(_write_upload(Path(folder), upload)))
        if not inputs:
            return IngestResult()
        return read_inputs(
            inputs, sheet=worksheet, columns=dict(column_map), server_files=server_files
        )


def collections(specs: list[ItemSpec]) -> list[ItemSpec]:
    """Playlists, channels and feeds: each becomes many items when the session runs."""
    return [spec for spec in specs if is_collection(spec)]


def type_breakdown(specs: list[ItemSpec]) -> str:
    counts = Counter(spec.source_type for spec in specs)
    return ", ".join(
        f"{n} {_TYPE_LABELS.get(kind, kind.value)}" for kind, n in counts.most_common()
    )


def render_input_panel(
    server_files: bool = True, out_dir: Path | None = None
) -> IngestResult | None:
    """Draw the panel; the ingested items, or None when the input has an error.
    `server_files=False` (a shared app): links and uploads only, no paths on the server; media
    files are uploaded instead, and kept in `out_dir`."""
    # The box is a keyed widget: its session-state value is the one truth for what it shows
    # and what Start runs. (Passing value= instead gave the widget a new identity whenever
    # the text changed, so a list pasted over an applied one before any other rerun went to
    # a widget the page no longer had, and the old list came back.) Streamlit drops a keyed
    # widget's state when a run does not draw it (another page, a running session's folded
    # form); the kept copy puts it back.
    if _BOX_KEY not in st.session_state:
        st.session_state[_BOX_KEY] = st.session_state.get(_PASTED_KEY, "")
    paste_col, upload_col = st.columns(2, gap="large")
    pasted = paste_col.text_area(
        "Paste links",
        key=_BOX_KEY,
        on_change=_keep_pasted,
        height=220,
        placeholder="One per line: YouTube or podcast links, direct media URLs"
        + (", file paths.\n" if server_files else ".\n")
        + "https://www.youtube.com/watch?v=…\nhttps://example.com/episode.mp3",
    )
    st.session_state[_PASTED_KEY] = pasted
    # The browser hands a text box's content over when it loses focus (or on Ctrl+Enter);
    # clicking this button does exactly that, so pasted links count without a shortcut.
    paste_col.button("Use these links", icon=":material/check:", key="use-links")
    with upload_col:
        uploaded = st.file_uploader(
            "…or upload a list or a sheet",
            type=UPLOAD_TYPES,
            help=".txt: one link per line. .csv/.tsv/.xlsx: a column of links, optionally "
            "title and description columns.",
        )
        upload = Upload(uploaded.name, uploaded.getvalue()) if uploaded else None
        media = [] if server_files or out_dir is None else _render_media_upload(out_dir)
        mapping: tuple[tuple[str, str], ...] = ()
        worksheet = None
        if upload is not None and not upload.readable:
            st.error(
                f"**{upload.name}** is not a text, CSV or XLSX file: upload a list of links "
                "(.txt) or a sheet (.csv, .tsv, .xlsx).",
                icon=":material/block:",
            )
            return None
        if upload is not None and upload.is_sheet:
            try:
                mapping, worksheet = _render_column_mapping(upload)
            except TranscribeError as exc:
                st.error(
                    f"**{upload.name}** cannot be used: {web_advice(exc.message)}",
                    icon=":material/block:",
                )
                return None
    try:
        result = ingest(pasted, upload, mapping, worksheet, server_files)
    except TranscribeError as exc:
        st.error(
            f"**This input cannot be used:** {web_advice(exc.message)}", icon=":material/block:"
        )
        return None
    if media:
        result = with_uploaded_media(result, media)
    given = [*(["the pasted text"] if pasted.strip() else []), *([upload.name] if upload else [])]
    _render_summary(result, " and ".join(given) or None)
    return result


def _render_media_upload(out_dir: Path) -> list[Entry]:
    """Media files from the visitor's computer: a shared app reads none from its own disk."""
    chosen = st.file_uploader(
        "…or upload media files",
        type=sorted(extension.lstrip(".") for extension in MEDIA_EXTENSIONS),
        accept_multiple_files=True,
        key="media-upload",
        help="Audio or video files; each is kept in the output folder's uploads/ and "
        "transcribed like any other item.",
    )
    # Kept once per uploaded file, not at every redraw: hashing a large file takes a while.
    kept: dict[str, Entry] = st.session_state.setdefault(_KEPT_MEDIA_KEY, {})
    entries = []
    for file in chosen or []:
        if file.file_id not in kept:
            try:
                kept[file.file_id] = keep_uploaded_media(
                    out_dir, UploadedMedia(file.name, file.getvalue())
                )
            except TranscribeError as exc:
                st.error(f"**{file.name}** was not kept: {web_advice(exc.message)}")
                continue
        entries.append(kept[file.file_id])
    return entries


def _keep_pasted() -> None:
    st.session_state[_PASTED_KEY] = st.session_state[_BOX_KEY]


def _render_column_mapping(upload: Upload) -> tuple[tuple[tuple[str, str], ...], str | None]:
    preview = preview_sheet(upload)
    worksheet = None
    if len(preview.worksheets) > 1:
        worksheet = st.selectbox("Worksheet", preview.worksheets, key="input_worksheet")
        preview = preview_sheet(upload, worksheet)
    options = [AUTOMATIC, *[h for h in preview.headers if h]]
    guessed = guess_columns(preview)
    link_col, title_col, desc_col = st.columns(3)
    chosen = {}
    for column, role, label in (
        (link_col, "url", "Link column"),
        (title_col, "title", "Title column"),
        (desc_col, "description", "Description column"),
    ):
        guess = guessed.get(role)
        chosen[role] = column.selectbox(
            label,
            options,
            key=f"map_{role}",
            format_func=lambda option, guess=guess: (
                (f"{guess} (found automatically)" if guess else "(none found)")
                if option == AUTOMATIC
                else option
            ),
            help="Which column holds this; change it if the automatic choice is wrong.",
        )
    st.caption(f"{preview.table_name}: {counted(preview.row_count, 'row')}. First rows:")
    st.dataframe(
        pd.DataFrame(preview.rows, columns=_unique_headers(preview.headers)),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(preview.rows), 320),
    )
    mapping = tuple((role, header) for role, header in chosen.items() if header != AUTOMATIC)
    return mapping, worksheet


def guess_columns(preview: SheetPreview) -> dict[str, str]:
    """Which columns the automatic mapping uses, by role, so the user can see and correct it."""
    return dict(preview.guessed)


def _render_summary(result: IngestResult, given: str | None = None) -> None:
    """`given`: what the user gave (pasted text, an uploaded file's name), if anything."""
    if not (result.items or result.invalid or result.warnings) and given:
        st.warning(
            f"**Nothing to transcribe in {given}**: it holds no links, only blank lines or "
            "# comments.",
            icon=":material/warning:",
        )
        return
    if not (result.items or result.invalid or result.warnings):
        st.info(
            "Paste links and click **Use these links**, or upload a list, to begin.",
            icon=":material/arrow_upward:",
        )
        return
    valid_col, dup_col, invalid_col, kinds_col = st.columns([1, 1, 1, 2.5])
    valid_col.metric("Valid", len(result.items))
    dup_col.metric("Duplicates merged", result.duplicates_merged)
    invalid_col.metric("Invalid", len(result.invalid))
    kinds_col.caption("What was found")
    kinds_col.markdown(type_breakdown(result.items) or "nothing usable yet")
    for warning in result.warnings:
        st.warning(warning, icon=":material/warning:")
    expanding = collections(result.items)
    if expanding:
        st.info(
            f"{counted(len(expanding), 'playlist/channel/feed link')} will be expanded into "
            "their videos or episodes when the session starts:\n\n"
            + "\n".join(f"- {spec.source}" for spec in expanding[:20]),
            icon=":material/playlist_play:",
        )
    if result.invalid:
        with st.expander(
            f"{counted(len(result.invalid), 'invalid entry', 'invalid entries')} will be skipped",
            True,
        ):
            st.dataframe(
                pd.DataFrame(
                    [(e.origin, e.value, e.reason) for e in result.invalid],
                    columns=["Where", "Entry", "Reason"],
                ),
                hide_index=True,
                width="stretch",
            )


def _write_upload(folder: Path, upload: Upload) -> Path:
    # Only the base name: an uploaded name must not choose where on disk it lands.
    path = folder / (Path(upload.name).name or "upload.txt")
    path.write_bytes(upload.data)
    return path


def _worksheet_names(path: Path) -> list[str]:
    if path.suffix.lower() != ".xlsx":
        return []
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True)
    except Exception:  # read_table reports a damaged workbook with a proper message
        return []
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def _unique_headers(headers: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    unique = []
    for index, header in enumerate(headers, start=1):
        name = header or f"column {index}"
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique
