"""OCR words against annotated segments: which gold segment each OCR word falls in, and the OCR of gold images.

The gold words of a dataset such as WildReceipt are annotated *segments* (``KOREANRESTAURANT``, one box),
while the model reads the OCR's own words. An OCR word belongs to the gold segment its box centre falls in
(the smallest such segment when segments overlap), and to none when it falls in none. End-to-end evaluation
scores by this matching and training data from images is labelled by it, so both use this one module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..data.boxes import area, contains
from ..data.document import Document, Word


def assign_to_segments(segments: Sequence[Word], boxes: Sequence[Sequence[float]]) -> list[int | None]:
    """For each predicted word box, the index of the gold segment holding its centre (smallest one), or None."""
    assigned: list[int | None] = []
    for box in boxes:
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        holders = [i for i, s in enumerate(segments) if contains(s.box, centre)]
        assigned.append(min(holders, key=lambda i: area(segments[i].box)) if holders else None)
    return assigned


def ocr_gold_images(gold_docs: Sequence[Document], images: Mapping[str, Path], settings,
                    workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                    cache_folder: Path | None = None) -> tuple[dict[str, Document], list[str]]:
    """OCR the images of the gold documents that have one (parallel, cached in ``cache_folder`` when given).

    Returns the OCR documents by gold document id, and ``"<id>: <reason>"`` for each image Tesseract could not
    read. The OCR documents' boxes are in the image's pixels, the frame of the gold segments.
    """
    from .engine import OcrCache, ocr_many

    items = [(doc.id, Path(images[doc.id]).read_bytes()) for doc in gold_docs if doc.id in images]
    cache = OcrCache(cache_folder) if cache_folder is not None else None
    results = ocr_many(items, settings, workers=workers, progress=progress, cache=cache, keep_images=False)
    ocr_docs = {r.name: r.document for r in results if r.document is not None}
    errors = [r.error for r in results if r.error is not None]  # each names its file
    return ocr_docs, errors
