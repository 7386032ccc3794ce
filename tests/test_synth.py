"""Synthetic receipts: amounts add up, quantities printed every way, labels follow Tesseract's words, seeds repeat."""

from __future__ import annotations

import random

import pytest

from receipt_core.data.document import Document
from receipt_core.data.images import load_image
from receipt_core.data.quantity import parse_quantity
from receipt_core.data.schema import DEFAULT_SCHEMA, OTHER
from receipt_core.datasets.synth import QUANTITY_STYLES, _receipt_content, generate_receipt

from conftest import SYNTH_COUNT, SYNTH_SEED


@pytest.fixture(scope="module")
def dataset(generated):
    """The session's generated receipts (conftest.generated: made by generate_dataset in 2 worker processes)."""
    return generated.receipts, generated.progress


def _contents(count: int):
    return [_receipt_content(random.Random(seed), 40) for seed in range(count)]


def test_amounts_add_up_on_every_receipt():
    for lines, receipt in _contents(300):
        items = receipt["items"]
        assert 2 <= len(items) <= 25
        for item in items:
            assert item["price"] == item["quantity"] * item["unit_price"]
        assert receipt["subtotal"] == sum(item["price"] for item in items)
        assert receipt["total"] == receipt["subtotal"] - receipt["discount"] + receipt["service"] + receipt["tax"]
        assert receipt["change"] == receipt["cash"] - receipt["total"] >= 0


def test_every_quantity_style_appears_and_parses_to_the_item_quantity():
    styles = set()
    for lines, receipt in _contents(150):
        quantities = {item["group_id"]: item["quantity"] for item in receipt["items"]}
        styles |= {item["quantity_style"] for item in receipt["items"]}
        for item in receipt["items"]:
            if item["quantity_style"] == "absent":
                assert item["quantity"] == 1
        for line in lines:
            for token in line.left + line.middle + line.right:
                if token.is_quantity:
                    assert token.quantity_value == quantities[token.group_id]
                    if token.text[0].isdigit() or token.text[0] in "xX":
                        assert parse_quantity(token.text) == quantities[token.group_id]
    assert styles == set(QUANTITY_STYLES)


def test_printed_summary_matches_the_arithmetic():
    for lines, receipt in _contents(50):
        printed = {t.field: t.text for line in lines for t in line.right if t.field != OTHER}
        decimals = receipt["currency_decimals"]
        for field_name, key in (("TOTAL", "total"), ("SUBTOTAL", "subtotal"), ("CHANGE", "change")):
            digits = printed[field_name].lstrip("$").replace(",", "").replace(".", "")
            assert int(digits) == receipt[key], (field_name, printed[field_name], decimals)


@pytest.mark.ocr
def test_labels_come_from_tesseract_words_and_cover_the_schema(dataset):
    receipts, _ = dataset
    fields = set()
    for receipt in receipts:
        document = receipt.document
        document.validate(DEFAULT_SCHEMA)
        assert document.image_sha256 == load_image(receipt.image_bytes).sha256
        assert all(w.confidence is not None for w in document.words)  # OCR words, not the rendered tokens
        fields |= {w.field for w in document.words}
        quantity_words = [w for w in document.words if w.is_quantity]
        assert quantity_words and all(w.field == OTHER and w.group_id is not None for w in quantity_words)
        items = {item["group_id"]: item for item in document.meta["receipt"]["items"]}
        for word in quantity_words:
            assert word.quantity_value == items[word.group_id]["quantity"]
        totals = [w for w in document.words if w.field == "TOTAL" and any(c.isdigit() for c in w.text)]
        assert totals, "the total amount was not read and labelled"
        assert Document.from_json(document.to_json()) == document
    assert {"ITEM_NAME", "ITEM_PRICE", "SUBTOTAL", "TOTAL", "PAYMENT", "CHANGE", OTHER} <= fields


@pytest.mark.ocr
def test_same_seed_same_receipts_across_processes(dataset):
    receipts, progress = dataset
    seed, count = SYNTH_SEED, SYNTH_COUNT
    again = generate_receipt(seed=seed, index=1)  # in this process; the dataset was made in worker processes
    assert again.image_bytes == receipts[1].image_bytes
    assert again.document == receipts[1].document
    assert receipts[0].image_bytes != receipts[1].image_bytes
    assert [r.document.id for r in receipts] == [f"synth-{seed}-{i:05d}" for i in range(count)]
    assert progress[-1] == (count, count) and len(progress) == count
