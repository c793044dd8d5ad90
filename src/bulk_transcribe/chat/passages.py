"""Passages for a question: the full-text index's best segments, each with its neighbours, so
a chat model reads what was said around a match and not one line out of context."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bulk_transcribe.models import SourceType
from bulk_transcribe.outputs.moments import moment_url
from bulk_transcribe.outputs.readback import segments_from_files
from bulk_transcribe.store import Store, cjk
from bulk_transcribe.store.search_index import SearchIndex

DEFAULT_PASSAGES = 8
NEIGHBOURS = 2  # segments kept on each side of a matching one
HITS_PER_PASSAGE = 4  # matches looked at per passage wanted: neighbours often match too
_WORD = re.compile(r"\w+", re.UNICODE)
# Words a question is made of that say nothing about its subject; searching for them would
# rank every transcript alike. English only, like the index's tokenizer has no stemmer.
# fmt: off
STOPWORDS = frozenset((
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "been", "before", "being", "below", "between", "both", "but", "by",
    "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more",
    "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this",
    "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were",
    "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would",
    "you", "your", "yours", "say", "said", "says", "tell", "told", "talk", "talked", "talks",
    "think", "thought", "anyone", "someone", "something", "anything", "everything", "thing",
    "things",
))
# fmt: on


@dataclass(frozen=True)
class Passage:
    number: int  # 1-based, as the chat model is shown it
    item_id: int
    session_id: str
    title: str
    source: str
    source_type: SourceType
    start: float
    end: float
    text: str
    rank: float  # bm25 of its best match: lower is better
    moment: float  # where its best match begins: what a citation links to

    @property
    def link(self) -> str:
        return moment_url(self.source, self.source_type, self.moment)


def question_query(question: str) -> str:
    """An FTS5 query for a question written in words: any of its telling words, best ranked
    where most occur. A word also finds its longer forms (panel -> panels), and a plural its
    singular, since the index has no stemmer."""
    terms: dict[str, None] = {}
    words = []
    for word in _WORD.findall(question.lower()):
        if cjk.has_cjk(word):  # written without spaces: any two characters of it
            terms.update((f'"{pair}"', None) for pair in cjk.bigrams(word))
            words += cjk.outside_runs(word)
        else:
            words.append(word)
    for word in words:
        if word in STOPWORDS or (len(word) < 3 and not word.isdigit()):
            continue
        stem = (
            word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word
        )
        terms[f'"{stem}"*' if len(stem) >= 4 else f'"{stem}"'] = None
    return " OR ".join(terms)


class PassageIndex(SearchIndex):
    """The search index, answering with passages instead of single segments."""

    def __init__(self, store: Store):
        super().__init__(store, read=segments_from_files, link=moment_url)

    def passages(
        self,
        question: str,
        *,
        session_id: str | None = None,
        limit: int = DEFAULT_PASSAGES,
        neighbours: int = NEIGHBOURS,
        refresh: bool = True,
    ) -> list[Passage]:
        """Up to `limit` passages most relevant to `question`, best first; none when no
        telling word of it occurs anywhere."""
        query = question_query(question)
        if not query:
            return []
        if refresh:
            self.refresh()
        where = " AND i.session_id = ?" if session_id else ""
        params: list[object] = [session_id] if session_id else []
        with self._lock:
            hits = self._conn.execute(
                "SELECT f.rowid, f.item_id, f.rank, f.start, x.first_rowid, x.last_rowid,"
                " i.session_id, i.title, i.source, i.source_type"
                " FROM segments_fts f JOIN items i ON i.id = f.item_id"
                " JOIN indexed_items x ON x.item_id = f.item_id"
                f" WHERE segments_fts MATCH ? {where} ORDER BY f.rank LIMIT ?",
                [query, *params, limit * HITS_PER_PASSAGE],
            ).fetchall()
            windows: list[dict] = []
            for hit in hits:
                low = max(hit["first_rowid"], hit["rowid"] - neighbours)
                high = min(hit["last_rowid"], hit["rowid"] + neighbours)
                joined = next(
                    (
                        w
                        for w in windows
                        if w["item_id"] == hit["item_id"] and low <= w["high"] and high >= w["low"]
                    ),
                    None,
                )
                if joined is not None:  # overlaps a better passage: widen it instead
                    joined["low"], joined["high"] = (
                        min(low, joined["low"]),
                        max(high, joined["high"]),
                    )
                    continue
                if len(windows) < limit:
                    windows.append({**dict(hit), "low": low, "high": high})
            found = []
            for number, window in enumerate(windows, start=1):
                segments = self._conn.execute(
                    "SELECT text, start, end FROM segments_fts WHERE rowid BETWEEN ? AND ?"
                    " ORDER BY rowid",
                    (window["low"], window["high"]),
                ).fetchall()
                found.append(
                    Passage(
                        number=number,
                        item_id=window["item_id"],
                        session_id=window["session_id"],
                        title=window["title"] or window["source"].rsplit("/", 1)[-1],
                        source=window["source"],
                        source_type=SourceType(window["source_type"]),
                        start=segments[0]["start"],
                        end=segments[-1]["end"],
                        text=cjk.joined(" ".join(s["text"] for s in segments)),
                        rank=window["rank"],
                        moment=window["start"],
                    )
                )
        return found
