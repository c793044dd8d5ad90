"""Quotations in a model's answer, checked against the passages it cites.

A researcher takes words in quotation marks for what was said. A model may make them up, or
quote one passage while citing another; both read as the transcript's words with a link to
a moment that does not hold them. Only the text in the passages decides, ignoring case,
punctuation and spacing, the way a transcript's wording is compared by eye.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# "…", “…”, „…“, «…», »…«, 「…」, 『…』; single quotes are left out, they are apostrophes too.
_QUOTED = re.compile(
    r'"([^"]+)"|“([^”]+)”|„([^“”]+)[“”]|«([^»]+)»|»([^«]+)«|「([^」]+)」|『([^』]+)』'
)
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MIN_WORDS = 3  # shorter quotations are mostly a term set apart ("smart" meters), not a quote
MIN_SPACELESS_CHARS = 4  # Chinese or Japanese, written without spaces


def unfound_quotes(sentence: str, passages: Iterable[str]) -> list[str]:
    """The quotations in `sentence` that none of `passages` holds, as the model wrote them."""
    said = " ".join(_words(text) for text in passages)
    unfound = []
    for match in _QUOTED.finditer(sentence):
        quoted = next(group for group in match.groups() if group is not None).strip()
        words = _words(quoted)
        if not _long_enough(quoted, words):
            continue
        if f" {words} " not in f" {said} " and not (_SPACELESS.search(quoted) and words in said):
            unfound.append(quoted.strip(" .,;:!?"))
    return unfound


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _long_enough(quoted: str, words: str) -> bool:
    if _SPACELESS.search(quoted):
        return len(words.replace(" ", "")) >= MIN_SPACELESS_CHARS
    return len(words.split()) >= MIN_WORDS
