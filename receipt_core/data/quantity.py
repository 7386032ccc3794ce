"""Parse an item quantity from how receipts print it: ``2``, ``2x``, ``x2``, ``2 PCS``, ``1,5``, ``*2 Pcs``."""

from __future__ import annotations

import re

# A number (comma or dot decimal) optionally wrapped in x/X/@/* markers and followed by a unit word.
# Elsewhere in a text, a number counts only when no letter or ``#`` runs into it from the left: ``Qty:2``,
# ``(2)``, ``No.1`` and ``2BT`` (a unit after it) are quantities, product codes such as ``#F11`` or ``PB22``
# are not.
_NUMBER = re.compile(r"(?<![A-Za-z#\d])(?<!\d[.,])(\d+(?:[.,]\d+)?)")
_QUANTITY_SHAPE = re.compile(
    r"^\s*[*x×@]?\s*(\d+(?:[.,]\d+)?)\s*(?:[x×@*]|pcs?|prs|btl|ea|pk|pc|items?|qty|kg|g)?\b.*$",
    re.IGNORECASE,
)


def parse_quantity(text: str) -> float | None:
    """The numeric quantity a word or phrase prints, or None when it holds no number that can be one.

    >>> parse_quantity("2x"), parse_quantity("x2"), parse_quantity("2 PCS"), parse_quantity("1,5")
    (2.0, 2.0, 2.0, 1.5)
    >>> parse_quantity("Qty:2"), parse_quantity("(3)"), parse_quantity("2BT"), parse_quantity("#F11")
    (2.0, 3.0, 2.0, None)
    """
    cleaned = text.strip()
    if not cleaned:
        return None
    match = _QUANTITY_SHAPE.match(cleaned) or _NUMBER.search(cleaned)
    if match is None:
        return None
    number = match.group(1)
    # "1,5" is a decimal comma; "1,000" (three digits after the comma) is a thousands separator.
    if "," in number:
        whole, frac = number.split(",", 1)
        is_thousands = len(frac) == 3 and whole not in ("", "0")
        number = whole + frac if is_thousands else f"{whole}.{frac}"
    try:
        value = float(number)
    except ValueError:
        return None
    return value
