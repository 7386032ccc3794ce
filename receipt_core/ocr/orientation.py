"""Whether a photo's text looks turned (upside down, or on its side): Tesseract's orientation detection (``--psm 0``),
asked only of a page that read badly. A probe uploaded a receipt turned 180°: it was stored as 47 words of nonsense
("#0 “yunouwe", "adoge") with nothing to say why; the upload now says the photo looks turned, and how to turn it.

Measured on six WildReceipt dev photos (2026-12-07, the receipt OCR): upright, their words' mean confidence was
62–85; turned 180°, 35–46, and the detection said "Rotate: 180" for each with an orientation confidence of 0.45–5.3
(1.05 for one upright photo that it called turned). So a page is checked under a mean of :data:`CHECK_BELOW`, and a
turn is said from :data:`MIN_CONFIDENCE` on; a check costs 0.3–0.7 s on 2 cores.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .merge import OcrWord
from .tesseract import run_osd

LOOKS_TURNED = "ocr_looks_turned"  # a document's meta key: the degrees clockwise that would make its photo upright
CHECK_BELOW = 55.0  # a page whose words' mean confidence is under this is checked (and a page of no words)
MIN_CONFIDENCE = 1.5  # Tesseract's orientation confidence from which its answer is checked
BETTER_BY = 10.0  # how much higher the turned page's mean word confidence must be for the turn to be said
TURNS = (90, 180, 270)  # Tesseract's "Rotate": the degrees clockwise that make the page upright


def reads_badly(words: Sequence[OcrWord]) -> bool:
    """Whether a page's words read badly enough to ask whether it is turned."""
    return not words or sum(word.confidence for word in words) / len(words) < CHECK_BELOW


def reads_better(as_it_is: Sequence[OcrWord], turned: Sequence[OcrWord]) -> bool:
    """Whether the page turned upright reads clearly better than as it is: a mean word confidence
    :data:`BETTER_BY` points higher (an upright WildReceipt dev photo that read badly was called "Rotate: 180"; turned
    so, it read worse)."""
    def mean(words: Sequence[OcrWord]) -> float:
        return sum(word.confidence for word in words) / len(words) if words else 0.0

    return bool(turned) and mean(turned) >= mean(as_it_is) + BETTER_BY


def turned_degrees(page: str, dpi: int | None, timeout: float) -> int | None:
    """The degrees clockwise that would make the page at ``page`` upright, when Tesseract tells with confidence; else
    None (upright, or too few characters to tell)."""
    answer = run_osd(page, dpi, timeout)
    try:
        degrees, confidence = int(answer.get("Rotate", "0")), float(answer.get("Orientation confidence", "0"))
    except ValueError:
        return None
    return degrees if degrees in TURNS and confidence >= MIN_CONFIDENCE else None


def turned_note(degrees: int, then: str = "upload it again") -> str:
    """What an upload says of a photo whose text looks turned by ``degrees`` (``then``: what to do once turned)."""
    how = "upside down" if degrees == 180 else f"on its side (it reads upright turned {degrees}° clockwise)"
    return (f"the text looks {how}, so Tesseract read it poorly: turn the photo upright (a phone's photo editor "
            f"does) and {then}")


def turned_note_of(meta: Mapping[str, Any], then: str = "upload it again") -> str | None:
    """:func:`turned_note` of a document whose OCR found its photo turned (its ``meta``), else None."""
    degrees = meta.get(LOOKS_TURNED)
    return turned_note(degrees, then) if degrees in TURNS else None
