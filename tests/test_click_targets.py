"""A click inside a word's box on a receipt figure selects that word: the click goes to the nearest invisible
point, and every box carries points along its length (``plots/click_targets.py``)."""

from __future__ import annotations

import random

from receipt_core.plots.annotation_figure import annotation_figure
from receipt_core.plots.click_targets import MAX_TARGETS_PER_BOX, click_targets


def _inside(box, x, y) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _wrong_clicks(docs, points_of) -> tuple[int, int]:
    """Clicks at random places inside every word's box (10 % in from its edges) whose nearest point belongs to a
    word whose box does not hold the click."""
    rng = random.Random(0)
    wrong = total = 0
    for doc in docs:
        boxes = [w.box for w in doc.words]
        points = points_of(boxes)
        for index, (x0, y0, x1, y1) in enumerate(boxes):
            for _ in range(5):
                x = x0 + (x1 - x0) * (0.1 + 0.8 * rng.random())
                y = y0 + (y1 - y0) * (0.1 + 0.8 * rng.random())
                owner = min(points, key=lambda p: (p[0] - x) ** 2 + (p[1] - y) ** 2)[2]
                total += 1
                wrong += owner != index and not _inside(boxes[owner], x, y)
    return wrong, total


def test_a_click_inside_a_real_receipts_word_lands_on_that_word(cord_dev):
    docs = cord_dev[:40]

    def along(boxes):
        targets = click_targets(boxes, range(len(boxes)), [""] * len(boxes))
        return list(zip(targets.x, targets.y, targets.index))

    def centres(boxes):  # what the figures did before: one point per word
        return [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, i) for i, b in enumerate(boxes)]

    wrong, total = _wrong_clicks(docs, along)
    wrong_before, _ = _wrong_clicks(docs, centres)
    assert total > 4000
    assert wrong / total < 0.002, (wrong, total)
    assert wrong_before > 10 * max(wrong, 1)  # measured: 152 of 5250 clicks before, 1 now


def test_each_box_gets_points_along_it_within_bounds(cord_dev):
    doc = cord_dev[0]
    boxes = [(0.0, 0.0, 120.0, 20.0), (0.0, 30.0, 5.0, 50.0), (10.0, 60.0, 10.0, 60.0), (0.0, 0.0, 10_000.0, 10.0)]
    targets = click_targets(boxes, [7, 8, 9, 10], ["a", "b", "c", "d"])
    assert targets.index.count(7) == 8  # 120 wide, 20 high: a point every 15 (3/4 of its height)
    assert targets.index.count(8) == targets.index.count(9) == 1  # a narrow or empty box: its centre
    assert targets.index.count(10) == MAX_TARGETS_PER_BOX
    assert all(0 < x < 120 and y == 10 for x, y, i in zip(targets.x, targets.y, targets.index) if i == 7)
    assert targets.hover[targets.index.index(8)] == "b"

    figure = annotation_figure(doc)
    words = next(t for t in figure.data if t.name == "words")
    assert set(words.customdata) == set(range(len(doc.words)))
    assert len(words.customdata) == len(words.x) == len(words.hovertext)
