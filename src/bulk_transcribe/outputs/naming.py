"""File names for outputs that are readable, portable and can never escape their folder."""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_BYTES = 150
_MAX_EXTENSION_CHARS = 16  # a longer "extension" is just part of the name
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)
# Separators, control characters and the characters Windows forbids in names.
_UNSAFE_CHARS = re.compile(r'[/\\<>:"|?*\x00-\x1f\x7f-\x9f]')


def slugify(text: str, max_length: int = 80) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:max_length].rstrip("-")
    return slug or "untitled"


def output_stem(title: str | None, key: str) -> str:
    return safe_filename(f"{slugify(title or '')}__{key}")


def safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE_CHARS.sub("_", name)
    name = re.sub(r"\.{2,}", ".", name)
    # Leading dots hide files; trailing dots and spaces are dropped silently by Windows.
    name = name.lstrip(". ").rstrip(". ")
    if not name:
        return "untitled"
    if name.split(".", 1)[0].strip().upper() in _WINDOWS_RESERVED:
        name = f"_{name}"
    return _truncate(name, MAX_FILENAME_BYTES)


def _truncate(name: str, max_bytes: int) -> str:
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > _MAX_EXTENSION_CHARS:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = max_bytes - len(suffix.encode("utf-8"))
    short_stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(". ")
    return f"{short_stem or 'untitled'}{suffix}"
