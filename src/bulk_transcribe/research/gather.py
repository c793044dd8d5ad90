"""From a question to a scored list: plan the searches, run each, merge, score relevance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bulk_transcribe.plurals import counted
from bulk_transcribe.research.candidates import Candidate, VideoQuery
from bulk_transcribe.research.finder import find_videos
from bulk_transcribe.research.planner import ChatPlanner, Usage, chat_configured
from bulk_transcribe.research.ytdlp_search import YoutubeDLFactory
from bulk_transcribe.settings import Settings

Report = Callable[[str], None]


@dataclass
class Gathered:
    videos: list[Candidate]
    queries: list[str]
    notes: list[str] = field(default_factory=list)  # what the user should know (fallbacks)
    usage: Usage = field(default_factory=Usage)


class ChatNotConfigured(ValueError):
    pass


def gather(
    query: VideoQuery,
    settings: Settings,
    *,
    plan: bool = False,
    score: bool = False,
    report: Report = lambda _line: None,
    ytdlp_factory: YoutubeDLFactory | None = None,
) -> Gathered:
    """Videos for `query.text` (a research question when `plan`), each query's results merged
    in order, scored when `score`. `report` hears estimates before and usage after."""
    if (plan or score) and not chat_configured(settings):
        raise ChatNotConfigured(
            "planning and scoring need a chat model: set BULK_TRANSCRIBE_CHAT_MODEL and "
            "BULK_TRANSCRIBE_CHAT_API_BASE (any OpenAI-compatible endpoint) and, if it needs "
            "one, BULK_TRANSCRIBE_CHAT_API_KEY"
        )
    result = Gathered(videos=[], queries=[query.text])
    planner = ChatPlanner(settings) if (plan or score) else None
    try:
        if planner is not None and plan:
            report(f"Planning searches: {planner.estimate_plan(query.text).describe()}")
            planned = planner.plan(query.text)
            _spent(result, planned.usage)
            result.queries = planned.queries
            if planned.problem:
                result.notes.append(planned.problem)
            planned_searches = counted(len(planned.queries), "search", "searches")
            report(f"Planned {planned_searches}: {planned.usage.describe(settings)}")
        seen: set[str] = set()
        for text in result.queries:
            for video in find_videos(replace(query, text=text), settings, ytdlp_factory):
                if video.video_id not in seen:
                    seen.add(video.video_id)
                    result.videos.append(video)
        if planner is not None and score and result.videos:
            estimate = planner.estimate_scoring(query.text, result.videos)
            report(f"Scoring relevance: {estimate.describe()}")
            scoring = planner.score(query.text, result.videos)
            _spent(result, scoring.usage)
            result.notes += scoring.problems
            result.videos = by_relevance(scoring.videos)
            report(
                f"Scored {counted(len(result.videos) - scoring.unscored, 'video')}: "
                f"{scoring.usage.describe(settings)}"
            )
    finally:
        if planner is not None:
            planner.close()
    return result


def by_relevance(videos: list[Candidate]) -> list[Candidate]:
    """Most relevant first; unscored ones keep their place after the scored ones."""
    scored = sorted((v for v in videos if v.relevance is not None), key=lambda v: -v.relevance)
    return scored + [v for v in videos if v.relevance is None]


def _spent(result: Gathered, usage: Usage) -> None:
    result.usage.calls += usage.calls
    result.usage.input_tokens += usage.input_tokens
    result.usage.output_tokens += usage.output_tokens
