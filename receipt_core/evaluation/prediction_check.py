"""The watched receipt's prediction beside its labels: how many words came out as labelled, and which did not. The
live view drew the predicted labels only, so a demo showed "PAYMENT" on a grand total with nothing to say it was
wrong (a walkthrough)."""

from __future__ import annotations

from typing import Any, Mapping

from ..data.document import Document
from ..data.schema import stored_answer

MAX_SHOWN = 12  # wrong words listed; the count says how many there are


def wrong_words(doc: Document, prediction: Mapping[str, Any]) -> tuple[int, int, list[dict[str, Any]]]:
    """(labelled words compared, of them right, the wrong ones as rows: word, text, predicted, labelled). Words are
    matched by position, as a prediction holds the receipt's words in order; none are compared when the counts
    differ (the receipt was corrected since)."""
    predicted = prediction.get("words") or []
    if len(predicted) != len(doc.words):
        return 0, 0, []
    compared, right, rows = 0, 0, []
    for index, (word, guess) in enumerate(zip(doc.words, predicted)):
        if not word.is_labelled:
            continue
        answer = stored_answer(guess)
        compared += 1
        if answer == word.annotation_label:
            right += 1
        else:
            rows.append({"word": index, "text": word.text, "predicted": answer, "labelled": word.annotation_label})
    return compared, right, rows
