"""Receipt items from per-word predictions: one item per receipt line that names something.

A line with ITEM_NAME words starts an item: its name is those words joined, its quantity the value of the
first quantity word on the line (1 when there is none), its unit price and price the numbers printed by the
line's ITEM_UNIT_PRICE and ITEM_PRICE words. A following line without a name but with a quantity or prices
(the two-line layout ``ICE TEA`` / ``2 x 10.000  20.000``) completes the item above it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from .document import Word
from .quantity import parse_quantity

_AMOUNT = re.compile(r"\d[\d.,]*")
# Arabic decimal and thousands separators; the minus sign and the dashes OCR reads for a hyphen-minus
_SEPARATORS_AND_MINUS = str.maketrans({"\u066b": ".", "\u066c": ",", "\u2212": "-", "\u2010": "-", "\u2011": "-",
                                      "\u2012": "-", "\u2013": "-", "\u2014": "-"})
# a fraction ("1/2", "½" as NFKC writes it, "1⁄2") or a number in exponent form ("1e5"): no price (a probe: 1.0)
_NO_AMOUNT = re.compile(r"\d\s*[/\u2044]\s*\d|\d[eE][-+]?\d")
_TRAILING_MINUS = re.compile(r"\s*-\s*[A-Za-z]?\s*")  # "5.00-", "5.00-T": a discount, a tax flag after it
# a time of day or a date prints numbers that are no amount: a walkthrough's "22:46:33", labelled a unit price by
# the model, gave an item a unit price of 22
_TIME_OR_DATE = re.compile(r"\d{1,2}:\d{2}|\d{1,4}[/-]\d{1,2}[/-]\d{1,4}")
# an article or phone number prints digits joined by a hyphen, or after "#": a walkthrough's "#102-75333",
# labelled a unit price, priced an item 102
_CODE = re.compile(r"\d-\d|#\s*\d")


@dataclass(frozen=True)
class Item:
    name: str
    quantity: float
    unit_price: float | None
    price: float | None
    line_id: int = 0
    quantity_read: bool = False  # a quantity word gave ``quantity``; False: none did, and it is the implied 1

    def to_json(self) -> dict:
        return {"name": self.name, "quantity": self.quantity, "unit_price": self.unit_price, "price": self.price,
                "quantity_read": self.quantity_read}


def parse_price(text: str) -> float | None:
    """The amount a price word prints, or None: ``Rp 25.000`` → 25000, ``1.234,50`` → 1234.5, ``$12.99`` →
    12.99, ``25,000`` → 25000, ``12,50`` → 12.5, ``-5.000`` → -5000, ``.99`` → 0.99; a time of day or a date
    (``22:46:33``, ``12/05/2026``) and a code (``#102-75333``, ``102-75333``) → None.

    With both separators the last one is the decimal point. With one kind only: repeated, or followed by
    exactly three digits, it separates thousands (receipts in rupiah print ``25.000``); else it is decimal.
    Fullwidth digits and points, and Arabic decimal and thousands separators, read as theirs (``３．５０``, ``٣٫٥٠``
    → 3.5: a probe's came out 3.0, the rest dropped at the separator); the minus sign and dashes are a minus; a
    trailing minus is a discount's sign (``5.00-`` and ``5.00-T`` → -5.0); a fraction (``½``) and ``3..50`` are
    no amount.
    """
    text = unicodedata.normalize("NFKC", text).translate(_SEPARATORS_AND_MINUS)
    match = _AMOUNT.search(text)
    if match is None or _TIME_OR_DATE.search(text) or _CODE.search(text) or _NO_AMOUNT.search(text):
        return None
    if re.search(r"[.,]{2}", match.group(0)):  # "3..50": no amount prints two separators in a row
        return None
    number = match.group(0).rstrip(".,")
    negative = ("-" in text[:match.start()] or (text.strip().startswith("(") and text.strip().endswith(")"))
                # "45.000,-" and "5.-" print no cents, not a minus
                or (_TRAILING_MINUS.fullmatch(text[match.end():]) is not None and match.group(0)[-1].isdigit()))
    before = text[:match.start()]
    cents_alone = before.endswith((".", ",")) and not before[:-1].rstrip("$€£¥ ")[-1:].isdigit()
    if cents_alone and re.fullmatch(r"\d{1,2}", number):
        value = float("0." + number)  # ".99", a price's cents that OCR read apart: not 99
        return -value if negative else value
    if "." in number and "," in number:
        decimal = "." if number.rfind(".") > number.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        whole = number[:number.rfind(decimal)].split(thousands)
        if decimal in number[:number.rfind(decimal)] or any(len(group) != 3 for group in whole[1:]):
            return None  # "123,4.50", "12.34,56": no thousands groups (a probe: 1234.5, 1234.56)
        number = number.replace(thousands, "").replace(decimal, ".")
    elif "." in number or "," in number:
        sep = "." if "." in number else ","
        parts = number.split(sep)
        if len(parts) > 2 and all(len(part) == 3 for part in parts[1:-1]) and len(parts[-1]) == 2:
            number = "".join(parts[:-1]) + "." + parts[-1]  # CORD's "6.000.00" is 6000.00, not 600000
        elif len(parts) > 2 and any(len(part) != 3 for part in parts[1:]):  # "1.2.3", "3,5,0": no thousands
            return None
        elif len(parts) > 2 or len(parts[-1]) == 3:
            number = "".join(parts)
        else:
            number = ".".join(parts)
    try:
        value = float(number)
    except ValueError:
        return None
    if not math.isfinite(value):  # 400 nines: "Infinity" in the JSON downloads, which strict readers refuse (a probe)
        return None
    return -value if negative and value else value  # zero has no sign: "-0" read -0.0 in the downloads (a probe)


def last_amount(texts: Sequence[str]) -> float | None:
    """The rightmost parseable amount among a line's price words (the line total sits at the right). Where OCR split
    one amount at its decimal point, the two pieces are read as one: ``$8`` and ``.99`` (the item's price came out
    as 99, a walkthrough), and ``43.`` and ``99`` (another walkthrough's photo: 43.99 priced 99)."""
    joined: list[str] = []
    for text in texts:
        if joined and (re.match(r"[.,]\d", text.strip()) and re.search(r"\d$", joined[-1].strip())
                       or re.match(r"\d", text.strip()) and re.search(r"\d[.,]$", joined[-1].strip())):
            joined[-1] = joined[-1].strip() + text.strip()
        else:
            joined.append(text)
    amounts = [a for a in (parse_price(t) for t in joined) if a is not None]
    return amounts[-1] if amounts else None


_WHOLE_PART = re.compile(r"[$€£]?\d+[.,]")  # "4." or "$1,": an amount's whole part, its cents read apart
_CENTS = re.compile(r"\d{2}(?!\d)")  # "29" or "29T" (a tax flag after the cents)


def price_texts(words: Sequence[Word], indices: Sequence[int], fields: Sequence[str], field: str) -> list[str]:
    """The texts of the line's words labelled ``field`` (a price), in order, each joined to the word before it on
    the line when OCR split one amount there and the model labelled only its cents: "4." and "29T" priced an item
    29 (a walkthrough's CVS photo, printed 4.29T)."""
    texts = []
    for position, index in enumerate(indices):
        if fields[index] != field:
            continue
        text = words[index].text.strip()
        before = indices[position - 1] if position else None
        if before is not None and fields[before] != field and _WHOLE_PART.fullmatch(words[before].text.strip()) \
                and _CENTS.match(text):
            text = words[before].text.strip() + text
        texts.append(text)
    return texts


PRICE_TOLERANCE = 0.01  # relative: 2 × 10,000 against 20,000 printed, rounding included


def line_total_fits(quantity: float, unit_price: float, price: float) -> bool:
    """Whether quantity × unit price is the line's price, within :data:`PRICE_TOLERANCE`: the arithmetic that
    reconciling settles a line by (``model/reconcile.py``) and that Predict checks each item against."""
    return math.isclose(quantity * unit_price, price, rel_tol=PRICE_TOLERANCE)


def assemble_items(words: Sequence[Word], fields: Sequence[str], quantity_flags: Sequence[bool],
                   quantity_values: Sequence[float | None]) -> list[Item]:
    """Items per receipt line from each word's field, quantity flag and quantity value (parsed from the
    word's text when the value is None). Words are grouped by ``line_id`` in their order of appearance."""
    if not (len(words) == len(fields) == len(quantity_flags) == len(quantity_values)):
        raise ValueError(f"assemble_items needs one field, flag and value per word: {len(words)} words, "
                         f"{len(fields)} fields, {len(quantity_flags)} flags, {len(quantity_values)} values")
    lines: dict[int, list[int]] = {}
    for index, word in enumerate(words):
        lines.setdefault(word.line_id, []).append(index)
    items: list[dict] = []
    for line_id, indices in lines.items():
        names = [words[i].text for i in indices if fields[i] == "ITEM_NAME"]
        quantity = _first_quantity(words, indices, quantity_flags, quantity_values)
        unit_price = last_amount(price_texts(words, indices, fields, "ITEM_UNIT_PRICE"))
        price = last_amount(price_texts(words, indices, fields, "ITEM_PRICE"))
        if names:
            items.append({"name": " ".join(names), "quantity": quantity, "unit_price": unit_price, "price": price,
                          "line_id": line_id})
        elif items and items[-1]["price"] is None and (quantity is not None or unit_price is not None
                                                       or price is not None):
            previous = items[-1]
            for key, value in (("quantity", quantity), ("unit_price", unit_price), ("price", price)):
                if previous[key] is None:
                    previous[key] = value
    return [Item(name=i["name"], quantity=1.0 if i["quantity"] is None else i["quantity"],
                 unit_price=i["unit_price"], price=i["price"], line_id=i["line_id"],
                 quantity_read=i["quantity"] is not None) for i in items]


def _first_quantity(words: Sequence[Word], indices: Sequence[int], flags: Sequence[bool],
                    values: Sequence[float | None]) -> float | None:
    for i in indices:
        if flags[i]:
            value = values[i] if values[i] is not None else parse_quantity(words[i].text)
            if value is not None:
                return float(value)
    return None
