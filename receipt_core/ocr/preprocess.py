"""Image preparation before Tesseract: grayscale, illumination normalisation, deskew and upscaling.

Every step works on Pillow images (numpy for the arithmetic; no OpenCV). :func:`prepare` returns the image
Tesseract reads together with the geometry that maps its boxes back to the original image's pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from ..data.document import Box
from ..data.images import DEFAULT_MAX_PIXELS, MAX_SIDE


@dataclass(frozen=True)
class Geometry:
    """How a prepared image relates to the original: rotated by ``angle`` degrees (counter-clockwise, about the
    original's centre, canvas kept) and then scaled by ``scale``."""

    width: int
    height: int
    scale: float = 1.0
    angle: float = 0.0

    def to_original(self, box: Box) -> Box:
        """A box of the prepared image as the axis-aligned box of its corners in original pixels, clipped to the
        page on both sides (a word Tesseract found past an edge of a scaled strip came back with x0 > x1)."""
        x0, y0, x1, y1 = (v / self.scale for v in box)
        if self.angle:
            cx, cy = self.width / 2, self.height / 2
            theta = math.radians(self.angle)
            cos, sin = math.cos(theta), math.sin(theta)
            xs, ys = [], []
            for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
                # undo a counter-clockwise rotation in image coordinates (y down): rotate the point back
                dx, dy = x - cx, y - cy
                xs.append(cx + dx * cos - dy * sin)
                ys.append(cy + dx * sin + dy * cos)
            x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
        width, height = float(self.width), float(self.height)
        return (min(max(0.0, x0), width), min(max(0.0, y0), height), min(max(0.0, x1), width),
                min(max(0.0, y1), height))


@dataclass(frozen=True)
class Prepared:
    image: Image.Image
    geometry: Geometry


def _shrunk(gray: Image.Image, longest: int) -> Image.Image:
    """A copy at most ``longest`` pixels on its longer side (the image itself when it is smaller)."""
    factor = max(gray.width, gray.height) / longest
    if factor <= 1:
        return gray
    return gray.resize((max(1, round(gray.width / factor)), max(1, round(gray.height / factor))),
                       Image.Resampling.BILINEAR)


def normalise_illumination(gray: Image.Image) -> Image.Image:
    """Divide by a smooth estimate of the paper's brightness, so shadows and uneven light become white paper
    and faint print keeps its contrast to the paper around it.

    The paper's brightness is the local maximum (ink is darker than paper) over a window about 1/24 of the
    image's shorter side, blurred; computed on a copy at most 256 pixels long for speed.
    """
    small = _shrunk(gray, 256)
    window = max(3, (min(small.width, small.height) // 24) | 1)
    background = small.filter(ImageFilter.MaxFilter(window)).filter(ImageFilter.GaussianBlur(window))
    background = background.resize(gray.size, Image.Resampling.BILINEAR)
    pixels = np.asarray(gray, dtype=np.float32)
    paper = np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    normalised = np.clip(pixels / paper * 255.0, 0, 255)
    return Image.fromarray(normalised.astype(np.uint8), mode="L")


def estimate_skew(gray: Image.Image, max_angle: float = 6.0, step: float = 0.5) -> float:
    """The rotation (degrees, counter-clockwise) that makes text rows horizontal, by projection profiles.

    Dark pixels (ink) of a small copy are rotated through candidate angles; the angle whose row sums vary
    most has the text rows aligned with the pixel rows. 0.0 when no angle is clearly better. A long strip (a till
    roll, 384 × 14,000 px) is measured on its middle, at most twice as long as it is wide: shrunk whole to 600 px it
    was 16 px wide, its rows unreadable, and the estimate (3.5° for a straight roll) turned its ends off the page.
    """
    small = _shrunk(_middle(gray, MAX_SKEW_ASPECT), 600)
    pixels = np.asarray(small, dtype=np.float32)
    local = np.asarray(small.filter(ImageFilter.BoxBlur(7)), dtype=np.float32)
    ink = Image.fromarray(((pixels < local - 12) * 255).astype(np.uint8), mode="L")
    scores: dict[float, float] = {}
    steps = int(round(max_angle / step))
    for i in range(-steps, steps + 1):
        angle = i * step
        rows = np.asarray(ink.rotate(angle, resample=Image.Resampling.NEAREST), dtype=np.float32).sum(axis=1)
        scores[angle] = float(np.var(rows))
    best = max(scores, key=lambda a: (scores[a], -abs(a)))
    return best if scores[best] > 1.02 * scores[0.0] else 0.0


MAX_SKEW_ASPECT = 2.0  # the longest side over the shortest that the skew estimate looks at


def _middle(gray: Image.Image, aspect: float) -> Image.Image:
    """The centre of ``gray`` cut to at most ``aspect`` times as long as it is wide (or tall), else ``gray``."""
    width, height = gray.size
    if height > aspect * width:
        top = (height - round(aspect * width)) // 2
        return gray.crop((0, top, width, top + round(aspect * width)))
    if width > aspect * height:
        left = (width - round(aspect * height)) // 2
        return gray.crop((left, 0, left + round(aspect * height), height))
    return gray


def upscale_limit(width: int, height: int, margin: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS) -> float:
    """The largest factor a ``width`` × ``height`` image may be enlarged by before OCR: the OCR's pixel budget, the
    limits an upload is held to (``max_pixels``, :data:`DEFAULT_MAX_PIXELS` unless told, and :data:`MAX_SIDE` on
    a side), counted with ``margin`` pixels added on every side after the enlargement. Under 1 when the image is
    over the budget already. The page OCR (:func:`prepare`) and a region read again (``region.plan_region``, with
    its own smaller budget) both stop here."""
    area, edge = width * height, 2 * margin
    # (width·s + edge) · (height·s + edge) <= max_pixels, solved for s
    half_b = edge * (width + height) / 2
    pixels = (math.sqrt(half_b * half_b + area * (max_pixels - edge * edge)) - half_b) / area
    return min(pixels, (MAX_SIDE - edge) / max(width, height))


def prepare(image: Image.Image, grayscale: bool = False, autocontrast: bool = False, illumination: bool = False,
            deskew: bool = False, min_width: int = 0, max_scale: float = 4.0) -> Prepared:
    """The image Tesseract reads, and how to map its boxes back to ``image``'s pixels."""
    width, height = image.size
    if (grayscale or illumination or deskew) and image.mode != "L":
        image = image.convert("L")
    if illumination:
        image = normalise_illumination(image)
    if autocontrast:
        image = ImageOps.autocontrast(image, cutoff=1)
    angle = estimate_skew(image) if deskew else 0.0
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    scale = 1.0
    if min_width and image.width < min_width:
        # never past the pixel and side limits of an upload: a 250 x 99,000 strip would become 396 M pixels
        scale = max(1.0, min(min_width / image.width, max_scale, upscale_limit(*image.size)))
        if scale > 1.0:
            size = (round(image.width * scale), round(image.height * scale))
            scale = size[0] / image.width  # the exact factor after rounding, for mapping boxes back
            image = image.resize(size, Image.Resampling.LANCZOS)
    return Prepared(image=image, geometry=Geometry(width=width, height=height, scale=scale, angle=angle))
