"""The page logic that lives in the core: an annotator's edit, pre-fill and ranking from a run, the data split,
zipped downloads and the study's table and reading."""

from __future__ import annotations

import io
import zipfile
from types import SimpleNamespace

import pytest

from receipt_core.data.annotation import (AnnotationError, WordEdit, label_word, least_confident,
                                          suggest_from_prediction, word_edit)
from receipt_core.data.document import Document, Word
from receipt_core.data.files import zip_folder
from receipt_core.datasets.splits import split_documents
from receipt_core.plots.study_tables import claim_lines, study_table_rows
from receipt_core.study.table import TABLE_COLUMNS

QTY = Word("2x", (0, 0, 10, 10), is_quantity=True, quantity_value=2.0)
NAME = Word("TEA", (20, 0, 40, 10), field="MENU.NM")


def test_a_quantity_value_needs_the_label_quantity():
    with pytest.raises(AnnotationError, match="a quantity value needs the label QUANTITY"):
        word_edit(NAME, {"quantity_value": 3.0})
    with pytest.raises(AnnotationError):
        word_edit(QTY, {"label": "MENU.NM", "quantity_value": 3.0})
    assert word_edit(QTY, {"quantity_value": 3.0}) == WordEdit("QUANTITY", 3.0)
    assert word_edit(QTY, {"label": "MENU.NM"}) == WordEdit("MENU.NM", None)  # relabelled: the value goes
    assert word_edit(NAME, {"label": "QUANTITY"}) == WordEdit("QUANTITY", None)  # read from the text when saved
    assert word_edit(NAME, {"label": "OTHER", "quantity_value": None}) == WordEdit("OTHER", None)
    assert word_edit(QTY, {}) == WordEdit("QUANTITY", 2.0)


@pytest.mark.parametrize("value", [1e15, 1e308, float("inf"), float("nan"), -1.0])
def test_a_typed_quantity_outside_what_the_importers_read_back_is_refused(value, tmp_path):
    """A value the importers would refuse (over 1,000,000,000, not finite, negative) is never saved: it would make
    the receipt drop out of its own dataset's export when imported again."""
    with pytest.raises(AnnotationError, match="a quantity value must be a number from 0 to 1,000,000,000"):
        word_edit(QTY, {"quantity_value": value})
    doc = Document("r1", 100, 100, (QTY, NAME))
    with pytest.raises(AnnotationError, match="from 0 to 1,000,000,000"):
        label_word(doc, 0, "QUANTITY", value)
    from receipt_core.workspace.database import WorkspaceError
    from receipt_core.workspace.store import Workspace

    ws = Workspace(tmp_path / "ws")
    ws.save_documents("d", [doc])
    with pytest.raises(WorkspaceError, match="from 0 to 1,000,000,000"):
        ws.update_word("r1", 0, "QUANTITY", value)
    assert ws.get_document("r1").words[0].quantity_value == 2.0
    assert word_edit(QTY, {"quantity_value": 1e9}) == WordEdit("QUANTITY", 1e9)  # the bound itself is fine


def test_suggestions_never_replace_a_label_and_refuse_another_document():
    unlabelled = Word("4", (50, 0, 60, 10))
    doc = Document("r1", 100, 20, (QTY, NAME, unlabelled))
    prediction = {"words": [{"field": "OTHER", "quantity": False}, {"field": "OTHER", "quantity": False},
                            {"field": "OTHER", "quantity": True, "field_score": 0.6, "quantity_score": 0.97}]}
    result = suggest_from_prediction(doc, prediction, "run-1")
    assert result.document.words[:2] == doc.words[:2]  # labelled words keep their label, no suggestion
    assert [c.index for c in result.changes] == [2]
    suggestion = result.document.words[2].suggestion
    assert (suggestion.annotation_label, suggestion.quantity_value, suggestion.run) == ("QUANTITY", 4.0, "run-1")
    assert suggestion.score == 0.97  # the quantity head's, as Predict shows it (its field score is OTHER's)
    with pytest.raises(AnnotationError, match="1 words but document 'r1' has 3"):
        suggest_from_prediction(doc, {"words": prediction["words"][:1]}, "run-1")
    # as many words, not the same ones: a word added and another deleted while the model read the receipt (a probe
    # saw every suggestion after it shifted onto the wrong word)
    read = [{**w, "text": text} for w, text in zip(prediction["words"], ("ADDED", "Cake", "4"))]
    with pytest.raises(AnnotationError, match="word #0 is now '2x', the model read 'ADDED'"):
        suggest_from_prediction(doc, {"words": read}, "run-1")
    read[0]["text"] = QTY.text
    read[1]["text"] = NAME.text
    assert suggest_from_prediction(doc, {"words": read}, "run-1").document.words[2].suggestion is not None


def test_least_confident_skips_visited_receipts():
    predictions = {"a": {"words": [{"field_score": 0.9}, {"field_score": 0.7}]},
                   "b": {"words": [{"field_score": 0.5}]}, "c": {"words": []}}
    assert least_confident(predictions) == "b"
    assert least_confident(predictions, exclude={"b"}) == "a"
    assert least_confident(predictions, exclude={"a", "b", "c"}) is None
    # by the answers the model gave: a word a rule answered does not pull its receipt down
    predictions["b"]["words"].append({"field_score": 0.01, "reconciled": True})
    predictions["a"]["words"] += [{"field_score": 0.95, "quantity": True, "quantity_score": 0.0}] * 2
    assert least_confident(predictions) == "a"  # (0.9 + 0.7 + 0 + 0) / 4 under b's 0.5


def test_split_holds_out_the_same_last_share_or_takes_the_evaluation_set():
    from types import SimpleNamespace

    def receipt(name: str, labelled: int = 10):  # a workspace summary: a count of words, and of labelled ones
        return SimpleNamespace(id=name, words=10, labelled_words=labelled)

    docs = [receipt(name) for name in "abcdefgh"]
    ids = lambda part: [doc.id for doc in part]  # noqa: E731
    train, held_out = split_documents(docs, None, 0.25)
    assert (ids(train), ids(held_out)) == (list("abcdef"), list("gh"))
    assert [ids(part) for part in split_documents(docs[:2], None, 0.9)] == [["a"], ["b"]]  # one left to train on
    assert split_documents(docs, ["z"], 0.25) == (docs, ["z"])
    with pytest.raises(ValueError, match="needs at least 2"):
        split_documents(docs[:1], None, 0.25)
    with pytest.raises(ValueError, match="empty"):
        split_documents([], ["z"], 0.25)
    # the most completely labelled receipts are held out: a walkthrough's held-out receipt had 1 labelled word of
    # 129 (the last uploaded), and its score of 0.000 on that word was the run's
    photos = [receipt("a"), receipt("b"), receipt("c"), receipt("partial", labelled=1)]
    train, held_out = split_documents(photos, None, 0.25)
    assert (ids(train), ids(held_out)) == (["partial", "a", "b"], ["c"])
    word = Word("x", (1, 1, 2, 2))
    documents = [Document(id=i, width=10, height=10, words=(word.with_annotation("TOTAL") if full else word,))
                 for i, full in (("full", True), ("bare", False))]
    assert [ids(part) for part in split_documents(documents, None, 0.5)] == [["bare"], ["full"]]


def test_zip_folder_keeps_paths_under_the_folder_name_and_skips_hidden_files(tmp_path):
    run = tmp_path / "run-1"
    (run / "tokenizer").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    (run / "tokenizer" / "vocab.txt").write_text("a")
    (run / ".model.safetensors.tmp").write_text("half")
    (run / "model.safetensors.tmp").write_text("half of a save a crash stopped")  # found in a zip by a probe
    names = zipfile.ZipFile(io.BytesIO(zip_folder(run))).namelist()
    assert names == ["run-1/run.json", "run-1/tokenizer/vocab.txt"]


def test_study_table_rows_and_claim_lines():
    row = SimpleNamespace(cells=lambda: tuple(f"cell{i}" for i in range(len(TABLE_COLUMNS))), best=True)
    study = SimpleNamespace(rows=[row], claims=[SimpleNamespace(claim="Freezing saves time", verdict="held",
                                                                 evidence="2x faster")])
    assert study_table_rows(study) == [{"best": "★", **{c: f"cell{i}" for i, c in enumerate(TABLE_COLUMNS)}}]
    assert list(study_table_rows(study)[0])[0] == "best"  # first: last, it was off a laptop's screen
    assert claim_lines(study) == ["Claim: *Freezing saves time* → :green[**Held**]: 2x faster"]


def test_item_numbers_stay_in_the_range_every_importer_reads_back(tmp_path):
    """A probe: a receipt imported with item number 10^9, then a new item (the `i` key) numbered 10^9 + 1, and its
    own native export no longer imported ("'group_id' must be a whole number from 0 to 1,000,000,000"); set_group
    took 10^12 too. A new item takes the smallest free number past the range, and set_group refuses it."""
    from receipt_core.data.annotation import new_group_id, set_group
    from receipt_core.data.document import MAX_GROUP_ID
    from receipt_core.datasets import export_documents, load_dataset

    words = (Word(text="TEA", box=(10, 10, 40, 20), line_id=0, field="ITEM_NAME", group_id=MAX_GROUP_ID,
                  label_source="import"),
             Word(text="COFFEE", box=(10, 30, 60, 40), line_id=1, field="ITEM_NAME", label_source="import"),
             Word(text="0", box=(10, 50, 20, 60), line_id=2, field="ITEM_NAME", group_id=0, label_source="import"))
    doc = Document(id="g-1", width=100, height=100, words=words)
    fresh = new_group_id(doc)
    assert fresh == 1  # 0 and 10^9 are used
    doc = set_group(doc, 1, fresh).document
    with pytest.raises(AnnotationError, match="from 0 to 1,000,000,000, got 1000000001"):
        set_group(doc, 1, MAX_GROUP_ID + 1)
    export_documents([doc], tmp_path / "out", "native")
    back = load_dataset(tmp_path / "out", "native")
    assert not back.problems and [w.group_id for w in back.documents[0].words] == [MAX_GROUP_ID, 1, 0]
