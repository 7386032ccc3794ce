"""What an annotator does to a document besides picking labels: the rule of an edit, and suggestions from a run.

- :func:`word_edit` turns an annotator's change to one word (a new label and/or a typed quantity value) into the
  label and value to save, refusing a quantity value on a word that is not labelled ``QUANTITY``.
- :func:`prefill_from_prediction` relabels a document from a trained run's prediction, and
  :func:`least_confident` picks the receipt whose prediction is least sure, to label next.

Predictions come as ``DocumentPrediction.to_json()`` dicts (what the dashboard keeps between reruns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .document import Document, Word
from .schema import OTHER, QUANTITY


class AnnotationError(ValueError):
    """An edit that cannot be saved as given; the message says why."""


@dataclass(frozen=True)
class WordEdit:
    label: str  # a field or QUANTITY
    quantity_value: float | None  # only with QUANTITY (None: read the value from the word's text)


def word_edit(word: Word, changes: Mapping[str, Any]) -> WordEdit:
    """The label and quantity value to save for ``word`` after an annotator's ``changes``.

    ``changes`` holds only what the annotator changed: ``label`` and/or ``quantity_value`` (None clears it).
    A word keeps its current label when none is given; its value is dropped when the label is not QUANTITY.
    Raises AnnotationError when a value is typed for a word whose label is not QUANTITY.
    """
    label = changes.get("label", word.annotation_label)
    if label != QUANTITY and changes.get("quantity_value") is not None:
        raise AnnotationError(f"a quantity value needs the label {QUANTITY}")
    value = changes.get("quantity_value", word.quantity_value)
    return WordEdit(label=label, quantity_value=value if label == QUANTITY else None)


def prefill_from_prediction(doc: Document, prediction: Mapping[str, Any]) -> Document:
    """The document relabelled from a prediction (``DocumentPrediction.to_json()``, same words in the same order)."""
    words = prediction.get("words", [])
    if len(words) != len(doc.words):
        raise ValueError(f"the prediction has {len(words)} words but document {doc.id!r} has {len(doc.words)}")
    labelled = []
    for word, predicted in zip(doc.words, words):
        if predicted.get("quantity"):
            labelled.append(word.with_annotation(QUANTITY, predicted.get("quantity_value")))
        else:
            labelled.append(word.with_annotation(str(predicted.get("field", OTHER))))
    return doc.with_words(labelled)


def least_confident(predictions: Mapping[str, Mapping[str, Any]], exclude: set[str] = frozenset()) -> str | None:
    """The document id whose prediction has the lowest mean field score (ties: the first), skipping ``exclude``."""
    best, best_score = None, float("inf")
    for doc_id, prediction in predictions.items():
        if doc_id in exclude:
            continue
        scores = [w.get("field_score", 1.0) for w in prediction.get("words", ())]
        score = sum(scores) / len(scores) if scores else 1.0
        if score < best_score:
            best, best_score = doc_id, score
    return best
