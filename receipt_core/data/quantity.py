"""Parse an item quantity from how receipts print it: ``2``, ``2x``, ``x2``, ``2 PCS``, ``1,5``, ``*2 Pcs``."""

from __future__ import annotations

import re
import unicodedata

# A number (comma or dot decimal) optionally wrapped in x/X/@/* markers and followed by a unit word.
# Elsewhere in a text, a number counts only when no letter or ``#`` runs into it from the left: ``Qty:2``,
# ``(2)``, ``No.1`` and ``2BT`` (a unit after it) are quantities, product codes such as ``#F11`` or ``PB22``
# are not.
# A number may be grouped (``1,234.5``, ``1.234,5``); at the start of a word it may lack its leading 0 (``.5``).
_NUMBER = re.compile(r"(?<![A-Za-z#\d])(?<!\d[.,])(\d+(?:[.,]\d+)*)")
_QUANTITY_SHAPE = re.compile(
    r"^\s*[*x×@]?\s*(\d+(?:[.,]\d+)*|[.,]\d+)\s*(?:[x×@*]|pcs?|prs|btl|ea|pk|pc|items?|qty|kg|g)?\b.*$",
    re.IGNORECASE,
)
_FRACTION = re.compile(r"\s*/\s*\d")  # "3/4", "1/2": no count of items, and no number this parser reads

_EXPONENT = re.compile(r"[eE][+-]?\d")  # right after a number: scientific notation, not a unit
_GROUPED = re.compile(r"_\d")  # right after a number: "1_000" is no printed count (a probe's read as 1)


MAX_QUANTITY = 1_000_000_000.0
"""No quantity is larger: a longer number (``99999999999999999999``) is a code or noise, and importers bound a stored
``quantity_value`` by the same figure."""


def parse_quantity(text: str) -> float | None:
    """The numeric quantity a word or phrase prints, or None when it holds no number that can be one.

    >>> parse_quantity("2x"), parse_quantity("x2"), parse_quantity("2 PCS"), parse_quantity("1,5")
    (2.0, 2.0, 2.0, 1.5)
    >>> parse_quantity("Qty:2"), parse_quantity("(3)"), parse_quantity("2BT"), parse_quantity("#F11")
    (2.0, 3.0, 2.0, None)
    >>> parse_quantity("-2"), parse_quantity("1e308"), parse_quantity("2ea")
    (None, None, 2.0)
    >>> parse_quantity(".5"), parse_quantity("1,234.5"), parse_quantity("1.234,5"), parse_quantity("3/4")
    (0.5, 1234.5, 1234.5, None)
    >>> parse_quantity("1_000"), parse_quantity("2_pcs"), parse_quantity("TOTAL\u200f123"), parse_quantity("\u200e2x")
    (None, 2.0, None, 2.0)
    """
    # invisible format characters (bidirectional marks, zero-width spaces) separate nothing a reader sees: a probe's
    # QUANTITY word "\u202eTOTAL\u202c\u200f123" was read back as 123 past the mark before its digits
    cleaned = (text if text.isascii() else "".join(c for c in text if unicodedata.category(c) != "Cf")).strip()
    if not cleaned:
        return None
    match = _QUANTITY_SHAPE.match(cleaned) or _NUMBER.search(cleaned)
    if match is None:
        return None
    before = cleaned[:match.start(1)].rstrip()
    if before.endswith("-") or _EXPONENT.match(cleaned, match.end(1)):
        return None  # "-2" is no count of items, "1e308" no printed one (a probe saw them stored as 2 and 1)
    if before.endswith("/") or _FRACTION.match(cleaned, match.end(1)) or _GROUPED.match(cleaned, match.end(1)):
        return None  # "3/4" read as 3, "1/2" as 1, "1_000" as 1 (probes)
    number = _plain_number(match.group(1))
    if number is None:
        return None
    try:
        value = float(number)
    except ValueError:
        return None
    return value if value <= MAX_QUANTITY else None


def _plain_number(number: str) -> str | None:
    """A printed number as Python reads it, or None when its separators make no number.

    One separator: ``1,5`` and ``1.5`` are decimals, and so is ``.5``; ``1,000`` (three digits after a single
    comma) is a thousands separator, ``1.000`` a decimal (receipts print both ways). Several: every group after the
    first has three digits, but for a last one after a different mark (``1,234.5``, ``1.234,5``) or of other than
    three digits (``121.000.00``), which is the decimal part; anything else (``13.05.2017``) is no number. A probe
    read ``1,234.5`` as 1234 and ``1.234,5`` as 1.234."""
    separators = [char for char in number if char in ".,"]
    if len(separators) > 1:
        groups = re.split(r"[.,]", number)
        decimal = separators[-1] != separators[0] or len(groups[-1]) != 3
        grouped = groups[1:-1] if decimal else groups[1:]
        if any(len(group) != 3 for group in grouped) or len(set(separators[:-1] if decimal else separators)) > 1:
            return None
        return "".join(groups[:-1]) + "." + groups[-1] if decimal else "".join(groups)
    if separators == [","]:
        whole, frac = number.split(",", 1)
        is_thousands = len(frac) == 3 and whole not in ("", "0")
        return whole + frac if is_thousands else f"{whole}.{frac}"
    return number


# Glyphs Tesseract reads in place of a digit on receipt photos. Counted on WildReceipt train (225 receipts OCR'd with
# RECEIPT_OCR): of the gold quantity segments "1" read as something else, 81 came out as one of | ] } { i l I ! J \.
_LOOKALIKES = {"1": "|][}{ilI!J\\", "0": "Oo", "5": "S"}
_READ_BACK = str.maketrans({glyph: digit for digit, glyphs in _LOOKALIKES.items() for glyph in glyphs})
_BARE_NUMBER = re.compile(
    r"^\s*[*x×@]?\s*([\d" + re.escape("".join(_LOOKALIKES.values())) + r"]{1,3}(?:[.,]\d{1,3})?)\s*[x×@*]?\s*$")


def read_back_quantity(text: str) -> float | None:
    """The number a word that is nothing but a short number prints, once glyphs the OCR confuses with digits are
    read as those digits: ``|`` → 1, ``lx`` → 1, ``lO`` → 10, ``S`` → 5, ``2@`` → 2, ``1.00`` → 1; None for any
    other word (``Ice``, ``14:48``, ``#F11``). Only context (a quantity column, a row's arithmetic;
    ``model.quantity_column``) says such a word is a quantity at all.

    >>> read_back_quantity("|"), read_back_quantity("Ix"), read_back_quantity("lO"), read_back_quantity("2")
    (1.0, 1.0, 10.0, 2.0)
    >>> read_back_quantity("Ice"), read_back_quantity("14:48:46"), read_back_quantity("1,5")
    (None, None, 1.5)
    """
    match = _BARE_NUMBER.match(text)
    if match is None:
        return None
    return parse_quantity(match.group(1).translate(_READ_BACK))
