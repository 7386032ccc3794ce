"""A second look at doubtful words: their crops re-read by Tesseract, kept where the re-read is more confident.

The page pass reads every word at the page's scale and with the page's binarisation. A word it is unsure of
(low confidence) is often small, faint or unevenly lit. :func:`reread_doubtful` crops each run of doubtful
words on a line (with a little margin), scales the crops to one comfortable text height, stacks them on one
white canvas (one Tesseract call for the whole receipt, not one per word), reads that canvas as a block of
lines, and replaces a run's words with the re-read when its mean confidence is higher by ``margin``. With
``numbers=True`` only number-like words are re-read, with Tesseract limited to digits and price punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from PIL import Image

from ..data.boxes import union
from ..data.document import Box
from .merge import OcrWord, mean_confidence

# (image, page segmentation mode, extra Tesseract options) -> the words read in it, boxes in its pixels
Reader = Callable[[Image.Image, int, str], list[OcrWord]]

# A price, quantity, date or time as OCR tends to read it: digits with separators, maybe a currency sign and a
# trailing tax flag, and at most one letter that is often a misread digit (O, l, I, S, B).
NUMBER_LIKE = re.compile(r"[$£€(#@x-]?[\d.,:/%$£€-]*\d[\d.,:/%OolISB-]*[)A-Za-z%]?")
NUMBER_WHITELIST = "-c tessedit_char_whitelist=0123456789.,:/-$%£€"


@dataclass(frozen=True)
class RereadOptions:
    below: float = 60.0  # words under this confidence are re-read
    margin: float = 10.0  # a re-read replaces the words when its mean confidence is this much higher
    height: int = 48  # each crop is scaled to this height (pixels, margins included)
    pad: float = 0.25  # margin around a crop, as a share of its height
    psm: int = 6  # how the canvas of stacked crops is read
    max_gap: float = 1.0  # doubtful words on a line join one crop when closer than this many heights
    numbers: bool = False  # re-read only number-like words, digits and price punctuation only


@dataclass(frozen=True)
class _Placed:
    """One crop on the canvas: the prepared-image box it came from, where it sits and how it was scaled."""

    source: Box
    top: int
    left: int
    scale: float
    height: int
    words: tuple[int, ...]  # indices into the page words it would replace


def doubtful_runs(words: Sequence[OcrWord], below: float, max_gap: float, numbers: bool = False
                  ) -> list[tuple[int, ...]]:
    """Indices of doubtful words (number-like ones only with ``numbers``) grouped into runs: same line,
    consecutive left to right, close together."""
    by_line: dict[int, list[int]] = {}
    for index, word in enumerate(words):
        by_line.setdefault(word.line, []).append(index)
    runs: list[tuple[int, ...]] = []
    for indices in by_line.values():
        indices.sort(key=lambda i: words[i].box[0])
        run: list[int] = []
        for i in indices:
            word = words[i]
            if word.confidence >= below or (numbers and not NUMBER_LIKE.fullmatch(word.text)):
                if run:
                    runs.append(tuple(run))
                run = []
                continue
            if run:
                last = words[run[-1]]
                height = max(last.box[3] - last.box[1], word.box[3] - word.box[1], 1.0)
                if word.box[0] - last.box[2] > max_gap * height:
                    runs.append(tuple(run))
                    run = []
            run.append(i)
        if run:
            runs.append(tuple(run))
    return runs


def _layout(image: Image.Image, words: Sequence[OcrWord], runs: list[tuple[int, ...]],
            options: RereadOptions) -> tuple[Image.Image, list[_Placed]]:
    """The crops of ``runs`` scaled to ``options.height`` and stacked on a white canvas, a crop's height apart."""
    crops: list[tuple[Image.Image, _Placed]] = []
    top = options.height
    for run in runs:
        x0, y0, x1, y1 = union(words[i].box for i in run)
        pad = options.pad * (y1 - y0)
        source = (max(0.0, x0 - 2 * pad), max(0.0, y0 - pad), min(float(image.width), x1 + 2 * pad),
                  min(float(image.height), y1 + pad))
        if source[2] - source[0] < 2 or source[3] - source[1] < 2:
            continue
        scale = options.height / (source[3] - source[1])
        size = (max(1, round((source[2] - source[0]) * scale)), options.height)
        crop = image.crop(tuple(round(v) for v in source)).resize(size, Image.Resampling.LANCZOS)
        crops.append((crop, _Placed(source, top, options.height, scale, options.height, run)))
        top += 2 * options.height
    width = max((c.width for c, _ in crops), default=1) + 2 * options.height
    canvas = Image.new("L", (width, top + options.height if crops else 1), 255)
    for crop, placed in crops:
        canvas.paste(crop.convert("L"), (placed.left, placed.top))
    return canvas, [placed for _, placed in crops]


def reread_doubtful(image: Image.Image, words: list[OcrWord], read: Reader,
                    options: RereadOptions = RereadOptions()) -> list[OcrWord]:
    """``words`` (boxes in ``image``'s pixels) with each run of doubtful words replaced by its re-read when the
    re-read is more confident by ``options.margin``; words stay in their order, a replacement at its run's place."""
    runs = doubtful_runs(words, options.below, options.max_gap, options.numbers)
    if not runs:
        return words
    canvas, placed = _layout(image, words, runs, options)
    found: dict[int, list[OcrWord]] = {}
    for word in read(canvas, options.psm, NUMBER_WHITELIST if options.numbers else ""):
        centre_y = (word.box[1] + word.box[3]) / 2
        for k, crop in enumerate(placed):
            if crop.top <= centre_y < crop.top + crop.height:
                found.setdefault(k, []).append(word)
                break
    replaced: dict[int, list[OcrWord]] = {}
    for k, crop in enumerate(placed):
        new = found.get(k, [])
        old = [words[i] for i in crop.words]
        if not new or mean_confidence(new) < mean_confidence(old) + options.margin:
            continue
        line = old[0].line
        mapped = [OcrWord(w.text, _to_source(w.box, crop), w.confidence, line)
                  for w in sorted(new, key=lambda w: w.box[0])]
        replaced[crop.words[0]] = mapped
        for i in crop.words[1:]:
            replaced[i] = []
    result: list[OcrWord] = []
    for i, word in enumerate(words):
        result += replaced.get(i, [word])
    return result


def _to_source(box: Box, crop: _Placed) -> Box:
    x0, y0, x1, y1 = crop.source
    return (max(x0, x0 + (box[0] - crop.left) / crop.scale), max(y0, y0 + (box[1] - crop.top) / crop.scale),
            min(x1, x0 + (box[2] - crop.left) / crop.scale), min(y1, y0 + (box[3] - crop.top) / crop.scale))
