from bulk_transcribe.plurals import counted


def test_one_is_singular_every_other_count_plural_with_thousands_separated() -> None:
    assert counted(1, "item") == "1 item"
    assert counted(0, "item") == "0 items"
    assert counted(1200, "item") == "1,200 items"
    assert counted(2, "entry", "entries") == "2 entries"
    assert counted(1, "entry", "entries") == "1 entry"
