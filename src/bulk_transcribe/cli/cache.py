"""`bulk-transcribe cache [show|clear]`: what the download cache holds, and emptying it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bulk_transcribe.plurals import counted

from .common import OutOption, console


class CacheAction(StrEnum):
    SHOW = "show"
    CLEAR = "clear"


def cache(
    action: Annotated[CacheAction, typer.Argument(help="show (default) or clear.")] = (
        CacheAction.SHOW
    ),
    out: OutOption = Path("output"),
) -> None:
    """Show or clear the download cache (OUT/cache), kept so resumes need not download again."""
    from bulk_transcribe import service

    if action is CacheAction.CLEAR:
        files, freed = service.clear_cache(out)
        console.print(
            f"Removed {counted(files, 'cached file')}, {_size(freed)} freed.", highlight=False
        )
        return
    usage = service.cache_usage(out)
    table = Table("folder", "files", "size", title=f"Download cache {usage.root}")
    for folder, (files, size) in sorted(usage.by_folder.items()):
        table.add_row(folder, str(files), _size(size))
    table.add_row("[bold]total", f"[bold]{usage.files}", f"[bold]{_size(usage.bytes)}")
    console.print(table)
    console.print(
        f"Cap {_size(usage.max_bytes)} (BULK_TRANSCRIBE_CACHE_MAX_MB); least recently "
        "used files go first. `bulk-transcribe cache clear` empties it.",
        highlight=False,
    )


def _size(size: int) -> str:
    return f"{size / 1024**2:,.1f} MB"
