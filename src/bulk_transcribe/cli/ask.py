"""`bulk-transcribe ask`: a question answered from the transcripts, with links to the moments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.plurals import counted

from .common import (
    EXIT_OK,
    DbOption,
    OutOption,
    console,
    errors,
    find_session,
    open_store,
    settings_from,
    usage_error,
)

if TYPE_CHECKING:
    from bulk_transcribe.service.research import Answer

EXIT_NO_ANSWER = 1


def register(app: typer.Typer) -> None:
    """Add this module's command to the `bulk-transcribe` app."""
    app.command()(ask)


def ask(
    question: Annotated[str, typer.Argument(help="Your question, in words.", show_default=False)],
    out: OutOption = Path("output"),
    db: DbOption = None,
    session_id: Annotated[
        str | None, typer.Option("--session", help="Only this session (id or unique prefix).")
    ] = None,
    limit: Annotated[
        int, typer.Option(help="Passages given to the model, at most.", min=1, max=30)
    ] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Answer a question from everything transcribed (a chat model reads the most relevant
    passages; every sentence links to the moments it rests on)."""
    from bulk_transcribe.service.research import ask as answer_question

    settings = settings_from()
    with open_store(out, db) as store:
        wanted = find_session(store, session_id).id if session_id else None
        try:
            answer = answer_question(store, question, settings, session_id=wanted, limit=limit)
        except TranscribeError as exc:
            raise usage_error(exc.message) from exc
    if as_json:
        print(json.dumps(_as_dict(answer), ensure_ascii=False, indent=2))
    else:
        _print(answer)
    raise typer.Exit(EXIT_OK if answer.sentences else EXIT_NO_ANSWER)


def _print(answer: Answer) -> None:
    from bulk_transcribe.figures import clock

    if answer.found_nothing:
        console.print(
            "Nothing relevant found in the transcripts for this question; the model was not "
            "asked. Try other words, or `bulk-transcribe find` to search.",
            highlight=False,
        )
        return
    if answer.problem:
        errors.print(f"[bold red]no answer:[/] {escape(answer.problem)}", highlight=False)
    for sentence in answer.sentences:
        marks = " ".join(f"[{p.number}]" for p in sentence.passages) or "(no source)"
        console.print(f"{escape(sentence.text)} [cyan]{escape(marks)}[/]", highlight=False)
        for quote in sentence.unfound_quotes:
            console.print(
                f"    [bold yellow]quotation not found in the passages it cites:[/] "
                f"“{escape(quote)}”",
                highlight=False,
            )
        for passage in sentence.passages:
            console.print(
                f"    [{passage.number}] [link={passage.link}]{escape(passage.link)}[/link]",
                highlight=False,
            )
    if answer.dropped_citations:
        errors.print(
            f"[yellow]note:[/] {counted(answer.dropped_citations, 'citation')} to passages that "
            f"were not given {'was' if answer.dropped_citations == 1 else 'were'} dropped.",
            highlight=False,
        )
    shown = answer.used or answer.passages
    console.print("\n[bold]Passages[/]" + (" used" if answer.used else " found"), highlight=False)
    for passage in shown:
        console.print(
            f"[{passage.number}] [bold]{escape(passage.title)}[/] "
            f"[cyan]{clock(passage.moment, moment=True)}[/]"
            f" {escape(passage.link)}",
            highlight=False,
        )
        console.print(f"    {escape(passage.text)}", highlight=False)


def _as_dict(answer: Answer) -> dict:
    def passage(p) -> dict:
        return {
            "number": p.number,
            "title": p.title,
            "session_id": p.session_id,
            "source": p.source,
            "start": p.start,
            "moment": p.moment,
            "end": p.end,
            "link": p.link,
            "text": p.text,
        }

    return {
        "question": answer.question,
        "sentences": [
            {
                "text": s.text,
                "citations": [p.number for p in s.passages],
                "links": s.links,
                "unfound_quotes": s.unfound_quotes,
            }
            for s in answer.sentences
        ],
        "dropped_citations": answer.dropped_citations,
        "problem": answer.problem,
        "passages": [passage(p) for p in answer.passages],
    }
