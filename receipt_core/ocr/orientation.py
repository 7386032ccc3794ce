"""Whether a photo's text looks turned (upside down, or on its side): Tesseract's orientation detection (``--psm 0``),
asked only of a page that read badly, and checked by reading the page turned. A probe uploaded a receipt turned
180°: it was stored as 47 words of nonsense ("#0 “yunouwe", "adoge") with nothing to say why; the upload now says
the photo looks turned, and how to turn it.

Measured on WildReceipt dev photos (2026-12-07, the receipt OCR): upright, six photos' words had a mean confidence
of 62–85; turned 180°, 35–46. The detection's own answer is weak on receipts: it said "Rotate: 180" for turned
photos with an orientation confidence of 0.45–5.3, and for one upright photo that read badly; for some turned ones
it said nothing. So a page is checked under a mean of :data:`CHECK_BELOW`, turned as the detection says (180° when
it names no turn: the commonest mistake), and said turned only when the turned page reads :data:`BETTER_BY` points
more confidently: no upright dev photo of 50 was said turned, 11 of 12 turned ones were (docs/OCR.md).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .merge import OcrWord
from .tesseract import run_osd

LOOKS_TURNED = "ocr_looks_turned"  # a document's meta key: the degrees clockwise that would make its photo upright
CHECK_BELOW = 55.0  # a page whose words' mean confidence is under this is checked (and a page of no words)
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


def turn_to_try(page: str, dpi: int | None, timeout: float) -> int:
    """The degrees clockwise that may make the page at ``page`` upright: Tesseract's answer when it names a turn,
    however unsure, else 180 (it said nothing, or "upright" of a page that reads badly); :func:`reads_better`
    decides."""
    try:
        degrees = int(run_osd(page, dpi, timeout).get("Rotate", "0"))
    except ValueError:
        return 180
    return degrees if degrees in TURNS else 180


def turned_note(degrees: int, then: str = "upload it again") -> str:
    """What an upload says of a photo whose text looks turned by ``degrees`` (``then``: what to do once turned)."""
    how = "upside down" if degrees == 180 else f"on its side (it reads upright turned {degrees}° clockwise)"
    return (f"the text looks {how}, so Tesseract read it poorly: turn the photo upright (a phone's photo editor "
            f"does) and {then}")


def turned_note_of(meta: Mapping[str, Any], then: str = "upload it again") -> str | None:
    """:func:`turned_note` of a document whose OCR found its photo turned (its ``meta``), else None."""
    degrees = meta.get(LOOKS_TURNED)
    return turned_note(degrees, then) if degrees in TURNS else None
