"""Deciding which sheet column holds the link, the title, the description and the source type."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bulk_transcribe.errors import ErrorKind, PermanentError

ROLES = ("url", "title", "description", "source_type", "hints")
# A link, a path or a file name, a video id: what a link column's cell holds, unlike a word.
LINK_LIKE = re.compile(r"://|[/\\.]|^[\w-]{11}$")

# Normalised header -> the kind of link it holds, so a row's source_type can pick a column.
_URL_ALIASES = {
    "url": "any",
    "link": "any",
    "source": "any",
    "youtubeurl": "youtube",
    "youtube": "youtube",
    "videourl": "youtube",
    "videoid": "youtube",  # a YouTube export or a Data API sheet: bare ids
    "youtubeid": "youtube",
    "mp3url": "audio",
    "audiourl": "audio",
    "mediaurl": "audio",
    "enclosure": "audio",
    "file": "file",
    "path": "file",
}
_FALLBACK_URL_ALIASES = {"episodeurl": "any"}  # often a web page; used only when nothing else is
# Titles and descriptions in the languages sheets are often kept in (English first).
_ROLE_ALIASES = {
    "title": (
        "title",
        "name",
        "episode",
        "episodetitle",
        "videotitle",
        "episodename",
        "videoname",
        "titel",  # de, nl, sv, da
        "titre",  # fr
        "título",  # es, pt
        "titulo",
        "titolo",  # it
        "nombre",  # es: "name"
        "nom",  # fr: "name"
        "naam",  # nl: "name"
    ),
    "description": (
        "description",
        "desc",
        "notes",
        "shownotes",
        "summary",
        "beschreibung",
        "beschrijving",
        "descripción",
        "descripcion",
        "descrição",
        "descricao",
        "descrizione",
    ),
    "source_type": ("sourcetype", "type", "kind"),
    # Names and terms to spell as given, passed to the model as its prompt.
    "hints": ("hints", "hint", "prompt", "vocabulary", "hotwords", "keywords", "glossary", "terms"),
}
# A row's source_type value -> the kind of link column it prefers.
_SOURCE_TYPE_KINDS = {
    "youtube": "youtube",
    "yt": "youtube",
    "video": "youtube",
    "mp3": "audio",
    "audio": "audio",
    "podcast": "audio",
    "enclosure": "audio",
    "media": "audio",
    "file": "file",
    "local": "file",
    "localfile": "file",
}


@dataclass(frozen=True)
class UrlColumn:
    index: int
    kind: str  # "youtube", "audio", "file" or "any"


@dataclass(frozen=True)
class ColumnMapping:
    url_columns: tuple[UrlColumn, ...]
    title: int | None = None
    description: int | None = None
    source_type: int | None = None
    hints: int | None = None

    def pick_url_column(self, cells: Sequence[str]) -> int | None:
        """The column holding this row's link: the one its source_type asks for, else the first."""
        filled = [c for c in self.url_columns if cells[c.index]]
        if not filled:
            return None
        # "Source" may name where a row came from ("YouTube") beside its "URL": a cell that
        # holds a link wins over one holding a word.
        filled = [c for c in filled if LINK_LIKE.search(cells[c.index])] or filled
        wanted = None
        if self.source_type is not None:
            wanted = _SOURCE_TYPE_KINDS.get(header_key(cells[self.source_type]))
        preferred = next((c for c in filled if c.kind == wanted), filled[0])
        return preferred.index


def header_key(header: str) -> str:
    """Headers compare case-insensitively, ignoring spaces, underscores and hyphens."""
    return re.sub(r"[\s_-]+", "", header).casefold()


def parse_column_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`["url=Link", "title=Name"]` -> `{"url": "Link", "title": "Name"}`."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        role, sep, header = pair.partition("=")
        if not sep or _role_name(role) is None or not header.strip():
            raise PermanentError(
                ErrorKind.INVALID_INPUT,
                f"--column expects ROLE=HEADER with ROLE one of {', '.join(ROLES)}, "
                f"e.g. --column url=Link; got '{pair}'",
            )
        overrides[role] = header
    return normalise_overrides(overrides)


def normalise_overrides(overrides: Mapping[str, str]) -> dict[str, str]:
    """Role names spelled any forgiving way ("Source-Type") -> canonical ones ("source_type")."""
    normalised: dict[str, str] = {}
    for role, header in overrides.items():
        role_name = _role_name(role)
        if role_name is None:
            raise PermanentError(
                ErrorKind.INVALID_INPUT,
                f"unknown column role '{role}'; choose from {', '.join(ROLES)}",
            )
        normalised[role_name] = header.strip()
    return normalised


def map_columns(
    headers: Sequence[str], table_name: str, overrides: Mapping[str, str]
) -> ColumnMapping:
    """Which column plays which role; `overrides` (canonical role -> header) win over guessing."""
    keys = [header_key(h) for h in headers]
    chosen: dict[str, int] = {}
    for role, header in overrides.items():
        if header_key(header) not in keys:
            raise PermanentError(
                ErrorKind.INVALID_INPUT,
                f"{table_name} has no column '{header}'; its columns are: {_listing(headers)}",
            )
        chosen[role] = keys.index(header_key(header))
    taken = set(chosen.values())
    for role, aliases in _ROLE_ALIASES.items():
        if role not in chosen:
            index = _first_match(keys, aliases, taken)
            if index is not None:
                chosen[role] = index
                taken.add(index)
    if "url" in chosen:
        url_columns = (UrlColumn(chosen["url"], "any"),)
    else:
        url_columns = _url_columns(keys, taken, _URL_ALIASES) or _url_columns(
            keys, taken, _FALLBACK_URL_ALIASES
        )
    if not url_columns:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{table_name} has no column of links I recognise; its columns are: "
            f"{_listing(headers)}. Name the one holding the links with --column url=<name>",
        )
    return ColumnMapping(
        url_columns=url_columns,
        title=chosen.get("title"),
        description=chosen.get("description"),
        source_type=chosen.get("source_type"),
        hints=chosen.get("hints"),
    )


def _role_name(role: str) -> str | None:
    key = header_key(role)
    return next((r for r in ROLES if header_key(r) == key), None)


def _first_match(keys: Sequence[str], aliases: Sequence[str], taken: set[int]) -> int | None:
    for alias in aliases:
        for index, key in enumerate(keys):
            if key == alias and index not in taken:
                return index
    return None


def _url_columns(
    keys: Sequence[str], taken: set[int], aliases: Mapping[str, str]
) -> tuple[UrlColumn, ...]:
    return tuple(
        UrlColumn(index, aliases[key])
        for index, key in enumerate(keys)
        if key in aliases and index not in taken
    )


def _listing(headers: Sequence[str]) -> str:
    return ", ".join(f"'{h}'" for h in headers if h) or "(none)"
