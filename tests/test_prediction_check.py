"""The watched receipt's prediction against its labels (receipt_core/evaluation/prediction_check.py)."""

from __future__ import annotations

from receipt_core.data.document import Document, Word
from receipt_core.evaluation.prediction_check import wrong_words


def _doc() -> Document:
    return Document("r", 100, 100, (Word("Tea", (0, 0, 9, 9), field="ITEM_NAME"),
                                    Word("2", (10, 0, 19, 9), is_quantity=True, quantity_value=2.0),
                                    Word("302,016", (0, 20, 9, 29), field="TOTAL"),
                                    Word("thanks", (0, 40, 9, 49))))  # nobody labelled it: not compared


def test_the_wrong_words_are_listed_with_both_labels():
    prediction = {"words": [{"field": "ITEM_NAME", "quantity": False}, {"field": "OTHER", "quantity": True},
                            {"field": "PAYMENT", "quantity": False}, {"field": "TOTAL", "quantity": False}]}
    compared, right, wrong = wrong_words(_doc(), prediction)
    assert (compared, right) == (3, 2)
    assert wrong == [{"word": 2, "text": "302,016", "predicted": "PAYMENT", "labelled": "TOTAL"}]


def test_a_prediction_of_other_words_compares_nothing():
    assert wrong_words(_doc(), {"words": [{"field": "TOTAL"}]}) == (0, 0, [])
