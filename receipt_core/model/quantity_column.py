"""Quantities by their row and column, for receipts that print no unit price (WildReceipt).

Where a receipt prints item quantities, it prints them in one column: small integers, each on a row that also
carries the item's price. On WildReceipt train's gold segments, 976 of the 993 quantities in receipts with two or
more lie within 1.5 row heights of the median centre of that receipt's quantities, and 888 of 1,039 share a
printed row with an item price. Two rules read quantities back from that layout once the words are decoded:

- **Garbled quantities read back.** Tesseract often reads a thin ``1`` as ``|``, ``]``, ``l`` or ``I`` (81 of the
  gold ``1`` segments it misread on WildReceipt train). A word the model flagged as a quantity whose text holds
  no number, on a row without another quantity, gets the whole number its look-alike glyphs spell
  (``data.quantity.read_back_quantity``) when it lies in the column of the receipt's other quantities, or when
  that value times another number on its row is the row's price.
- **The column fills its gaps.** On a row with an item price and no quantity, a word the model left ``OTHER``
  that lies in the quantity column and is a bare whole number from 1 to 99 (plainly or read back) becomes the
  row's quantity. The column needs two flagged quantities on rows with a price above zero to exist.

A receipt whose decoding leaves no gap and holds no garbled quantity is not changed.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from ..data.document import Word
from ..data.items import parse_price
from ..data.quantity import parse_quantity, read_back_quantity
from ..data.schema import OTHER

PRICE = "ITEM_PRICE"
COLUMN_ROWS = 1.5  # how far from the column a quantity may lie, in row heights
MOST_ITEMS = 99  # the largest quantity a gap is filled with
_PRICE_TOLERANCE = 0.01  # relative, as reconcile's arithmetic


def same_row(a: Word, b: Word) -> bool:
    """Whether two words sit on one printed row: their vertical extents overlap by half the shorter one (an
    annotated or OCR line can hold several rows of a tilted receipt)."""
    overlap = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    return overlap >= 0.5 * min(a.box[3] - a.box[1], b.box[3] - b.box[1])


@dataclass(frozen=True)
class Column:
    """The receipt's quantity column: its x centre and how far from it (pixels) a quantity may lie."""

    x: float
    reach: float

    def holds(self, word: Word) -> bool:
        return abs(word.center[0] - self.x) <= self.reach


def _column(anchors: Sequence[Word]) -> Column | None:
    if len(anchors) < 2:
        return None
    height = statistics.median(w.box[3] - w.box[1] for w in anchors)
    return Column(x=statistics.median(w.center[0] for w in anchors), reach=COLUMN_ROWS * height)


def settle_by_column(words: Sequence[Word], fields: list[str], flags: list[bool],
                     values: list[float | None]) -> None:
    """Apply both rules (module docstring) in place: ``values[i]`` is flagged word i's quantity (None when its text
    holds none), ``fields``/``flags`` the decoding after the other reconciling rules."""
    charged = [j for j, w in enumerate(words) if fields[j] == PRICE and _charged(w)]  # parsed once, not per word
    price_rows = {i: [j for j in charged if same_row(words[i], words[j])] for i in range(len(words))}
    column = _column([words[i] for i in range(len(words)) if flags[i] and price_rows[i]])
    for i, word in enumerate(words):
        if not flags[i] or values[i] is not None or _row_has_quantity(words, flags, values, i):
            continue
        guess = read_back_quantity(word.text)
        if _item_count(guess) and (
                (column is not None and column.holds(word) and _others_in_column(words, flags, column, i))
                or _row_fits(words, fields, i, guess, price_rows[i])):
            values[i] = guess
    if column is None:
        return
    for i, word in enumerate(words):
        if flags[i] or fields[i] != OTHER or not price_rows[i] or not column.holds(word):
            continue
        if any(flags[j] and same_row(word, w) for j, w in enumerate(words)):
            continue  # the row has its quantity (or got one from a word left of this one)
        value = read_back_quantity(word.text)
        if _item_count(value):
            flags[i], values[i] = True, value


def _charged(price: Word) -> bool:
    amount = parse_price(price.text)
    return amount is not None and amount > 0


def _item_count(value: float | None) -> bool:
    return value is not None and value == int(value) and 1 <= value <= MOST_ITEMS


def _row_has_quantity(words: Sequence[Word], flags: Sequence[bool], values: Sequence[float | None],
                      index: int) -> bool:
    return any(flags[j] and values[j] is not None and j != index and same_row(words[index], w)
               for j, w in enumerate(words))


def _others_in_column(words: Sequence[Word], flags: Sequence[bool], column: Column, index: int) -> bool:
    return any(flags[j] and j != index and column.holds(w) for j, w in enumerate(words))


def _row_fits(words: Sequence[Word], fields: Sequence[str], index: int, quantity: float,
              prices: Sequence[int]) -> bool:
    """Whether ``quantity`` times another number on word ``index``'s row is the row's price."""
    for p in prices:  # each a price above zero (``_charged``)
        price = parse_price(words[p].text)
        for j, word in enumerate(words):
            if j in (index, p) or not same_row(words[index], word):  # a unit price may be read as a price
                continue
            unit = parse_price(word.text)
            if unit is not None and unit > 0 and math.isclose(quantity * unit, price, rel_tol=_PRICE_TOLERANCE):
                return True
    return False


def parsed_values(words: Sequence[Word], flags: Sequence[bool]) -> list[float | None]:
    """Each flagged word's quantity as its text prints it (None for unflagged words and unparseable text)."""
    return [parse_quantity(w.text) if flag else None for w, flag in zip(words, flags)]
