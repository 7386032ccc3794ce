"""The OCR steps added after the first choice: illumination, deskew, box geometry, merging passes, crop re-reads,
the uncompressed page file, and the settings' cache keys. Tesseract runs (marked ``ocr``) on one small image each."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from receipt_core.data.images import load_image
from receipt_core.datasets.synth import available_fonts
from receipt_core.ocr.engine import RECEIPT_OCR, OcrSettings, ocr_image
from receipt_core.data.boxes import overlap
from receipt_core.ocr.merge import MergeOptions, OcrWord, add_missing, choose_by_confidence, merge_passes
from receipt_core.ocr.preprocess import Geometry, estimate_skew, normalise_illumination, prepare
from receipt_core.ocr.second_pass import NUMBER_LIKE, RereadOptions, doubtful_runs, reread_doubtful

LINES = ("CORNER CAFE", "12 HIGH STREET", "COFFEE        2     7.00", "BAGEL         1     3.50",
         "ORANGE JUICE  1     4.25", "SUBTOTAL            14.75", "TAX                  1.18",
         "TOTAL               15.93")
FIRST_CHOICE = OcrSettings(name="psm6-nodict-up1500-gray", psm=6, dictionaries=False, min_width=1500, grayscale=True)


def _receipt(shade: bool = False, angle: float = 0.0) -> Image.Image:
    """A small receipt (text ~12 px tall); ``shade`` darkens the right side like a hand's shadow."""
    font = ImageFont.truetype(str(available_fonts()[0]), 14)
    image = Image.new("L", (300, 40 + 26 * len(LINES)), 235)
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(LINES):
        draw.text((16, 20 + 26 * row), text, font=font, fill=40)
    if shade:
        ramp = np.linspace(1.0, 0.45, image.width, dtype=np.float32)[None, :]
        image = Image.fromarray((np.asarray(image, dtype=np.float32) * ramp).astype(np.uint8), mode="L")
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=235)
    return image


def _loaded(image: Image.Image, name: str = "receipt.png"):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return load_image(buffer.getvalue(), name)


def test_geometry_maps_a_rotated_and_scaled_point_back():
    image = Image.new("L", (400, 300), 255)
    image.putpixel((300, 50), 0)
    rotated = image.rotate(10, resample=Image.Resampling.NEAREST, fillcolor=255)
    ys, xs = np.nonzero(np.asarray(rotated) < 128)
    geometry = Geometry(width=400, height=300, scale=2.0, angle=10.0)
    x0, y0, x1, y1 = geometry.to_original((2 * xs[0], 2 * ys[0], 2 * xs[0] + 2, 2 * ys[0] + 2))
    assert x0 <= 301 and x1 >= 299 and y0 <= 51 and y1 >= 49 and x1 - x0 < 3
    assert Geometry(width=400, height=300, scale=2.0).to_original((-10, 0, 900, 700)) == (0.0, 0.0, 400.0, 300.0)
    # a box wholly past an edge is clipped on both sides, never to x0 > x1 (a probe's 8×20000 strip failed a batch)
    assert Geometry(width=8, height=20000).to_original((2, 20005, 9, 20010)) == (2.0, 20000.0, 8.0, 20000.0)
    assert Geometry(width=8, height=100).to_original((-5, -9, -1, -2)) == (0.0, 0.0, 0.0, 0.0)


def test_illumination_normalisation_whitens_a_shadow_and_keeps_the_ink():
    shaded = _receipt(shade=True)
    flat = np.asarray(normalise_illumination(shaded), dtype=np.float32)
    before = np.asarray(shaded, dtype=np.float32)
    paper = np.asarray(_receipt()) > 200  # where the unshaded receipt is paper
    assert before[paper][:, None].std() > 30  # the shadow: paper from ~235 down to ~105
    assert flat[paper].mean() > 240 and flat[paper].std() < 12
    assert flat[~paper].mean() < 140  # the ink stays dark


def test_deskew_finds_the_rotation_and_leaves_a_straight_receipt_alone():
    assert estimate_skew(_receipt()) == 0.0
    assert estimate_skew(_receipt(angle=3.0)) == pytest.approx(-3.0, abs=0.6)
    prepared = prepare(_receipt(angle=-4.0), deskew=True, min_width=600)
    assert prepared.geometry.angle == pytest.approx(4.0, abs=0.6) and prepared.image.width == 600


def test_deskew_reads_a_long_till_roll_on_its_middle_and_leaves_a_straight_one_alone():
    """Found by a probe: a straight 384 × 14,000 px roll was shrunk whole to 16 × 600 px for the estimate, which
    said 3.5°, and the rotation turned its top and bottom off the page (no word above y 3,200)."""
    font = ImageFont.truetype(str(available_fonts()[0]), 22)
    roll = Image.new("L", (384, 14_000), 255)
    draw = ImageDraw.Draw(roll)
    for row in range(460):
        draw.text((12, 20 + 30 * row), f"1x ITEM{row:03d}  {row % 9 + 1}.00", font=font, fill=0)
    assert estimate_skew(roll) == 0.0
    tilted = roll.rotate(2.0, resample=Image.Resampling.BICUBIC, fillcolor=255)
    assert estimate_skew(tilted) == pytest.approx(-2.0, abs=0.6)


def _word(text: str, box, confidence: float, line: int = 0) -> OcrWord:
    return OcrWord(text=text, box=tuple(float(v) for v in box), confidence=confidence, line=line)


def test_merge_adds_only_words_where_the_first_pass_found_nothing():
    first = [_word("COFFEE", (10, 10, 70, 25), 90), _word("7.00", (200, 10, 240, 25), 85)]
    second = [_word("C0FFEE", (11, 9, 69, 26), 60), _word("2", (120, 10, 130, 25), 80),
              _word("noise", (300, 300, 340, 310), 20)]
    merged = add_missing(first, second, min_confidence=50)
    assert [w.text for w in merged] == ["COFFEE", "7.00", "2"]
    assert merged[-1].line not in {w.line for w in first}  # an added word starts its own line
    assert all(overlap(a.box, b.box) <= 0.2 for i, a in enumerate(merged) for b in merged[i + 1:])


def test_merge_takes_the_clearly_more_confident_reading_of_a_group():
    first = [_word("T0TAL", (10, 10, 60, 25), 40), _word("15.93", (200, 10, 250, 25), 90)]
    second = [_word("TOTAL", (9, 10, 61, 25), 92), _word("15.98", (200, 10, 250, 25), 95)]
    merged = choose_by_confidence(first, second, margin=20)
    assert [w.text for w in merged] == ["TOTAL", "15.93"]  # +52 replaces, +5 does not
    # one wide doubtful word read as two confident ones: both take its place, nothing doubled
    wide = [_word("SUBT0TAL14.75", (10, 40, 250, 55), 30, line=3)]
    split = [_word("SUBTOTAL", (10, 40, 90, 55), 93), _word("14.75", (200, 40, 250, 55), 91)]
    merged = merge_passes(wide, split, MergeOptions(word_margin=20))
    assert [(w.text, w.line) for w in merged] == [("SUBTOTAL", 3), ("14.75", 3)]


def test_doubtful_runs_group_neighbours_on_a_line_and_numbers_are_recognised():
    words = [_word("1", (10, 10, 18, 25), 40), _word("COFFE", (25, 10, 80, 25), 50),
             _word("EACH", (300, 10, 340, 25), 30), _word("7.00", (400, 10, 440, 25), 95)]
    assert doubtful_runs(words, below=60, max_gap=1.0) == [(0, 1), (2,)]
    assert doubtful_runs(words, below=60, max_gap=1.0, numbers=True) == [(0,)]
    assert all(NUMBER_LIKE.fullmatch(t) for t in ("4.29T", "$4.72", "12:19:48", "2x", "03/08/2015", "1,95"))
    assert not any(NUMBER_LIKE.fullmatch(t) for t in ("TOTAL", "ix", "COFFEE"))


def test_reread_maps_the_canvas_back_and_keeps_only_a_more_confident_reading():
    page = Image.new("L", (500, 100), 255)
    words = [_word("C0FEE", (20, 20, 120, 40), 30), _word("7.0O", (300, 20, 360, 40), 35),
             _word("BAGEL", (20, 60, 120, 80), 95, line=1)]
    calls = []

    def reader(canvas: Image.Image, psm: int, extra: str) -> list[OcrWord]:
        calls.append((canvas.size, psm, extra))
        # the canvas holds one crop per run, 48 px tall, a crop apart: read the first well, the second badly
        return [_word("COFFEE", (48, 50, 200, 90), 90), _word("7.0O", (48, 146, 150, 186), 40)]

    result = reread_doubtful(page, words, reader, RereadOptions(below=60))
    assert len(calls) == 1 and calls[0][1] == 6 and calls[0][2] == ""
    assert [w.text for w in result] == ["COFFEE", "7.0O", "BAGEL"]
    coffee = result[0]
    assert 0 <= coffee.box[0] < coffee.box[2] <= 130 and 10 <= coffee.box[1] < coffee.box[3] <= 50
    assert coffee.line == 0


def test_settings_measured_before_the_new_options_keep_their_cache_keys():
    assert FIRST_CHOICE.key() == "6d3e0e85d95313c6"  # the key OCR caches were written under before these steps
    changed = {dataclasses.replace(FIRST_CHOICE, **{name: value}).key() for name, value in (
        ("illumination", True), ("deskew", True), ("dpi", 96), ("more_psms", (11,)), ("merge_margin", None),
        ("merge_min_confidence", 50.0), ("reread_below", 60.0), ("reread_numbers_below", 90.0),
        ("image_format", "PNM"))}
    assert len(changed) == 9 and FIRST_CHOICE.key() not in changed
    assert RECEIPT_OCR.tesseract_config().startswith("--psm 6 ")
    with pytest.raises(ValueError, match="image_format"):
        OcrSettings(name="x", image_format="JPEG")
    with pytest.raises(ValueError, match="psm"):
        OcrSettings(name="x", more_psms=(99,))


@pytest.mark.ocr
def test_the_uncompressed_page_file_reads_the_same_words_as_a_png():
    sparse = dataclasses.replace(RECEIPT_OCR, psm=11, more_psms=())  # psm 11 is the pass that minds the file's dpi
    loaded = _loaded(_receipt())
    png = ocr_image(loaded, dataclasses.replace(sparse, image_format="PNG"))
    pnm = ocr_image(loaded, sparse)
    assert [w.text for w in png.words] == [w.text for w in pnm.words]
    assert [w.box for w in png.words] == [w.box for w in pnm.words]


@pytest.mark.ocr
def test_a_shaded_tilted_receipt_reads_in_order_without_doubled_words():
    loaded = _loaded(_receipt(shade=True, angle=2.5))
    document = ocr_image(loaded)
    texts = [w.text for w in document.words]
    for expected in ("CORNER", "CAFE", "COFFEE", "7.00", "BAGEL", "3.50", "SUBTOTAL", "14.75", "TOTAL", "15.93"):
        assert texts.count(expected) == 1, texts
    assert texts.index("COFFEE") < texts.index("7.00") < texts.index("BAGEL") < texts.index("TOTAL")
    words = document.words
    assert all(overlap(a.box, b.box) <= 0.5 for i, a in enumerate(words) for b in words[i + 1:])
    for word in words:
        assert 0 <= word.box[0] <= word.box[2] <= document.width and 0 <= word.box[1] <= word.box[3] <= document.height
    assert document.meta["ocr_settings"] == "receipt" and document.meta.get("ocr_deskew_degrees")
