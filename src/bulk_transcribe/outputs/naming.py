"""File names for outputs that are readable, portable and can never escape their folder."""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_BYTES = 150
_MAX_SLUG_BYTES = 100  # with "__<key>.<format>" after it, under MAX_FILENAME_BYTES
_MAX_EXTENSION_CHARS = 16  # a longer "extension" is just part of the name
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)
# Separators, control characters and the characters Windows forbids in names.
_UNSAFE_CHARS = re.compile(r'[/\\<>:"|?*\x00-\x1f\x7f-\x9f]')


def slugify(text: str, max_length: int = 80) -> str:
    """ "Crème brûlée!" -> "creme-brulee": plain ASCII when the title is written in letters
    that fold to it; otherwise in its own script ("Новости дня" -> "новости-дня",
    "東京の天気" -> "東京の天気"), where ASCII kept nothing and every note of a Russian or
    Japanese show was "untitled"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if not any(_folds_to_nothing(ch) for ch in text):
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
        return slug[:max_length].rstrip("-") or "untitled"
    words = unicodedata.normalize("NFC", text.casefold())
    slug = "".join(ch if _is_word_char(ch) else "-" for ch in words)
    slug = re.sub(r"-{2,}", "-", slug).strip("-")[:max_length]
    # Bytes too: three a character in most scripts, and the key after it must fit whole.
    slug = slug.encode("utf-8")[:_MAX_SLUG_BYTES].decode("utf-8", "ignore").rstrip("-")
    return slug or "untitled"


def _folds_to_nothing(ch: str) -> bool:
    """A letter ASCII has nothing for ("東", "д", "ß"), unlike "é" (an e with a mark)."""
    if not unicodedata.category(ch).startswith("L"):
        return False
    return not unicodedata.normalize("NFKD", ch).encode("ascii", "ignore")


def _is_word_char(ch: str) -> bool:
    # Letters, digits and the marks that belong to them (Devanagari's vowel signs).
    return unicodedata.category(ch)[0] in "LNM"


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
