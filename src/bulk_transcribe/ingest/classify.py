"""Turning one piece of text — a URL, a path, or what a source recognises (a YouTube id) — into
an item, or saying why not. Links go to the sources, which claim what they take."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bulk_transcribe.ingest.normalise import without_tracking
from bulk_transcribe.ingest.paths import is_media_path, special_file_type
from bulk_transcribe.ingest.redirects import unwrap_redirect
from bulk_transcribe.models import Entry, InvalidEntry, ItemSpec, SourceType
from bulk_transcribe.sources import claim_text, claim_url

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters or more: "C:" is a drive
# Links pasted without "https://", as browsers' address bars display them (a source may
# claim more of its own, e.g. youtu.be/…).
_SCHEMELESS_WEB = re.compile(r"^www\.[^/\s]+\.[a-z]{2,}(?:/|$)", re.IGNORECASE)
# What word processors, mail and chat wrap a pasted link in: “…”, „…“, ‘…’, «…», <…>.
_WRAPPERS = {
    '"': '"',
    "'": "'",
    "“": "”",
    "„": "“",
    "”": "”",
    "‘": "’",
    "«": "»",
    "‹": "›",
    "<": ">",
}
# Whitespace, and what web pages and chat apps carry invisibly around a copied link: zero-width
# spaces and joiners, word joiners, byte-order marks, left-to-right and right-to-left marks.
_INVISIBLE = " \t\r\n\v\f\u00a0\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"
# Between two links pasted into one cell or line: whitespace, or a comma or semicolon, then
# the next link's scheme.
_LINK_SEPARATOR = re.compile(r"(?:\s*[,;]\s*|\s+)(?=[\"'“„‘«<]?https?://)", re.IGNORECASE)
_WEB_START = re.compile(r"^https?://", re.IGNORECASE)
_CLOSING_MARKS = ".,;:!?"
# The links podcast sites' "Subscribe" buttons give: the feed, under an app's scheme.
_SUBSCRIBE_SCHEME = re.compile(r"^(?:feed|itpc|pcast|podcast):(?://)?", re.IGNORECASE)
# A line pasted from a numbered or bulleted list: "1. ", "2) ", "(a) ", "- ", "• ".
_LIST_MARKER = re.compile(r"^(?:[-*•‣◦▪–—]|\(?\d{1,4}[.)]|\(?[a-z][.)])\s+", re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"^\[(?P<title>[^\]]*)\]\((?P<link>https?://[^)\s]+)\)$", re.I)
# Words, maybe a dash or colon, then one link that ends the line: "Episode 7 – https://…".
_TITLED_LINK = re.compile(
    r"^(?P<title>.*?[^\s\-–—:|])[\s\-–—:|]*\s(?P<link>[\"'“„‘«<(]?https?://\S+)$", re.IGNORECASE
)
# What a link copied without its scheme, or with the scheme mistyped, starts with: a host
# (name.tld or an address, maybe with a port) then a slash; "https//", "http;//", "htps://".
_BARE_HOST = re.compile(r"^(?:[a-z0-9-]+\.)+(?:[a-z]{2,}|\d+)(?::\d+)?/", re.IGNORECASE)
_MANGLED_SCHEME = re.compile(r"^h[tps]{2,6}(?:[:;]/{0,3}|/{1,3})(?=[^/\s])", re.IGNORECASE)
_MISTYPED = "looks like a link with its https:// mistyped: write it as https://… or http://…"
# The one answer a shared web app gives to anything that is not a link, whatever is on its
# disk: a different word for "no such file" and "not media" would tell which files exist.
NO_SERVER_FILES = (
    "not a link: this shared app takes links (and uploaded lists), never paths on its server"
)


def split_links(text: str) -> list[str]:
    """The links of a cell or line holding several ("https://a https://b", one a line, or
    after a comma or semicolon), each on its own; `[text]` when it holds one or none. Only
    a separator followed by a new http(s) link splits: "?next=https://…" stays whole."""
    unmarked = _LIST_MARKER.sub("", text.strip(_INVISIBLE), count=1)  # "1. https://a https://b"
    parts = [p for p in _LINK_SEPARATOR.split(unmarked) if p.strip(_INVISIBLE)]
    if len(parts) < 2 or not all(_WEB_START.match(_unwrap(p)) for p in parts):
        return [text]
    return parts


def classify_entry(text: str, origin: str, base_dirs: Sequence[Path] | None = ()) -> Entry:
    """What `text` names. Relative paths are tried against each of `base_dirs` in turn;
    `base_dirs=None`: no files of this machine at all (a shared web app), the disk untouched.
    A link in prose ("3. Episode 7 – https://…", "[Episode 7](https://…)") is that link,
    titled by the words before it."""
    value = _unwrap(text)
    if not value:
        return InvalidEntry(origin, text, "empty entry")
    value, title = _link_in_prose(value)
    entry = _classify_value(_tidy_link(value), origin, base_dirs)
    if title and isinstance(entry, ItemSpec) and entry.title is None:
        return replace(entry, title=title)
    return entry


def _link_in_prose(value: str) -> tuple[str, str | None]:
    """The link of a list item, a Markdown link or a line of words ending in one, and the
    words as its title; `value` unchanged (no title) when it is anything else."""
    markdown = _MARKDOWN_LINK.match(value)
    if markdown:
        return markdown.group("link"), markdown.group("title").strip() or None
    unmarked = _LIST_MARKER.sub("", value, count=1)
    titled = _TITLED_LINK.match(unmarked)
    if titled and "://" not in titled.group("title"):
        return _unwrap(titled.group("link")), _unwrap(titled.group("title")) or None
    if unmarked != value and _WEB_START.match(_unwrap(unmarked)):
        return _unwrap(unmarked), None
    return value, None


def _classify_value(value: str, origin: str, base_dirs: Sequence[Path] | None) -> Entry:
    value = _without_subscribe_scheme(value)
    scheme = _SCHEME.match(value)
    if scheme and scheme.group(1).lower() == "file":
        local_path = _file_uri_path(value)
        if local_path is None:
            reason = "a file:// link to another machine; copy the file here and give its path"
            return InvalidEntry(origin, value, reason)
        value, scheme = local_path, None
    if scheme and scheme.group(1).lower() in ("http", "https"):
        return _classify_url(value, origin)
    local = _find_existing(value, base_dirs) if base_dirs is not None else None
    if local is not None:
        return _classify_file(local, value, origin)
    if _SCHEMELESS_WEB.match(value):
        return _classify_url("https://" + value, origin)
    if scheme:
        name = scheme.group(1).lower()
        reason = f"unsupported URL scheme '{name}'; only http:// and https:// links can be fetched"
        if _MANGLED_SCHEME.match(value):
            reason = _MISTYPED
        return InvalidEntry(origin, value, reason)
    claimed = claim_text(value, origin)
    if claimed is not None:
        return claimed
    if base_dirs is None:
        return InvalidEntry(origin, value, NO_SERVER_FILES)
    return InvalidEntry(origin, value, _not_found_reason(value, base_dirs))


def _tidy_link(value: str) -> str:
    """A link as prose ends it, without what the prose added: "(https://…)" and a sentence's
    last mark ("…/ep7.mp3." or "…/ep7.mp3,") were fetched as part of it and answered 404.
    The rule of Markdown's autolinks: closing marks and an unmatched ")" are not the link's."""
    if value.startswith("(") and _WEB_START.match(value[1:]):
        value = value[1:]
    if not _WEB_START.match(value):
        return value
    while value and (
        value[-1] in _CLOSING_MARKS or (value[-1] == ")" and value.count(")") > value.count("("))
    ):
        value = value[:-1]
    return value


def _without_subscribe_scheme(value: str) -> str:
    """A podcast app's subscribe link as the feed's web address: "feed://host/rss" and
    "itpc://…", "pcast://…", "podcast://…" over https, "feed:https://…" as it says."""
    subscribe = _SUBSCRIBE_SCHEME.match(value)
    if subscribe is None:
        return value
    rest = value[subscribe.end() :]
    return rest if _WEB_START.match(rest) else "https://" + rest.lstrip("/")


def _unwrap(text: str) -> str:
    """`text` without the quotes or brackets a paste wrapped it in (Word's curly ones too)."""
    value = text.strip(_INVISIBLE)
    while len(value) >= 2 and _WRAPPERS.get(value[0]) == value[-1]:
        value = value[1:-1].strip(_INVISIBLE)
    return value.strip("\"'")  # a lone quote left over from a half-copied pair


def _file_uri_path(uri: str) -> str | None:
    """The local path a file:// link names (what a file manager copies), or None when it
    names another machine's file."""
    parts = urlsplit(uri)
    if parts.netloc.lower() not in ("", "localhost"):
        return None
    return unquote(parts.path)


def _classify_url(url: str, origin: str) -> Entry:
    if any(ch.isspace() for ch in url):
        reason = (
            "URL contains spaces: write those inside it as %20, and leave out words after it "
            "(a sheet's title column can hold them)"
        )
        return InvalidEntry(origin, url, reason)
    # The link a mail or search wrapper holds, without a newsletter's tracking: the item's
    # link, which later sessions match theirs against.
    url = without_tracking(unwrap_redirect(url))
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # raises on a non-numeric port
    except ValueError as exc:
        return InvalidEntry(origin, url, f"malformed URL: {exc}")
    if not host:
        hint = " (a slash missing after 'http:'?)" if re.match(r"^https?:/[^/]", url, re.I) else ""
        return InvalidEntry(origin, url, "URL has no host name" + hint)
    claimed = claim_url(url, parts, origin)
    return claimed if claimed is not None else InvalidEntry(origin, url, "no source takes it")


def _classify_file(path: Path, value: str, origin: str) -> Entry:
    if path.is_dir():
        reason = "is a folder; pass it as its own INPUT to transcribe the media inside"
        return InvalidEntry(origin, value, reason)
    if not is_media_path(path):
        return InvalidEntry(
            origin, value, f"not a media file: {path.suffix.lower() or 'no extension'}"
        )
    special = special_file_type(path)
    if special:
        return InvalidEntry(origin, value, f"is {special}, not a media file")
    return ItemSpec(source=str(path.resolve()), source_type=SourceType.LOCAL_FILE, origin=origin)


def _find_existing(value: str, base_dirs: Sequence[Path]) -> Path | None:
    try:
        path = expanded_path(value)
        candidates = [path] if path.is_absolute() else [base / path for base in base_dirs]
        return next((c for c in candidates if c.exists()), None)
    except (OSError, ValueError):  # names too long or with NUL bytes are simply not files
        return None


def expanded_path(value: str) -> Path:
    """`value` with "~" as the home folder; as written when "~name" names no user of this
    machine ("~~~ Season 2 ~~~" in a list), where pathlib raises."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        return Path(value)


def _not_found_reason(value: str, base_dirs: Sequence[Path]) -> str:
    if _MANGLED_SCHEME.match(value):
        return _MISTYPED
    if _BARE_HOST.match(value):
        return "no such file; if it is a link, write it with https:// in front"
    looks_like_path = "/" in value or "\\" in value or is_media_path(Path(value))
    if not looks_like_path:
        return "not a URL or an existing file"
    if expanded_path(value).is_absolute() or not base_dirs:
        return "file not found"
    return "file not found (looked in " + ", ".join(str(b) for b in base_dirs) + ")"
