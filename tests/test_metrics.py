"""Metrics, item assembly and prediction: hand-made cases with known answers, CORD dev, the tiny model."""

from __future__ import annotations

import dataclasses
import json

import pytest

from receipt_core.model.backbones import load_backbone
from receipt_core.data.document import Document, Word
from receipt_core.model.encoding import DocumentEncoder
from receipt_core.data.items import Item, assemble_items, parse_price
from receipt_core.evaluation.metrics import (evaluate_predictions, field_metrics, item_quantity_errors, items_of,
                                  quantity_metrics)
from receipt_core.model.multitask import build_model
from receipt_core.model.predict import DocumentPrediction, Predictor, WordPrediction, decode_word
from receipt_core.data.schema import DEFAULT_SCHEMA, OTHER


def test_field_metrics_known_answer():
    gold = ["ITEM_NAME", "ITEM_NAME", "ITEM_PRICE", "TOTAL", OTHER, OTHER]
    pred = ["ITEM_NAME", OTHER, "ITEM_PRICE", "ITEM_PRICE", "TOTAL", OTHER]
    m = field_metrics(gold, pred)
    # tp = 2 (ITEM_NAME, ITEM_PRICE); predicted non-OTHER = 4; gold non-OTHER = 4
    assert m["micro_precision"] == pytest.approx(0.5) and m["micro_recall"] == pytest.approx(0.5)
    assert m["micro_f1"] == pytest.approx(0.5)
    assert m["per_label"]["ITEM_NAME"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                           "support": 2, "predicted": 1}
    assert m["per_label"]["ITEM_PRICE"]["precision"] == 0.5 and m["per_label"]["ITEM_PRICE"]["recall"] == 1.0
    assert m["per_label"]["TOTAL"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 1}
    assert OTHER not in m["per_label"]
    assert m["accuracy"] == pytest.approx(3 / 6)
    assert field_metrics([OTHER, OTHER], [OTHER, OTHER])["micro_f1"] is None  # nothing to find, nothing scored
    assert set(field_metrics(gold, pred, DEFAULT_SCHEMA.fields)["per_label"]) == set(DEFAULT_SCHEMA.fields[1:])


def _word(text, x, line, field=OTHER, qty=False, value=None, group=None):
    return Word(text, (x, 20 * line, x + 40, 20 * line + 15), line_id=line, field=field, is_quantity=qty,
                quantity_value=value, group_id=group)


def _gold_doc(groups: bool) -> Document:
    g = (lambda n: n) if groups else (lambda n: None)
    words = [
        _word("ICE", 0, 0, "ITEM_NAME", group=g(0)), _word("TEA", 45, 0, "ITEM_NAME", group=g(0)),
        _word("2", 100, 0, qty=True, value=2.0, group=g(0)), _word("20.000", 200, 0, "ITEM_PRICE", group=g(0)),
        _word("NASI", 0, 1, "ITEM_NAME", group=g(1)), _word("15.000", 200, 1, "ITEM_PRICE", group=g(1)),
        _word("KOPI", 0, 2, "ITEM_NAME", group=g(2)), _word("x3", 100, 2, qty=True, value=3.0, group=g(2)),
        _word("TOTAL", 0, 3, "TOTAL", group=g(3)), _word("2", 100, 3, group=g(3)),
    ]
    return Document(id="q", width=300, height=100, words=tuple(words))


def test_quantity_metrics_known_answer():
    for groups in (True, False):
        doc = _gold_doc(groups)
        assert [sorted(i) for i in items_of(doc)] == [[0, 1, 2, 3], [4, 5], [6, 7]]
        # predicted: ICE TEA's "2" found; NASI wrongly gets the price as quantity (15); KOPI's x3 missed;
        # the "2" after TOTAL wrongly flagged (a false alarm outside any item)
        flags = [False, False, True, False, False, True, False, False, False, True]
        values = [None, None, 2.0, None, None, 15.0, None, None, None, 2.0]
        m = quantity_metrics([doc], [flags], [values])
        assert m["word_precision"] == pytest.approx(1 / 3) and m["word_recall"] == pytest.approx(1 / 2)
        assert m["word_f1"] == pytest.approx(0.4)
        assert m["items"] == 3 and m["item_accuracy"] == pytest.approx(1 / 3)  # only ICE TEA right
        assert m["items_not_one"] == 2 and m["item_accuracy_not_one"] == pytest.approx(1 / 2)
    # answering "no quantity word" everywhere: every item predicted 1
    m = quantity_metrics([doc], [[False] * 10], [[None] * 10])
    assert m["item_accuracy"] == pytest.approx(1 / 3) and m["item_accuracy_not_one"] == 0.0


def test_item_quantity_errors_list_the_items_the_accuracy_counts_wrong():
    doc = _gold_doc(groups=True)
    flags = [False, False, True, False, False, True, False, False, False, True]
    values = [None, None, 2.0, None, None, 15.0, None, None, None, 2.0]
    words = tuple(WordPrediction(text=w.text, box=w.box, field=OTHER if f else w.field, field_score=1.0, quantity=f,
                                 quantity_value=v) for w, f, v in zip(doc.words, flags, values))
    errors = item_quantity_errors([doc], [DocumentPrediction(doc_id="q", words=words, items=())])
    metrics = quantity_metrics([doc], [flags], [values])
    assert len(errors) == round(metrics["items"] * (1 - metrics["item_accuracy"])) == 2
    nasi, kopi = errors
    assert (nasi.gold, nasi.predicted, kopi.gold, kopi.predicted) == (1.0, 15.0, 3.0, 1.0)
    assert nasi.words == ("NASI [ITEM_NAME | ITEM_NAME]", "15.000 [ITEM_PRICE | OTHER^]")
    assert kopi.describe() == "q: gold 3, predicted 1: KOPI [ITEM_NAME | ITEM_NAME]  x3 [OTHER* | OTHER]"
    assert json.loads(json.dumps(kopi.to_json()))["words"][1] == "x3 [OTHER* | OTHER]"
    with pytest.raises(ValueError, match="10 gold words but 9 predicted"):
        item_quantity_errors([doc], [DocumentPrediction(doc_id="q", words=words[:-1], items=())])


def test_group_ids_decide_items_across_lines():
    words = [_word("AYAM", 0, 0, "ITEM_NAME", group=5), _word("2", 0, 1, qty=True, value=2.0, group=5),
             _word("30.000", 200, 1, "ITEM_PRICE", group=5)]
    doc = Document(id="g", width=300, height=100, words=tuple(words))
    assert items_of(doc) == [[0, 1, 2]]
    assert quantity_metrics([doc], [[False, True, False]], [[None, 2.0, None]])["item_accuracy"] == 1.0


def _oracle(doc: Document) -> DocumentPrediction:
    words = tuple(WordPrediction(w.text, w.box, w.field, 1.0, w.is_quantity, w.quantity_value) for w in doc.words)
    return DocumentPrediction(doc.id, words, ())


def test_evaluate_predictions_on_cord_dev_baselines(cord_dev):
    docs = cord_dev  # conftest: CORD dev parsed once per session
    perfect = evaluate_predictions(docs, [_oracle(d) for d in docs], DEFAULT_SCHEMA.fields)
    assert perfect["fields.micro_f1"] == 1.0 and perfect["quantity.word_f1"] == 1.0
    assert perfect["quantity.item_accuracy"] == 1.0 and perfect["quantity.item_accuracy_not_one"] == 1.0
    assert perfect["documents"] == len(docs) and perfect["quantity.items"] > 200
    # "quantity 1 everywhere" scores about 0.85 on CORD items, and nothing on the items that matter
    silent = [dataclasses.replace(_oracle(d), words=tuple(dataclasses.replace(w, quantity=False, quantity_value=None)
                                                            for w in _oracle(d).words)) for d in docs]
    ones = evaluate_predictions(docs, silent)
    assert 0.8 < ones["quantity.item_accuracy"] < 0.9
    assert ones["quantity.item_accuracy_not_one"] == 0.0 and ones["quantity.word_recall"] == 0.0
    with pytest.raises(ValueError, match="no prediction for document"):
        evaluate_predictions(docs[:2], silent[1:2])


@pytest.mark.parametrize("text, value", [("Rp 25.000", 25000.0), ("1.234,50", 1234.5), ("$12.99", 12.99),
                                         ("25,000", 25000.0), ("12,50", 12.5), ("-5.000", -5000.0),
                                         ("1,234.50", 1234.5), ("Rp", None), ("(3.500)", -3500.0),
                                         ("1.250.000", 1250000.0), ("45.000,-", 45000.0), (".99", 0.99),
                                         ("$.5", 0.5),
                                         # a time or a date is no amount (a walkthrough's 22:46:33 priced an item 22)
                                         ("22:46:33", None), ("12/05/2026", None), ("2026-12-05", None),
                                         # an article or phone number (a walkthrough's "#102-75333" priced 102)
                                         ("#102-75333", None), ("102-75333", None), ("# 4411", None),
                                         # fullwidth and Arabic-Indic digits and separators (a probe: 3.0, 1.0),
                                         # and a discount's trailing minus (a probe: +5.0)
                                         ("３．５０", 3.5), ("\u0663\u066b\u0665\u0660", 3.5),
                                         ("\u0661\u0662\u066c\u0665\u0660\u0660", 12500.0), ("5.00-", -5.0),
                                         ("$25.00 -", -25.0), ("5.-", 5.0),
                                         # the minus sign and the dashes, a tax flag after a discount's minus, and
                                         # what is no amount (a probe: 5.0, 5.0, 1.0, 350)
                                         ("\u22125.00", -5.0), ("5.00\u2013", -5.0), ("\u2212.99", -0.99),
                                         ("5.00-T", -5.0), ("\u00bd", None), ("3\u20444", None), ("3..50", None),
                                         ("1/2", None), ("3 1/2", None), ("1.2.3", None), ("3,5,0", None),
                                         ("1e5", None), ("-0", 0.0), ("0.00-", 0.0),
                                         # one separator for thousands and cents, as CORD prints some (600000 before)
                                         ("6.000.00", 6000.0), ("39,200,00", 39200.0), ("Rp 45.545.45", 45545.45),
                                         ("123,4.50", None), ("12.34,56", None), ("1.234.567,89", 1234567.89)])
def test_parse_price(text, value):
    assert parse_price(text) == value
    if value == 0:
        assert str(parse_price(text)) == "0.0"


def test_a_price_the_ocr_split_at_its_decimal_point_is_read_whole():
    """A walkthrough's photo: "$8" and ".99", both ITEM_PRICE, gave the item a price of 99."""
    from receipt_core.data.items import last_amount

    assert last_amount(["$8", ".99"]) == 8.99 and last_amount(["25", ",000"]) == 25000.0
    assert last_amount(["43.", "99"]) == 43.99 and last_amount(["3,", "96"]) == 3.96  # split after the point
    assert last_amount(["12.50", "3.00"]) == 3.0  # two whole amounts: the rightmost, as before
    assert last_amount(["x", ".99"]) == 0.99  # nothing to continue: read alone


def test_cents_labelled_alone_are_read_with_the_whole_part_before_them():
    """A walkthrough's CVS photo: OCR read 4.29T as "4." and "29T", the model labelled only "29T" a price, and the
    item cost 29."""
    from receipt_core.data.document import Word
    from receipt_core.data.items import price_texts

    words = [Word(text=t, box=(i * 10, 0, i * 10 + 8, 10)) for i, t in enumerate(["CARE", "4.", "29T", "2", "99"])]
    fields = ["ITEM_NAME", "OTHER", "ITEM_PRICE", "OTHER", "ITEM_PRICE"]
    assert price_texts(words, range(5), fields, "ITEM_PRICE") == ["4.29T", "99"]  # "2" is no whole part: alone
    items = assemble_items(words[:3], fields[:3], [False] * 3, [None] * 3)
    assert items[0].price == 4.29


def test_assemble_items_on_realistic_lines():
    lines = [
        [("2", OTHER, True), ("ICED", "ITEM_NAME", False), ("CAPPUCCINO", "ITEM_NAME", False),
         ("@22.000", "ITEM_UNIT_PRICE", False), ("Rp", OTHER, False), ("44.000", "ITEM_PRICE", False)],
        [("CHEESE", "ITEM_NAME", False), ("CAKE", "ITEM_NAME", False)],  # two-line layout: details below
        [("x3", OTHER, True), ("15.000", "ITEM_UNIT_PRICE", False), ("45.000", "ITEM_PRICE", False)],
        [("Air", "ITEM_NAME", False), ("Mineral", "ITEM_NAME", False), ("8.000", "ITEM_PRICE", False)],
        [("TOTAL", "TOTAL", False), ("97.000", "TOTAL", False)],
    ]
    words, fields, flags = [], [], []
    for line, row in enumerate(lines):
        for i, (text, field, qty) in enumerate(row):
            words.append(_word(text, 50 * i, line, field, qty))
            fields.append(field)
            flags.append(qty)
    items = assemble_items(words, fields, flags, [None] * len(words))
    assert items == [Item("ICED CAPPUCCINO", 2.0, 22000.0, 44000.0, 0, quantity_read=True),
                     Item("CHEESE CAKE", 3.0, 15000.0, 45000.0, 1, quantity_read=True),
                     Item("Air Mineral", 1.0, None, 8000.0, 3)]  # no quantity word: the implied 1, not read
    assert items[0].to_json() == {"name": "ICED CAPPUCCINO", "quantity": 2.0, "unit_price": 22000.0, "price": 44000.0,
                                  "quantity_read": True}
    with pytest.raises(ValueError, match="one field, flag and value per word"):
        assemble_items(words, fields[:-1], flags, [None] * len(words))


@pytest.mark.parametrize("field_probs, quantity_prob, expected", [
    ([0.9, 0.05, 0.05], 0.7, (0, True)),     # OTHER and quantity: as before
    ([0.9, 0.05, 0.05], 0.3, (0, False)),    # OTHER, not a quantity
    ([0.1, 0.8, 0.1], 0.7, (1, False)),      # both heads claim the word; the field head is surer (0.24 > 0.07)
    ([0.3, 0.6, 0.1], 0.9, (0, True)),       # both claim it; the quantity head is surer (0.27 > 0.06)
    ([0.2, 0.7, 0.1], 0.2, (1, False)),      # neither conflict nor quantity
])
def test_decode_word_never_gives_a_quantity_word_a_field(field_probs, quantity_prob, expected):
    assert decode_word(field_probs, quantity_prob, other_index=0) == expected


def test_predictor_json_shape_and_word_order():
    backbone = load_backbone("tiny")
    model = build_model(backbone, DEFAULT_SCHEMA.num_fields)
    model.train()
    encoder = DocumentEncoder(backbone.tokenizer, max_length=32, stride=8)  # forces several windows
    doc = _gold_doc(groups=True)
    long_doc = Document(id="long", width=300, height=2000,
                        words=tuple(_word(f"w{i}", 10, i) for i in range(60)))
    predictions = Predictor(model, encoder, DEFAULT_SCHEMA, batch_size=2).predict([doc, long_doc])
    assert model.training  # restored after prediction
    assert len(encoder.encode(long_doc)) > 2
    for source, prediction in zip([doc, long_doc], predictions):
        data = json.loads(json.dumps(prediction.to_json()))
        assert data["id"] == source.id and set(data) == {"id", "words", "items"}
        assert [w["text"] for w in data["words"]] == [w.text for w in source.words]
        for word in data["words"]:
            assert set(word) == {"text", "box", "field", "field_score", "quantity", "quantity_score",
                                 "quantity_value", "reconciled", "settled_by"}
            assert word["field"] in DEFAULT_SCHEMA.fields and 0.0 < word["field_score"] <= 1.0
            assert (word["quantity_value"] is None) or word["quantity"]
            assert not word["quantity"] or word["field"] == OTHER  # the schema: quantity words are OTHER
            assert 0.0 <= word["quantity_score"] <= 1.0  # the probability a quantity word's answer has
        for item in data["items"]:
            assert set(item) == {"name", "quantity", "unit_price", "price", "quantity_read"}
    one_at_a_time = Predictor(model, encoder, DEFAULT_SCHEMA, batch_size=1).predict([doc, long_doc])
    for batched, alone in zip(predictions, one_at_a_time):  # batching across documents changes nothing
        assert [w.field for w in batched.words] == [w.field for w in alone.words]
        assert [w.field_score for w in batched.words] == pytest.approx([w.field_score for w in alone.words], abs=1e-5)
    empty = Document(id="empty", width=100, height=100, words=())
    assert Predictor(model, encoder, DEFAULT_SCHEMA).predict([empty])[0].to_json() == {"id": "empty", "words": [],
                                                                                      "items": []}
    # evaluating the model's own predictions gives well-formed numbers
    result = evaluate_predictions([doc], predictions[:1])
    assert 0.0 <= result["fields.micro_f1"] <= 1.0 and result["quantity.items"] == 3


def test_a_score_with_nothing_to_score_is_none_and_no_chart_or_table_sees_it():
    from receipt_core.training.events import headline

    unlabelled = Document("u", 100, 40, (Word("Lunch", (1, 1, 30, 10)), Word("12.00", (40, 1, 70, 10))))
    metrics = evaluate_predictions([unlabelled], [_oracle(unlabelled)])
    assert metrics["fields.micro_f1"] is None and metrics["quantity.items"] == 0
    assert metrics["quantity.item_accuracy"] is None and metrics["quantity.item_accuracy_not_one"] is None
    assert headline(metrics) == {"quantity.word_f1": 0.0}  # no "1.000" to rank against a real evaluation
    wrong = dataclasses.replace(_oracle(unlabelled), words=tuple(
        dataclasses.replace(w, field="TOTAL") for w in _oracle(unlabelled).words))
    assert evaluate_predictions([unlabelled], [wrong])["fields.micro_f1"] == 0.0  # a false alarm is scored


def test_answering_one_everywhere_is_the_baseline_item_quantity_accuracy_is_read_against():
    """A walkthrough's run that flagged no quantity word scored 0.909 item quantity accuracy, as full fine-tuning
    did: 30 of the 33 items have quantity 1. The baseline comes from the counts the metrics carry."""
    from receipt_core.evaluation.metrics import ones_baseline, ones_baseline_note

    metrics = {"quantity.items": 33, "quantity.items_not_one": 3, "quantity.item_accuracy": 0.909}
    assert ones_baseline(metrics) == pytest.approx(30 / 33)
    assert ones_baseline_note(metrics).startswith("Answering 1 for every item, reading no quantity at all, scores "
                                                  "0.909 item quantity accuracy on these receipts (30 of their 33 "
                                                  "items have quantity 1)")
    assert ones_baseline({"quantity.items": 0, "quantity.items_not_one": 0}) is None
    assert ones_baseline({}) is None and ones_baseline_note({}) is None
