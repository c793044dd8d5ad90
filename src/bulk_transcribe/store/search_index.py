"""Full-text search over every transcribed segment in the store (SQLite FTS5).

The index is brought up to date lazily: before answering, every done item not indexed yet
(or transcribed again since) is read and added (from the transcript the store keeps, or for
items finished before the store kept them, from the item's JSON or subtitle file), and items
whose session was deleted are dropped. So items are searchable as soon as they finish, and
sessions made before the index existed are picked up by the first search, with no work in
the runner.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import Item, ItemStatus, Segment, SourceType
from bulk_transcribe.store import Store, cjk
from bulk_transcribe.store.rows import item_from_row

# Marks around matched words in Hit.text; views turn them into bold, colour or <mark>.
MATCH_START, MATCH_END = "\x02", "\x03"
DEFAULT_LIMIT = 20
_BAREWORD = re.compile(r"[\w*]+", re.UNICODE)
_WRITTEN = re.compile(r'[^\s"]+')  # what was typed without a space (or a quote) inside
_TRAILING = ".,;:!?)'"  # punctuation ending a typed word, not part of it

# How the index reads a done item's segments that the store did not keep (items finished
# before it kept transcripts): given the item and its session folder. Raises
# UnreadableTranscript when there is nothing readable. The outputs layer provides one.
SegmentReader = Callable[[Item, Path], list[Segment]]
# The link to a moment of a source: (source, source type, seconds) -> URL.
MomentLinker = Callable[[str, SourceType, float], str]


class UnreadableTranscript(Exception):
    """No timed transcript among an item's files, or the one there is damaged."""


@dataclass(frozen=True)
class Hit:
    item_id: int
    session_id: str
    title: str
    source: str
    source_type: SourceType
    start: float
    end: float
    text: str  # the segment, matched words between MATCH_START and MATCH_END
    rank: float  # bm25: lower is better
    link: str  # to this moment of the source

    @property
    def plain_text(self) -> str:
        return self.text.replace(MATCH_START, "").replace(MATCH_END, "")

    def marked(self, start: str, end: str) -> str:
        return self.text.replace(MATCH_START, start).replace(MATCH_END, end)


@dataclass(frozen=True)
class Refresh:
    """What bringing the index up to date did."""

    indexed_items: int = 0
    indexed_segments: int = 0
    dropped_items: int = 0
    unreadable: tuple[str, ...] = ()  # "title: why" for done items with no readable transcript


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    refresh: Refresh
    query: str  # the FTS5 query that ran (the user's, or its words quoted if that was invalid)
    searchable_items: int
    total_hits: int = 0  # every matching segment, not only this page's
    matching_items: int = 0  # transcripts with at least one match
    offset: int = 0  # how many better hits came before this page


class SearchIndex:
    """One connection of its own to the store's database, so searching never waits on the
    store's lock; SQLite's WAL lets it read while a runner writes."""

    def __init__(self, store: Store, read: SegmentReader, link: MomentLinker):
        self._read, self._link = read, link
        self._conn = sqlite3.connect(
            store.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA synchronous=NORMAL")  # as the store: WAL, no fsync a commit
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- keeping up to date ---------------------------------------------------------------

    def refresh(self) -> Refresh:
        with self._lock:
            dropped = self._drop_stale()
            rows = self._conn.execute(
                "SELECT i.*, s.out_dir, t.segments_json AS stored_segments"
                " FROM items i JOIN sessions s ON s.id = i.session_id"
                " LEFT JOIN transcripts t ON t.item_id = i.id"
                " LEFT JOIN indexed_items x ON x.item_id = i.id"
                " WHERE i.status = ? AND (x.item_id IS NULL OR x.finished_at IS NOT i.finished_at)"
                " ORDER BY i.id",
                (ItemStatus.DONE,),
            ).fetchall()
            items = segments = 0
            unreadable = []
            for row in rows:
                item = item_from_row(row)
                folder = Path(row["out_dir"]) / "sessions" / item.session_id
                try:
                    found = _stored(row["stored_segments"]) or self._read(item, folder)
                    problem = None
                except UnreadableTranscript as exc:
                    found, problem = [], str(exc)
                    unreadable.append(f"{item.display_title}: {exc}")
                self._replace(item, found, problem)
                items += 1
                segments += len(found)
            return Refresh(items, segments, dropped, tuple(unreadable))

    def _drop_stale(self) -> int:
        """Forget items that were deleted, or are no longer done (re-queued to run again)."""
        stale = self._conn.execute(
            "SELECT x.item_id FROM indexed_items x LEFT JOIN items i ON i.id = x.item_id"
            " WHERE i.id IS NULL OR i.status != ?",
            (ItemStatus.DONE,),
        ).fetchall()
        for row in stale:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._delete(row["item_id"])
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return len(stale)

    def _delete(self, item_id: int) -> None:
        old = self._conn.execute(
            "SELECT first_rowid, last_rowid FROM indexed_items WHERE item_id = ?", (item_id,)
        ).fetchone()
        if old is not None and old["first_rowid"] is not None:
            self._conn.execute(
                "DELETE FROM segments_fts WHERE rowid BETWEEN ? AND ?",
                (old["first_rowid"], old["last_rowid"]),
            )
        self._conn.execute("DELETE FROM indexed_items WHERE item_id = ?", (item_id,))

    def _replace(self, item: Item, segments: Sequence[Segment], problem: str | None) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._delete(item.id)
            # FTS5 walks rowids in order both ways; MAX(rowid) would read the whole table.
            last = conn.execute(
                "SELECT rowid FROM segments_fts ORDER BY rowid DESC LIMIT 1"
            ).fetchone()
            first_rowid = (last[0] if last else 0) + 1
            conn.executemany(
                "INSERT INTO segments_fts (rowid, text, item_id, start, end) VALUES (?,?,?,?,?)",
                [
                    (first_rowid + n, cjk.spaced(" ".join(s.text.split())), item.id, s.start, s.end)
                    for n, s in enumerate(segments)
                ],
            )
            conn.execute(
                "INSERT INTO indexed_items (item_id, finished_at, first_rowid, last_rowid,"
                " segments, problem) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item.id,
                    item.finished_at,
                    first_rowid if segments else None,
                    first_rowid + len(segments) - 1 if segments else None,
                    len(segments),
                    problem,
                ),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # --- searching ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        session_id: str | None = None,
        sources: Sequence[str] = (),
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        refresh: bool = True,
    ) -> SearchResult:
        """Segments matching `query`, best first: `limit` of them after the first `offset`,
        with the count of every match and of the transcripts they are in.

        `query` is FTS5 syntax: words (all must occur), "a phrase", prefix*, AND / OR / NOT,
        NEAR(a b). Text that is not valid syntax (a stray quote, a hyphen) is searched as
        its words. `sources` keeps items whose source contains one of them, or whose source
        type is one of them (youtube, local_file, http_media, ...).
        """
        if not query.strip():
            raise PermanentError(ErrorKind.INVALID_INPUT, "type some words to search for")
        done = self.refresh() if refresh else Refresh()
        where, params = _filters(session_id, sources)
        with self._lock:
            try:
                ran = cjk.spaced_query(query)
                rows = self._match(ran, where, params, limit, offset)
            except sqlite3.OperationalError:
                ran = cjk.spaced_query(as_words(query))
                if not ran:
                    raise PermanentError(
                        ErrorKind.INVALID_INPUT, f"nothing searchable in {query!r}"
                    ) from None
                rows = self._match(ran, where, params, limit, offset)
            total, matching = self._count(ran, where, params)
            searchable = self._conn.execute(
                "SELECT COUNT(*) FROM indexed_items WHERE segments > 0"
            ).fetchone()[0]
        hits = [
            Hit(
                item_id=row["item_id"],
                session_id=row["session_id"],
                title=row["title"] or row["source"].rsplit("/", 1)[-1],
                source=row["source"],
                source_type=SourceType(row["source_type"]),
                start=row["start"],
                end=row["end"],
                text=_unspaced(row["marked"]),
                rank=row["rank"],
                link=self._link(row["source"], SourceType(row["source_type"]), row["start"]),
            )
            for row in rows
        ]
        return SearchResult(hits, done, ran, searchable, total, matching, offset)

    def _count(self, query: str, where: str, params: list[object]) -> tuple[int, int]:
        row = self._conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT f.item_id)"
            " FROM segments_fts f JOIN items i ON i.id = f.item_id"
            f" WHERE segments_fts MATCH ? {where}",
            [query, *params],
        ).fetchone()
        return int(row[0]), int(row[1])

    def _match(
        self, query: str, where: str, params: list[object], limit: int, offset: int = 0
    ) -> list[sqlite3.Row]:
        return self._conn.execute(
            "SELECT f.item_id, f.start, f.end, f.rank,"
            f" highlight(segments_fts, 0, '{MATCH_START}', '{MATCH_END}') AS marked,"
            " i.session_id, i.title, i.source, i.source_type"
            " FROM segments_fts f JOIN items i ON i.id = f.item_id"
            f" WHERE segments_fts MATCH ? {where} ORDER BY f.rank, f.item_id, f.start"
            " LIMIT ? OFFSET ?",
            [query, *params, int(limit), max(0, int(offset))],
        ).fetchall()

    def stats(self) -> dict[str, int]:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) AS items, COALESCE(SUM(segments), 0) AS segments,"
                " SUM(problem IS NOT NULL) AS unreadable FROM indexed_items"
            ).fetchone()
        return {"items": row["items"], "segments": row["segments"], "unreadable": row[2] or 0}


def _unspaced(marked: str) -> str:
    """A hit's text as it was said: Chinese and Japanese without the index's spaces, the
    characters of one matched run in one highlight."""
    return cjk.joined(marked).replace(MATCH_END + MATCH_START, "")


def _stored(segments_json: str | None) -> list[Segment] | None:
    if not segments_json:
        return None
    return [Segment(**s) for s in json.loads(segments_json) if str(s.get("text", "")).strip()]


def as_words(query: str) -> str:
    """A query made of the words of `query`, each quoted so FTS5 reads no operator in it;
    a trailing * still asks for a prefix. Words written together (COVID-19, e-mail, 3:5)
    stay together, as a phrase: the tokenizer split them in the transcript the same way."""
    terms = []
    for written in _WRITTEN.findall(query):
        words = [w.replace("*", "") for w in _BAREWORD.findall(written)]
        words = [w for w in words if w]
        if words:
            prefix = "*" if written.rstrip(_TRAILING).endswith("*") else ""
            terms.append('"' + " ".join(words) + '"' + prefix)
    return " ".join(terms)


def _filters(session_id: str | None, sources: Sequence[str]) -> tuple[str, list[object]]:
    clauses, params = [], []
    if session_id:
        clauses.append("i.session_id = ?")
        params.append(session_id)
    wanted = [s for s in sources if s.strip()]
    if wanted:
        alternatives = []
        for source in wanted:
            alternatives.append("(i.source_type = ? OR instr(lower(i.source), lower(?)) > 0)")
            params += [source.strip(), source.strip()]
        clauses.append("(" + " OR ".join(alternatives) + ")")
    return "".join(f" AND {c}" for c in clauses), params
