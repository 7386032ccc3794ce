"""Reading a region of a receipt again: the rule that replaces the words inside a box (and its undo in the
workspace), and the crop OCR itself with the real Tesseract on rendered text and on the real CORD photo."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from receipt_core.data.corrections import CorrectionError, replace_region
from receipt_core.data.document import Document, Suggestion, Word
from receipt_core.data.images import MAX_SIDE
from receipt_core.ocr.region import (BLOCK_PSM, BORDER_PX, MAX_SCALE, REGION_MAX_PIXELS, SINGLE_LINE_PSM, RegionError,
                                     plan_region, read_region)
from receipt_core.workspace.store import Workspace

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _doc() -> Document:
    return Document(id="r1", width=400, height=200, words=(
        Word("CAFE", (20, 20, 60, 34), confidence=90.0, line_id=0, field="ITEM_NAME", group_id=0),
        Word("LAT7E", (70, 20, 115, 34), confidence=31.0, line_id=0, field="ITEM_NAME", group_id=0),
        Word("45.0O0", (300, 20, 360, 34), confidence=40.0, line_id=0,
             suggestion=Suggestion("ITEM_PRICE", False, None, run="run-x", score=0.4)),
        Word("TOTAL", (20, 80, 70, 94), line_id=1, field="TOTAL"),
        Word("45.000", (300, 80, 360, 94), line_id=1, field="TOTAL")))


def _read(text: str, box, confidence: float = 95.0, line: int = 0) -> Word:
    return Word(text, box, confidence=confidence, line_id=line)


def test_words_inside_the_region_are_replaced_and_the_rest_untouched():
    doc = _doc()
    read = [_read("LATTE", (70, 21, 114, 33)), _read("45.000", (300, 21, 359, 33), 93.0),
            _read("2", (250, 21, 258, 33), 88.0)]
    result = replace_region(doc, (65, 15, 380, 40), read)
    words = result.document.words
    assert [w.text for w in words] == ["CAFE", "LATTE", "2", "45.000", "TOTAL", "45.000"]
    assert words[0] == doc.words[0] and words[4:] == doc.words[3:]  # outside the box: the very same words
    new = words[1:4]
    # LATTE is read where LAT7E was: it keeps LAT7E's label, provenance and item (an annotator's re-read of a
    # labelled line wiped every label though Tesseract read the same words again); the others come as added words
    assert (new[0].field, new[0].label_source, new[0].group_id) == ("ITEM_NAME", "person", 0)
    assert all(not w.is_labelled and w.suggestion is None and w.group_id is None for w in new[1:])
    assert [w.confidence for w in new] == [95.0, 88.0, 93.0]  # Tesseract's reading: its confidence kept
    assert all(w.line_id == 0 for w in new)  # they join the receipt line their boxes overlap
    assert "2 words replaced by 3" in result.summary and "'LATTE 2 45.000'" in result.summary
    assert result.summary.endswith("; the labels of 1 word went to the words read at their places")
    # a labelled word with nothing read at its place loses its label (perhaps given in another session since the box
    # was drawn: a probe), and it is said
    moved = replace_region(doc, (65, 15, 380, 40), [_read("45.000", (300, 21, 359, 33))])
    assert moved.summary.endswith("; 1 labelled word lost its label")
    # a quantity read again keeps its item and takes the value its new text prints
    counted_doc = doc.with_words([*doc.words[:2], Word("Z", (250, 20, 258, 34), line_id=0, is_quantity=True,
                                                        quantity_value=1.0, group_id=0), *doc.words[2:]])
    again = replace_region(counted_doc, (245, 15, 262, 40), [_read("2", (250, 21, 258, 33))]).document.words[2]
    assert (again.text, again.is_quantity, again.quantity_value, again.group_id) == ("2", True, 2.0, 0)
    assert "less confidence" not in result.summary  # 92 against 35.5: surer


def test_a_region_read_with_clearly_less_confidence_says_so():
    """A walkthrough's "SALE" at 94 became three words at confidence 0, and nothing said the reading was worse."""
    doc = Document(id="r2", width=400, height=100, words=(Word("SALE", (20, 20, 80, 34), confidence=94.0),))
    worse = replace_region(doc, (10, 10, 200, 40), [_read("sya", (20, 20, 60, 34), 0.0),
                                                    _read("lL", (62, 20, 70, 34), 0.0)])
    assert worse.summary.endswith("; read with less confidence than the words it replaced (mean 0 against 94), so "
                                  "check it")
    level = replace_region(doc, (10, 10, 200, 40), [_read("SALE", (20, 20, 80, 34), 80.0)])
    assert "less confidence" not in level.summary  # within 20 points


def test_a_region_read_on_a_new_line_and_the_refusals():
    doc = _doc()
    below = replace_region(doc, (10, 140, 390, 199), [_read("THANK", (20, 150, 80, 164)),
                                                      _read("YOU", (90, 150, 130, 164))])
    assert [w.text for w in below.document.words] == [w.text for w in doc.words] + ["THANK", "YOU"]
    assert below.document.words[-1].line_id == below.document.words[-2].line_id == 2
    with pytest.raises(CorrectionError, match="nothing was read in the region"):
        replace_region(doc, (65, 15, 380, 40), [])
    with pytest.raises(CorrectionError, match="covers no area"):
        replace_region(doc, (500, 500, 600, 600), [_read("X", (0, 0, 5, 5))])
    # a box dragged from bottom right to top left is the same region
    assert replace_region(doc, (380, 40, 65, 15), [_read("LATTE", (70, 21, 114, 33))]).document.words[1].text == "LATTE"


def test_the_workspace_keeps_a_region_read_again_as_one_undoable_correction(tmp_path):
    ws = Workspace(tmp_path / "ws")
    doc = _doc()
    ws.save_documents("receipts", [doc])
    read = [_read("LATTE", (70, 21, 114, 33)), _read("45.000", (300, 21, 359, 33))]
    ws.replace_region(doc.id, [65, 15, 380, 40], read)
    assert [w.text for w in ws.get_document(doc.id).words] == ["CAFE", "LATTE", "45.000", "TOTAL", "45.000"]
    (entry,) = ws.history(doc.id)
    assert entry.kind == "correct" and "read again" in entry.after["summary"]
    undone = ws.undo(doc.id)
    assert undone.kind == "correct" and ws.get_document(doc.id).words == doc.words


def test_the_crop_shape_picks_one_line_or_a_block_and_the_upscale():
    line = plan_region((400, 200), (10, 14, 250, 40))
    assert line.psm == SINGLE_LINE_PSM and line.crop == (10, 14, 250, 40) and line.scale > 1
    assert plan_region((400, 200), (10, 14, 250, 105)).psm == BLOCK_PSM
    # with the receipt's word height known, a squat crop over one word is still one line, a tall one a block
    assert plan_region((400, 200), (10, 14, 60, 40), line_height=16).psm == SINGLE_LINE_PSM
    assert plan_region((400, 200), (10, 14, 250, 60), line_height=16).psm == BLOCK_PSM
    # a page drawn at half the image's size: the crop is in image pixels
    assert plan_region((800, 400), (10, 14, 250, 40), page_size=(400, 200)).crop == (20, 28, 500, 80)
    with pytest.raises(RegionError, match="too small"):
        plan_region((400, 200), (10, 10, 12, 40))
    with pytest.raises(RegionError, match="four numbers"):
        plan_region((400, 200), (10, 10, "a", 40))


def test_a_large_region_is_read_within_the_region_pixel_budget():
    """Found by a probe: a 2000 x 2000 region of 8-pixel text was upscaled 4x to 64 M pixels and held one Tesseract
    call for two minutes and 430 MB; at the page OCR's 40 M pixels it still ran into Tesseract's time limit. A
    region has its own budget (4 M pixels); a crop already larger is scaled down to it."""
    big = plan_region((3000, 3000), (0, 0, 1000, 1000), line_height=8)
    framed = [side + 2 * BORDER_PX for side in big.size]
    assert framed[0] * framed[1] <= REGION_MAX_PIXELS
    assert framed[0] * framed[1] > 0.99 * REGION_MAX_PIXELS  # cut to the budget, not further
    assert 1 < big.scale < MAX_SCALE and big.crop == (0, 0, 1000, 1000)
    page = plan_region((6000, 6000), (0, 0, 6000, 6000), line_height=8)  # a whole large photo: scaled down
    assert page.scale < 1 and (page.size[0] + 2 * BORDER_PX) * (page.size[1] + 2 * BORDER_PX) <= REGION_MAX_PIXELS
    strip = plan_region((60_000, 100), (0, 0, 60_000, 10))  # a long strip hits the side limit first
    assert strip.size[0] + 2 * BORDER_PX <= MAX_SIDE and strip.scale < MAX_SCALE
    # a small region keeps its full upscale, sized as before
    word = plan_region((400, 200), (10, 14, 60, 40), line_height=8)
    assert word.scale == MAX_SCALE and word.size == (200, 104)
    line = plan_region((400, 200), (10, 14, 250, 40))
    assert line.size == (round(240 * line.scale), round(26 * line.scale))


def _rendered(lines: list[str], scale: int = 1) -> tuple[Image.Image, list[list[tuple[str, tuple]]]]:
    """A pale receipt with ``lines`` printed in a 14 px monospaced font, and each word's box (page pixels at
    ``scale`` 1; the image itself is ``scale`` times larger)."""
    font = ImageFont.truetype(FONT, 14 * scale)
    image = Image.new("RGB", (400 * scale, 200 * scale), (245, 240, 228))
    draw = ImageDraw.Draw(image)
    boxes = []
    for row, line in enumerate(lines):
        y, x, words = 20 + 30 * row, 20, []
        for text in line.split():
            box = draw.textbbox((x * scale, y * scale), text, font=font)
            draw.text((x * scale, y * scale), text, font=font, fill=(35, 30, 30))
            words.append((text, tuple(v / scale for v in box)))
            x = box[2] / scale + draw.textlength(" ", font=font) / scale
        boxes.append(words)
    return image, boxes


@pytest.mark.ocr
def test_tesseract_reads_a_rendered_line_and_block_back_in_page_pixels():
    image, boxes = _rendered(["CAFE LATTE 2 45.000", "ICED TEA 1 12.500", "TOTAL 57.500"])
    line = read_region(image, (10, 45, 250, 72), line_height=16)
    assert [w.text for w in line] == ["ICED", "TEA", "1", "12.500"]
    for word, (_, (x0, y0, x1, y1)) in zip(line, boxes[1]):
        assert abs(word.box[0] - x0) < 3 and abs(word.box[2] - x1) < 3 and word.confidence > 60
        assert 45 <= word.box[1] and word.box[3] <= 72  # inside the region
    block = read_region(image, (10, 14, 250, 105))
    assert [w.text for w in block] == "CAFE LATTE 2 45.000 ICED TEA 1 12.500 TOTAL 57.500".split()
    assert [w.line_id for w in block] == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert read_region(image, (260, 120, 390, 190)) == ()  # blank paper: nothing read, nothing made up


@pytest.mark.ocr
def test_a_page_drawn_smaller_than_its_image_maps_the_boxes_back():
    image, boxes = _rendered(["CAFE LATTE 2 45.000"], scale=2)  # an 800x400 photo of a 400x200 page
    words = read_region(image, (10, 14, 250, 42), page_size=(400, 200))
    assert [w.text for w in words] == ["CAFE", "LATTE", "2", "45.000"]
    assert all(abs(w.box[0] - box[0]) < 3 and abs(w.box[2] - box[2]) < 3 for w, (_, box) in zip(words, boxes[0]))


@pytest.mark.ocr
def test_the_real_cord_photo_reads_its_prices_in_a_region(shared_data):
    """receipt_00001 (a dot-matrix print on textured paper, 864x1296): the price column of its first two items."""
    image = Image.open(shared_data / "cord" / "train" / "image" / "receipt_00001.png")
    words = read_region(image, (490, 470, 660, 565), page_size=(864, 1296), line_height=36)
    assert "165,000" in [w.text for w in words]
    assert all(490 <= w.box[0] and w.box[2] <= 660 and 470 <= w.box[1] and w.box[3] <= 565 for w in words)
