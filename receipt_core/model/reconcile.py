"""Settle an item's quantity where the per-word decoding contradicts what a printed receipt must satisfy.

Each word is decoded on its own (``predict.decode_word``), so a line can come out saying two things at once:
two different quantities, or a quantity that does not multiply its unit price into its price. Two facts of
printed receipts decide such lines; both were counted on CORD train's gold labels (the annotation files, not a
model's output):

- **One receipt prints its quantities in one column.** CORD train has 188 other bare numbers on an item's
  quantity line (item codes, sizes such as ``350``, numbers in names) in receipts where other items print a
  quantity too; every one of them lies farther than the quantity from the median centre of those other
  quantities. So when one printed row holds flagged quantity words with different values, the one nearest the
  column of the receipt's other quantities stays; the others become their best field.
- **Quantity × unit price = price.** It holds on 361 of the 369 CORD train lines that print both prices (the
  other 9: a two-row item whose quantity is on its other line, toppings added to the price, a quantity printed
  ``1,000``, a percentage discount). So when a line's unit price and price (as decoded) disagree with its
  quantity (1 when none is flagged) and another number on the line fits, that number becomes the quantity.

Both rules only act on lines whose decoding is inconsistent; a consistent line is never changed. Receipts that
print no unit price (WildReceipt) are then settled by their quantity column (``quantity_column``): garbled
quantities (``|`` for 1) read back, and price rows without a quantity given the number in the column.
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence

from ..data.document import Word
from ..data.items import last_amount, line_total_fits, parse_price
from ..data.quantity import parse_quantity
from ..data.schema import OTHER
from .quantity_column import parsed_values, same_row, settle_by_column

SETTLED_BY = "line arithmetic"  # how a prediction names a word these rules answered (predict.WordPrediction)
_UNIT_PRICE = "ITEM_UNIT_PRICE"
_PRICE = "ITEM_PRICE"


def reconcile_quantities(words: Sequence[Word], fields: Sequence[str], flags: Sequence[bool],
                         best_fields: Sequence[str]) -> tuple[list[str], list[bool], list[float | None]]:
    """Each word's field, quantity flag and quantity value after the column rule, the arithmetic rule and the
    quantity column's rules (module docstring); the value is None for a word that is not a quantity or whose
    text holds none.

    ``fields`` and ``flags`` are the per-word decoding; ``best_fields[i]`` is word i's most likely field when it
    is not a quantity (what a word becomes when it loses its quantity flag). Lines are ``Word.line_id`` groups.
    """
    if not (len(words) == len(fields) == len(flags) == len(best_fields)):
        raise ValueError(f"reconcile_quantities needs one field, flag and best field per word: {len(words)} words, "
                         f"{len(fields)} fields, {len(flags)} flags, {len(best_fields)} best fields")
    fields, flags = list(fields), list(flags)
    lines: dict[int, list[int]] = {}
    for index, word in enumerate(words):
        lines.setdefault(word.line_id, []).append(index)
    _keep_column_quantity(words, fields, flags, best_fields, list(lines.values()))
    for indices in lines.values():
        _fit_arithmetic(words, fields, flags, best_fields, indices)
    values = parsed_values(words, flags)
    settle_by_column(words, fields, flags, values)
    return fields, flags, values


def _flagged_values(words: Sequence[Word], flags: Sequence[bool], indices: Sequence[int]) -> list[tuple[int, float]]:
    values = ((i, parse_quantity(words[i].text)) for i in indices if flags[i])
    return [(i, v) for i, v in values if v is not None]


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, abs_tol=1e-6)


def _distinct(values: Sequence[float]) -> list[float]:
    distinct: list[float] = []
    for value in values:
        if not any(_same(value, seen) for seen in distinct):
            distinct.append(value)
    return distinct


def _unflag(index: int, fields: list[str], flags: list[bool], best_fields: Sequence[str]) -> None:
    flags[index] = False
    fields[index] = best_fields[index]


def _row_conflicts(words: Sequence[Word], flagged: Sequence[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """Groups of flagged words that share a printed row and disagree on the value (each word in one group)."""
    conflicts, seen = [], set()
    for index, _ in flagged:
        if index in seen:
            continue
        row = [(i, v) for i, v in flagged if i not in seen and same_row(words[index], words[i])]
        if len(_distinct([v for _, v in row])) > 1:
            conflicts.append(row)
            seen.update(i for i, _ in row)
    return conflicts


def _keep_column_quantity(words: Sequence[Word], fields: list[str], flags: list[bool], best_fields: Sequence[str],
                          lines: Sequence[Sequence[int]]) -> None:
    anchors: list[tuple[int, float]] = []  # (line number, x centre) of every flagged word not in a conflict
    conflicts: list[tuple[int, list[tuple[int, float]]]] = []
    for number, indices in enumerate(lines):
        flagged = _flagged_values(words, flags, indices)
        rows = _row_conflicts(words, flagged)
        in_conflict = {i for row in rows for i, _ in row}
        conflicts.extend((number, row) for row in rows)
        anchors.extend((number, words[i].center[0]) for i, _ in flagged if i not in in_conflict)
    for number, row in conflicts:
        others = [x for line, x in anchors if line != number]
        if not others:
            continue  # no column to compare with: keep the decoding as it is
        column = statistics.median(others)
        kept, kept_value = min(row, key=lambda iv: abs(words[iv[0]].center[0] - column))
        for index, value in row:
            if index != kept and not _same(value, kept_value):
                _unflag(index, fields, flags, best_fields)


def _fit_arithmetic(words: Sequence[Word], fields: list[str], flags: list[bool], best_fields: Sequence[str],
                    indices: Sequence[int]) -> None:
    unit_words = [i for i in indices if fields[i] == _UNIT_PRICE and parse_price(words[i].text) is not None]
    unit_price = last_amount([words[i].text for i in unit_words])
    price = last_amount([words[i].text for i in indices if fields[i] == _PRICE])
    if unit_price is None or price is None or unit_price <= 0 or price <= 0:
        return
    flagged = _flagged_values(words, flags, indices)
    quantity = flagged[0][1] if flagged else 1.0
    if line_total_fits(quantity, unit_price, price):
        return
    for index in indices:
        if index == unit_words[-1] or fields[index] == _PRICE:
            continue  # the unit price and the price themselves are not candidates
        value = parse_quantity(words[index].text)
        if value is not None and value > 0 and line_total_fits(value, unit_price, price):
            for other, other_value in flagged:
                if not _same(other_value, value):
                    _unflag(other, fields, flags, best_fields)
            flags[index] = True
            fields[index] = OTHER
            return

