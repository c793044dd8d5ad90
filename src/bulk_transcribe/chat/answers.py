"""Asking the corpus: the passages most relevant to a question, answered by a chat model from
them only, every sentence citing the passages (and so the moments) it rests on.

Citations are checked before anything is shown: a number that names no passage given is
dropped and counted. When nothing relevant is found the model is not asked at all; when the
model fails, the passages found are still returned with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from bulk_transcribe.chat.client import ChatClient, Usage, chat_configured
from bulk_transcribe.chat.passages import DEFAULT_PASSAGES, Passage, PassageIndex
from bulk_transcribe.chat.quotes import unfound_quotes
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.outputs.moments import moment_clock as clock
from bulk_transcribe.plurals import counted
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store

__all__ = ["Answer", "CitedSentence", "Passage", "ask"]

PASSAGE_CHARS = 1500  # one passage's text as the model is shown it, at most


class _Sentence(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    citations: list[int] = Field(default_factory=list, max_length=20)


class _AnswerSchema(BaseModel):
    sentences: list[_Sentence] = Field(min_length=1, max_length=40)


ANSWER_PROMPT = (
    "You answer a researcher's question from numbered passages of transcripts, and from "
    "nothing else. Write a short answer as sentences; each sentence lists the numbers of the "
    "passages it rests on in `citations`. Cite only the numbers given; put in quotation "
    "marks only words exactly as a passage you cite has them. If the passages do not "
    "answer the question, say so in one sentence with no citations. Answer with JSON only, "
    "matching this JSON schema:\n{schema}"
)


@dataclass(frozen=True)
class CitedSentence:
    text: str
    passages: list[Passage]  # the passages it cites, in its order
    unfound_quotes: list[str] = field(default_factory=list)  # quoted, but not in those passages

    @property
    def links(self) -> list[str]:
        return [p.link for p in self.passages]


@dataclass(frozen=True)
class Answer:
    question: str
    passages: list[Passage]  # what retrieval found and the model was shown
    sentences: list[CitedSentence] = field(default_factory=list)
    dropped_citations: int = 0  # citations of passages that were not given
    unfound_quotes: int = 0  # quotations no passage its sentence cites holds
    problem: str | None = None  # why there is no answer, when the model failed
    usage: Usage = field(default_factory=Usage)

    @property
    def found_nothing(self) -> bool:
        return not self.passages

    @property
    def used(self) -> list[Passage]:
        """The passages some sentence cites, in passage order."""
        cited = {p.number for s in self.sentences for p in s.passages}
        return [p for p in self.passages if p.number in cited]


def ask(
    store: Store,
    question: str,
    settings: Settings,
    *,
    session_id: str | None = None,
    limit: int = DEFAULT_PASSAGES,
) -> Answer:
    """Answer `question` from the transcripts in `store` (or one session's)."""
    if not question.strip():
        raise PermanentError(ErrorKind.INVALID_INPUT, "type a question to ask")
    if not chat_configured(settings):
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            "asking needs a chat model: set BULK_TRANSCRIBE_CHAT_API_BASE (an OpenAI-compatible "
            "endpoint) and BULK_TRANSCRIBE_CHAT_MODEL, and BULK_TRANSCRIBE_CHAT_API_KEY if it "
            "needs one",
        )
    with PassageIndex(store) as index:
        passages = index.passages(question, session_id=session_id, limit=limit)
    if not passages:
        return Answer(question, [])
    usage = Usage()
    with ChatClient(settings) as chat:
        answer, problem = chat.ask(_messages(question, passages), _AnswerSchema, usage)
    if answer is None:
        return Answer(question, passages, problem=problem, usage=usage)
    return _checked(question, passages, answer, usage)


def _messages(question: str, passages: list[Passage]) -> list[dict[str, str]]:
    schema = json.dumps(_AnswerSchema.model_json_schema())
    listing = "\n\n".join(
        f"[{p.number}] {p.title} ({clock(p.start)}-{clock(p.end)}): {p.text[:PASSAGE_CHARS]}"
        for p in passages
    )
    return [
        {"role": "system", "content": ANSWER_PROMPT.format(schema=schema)},
        {"role": "user", "content": f"Question: {question.strip()}\n\nPassages:\n{listing}"},
    ]


def _checked(question: str, passages: list[Passage], answer: _AnswerSchema, usage: Usage) -> Answer:
    by_number = {p.number: p for p in passages}
    sentences, dropped = [], 0
    for sentence in answer.sentences:
        cited = []
        for number in dict.fromkeys(sentence.citations):
            if number in by_number:
                cited.append(by_number[number])
            else:
                dropped += 1
        text = sentence.text.strip()
        # Uncited, a quotation is looked for in every passage the model was shown.
        quotes = unfound_quotes(text, [p.text for p in cited or passages])
        sentences.append(CitedSentence(text, cited, quotes))
    if dropped and not any(s.passages for s in sentences):
        # Every citation names a passage that was not given: the answer rests on nothing the
        # user can check, so it is not shown as one (the passages found still are).
        problem = (
            f"the model cited only passages that were not given ({counted(dropped, 'citation')}"
            "): its answer rests on nothing shown, so it is left out"
        )
        return Answer(question, passages, [], dropped, problem=problem, usage=usage)
    unfound = sum(len(s.unfound_quotes) for s in sentences)
    return Answer(question, passages, sentences, dropped, unfound, usage=usage)
