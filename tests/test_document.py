import json

import pytest

from receipt_core.data.document import Document, DocumentFormatError, Word
from receipt_core.data.reading_order import reading_order
from receipt_core.data.quantity import parse_quantity
from receipt_core.data.schema import DEFAULT_SCHEMA, QUANTITY


@pytest.mark.parametrize("text, value", [
    ("2", 2.0), ("2x", 2.0), ("x2", 2.0), ("2 PCS", 2.0), ("1,5", 1.5), ("1X", 1.0), ("1 Prs", 1.0),
    ("*2 Pcs", 2.0), ("0,292X", 0.292), ("1.00xITEMS", 1.0), ("3EA@0.19/EA", 3.0), ("x", None), ("TRIPPLE", None),
    ("Qty:2", 2.0), ("(3)", 3.0), ("No.1", 1.0), ("2BT", 2.0), ("1x29.98", 1.0),
    ("#F11", None), ("PLU01062", None),  # product codes: a letter or # runs into the number
    # a probe: ".5" read as 5, "3/4" as 3, "1,234.5" as 1234 and "1.234,5" as 1.234
    (".5", 0.5), ("3/4", None), ("1 / 2", None), ("1,234.5", 1234.5), ("1.234,5", 1234.5), ("1,234,567", 1234567.0),
    ("1.00.", 1.0), ("0,250 kg", 0.25), ("121.000.00", 121000.0), ("13.05.2017", None), ("02/09/2017", None),
    ("1_000", None), ("2_pcs", 2.0),  # a probe: "1_000" read as 1
    # invisible marks separate nothing: probe 68's "\u202eTOTAL\u202c\u200f123" was read as 123
    ("\u202eTOTAL\u202c\u200f123", None), ("PB\u200b22", None), ("\u200e2x", 2.0), ("Qty:\u200b2", 2.0),
])
def test_parse_quantity_reads_how_receipts_print_it(text, value):
    assert parse_quantity(text) == value


def _doc():
    words = (
        Word("2x", (10, 100, 30, 120), confidence=88.0, line_id=0, is_quantity=True, quantity_value=2.0, group_id=1),
        Word("COFFEE", (40, 100, 120, 120), confidence=92.5, line_id=0, field="ITEM_NAME", group_id=1),
        Word("7.00", (200, 101, 240, 121), line_id=0, field="ITEM_PRICE"),
    )
    return Document(id="d1", width=300, height=500, words=words, image_sha256="ab" * 32, source="test")


def test_native_format_round_trips_through_json_text():
    doc = _doc()
    assert Document.from_json(json.loads(json.dumps(doc.to_json()))) == doc


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("width"), "missing key 'width'"),
    (lambda d: d.update(width="wide"), "'width' must be a whole number, got a string"),
    (lambda d: d["words"][0].update(box=[1, 2, 3]), "box must be four numbers"),
    (lambda d: d["words"][0].update(box=[5, 5, 1, 1]), "x1 < x0"),
    (lambda d: d.update(words="none"), "'words' must be a list, got a string"),
    (lambda d: d.update(version=99), "version 99 is not supported"),
])
def test_malformed_native_json_names_the_problem(mutate, message):
    data = _doc().to_json()
    mutate(data)
    with pytest.raises(DocumentFormatError, match=message):
        Document.from_json(data)


def test_annotation_label_splits_quantity_into_both_heads_targets():
    doc = _doc().relabel(1, QUANTITY, 3.0)
    assert doc.words[1].field == "OTHER" and doc.words[1].is_quantity and doc.words[1].quantity_value == 3.0
    doc = doc.relabel(0, "ITEM_NAME")
    assert doc.words[0].annotation_label == "ITEM_NAME" and not doc.words[0].is_quantity
    assert doc.label_counts() == {"ITEM_NAME": 1, QUANTITY: 1, "ITEM_PRICE": 1}


def test_without_layout_keeps_words_labels_and_lines_but_not_positions():
    from receipt_core.model.backbones import load_backbone
    from receipt_core.data.boxes import BOX_MODES
    from receipt_core.model.encoding import DocumentEncoder

    doc = _doc().relabel(1, QUANTITY, 3.0)
    erased = doc.without_layout()
    assert [(w.text, w.field, w.is_quantity, w.line_id) for w in erased.words] == \
        [(w.text, w.field, w.is_quantity, w.line_id) for w in doc.words]
    assert {w.box for w in erased.words} == {(0.0, 0.0, float(doc.width), float(doc.height))}
    tokenizer = load_backbone("tiny").tokenizer
    for boxes in BOX_MODES:  # every word token gets one box, whichever box each word is encoded with
        window = DocumentEncoder(tokenizer, boxes=boxes).encode(erased)[0]
        assert len({tuple(b) for b, w in zip(window.bbox, window.word_ids) if w is not None}) == 1


def test_reading_order_is_lines_top_to_bottom_then_left_to_right():
    shuffled = [Word("TOTAL", (10, 300, 60, 320)), Word("b", (50, 10, 60, 22)), Word("a", (0, 12, 10, 24)),
                Word("9.00", (200, 302, 240, 322))]
    ordered = reading_order(shuffled)
    assert [w.text for w in ordered] == ["a", "b", "TOTAL", "9.00"]
    assert [w.line_id for w in ordered] == [0, 0, 1, 1]


def test_schema_rejects_unknown_field():
    with pytest.raises(ValueError, match="unknown field label"):
        DEFAULT_SCHEMA.field_id("NOPE")
    assert DEFAULT_SCHEMA.cord_fields["menu.sub_nm"] == "ITEM_NAME"
    assert DEFAULT_SCHEMA.wildreceipt_fields["Total_key"] == "TOTAL"


@pytest.mark.parametrize(("key", "value", "message"), [("quantity", "false", "quantity must be true or false"),
                                                       ("line_id", "abc", "line_id must be an integer"),
                                                       ("line_id", None, "line_id must be an integer"),
                                                       ("field", 7, "field must be a label name"),
                                                       ("group_id", True, "group_id must be an integer")])
def test_a_word_of_the_wrong_type_is_refused_where_it_is_parsed(key, value, message):
    word = {"text": "2x", "box": [1, 2, 3, 4], key: value}
    with pytest.raises(DocumentFormatError, match=message):
        Document.from_json({"format": "receipt-mtl/document", "version": 1, "id": "d", "width": 10, "height": 10,
                            "words": [word]})


def test_atomic_write_gives_the_file_the_umask_permissions_not_0600(tmp_path):
    import os

    from receipt_core.data.files import atomic_write

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.json", b"{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_checkpoint_a_library_wrote_privately_gets_the_umask_permissions(tmp_path):
    """Found by a walkthrough: a checkpoint's model.safetensors and tokenizer/ were 0600 and 0700 (safetensors'
    save_file, tempfile.mkdtemp), against the README's reliability table."""
    import os

    import torch
    from safetensors.torch import save_file

    from receipt_core.data.files import with_user_umask

    old = os.umask(0o022)
    try:
        folder = tmp_path / "tokenizer"
        folder.mkdir(mode=0o700)
        save_file({"a": torch.zeros(2)}, str(folder / "model.safetensors"))
        assert (folder / "model.safetensors").stat().st_mode & 0o777 == 0o600  # what the library does
        with_user_umask(folder)
    finally:
        os.umask(old)
    assert (folder.stat().st_mode & 0o777, (folder / "model.safetensors").stat().st_mode & 0o777) == (0o755, 0o644)
