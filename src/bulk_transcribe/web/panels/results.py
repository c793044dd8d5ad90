"""The Results panel: preview a finished item's transcript and download any output."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import streamlit as st

from bulk_transcribe.models import Item, ItemStatus, Session

PREVIEW_ORDER = (".txt", ".md", ".srt", ".vtt", ".json")
MIME_TYPES = {
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
    ".csv": "text/csv",
}


def session_zip(folder: Path) -> bytes:
    """Every file of a session folder in one zip, paths relative to the folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.endswith((".tmp", ".part")):
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def output_paths(session: Session, item: Item) -> list[Path]:
    """The item's files that exist, in a stable order; outputs are stored folder-relative."""
    paths = [session.folder / name for name in item.outputs]
    return [p for p in paths if p.is_file()]


def preview_text(paths: list[Path]) -> str | None:
    for suffix in PREVIEW_ORDER:
        for path in paths:
            if path.suffix.lower() == suffix:
                return path.read_text(encoding="utf-8", errors="replace")
    return None


def render_session_download(session: Session, key: str = "zip") -> None:
    folder = session.folder
    st.download_button(
        "Download the whole session (.zip)",
        icon=":material/folder_zip:",
        data=lambda: session_zip(folder),  # built on click, not on every refresh
        file_name=f"bulk-transcribe-{session.id}.zip",
        mime="application/zip",
        key=key,
        on_click="ignore",
        disabled=not folder.is_dir(),
    )


PREVIEW_CHOICES = 200  # the newest finished items; the zip holds every one


_NEWEST: dict[object, list[Item]] = {}  # by the session's version: tabs share the sort


def newest_done(items: list[Item], version: object = None) -> list[Item]:
    """The newest finished items with outputs, newest first (at most PREVIEW_CHOICES)."""
    if version is not None and version in _NEWEST:
        return _NEWEST[version]
    done = [item for item in items if item.status is ItemStatus.DONE and item.outputs]
    newest = sorted(done, key=lambda item: item.finished_at or "", reverse=True)[:PREVIEW_CHOICES]
    if version is not None:
        if len(_NEWEST) >= 16:
            _NEWEST.pop(next(iter(_NEWEST)))
        _NEWEST[version] = newest
    return newest


def render_results(session: Session, items: list[Item], version: object = None) -> None:
    done = newest_done(items, version)
    render_session_download(session)
    if not done:
        st.caption("Finished transcripts appear here.")
        return
    by_id = {item.id: item for item in done}
    chosen_id = st.selectbox(
        "Preview a transcript",
        list(by_id),
        format_func=lambda item_id: f"#{by_id[item_id].position} · {by_id[item_id].display_title}",
        key="results_item",
    )
    item = by_id[chosen_id]
    paths = output_paths(session, item)
    buttons = st.columns(max(len(paths), 1))
    for column, path in zip(buttons, paths, strict=False):
        column.download_button(
            path.suffix.lstrip(".").upper(),
            icon=":material/download:",
            data=path.read_bytes(),
            file_name=path.name,
            mime=MIME_TYPES.get(path.suffix.lower(), "application/octet-stream"),
            key=f"download-{item.id}-{path.suffix}",
            on_click="ignore",
            width="stretch",
        )
    text = preview_text(paths)
    if text is not None:
        with st.container(height=320, border=True):
            st.text(text)
