"""One Tesseract call: the ``tesseract`` binary's TSV as pytesseract's ``image_to_data`` dict, this project's
errors, and its rows as :class:`OcrWord`.

Tesseract runs with ``OMP_THREAD_LIMIT=1``. Its OpenMP threads nest, and on a 2-core machine they fight each
other: one receipt page took 2.05 s with Tesseract's default threading and 0.46 s with one thread, and the
engine's several passes over one receipt 7.5 s against 1.2 s. Parallelism comes from OCR'ing receipts in separate
processes instead (``engine.ocr_many``). pytesseract offers no way to give one call its own environment, and
setting the variable in this process would also cap PyTorch's OpenMP threads when torch is loaded later, so the
binary is started here with the environment it needs; pytesseract still names the binary
(``pytesseract.pytesseract.tesseract_cmd``) and parses its TSV (``file_to_dict``, as ``image_to_data`` does).

Several passes over one prepared page share one file written once (:func:`tesseract_input`).
"""

from __future__ import annotations

import os
import shlex
import subprocess
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


class OcrTimeoutError(OcrError):
    """Tesseract ran past its time limit and was stopped."""


@contextmanager
def tesseract_input(image: Image.Image, image_format: str) -> Iterator[str]:
    """The path of one file holding ``image`` for every pass over it: a PNG for ``PNG``, an uncompressed PGM/PPM
    for ``PNM`` (PNG compression of a 1000×2000 page costs about a third of a psm 6 pass). Both carry the same
    pixels and no resolution, so Tesseract reads the same words from either."""
    with tempfile.TemporaryDirectory(prefix="receipt-ocr-") as folder:
        yield _write_page(image, folder, image_format)


def _write_page(image: Image.Image, folder: str, image_format: str) -> str:
    if "A" in image.getbands():  # as pytesseract does: transparency becomes white paper
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, (0, 0), image.getchannel("A"))
        image = background
    mode = "L" if image.mode in ("L", "1") else "RGB"
    if image_format == "PNG":
        path = os.path.join(folder, "page.png")
        image.convert(mode).save(path, format="PNG")
    else:
        path = os.path.join(folder, "page.pgm" if mode == "L" else "page.ppm")
        image.convert(mode).save(path, format="PPM")
    return path


def tesseract_environment() -> dict[str, str]:
    """This process's environment with one OpenMP thread for Tesseract, unless the user chose a limit."""
    return {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT") or "1"}


def run_tesseract(image: Image.Image | str, lang: str, config: str, timeout: float) -> dict:
    """Tesseract's TSV for ``image`` (a page path from :func:`tesseract_input`, or an image such as a crop) as the
    dict ``pytesseract.image_to_data`` returns; failures as :class:`TesseractNotFoundError`/:class:`OcrError`."""
    if isinstance(image, str):
        return _run(image, lang, config, timeout)
    with tempfile.TemporaryDirectory(prefix="receipt-ocr-") as folder:
        return _run(_write_page(image, folder, "PNG"), lang, config, timeout)


def _run(path: str, lang: str, config: str, timeout: float) -> dict:
    output = _call([path, "stdout", "-l", lang, *shlex.split(config), "-c", "tessedit_create_tsv=1"], timeout)
    return pytesseract.pytesseract.file_to_dict(output.decode("utf-8", "replace"), "\t", -1)


def run_osd(path: str, dpi: int | None, timeout: float) -> dict[str, str]:
    """Tesseract's orientation and script detection (``--psm 0``) of the page at ``path``: its lines as a dict
    ("Rotate": "180", "Orientation confidence": "5.29", …); empty when the page has too few characters to tell."""
    try:
        output = _call([path, "stdout", "--psm", "0", *(["--dpi", str(dpi)] if dpi else [])], timeout)
    except OcrTimeoutError:
        raise
    except OcrError:  # "Too few characters. Skipping this page": nothing to tell, which is no failure
        return {}
    lines = output.decode("utf-8", "replace").splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def _call(arguments: list[str], timeout: float) -> bytes:
    """The tesseract binary's standard output for ``arguments``, with one OpenMP thread and ``timeout``."""
    binary = pytesseract.pytesseract.tesseract_cmd
    command = [binary, *arguments]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout or None, env=tesseract_environment(),
                              check=False)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        raise TesseractNotFoundError(f"the tesseract binary was not found (looked for {binary!r}). "
                                     + INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise OcrTimeoutError(f"tesseract took longer than {timeout:g} s on this image and was stopped") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.decode("utf-8", "replace").split()) or f"exit status {done.returncode}"
        raise OcrError(f"tesseract failed on this image: {message}")
    return done.stdout


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
