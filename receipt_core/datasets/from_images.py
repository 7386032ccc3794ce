"""Training documents from a segment-labelled dataset's images: OCR each image, label the OCR words from the gold.

WildReceipt's gold words are annotated *segments* (``KOREANRESTAURANT``, one box), but at test time the model
reads Tesseract's own words. To train on what it will see, each image is OCR'd (the settings of end-to-end
evaluation, ``RECEIPT_OCR`` by default) and every OCR word takes the label of the gold segment its box centre
falls in, matched exactly as :mod:`receipt_core.evaluation.end_to_end` scores (the smallest segment when several hold the
centre): the segment's field, or for a quantity segment a quantity word with the segment's gold value. A word in
no segment (text the annotators skipped, or an empty-text ``Ignore`` box) is ``OTHER``. Gold segments that the
OCR did not read at all are simply absent from the training document.

A receipt read from its image is another document than its gold annotation: it takes the gold id plus
``OCR_READING_SUFFIX``, so the two readings of the same receipts can live side by side in a workspace and be
trained on together (``train --train wildreceipt-train wildreceipt-train-ocr``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from .report import ImportReport, make_report
from ..data.document import Document
from ..ocr.segments import assign_to_segments, ocr_gold_images
from ..data.schema import OTHER

OCR_READING_SUFFIX = "-ocr"


def ocr_reading_id(gold_id: str) -> str:
    """The id of a receipt's OCR reading: its gold id plus ``-ocr``."""
    return gold_id + OCR_READING_SUFFIX


def project_segment_labels(gold: Document, ocr: Document) -> Document:
    """``ocr``'s words (text, boxes, confidences, lines) with the labels of ``gold``'s segments, under ``gold``'s id.

    Both documents must be in the same pixel frame (the OCR of ``gold``'s own image); a page size that differs
    raises ValueError rather than mislabel every word.
    """
    if (ocr.width, ocr.height) != (gold.width, gold.height):
        raise ValueError(f"{gold.id}: the image is {ocr.width}x{ocr.height} pixels but its annotations describe a "
                         f"{gold.width}x{gold.height} page; the segment boxes would not line up with the OCR words")
    owner = assign_to_segments(gold.words, [w.box for w in ocr.words])
    words = []
    for word, index in zip(ocr.words, owner, strict=True):
        segment = gold.words[index] if index is not None else None
        if segment is None:
            words.append(dataclasses.replace(word, field=OTHER, is_quantity=False, quantity_value=None, group_id=None))
        else:
            words.append(dataclasses.replace(word, field=segment.field, is_quantity=segment.is_quantity,
                                             quantity_value=segment.quantity_value if segment.is_quantity else None,
                                             group_id=segment.group_id))
    meta = {**gold.meta, **ocr.meta, "labels": "projected from gold segments onto OCR words"}
    return dataclasses.replace(gold, words=tuple(words), image_sha256=ocr.image_sha256 or gold.image_sha256,
                               meta=meta).as_imported()


def ocr_projected_report(report: ImportReport, settings=None, workers: int | None = None,
                         progress: Callable[[int, int], None] | None = None,
                         cache_folder: Path | None = None) -> ImportReport:
    """An imported dataset's documents rebuilt from their images: OCR words labelled by :func:`project_segment_labels`,
    each under :func:`ocr_reading_id` of its gold id.

    Documents without an image, images Tesseract cannot read and page-size mismatches are listed in
    ``problems`` (after the import's own) and left out. ``settings`` defaults to ``RECEIPT_OCR``; OCR runs in
    parallel processes and is cached in ``cache_folder`` when given (a second import costs no Tesseract run).
    """
    from ..ocr.engine import RECEIPT_OCR

    settings = settings or RECEIPT_OCR
    problems = list(report.problems)
    without_image = [doc.id for doc in report.documents if doc.id not in report.images]
    problems += [f"{doc_id}: no image, so nothing to OCR; skipped" for doc_id in without_image]
    ocr_docs, errors = ocr_gold_images(report.documents, report.images, settings, workers=workers,
                                       progress=progress, cache_folder=cache_folder)
    problems += [f"{error}; skipped" for error in errors]
    documents, images = [], {}
    for gold in report.documents:
        if gold.id not in ocr_docs:
            continue
        try:
            projected = project_segment_labels(gold, ocr_docs[gold.id])
        except ValueError as error:
            problems.append(f"{error}; skipped")
            continue
        reading = dataclasses.replace(projected, id=ocr_reading_id(gold.id))
        documents.append(reading)
        images[reading.id] = report.images[gold.id]
    return make_report(documents, images, problems)
