"""End-to-end evaluation from pixels: OCR a labelled dataset's images, predict, score against the gold segments.

The gold words of a dataset such as WildReceipt are annotated *segments* (``KOREANRESTAURANT``, one box),
while the model reads the OCR's own words. A predicted word counts for the gold segment its box centre falls
in (the smallest such segment when segments overlap; :func:`receipt_core.ocr.segments.assign_to_segments`), and
for nothing (gold ``OTHER``) when it falls in none.

- **Fields**: micro precision/recall/F1 over the OCR words (OTHER excluded, as in ``metrics.field_metrics``),
  where a word's gold field is its segment's. A gold field segment that no OCR word falls in cannot be found
  by the model and counts as one miss, so OCR losses show in the recall.
- **Quantity**, per gold quantity segment: correct when its first word predicted as a quantity parses to the
  segment's gold value (when the gold text has no parseable value, any predicted quantity word there counts).
  Also the precision of quantity words (the share of predicted quantity words that lie in a gold quantity
  segment) and the OCR coverage (gold segments with at least one OCR word).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..data.document import Document
from ..data.quantity import parse_quantity
from ..data.schema import OTHER
from ..ocr.segments import assign_to_segments, ocr_gold_images

_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SegmentScore:
    """The counts of one receipt (sums over receipts give the dataset's figures)."""

    field_true_positives: int = 0
    field_predicted: int = 0  # OCR words predicted as a field (not OTHER)
    field_actual: int = 0  # OCR words inside a gold field segment + gold field segments with no OCR word
    quantity_segments: int = 0
    quantity_correct: int = 0
    quantity_words_predicted: int = 0
    quantity_words_in_segments: int = 0  # … of which inside a gold quantity segment
    segments: int = 0
    segments_seen: int = 0  # gold segments with at least one OCR word inside

    def __add__(self, other: "SegmentScore") -> "SegmentScore":
        return SegmentScore(*(a + b for a, b in zip(self._values(), other._values())))

    def _values(self) -> tuple[int, ...]:
        return (self.field_true_positives, self.field_predicted, self.field_actual, self.quantity_segments,
                self.quantity_correct, self.quantity_words_predicted, self.quantity_words_in_segments,
                self.segments, self.segments_seen)


def score_document(gold: Document, prediction) -> SegmentScore:
    """Score one receipt's prediction (``predict.DocumentPrediction`` over the OCR words) against its gold
    segments (``gold.words``, in the same pixel frame)."""
    segments = gold.words
    words = prediction.words
    owner = assign_to_segments(segments, [w.box for w in words])
    members: dict[int, list[int]] = {}
    for index, segment in enumerate(owner):
        if segment is not None:
            members.setdefault(segment, []).append(index)
    tp = predicted = actual = 0
    for word, segment in zip(words, owner):
        gold_field = segments[segment].field if segment is not None else OTHER
        if word.field != OTHER:
            predicted += 1
            tp += word.field == gold_field
        actual += gold_field != OTHER
    actual += sum(1 for i, s in enumerate(segments) if s.field != OTHER and i not in members)
    quantity_segments = quantity_correct = 0
    for i, segment in enumerate(segments):
        if not segment.is_quantity:
            continue
        quantity_segments += 1
        flagged = [words[j] for j in members.get(i, []) if words[j].quantity]
        if not flagged:
            continue
        gold_value = segment.quantity_value if segment.quantity_value is not None else parse_quantity(segment.text)
        if gold_value is None:
            quantity_correct += 1
            continue
        guess = flagged[0].quantity_value if flagged[0].quantity_value is not None else parse_quantity(flagged[0].text)
        quantity_correct += guess is not None and math.isclose(float(guess), float(gold_value), abs_tol=_TOLERANCE)
    flagged_words = [segment for word, segment in zip(words, owner) if word.quantity]
    return SegmentScore(
        field_true_positives=tp, field_predicted=predicted, field_actual=actual,
        quantity_segments=quantity_segments, quantity_correct=quantity_correct,
        quantity_words_predicted=len(flagged_words),
        quantity_words_in_segments=sum(1 for s in flagged_words if s is not None and segments[s].is_quantity),
        segments=len(segments), segments_seen=len(members))


def summarize(score: SegmentScore) -> dict[str, float | int]:
    """The dataset's figures from summed counts."""
    precision = score.field_true_positives / score.field_predicted if score.field_predicted else 0.0
    recall = score.field_true_positives / score.field_actual if score.field_actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "fields.micro_precision": precision, "fields.micro_recall": recall, "fields.micro_f1": f1,
        "quantity.segment_accuracy": score.quantity_correct / score.quantity_segments if score.quantity_segments else 0.0,
        "quantity.segments": score.quantity_segments,
        "quantity.word_precision": (score.quantity_words_in_segments / score.quantity_words_predicted
                                    if score.quantity_words_predicted else 0.0),
        "ocr.segment_coverage": score.segments_seen / score.segments if score.segments else 0.0,
        "segments": score.segments,
    }


def evaluate_from_images(predictor, gold_docs: Sequence[Document], images: Mapping[str, Path], settings=None,
                         workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                         cache_folder: Path | None = None) -> dict:
    """OCR every gold document's image, predict on the OCR words, and score against the gold segments.

    ``images`` maps document id → image file (``ImportReport.images``). Returns :func:`summarize`'s figures
    plus ``documents``, ``ocr_settings`` and ``ocr_errors`` (images Tesseract could not read count as receipts
    where every gold segment was missed).
    """
    from ..ocr.engine import RECEIPT_OCR

    settings = settings or RECEIPT_OCR
    missing = [doc.id for doc in gold_docs if doc.id not in images]
    if missing:
        raise ValueError(f"{len(missing)} document(s) have no image (e.g. {missing[0]!r}); end-to-end evaluation "
                         "needs a dataset with pixels, such as WildReceipt")
    ocr_docs, errors = ocr_gold_images(gold_docs, images, settings, workers=workers, progress=progress,
                                       cache_folder=cache_folder)
    read = [gold for gold in gold_docs if gold.id in ocr_docs]
    predictions = predictor.predict([ocr_docs[gold.id] for gold in read])  # in the order of ``read``
    total = SegmentScore()
    for gold, prediction in zip(read, predictions, strict=True):
        total = total + score_document(gold, prediction)
    for gold in gold_docs:
        if gold.id not in ocr_docs:
            total = total + _all_missed(gold)
    return {**summarize(total), "documents": len(gold_docs), "ocr_settings": settings.name,
            "ocr_settings_key": settings.key(), "ocr_errors": errors}


def _all_missed(gold: Document) -> SegmentScore:
    return SegmentScore(field_actual=sum(w.field != OTHER for w in gold.words),
                        quantity_segments=sum(w.is_quantity for w in gold.words), segments=len(gold.words))


def evaluate_dataset_from_images(predictor, path: Path, format: str, settings=None,
                                 progress: Callable[[int, int], None] | None = None,
                                 cache_folder: Path | None = None) -> dict:
    """:func:`evaluate_from_images` over a dataset folder/file (e.g. WildReceipt ``dev.txt``)."""
    from ..datasets import load_dataset

    report = load_dataset(Path(path), format)
    if not report.documents:
        raise ValueError(f"{path} holds no documents")
    if not report.images:
        raise ValueError(f"{path} has no images ({format} data without pixels); --from-images needs a dataset "
                         "with image files, such as WildReceipt")
    docs = [doc for doc in report.documents if doc.id in report.images]
    return evaluate_from_images(predictor, docs, report.images, settings=settings, progress=progress,
                                cache_folder=cache_folder)
