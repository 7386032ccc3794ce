"""Box arithmetic in page pixels, and the box each word is encoded with.

A box is ``(x0, y0, x1, y1)`` with ``x0 <= x1`` and ``y0 <= y1`` (``document.Box``). OCR merging, region
re-reads, corrections, the synthetic renderer, the figures and the encoder all use these few operations, so each
has one definition here. Pure Python: the CLI and the pages import the box modes without loading torch.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from .document import Box, Document

# Which box each word's tokens get: its own ("word"); its OCR line's, the union of the line's word boxes, as
# LayoutLMv3 and LiLT do ("line"); or its own left and right edges with its line's top and bottom ("row"), so
# that the words of a line share one row while each keeps its column.
BOX_MODES = ("word", "line", "row")
BOX_SCALE = 1000  # the encoder's boxes are LayoutLM page coordinates from 0 to BOX_SCALE


def area(box: Sequence[float]) -> float:
    """The box's area; 0 for an inverted box."""
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def intersection_area(a: Sequence[float], b: Sequence[float]) -> float:
    return max(min(a[2], b[2]) - max(a[0], b[0]), 0.0) * max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)


def overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over the smaller box's area: 1.0 when one box lies inside the other."""
    smaller = min(area(a), area(b))
    return intersection_area(a, b) / smaller if smaller > 0 else 0.0


def union(boxes: Iterable[Sequence[float]]) -> Box:
    """The smallest box holding every box of ``boxes`` (at least one)."""
    x0s, y0s, x1s, y1s = zip(*boxes)
    return (min(x0s), min(y0s), max(x1s), max(y1s))


def contains(box: Sequence[float], point: Sequence[float]) -> bool:
    """Whether ``point`` (x, y) lies in ``box``, edges included."""
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def clip(box: Sequence[float], region: Sequence[float], min_side: float = 1.0) -> Box | None:
    """The part of ``box`` inside ``region``; None when it is thinner than ``min_side`` either way."""
    x0, y0 = max(box[0], region[0]), max(box[1], region[1])
    x1, y1 = min(box[2], region[2]), min(box[3], region[3])
    if x1 - x0 < min_side or y1 - y0 < min_side:
        return None
    return (x0, y0, x1, y1)


def check_box_mode(boxes: str) -> str:
    """``boxes`` itself when it is one of ``BOX_MODES``; a ValueError naming the choices otherwise."""
    if boxes not in BOX_MODES:
        raise ValueError(f"unknown box mode {boxes!r}; choose one of {', '.join(BOX_MODES)}")
    return boxes


def stored_box_mode(settings: Mapping[str, Any]) -> str:
    """The box mode recorded in a run's or a study's settings. Files written before there were three modes
    say ``"line_boxes": true|false`` instead of ``"boxes"``."""
    if "boxes" in settings:
        return check_box_mode(settings["boxes"])
    return "line" if settings.get("line_boxes") else "word"


def line_boxes_of(doc: Document) -> list[Box]:
    """Each word's OCR line box: the union of the boxes of all words sharing its ``line_id``."""
    lines: dict[int, list[Box]] = {}
    for word in doc.words:
        lines.setdefault(word.line_id, []).append(word.box)
    line_box = {line_id: union(boxes) for line_id, boxes in lines.items()}
    return [line_box[word.line_id] for word in doc.words]


def row_boxes_of(doc: Document) -> list[Box]:
    """Each word's own left and right edges with its OCR line's top and bottom."""
    return [(word.box[0], line[1], word.box[2], line[3]) for word, line in zip(doc.words, line_boxes_of(doc))]


def layout_boxes(doc: Document, boxes: str) -> list[Box]:
    """The pixel box each word of ``doc`` is encoded with, for one of ``BOX_MODES``."""
    if check_box_mode(boxes) == "line":
        return line_boxes_of(doc)
    if boxes == "row":
        return row_boxes_of(doc)
    return [word.box for word in doc.words]
