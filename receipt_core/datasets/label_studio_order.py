"""The words of a Label Studio task in order: as this app exported them (each word's place and line in its
transcription's meta), else by their boxes' reading order.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..data.document import Word
from ..data.reading_order import reading_order
from .label_studio_template import LINE_META, PLACE_META

MAX_PLACE = 10 ** 6  # a line or place beyond it is no receipt's (too_many_words bounds the words)


def _exported_order(words: Mapping[str, Word], regions: Mapping[str, Mapping[str, Any]],
                    notes: list[str]) -> list[Word] | None:
    """The words in their places and on their lines as this app exported them (the transcription's meta), so an
    export imported back is the receipt it was (ordered by their boxes, a receipt with a region read again came back
    reordered, and its undo history was cleared: a walkthrough), in the order of their places however the regions
    are listed (a probe listed them in reverse); None when a region has no such meta (drawn in Label Studio), and,
    with a note, when the places are not each word's own. The lines are trusted as a native file's line ids are:
    Tesseract's own lines do not always keep to one row, so the boxes cannot vouch for them."""
    marked = [rid for rid in words if LINE_META in regions[rid] or PLACE_META in regions[rid]]
    if len(marked) < len(words):
        return None
    lines = {rid: regions[rid].get(LINE_META) for rid in words}
    places = {rid: regions[rid].get(PLACE_META) for rid in words}
    whole = all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_PLACE
                for v in (*lines.values(), *places.values()))
    problem = ("a line or place that is not a whole number up to a million" if not whole
               else "places that are not each word's own" if len(set(places.values())) < len(words)
               else None)
    if problem is not None:
        notes.append(f"the words' exported lines and places were not used ({problem}); ordered by their boxes")
        return None
    return [dataclasses.replace(words[rid], line_id=lines[rid]) for rid in sorted(words, key=places.get)]


def words_in_order(words: Mapping[str, Word], regions: Mapping[str, Mapping[str, Any]],
                   notes: list[str]) -> list[Word]:
    """A task's words (region id -> word) in their exported places and lines (:func:`_exported_order`), else, for a
    region drawn in Label Studio or another tool's tasks, in their boxes' reading order."""
    ordered = _exported_order(words, regions, notes)
    return ordered if ordered is not None else reading_order(words.values())
