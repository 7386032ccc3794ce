"""What an annotator does to a document besides picking labels: the rule of an edit, and suggestions from a run.

- :func:`word_edit` turns an annotator's change to one word (a new label and/or a typed quantity value) into the
  label and value to save, refusing a quantity value on a word that is not labelled ``QUANTITY``.
- :func:`label_word` is a person's label for one word.
- :func:`suggest_from_prediction` stores a trained run's prediction as *suggestions* (``Word.suggestion``) on the
  words nobody has labelled; a person's or a dataset's label is never touched. :func:`accept_suggestions` makes
  suggestions labels (per word, per receipt, or only those scoring at least ``min_score``) with
  ``label_source="model"``, and :func:`reject_suggestions` drops them. Accepted item words join items by line
  (``item_groups.py``).
- :func:`set_group` puts a word into an item (``group_id``) or takes it out; :func:`new_group_id` is a free number.
- :func:`least_confident` picks the receipt whose prediction is least sure, to label next, and
  :func:`least_sure_words` says why: the words the model is least sure of.

Every change function returns an :class:`AnnotationResult`: the new document plus one :class:`WordChange`
(index, word before, word after) per word it changed — what the workspace's undo history stores — and a line per
word it left alone for a reason worth showing. Predictions come as ``DocumentPrediction.to_json()`` dicts (what
the dashboard keeps between reruns).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Collection, Mapping

from .document import MAX_GROUP_ID, MODEL, Document, Suggestion, Word
from .item_groups import free_group_id, group_accepted_items
from .quantity import MAX_QUANTITY, parse_quantity
from .schema import DEFAULT_SCHEMA, ITEM_FIELDS, OTHER, QUANTITY, LabelSchema, stored_answer
from ..wording import counted


class AnnotationError(ValueError):
    """An edit that cannot be saved as given; the message says why."""


@dataclass(frozen=True)
class WordEdit:
    label: str  # a field or QUANTITY
    quantity_value: float | None  # only with QUANTITY (None: read the value from the word's text)


@dataclass(frozen=True)
class WordChange:
    index: int
    before: Word
    after: Word


@dataclass(frozen=True)
class AnnotationResult:
    document: Document
    changes: tuple[WordChange, ...]
    skipped: tuple[str, ...] = ()  # "word 4 ('abc'): why it was left alone"


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
    return WordEdit(label=label, quantity_value=checked_quantity(value) if label == QUANTITY else None)


def checked_quantity(value: float | None) -> float | None:
    """A typed quantity value as saved: a number from 0 to ``MAX_QUANTITY`` (what every importer reads back), or
    AnnotationError. None stays None (the value is read from the word's text)."""
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
            or not 0 <= value <= MAX_QUANTITY:
        raise AnnotationError(f"a quantity value must be a number from 0 to {MAX_QUANTITY:,.0f}, got {value!r}")
    return float(value)


def label_word(doc: Document, index: int, label: str, quantity_value: float | None = None,
               schema: LabelSchema = DEFAULT_SCHEMA) -> AnnotationResult:
    """Word ``index`` labelled by a person (a field or ``QUANTITY``; a quantity's value is read from its text when
    not given, and stays empty for the person to type when the text holds no number). AnnotationError for an
    unknown label or a missing word."""
    if label not in schema.annotation_labels:
        raise AnnotationError(f"unknown label {label!r}; choose one of {', '.join(schema.annotation_labels)}")
    return _result(doc, [(index, _word(doc, index).with_annotation(label, checked_quantity(quantity_value)))])


def label_words(doc: Document, indices: Collection[int], label: str,
                schema: LabelSchema = DEFAULT_SCHEMA) -> AnnotationResult:
    """Words ``indices`` all labelled ``label`` by a person, as :func:`label_word` labels one (a box drawn over
    several words on Annotate, as Label Studio labels a multi-selection). As ``QUANTITY`` each word's value is read
    from its text; a word holding no number is skipped, said in ``skipped``."""
    if label not in schema.annotation_labels:
        raise AnnotationError(f"unknown label {label!r}; choose one of {', '.join(schema.annotation_labels)}")
    updates, without_number = [], []
    for index in sorted(set(indices)):
        word = _word(doc, index)
        if label == QUANTITY and parse_quantity(word.text) is None:
            without_number.append(f"#{index} {word.text[:40]!r}")
            continue
        updates.append((index, word.with_annotation(label, None)))
    # one line for them all: probe 32's box over 5,000 words drew 5,000 warnings and held the page for minutes
    was = "it was" if len(without_number) == 1 else "they were"
    skipped = [f"{counted(len(without_number), 'word')} without a number left as {was}, not {QUANTITY}: "
               f"{', '.join(without_number[:5])}"
               + (f" and {len(without_number) - 5:,} more" if len(without_number) > 5 else "")
               + " (label a quantity word alone and type its value)"] if without_number else []
    return _result(doc, updates, skipped)


def answer_score(predicted: Mapping[str, Any]) -> float:
    """The probability of the answer a predicted word (``DocumentPrediction.to_json()``'s) got: the quantity head's
    for a quantity word (its field score is OTHER's), else the field head's. Annotate's suggestions and every figure
    use it, as Predict's tables do (``evaluation.confidence.word_confidence``): a second walkthrough saw 0.98 on
    Annotate and 0.9988 on Predict for the same word."""
    if predicted.get("quantity") and predicted.get("quantity_score") is not None:
        return float(predicted["quantity_score"])
    return float(predicted.get("field_score", 0.0))


def suggest_from_prediction(doc: Document, prediction: Mapping[str, Any], run_id: str) -> AnnotationResult:
    """Suggestions from run ``run_id``'s prediction (``DocumentPrediction.to_json()``, same words in the same
    order) on every word nobody has labelled; labelled words (a person's, an import's, an accepted suggestion)
    keep their label and get no suggestion. A quantity suggestion's value is read from the word's text."""
    words = prediction.get("words", [])
    if len(words) != len(doc.words):
        raise AnnotationError(f"the prediction has {len(words)} words but document {doc.id!r} has "
                              f"{len(doc.words)}; predict again")
    # the same words, not just as many: a word added and another deleted while the model read the receipt (another
    # session) shifted every suggestion after it onto the wrong word (a probe)
    for index, (word, predicted) in enumerate(zip(doc.words, words)):
        if "text" in predicted and predicted["text"] != word.text:
            raise AnnotationError(f"receipt {doc.id!r} changed while the model read it (word #{index} is now "
                                  f"{word.text!r}, the model read {str(predicted.get('text'))!r}), in another session "
                                  "or by your own change; nothing was suggested: suggest again")
    # answers are stored as labels Annotate shows: a probe's re-signed run named a lookalike of ITEM_NAME, and the
    # receipt it was stored on failed at every visit
    unknown = {str(p.get("field", OTHER)) for p in words if not p.get("quantity")} - set(DEFAULT_SCHEMA.fields)
    if unknown:
        raise AnnotationError(f"run {run_id!r} answers with {ascii(min(unknown))[:60]}, which is not one of the labels "
                              f"({', '.join(DEFAULT_SCHEMA.fields)}); nothing was suggested")
    updates = []
    for index, (word, predicted) in enumerate(zip(doc.words, words)):
        if word.is_labelled:
            continue
        is_quantity = bool(predicted.get("quantity"))
        score = answer_score(predicted)
        suggestion = Suggestion(field=OTHER if is_quantity else str(predicted.get("field", OTHER)),
                                is_quantity=is_quantity,
                                quantity_value=parse_quantity(word.text) if is_quantity else None,
                                run=run_id, score=min(max(score, 0.0), 1.0))
        if suggestion != word.suggestion:
            updates.append((index, dataclasses.replace(word, suggestion=suggestion)))
    return _result(doc, updates)


def accept_suggestions(doc: Document, indices: Collection[int] | None = None,
                       min_score: float = 0.0) -> AnnotationResult:
    """The suggestions of words ``indices`` (None: every word) scoring at least ``min_score`` made labels
    (``label_source="model"``, with the run and score). A quantity suggestion whose word holds no number is not
    accepted (a quantity needs a value; the skipped line says to type it)."""
    updates, skipped = [], []
    for index in _indices(doc, indices):
        word = doc.words[index]
        suggestion = word.suggestion
        if suggestion is None or suggestion.score < min_score:
            continue
        if suggestion.annotation_label not in DEFAULT_SCHEMA.annotation_labels:  # a tampered workspace's
            skipped.append(f"word {index} ({word.text!r}): suggested as {ascii(suggestion.annotation_label)[:60]}, "
                           "which is not one of the labels; label it")
            continue
        value = suggestion.quantity_value
        if suggestion.is_quantity and value is None:
            value = parse_quantity(word.text)
            if value is None:
                skipped.append(f"word {index} ({word.text!r}): suggested as {QUANTITY} but holds no number; "
                               "label it and type its value")
                continue
        updates.append((index, word.with_annotation(suggestion.annotation_label, value, source=MODEL,
                                                    run=suggestion.run, score=suggestion.score)))
    words = list(doc.words)
    for index, after in updates:
        words[index] = after
    grouped = group_accepted_items(words, {index for index, _ in updates})  # items as the suggestion showed them
    return _result(doc, [(index, grouped[index]) for index, _ in updates], skipped)


def reject_suggestions(doc: Document, indices: Collection[int] | None = None) -> AnnotationResult:
    """The suggestions of words ``indices`` (None: every word) dropped; labels stay as they are."""
    updates = [(i, dataclasses.replace(doc.words[i], suggestion=None)) for i in _indices(doc, indices)
               if doc.words[i].suggestion is not None]
    return _result(doc, updates)


def set_group(doc: Document, index: int, group_id: int | None) -> AnnotationResult:
    """Word ``index`` made part of item ``group_id`` (None: of no item); its label and provenance stay. Put into an
    item, it takes along the item words of its line that are in no item yet (labelled item fields and quantities),
    as one change: an annotator grouped a five-word item one word and three clicks at a time."""
    if group_id is not None and (isinstance(group_id, bool) or not isinstance(group_id, int)
                                 or not 0 <= group_id <= MAX_GROUP_ID):
        # the importers' range: a larger number made the receipt's own export unimportable (a probe)
        raise AnnotationError(f"an item number is a whole number from 0 to {MAX_GROUP_ID:,}, got {group_id!r}")
    word = _word(doc, index)
    changes = [(index, dataclasses.replace(word, group_id=group_id))]
    if group_id is not None:
        changes += [(i, dataclasses.replace(other, group_id=group_id)) for i, other in enumerate(doc.words)
                    if i != index and other.line_id == word.line_id and other.group_id is None and other.is_labelled
                    and (other.field in ITEM_FIELDS or other.is_quantity)]
    return _result(doc, changes)


def new_group_id(doc: Document) -> int:
    """An item number no word of ``doc`` uses yet (``item_groups.free_group_id``)."""
    return free_group_id({w.group_id for w in doc.words if w.group_id is not None})


def is_item_group(doc: Document, group_id: int) -> bool:
    """Whether the words of ``group_id`` make an item: one of them is an item's name, unit price, price or
    quantity. CORD numbers every line group, its subtotal and total lines too; those groups are not items."""
    return any(w.group_id == group_id and (w.field in ITEM_FIELDS or w.is_quantity) for w in doc.words)


def item_numbers(doc: Document) -> dict[int, int]:
    """Each item group's number as a person reads it, 1…n in reading order (as the overlay's "items (n)" legend
    counts them): CORD's own group ids (a walkthrough saw "item 32" on a receipt of 5 items) stay the stored values
    only. Groups that are no item (CORD's subtotal and total lines) have no number."""
    groups = {w.group_id for w in doc.words if w.group_id is not None}
    first_word = {group: min(i for i, w in enumerate(doc.words) if w.group_id == group) for group in groups}
    items = sorted((g for g in groups if is_item_group(doc, g)), key=first_word.get)
    return {group: n for n, group in enumerate(items, start=1)}


@dataclass(frozen=True)
class UnsureWord:
    index: int
    text: str
    answer: str  # the label the model gave (a field or QUANTITY)
    score: float  # its probability, 0-1


def least_sure_words(prediction: Mapping[str, Any], count: int = 5) -> list[UnsureWord]:
    """The ``count`` words of a prediction (``DocumentPrediction.to_json()``) whose answer the model was least sure
    of, least sure first: why :func:`least_confident` chose its receipt. A word's score is its answer's (the
    quantity head's for a quantity word), and a word a rule answered (its line's arithmetic, a product code) is
    left out, as Predict and the overlay leave it out: a walkthrough's table listed product codes "ITEM_NAME 0.022"
    that a rule had settled."""
    words = [UnsureWord(index=i, text=str(w.get("text", "")), answer=stored_answer(w), score=score)
             for i, w in enumerate(prediction.get("words", ())) if (score := _answer_score(w)) is not None]
    return sorted(words, key=lambda w: (w.score, w.index))[:max(count, 0)]


def least_confident(predictions: Mapping[str, Mapping[str, Any]], exclude: set[str] = frozenset()) -> str | None:
    """The document id whose prediction has the lowest mean answer score over the words no rule answered (ties:
    the first), skipping ``exclude``."""
    best, best_score = None, float("inf")
    for doc_id, prediction in predictions.items():
        if doc_id in exclude:
            continue
        scores = [score for w in prediction.get("words", ()) if (score := _answer_score(w)) is not None]
        score = sum(scores) / len(scores) if scores else 1.0
        if score < best_score:
            best, best_score = doc_id, score
    return best


def _answer_score(word: Mapping[str, Any]) -> float | None:
    """:func:`answer_score` of a predicted word, or None when a rule gave the answer (``reconciled``)."""
    return None if word.get("reconciled") else answer_score(word)


def _word(doc: Document, index: int) -> Word:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(doc.words):
        raise AnnotationError(f"document {doc.id!r} has {len(doc.words)} words; there is no word {index!r}")
    return doc.words[index]


def _indices(doc: Document, indices: Collection[int] | None) -> list[int]:
    if indices is None:
        return list(range(len(doc.words)))
    for index in indices:
        _word(doc, index)
    return sorted(set(indices))


def _result(doc: Document, updates: list[tuple[int, Word]], skipped: list[str] = ()) -> AnnotationResult:
    words = list(doc.words)
    changes = []
    for index, after in updates:
        if after != words[index]:
            changes.append(WordChange(index, words[index], after))
            words[index] = after
    return AnnotationResult(document=doc.with_words(words) if changes else doc, changes=tuple(changes),
                            skipped=tuple(skipped))
