"""One Tesseract call: ``pytesseract.image_to_data`` with this project's errors, and its rows as :class:`OcrWord`.

Several passes over one prepared page share one uncompressed file (:func:`tesseract_input`): pytesseract would
otherwise write a PNG per call, and PNG compression of a 1000×2000 page costs about a third of a psm 6 pass.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import Iterator

import pytesseract
from PIL import Image

from .merge import OcrWord

INSTALL_HINT = ("Install it with `sudo apt-get install tesseract-ocr` (Debian/Ubuntu) or `brew install tesseract` "
                "(macOS), or run `make run`, which installs it when it is missing.")


class TesseractNotFoundError(RuntimeError):
    """The tesseract binary is not installed or not on PATH."""


class OcrError(RuntimeError):
    """Tesseract ran but failed on this image; the message carries Tesseract's own error."""


@contextmanager
def tesseract_input(image: Image.Image, image_format: str) -> Iterator[Image.Image | str]:
    """What each pass hands pytesseract: the image itself for ``PNG`` (pytesseract writes a PNG per call), or
    for ``PNM`` the path of one uncompressed PGM/PPM file written here once. Both carry the same pixels and no
    resolution, so Tesseract reads the same words from either."""
    if image_format == "PNG":
        yield image
        return
    with tempfile.TemporaryDirectory(prefix="receipt-ocr-") as folder:
        path = os.path.join(folder, "page.pgm" if image.mode == "L" else "page.ppm")
        image.convert("L" if image.mode == "L" else "RGB").save(path, format="PPM")
        yield path


def run_tesseract(image: Image.Image | str, lang: str, config: str, timeout: float) -> dict:
    """``pytesseract.image_to_data`` as a dict, its failures as :class:`TesseractNotFoundError`/:class:`OcrError`."""
    try:
        return pytesseract.image_to_data(image, lang=lang, config=config, output_type=pytesseract.Output.DICT,
                                         timeout=timeout)
    except pytesseract.TesseractNotFoundError:
        raise TesseractNotFoundError(
            f"the tesseract binary was not found (looked for {pytesseract.pytesseract.tesseract_cmd!r}). "
            + INSTALL_HINT) from None
    except pytesseract.TesseractError as error:
        raise OcrError(f"tesseract failed on this image: {error.message or error.status}") from None
    except RuntimeError as error:  # pytesseract's timeout
        if "timeout" not in str(error).lower():
            raise
        raise OcrError(f"tesseract took longer than {timeout} s on this image and was stopped") from None


def words_from_data(data: dict) -> list[OcrWord]:
    """The non-empty word rows of ``image_to_data`` (no −1 confidences) in Tesseract's order, boxes in the pixels
    of the image it read, lines numbered in order of appearance by (block, paragraph, line)."""
    words: list[OcrWord] = []
    line_ids: dict[tuple[int, int, int], int] = {}
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        confidence = float(data["conf"][i])
        if not text or confidence < 0:
            continue
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        left, top = float(data["left"][i]), float(data["top"][i])
        box = (left, top, left + float(data["width"][i]), top + float(data["height"][i]))
        words.append(OcrWord(text=text, box=box, confidence=confidence, line=line_ids.setdefault(key, len(line_ids))))
    return words
