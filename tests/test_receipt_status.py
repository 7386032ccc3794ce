"""Receipt status (unlabelled, in progress, done): derived from the words, "done" set by a person, counted per
dataset, filtered and searched; a version-1 workspace gets the columns on open; training and evaluation see only
labelled receipts, and an evaluation set without labels is refused."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.data.review import (DONE, IN_PROGRESS, UNLABELLED, NoLabelsError, evaluation_documents,
                                      labelled_documents, receipt_status)
from receipt_core.workspace.store import Workspace

OCR = (Word("Thanks", (0, 0, 10, 10)), Word("9.50", (0, 20, 10, 30)))


def _upload(doc_id: str, source: str = "") -> Document:
    return Document(doc_id, 100, 40, OCR, source=source)


def test_status_is_read_from_the_words_and_done_is_a_persons_mark(cord_dev, tmp_path):
    assert receipt_status(_upload("u")) == UNLABELLED
    assert receipt_status(_upload("u").relabel(1, "TOTAL")) == IN_PROGRESS
    assert receipt_status(_upload("u"), reviewed=True) == DONE
    assert receipt_status(cord_dev[0]) == DONE  # gold on every word
    # a person's correction of imported gold keeps it done, as a text correction does (a second walkthrough saw a
    # label change reopen it); a word left unlabelled (one added) or a model's label does not
    assert receipt_status(cord_dev[0].relabel(0, "TOTAL")) == DONE
    unlabelled = cord_dev[0].with_words([*cord_dev[0].words, _upload("x").words[0]])
    assert receipt_status(unlabelled) == IN_PROGRESS

    ws = Workspace(tmp_path / "ws")
    ws.save_documents("uploads", [_upload("a", "IMG_2041.jpg"), _upload("b", "scan Käse.png"), _upload("c")])
    ws.save_documents("cord", cord_dev[:3])
    assert ws.status_counts("uploads") == {UNLABELLED: 3, IN_PROGRESS: 0, DONE: 0}
    ws.update_word("a", 1, "TOTAL")
    ws.set_reviewed("b")
    assert ws.status_counts("uploads") == {UNLABELLED: 1, IN_PROGRESS: 1, DONE: 1}
    assert ws.status_counts() == {UNLABELLED: 1, IN_PROGRESS: 1, DONE: 4}
    assert {d.name: dict(d.status_counts) for d in ws.datasets()}["uploads"] == {UNLABELLED: 1, IN_PROGRESS: 1,
                                                                                  DONE: 1}
    assert [s.id for s in ws.list_documents("uploads", status=IN_PROGRESS)] == ["a"]
    assert [s.id for s in ws.list_documents(status=DONE)] == ["b"] + [d.id for d in cord_dev[:3]]
    assert [s.id for s in ws.list_documents(search="img_20")] == ["a"]  # the upload's file name, any case
    assert [s.title for s in ws.list_documents(search="KÄSE")] == ["scan Käse.png · b"]
    assert ws.list_documents("uploads", search="c")[-1].title == "c"
    with pytest.raises(ValueError, match="unknown receipt status 'finished'"):
        ws.list_documents(status="finished")
    ws.undo("b")
    assert ws.list_documents(search="Käse")[0].status == UNLABELLED


def test_a_version_1_workspace_gets_status_columns_and_keeps_its_documents(tmp_path):
    home = tmp_path / "old"
    home.mkdir()
    conn = sqlite3.connect(home / "workspace.sqlite3")
    conn.executescript("""
        CREATE TABLE documents (id TEXT PRIMARY KEY, dataset TEXT NOT NULL, json TEXT NOT NULL,
            words INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, image_sha256 TEXT,
            source TEXT NOT NULL, label_counts TEXT NOT NULL, updated_at REAL NOT NULL);
        PRAGMA user_version = 1;""")
    old = [{"id": "labelled", "width": 50, "height": 50, "source": "IMG_1.jpg",
            "words": [{"text": "9.50", "box": [0, 0, 9, 9], "field": "TOTAL"}]},
           {"id": "blank", "width": 50, "height": 50, "words": [{"text": "x", "box": [0, 0, 9, 9]}]},
           {"id": "gold", "width": 50, "height": 50, "meta": {"dataset": "cord"},
            "words": [{"text": "x", "box": [0, 0, 9, 9]}]}]
    conn.executemany("INSERT INTO documents VALUES (?, 'old', ?, 1, 50, 50, NULL, ?, '{}', 0)",
                     [(d["id"], json.dumps(d), d.get("source", "")) for d in old])
    conn.commit()
    conn.close()
    ws = Workspace(home)
    assert {s.id: s.status for s in ws.list_documents()} == {"labelled": IN_PROGRESS, "blank": UNLABELLED,
                                                            "gold": DONE}
    assert ws.get_document("labelled").words[0].label_source == "person"
    ws.set_reviewed("blank")
    Workspace(home)  # opening again changes nothing
    assert ws.status_counts() == {UNLABELLED: 0, IN_PROGRESS: 1, DONE: 2}
    assert ws.integrity_check() == "ok"


def test_training_and_evaluation_see_only_labelled_receipts_unless_suggestions_are_opted_in(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.save_documents("uploads", [_upload("a"), _upload("b")])
    with pytest.raises(NoLabelsError, match="'uploads' has no labels from a person or an import in any of its 2"):
        ws.evaluation_documents("uploads")
    ws.store_suggestions("a", {"words": [{"field": "OTHER", "field_score": 0.9},
                                         {"field": "TOTAL", "field_score": 0.8}]}, "run-1")
    assert ws.training_documents("uploads").documents == ()
    opted = ws.training_documents("uploads", use_suggestions=True)
    assert [d.id for d in opted.documents] == ["a"] and opted.left_out == ("b",)
    assert opted.documents[0].words[1].annotation_label == "TOTAL"
    assert ws.get_document("a").words[1].field == "OTHER"  # opting in never writes the suggestion as a label
    ws.update_word("b", 0, "OTHER")
    chosen = ws.evaluation_documents("uploads")
    assert [d.id for d in chosen.documents] == ["b"] and "1 of 2 receipts" in chosen.note("eval")
    assert labelled_documents([]).documents == ()
    with pytest.raises(NoLabelsError):
        evaluation_documents([_upload("z")])


def test_the_cli_refuses_an_unlabelled_evaluation_set_before_training(tmp_path, workspace_home, capsys):
    ws = Workspace.open(workspace_home)
    ws.save_documents("uploads", [_upload("a"), _upload("b")])
    ws.save_documents("labelled", [_upload("c").relabel(1, "TOTAL")])
    code = main(["train", "--train", "labelled", "--eval", "uploads", "--backbone", "tiny", "--epochs", "1",
                 "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert "error: --eval 'uploads' has no labels from a person or an import in any of its 2 receipts" in err
    assert not (tmp_path / "run" / "run.json").exists()


def test_an_upload_keeps_its_file_name_as_source_and_can_be_found_by_it(tmp_path):
    from receipt_core.ocr.engine import OcrResult
    from ui.actions import store_ocr_results

    ws = Workspace(tmp_path / "ws")
    result = OcrResult(name="Lunch 12-03.jpg", document=_upload("ocr-ef674b636916"), image=None, error=None)
    report = store_ocr_results(ws, "uploads", [result], {"Lunch 12-03.jpg": b"\x89PNG fake bytes"})
    assert report.saved == ("ocr-ef674b636916",)
    doc = ws.get_document("ocr-ef674b636916")
    assert doc.source == "Lunch 12-03.jpg" and doc.meta["file_name"] == "Lunch 12-03.jpg"
    assert [s.title for s in ws.list_documents(search="lunch")] == ["Lunch 12-03.jpg · ocr-ef674b636916"]


def test_an_image_uploaded_again_keeps_its_labels_and_never_moves_to_another_dataset(tmp_path):
    from receipt_core.ocr.engine import OcrResult
    from ui.actions import store_ocr_results

    ws = Workspace(tmp_path / "ws")
    upload = {"Lunch.jpg": b"\x89PNG fake bytes"}
    first = OcrResult(name="Lunch.jpg", document=_upload("ocr-ef674b636916"), image=None, error=None)
    assert store_ocr_results(ws, "uploads", [first], upload).saved == ("ocr-ef674b636916",)
    labelled = ws.update_word("ocr-ef674b636916", 0, "TOTAL")

    twice = OcrResult(name="Lunch copy.jpg", document=first.document, image=None, error=None)
    once = store_ocr_results(ws, "fresh", [first, twice], upload | {"Lunch copy.jpg": upload["Lunch.jpg"]})
    assert once.saved == () and len(once.problems) == 2  # both name the image already in "uploads"
    again = store_ocr_results(ws, "uploads", [first], upload)
    assert again.saved == () and again.problems == ()
    assert again.notes == ("Lunch.jpg: this image is already in the dataset 'uploads' as ocr-ef674b636916; kept as "
                           "it was, with its labels",)
    elsewhere = store_ocr_results(ws, "other", [first], upload)
    assert elsewhere.saved == () and len(elsewhere.problems) == 1
    assert "already in dataset 'uploads' as ocr-ef674b636916" in elsewhere.problems[0]
    assert ws.get_document("ocr-ef674b636916") == labelled
    assert [(d.name, d.documents) for d in ws.datasets()] == [("uploads", 1)]



def test_an_image_stored_by_another_tab_during_this_uploads_ocr_is_kept_with_its_labels(tmp_path, monkeypatch):
    """Uploads look for their images before OCR, which takes seconds: the same photo uploaded in a second tab and
    labelled meanwhile was replaced by this upload's unlabelled reading."""
    from receipt_core.ocr.engine import OcrResult
    from ui.actions import store_ocr_results

    ws = Workspace(tmp_path / "ws")
    upload = {"Lunch.jpg": b"\x89PNG fake bytes"}
    result = OcrResult(name="Lunch.jpg", document=_upload("ocr-ef674b636916"), image=None, error=None)
    real_lookup = Workspace.datasets_of

    def other_tab_stores_it_meanwhile(self, ids):
        held = real_lookup(self, ids)  # nothing yet, as this upload saw before its OCR
        self.save_documents("uploads", [result.document])
        self.update_word("ocr-ef674b636916", 0, "TOTAL")
        return held

    monkeypatch.setattr(Workspace, "datasets_of", other_tab_stores_it_meanwhile)
    report = store_ocr_results(ws, "uploads", [result], upload)
    monkeypatch.undo()
    assert report.saved == () and report.problems == ()
    assert report.notes == ("Lunch.jpg: stored meanwhile (another upload of the same image) in dataset 'uploads' "
                            "as ocr-ef674b636916; kept as it is there",)
    assert ws.get_document("ocr-ef674b636916").words[0].field == "TOTAL"

def test_the_same_image_twice_in_one_upload_is_stored_once_and_counted_once(tmp_path):
    from receipt_core.ocr.engine import OcrResult
    from ui.actions import store_ocr_results

    ws = Workspace(tmp_path / "ws")
    doc = _upload("ocr-ef674b636916")
    results = [OcrResult(name=name, document=doc, image=None, error=None) for name in ("a.jpg", "b.jpg")]
    report = store_ocr_results(ws, "uploads", results, {"a.jpg": b"\x89PNG same", "b.jpg": b"\x89PNG same"})
    assert report.saved == ("ocr-ef674b636916",) and report.problems == ()
    assert report.notes == ("b.jpg: the same image as a.jpg in this upload; stored once",)
    assert ws.get_document("ocr-ef674b636916").source == "a.jpg"


def test_a_done_warning_names_pending_suggestions_or_a_mostly_unlabelled_receipt():
    from receipt_core.data.document import Suggestion
    from receipt_core.data.review import done_warning

    words = [Word(text=t, box=(0, 0, 1, 1)) for t in ("TOTAL", "9.50", "thanks", "bye")]
    assert "4 of 4 words have no label" in done_warning(_doc(words))
    labelled = [words[0].with_annotation("TOTAL"), words[1].with_annotation("TOTAL"), words[2], words[3]]
    assert done_warning(_doc(labelled)) is None  # half labelled: the rest are plausibly OTHER
    other = Suggestion(field="OTHER", is_quantity=False, quantity_value=None, score=0.9, run="r")
    field = Suggestion(field="TOTAL", is_quantity=False, quantity_value=None, score=0.9, run="r")
    assert done_warning(_doc([*labelled[:3], dataclasses.replace(words[3], suggestion=other)])) is None
    warning = done_warning(_doc([*labelled[:3], dataclasses.replace(words[3], suggestion=field)]))
    assert warning.startswith("1 word with a suggestion of a field or quantity nobody accepted (for example 'bye' → "
                              "TOTAL)")
    # quantities in no item (a walkthrough): the item scores cannot count them
    counted_words = [words[0].with_annotation("TOTAL"), words[1].with_annotation("QUANTITY", 2.0),
                     dataclasses.replace(words[2].with_annotation("QUANTITY", 1.0), group_id=0), words[3]]
    assert done_warning(_doc(counted_words)).startswith("1 of 2 QUANTITY words belong to no item (for example "
                                                        "'9.50')")
    # a quantity without a value (a walkthrough's key press on "i", a misread 1): said first
    valueless = [*counted_words[:3], dataclasses.replace(words[3].with_annotation("QUANTITY"), group_id=0)]
    assert done_warning(_doc(valueless)).startswith("1 of 3 QUANTITY words have no value (for example 'bye')")
    # a walkthrough: a mostly unlabelled receipt hid the valueless quantities it was marked done with
    sparse = [words[0], words[1], words[2], dataclasses.replace(words[3].with_annotation("QUANTITY"), group_id=0)]
    warning = done_warning(_doc(sparse))
    assert warning.startswith("3 of 4 words have no label: as done they train as OTHER; if some are fields or "
                              "quantities, label them. 1 of 1 QUANTITY words have no value (for example 'bye')")
    # the page adds TAKE_BACK after the mark; the button's help, read before it, has no mark to take back (a probe)
    assert "done mark" not in warning


def _doc(words) -> Document:
    return Document(id="r", width=10, height=10, words=tuple(words))


def test_a_receipts_title_keeps_an_uploads_whole_name_and_drops_only_a_name_the_id_holds():
    """A probe: ``c.png`` vanished from the pickers because ``c`` occurs in a hex id, and an upload named
    ``[click](https://evil.example) **bold**.png`` was cut at its ``/``. An import's source is still a path."""
    from receipt_core.workspace.summaries import receipt_title

    assert receipt_title("ocr-5a16f113371a", "c.png") == "c.png · ocr-5a16f113371a"
    assert receipt_title("ocr-5a16f113371a", "a\\b\\c.png") == "a\\b\\c.png · ocr-5a16f113371a"
    hostile = "[click](https://evil.example) **bold**.png"
    assert receipt_title("ocr-1", hostile) == f"{hostile} · ocr-1"
    assert receipt_title("cord-sample-receipt_00001", "cord:json/receipt_00001.json") == "cord-sample-receipt_00001"
    assert receipt_title("wildreceipt-845be0", "wildreceipt:image_files/Image_12/845be0.jpeg") == "wildreceipt-845be0"
    assert receipt_title("x", "cord:json/receipt_00002.json") == "receipt_00002.json · x"
    assert receipt_title("ocr-1", "") == receipt_title("ocr-1", None) == "ocr-1"


def test_importing_an_export_back_over_its_receipts_takes_their_done_mark_and_history_from_the_file(tmp_path):
    """A probe exported a receipt in progress, marked it done, then imported the export back into its dataset: the
    labels came from the file but the done mark stayed, and Undo first took back the replaced receipt's mark, then
    failed on its labels. A receipt an import replaces is as its file says, without the old history."""
    from receipt_core.datasets import import_into_workspace, load_dataset
    from receipt_core.datasets.export_zip import export_folder

    ws = Workspace(tmp_path / "ws")
    ws.save_documents("photos", [_upload("a", "a.jpg").relabel(0, "ITEM_NAME"), _upload("b", "b.jpg")])
    ws.set_reviewed("b")  # exported done
    export_folder(ws, ws.load_documents("photos"), tmp_path / "export", "native")
    ws.update_word("a", 1, "TOTAL")
    ws.set_reviewed("a")  # marked done after the export
    ws.set_reviewed("b", False)  # and b reopened
    import_into_workspace(ws, "photos", load_dataset(tmp_path / "export", "native"))
    assert (ws.is_reviewed("a"), ws.is_reviewed("b")) == (False, True)  # as the file says
    assert ws.get_document("a").words[1].field == "OTHER"  # the file's labels
    assert ws.undo("a") is None and ws.undo("b") is None  # no history of the receipts it replaced
