"""Accepted suggestions join items by receipt line (data/item_groups.py): a walkthrough accepted a run's
suggestions on a receipt, and Mark done then said every accepted quantity "belongs to no item"."""

from __future__ import annotations

from receipt_core.data.annotation import accept_suggestions
from receipt_core.data.document import MODEL, Document, Suggestion, Word
from receipt_core.data.item_groups import group_accepted_items
from receipt_core.data.review import done_warning, with_suggestions


def _word(text: str, line: int, field: str = "OTHER", quantity: bool = False, group: int | None = None,
          labelled: bool = False) -> Word:
    suggestion = Suggestion(field=field if not quantity else "OTHER", is_quantity=quantity,
                            quantity_value=float(text) if quantity else None, run="r1", score=0.9)
    if labelled:
        return Word(text, (0, line * 10, 10, line * 10 + 8), line_id=line, field=field, is_quantity=quantity,
                    quantity_value=float(text) if quantity else None, group_id=group, label_source="person")
    return Word(text, (0, line * 10, 10, line * 10 + 8), line_id=line, suggestion=suggestion)


def test_accepted_item_words_join_items_line_by_line_as_predict_groups_them():
    doc = Document("r", 100, 200, (
        _word("SHOP", 0, "OTHER"),
        _word("2", 1, quantity=True), _word("Tea", 1, "ITEM_NAME"), _word("4.00", 1, "ITEM_PRICE"),
        _word("Cake", 2, "ITEM_NAME"),  # a name printed above its price
        _word("1", 3, quantity=True), _word("3.50", 3, "ITEM_PRICE"),
        _word("TOTAL", 4, "TOTAL"), _word("7.50", 4, "TOTAL")))
    result = accept_suggestions(doc)
    groups = [w.group_id for w in result.document.words]
    assert groups == [None, 0, 0, 0, 1, 1, 1, None, None], groups
    assert all(w.label_source == MODEL for w in result.document.words)
    assert done_warning(result.document) is None  # no quantity "belongs to no item"
    # what training with pending suggestions sees is the same
    assert [w.group_id for w in with_suggestions(doc).words] == groups


def test_a_persons_item_is_kept_and_extended_and_new_items_take_free_numbers():
    words = [
        _word("Tea", 0, "ITEM_NAME", group=5, labelled=True), _word("2", 0, quantity=True),  # a person's item 5
        _word("Cake", 1, "ITEM_NAME"), _word("1", 1, quantity=True),
        _word("Bun", 2, "ITEM_NAME", labelled=True),  # a person's label, no item: not ours to group
    ]
    doc = Document("r", 100, 200, tuple(words))
    accepted = accept_suggestions(doc, [1, 2, 3]).document
    assert [w.group_id for w in accepted.words] == [5, 5, 6, 6, None]
    # only the words accepted in this call are grouped; an ungrouped word before them is left as it is
    later = accept_suggestions(doc, [3]).document
    assert [w.group_id for w in later.words] == [5, None, None, 6, None]


def test_a_price_line_before_any_named_item_starts_no_item():
    words = [_word("1", 0, quantity=True), _word("2.00", 0, "ITEM_PRICE")]
    assert [w.group_id for w in group_accepted_items(
        [w.with_annotation(w.suggestion.annotation_label, w.suggestion.quantity_value) for w in words], {0, 1})] \
        == [None, None]
