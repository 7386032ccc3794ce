"""Quantities by row and column on receipts without unit prices (model/quantity_column.py, through
reconcile_quantities), on rows laid out as WildReceipt's liquor-store receipt prints them:

    Item     Qty   Price   Total
    100507    1     7.99    7.99
    LEFTY O'DOUL'S MARGARITA MIX
"""

from __future__ import annotations

from receipt_core.data.document import Word
from receipt_core.data.quantity import read_back_quantity
from receipt_core.model.reconcile import reconcile_quantities

ROW_HEIGHT = 25
QTY_X = (380, 396)  # the Qty column


def _row(y: int, code: str, quantity: str | None, price: str, total: str, line: int) -> list[Word]:
    words = [Word(code, (100, y, 180, y + ROW_HEIGHT), line_id=line)]
    if quantity is not None:
        words.append(Word(quantity, (QTY_X[0], y, QTY_X[1], y + ROW_HEIGHT), line_id=line))
    words += [Word(price, (445, y, 502, y + ROW_HEIGHT), line_id=line),
              Word(total, (592, y, 646, y + ROW_HEIGHT), line_id=line)]
    return words


def _receipt(*rows) -> list[Word]:
    return [word for row in rows for word in row]


def _decode(words: list[Word], quantities: dict[str, bool]) -> tuple[list[str], list[bool]]:
    """The model's decoding: the total column is ITEM_PRICE, the words named in ``quantities`` flagged or not."""
    fields = ["ITEM_PRICE" if w.box[0] == 592 else "OTHER" for w in words]
    flags = [quantities.get(f"{w.text}@{w.box[1]}", False) for w in words]
    return fields, flags


def test_a_quantity_read_as_a_pipe_in_the_column_reads_back_as_one():
    words = _receipt(_row(400, "100507", "1", "7.99", "7.99", 0), _row(465, "10417", "|", "4.99", "4.99", 1),
                     _row(593, "10116", "4", "0.99", "3.96", 2))
    fields, flags = _decode(words, {"1@400": True, "|@465": True, "4@593": True})
    new_fields, new_flags, values = reconcile_quantities(words, fields, flags, fields)
    assert (new_fields, new_flags) == (fields, flags)  # only the value changes
    assert [values[i] for i, w in enumerate(words) if flags[i]] == [1.0, 1.0, 4.0]


def test_a_garbled_quantity_reads_back_by_its_rows_arithmetic_when_there_is_no_column():
    # one item only: no column, but l x 4.99 is the row's 4.99; an S for 5 makes 5 x 0.99 = 4.95
    for text, price, total, value in (("l", "4.99", "4.99", 1.0), ("S", "0.99", "4.95", 5.0)):
        words = _receipt(_row(465, "10417", text, price, total, 0))
        fields, flags = _decode(words, {f"{text}@465": True})
        assert reconcile_quantities(words, fields, flags, fields)[2][1] == value
    words = _receipt(_row(465, "10417", "|", "8.99", "8.99", 0))  # the unit price read as a price as well
    fields, flags = _decode(words, {"|@465": True})
    fields[2] = "ITEM_PRICE"
    assert reconcile_quantities(words, fields, flags, fields)[2][1] == 1.0
    words = _receipt(_row(465, "10417", "S", "0.99", "3.96", 0))  # 5 x 0.99 is not 3.96: no reason to read back
    fields, flags = _decode(words, {"S@465": True})
    assert reconcile_quantities(words, fields, flags, fields)[2][1] is None


def test_a_price_row_without_a_quantity_takes_the_number_in_the_quantity_column():
    words = _receipt(_row(400, "100507", "1", "7.99", "7.99", 0), _row(465, "10417", "]", "4.99", "4.99", 1),
                     _row(528, "100053", "2", "43.99", "87.98", 2), _row(593, "10116", "4", "0.99", "3.96", 3))
    fields, flags = _decode(words, {"1@400": True, "2@528": True, "4@593": True})  # the model missed "]"
    new_fields, new_flags, values = reconcile_quantities(words, fields, flags, fields)
    bracket = next(i for i, w in enumerate(words) if w.text == "]")
    assert new_flags[bracket] and values[bracket] == 1.0 and new_fields[bracket] == "OTHER"
    assert [i for i in range(len(words)) if new_flags[i] != flags[i]] == [bracket]


def test_numbers_outside_the_column_or_rows_without_a_price_are_left_alone():
    words = _receipt(_row(400, "100507", "1", "7.99", "7.99", 0), _row(528, "100053", "1", "43.99", "43.99", 1),
                     _row(593, "3", None, "0.99", "0.99", 2))  # a bare 3 in the code column, far from Qty
    words.append(Word("2", (QTY_X[0], 700, QTY_X[1], 725), line_id=3))  # in the column, on a row without a price
    words.append(Word("0", (QTY_X[0], 760, QTY_X[1], 785), line_id=4))  # a zero in the column on a price row
    words.append(Word("5.00", (592, 760, 646, 785), line_id=4))
    fields, flags = _decode(words, {"1@400": True, "1@528": True})
    assert reconcile_quantities(words, fields, flags, fields)[:2] == (fields, flags)


def test_one_flagged_quantity_makes_no_column():
    words = _receipt(_row(400, "100507", "1", "7.99", "7.99", 0), _row(465, "10417", "|", "4.99", "9.98", 1))
    fields, flags = _decode(words, {"1@400": True})
    assert reconcile_quantities(words, fields, flags, fields)[:2] == (fields, flags)


def test_read_back_takes_only_short_bare_numbers():
    assert [read_back_quantity(t) for t in ("|", "]", "Ix", "lO", "S", "2@", "1.00")] == [1, 1, 1, 10, 5, 2, 1]
    assert [read_back_quantity(t) for t in ("Ice", "Gls", "14:48:46", "#F11", "TOTAL", "")] == [None] * 6
