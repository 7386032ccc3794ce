"""Merging the words of two Tesseract passes over the same receipt by geometry and confidence.

One page segmentation misses words another finds: psm 6 reads a receipt as one block of rows and drops
fragments far from the rows it found, psm 11 finds sparse fragments but misreads more. :func:`merge_passes`
keeps the first pass, takes the second pass's reading of a stretch where it is clearly more confident (by
overlapping groups of words, so one reading replaces the other whole), and adds the second pass's words that lie
where the first found nothing. A word is never added where it overlaps a kept word, so no text is duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.boxes import overlap
from ..data.document import Box


@dataclass(frozen=True)
class OcrWord:
    """One word of one pass: its box in the pixels of the image the pass read, Tesseract's confidence (0-100),
    and its line (numbered within the pass; merged words keep or get distinct numbers)."""

    text: str
    box: Box
    confidence: float
    line: int


def mean_confidence(words: list[OcrWord]) -> float:
    """Character-weighted mean confidence: a long word counts for more than a stray mark."""
    weight = sum(len(w.text) for w in words)
    return sum(w.confidence * len(w.text) for w in words) / weight if weight else 0.0


def add_missing(primary: list[OcrWord], secondary: list[OcrWord], max_overlap: float = 0.2,
                min_confidence: float = 0.0) -> list[OcrWord]:
    """The primary words plus each secondary word that overlaps no primary word (by more than ``max_overlap``
    of the smaller box) and has at least ``min_confidence``; added words get fresh line numbers."""
    offset = max((w.line for w in primary), default=-1) + 1
    added = [OcrWord(w.text, w.box, w.confidence, w.line + offset) for w in secondary
             if w.confidence >= min_confidence and all(overlap(w.box, p.box) <= max_overlap for p in primary)]
    return primary + added


def choose_by_confidence(primary: list[OcrWord], secondary: list[OcrWord], margin: float = 20.0,
                         min_overlap: float = 0.3) -> list[OcrWord]:
    """Group primary and secondary words that overlap (connected groups, by ``min_overlap`` of the smaller box)
    and keep, per group, the secondary reading where its mean confidence beats the primary's by ``margin``; it
    takes the place (and line) of the group's first primary word."""
    parent = list(range(len(primary) + len(secondary)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, p in enumerate(primary):
        for j, s in enumerate(secondary):
            if overlap(p.box, s.box) > min_overlap:
                parent[find(i)] = find(len(primary) + j)
    groups: dict[int, tuple[list[OcrWord], list[OcrWord]]] = {}
    for i, p in enumerate(primary):
        groups.setdefault(find(i), ([], []))[0].append(p)
    for j, s in enumerate(secondary):
        groups.setdefault(find(len(primary) + j), ([], []))[1].append(s)
    swapped: dict[int, list[OcrWord]] = {}
    for first, second in groups.values():
        if first and second and mean_confidence(second) >= mean_confidence(first) + margin:
            line = first[0].line
            swapped[id(first[0])] = [OcrWord(s.text, s.box, s.confidence, line) for s in second]
            for p in first[1:]:
                swapped[id(p)] = []
    result: list[OcrWord] = []
    for p in primary:
        result += swapped.get(id(p), [p])
    return result


@dataclass(frozen=True)
class MergeOptions:
    max_overlap: float = 0.2  # a secondary word overlapping a kept word by more (of the smaller box) is not added
    min_confidence: float = 0.0  # nor one less confident than this
    word_margin: float | None = 20.0  # None: never swap overlapping words by confidence


def merge_passes(primary: list[OcrWord], secondary: list[OcrWord], options: MergeOptions = MergeOptions()
                 ) -> list[OcrWord]:
    """The primary pass's words, where clearly more confident the secondary pass's reading of them, plus the
    secondary pass's words where the primary found nothing."""
    words = primary
    if options.word_margin is not None:
        words = choose_by_confidence(words, secondary, options.word_margin)
    return add_missing(words, secondary, options.max_overlap, options.min_confidence)
