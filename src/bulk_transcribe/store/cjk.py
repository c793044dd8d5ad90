"""Chinese and Japanese in the full-text index.

Both are written without spaces between words, so SQLite's unicode61 tokenizer reads a whole
sentence as one token and no word inside it can be found. The index therefore keeps each Han
or kana character as a token of its own, set apart by a zero-width space (`spaced`), which
the tokenizer reads as a separator and nobody writes; a run of them in a query becomes the
phrase of its characters, which matches exactly that run anywhere in a sentence
(`spaced_query`), and the separators are taken out again when text is read back (`joined`),
which gives the text back exactly as it was said.
FTS5's trigram tokenizer would need three characters a word, and most Chinese and Japanese
words have two.
"""

from __future__ import annotations

import re
from itertools import pairwise

# Hiragana, katakana, Han (extension A, unified, compatibility ideographs).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CHAR = re.compile(f"[{_CJK}]")
_RUN = re.compile(f"[{_CJK}]+")
SEPARATOR = "\u200b"  # zero-width space


def has_cjk(text: str) -> bool:
    return _CHAR.search(text) is not None


def spaced(text: str) -> str:
    """`text` as the index keeps it: every Han or kana character a word of its own."""
    if not has_cjk(text):
        return text
    marked = _CHAR.sub(lambda m: SEPARATOR + m.group() + SEPARATOR, text)
    return marked.replace(SEPARATOR * 2, SEPARATOR).strip(SEPARATOR)


def joined(text: str) -> str:
    """`spaced` undone."""
    return text.replace(SEPARATOR, "")


def spaced_query(query: str) -> str:
    """An FTS5 query whose runs of Han or kana match as written: a bare run becomes the quoted
    phrase of its characters, a run inside a quoted phrase is spaced within it."""
    if not has_cjk(query):
        return query
    parts = query.split('"')
    for n, part in enumerate(parts):
        if n % 2:  # inside quotes
            parts[n] = _RUN.sub(lambda m: spaced(m.group()), part)
        else:
            parts[n] = _RUN.sub(lambda m: f' "{spaced(m.group())}"', part)
    return '"'.join(parts)


def bigrams(word: str) -> list[str]:
    """A question's word's Han and kana runs as phrases of two characters, the usual way to
    search such text by relevance; its other letters as words of their own."""
    terms = []
    for run in _RUN.findall(word):
        if len(run) == 1:
            terms.append(run)
        terms += [f"{a}{SEPARATOR}{b}" for a, b in pairwise(run)]
    return terms


def outside_runs(word: str) -> list[str]:
    """The parts of `word` that are not Han or kana."""
    return [part for part in _RUN.split(word) if part]
