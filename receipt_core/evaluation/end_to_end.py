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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..data.document import Document, Word
from ..data.quantity import parse_quantity
from ..data.schema import OTHER
from ..ocr.segments import assign_to_segments, ocr_gold_images
from ..wording import counted

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
    owner, members = segment_members(segments, words)
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
        if segment.is_quantity:
            quantity_segments += 1
            flagged = [words[j] for j in members.get(i, []) if words[j].quantity]
            quantity_correct += quantity_read_right(segment, flagged)
    flagged_words = [segment for word, segment in zip(words, owner) if word.quantity]
    return SegmentScore(
        field_true_positives=tp, field_predicted=predicted, field_actual=actual,
        quantity_segments=quantity_segments, quantity_correct=quantity_correct,
        quantity_words_predicted=len(flagged_words),
        quantity_words_in_segments=sum(1 for s in flagged_words if s is not None and segments[s].is_quantity),
        segments=len(segments), segments_seen=len(members))


def segment_members(segments: Sequence[Word], words) -> tuple[list[int | None], dict[int, list[int]]]:
    """Each word's gold segment (:func:`assign_to_segments`) and, per segment index, its words' indices in order."""
    owner = assign_to_segments(segments, [w.box for w in words])
    members: dict[int, list[int]] = {}
    for index, segment in enumerate(owner):
        if segment is not None:
            members.setdefault(segment, []).append(index)
    return owner, members


def gold_quantity(segment: Word) -> float | None:
    """A gold quantity segment's value: its annotated one, else the number its text prints (None if none)."""
    return segment.quantity_value if segment.quantity_value is not None else parse_quantity(segment.text)


def quantity_read_right(segment: Word, flagged: Sequence) -> bool:
    """Whether a gold quantity segment is right end to end, given its words predicted as quantities in reading
    order: the first one's value (its ``quantity_value``, else its text's) is the gold value; when the gold text
    holds no value, any flagged word counts."""
    if not flagged:
        return False
    gold_value = gold_quantity(segment)
    if gold_value is None:
        return True
    guess = flagged[0].quantity_value if flagged[0].quantity_value is not None else parse_quantity(flagged[0].text)
    return guess is not None and math.isclose(float(guess), float(gold_value), abs_tol=_TOLERANCE)


def summarize(score: SegmentScore) -> dict[str, float | int | None]:
    """The dataset's figures from summed counts; a share of nothing (no quantity segment, no segment) is None, which
    `evaluate` prints as "n/a" (a probe read 0.0000 for a dataset with no quantities as every one missed)."""
    precision = score.field_true_positives / score.field_predicted if score.field_predicted else 0.0
    recall = score.field_true_positives / score.field_actual if score.field_actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "fields.micro_precision": precision, "fields.micro_recall": recall, "fields.micro_f1": f1,
        "quantity.segment_accuracy": (score.quantity_correct / score.quantity_segments if score.quantity_segments
                                      else None),
        "quantity.segments": score.quantity_segments,
        "quantity.word_precision": (score.quantity_words_in_segments / score.quantity_words_predicted
                                    if score.quantity_words_predicted else 0.0),
        "ocr.segment_coverage": score.segments_seen / score.segments if score.segments else None,
        "segments": score.segments,
    }


@dataclass(frozen=True)
class EndToEndRun:
    """What an end-to-end evaluation saw: the gold documents, the OCR of each image Tesseract could read, and
    the predictions over those OCR words (both keyed by gold document id)."""

    gold_docs: tuple[Document, ...]
    ocr_docs: Mapping[str, Document]
    predictions: Mapping[str, object]  # gold id → predict.DocumentPrediction over ocr_docs[gold id]
    ocr_errors: tuple[str, ...]  # "<id>: <reason>" per image Tesseract could not read
    ocr_settings_name: str
    ocr_settings_key: str
    without_image: tuple[str, ...] = ()  # ids of the dataset's receipts left out: they have no image to read


def run_from_images(predictor, gold_docs: Sequence[Document], images: Mapping[str, Path], settings=None,
                    workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                    cache_folder: Path | None = None) -> EndToEndRun:
    """OCR every gold document's image and predict on the OCR words. ``images`` maps document id → image file
    (``ImportReport.images``)."""
    from ..ocr.engine import RECEIPT_OCR

    settings = settings or RECEIPT_OCR
    missing = [doc.id for doc in gold_docs if doc.id not in images]
    if missing:
        raise ValueError(f"{counted(len(missing), 'document')} without an image (e.g. {missing[0]!r}); "
                         "end-to-end evaluation needs a dataset with pixels, such as WildReceipt")
    ocr_docs, errors = ocr_gold_images(gold_docs, images, settings, workers=workers, progress=progress,
                                       cache_folder=cache_folder)
    read = [gold.id for gold in gold_docs if gold.id in ocr_docs]
    predictions = predictor.predict([ocr_docs[doc_id] for doc_id in read])  # in the order of ``read``
    return EndToEndRun(gold_docs=tuple(gold_docs), ocr_docs=ocr_docs,
                       predictions=dict(zip(read, predictions, strict=True)), ocr_errors=tuple(errors),
                       ocr_settings_name=settings.name, ocr_settings_key=settings.key())


def score_run(run: EndToEndRun) -> dict:
    """:func:`summarize`'s figures of a run plus ``documents``, ``ocr_settings``, ``ocr_errors`` (images
    Tesseract could not read count as receipts where every gold segment was missed) and
    ``documents_without_image`` (receipts of the dataset that were not scored at all)."""
    total = SegmentScore()
    for gold in run.gold_docs:
        prediction = run.predictions.get(gold.id)
        total = total + (score_document(gold, prediction) if prediction is not None else _all_missed(gold))
    return {**summarize(total), "documents": len(run.gold_docs), "ocr_settings": run.ocr_settings_name,
            "ocr_settings_key": run.ocr_settings_key, "ocr_errors": list(run.ocr_errors),
            "documents_without_image": len(run.without_image)}


def evaluate_from_images(predictor, gold_docs: Sequence[Document], images: Mapping[str, Path], settings=None,
                         workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                         cache_folder: Path | None = None) -> dict:
    """OCR every gold document's image, predict on the OCR words, and score against the gold segments
    (:func:`run_from_images`, then :func:`score_run`)."""
    return score_run(run_from_images(predictor, gold_docs, images, settings=settings, workers=workers,
                                     progress=progress, cache_folder=cache_folder))


def _all_missed(gold: Document) -> SegmentScore:
    return SegmentScore(field_actual=sum(w.field != OTHER for w in gold.words),
                        quantity_segments=sum(w.is_quantity for w in gold.words), segments=len(gold.words))


def run_dataset_from_images(predictor, path: Path, format: str, settings=None,
                            progress: Callable[[int, int], None] | None = None,
                            cache_folder: Path | None = None) -> EndToEndRun:
    """:func:`run_from_images` over a dataset folder/file with images (e.g. WildReceipt ``dev.txt``)."""
    from ..datasets import load_dataset

    report = load_dataset(Path(path), format)
    if not report.documents:
        raise ValueError(f"{path} holds no documents")
    if not report.images:
        # the reason the import gave, if it refused them (a probe's images behind a link out of the folder)
        why = next((f": {problem}" for problem in report.problems if "without pixels" in problem), "")
        raise ValueError(f"{path} has no usable images ({format} data without pixels{why}); --from-images needs a "
                         "dataset with image files, such as WildReceipt")
    docs = [doc for doc in report.documents if doc.id in report.images]
    run = run_from_images(predictor, docs, report.images, settings=settings, progress=progress,
                          cache_folder=cache_folder)
    return replace(run, without_image=tuple(doc.id for doc in report.documents if doc.id not in report.images))


def evaluate_dataset_from_images(predictor, path: Path, format: str, settings=None,
                                 progress: Callable[[int, int], None] | None = None,
                                 cache_folder: Path | None = None) -> dict:
    """:func:`evaluate_from_images` over a dataset folder/file (e.g. WildReceipt ``dev.txt``)."""
    return score_run(run_dataset_from_images(predictor, path, format, settings=settings, progress=progress,
                                             cache_folder=cache_folder))
