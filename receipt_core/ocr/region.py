"""Read one region of a receipt image again with Tesseract: the words a person boxed because the OCR got them wrong.

The crop is read alone, which is what makes a second reading better than the first: it is

- cropped from the image (the box is in page pixels; a page drawn at another size than its image is scaled);
- made grey and framed by a plain border of the paper's own brightness (Tesseract reads text touching the edge of
  an image badly);
- upscaled so its text stands about ``TARGET_TEXT_PX`` tall (small print on a phone photo is often 10-15 pixels
  high, under what Tesseract reads well), at most ``MAX_SCALE`` times, and never past ``REGION_MAX_PIXELS``
  (``preprocess.upscale_limit``; a larger crop is scaled down to it): a 2000 × 2000 crop of 8-pixel text was read
  as 64 M pixels, for two minutes and 430 MB in one Tesseract call, and the page OCR's own 40 M-pixel budget still
  ran into Tesseract's 300 s time limit. A person boxes a few words or lines, which fit many times over;
- read with a single-line page segmentation (``--psm 7``) when it holds one line of text, else as one uniform block
  (``--psm 6``): a crop under ``SINGLE_LINE_HEIGHTS`` text lines tall is one line. The text height is the receipt's
  typical word height when the caller knows it (``line_height``), else the crop's shape decides: a crop at least
  ``SINGLE_LINE_RATIO`` times wider than tall is one line.

A crop with (almost) no ink is not read at all: on blank paper Tesseract makes words up out of the grain.
Words come back with boxes in page pixels, inside the region, with Tesseract's confidence and its line numbers.
Nothing here touches a document: :func:`receipt_core.data.corrections.replace_region` puts the words in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageOps

from ..data.boxes import clip
from ..data.corrections import region_text
from ..data.document import Box, Word
from ..data.images import LoadedImage
from .engine import RECEIPT_OCR, OcrSettings, ocr_image
from .preprocess import upscale_limit

SINGLE_LINE_PSM = 7
BLOCK_PSM = 6
TARGET_TEXT_PX = 32.0  # a word box (ascender to descender) this tall reads best; taller reads worse on real photos
MAX_SCALE = 4.0
REGION_MAX_PIXELS = 4_000_000  # about 2000 × 2000 once upscaled: a few lines of receipt text fit many times over
SINGLE_LINE_HEIGHTS = 1.7  # a crop under this many text heights tall holds one line
SINGLE_LINE_RATIO = 4.0  # without a text height: a crop this many times wider than tall is one line
BORDER_PX = 12  # plain border around the upscaled crop
INK_CONTRAST = 50  # grey levels under the paper's brightness that count as ink
MIN_INK_SHARE = 0.002  # a crop with less ink than this share of its pixels is blank: nothing is read
MIN_CROP_PX = 4  # a crop narrower or lower than this (image pixels) holds no legible character


class RegionError(ValueError):
    """A region that cannot be read; the message says what to draw instead."""


@dataclasses.dataclass(frozen=True)
class RegionPlan:
    """How a region is read: its crop in image pixels, the page segmentation, the upscale factor and the crop's
    size once upscaled (before its border)."""

    crop: tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels
    psm: int
    scale: float
    size: tuple[int, int]


def plan_region(image_size: tuple[int, int], box: Sequence[float], page_size: tuple[int, int] | None = None,
                line_height: float | None = None) -> RegionPlan:
    """The crop of ``box`` (page pixels) in an image of ``image_size``, and how to read it (module docstring)."""
    bx0, by0, bx1, by1 = _numbers(box)
    width, height = image_size
    sx, sy = _page_to_image(image_size, page_size)
    x0, x1 = sorted((bx0 * sx, bx1 * sx))
    y0, y1 = sorted((by0 * sy, by1 * sy))
    crop = (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
            min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1))))
    if crop[2] - crop[0] < MIN_CROP_PX or crop[3] - crop[1] < MIN_CROP_PX:
        raise RegionError(f"the region ({region_text(box)}) is too small to hold a word (or lies off the "
                          "image); draw the box over the words to read")
    crop_w, crop_h = crop[2] - crop[0], crop[3] - crop[1]
    text_px = line_height * sy if line_height else None
    if text_px:
        single = crop_h < SINGLE_LINE_HEIGHTS * text_px
    else:
        single = crop_w >= SINGLE_LINE_RATIO * crop_h
    if not text_px:
        text_px = crop_h if single else crop_h / 3  # a block without a hint: assume about three lines
    wanted = min(MAX_SCALE, max(1.0, TARGET_TEXT_PX / max(text_px, 1.0)))
    scale = min(wanted, upscale_limit(crop_w, crop_h, margin=BORDER_PX, max_pixels=REGION_MAX_PIXELS))
    to_pixels = round if scale == wanted else math.floor  # cut to the budget: not a pixel past it
    size = (max(1, to_pixels(crop_w * scale)), max(1, to_pixels(crop_h * scale)))
    return RegionPlan(crop=crop, psm=SINGLE_LINE_PSM if single else BLOCK_PSM, scale=scale, size=size)


def read_region(image: Image.Image, box: Sequence[float], page_size: tuple[int, int] | None = None,
                line_height: float | None = None, settings: OcrSettings = RECEIPT_OCR) -> tuple[Word, ...]:
    """The words Tesseract reads in ``box`` (x0, y0, x1, y1 in page pixels) of ``image``, in reading order, boxes in
    page pixels and clipped to the region. ``page_size`` is the page's (width, height) when it differs from the
    image's; ``line_height`` the receipt's typical word height in page pixels (it picks one line or a block, and the
    upscale). ``settings`` are the receipt OCR's, with the page segmentation and the upscale chosen here. An empty
    tuple when nothing legible is there; the engine's errors (Tesseract missing or failing) pass through."""
    plan = plan_region(image.size, box, page_size, line_height)
    crop = image.crop(plan.crop).convert("L")
    if plan.size != crop.size:
        crop = crop.resize(plan.size, Image.Resampling.LANCZOS)
    pixels = np.asarray(crop)
    paper = int(np.percentile(pixels, 90))  # the paper's brightness: most pixels are paper
    if np.mean(pixels < paper - INK_CONTRAST) < MIN_INK_SHARE:
        return ()  # blank paper: Tesseract would make words up out of its grain
    framed = ImageOps.expand(crop, border=BORDER_PX, fill=paper)
    loaded = LoadedImage(image=framed, width=framed.width, height=framed.height,
                         sha256=hashlib.sha256(framed.tobytes()).hexdigest(), format="crop")
    # One pass, no whole-page steps: the crop is already upright and small, and on 300 WildReceipt segments read
    # as regions the page's illumination and deskew steps read 223 against 226 without them.
    region_settings = settings.one_plain_pass(name=f"{settings.name}-region", psm=plan.psm, min_width=0,
                                              grayscale=True)
    read = ocr_image(loaded, region_settings)
    sx, sy = _page_to_image(image.size, page_size)
    x_scale, y_scale = crop.width / (plan.crop[2] - plan.crop[0]), crop.height / (plan.crop[3] - plan.crop[1])
    bx0, by0, bx1, by1 = _numbers(box)
    region = (min(bx0, bx1), min(by0, by1), max(bx0, bx1), max(by0, by1))
    words = []
    for word in read.words:
        x0, y0, x1, y1 = word.box

        def page_x(x: float) -> float:
            return ((x - BORDER_PX) / x_scale + plan.crop[0]) / sx

        def page_y(y: float) -> float:
            return ((y - BORDER_PX) / y_scale + plan.crop[1]) / sy

        mapped = clip((page_x(x0), page_y(y0), page_x(x1), page_y(y1)), region)
        if mapped is not None:  # rounded as the native JSON stores boxes
            words.append(dataclasses.replace(word, box=tuple(round(v, 2) for v in mapped)))
    return tuple(words)


def _numbers(box: Sequence[float]) -> Box:
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise RegionError(f"a region is four numbers x0, y0, x1, y1; got {list(box)!r}") from None
    return x0, y0, x1, y1


def _page_to_image(image_size: tuple[int, int], page_size: tuple[int, int] | None) -> tuple[float, float]:
    if page_size is None:
        return 1.0, 1.0
    if page_size[0] <= 0 or page_size[1] <= 0:
        raise RegionError(f"a page must have a positive size, got {page_size[0]}x{page_size[1]}")
    return image_size[0] / page_size[0], image_size[1] / page_size[1]
