from receipt_core.wording import counted


def test_a_count_agrees_with_its_noun():
    assert [counted(n, "receipt") for n in (0, 1, 2)] == ["0 receipts", "1 receipt", "2 receipts"]
    assert counted(1, "evaluation receipt") == "1 evaluation receipt"
    assert counted(3, "index", "indices") == "3 indices"


def test_a_core_message_begins_as_a_sentence_and_keeps_the_rest():
    from receipt_core.wording import as_sentence

    assert as_sentence("the dataset name 'café' contains 'é'") == "The dataset name 'café' contains 'é'"
    assert as_sentence("") == ""


def test_a_stored_timestamp_reads_as_a_date_and_time_and_anything_else_as_it_is():
    """A second walkthrough: a study's intro said "Started 2026-12-03T14:46:31+00:00"."""
    from receipt_core.wording import readable_time

    assert readable_time("2026-12-03T14:46:31+00:00") == "2026-12-03 14:46 UTC"
    assert readable_time("2026-12-03T15:46:31+01:00") == "2026-12-03 14:46 UTC"
    assert readable_time("now") == "now" and readable_time("") == ""
