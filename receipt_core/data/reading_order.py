"""Geometric reading order: a receipt's words as lines top to bottom, each line's words left to right.

Dataset files list words grouped by label, and OCR passes list them pass by pass; feeding either order to a model
leaks the answer or scrambles the rows, so every importer and the OCR call :func:`reading_order`. The line ids it
gives are also the rows that ``boxes="row"`` encodes (a word keeps its columns and takes its line's top and bottom).

A word joins the line whose nearest word in x, level or followed along the line's slope to the word's column,
lies closest to the word's centre, within half a line height. Phone photos are tilted and curled, so a row's words
drift up or down across the page: the slope (fitted to the line's word centres, at most :data:`MAX_SLOPE`) follows
them. A line's reach is its words' median height, not their union: a union grows with every tilted word that joins,
and on WildReceipt's photos one such line swallowed the rows below it (28 % of the dev set's OCR words sat in lines
taller than 2.5 words, 9 % now; CORD train's scans 4.0 % and 0.2 %).
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Sequence

from .document import Word

LINES_LOOKED_BACK = 3  # a word may join one of the last few lines begun (a tilted row starts above the next)
MAX_SLOPE = 0.12  # about 7 degrees: steeper is two rows, not one tilted row


def reading_order(words: Sequence[Word]) -> list[Word]:
    """The words in reading order, with their line ids renumbered 0, 1, … top to bottom."""
    lines: list[_Line] = []
    for word in sorted(words, key=lambda w: (w.center[1], w.box[0])):
        x, y = word.center
        best, best_distance = None, None
        for line in lines[-LINES_LOOKED_BACK:]:
            distance = line.distance(x, y)
            if distance <= 0.5 * max(_height(word), line.height) and (best_distance is None
                                                                     or distance < best_distance):
                best, best_distance = line, distance
        if best is None:
            lines.append(_Line([word]))
        else:
            best.add(word)
    return [dataclasses.replace(word, line_id=line_id)
            for line_id, line in enumerate(lines) for word in sorted(line.words, key=lambda w: w.box[0])]


class _Line:
    """The words of one line so far, with its fitted slope and median height (kept as words join: a receipt of
    thousands of words on one line stays linear-logarithmic)."""

    def __init__(self, words: list[Word]) -> None:
        self.words: list[Word] = []
        self._heights: list[float] = []  # sorted
        self._xs: list[float] = []  # the words' centres, sorted by x
        self._ys: list[float] = []
        self._sums = [0.0] * 5  # n, Σx, Σy, Σxx, Σxy
        for word in words:
            self.add(word)

    @property
    def height(self) -> float:
        return self._heights[len(self._heights) // 2]

    @property
    def slope(self) -> float:
        n, sx, sy, sxx, sxy = self._sums
        spread = sxx - sx * sx / n
        slope = (sxy - sx * sy / n) / spread if spread > 1e-9 else 0.0
        return max(-MAX_SLOPE, min(MAX_SLOPE, slope))

    def add(self, word: Word) -> None:
        self.words.append(word)
        bisect.insort(self._heights, _height(word))
        x, y = word.center
        at = bisect.bisect(self._xs, x)
        self._xs.insert(at, x)
        self._ys.insert(at, y)
        for i, value in enumerate((1.0, x, y, x * x, x * y)):
            self._sums[i] += value

    def distance(self, x: float, y: float) -> float:
        """How far ``(x, y)`` lies from the line vertically: from its word nearest in x, level or along the line's
        slope, whichever is closer (a slope fitted to a few words of uneven height can tilt a level row)."""
        at = bisect.bisect(self._xs, x)
        near = min((i for i in (at - 1, at) if 0 <= i < len(self._xs)), key=lambda i: abs(self._xs[i] - x))
        near_x, near_y = self._xs[near], self._ys[near]
        return min(abs(near_y - y), abs(near_y + self.slope * (x - near_x) - y))


def _height(word: Word) -> float:
    return max(word.box[3] - word.box[1], 1.0)
