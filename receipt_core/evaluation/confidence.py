"""How far to trust a prediction: a confidence per word and per item, the uncertain words, and what a run's
validation scores say about its output.

A word's confidence is the probability of the answer it got: the quantity head's probability for a quantity word,
the field head's probability of its field for any other word. An item's confidence is the lowest confidence of
the words it was assembled from (its name, price and quantity words, on its line and on a continuation line below
it, as ``data.items.assemble_items`` groups them): an item is as doubtful as its most doubtful part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..data.items import last_amount, line_total_fits
from ..data.schema import ITEM_FIELDS, shown_label
from ..datasets.splits import MIN_EVAL_RECEIPTS
from ..model.item_codes import SETTLED_BY as CODE_RULE
from ..model.reconcile import SETTLED_BY as LINE_RULES
from ..wording import counted

DEFAULT_UNCERTAIN_BELOW = 0.5
# who answered a word that a rule settled against the model: its line's numbers (model/reconcile.py) or its place
# before an item name (model/item_codes.py)
LINE_ARITHMETIC = LINE_RULES
PRODUCT_CODE = CODE_RULE
RECEIPT_TOTALS = ("TOTAL", "SUBTOTAL")  # the fields whose amounts bound an item's price
LOW_FIELD_F1 = 0.5  # under this validation field micro-F1 the output is mostly wrong
FAIR_FIELD_F1 = 0.8  # under this, a good share of it is


@dataclass(frozen=True)
class ScoredItem:
    """An item with how sure the model was of it."""

    name: str
    quantity: float
    unit_price: float | None
    price: float | None
    confidence: float  # the lowest confidence of its words (0-1)
    uncertain_words: int  # its words under the threshold
    quantity_read: bool = True  # False: no quantity word on its lines, so the quantity is the implied 1
    receipt_total: float | None = None  # its largest TOTAL or SUBTOTAL amount, as the model read them
    total_named: str = "total"  # "subtotal" when the bound is a SUBTOTAL amount (no larger TOTAL one was read)
    cents_missing: bool = False  # its price prints no cents where the receipt's other item prices do

    @property
    def check(self) -> str:
        """What the item's own numbers contradict or lack, "" when nothing: quantity (the implied 1 when none was read)
        × unit price is not its price, a price below 0, or no price at all. A walkthrough's photo gave "Diet Coke 2.2 ×
        1.50 = 3.00" (OCR read "2@" as "2.2") with the quantity at confidence 0.998 and nothing said."""
        if self.price is not None and self.price < 0:
            return "negative price"
        if self.price is None:
            # a receipt's item has a price (a topping under its dish may not): a walkthrough's photo, on a model
            # trained on CORD, listed "Pizza Hut" and "Batch" as items at confidence 0.66 and 1.00, unflagged, and
            # another's "Omaha, NE" with a unit price of 68154 and no price
            return "no price read"
        if not any(char.isalpha() for char in self.name):  # a later walkthrough's "'=" at 200716810
            return "no letters in its name"
        if self.receipt_total is not None and self.price > self.receipt_total * 1.0001:
            # a ZIP code (75087) or a phone number read as a price (a walkthrough)
            return f"price above the receipt's {self.total_named} ({self.receipt_total:g})"
        if self.cents_missing:  # a street number (12300) or a ZIP code (68154) among prices like 5.99 (a walkthrough)
            return f"price {self.price:g} has no cents, unlike the receipt's other prices"
        if self.unit_price is not None and self.price is not None \
                and not line_total_fits(self.quantity, self.unit_price, self.price):
            # the implied 1 too: "unit 4.00, price 2.99" with no quantity word was left unflagged (a walkthrough)
            quantity = f"{self.quantity:g}" if self.quantity_read else "1 (no quantity read)"
            return f"{quantity} × {self.unit_price:g} ≠ {self.price:g}"
        return ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "quantity": self.quantity, "quantity_read": self.quantity_read,
                "unit_price": self.unit_price, "price": self.price, "confidence": round(self.confidence, 4),
                "uncertain_words": self.uncertain_words, "check": self.check}


def word_confidence(word) -> float:
    """The probability of the answer ``word`` (a ``model.predict.WordPrediction``) got."""
    if word.quantity:
        return float(getattr(word, "quantity_score", word.field_score))
    return float(word.field_score)


def settled_by_rule(word) -> bool:
    """Whether a rule set ``word``'s answer against the model's own: its line's arithmetic (quantity × unit price =
    price, ``model/reconcile.py``) or a product code joining its item name (``model/item_codes.py``)."""
    return bool(getattr(word, "reconciled", False))


def is_unsure(word, below: float) -> bool:
    """Whether ``word``'s answer is one to doubt: the model's probability of it is under ``below`` and the line's
    arithmetic did not settle it. A walkthrough saw a quantity 4 listed as uncertain at 0.08 on a line where
    4 × 0.99 = 3.96, the best-supported answer on the receipt."""
    return word_confidence(word) < below and not settled_by_rule(word)


def scored_items(doc, prediction, uncertain_below: float = DEFAULT_UNCERTAIN_BELOW) -> list[ScoredItem]:
    """``prediction.items`` (a ``DocumentPrediction`` of ``doc``) each with its confidence.

    Words go to items by receipt line as ``assemble_items`` built them: the item's own line, and the following
    lines without an item name up to the next item's line (the two-line layout)."""
    words = prediction.words
    if len(words) != len(doc.words):
        raise ValueError(f"the prediction has {len(words)} words but document {doc.id!r} has {len(doc.words)}")
    lines: dict[int, list[int]] = {}
    for index, word in enumerate(doc.words):
        lines.setdefault(word.line_id, []).append(index)
    item_lines = {getattr(item, "line_id", None) for item in prediction.items}
    owner: dict[int, int] = {}  # line id -> the item line it belongs to
    current = None
    for line_id in lines:
        if line_id in item_lines:
            current = line_id
        if current is not None:
            owner[line_id] = current
    parts: dict[int, list[int]] = {}
    for line_id, indices in lines.items():
        if line_id in owner:
            parts.setdefault(owner[line_id], []).extend(
                i for i in indices if words[i].quantity or words[i].field in ITEM_FIELDS)
    receipt_total, total_named = _receipt_total(doc, words)
    in_cents = _prices_in_cents(words)
    items = []
    for item in prediction.items:
        indices = parts.get(getattr(item, "line_id", None), [])
        prices = [words[i].text for i in indices if words[i].field == "ITEM_PRICE"]
        # a word the arithmetic settled is as sure as the line's numbers, not the model's doubt of it
        scores = [word_confidence(words[i]) for i in indices if not settled_by_rule(words[i])]
        items.append(ScoredItem(name=item.name, quantity=item.quantity, unit_price=item.unit_price, price=item.price,
                                confidence=min(scores) if scores else 1.0 if indices else 0.0,
                                uncertain_words=sum(score < uncertain_below for score in scores),
                                # as the item was assembled: a quantity word on a later line, or one that
                                # prints no number ("="), left the implied 1 called "read" (a walkthrough)
                                quantity_read=getattr(item, "quantity_read", False), receipt_total=receipt_total,
                                total_named=total_named,
                                cents_missing=in_cents and bool(prices) and not any(map(_CENTS.search, prices))))
    return items


_CENTS = re.compile(r"\d[.,]\d\d(?!\d)")  # 5.99, 12,50: not 25,000 (a thousands separator, as CORD's prices)


def _prices_in_cents(words) -> bool:
    """Whether the receipt's item prices, as the model read them, print cents: at least two of them, and three in
    five. Then an item price without cents is more likely a number of another kind (a CORD receipt's "48000" among
    "25,000" is not flagged: its prices print no cents; a walkthrough's "15" of a time "15:11" among "35,80" and
    "3,70" went unflagged under three)."""
    prices = [word.text for word in words if word.field == "ITEM_PRICE" and any(c.isdigit() for c in word.text)]
    with_cents = sum(1 for text in prices if _CENTS.search(text))
    return with_cents >= 2 and with_cents >= 0.6 * len(prices)


def _receipt_total(doc, words) -> tuple[float | None, str]:
    """The receipt's total as the model read it: the largest amount its TOTAL and SUBTOTAL words print (a
    walkthrough's model labelled "Total:" but no amount TOTAL, and read the subtotal), each line's pieces read as
    one (``$8`` and ``.99``, as an item's price is: a probe's 8.50 item was flagged above a total of 8); None when
    there is none above 0 (a refund's total of -12.00, or 0.00, bounds no price: a probe's flagged every item); and
    which of the two it is ("total", "subtotal")."""
    lines: dict[tuple[str, int], list[str]] = {}
    for source, word in zip(doc.words, words):
        if word.field in RECEIPT_TOTALS:
            lines.setdefault((word.field, source.line_id), []).append(word.text)
    amounts = [(amount, field.lower()) for (field, _), texts in lines.items()
               if (amount := last_amount(texts)) is not None and amount > 0]
    return max(amounts) if amounts else (None, "total")


def answered_words(prediction, labelled_only: bool = True,
                   uncertain_below: float | None = None) -> list[dict[str, Any]]:
    """The words as rows (index, text, answer, confidence, quantity value, answered by): the answer is QUANTITY for
    a word the quantity head claimed, else its field, and the confidence is the model's probability of that answer
    (:func:`word_confidence`: a walkthrough saw a quantity word listed with its field head's 0.05 while the
    uncertain count used the quantity head's score). With ``labelled_only`` only words given a field other than
    OTHER or marked as quantities; with ``uncertain_below`` only those :func:`is_unsure` under it. "answered by" is
    the rule that set the answer against the model's own, :data:`LINE_ARITHMETIC` or :data:`PRODUCT_CODE` (a
    walkthrough read QUANTITY beside a confidence of 0.01), else "model"."""
    rows = []
    for index, word in enumerate(prediction.words):
        if labelled_only and word.field == "OTHER" and not word.quantity:
            continue
        confidence = word_confidence(word)
        if uncertain_below is None or is_unsure(word, uncertain_below):
            rows.append({"word": index, "text": word.text, "answer": shown_label(word.field, word.quantity),
                         "confidence": round(confidence, 4), "quantity_value": word.quantity_value,
                         "answered by": _answered_by(word)})
    return rows


def _answered_by(word) -> str:
    return getattr(word, "settled_by", "") or "model"


def uncertain_words(prediction, uncertain_below: float = DEFAULT_UNCERTAIN_BELOW,
                    labelled_only: bool = False) -> list[dict[str, Any]]:
    """The words :func:`is_unsure` under ``uncertain_below`` (a confidence under it, not settled by the line's
    arithmetic), as :func:`answered_words` gives them: OTHER ones
    too, as the overlay counts them (a walkthrough saw "9 words the model is unsure of" over a table of 6 that left
    out a price the model doubted was OTHER)."""
    return answered_words(prediction, labelled_only, uncertain_below)


@dataclass(frozen=True)
class QualityNote:
    level: str  # "low", "fair", "good", "unknown"
    message: str


def quality_note(metrics: Mapping[str, float] | None, eval_receipts: int | None = None) -> QualityNote:
    """What a run's last validation (headline metrics, flattened names) says about trusting its output; with
    ``eval_receipts`` (how many receipts it was scored on) under ``MIN_EVAL_RECEIPTS``, that the scores say little:
    a walkthrough's run scored on 3 receipts read as "good" at 0.879, above a run scored on 50."""
    f1 = (metrics or {}).get("fields.micro_f1")
    if f1 is None:
        return QualityNote("unknown", "This run never finished an evaluation, so how good its output is is unknown: "
                                      "treat every item as a guess.")
    few = eval_receipts is not None and 0 < eval_receipts < MIN_EVAL_RECEIPTS
    caveat = (f" These scores come from only {counted(eval_receipts, 'validation receipt')}, where one receipt moves "
              "them by a lot: they say little about receipts it never saw.") if few else ""
    if f1 < LOW_FIELD_F1:
        return QualityNote("low", f"Field micro-F1 on its validation receipts was {f1:.2f}: fewer than half of the "
                                  "words it labels are labelled right, so header lines, totals and prices will show "
                                  "up as items and real items will be missed. Train longer or on more receipts "
                                  "before relying on these items." + caveat)
    if f1 < FAIR_FIELD_F1 or few:
        return QualityNote("fair", f"Field micro-F1 on its validation receipts was {f1:.2f}: {_share_wrong(f1)}; "
                                   "check the uncertain words." + caveat)
    return QualityNote("good", "Most field words on its validation receipts were labelled right (the scores "
                               "above); the uncertain words below are the ones to check.")


def _share_wrong(f1: float) -> str:
    """How many field words in 10 a micro-F1 leaves wrong or missed, in words: a probe read "roughly 1 field word in
    10 is wrong" beside an F1 of 1.00 (scored on few receipts, so the note was drawn all the same)."""
    wrong = round((1 - f1) * 10)
    if f1 >= 1.0:
        return "no field word was wrong or missed"
    if wrong == 0:
        return "fewer than 1 field word in 10 was wrong or missed"
    return (f"roughly {wrong} field {'word' if wrong == 1 else 'words'} in 10 {'is' if wrong == 1 else 'are'} "
            "wrong or missed")


def items_table(results: Sequence[tuple[str, Sequence[ScoredItem]]]) -> list[dict[str, Any]]:
    """One row per item of every receipt (``(receipt name, items)`` pairs): the CSV of a batch prediction. A
    receipt with no item has one row with its name alone, so the CSV accounts for every receipt predicted."""
    rows: list[dict[str, Any]] = []
    for source, items in results:
        rows.extend({"receipt": source, **item.to_json()} for item in items)
        if not items:
            rows.append({"receipt": source})
    return rows
