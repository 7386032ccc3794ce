"""How well OCR reads real receipts: the share of WildReceipt gold segments whose text the OCR recovers.

A gold segment counts as read when the OCR words whose box centre lies inside the segment's box, joined
without spaces in reading order, are at least 0.8 similar (``difflib`` ratio, case-insensitive) to the
segment's text (WildReceipt stores segment text with spaces removed). Segments with empty text are skipped.
This reads the raw ``dev.txt``/``train.txt`` lines itself so the OCR measurement does not depend on the
dataset importer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Sequence

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


def read_wildreceipt_split(root: Path, split: str = "dev") -> list[GoldReceipt]:
    """The receipts of ``{root}/{split}.txt`` with their non-empty gold segments."""
    receipts = []
    for line in (Path(root) / f"{split}.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        segments = []
        for annotation in record["annotations"]:
            text = str(annotation.get("text", "")).replace(" ", "")
            if not text:
                continue
            xs, ys = annotation["box"][0::2], annotation["box"][1::2]
            segments.append(GoldSegment(text=text, box=(min(xs), min(ys), max(xs), max(ys))))
        receipts.append(GoldReceipt(image_path=Path(root) / record["file_name"], segments=tuple(segments)))
    return receipts


def segment_read(document: Document, segment: GoldSegment, threshold: float = MATCH_THRESHOLD) -> bool:
    x0, y0, x1, y1 = segment.box
    inside = [w.text for w in document.words if x0 <= w.center[0] <= x1 and y0 <= w.center[1] <= y1]
    joined = "".join(inside).lower()
    return SequenceMatcher(None, joined, segment.text.lower()).ratio() >= threshold


def segments_read(document: Document, segments: Sequence[GoldSegment],
                  threshold: float = MATCH_THRESHOLD) -> tuple[int, int]:
    """(segments read, segments counted) for one receipt."""
    return sum(segment_read(document, s, threshold) for s in segments), len(segments)
