"""Provenance on every label: who gave it (person, accepted model suggestion, import), suggestions kept apart from
labels, accept per word / per receipt / above a confidence, reject, undo — and old files still load."""

from __future__ import annotations

import dataclasses
import json

import pytest

from receipt_core.data.annotation import accept_suggestions, reject_suggestions, suggest_from_prediction
from receipt_core.data.document import Document, DocumentFormatError, Suggestion, Word
from receipt_core.workspace.store import Workspace, WorkspaceError

TOTAL = Word("9.50", (0, 0, 10, 10), field="TOTAL")  # a person's label (no source given: a person's)
QTY = Word("2x", (0, 20, 10, 30))
NAME = Word("TEA", (20, 20, 40, 30))
ODD = Word("abc", (50, 20, 60, 30))


def _prediction(*labels: tuple[str, bool, float]) -> dict:
    return {"words": [{"field": f, "quantity": q, "field_score": s} for f, q, s in labels]}


PREDICTION = _prediction(("ITEM_PRICE", False, 0.99), ("OTHER", True, 0.9), ("ITEM_NAME", False, 0.4),
                         ("OTHER", True, 0.8))


def test_a_label_records_who_gave_it_and_the_native_format_keeps_it():
    assert TOTAL.label_source == "person" and QTY.label_source is None and not QTY.is_labelled
    accepted = QTY.with_annotation("QUANTITY", source="model", run="run-3", score=0.9)
    doc = Document("p", 100, 40, (TOTAL, accepted, NAME,
                                  dataclasses.replace(ODD, suggestion=Suggestion("TAX", False, None, "run-3", 0.5))))
    data = doc.to_json()
    assert [w["label_source"] for w in data["words"]] == ["person", "model", None, None]
    assert data["words"][1]["label_run"] == "run-3" and data["words"][3]["suggestion"]["field"] == "TAX"
    assert Document.from_json(json.loads(json.dumps(data))) == doc
    with pytest.raises(DocumentFormatError, match="label_source must be one of"):
        Document.from_json({**data, "words": [{**data["words"][0], "label_source": "robot"}]})
    with pytest.raises(DocumentFormatError, match="score must be a number from 0 to 1"):
        Document.from_json({**data, "words": [{**data["words"][3], "suggestion": {"field": "TAX", "score": 7}}]})


def test_files_written_before_provenance_load_by_the_stated_rule():
    old_word = {"text": "9.50", "box": [0, 0, 10, 10], "field": "TOTAL"}
    old_other = {"text": "Thanks", "box": [0, 20, 10, 30], "field": "OTHER"}
    upload = Document.from_json({"id": "u", "width": 50, "height": 50, "words": [old_word, old_other]})
    assert [w.label_source for w in upload.words] == ["person", None]
    for dataset in ({"meta": {"dataset": "cord"}}, {"source": "cord:json/receipt_00001.json"},
                    {"source": "synth:seed=0"}):
        gold = Document.from_json({"id": "g", "width": 50, "height": 50, "words": [old_word, old_other], **dataset})
        assert [w.label_source for w in gold.words] == ["import", "import"]


def test_suggestions_never_replace_a_persons_label_and_accept_above_a_confidence():
    doc = Document("r", 100, 40, (TOTAL, QTY, NAME, ODD))
    suggested = suggest_from_prediction(doc, PREDICTION, "run-1").document
    assert suggested.words[0] == TOTAL  # the person's TOTAL is not ITEM_PRICE now, and carries no suggestion
    assert [w.annotation_label for w in suggested.words] == ["TOTAL", "OTHER", "OTHER", "OTHER"]
    assert suggested.words[1].suggestion == Suggestion("OTHER", True, 2.0, "run-1", 0.9)

    sure = accept_suggestions(suggested, min_score=0.85)
    assert [c.index for c in sure.changes] == [1]
    assert (sure.document.words[1].annotation_label, sure.document.words[1].quantity_value,
            sure.document.words[1].label_source, sure.document.words[1].label_run) == ("QUANTITY", 2.0, "model",
                                                                                       "run-1")
    everything = accept_suggestions(sure.document)
    assert [c.index for c in everything.changes] == [2]  # "abc" holds no number: never a QUANTITY without a value
    assert everything.skipped == ("word 3 ('abc'): suggested as QUANTITY but holds no number; label it and type "
                                  "its value",)
    assert not any(w.is_quantity and w.quantity_value is None for w in everything.document.words)
    rejected = reject_suggestions(everything.document, [3])
    assert rejected.document.words[3].suggestion is None and not rejected.document.words[3].is_labelled


def test_workspace_accept_reject_and_undo_every_step(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.save_documents("uploads", [Document("r", 100, 40, (TOTAL, QTY, NAME, ODD), source="IMG_1.jpg")])
    ws.store_suggestions("r", PREDICTION, "run-1")
    assert ws.get_document("r").words[0] == TOTAL and ws.list_documents()[0].suggested_words == 3

    ws.accept_suggestions("r", [1])
    ws.reject_suggestions("r", [3])
    ws.update_word("r", 2, "ITEM_NAME")
    after = ws.get_document("r")
    assert [(w.annotation_label, w.label_source) for w in after.words] == [
        ("TOTAL", "person"), ("QUANTITY", "model"), ("ITEM_NAME", "person"), ("OTHER", None)]
    assert [e.kind for e in ws.history("r")][:3] == ["label", "reject", "accept"]

    assert ws.undo("r").kind == "label"
    assert ws.get_document("r").words[2].suggestion is not None  # the suggestion is back with the old word
    assert ws.undo("r").kind == "reject" and ws.get_document("r").words[3].suggestion is not None
    assert ws.undo().kind == "accept" and not ws.get_document("r").words[1].is_labelled
    assert ws.undo("r").kind == "suggest"
    assert ws.get_document("r").words == (TOTAL, QTY, NAME, ODD)
    assert ws.undo("r") is None

    # an undo never clobbers later work: a replaced document refuses it and nothing changes
    ws.update_word("r", 1, "QUANTITY")
    ws.replace_document(ws.get_document("r").relabel(1, "TOTAL"))
    with pytest.raises(WorkspaceError, match="has changed since; nothing was undone"):
        ws.undo("r")
    assert ws.get_document("r").words[1].field == "TOTAL"



def test_redo_does_again_what_undo_took_back_until_a_new_change(tmp_path):
    """Annotators expect Redo beside Undo (a walkthrough undid one step too far and had to relabel by hand)."""
    from receipt_core.workspace.store import ReceiptChangedError

    ws = Workspace(tmp_path / "ws")
    ws.save_documents("uploads", [Document("r", 100, 40, (TOTAL, QTY, NAME, ODD))])
    assert ws.redo("r") is None  # nothing undone yet
    ws.update_word("r", 2, "ITEM_NAME")
    ws.update_word("r", 3, "TOTAL")
    ws.set_reviewed("r", True)
    labelled = ws.get_document("r")
    for _ in range(3):
        ws.undo("r")
    assert ws.get_document("r").words == (TOTAL, QTY, NAME, ODD) and not ws.is_reviewed("r")
    first = ws.redo("r")  # redone in the order they were undone, latest undone first
    assert (first.kind, first.redone, first.first_word) == ("label", True, 2)
    assert first.describe() == "Redid the label or quantity change that Undo had taken back, which was word #2 " \
                               "'TEA'."
    redone = ws.get_document("r")
    assert redone.words[2].annotation_label == "ITEM_NAME" and not redone.words[3].is_labelled
    assert ws.redo("r").kind == "label" and ws.redo("r").describe() == "Redid the done mark that Undo had taken back."
    assert ws.get_document("r") == labelled and ws.is_reviewed("r") and ws.redo("r") is None
    assert ws.undo("r").kind == "review" and ws.undo("r").kind == "label"
    ws.update_word("r", 0, "OTHER")  # a new change: what was undone can no longer be redone
    assert ws.redo("r") is None
    assert ws.undo("r").kind == "label" and ws.redo("r").kind == "label"  # the new change's own undo, redone
    with pytest.raises(ReceiptChangedError, match="Redo would be applied over a change you have not seen"):
        ws.redo("r", seen_action=1)

def test_accept_across_a_dataset_above_a_confidence(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.save_documents("d", [Document(f"r{i}", 100, 40, (TOTAL, QTY, NAME, ODD)) for i in range(3)])
    for i in range(3):
        ws.store_suggestions(f"r{i}", PREDICTION, "run-1")
    assert ws.accept_dataset_suggestions("d", 0.85) == (3, 3)
    assert all(d.words[1].label_source == "model" and not d.words[2].is_labelled for d in ws.load_documents("d"))
