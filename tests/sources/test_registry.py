"""Sources own their links: each claims what it takes and expands its collections, and a new
one joins with one module and one line in SOURCES — here a toy one, in this file."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import SplitResult, urlsplit

import pytest

from bulk_transcribe import service, sources
from bulk_transcribe.models import Entry, InvalidEntry, ItemSpec, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.base import ExpandContext, ExpandResult, Expansion, Source
from tests.sources.media_server import MediaServer, Route

TOY_PATH = "/toy-list/"


class ToyListSource(Source):
    """A plain-text page of links, one a line, at /toy-list/…: expanded into its links."""

    name = "toy_list"

    def claim(self, url: str, parts: SplitResult, origin: str) -> Entry | None:
        if not parts.path.startswith(TOY_PATH):
            return None
        metadata = {"toy_list": True}
        return ItemSpec(url, SourceType.HTTP_MEDIA, metadata=metadata, origin=origin)

    def expands(self, spec: ItemSpec) -> bool:
        return bool(spec.metadata.get("toy_list"))

    def expand(
        self, spec: ItemSpec, context: ExpandContext, result: ExpandResult
    ) -> list[ItemSpec]:
        links = context.fetch_bytes(spec.source, context.settings).decode().split()
        result.expansions.append(Expansion(spec.source, "toy list", None, len(links), len(links)))
        return [replace(spec, source=link, metadata={}) for link in links]


@pytest.fixture
def with_toy_source(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one line: its place in SOURCES (before the catch-all for media links).
    monkeypatch.setattr(sources, "SOURCES", [ToyListSource(), *sources.SOURCES])


def test_a_new_source_claims_its_links_and_expands_them(
    with_toy_source: None, media_server: MediaServer
) -> None:
    episodes = [media_server.url(f"/audio/{n}.mp3") for n in (1, 2)]
    listing = media_server.add(
        TOY_PATH + "week1", Route("\n".join(episodes).encode(), "text/plain")
    )

    ingested = service.inputs.read_inputs([listing, media_server.url("/solo.mp3")])
    expanded = service.inputs.expand(ingested.items, Settings())

    assert [spec.source for spec in expanded.items] == [*episodes, media_server.url("/solo.mp3")]
    assert [(e.kind, e.found) for e in expanded.expansions] == [("toy list", 2)]


def test_links_go_to_the_first_source_that_claims_them() -> None:
    claims = {
        url: sources.claim_url(url, urlsplit(url), "arg")
        for url in (
            "https://youtu.be/dQw4w9WgXcQ",
            "https://feeds.example.org/show",
            "https://media.example.org/ep1.mp3",
            "https://www.youtube.com/results?search_query=x",
        )
    }

    kinds = {url: getattr(entry, "source_type", None) for url, entry in claims.items()}
    assert kinds == {
        "https://youtu.be/dQw4w9WgXcQ": SourceType.YOUTUBE,
        "https://feeds.example.org/show": SourceType.PODCAST_FEED,
        "https://media.example.org/ep1.mp3": SourceType.HTTP_MEDIA,
        "https://www.youtube.com/results?search_query=x": None,
    }
    refused = claims["https://www.youtube.com/results?search_query=x"]
    assert isinstance(refused, InvalidEntry) and "names no video" in refused.reason


def test_text_a_source_knows_is_claimed_without_a_scheme() -> None:
    bare = sources.claim_text("dQw4w9WgXcQ", "arg")
    pasted = sources.claim_text("youtu.be/dQw4w9WgXcQ", "arg")

    assert (
        bare
        == pasted
        == ItemSpec("https://www.youtube.com/watch?v=dQw4w9WgXcQ", SourceType.YOUTUBE, origin="arg")
    )
    assert sources.claim_text("notes about a talk", "arg") is None


def test_only_collections_are_expanded() -> None:
    playlist = ItemSpec("https://www.youtube.com/playlist?list=PL1", SourceType.YOUTUBE)
    video = ItemSpec("https://www.youtube.com/watch?v=dQw4w9WgXcQ", SourceType.YOUTUBE)
    unnamed = ItemSpec("https://media.example.org/download?id=4", SourceType.HTTP_MEDIA)
    named = ItemSpec("https://media.example.org/ep1.mp3", SourceType.HTTP_MEDIA)

    assert [sources.is_collection(s) for s in (playlist, video, unnamed, named)] == [
        True,
        False,
        False,
        False,
    ]
    assert [type(sources.expander_for(s)).__name__ for s in (playlist, unnamed)] == [
        "YouTubeSource",
        "HttpMediaSource",
    ]
    assert sources.expander_for(named) is None and sources.expander_for(video) is None
