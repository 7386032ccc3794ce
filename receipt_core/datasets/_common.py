"""Helpers the dataset loaders share: boxes from corner points, clamping to the page, image hashing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from ..data.document import Box
from ..data.files import file_sha256


class RecordError(ValueError):
    """One bad record (a word, a receipt); the loader reports it and carries on."""


def number(value: object, what: str) -> float:
    """A finite JSON number, or RecordError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(f"{what} must be a number, got {value!r}")
    return float(value)


def page_size(width: object, height: object, what: str) -> tuple[int, int]:
    """A positive integer page size, or RecordError."""
    w, h = number(width, f"{what} width"), number(height, f"{what} height")
    if w <= 0 or h <= 0 or not w.is_integer() or not h.is_integer():
        raise RecordError(f"{what} must be positive whole pixels, got {width!r}x{height!r}")
    return int(w), int(h)


def box_on_page(xs: Sequence[float], ys: Sequence[float], width: int, height: int) -> tuple[Box, bool]:
    """The axis-aligned box around corner points, clamped to the page, and whether clamping changed it.

    Raises RecordError when the box lies entirely off the page (nothing of the word is on it).
    """
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    if x0 > width or y0 > height or x1 < 0 or y1 < 0:
        raise RecordError(f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) lies entirely outside the {width}x{height} page")
    clamped = (min(max(x0, 0.0), width), min(max(y0, 0.0), height),
               min(max(x1, 0.0), width), min(max(y1, 0.0), height))
    return clamped, clamped != (x0, y0, x1, y1)


