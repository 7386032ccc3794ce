"""OCR words matched to annotated segments: the one rule end-to-end scoring and image-labelled training share."""

from __future__ import annotations

from receipt_core.data.document import Word
from receipt_core.ocr.segments import assign_to_segments


def test_a_word_belongs_to_the_smallest_segment_holding_its_centre():
    segments = [Word("WHOLE LINE", (0, 0, 100, 20)), Word("2x", (60, 0, 80, 20)), Word("far", (0, 50, 10, 60))]
    boxes = [(62, 2, 70, 18),  # inside the line and inside "2x": the smaller one
             (10, 2, 30, 18),  # inside the line only
             (200, 200, 210, 210),  # in no segment
             (95, 15, 115, 25)]  # centre (105, 20) lies outside every segment although the box overlaps one
    assert assign_to_segments(segments, boxes) == [1, 0, None, None]


def test_a_centre_on_the_edge_counts_as_inside_and_no_segments_means_none():
    assert assign_to_segments([Word("a", (0, 0, 10, 10))], [(5, 5, 15, 15)]) == [0]
    assert assign_to_segments([], [(0, 0, 1, 1)]) == [None]
