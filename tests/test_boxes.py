"""Box arithmetic (receipt_core/data/boxes.py) and the OCR settings a drawn region is read with."""

import pytest

from receipt_core.data.boxes import (area, check_box_mode, clip, contains, layout_boxes, overlap, stored_box_mode,
                                     union)
from receipt_core.data.document import Document, Word
from receipt_core.ocr.engine import RECEIPT_OCR


def test_area_overlap_union_clip_and_contains():
    assert area((10, 10, 30, 20)) == 200 and area((30, 10, 10, 20)) == 0  # an inverted box has no area
    assert overlap((0, 0, 10, 10), (2, 2, 4, 4)) == 1.0  # one inside the other
    assert overlap((0, 0, 10, 10), (5, 0, 25, 10)) == pytest.approx(0.5)  # half of the smaller box
    assert overlap((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0 and overlap((0, 0, 0, 0), (0, 0, 5, 5)) == 0.0
    assert union([(5, 6, 7, 8), (1, 9, 3, 12), (4, 2, 9, 3)]) == (1, 2, 9, 12)
    assert clip((0, 0, 50, 50), (10, 20, 100, 100)) == (10, 20, 50, 50)
    assert clip((0, 0, 10.5, 50), (10, 0, 100, 100)) is None  # half a pixel wide: nothing of it inside
    assert contains((0, 0, 10, 10), (10, 0)) and not contains((0, 0, 10, 10), (10.1, 5))


def test_box_modes_give_each_word_its_own_its_line_or_its_row_box():
    doc = Document(id="d", width=100, height=50, words=(
        Word("2x", (10, 10, 20, 20), line_id=0), Word("TEA", (30, 8, 60, 24), line_id=0),
        Word("TOTAL", (10, 30, 40, 40), line_id=1)))
    assert layout_boxes(doc, "word") == [w.box for w in doc.words]
    assert layout_boxes(doc, "line") == [(10, 8, 60, 24), (10, 8, 60, 24), (10, 30, 40, 40)]
    assert layout_boxes(doc, "row") == [(10, 8, 20, 24), (30, 8, 60, 24), (10, 30, 40, 40)]
    with pytest.raises(ValueError, match="word, line, row"):
        check_box_mode("page")
    assert stored_box_mode({"line_boxes": True}) == "line" and stored_box_mode({"boxes": "row"}) == "row"


def test_a_region_is_read_in_one_plain_pass_of_the_page_settings():
    plain = RECEIPT_OCR.one_plain_pass(psm=7)
    assert (plain.illumination, plain.deskew, plain.more_psms) == (False, False, ())
    assert plain.reread_below is None and plain.reread_numbers_below is None
    assert plain.psm == 7 and plain.dpi == RECEIPT_OCR.dpi and plain.dictionaries == RECEIPT_OCR.dictionaries
