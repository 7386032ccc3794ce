"""join_leading_codes on real receipts: a product code a model left OTHER before an item name joins the name, and
what the rule does to CORD's gold labels is exactly the handful of codes its annotators left out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from receipt_core.data.document import Document
from receipt_core.data.schema import ITEM_NAME, OTHER
from receipt_core.model.item_codes import join_leading_codes
from receipt_core.evaluation.confidence import answered_words
from receipt_core.model.predict import document_prediction


def _gold(doc: Document) -> tuple[list[str], list[bool]]:
    return [w.field for w in doc.words], [w.is_quantity for w in doc.words]


def _changed(doc: Document) -> list[str]:
    fields, flags = _gold(doc)
    return [w.text for w, before, after in zip(doc.words, fields, join_leading_codes(doc.words, fields, flags))
            if before != after]


def _with_code_missed(cord_dev_report) -> tuple[Document, int]:
    """A CORD dev receipt whose item name opens with a store code (``4005-Maple glazed``), and that word's index."""
    doc = next(d for d in cord_dev_report.documents if any(w.text == "4005-Maple" for w in d.words))
    return doc, next(i for i, w in enumerate(doc.words) if w.text == "4005-Maple")


def test_cord_dev_gold_changes_only_the_codes_one_store_annotated_as_other(cord_dev_report):
    """On CORD dev's 100 annotated receipts the rule changes two words, both in one receipt whose annotators left the
    codes before the item names out of the names (the cost the README states); every other label stays."""
    changed = {doc.id: _changed(doc) for doc in cord_dev_report.documents}
    assert {doc_id: texts for doc_id, texts in changed.items() if texts} == {
        "cord-receipt_00269": ["01110000", "04100000"]}


def test_a_code_the_model_left_other_joins_the_item_name_after_it(cord_dev_report):
    doc, index = _with_code_missed(cord_dev_report)
    fields, flags = _gold(doc)
    assert fields[index] == ITEM_NAME and doc.words[index + 1].text == "glazed"
    fields[index] = OTHER  # the miss a model makes on a garbled code
    assert join_leading_codes(doc.words, fields, flags)[index] == ITEM_NAME


def test_the_rule_needs_four_digits_an_item_name_to_the_right_and_no_quantity_flag(cord_dev_report):
    doc, index = _with_code_missed(cord_dev_report)
    fields, flags = _gold(doc)
    fields[index] = OTHER
    short = [w if i != index else replace(w, text="400-Maple") for i, w in enumerate(doc.words)]
    assert join_leading_codes(short, fields, flags)[index] == OTHER  # three digits: could be a quantity
    flagged = list(flags)
    flagged[index] = True
    assert join_leading_codes(doc.words, fields, flagged)[index] == OTHER  # the quantity head claimed it
    name_missed = list(fields)
    name_missed[index + 1] = OTHER
    assert join_leading_codes(doc.words, name_missed, flags)[index] == OTHER  # no item name after it
    with pytest.raises(ValueError, match="one field and flag per word"):
        join_leading_codes(doc.words, fields[:-1], flags)


def test_the_prediction_marks_the_joined_code_and_reconcile_false_leaves_it(cord_dev_report):
    """The Predict page and ``evaluate --no-reconcile`` see the rule: the word is marked as settled by a rule, and a
    predictor made without reconciling leaves the decoding as it was."""
    doc, index = _with_code_missed(cord_dev_report)
    fields, flags = _gold(doc)
    fields[index] = OTHER
    scores = [0.5] * len(doc.words)

    def predicted(reconcile: bool):
        return document_prediction(doc, fields, flags, fields, lambda i, field, flag: 0.9, scores,
                                   reconcile=reconcile).words[index]

    joined, plain = predicted(True), predicted(False)
    assert (joined.field, joined.reconciled, joined.settled_by) == (ITEM_NAME, True, "product code")
    assert (plain.field, plain.reconciled, plain.settled_by) == (OTHER, False, "")
    assert joined.to_json()["settled_by"] == "product code" and plain.to_json()["settled_by"] is None
    row = next(r for r in answered_words(document_prediction(doc, fields, flags, fields, lambda i, f, q: 0.9, scores))
               if r["word"] == index)
    assert row["answered by"] == "product code"  # the Predict page's words table: not "line arithmetic"
