"""Evaluation of both tasks over words and items.

Fields: micro and per-label precision, recall and F1 over words, leaving out OTHER (a word predicted OTHER
is a miss; a word wrongly predicted as a field is a false alarm; OTHER→OTHER counts for nothing).

Quantity: word-level precision, recall and F1 of "this word is an item's quantity", and item-level exact
quantity accuracy. An item is a group of gold words — the words sharing a ``group_id`` when the document
has group ids, else the words of a line — that holds at least one gold ITEM_NAME word. Its gold quantity is
the value of its first gold quantity word (1 when none); its predicted quantity the value of its first
predicted quantity word within the same words (1 when none). Because most items have quantity 1 (answering
1 everywhere scores about 0.85 on CORD), the same accuracy is also reported on items whose gold quantity is
not 1.

A score with nothing to score is None, never a number: item accuracy over receipts with no gold item, the
"not 1" accuracy without such an item, field F1 when neither the gold nor the prediction has a field word. A
run evaluated on two unlabelled uploads thus shows no "1.000" to be ranked against real evaluations (charts,
tables and "best" skip None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..data.document import Document
from ..data.quantity import parse_quantity
from ..data.schema import OTHER

_TOLERANCE = 1e-6


def _prf(tp: int, predicted: int, actual: int) -> tuple[float, float, float]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def field_metrics(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None) -> dict:
    """Micro and per-label P/R/F1 over aligned word labels, OTHER excluded.

    Returns ``{"micro_precision", "micro_recall", "micro_f1", "accuracy", "words", "field_words", "per_label":
    {label: {"precision", "recall", "f1", "support", "predicted"}}}`` (``field_words``: the gold words of a field,
    what the F1 is over); ``labels`` fixes which labels are listed.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"field_metrics needs aligned labels: {len(gold)} gold vs {len(predicted)} predicted")
    names = [l for l in (labels if labels is not None else sorted(set(gold) | set(predicted))) if l != OTHER]
    tp = {l: 0 for l in names}
    support = {l: 0 for l in names}
    guessed = {l: 0 for l in names}
    for g, p in zip(gold, predicted):
        if g != OTHER:
            support[g] = support.get(g, 0) + 1
        if p != OTHER:
            guessed[p] = guessed.get(p, 0) + 1
            if p == g:
                tp[p] = tp.get(p, 0) + 1
    per_label = {}
    for label in names:
        precision, recall, f1 = _prf(tp.get(label, 0), guessed.get(label, 0), support.get(label, 0))
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support.get(label, 0),
                            "predicted": guessed.get(label, 0)}
    precision, recall, f1 = _prf(sum(tp.values()), sum(guessed.values()), sum(support.values()))
    if not sum(support.values()) and not sum(guessed.values()):
        precision = recall = f1 = None  # no field word on either side: nothing to score
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0
    return {"micro_precision": precision, "micro_recall": recall, "micro_f1": f1, "accuracy": accuracy,
            "words": len(gold), "field_words": sum(support.values()), "per_label": per_label}


def items_of(doc: Document) -> list[list[int]]:
    """The gold items of a document as lists of word indices (see the module docstring)."""
    use_groups = any(w.group_id is not None for w in doc.words)
    members: dict[object, list[int]] = {}
    for index, word in enumerate(doc.words):
        key = ("group", word.group_id) if use_groups and word.group_id is not None else ("line", word.line_id)
        members.setdefault(key, []).append(index)
    return [indices for indices in members.values() if any(doc.words[i].field == "ITEM_NAME" for i in indices)]


def _first_value(indices: Sequence[int], flags: Sequence[bool], values: Sequence[float | None],
                 texts: Sequence[str]) -> float:
    for i in indices:
        if flags[i]:
            value = values[i] if values[i] is not None else parse_quantity(texts[i])
            if value is not None:
                return float(value)
    return 1.0


def _item_quantities(doc: Document, flags: Sequence[bool], values: Sequence[float | None]):
    """(word indices, gold quantity, predicted quantity) for each gold item of ``doc``."""
    texts = [w.text for w in doc.words]
    gold_flags = [w.is_quantity for w in doc.words]
    gold_values = [w.quantity_value for w in doc.words]
    for indices in items_of(doc):
        gold = _first_value(indices, gold_flags, gold_values, texts)
        yield indices, gold, _first_value(indices, flags, values, texts)


def quantity_metrics(gold_docs: Sequence[Document], predicted_flags: Sequence[Sequence[bool]],
                     predicted_values: Sequence[Sequence[float | None]]) -> dict:
    """Word-level P/R/F1 of quantity words and item-level exact quantity accuracy (all items, and items
    whose gold quantity is not 1). ``predicted_*[d][w]`` belong to ``gold_docs[d].words[w]``."""
    tp = predicted = actual = 0
    items = correct = items_not_one = correct_not_one = 0
    for doc, flags, values in zip(gold_docs, predicted_flags, predicted_values, strict=True):
        if len(flags) != len(doc.words) or len(values) != len(doc.words):
            raise ValueError(f"document {doc.id!r}: {len(doc.words)} words but {len(flags)} predicted flags and "
                             f"{len(values)} values")
        gold_flags = [w.is_quantity for w in doc.words]
        tp += sum(g and p for g, p in zip(gold_flags, flags))
        predicted += sum(bool(p) for p in flags)
        actual += sum(gold_flags)
        for _, gold_quantity, guess in _item_quantities(doc, flags, values):
            hit = math.isclose(gold_quantity, guess, abs_tol=_TOLERANCE)
            items += 1
            correct += hit
            if not math.isclose(gold_quantity, 1.0, abs_tol=_TOLERANCE):
                items_not_one += 1
                correct_not_one += hit
    precision, recall, f1 = _prf(tp, predicted, actual)
    return {"word_precision": precision, "word_recall": recall, "word_f1": f1, "words": actual,
            "item_accuracy": correct / items if items else None, "items": items,
            "item_accuracy_not_one": correct_not_one / items_not_one if items_not_one else None,
            "items_not_one": items_not_one}


def ones_baseline(metrics: Mapping[str, Any]) -> float | None:
    """The item quantity accuracy of answering 1 for every item (a model that reads no quantity at all) on the
    receipts ``metrics`` (flat: ``quantity.items``, ``quantity.items_not_one``) were measured on; None without
    items. A walkthrough's run that flagged no quantity word scored 0.909, as high as full fine-tuning, on 33 items
    of which 30 have quantity 1, and no page said so."""
    items, not_one = metrics.get("quantity.items"), metrics.get("quantity.items_not_one")
    if not items or not_one is None:
        return None
    return (items - not_one) / items


def ones_baseline_note(metrics: Mapping[str, Any]) -> str | None:
    """One sentence with :func:`ones_baseline` and its counts, for the pages beside an item quantity accuracy."""
    baseline = ones_baseline(metrics)
    if baseline is None:
        return None
    items, not_one = int(metrics["quantity.items"]), int(metrics["quantity.items_not_one"])
    return (f"Answering 1 for every item, reading no quantity at all, scores {baseline:.3f} item quantity accuracy "
            f"on these receipts ({items - not_one} of their {items} items have quantity 1); the items whose quantity "
            f"is not 1 ({not_one}) are where a model shows it reads quantities.")


@dataclass(frozen=True)
class ItemQuantityError:
    """One item whose predicted quantity differs from the gold one, with its words to show why: each word as
    ``text [gold field, * gold quantity word | predicted field, ^ predicted quantity word]``."""

    doc_id: str
    gold: float
    predicted: float
    words: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.doc_id}: gold {self.gold:g}, predicted {self.predicted:g}: {'  '.join(self.words)}"

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "gold": self.gold, "predicted": self.predicted, "words": list(self.words)}


def _aligned_predictions(gold_docs: Sequence[Document], predictions):
    """(gold document, its predicted words) in document order, predictions matched by doc id (a sequence of
    ``predict.DocumentPrediction`` or a mapping id → prediction); a ValueError names a document whose
    prediction is missing or has another number of words."""
    by_id = predictions if isinstance(predictions, Mapping) else {p.doc_id: p for p in predictions}
    for doc in gold_docs:
        if doc.id not in by_id:
            raise ValueError(f"no prediction for document {doc.id!r}")
        predicted = by_id[doc.id].words
        if len(predicted) != len(doc.words):
            raise ValueError(f"document {doc.id!r}: {len(doc.words)} gold words but {len(predicted)} predicted")
        yield doc, predicted


def item_quantity_errors(gold_docs: Sequence[Document], predictions) -> list[ItemQuantityError]:
    """The items ``quantity_metrics`` counts as wrong, in document order (predictions as for
    ``evaluate_predictions``): the error analysis behind the item accuracy."""
    errors = []
    for doc, predicted in _aligned_predictions(gold_docs, predictions):
        flags = [w.quantity for w in predicted]
        for indices, gold, guess in _item_quantities(doc, flags, [w.quantity_value for w in predicted]):
            if not math.isclose(gold, guess, abs_tol=_TOLERANCE):
                words = tuple(f"{doc.words[i].text} [{doc.words[i].field}{'*' if doc.words[i].is_quantity else ''}"
                              f" | {predicted[i].field}{'^' if flags[i] else ''}]" for i in indices)
                errors.append(ItemQuantityError(doc_id=doc.id, gold=gold, predicted=guess, words=words))
    return errors


def evaluate_predictions(gold_docs: Sequence[Document], predictions, labels: Sequence[str] | None = None) -> dict:
    """Both tasks' metrics for predictions (``predict.DocumentPrediction``, matched by doc id) of gold
    documents, as one flat dict: ``fields.micro_f1``, ``fields.per_label``, ``quantity.word_f1``,
    ``quantity.item_accuracy``, ``quantity.item_accuracy_not_one``, … plus ``documents``."""
    gold_fields: list[str] = []
    predicted_fields: list[str] = []
    flags, values = [], []
    for doc, predicted in _aligned_predictions(gold_docs, predictions):
        gold_fields.extend(w.field for w in doc.words)
        predicted_fields.extend(w.field for w in predicted)
        flags.append([w.quantity for w in predicted])
        values.append([w.quantity_value for w in predicted])
    result = {"documents": len(gold_docs)}
    result.update({f"fields.{k}": v for k, v in field_metrics(gold_fields, predicted_fields, labels).items()})
    result.update({f"quantity.{k}": v for k, v in quantity_metrics(gold_docs, flags, values).items()})
    return result
