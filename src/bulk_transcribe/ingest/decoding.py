"""Reading text files whose encoding the user never chose on purpose.

Order: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32), then UTF-16 without a mark (Notepad
"Unicode" and PowerShell `>` write it; its ASCII text is every other byte zero), then UTF-8,
then cp1252 as the legacy fallback. Hand-written: the charset-guessing libraries misread
short lists of URLs, where these rules are certain.
"""

from __future__ import annotations

import codecs
from pathlib import Path

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its mark starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SNIFF_BYTES = 4096


def read_text(path: Path) -> tuple[str, str | None]:
    """The file's text and, when it was not UTF-8, a warning saying how it was read."""
    return decode_text(path.read_bytes(), path.name)


def decode_text(data: bytes, name: str) -> tuple[str, str | None]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), None
    unmarked = _unmarked_utf16(data)
    if unmarked:
        text = data.decode(unmarked, errors="replace")
        return text, f"{name} is {unmarked.upper()} without a byte-order mark; read it as such"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" as cp1252; replacing keeps the few undefined bytes readable.
        warning = f"{name} is not UTF-8; read it as cp1252"
        return data.decode("cp1252", errors="replace"), warning


def _unmarked_utf16(data: bytes) -> str | None:
    """UTF-16 LE or BE when most even (or odd) bytes are zero, as in ASCII text in UTF-16."""
    sample = data[:_SNIFF_BYTES]
    if len(sample) < 4 or len(sample) % 2:
        return None
    evens, odds = sample[0::2], sample[1::2]
    half = len(sample) // 2
    if odds.count(0) > half * 0.7 and evens.count(0) < half * 0.1:
        return "utf-16-le"
    if evens.count(0) > half * 0.7 and odds.count(0) < half * 0.1:
        return "utf-16-be"
    return None
