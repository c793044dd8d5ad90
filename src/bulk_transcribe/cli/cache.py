"""`bulk-transcribe cache [show|clear]`: what the download cache holds, and emptying it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bulk_transcribe.settings import Settings

console = Console()


class CacheAction(StrEnum):
    SHOW = "show"
    CLEAR = "clear"


def cache(
    action: Annotated[CacheAction, typer.Argument(help="show (default) or clear.")] = (
        CacheAction.SHOW
    ),
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("output"),
) -> None:
    """Show or clear the download cache (OUT/cache), kept so resumes need not download again."""
    from bulk_transcribe.sources.cache import DownloadCache  # yt-dlp's stack: only here

    settings = Settings(out_dir=out)
    downloads = DownloadCache(out / "cache", int(settings.cache_max_mb * 1024**2))
    if action is CacheAction.CLEAR:
        files, freed = downloads.clear()
        console.print(f"Removed {files} cached file(s), {_size(freed)} freed.", highlight=False)
        return
    usage = downloads.usage()
    table = Table("folder", "files", "size", title=f"Download cache {downloads.root}")
    for folder, (files, size) in sorted(usage.by_folder.items()):
        table.add_row(folder, str(files), _size(size))
    table.add_row("[bold]total", f"[bold]{usage.files}", f"[bold]{_size(usage.bytes)}")
    console.print(table)
    console.print(
        f"Cap {_size(downloads.max_bytes or 0)} (BULK_TRANSCRIBE_CACHE_MAX_MB); least recently "
        "used files go first. `bulk-transcribe cache clear` empties it.",
        highlight=False,
    )


def _size(size: int) -> str:
    return f"{size / 1024**2:,.1f} MB"
