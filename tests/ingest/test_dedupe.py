from bulk_transcribe.ingest.dedupe import merge_duplicates
from bulk_transcribe.models import ItemSpec, SourceType


def yt(source: str, title: str | None = None, origin: str | None = None) -> ItemSpec:
    return ItemSpec(source, SourceType.YOUTUBE, title=title, origin=origin)


def test_first_occurrence_wins_and_order_is_kept() -> None:
    items, dropped = merge_duplicates(
        [
            yt("https://www.youtube.com/watch?v=aaaaaaaaaaa", "A", "row 2"),
            yt("https://www.youtube.com/watch?v=bbbbbbbbbbb", "B", "row 3"),
            yt("https://youtu.be/aaaaaaaaaaa", "A again", "row 4"),
        ]
    )
    assert [(i.title, i.origin) for i in items] == [("A", "row 2"), ("B", "row 3")]
    assert dropped == 1


def test_a_later_duplicate_fills_a_missing_title() -> None:
    items, dropped = merge_duplicates(
        [
            ItemSpec("https://e.com/a.mp3?utm_source=x", SourceType.HTTP_MEDIA, origin="line 1"),
            ItemSpec("https://E.com/a.mp3", SourceType.HTTP_MEDIA, title="Named", origin="line 2"),
        ]
    )
    assert [(i.source, i.title, i.origin) for i in items] == [
        ("https://e.com/a.mp3?utm_source=x", "Named", "line 1")
    ]
    assert dropped == 1


def test_five_thousand_items_merge_quickly() -> None:
    many = [yt(f"https://www.youtube.com/watch?v={i:011d}") for i in range(5000)] * 2
    items, dropped = merge_duplicates(many)
    assert (len(items), dropped) == (5000, 5000)
