"""How well OCR reads real receipts: the share of WildReceipt gold segments whose text the OCR recovers.

A gold segment counts as read when the OCR words whose box centre lies inside the segment's box, joined
without spaces in reading order, are at least 0.8 similar (``difflib`` ratio, case-insensitive) to the
segment's text (WildReceipt stores segment text with spaces removed). Segments with empty text are skipped. The
gold comes from the one WildReceipt reader, ``datasets.load_dataset(path, "wildreceipt")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Mapping, Sequence

from ..data.boxes import contains
from ..data.document import Box, Document

MATCH_THRESHOLD = 0.8


@dataclass(frozen=True)
class GoldSegment:
    text: str
    box: Box  # axis-aligned bounds of the segment's quadrilateral


@dataclass(frozen=True)
class GoldReceipt:
    image_path: Path
    segments: tuple[GoldSegment, ...]


def gold_receipts(documents: Sequence[Document], images: Mapping[str, Path]) -> list[GoldReceipt]:
    """The receipts of a segment-labelled dataset (as ``datasets.load_dataset`` reads WildReceipt) that have an
    image, each with its non-empty gold segments (text without spaces, as WildReceipt stores it)."""
    receipts = []
    for doc in documents:
        if doc.id not in images:
            continue
        segments = tuple(GoldSegment(text=w.text.replace(" ", ""), box=tuple(w.box)) for w in doc.words
                         if w.text.replace(" ", ""))
        receipts.append(GoldReceipt(image_path=Path(images[doc.id]), segments=segments))
    return receipts


def segment_read(document: Document, segment: GoldSegment, threshold: float = MATCH_THRESHOLD) -> bool:
    inside = [w.text for w in document.words if contains(segment.box, w.center)]
    joined = "".join(inside).lower()
    return SequenceMatcher(None, joined, segment.text.lower()).ratio() >= threshold


def segments_read(document: Document, segments: Sequence[GoldSegment],
                  threshold: float = MATCH_THRESHOLD) -> tuple[int, int]:
    """(segments read, segments counted) for one receipt."""
    return sum(segment_read(document, s, threshold) for s in segments), len(segments)
