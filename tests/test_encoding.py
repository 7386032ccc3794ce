"""Encoding with the real MiniLM tokenizer: label alignment, boxes, windows and their merge, batching."""

from __future__ import annotations

import random

import numpy as np
import pytest

from receipt_core.model.backbones import load_backbone
from receipt_core.data.document import Document, Word
from receipt_core.model.encoding import (CLS_BOX, IGNORE_INDEX, SEP_BOX, DocumentEncoder, collate, length_grouped_batches,
                                   merge_word_labels, merge_word_scores, normalize_box)
from receipt_core.data.schema import DEFAULT_SCHEMA, OTHER


@pytest.fixture(scope="module")
def tokenizer():
    return load_backbone("tiny").tokenizer


def _receipt() -> Document:
    rows = [
        [("CAPPUCCINO", "ITEM_NAME", False), ("2x", OTHER, True), ("45.000", "ITEM_PRICE", False)],
        [("Es", "ITEM_NAME", False), ("Teh", "ITEM_NAME", False), ("1", OTHER, True), ("8,500", "ITEM_PRICE", False)],
        [("TOTAL", "TOTAL", False), ("Rp53.500", "TOTAL", False)],
    ]
    words = []
    for line, row in enumerate(rows):
        for i, (text, field, qty) in enumerate(row):
            words.append(Word(text=text, box=(20 + 120 * i, 40 + 30 * line, 100 + 120 * i, 60 + 30 * line),
                              line_id=line, field=field, is_quantity=qty))
    return Document(id="r1", width=400, height=200, words=tuple(words))


def _long_document(count: int, seed: int = 0) -> Document:
    rng = random.Random(seed)
    vocab = ["NASI", "GORENG", "ayam", "bakar", "2x", "12.500", "Rp", "TOTAL", "kembalian", "cappuccino",
             "x3", "1,5", "SUBTOTAL", "pajak", "10%", "es", "teh", "manis", "#", "@"]
    words = []
    for i in range(count):
        line = i // 5
        field = rng.choice(DEFAULT_SCHEMA.fields)
        words.append(Word(text=rng.choice(vocab), box=(10 + 60 * (i % 5), 10 + 12 * line, 60 + 60 * (i % 5),
                                                        20 + 12 * line),
                          line_id=line, field=field, is_quantity=rng.random() < 0.1))
    return Document(id="long", width=400, height=12 * (count // 5) + 40, words=tuple(words))


def test_labels_sit_on_first_sub_token(tokenizer):
    doc = _receipt()
    encoder = DocumentEncoder(tokenizer)
    (window,) = encoder.encode(doc)
    tokens = tokenizer.convert_ids_to_tokens(window.input_ids)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert window.word_ids[0] is None and window.word_ids[-1] is None
    seen = set()
    for position, word in enumerate(window.word_ids):
        if word is None:
            assert window.field_labels[position] == IGNORE_INDEX
            continue
        if word not in seen:
            seen.add(word)
            assert window.field_labels[position] == DEFAULT_SCHEMA.field_id(doc.words[word].field)
            assert window.quantity_labels[position] == int(doc.words[word].is_quantity)
        else:
            assert window.field_labels[position] == IGNORE_INDEX
            assert window.quantity_labels[position] == IGNORE_INDEX
    assert seen == set(range(len(doc.words)))
    # "CAPPUCCINO" splits into several sub-tokens, only the first labelled
    cap = [p for p, w in enumerate(window.word_ids) if w == 0]
    assert len(cap) > 1 and tokens[cap[0]] == "cap"
    # the tokens of each word re-assemble its (lower-cased) text
    teh = [tokens[p] for p, w in enumerate(window.word_ids) if w == 4]
    assert "".join(t.removeprefix("##") for t in teh) == "teh"


def test_boxes_normalised_cls_sep_and_line_boxes(tokenizer):
    doc = _receipt()
    (window,) = DocumentEncoder(tokenizer).encode(doc)
    assert window.bbox[0] == CLS_BOX and window.bbox[-1] == SEP_BOX
    first_total = window.word_ids.index(7)
    assert window.bbox[first_total] == (50, 500, 250, 600)  # (20,100,100,120) on a 400x200 page
    (lines,) = DocumentEncoder(tokenizer, boxes="line").encode(doc)
    line_two = {lines.bbox[p] for p, w in enumerate(lines.word_ids) if w is not None and doc.words[w].line_id == 1}
    assert line_two == {(50, 350, 1000, 450)}  # union of Es..8,500: x 20..460 clamped to the page
    (text_only,) = DocumentEncoder(tokenizer, uses_layout=False).encode(doc)
    assert all(box == (0, 0, 0, 0) for box, w in zip(text_only.bbox, text_only.word_ids) if w is not None)


def test_row_boxes_keep_each_words_columns_and_share_the_lines_top_and_bottom(tokenizer):
    words = (Word("Es", (10, 10, 50, 30), line_id=0), Word("2", (60, 14, 90, 40), line_id=0),
             Word("TOTAL", (10, 60, 40, 70), line_id=1))
    doc = Document(id="rows", width=100, height=100, words=words)
    assert DocumentEncoder(tokenizer, boxes="row").word_boxes(doc) == [(100, 100, 500, 400), (600, 100, 900, 400),
                                                                        (100, 600, 400, 700)]
    assert DocumentEncoder(tokenizer, boxes="line").word_boxes(doc)[:2] == [(100, 100, 900, 400)] * 2
    assert DocumentEncoder(tokenizer, boxes="word").word_boxes(doc)[1] == (600, 140, 900, 400)
    with pytest.raises(ValueError, match="unknown box mode 'column'; choose one of word, line, row"):
        DocumentEncoder(tokenizer, boxes="column")


def test_normalize_box_clamps_orders_and_refuses_degenerate_pages(tokenizer):
    assert normalize_box((50, 20, 10, 10), 100, 100) == (100, 100, 500, 200)
    assert normalize_box((-5, -5, 120, 250), 100, 200) == (0, 0, 1000, 1000)
    with pytest.raises(ValueError, match="degenerate"):
        normalize_box((0, 0, 1, 1), 0, 100)
    doc = Document(id="flat", width=100, height=0, words=(Word("a", (0, 0, 1, 1)),))
    with pytest.raises(ValueError, match="'flat'.*degenerate"):
        DocumentEncoder(tokenizer).encode(doc)


def test_long_document_windows_round_trip_word_labels(tokenizer):
    doc = _long_document(1200)
    encoder = DocumentEncoder(tokenizer, max_length=128, stride=32)
    windows = encoder.encode(doc)
    assert len(windows) > 10
    assert all(len(w) <= 128 for w in windows)
    assert all(w.num_windows == len(windows) for w in windows)
    # consecutive windows overlap (share words) but every window advances
    for a, b in zip(windows, windows[1:]):
        a_words = {w for w in a.word_ids if w is not None}
        b_words = {w for w in b.word_ids if w is not None}
        assert a_words & b_words and max(b_words) > max(a_words)
    gold_fields = [DEFAULT_SCHEMA.field_id(w.field) for w in doc.words]
    assert merge_word_labels(windows, [w.field_labels for w in windows], len(doc.words)) == gold_fields
    gold_qty = [int(w.is_quantity) for w in doc.words]
    assert merge_word_labels(windows, [w.quantity_labels for w in windows], len(doc.words)) == gold_qty
    # one-hot "predictions" made from the labels merge back to the same argmax per word
    scores = [np.eye(DEFAULT_SCHEMA.num_fields)[[max(l, 0) for l in w.field_labels]] for w in windows]
    assert merge_word_scores(windows, scores, len(doc.words)).argmax(axis=1).tolist() == gold_fields


def test_merge_prefers_the_window_where_the_word_is_furthest_from_an_edge(tokenizer):
    doc = _long_document(300, seed=3)
    windows = DocumentEncoder(tokenizer, max_length=64, stride=24).encode(doc)
    # give every window a distinct constant score: the chosen window per word is visible in the merge
    scores = [np.full((len(w), 1), float(i)) for i, w in enumerate(windows)]
    merged = merge_word_scores(windows, scores, len(doc.words))[:, 0]
    for word in range(len(doc.words)):
        margins = {}
        for i, window in enumerate(windows):
            position = window.first_token_positions().get(word)
            if position is not None:
                margins[i] = min(position, len(window) - 1 - position)
        assert margins[int(merged[word])] == max(margins.values())
    with pytest.raises(ValueError, match="appear in no window"):
        merge_word_scores(windows[:1], scores[:1], len(doc.words))


def test_words_the_tokenizer_drops_still_get_a_position(tokenizer):
    doc = Document(id="odd", width=100, height=100, words=(
        Word("\u200b", (0, 0, 5, 5), field="TOTAL"), Word("ok", (10, 0, 20, 5))))
    (window,) = DocumentEncoder(tokenizer).encode(doc)
    assert window.first_token_positions() == {0: 1, 1: 2}
    assert tokenizer.convert_ids_to_tokens(window.input_ids[1]) == "[UNK]"
    assert window.field_labels[1] == DEFAULT_SCHEMA.field_id("TOTAL")


def test_collate_pads_dynamically(tokenizer):
    encoder = DocumentEncoder(tokenizer, max_length=64, stride=16)
    windows = encoder.encode(_receipt()) + encoder.encode(_long_document(40))[:1]
    batch = collate(windows, encoder.pad_token_id)
    longest = max(len(w) for w in windows)
    assert batch["input_ids"].shape == (2, longest) and batch["bbox"].shape == (2, longest, 4)
    short = len(windows[0])
    assert batch["attention_mask"][0].sum().item() == short
    assert (batch["input_ids"][0, short:] == tokenizer.pad_token_id).all()
    assert (batch["field_labels"][0, short:] == IGNORE_INDEX).all()
    assert batch["field_labels"][0, :short].tolist() == list(windows[0].field_labels)
    assert collate(windows, 0, pad_to_multiple_of=8)["input_ids"].shape[1] % 8 == 0


def test_length_grouped_batches_cover_every_window_once_and_reduce_padding(tokenizer):
    encoder = DocumentEncoder(tokenizer, max_length=64, stride=16)
    rng = random.Random(1)
    windows = [w for n in range(60) for w in encoder.encode(_long_document(rng.randint(1, 12) * 5, seed=n))]
    batches = length_grouped_batches(windows, batch_size=4, seed=7)
    assert sorted(i for b in batches for i in b) == list(range(len(windows)))
    assert batches == length_grouped_batches(windows, batch_size=4, seed=7)
    assert batches != length_grouped_batches(windows, batch_size=4, seed=8)

    def padding(groups):
        return sum(max(len(windows[i]) for i in g) * len(g) - sum(len(windows[i]) for i in g) for g in groups)

    order = list(range(len(windows)))
    random.Random(7).shuffle(order)
    naive = [order[i:i + 4] for i in range(0, len(order), 4)]
    assert padding(batches) < padding(naive) / 2


def test_a_receipt_longer_than_the_model_is_windowed_without_transformers_warning(tokenizer):
    """Found by a walkthrough: evaluate --from-images printed transformers' "Token indices sequence length is longer
    than the specified maximum … will result in indexing errors" for a receipt the encoder cuts into windows."""
    import io
    import logging

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger("transformers").addHandler(handler)
    try:
        doc = Document(id="long", width=1000, height=1000,
                       words=tuple(Word(text=f"w{i}", box=(1, 1, 9, 9)) for i in range(1200)))
        windows = DocumentEncoder(tokenizer).encode(doc)
    finally:
        logging.getLogger("transformers").removeHandler(handler)
    assert len(windows) > 1 and "longer than" not in stream.getvalue()
