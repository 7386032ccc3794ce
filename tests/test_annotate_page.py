"""The Annotate page and Data → Export through AppTest: suggestions with their own buttons, undo, status, URL,
corrections, items, keyboard presses applied in order; the export zip in each format. Fast: CORD receipts
stripped of their labels, suggestions stored from a hand-made prediction (no model)."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from receipt_core.data.document import Document
from receipt_core.data.markup import escape_markdown
from receipt_core.datasets import load_dataset
from receipt_core.datasets.export_zip import export_zip_bytes
from receipt_core.workspace.store import Workspace
from ui.annotate_keys import apply_keys, fresh_presses, key_help, label_keys
from ui.literal import literal

REPO = Path(__file__).resolve().parent.parent


def _keyed(widgets, prefix: str):
    """The one widget whose key starts with ``prefix`` (keys end in the view's version, see ``view_version``)."""
    [widget] = [w for w in widgets if w.key and w.key.startswith(prefix)]
    return widget


def _unlabelled(doc: Document) -> Document:
    return doc.with_words(dataclasses.replace(w, field="OTHER", is_quantity=False, quantity_value=None,
                                              label_source=None, group_id=None) for w in doc.words)


def _prediction(doc: Document, field: str = "TOTAL", score: float = 0.9) -> dict:
    return {"id": doc.id, "words": [{"text": w.text, "box": list(w.box), "field": field, "field_score": score,
                                     "quantity": False} for w in doc.words]}


@pytest.fixture
def receipts(cord_dev, workspace_home) -> Workspace:
    ws = Workspace(workspace_home)
    ws.save_documents("receipts", [_unlabelled(d) for d in cord_dev[:3]])
    ws.save_documents("gold", list(cord_dev[3:5]))
    return ws


def _app(receipt: str) -> AppTest:
    """Annotate on dataset "receipts" (the sidebar's choice: the dataset in the URL is the browser test's), with
    ``receipt`` asked for in the URL."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["dataset"] = "receipts"
    at.query_params["receipt"] = receipt
    at.run()
    at.switch_page("app_pages/annotate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_suggestions_accept_undo_and_status(receipts):
    doc = receipts.load_documents("receipts")[0]
    receipts.update_word(doc.id, 0, "SUBTOTAL")
    receipts.store_suggestions(doc.id, _prediction(doc), "run-x")
    at = _app(doc.id)
    assert at.selectbox(key="annotate_doc").value == doc.id
    assert any("in progress 1" in c.value for c in at.caption)
    # it opens at its first word nobody labelled (word 0 is labelled): a reload goes on where the labelling stopped
    assert _keyed(at.selectbox, f"annotate_word_{doc.id}_1_v").value == 1
    assert any("suggested" in m.value and "TOTAL" in m.value for m in at.markdown)
    label_box = next(s for s in at.selectbox if s.label == "Label")  # the word's own label: none yet
    assert label_box.value is None and label_box.placeholder == "suggested TOTAL"  # Accept takes it
    at.button(key="annotate_accept_word").click().run()
    word = receipts.get_document(doc.id).words[1]
    assert (word.field, word.label_source, word.label_run) == ("TOTAL", "model", "run-x")
    assert at.button(key="annotate_redo").disabled  # nothing undone yet
    at.button(key="annotate_undo").click().run()
    assert receipts.get_document(doc.id).words[1].suggestion is not None
    at.button(key="annotate_redo").click().run()  # Redo takes the acceptance again, and says so
    assert receipts.get_document(doc.id).words[1].label_source == "model"
    assert any(m.value.startswith("Redid the acceptance of suggestions that Undo had taken back") for m in at.info)
    assert at.button(key="annotate_redo").disabled
    at.button(key="annotate_undo").click().run()
    at.slider(key="annotate_min_score").set_value(0.95).run()
    at.button(key="annotate_accept_above").click().run()
    assert receipts.get_document(doc.id).labelled_words == 1  # 0.9 < 0.95: nothing accepted
    assert [t.value for t in at.toast] == ["0 suggestions accepted"]
    at.button(key="annotate_accept_all").click().run()
    assert [t.value for t in at.toast] == [f"{len(doc.words) - 1} suggestions accepted (Undo last change takes "
                                           "them back)"]
    saved = receipts.get_document(doc.id)
    assert saved.words[0].field == "SUBTOTAL" and saved.words[0].label_source == "person"  # never replaced
    assert all(w.field == "TOTAL" for w in saved.words[1:])
    assert at.dataframe is not None and not at.exception

    at.button(key="annotate_done").click().run()
    assert receipts.status_counts("receipts")["done"] == 1
    assert not any("marked done" in w.value for w in at.warning)  # every word labelled: nothing to warn of
    assert any("done 1" in c.value for c in at.caption)
    at.button(key="annotate_undone").click().run()
    assert receipts.status_counts("receipts")["done"] == 0


def test_corrections_items_and_the_url(receipts):
    doc = receipts.load_documents("receipts")[1]
    at = _app(doc.id)
    _keyed(at.text_input, f"annotate_text_{doc.id}_0_").set_value("FIXED")  # a form: sent with its button
    at.button(key="annotate_save_text").click().run()
    assert receipts.get_document(doc.id).words[0].text == "FIXED"
    _keyed(at.selectbox, f"annotate_item_{doc.id}_0_").set_value(0).run()
    assert receipts.get_document(doc.id).words[0].group_id == 0
    at.button(key="annotate_merge").click().run()
    assert receipts.get_document(doc.id).words[0].text.startswith("FIXED ")
    # said, as i, z and y say theirs (walkthrough 29 could not tell whether Merge with next did a thing)
    assert any(i.value.endswith("(Undo last change takes it back).") and "merged" in i.value.lower()
               for i in at.info), [i.value for i in at.info]
    at.button(key="annotate_undo").click().run()
    assert receipts.get_document(doc.id).words[0].text == "FIXED"
    assert (at.query_params["dataset"], at.query_params["receipt"]) == ("receipts", doc.id)
    # a walkthrough: "Add word" kept the selected index, so the selection slid onto another word; now the word
    # added is selected and the page says so
    at.session_state[f"annotate_cursor_{doc.id}"] = 5
    at.run()
    # the page's size beside the box's corners (walkthrough 47 typed a box past the page's edge with nothing to go by)
    assert any(f"(the page is {doc.width}×{doc.height} pixels)" in m.value for m in at.markdown)
    # off, with the reason, until a box and a text are there (a walkthrough pressed it on a 0,0,0,0 box)
    assert at.button(key="annotate_add_word").disabled
    assert any("Draw a box over the missed word first" in c.value for c in at.caption)
    for name, value in (("x0", 5), ("y0", 1), ("x1", 5), ("y1", 10)):
        _keyed(at.number_input, f"annotate_new_{name}_{doc.id}_").set_value(value).run()
    assert any("The box typed above has no area (x0 and x1 are equal)" in c.value for c in at.caption)
    # corners typed the other way round are the same box (probe 41 was told to draw one)
    for name, value in (("x0", 30), ("y0", 10), ("x1", 1), ("y1", 1)):
        _keyed(at.number_input, f"annotate_new_{name}_{doc.id}_").set_value(value).run()
    # on with a box, whatever the text: the text and the press are one form, so the first click after typing adds
    # (walkthrough 44's was lost on a button greyed out until the text was applied); a press with no text says so
    assert not at.button(key="annotate_add_word").disabled
    at.button(key="annotate_add_word").click().run()
    assert any("Type the word's text first, then press Add word (or Enter)." in m.value
               for m in [*at.warning, *at.info, *at.error]), [m.value for m in at.warning]
    _keyed(at.text_input, f"annotate_new_text_{doc.id}_").set_value("MISSED")  # a form: sent with its button
    at.button(key="annotate_add_word").click().run()
    position = [w.text for w in receipts.get_document(doc.id).words].index("MISSED")
    assert receipts.get_document(doc.id).words[position].box == (1, 1, 30, 10)
    assert at.session_state[f"annotate_cursor_{doc.id}"] == position
    assert any(f"added as word #{position}; it is selected" in m.value for m in at.info), [m.value for m in at.info]
    at.button(key="annotate_next").click().run()
    assert at.query_params["receipt"] != doc.id
    assert not at.exception


def test_keys_label_in_order_and_a_press_is_handled_once(receipts):
    doc = receipts.load_documents("receipts")[2]
    keys = label_keys()
    assert keys["0"] == "OTHER" and keys["q"] == "QUANTITY" and keys["8"] == "TOTAL" and keys["c"] == "CHANGE"
    pressed = {"token": "t", "pressed": [{"seq": 1, "key": "8"}, {"seq": 2, "key": "q"}]}
    presses, ack = fresh_presses(pressed, None)
    fresh = [press.key for press in presses]
    assert fresh == ["8", "q"] and ack == {"token": "t", "seq": 2}
    assert fresh_presses(pressed, ack)[0] == []  # a trigger sent again is not applied twice
    # a crafted message of many presses is cut to what a person could press between two reruns (a probe)
    flood = {"token": "f", "pressed": [{"seq": i, "key": "8"} for i in range(1, 100_001)]}
    cut, flood_ack = fresh_presses(flood, None)
    assert len(cut) == 50 and flood_ack == {"token": "f", "seq": 100_000}
    outcome = apply_keys(receipts, doc.id, 0, len(doc.words), [*fresh, "ArrowUp", "z", "n"])
    saved = receipts.get_document(doc.id)
    assert saved.words[0].field == "TOTAL" and not saved.words[1].is_labelled  # z undid the quantity
    assert outcome.index == 1 and outcome.receipt_step == 1
    # q on a word that prints no number labels it, and says its value is to be typed (a walkthrough's "HOME" was
    # saved silently as a quantity without a value; accepting such a suggestion said so)
    assert outcome.messages == [f"word 1 ({saved.words[1].text!r}) is now QUANTITY but holds no number: type its "
                                "value in the word table's \"quantity value\" column, under the receipt, or press k "
                                "and type it in the Quantity box"]
    # the word is named: an undo of a change made in another session is recognised (found by a probe)
    assert outcome.notice == ("Undid the last label or quantity change, which was word #1 "
                              f"{saved.words[1].text!r}; the receipt is as it was before it.")
    numeric = next(i for i, w in enumerate(saved.words) if w.text.isdigit())
    assert apply_keys(receipts, doc.id, numeric, len(doc.words), ["q"]).messages == []  # its value read from it
    # on the last word the selection stays: its own Quantity box is the one to type in
    last = max(i for i, w in enumerate(doc.words) if not any(ch.isdigit() for ch in w.text))
    assert apply_keys(receipts, doc.id, last, last + 1, ["q"]).messages[0].endswith(
        "under the receipt, or type it in the Quantity box")


def test_export_zip_in_every_format_reimports(receipts, tmp_path):
    data = export_zip_bytes(receipts, "gold", "label-studio")
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    back = load_dataset(tmp_path / "gold-label-studio", "label-studio").documents  # named as the zip
    gold = receipts.load_documents("gold")
    assert [[(w.text, w.annotation_label, w.box) for w in d.words] for d in back] == [
        [(w.text, w.annotation_label, w.box) for w in d.words] for d in gold]
    for fmt in ("native", "cord"):
        assert zipfile.ZipFile(io.BytesIO(export_zip_bytes(receipts, "gold", fmt))).namelist()

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["dataset"] = "gold"
    at.run()
    at.switch_page("app_pages/data.py").run()
    at.radio(key="export_format").set_value("cord").run()
    at.button(key="export_prepare").click().run()
    assert not at.exception and any(b.key == "export_download" for b in at.get("download_button"))


def test_the_overlay_outlines_every_box_and_dashes_suggestions(cord_dev):
    from receipt_core.data.document import Suggestion
    from receipt_core.plots.annotation_figure import annotation_figure

    doc = cord_dev[0]
    words = list(_unlabelled(doc).words)
    words[0] = dataclasses.replace(words[0].with_annotation("QUANTITY"), group_id=0)  # an item: it has a quantity
    words[1] = dataclasses.replace(words[1], group_id=0,
                                   suggestion=Suggestion("TOTAL", False, None, run="run-x", score=0.71))
    fig = annotation_figure(doc.with_words(words), selected=1)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert lines and all(t.fill in (None, "none") for t in fig.data)  # no box is filled: text stays readable
    by_name = {t.name: t for t in lines}
    assert by_name["suggested TOTAL"].line.dash == "dash" and by_name["QUANTITY"].line.dash in (None, "solid")
    assert {"items (1)", "word 1", "not labelled"} <= set(by_name)
    words = next(t for t in fig.data if t.name == "words")
    hover = words.hovertext[list(words.customdata).index(1)]  # word 1's (each box has points along it)
    assert "suggested TOTAL 0.71 by run-x" in hover and "item 0" in hover


def test_a_selected_word_sent_back_as_text_or_out_of_range_does_not_crash_the_editor(receipts):
    """Found in a walkthrough: after "Read this region again with OCR" and Undo, the browser sent the word
    picker's value back as text and the editor raised TypeError ('>=' between str and int)."""
    doc = receipts.load_documents("receipts")[0]
    at = _app(doc.id)
    for bad in ("31", len(doc.words) + 5, -3, None):
        at.session_state[f"annotate_cursor_{doc.id}"] = bad
        at.run()
        assert not at.exception, (bad, [e.value for e in at.exception])
        index = at.session_state[f"annotate_cursor_{doc.id}"]
        assert isinstance(index, int) and 0 <= index < len(doc.words)
        assert _keyed(at.selectbox, f"annotate_word_{doc.id}_{index}_v").value == index


def test_a_receipt_deleted_in_another_session_is_said_so_not_a_crash(receipts, monkeypatch):
    from receipt_core.workspace.database import NotFoundError

    doc = receipts.load_documents("receipts")[0]
    at = _app(doc.id)
    get_document = Workspace.get_document

    def deleted_meanwhile(self, doc_id):  # the picker listed it; another session deletes it before the editor reads it
        if doc_id == doc.id:
            raise NotFoundError(f"no document {doc_id!r} in the workspace")
        return get_document(self, doc_id)

    monkeypatch.setattr(Workspace, "get_document", deleted_meanwhile)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no longer in the workspace" in w.value for w in at.warning)


def test_a_link_to_a_receipt_of_another_dataset_opens_that_dataset(receipts):
    """A walkthrough opened ``/annotate?receipt=ID`` (a link without its dataset) in a fresh browser: the sidebar's
    first dataset was shown, "is not in dataset …; showing another", and the person labelled the wrong receipts.
    The receipt's own dataset now opens, and the page says so."""
    gold = receipts.load_documents("gold")[1]
    at = _app(gold.id)  # the sidebar is on "receipts"
    assert not at.exception
    assert at.session_state["dataset"] == "gold" and at.selectbox(key="annotate_doc").value == gold.id
    assert any("is in dataset ` gold `: the sidebar now shows that dataset" in i.value for i in at.info), \
        [i.value for i in at.info]
    assert not any("showing another" in i.value for i in at.info)
    at.run()  # said once
    assert not any("the sidebar now shows" in i.value for i in at.info)
    assert at.selectbox(key="annotate_doc").value == gold.id

    # a receipt of an evaluation dataset: a warning says what its labels are for (walkthrough 29 merged and deleted
    # words of cord-sample-dev, told only that the sidebar had moved); the page in view says it in a caption after
    first = receipts.load_documents("gold")[0]
    receipts.save_documents("shop-train", [dataclasses.replace(first, id="train-1")])
    receipts.save_documents("shop-dev", [dataclasses.replace(first, id="dev-1")])
    at = _app("dev-1")
    said = "` shop-dev ` is the evaluation dataset of ` shop-train `: runs are scored on its labels"
    assert any(w.value.startswith(said) for w in at.warning), [w.value for w in at.warning]
    at.run()
    assert not any(said in w.value for w in at.warning) and any(c.value.startswith(said) for c in at.caption)
    at = _app(gold.id)  # no evaluation dataset: nothing said
    assert not any("is the evaluation dataset" in m.value for m in (*at.warning, *at.caption))

    missing = _app("no-such-receipt")  # nowhere in the workspace: said so (not "not in dataset …", as if elsewhere)
    assert any("There is no receipt ` no-such-receipt ` in this workspace (deleted, or a mistyped link); showing "
               "another." == i.value for i in missing.info), [i.value for i in missing.info]


def test_a_change_to_a_word_another_session_has_moved_is_refused_not_put_on_another_word(receipts):
    """Found by a probe: session B had word #1 open while session A deleted word #0; B's Save then labelled the
    word that had moved to #1. Every index-addressed change now carries the words as the page showed them."""
    from receipt_core.workspace.store import ReceiptChangedError

    doc = receipts.load_documents("receipts")[0]
    at = _app(doc.id)
    _keyed(at.selectbox, f"annotate_word_{doc.id}_0_v").set_value(1).run()
    shown = receipts.get_document(doc.id)
    receipts.delete_word(doc.id, 0)  # another session, between B's pick of the word and of its label
    _keyed(at.selectbox, f"annotate_label_{doc.id}_1_").set_value("TOTAL").run()
    assert any("was changed since this page showed it" in w.value and "nothing was saved" in w.value
               for w in at.warning)
    after = receipts.get_document(doc.id)
    assert after.words == shown.words[1:]  # no word got B's label
    # the selection follows the word B had open (now #0), so making the change again lands on it (a probe found
    # it stayed on #1, the word that slid in, and the second try labelled that one)
    assert at.session_state[f"annotate_cursor_{doc.id}"] == 0
    assert any(f"The word you had open, {literal(shown.words[1].text)}, is now #0" in w.value for w in at.warning)
    _keyed(at.selectbox, f"annotate_label_{doc.id}_0_").set_value("TOTAL").run()
    assert receipts.get_document(doc.id).words[0] == shown.words[1].with_annotation("TOTAL")
    receipts.undo(doc.id)

    # the store refuses the same for every index-addressed change, the word table's and the keys' included
    seen = shown.word_layout
    for change in (lambda: receipts.update_word(doc.id, 0, "TOTAL", seen=seen),
                   lambda: receipts.set_group(doc.id, 0, 3, seen=seen),
                   lambda: receipts.accept_suggestions(doc.id, [0], seen=seen),
                   lambda: receipts.delete_word(doc.id, 0, seen=seen),
                   lambda: receipts.edit_word_text(doc.id, 0, "x", seen=seen)):
        with pytest.raises(ReceiptChangedError, match=r"word #0 is now .*nothing was saved"):
            change()
    outcome = apply_keys(receipts, doc.id, 0, len(after.words), ["1", "2"], seen=seen)
    assert outcome.stale and not outcome.changed and len(outcome.messages) == 1  # the second press never ran
    assert "changed since this page showed it" in outcome.messages[0]
    assert receipts.get_document(doc.id).words == after.words
    receipts.update_word(doc.id, 0, "TOTAL", seen=after.word_layout)  # the words as they are now: saved
    assert receipts.get_document(doc.id).words[0].field == "TOTAL"


def test_a_label_another_session_gave_the_same_word_is_not_overwritten_unseen(receipts, monkeypatch):
    """Two annotators on one word: B's page showed word #0 unlabelled, A labelled it TOTAL, then B's label
    replaced A's without a word (the words' layout was the same, so the check let it through). A label change now
    carries the word's label as shown, through the Label picker, the keys and the word table."""
    import ui.annotate_table as table
    from receipt_core.workspace.annotations import ReceiptChangedError

    doc = receipts.load_documents("receipts")[0]
    at = _app(doc.id)  # B's page: word #0 unlabelled
    receipts.update_word(doc.id, 0, "TOTAL")  # A
    _keyed(at.selectbox, f"annotate_label_{doc.id}_0_").set_value("TAX").run()
    said = [w.value for w in at.warning if "nothing was saved" in w.value]
    assert len(said) == 1 and "is now ` TOTAL ` (person), not unlabelled as this page showed it" in said[0], said
    assert said[0].startswith("word #0 ` ")  # prose with its quotes as code, not all code (a walkthrough)
    assert receipts.get_document(doc.id).words[0].field == "TOTAL"  # A's label stands
    # B's page now shows TOTAL: B's change made again is B's to make
    _keyed(at.selectbox, f"annotate_label_{doc.id}_0_").set_value("TAX").run()
    assert receipts.get_document(doc.id).words[0].field == "TAX"

    shown = receipts.get_document(doc.id)  # both pages show TAX on #0, #1 unlabelled
    receipts.update_word(doc.id, 1, "QUANTITY", 2.0)  # A labels #1
    tax, total = ([k for k, label in label_keys().items() if label == wanted][0] for wanted in ("TAX", "TOTAL"))
    outcome = apply_keys(receipts, doc.id, 1, len(shown.words), [total, tax], seen=shown.word_layout,
                         seen_labels=shown.word_labels)
    assert outcome.stale and not outcome.changed and len(outcome.messages) == 1
    assert "is now 'QUANTITY' 2 (person), not unlabelled" in outcome.messages[0]
    # presses on words nobody else touched: a label and its own relabel in one batch both land
    outcome = apply_keys(receipts, doc.id, 2, len(shown.words), [total, total],
                         seen=shown.word_layout, seen_labels=shown.word_labels)
    assert not outcome.messages and receipts.get_document(doc.id).words[2].field == "TOTAL"
    assert receipts.get_document(doc.id).words[3].field == "TOTAL"
    # two annotators editing different words of one receipt still never refuse each other
    receipts.update_word(doc.id, 5, "SUBTOTAL", seen_labels=shown.word_labels)

    # the word table: an edit of a word labelled since is refused, the other rows' edits saved
    shown = receipts.get_document(doc.id)
    receipts.update_word(doc.id, 6, "TAX")  # A
    messages = []
    monkeypatch.setattr(table, "workspace", lambda: receipts)
    monkeypatch.setattr(table, "bump", lambda doc_id: None)
    monkeypatch.setattr(table, "say", lambda *told: messages.extend(told))
    monkeypatch.setattr(table.st, "session_state", {"table": {"edited_rows": {"6": {"label": "TOTAL"},
                                                                              "7": {"label": "TOTAL"}}}})
    table._save_edits(doc.id, "table", shown.word_layout, shown.word_labels)
    after = receipts.get_document(doc.id)
    assert after.words[6].field == "TAX" and after.words[7].field == "TOTAL"
    assert len(messages) == 1 and "word #6" in messages[0] and "is now 'TAX' (person)" in messages[0]
    with pytest.raises(ReceiptChangedError):
        receipts.update_word(doc.id, 6, "TOTAL", seen_labels=shown.word_labels)


def test_a_receipt_with_thousands_of_words_says_so_and_the_figure_leaves_their_text_out(receipts):
    """A probe imported a receipt of 4,116 words (19,015 another): 9-11 s per key press, most of it the browser
    writing every word on the blank page. Imports now stop at 5,000 words by default; above 1,000 the page says
    what it costs and the figure draws boxes only."""
    import json

    from receipt_core.data.document import Word
    from receipt_core.plots.figures import WRITTEN_WORDS_MAX

    words = tuple(Word(f"w{i}", (10 + i % 50 * 20, 10 + i // 50 * 12, 28 + i % 50 * 20, 20 + i // 50 * 12),
                       line_id=i // 50) for i in range(WRITTEN_WORDS_MAX + 1))
    receipts.save_documents("receipts", [Document("many", 1100, 400, words)])
    at = _app("many")
    assert any(f"{WRITTEN_WORDS_MAX + 1:,} words, more than any receipt prints" in w.value for w in at.warning)
    [chart] = [c for c in at.get("plotly_chart") if c.key == "annotate_figure_many"]
    assert not [t for t in json.loads(chart.proto.spec)["data"] if t.get("mode") == "text"]
    small = receipts.load_documents("receipts")[0]
    at = _app(small.id)
    assert not any("more than any receipt prints" in w.value for w in at.warning)
    [chart] = [c for c in at.get("plotly_chart") if c.key == f"annotate_figure_{small.id}"]
    assert [t for t in json.loads(chart.proto.spec)["data"] if t.get("mode") == "text"]  # a CORD receipt: written


def test_marking_done_with_suggestions_nobody_accepted_says_they_train_as_other(receipts):
    doc = receipts.load_documents("receipts")[1]
    receipts.update_word(doc.id, 0, "SUBTOTAL")
    others = receipts.load_documents("receipts")[2]  # OTHER suggestions: counted apart beside the warning's figure,
    receipts.store_suggestions(others.id, _prediction(others, field="OTHER"), "run-x")  # which leaves them out
    at = _app(others.id)  # (walkthrough 37 read 48 in the warning, 53 under the receipt)
    assert f"{len(others.words)} suggestions waiting on this receipt, {len(others.words)} of them OTHER" in \
        [c.value for c in at.caption]
    receipts.store_suggestions(doc.id, _prediction(doc), "run-x")
    at = _app(doc.id)
    # said on the button before it is pressed, too (a walkthrough heard it only after marking)
    assert "Before you mark it:" in at.button(key="annotate_done").help
    assert "train as OTHER" in at.button(key="annotate_done").help
    at.button(key="annotate_done").click().run()
    assert receipts.status_counts("receipts")["done"] == 1  # the mark is the annotator's call: it is kept
    warned = [w.value for w in at.warning if "marked done" in w.value]
    assert len(warned) == 1 and escape_markdown(doc.id) in warned[0] and "train as OTHER" in warned[0], warned
    assert not warned[0].startswith("`")  # text, as the other alerts, not a code span (a walkthrough)
    assert f"{len(doc.words) - 1} words with a suggestion of a field or quantity nobody accepted" in warned[0]
    assert f"{len(doc.words) - 1} suggestions waiting on this receipt" in [c.value for c in at.caption]
    # right under the row with Mark done, before the receipt and its word panel (it sat below the fold there)
    top = [getattr(element, "value", None) for element in at.main.children.values()]
    first = [getattr(next(iter(getattr(element, "children", {}).values()), None), "value", None)
             for element in at.main.children.values()]  # the editor's first element: it draws it (its reruns too)
    assert warned[0] in first and first.index(warned[0]) < top.index("---"), (top, first)
    # still said at the next rerun (a retraining's end reruns the page within seconds: a walkthrough never saw it),
    # gone once the receipt is in progress again
    at.run()
    assert [w.value for w in at.warning if "marked done" in w.value] == warned
    # and says what holds now: a Label Studio import that labelled a word left "42 of 44" standing (a walkthrough)
    receipts.update_word(doc.id, 1, "TOTAL")
    at.run()
    [now] = [w.value for w in at.warning if "marked done" in w.value]
    assert f"{len(doc.words) - 2} words with a suggestion of a field or quantity nobody accepted" in now
    at.button(key="annotate_undone").click().run()
    assert not [w.value for w in at.warning if "marked done" in w.value]


def test_next_after_mark_done_moves_on(receipts):
    """Found in a walkthrough: the picker's option text held the status, so after Mark done Streamlit kept the old
    text as the choice and Next crashed the page ("… is not in list")."""
    ids = [s.id for s in receipts.list_documents("receipts")]
    at = _app(ids[0])
    at.button(key="annotate_done").click().run()
    at.button(key="annotate_next").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="annotate_doc").value == ids[1]
    at.button(key="annotate_undone").click().run() if any(b.key == "annotate_undone" for b in at.button) else None
    at.button(key="annotate_prev").click().run()
    assert not at.exception and at.selectbox(key="annotate_doc").value == ids[0]



def test_undo_is_greyed_out_on_a_receipt_with_nothing_to_undo(receipts):
    """Probe 39 went on to a receipt it had not changed and pressed Undo: "Nothing to undo on this receipt." It is
    greyed out there, as Redo is, and on once the receipt has a change."""
    ids = [s.id for s in receipts.list_documents("receipts")]
    at = _app(ids[1])
    assert receipts.latest_action(ids[1]) is None
    assert at.button(key="annotate_undo").disabled and at.button(key="annotate_redo").disabled
    at.session_state["annotate_keys_leaving"] = "nobody"
    at.session_state["annotate_keys_waiting"] = ["1"]
    at.run()
    at.run()
    assert receipts.latest_action(ids[1]) is not None and not at.button(key="annotate_undo").disabled
    at.button(key="annotate_undo").click().run()
    assert at.button(key="annotate_undo").disabled and not at.button(key="annotate_redo").disabled


def test_the_word_table_shows_a_right_to_left_override_as_its_escape(receipts):
    """Probe 32: the word table showed ``inv\u202egnp.exe`` as "invexe.png"; the pickers showed its escape."""
    doc = receipts.load_documents("receipts")[0]
    spoofed = doc.with_words([dataclasses.replace(doc.words[0], text="inv\u202egnp.exe"), *doc.words[1:]])
    receipts.save_documents("receipts", [spoofed, *receipts.load_documents("receipts")[1:]])
    at = _app(doc.id)
    assert at.data_editor[0].value["text"][0] == "inv\\u202egnp.exe"


def test_the_word_table_leaves_an_unlabelled_word_s_label_empty_not_other(receipts):
    """Found in a walkthrough: a fresh OCR'd receipt's table said OTHER for every word while the summary said
    "4 labelled", so unlabelled words and words labelled OTHER could not be told apart."""
    doc = receipts.load_documents("receipts")[0]
    receipts.update_word(doc.id, 1, "OTHER")
    at = _app(doc.id)
    labels = [None if pd.isna(label) else label for label in at.data_editor[0].value["label"]]
    assert labels == [None, "OTHER"] + [None] * (len(doc.words) - 2)
    receipts.update_word(doc.id, 0, "TOTAL")
    at.run()
    assert list(at.data_editor[0].value["label"])[:2] == ["TOTAL", "OTHER"]


def test_the_item_picker_names_cord_s_subtotal_and_total_groups_as_groups_not_items(receipts):
    """A walkthrough left alone before: CORD numbers every line group, so the Item picker offered "item 5:
    SUBTOTAL 46,000" beside the receipt's real items."""
    from receipt_core.data.annotation import is_item_group

    gold = next(d for d in receipts.load_documents("gold")
                if any(w.group_id is not None and w.field in ("SUBTOTAL", "TOTAL") for w in d.words))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["dataset"] = "gold"
    at.query_params["receipt"] = gold.id
    at.run()
    at.switch_page("app_pages/annotate.py").run()
    assert not at.exception
    picker = next(s for s in at.selectbox if s.key.startswith(f"annotate_item_{gold.id}_"))
    groups = sorted({w.group_id for w in gold.words if w.group_id is not None})
    named = picker.options[1:-1]  # "no item", the groups, then a new item
    assert len(named) == len(groups)
    items = [g for g in groups if is_item_group(gold, g)]
    for group, text in zip(groups, named):  # items numbered 1…n as the "items (n)" legend counts them
        assert text.startswith("item " if group in items else "group: "), text
    numbers = sorted(int(text.split()[1]) for text in named if text.startswith("item "))
    assert numbers == list(range(1, len(items) + 1)) and all(f" of {len(items)}: " in t for t in named if "item" in t)
    assert any(text.startswith("group: ") for text in named)
    # the word table numbers them alike (it showed the stored ids, 0 where the picker said "item 1": a walkthrough)
    column = [value for value in at.data_editor[0].value["item"] if value is not None and not pd.isna(value)]
    assert set(column) == {str(n) for n in numbers} | {"group"}
    first = next(w.group_id for w in gold.words if w.group_id is not None and is_item_group(gold, w.group_id))
    assert column[[w.group_id for w in gold.words if w.group_id is not None].index(first)] == "1"
    # the overlay's legend counts the same items (a walkthrough saw "items (24)" beside "item 1 of 22")
    from receipt_core.plots.annotation_figure import annotation_figure

    assert f"items ({len(items)})" in {t.name for t in annotation_figure(gold).data}


def test_opening_annotate_on_its_first_receipt_adds_no_receipt_to_the_url(receipts):
    """Streamlit pushes a browser-history entry for each query parameter a page sets, so writing the receipt a
    fresh page opens anyway made the browser's Back take two presses to leave Annotate (found by a walkthrough).
    The URL gets the receipt once the person moves to another."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["dataset"] = "receipts"
    at.run()
    at.switch_page("app_pages/annotate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    first = at.selectbox(key="annotate_doc").value
    assert "receipt" not in at.query_params
    at.button(key="annotate_next").click().run()
    assert at.query_params["receipt"] == at.selectbox(key="annotate_doc").value != first
    at.button(key="annotate_prev").click().run()
    assert at.query_params["receipt"] == first  # once written, it follows the picker


def test_a_link_to_a_receipt_or_dataset_that_is_not_there_says_so(receipts):
    """Found by a walkthrough: annotate?dataset=nope&receipt=zzz opened another dataset's first receipt silently."""
    at = _app("zzz")
    assert any("There is no receipt ` zzz ` in this workspace (deleted, or a mistyped link); showing another."
               == i.value for i in at.info), [i.value for i in at.info]
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["dataset"] = "nope"
    at.run()
    assert any("Dataset ` nope ` from the link is not in this workspace" in i.value for i in at.main.info)
    # a second probe: ?dataset= (empty) was "Dataset     from the link …", and 20,000 characters were said whole
    for asked, said in (("", None), ("x" * 20_000, "Dataset ` " + "x" * 80 + "… ` from the link"),
                        ("receipts\n", "Dataset ` receipts\\n ` from the link")):  # a probe's read ` receipts `
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.query_params["dataset"] = asked
        at.run()
        notices = [i.value for i in at.main.info if "from the link" in i.value]
        assert (notices == []) if said is None else (len(notices) == 1 and notices[0].startswith(said)), notices


def test_undo_takes_back_only_a_change_the_page_showed(receipts):
    """Found by a probe: session B's Undo (button or z) took back session A's label or delete, which B never saw.
    Undo now carries the receipt's latest change as the page showed it; a press's own change stays its to undo."""
    from receipt_core.workspace.annotations import ReceiptChangedError

    doc = receipts.load_documents("receipts")[0]
    shown = receipts.latest_action(doc.id)  # B's page
    receipts.update_word(doc.id, 0, "TOTAL")  # A labels
    with pytest.raises(ReceiptChangedError, match="Undo would take back a change you have not seen"):
        receipts.undo(doc.id, seen_action=shown)
    assert receipts.get_document(doc.id).words[0].field == "TOTAL"
    outcome = apply_keys(receipts, doc.id, 0, len(doc.words), ["z"], seen=doc.word_layout, seen_action=shown)
    assert outcome.stale and "not seen" in outcome.messages[0]
    assert receipts.get_document(doc.id).words[0].field == "TOTAL"
    # a label and its undo in one batch of presses: the undo takes back that label
    fresh = receipts.latest_action(doc.id)
    keys = [k for k, label in label_keys().items() if label == "TAX"]
    outcome = apply_keys(receipts, doc.id, 1, len(doc.words), [keys[0], "z"], seen=doc.word_layout,
                         seen_action=fresh)
    assert not outcome.messages and not receipts.get_document(doc.id).words[1].is_labelled
    assert outcome.index == 1  # the label key had moved on to word 2; z shows the word it put back (a walkthrough)
    redone = apply_keys(receipts, doc.id, 5, len(doc.words), ["y"], seen=doc.word_layout,
                        seen_action=receipts.latest_action(doc.id))
    assert redone.index == 1 and receipts.get_document(doc.id).words[1].field == "TAX"
    assert redone.notice.startswith("Redid the label or quantity change that Undo had taken back")
    assert apply_keys(receipts, doc.id, 1, len(doc.words), ["z"], seen=doc.word_layout,
                      seen_action=receipts.latest_action(doc.id)).changed
    assert receipts.undo(doc.id, seen_action=fresh) is not None  # A's label, now that the page shows it


def test_a_receipt_opened_for_the_first_time_frames_its_selected_word(receipts):
    """A walkthrough: the Word picker said "#0" but the figure framed no word until the first key press (the
    default selection was never stored, and the figure reads the stored one)."""
    import json

    doc = receipts.load_documents("receipts")[0]
    at = _app(doc.id)
    [chart] = [c for c in at.get("plotly_chart") if c.key == f"annotate_figure_{doc.id}"]
    names = {trace.get("name") for trace in json.loads(chart.proto.spec)["data"]}
    assert "word 0" in names, names


def test_a_table_edit_on_a_receipt_deleted_in_another_session_is_not_a_crash(receipts, monkeypatch):
    """A probe deleted the receipt in another session, then typed a quantity in this one's word table: Streamlit's
    redacted error page, and the cell kept the value as if saved. The editor now redraws, and says it is gone."""
    import ui.annotate_table as table

    doc = receipts.load_documents("receipts")[0]
    seen = doc.word_layout
    receipts.delete_document(doc.id)
    bumped, said = [], []
    monkeypatch.setattr(table, "workspace", lambda: receipts)
    monkeypatch.setattr(table, "bump", bumped.append)
    monkeypatch.setattr(table, "say", lambda *messages: said.extend(messages))
    monkeypatch.setattr(table.st, "session_state", {"table": {"edited_rows": {"0": {"quantity value": 3.0}}}})
    table._save_edits(doc.id, "table", seen, doc.word_labels)  # raised NotFoundError
    assert bumped == [doc.id] and said == []


def test_back_from_another_page_the_same_receipt_opens(receipts):
    """A walkthrough left Annotate on the third receipt for Train, came back by the sidebar (whose link names no
    receipt) and landed on the first. The picker keeps its choice for the session."""
    ids = [s.id for s in receipts.list_documents("receipts")]
    at = _app(ids[2])
    assert at.selectbox(key="annotate_doc").value == ids[2]
    at.switch_page("app_pages/home.py").run()
    at.query_params.pop("receipt", None)  # the sidebar's link: /annotate?dataset=…
    at.switch_page("app_pages/annotate.py").run()
    assert not at.exception
    assert at.selectbox(key="annotate_doc").value == ids[2]


def test_an_imported_receipt_is_done_without_a_mark_to_take_back(receipts):
    """A walkthrough pressed "Back to in progress" on a CORD receipt: nothing changed, since imported gold is done
    by its labels, not by a mark. Such a receipt says why it is done instead."""
    doc = receipts.load_documents("gold")[0].as_imported()
    receipts.save_documents("imported", [dataclasses.replace(doc, id="imported-1")])
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["dataset"] = "imported"
    at.query_params["receipt"] = "imported-1"
    at.run()
    at.switch_page("app_pages/annotate.py").run()
    assert not at.exception
    assert not any(b.key in ("annotate_undone", "annotate_done") for b in at.button)
    assert any(c.value.endswith("**done**: its imported labels count as checked") for c in at.caption)


def test_a_damaged_receipt_row_is_named_and_can_be_deleted(receipts):
    """A probe: one receipt whose stored JSON no longer read back broke Annotate (and training on its dataset) with
    an error that named no receipt. The error names it, Annotate offers to delete it, the others still open."""
    import sqlite3

    from receipt_core.workspace.documents import DamagedDocumentError

    damaged, other = [d.id for d in receipts.load_documents("receipts")][:2]
    with sqlite3.connect(receipts.database) as conn:
        conn.execute("UPDATE documents SET json = ? WHERE id = ?", ('{"id": "x", "words": [{"text": 1', damaged))
    with pytest.raises(DamagedDocumentError, match=f"receipt '{damaged}' in the workspace database is damaged"):
        receipts.load_documents("receipts")
    with pytest.raises(DamagedDocumentError, match="delete it .Data and Annotate offer to."):
        receipts.get_document(damaged)
    at = _app(damaged)
    assert any(damaged in e.value and "is damaged" in e.value for e in at.error), [e.value for e in at.error]
    at.button(key="annotate_delete_damaged").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert damaged not in [s.id for s in receipts.list_documents("receipts")]
    assert at.selectbox(key="annotate_doc").value == other and not at.error


def test_a_suggestions_score_is_shown_as_accept_at_least_compares_it():
    """A walkthrough pressed Accept ≥ 0.80 and saw a suggestion of score 0.7953 still waiting, shown as 0.80."""
    from ui.annotate_table import score_text

    assert score_text(0.7953) == "0.79" and score_text(0.8) == "0.80" and score_text(1.0) == "1.00"
    assert score_text(0.0) == "0.00" and score_text(0.29) == "0.29"


def test_presses_typed_after_n_label_the_next_receipt_not_the_one_left(receipts):
    """A probe typed "n 5 5 5 5" fast: some presses were lost, and others saved on the receipt it had left. Those
    after "n" in one batch, and those arriving before the next receipt is drawn, wait for it."""
    first, second = [d.id for d in receipts.load_documents("receipts")[:2]]
    outcome = apply_keys(receipts, first, 0, 5, ["n", "5", "5"])
    assert outcome.receipt_step == 1 and outcome.after_next == ["5", "5"] and not outcome.changed
    five = label_keys()["5"]
    at = _app(second)  # the next receipt drawn, with the presses typed after "n" on the first waiting for it
    at.session_state["annotate_keys_leaving"] = first
    at.session_state["annotate_keys_waiting"] = ["5", "5"]
    at.run()
    assert not at.exception
    labelled = [w.annotation_label if w.is_labelled else None for w in receipts.get_document(second).words[:3]]
    assert labelled == [five, five, None]
    assert not receipts.get_document(first).labelled_words  # nothing saved on the receipt left
    assert "annotate_keys_leaving" not in at.session_state and "annotate_keys_waiting" not in at.session_state


def test_d_marks_a_receipt_done_and_b_goes_back_one(receipts):
    """A walkthrough finished every receipt by mouse: no key marked it done or went back to the previous one."""
    first, second = [d.id for d in receipts.load_documents("receipts")[:2]]
    outcome = apply_keys(receipts, second, 0, 5, ["1", "d", "b", "5"])
    assert outcome.marked_done and outcome.changed and receipts.is_reviewed(second)
    # said in a toast where the eye is (walkthrough 34: the line above the receipt was out of sight)
    assert outcome.notice == "Marked done: what it still lacks, if anything, is said above the receipt."
    # the presses after d wait for the page's redraw (a status filter may show another receipt then: a probe)
    assert outcome.receipt_step == 0 and outcome.after_next == ["b", "5"]
    assert receipts.get_document(second).words[0].is_labelled and not receipts.get_document(first).labelled_words
    again = apply_keys(receipts, second, 1, 5, ["d", "b"])  # done already: nothing to mark, and it says so
    assert not again.marked_done and not again.changed and again.receipt_step == -1
    assert again.notice == "This receipt is done already: nothing to mark."
    receipts.undo(second)  # the mark is one undoable change, as the button's
    assert not receipts.is_reviewed(second)
    assert "d mark done" in key_help() and "b previous receipt" in key_help()
    # on the page: "b" (its step of -1 left for the editor's next run) opens the previous receipt
    at = _app(second)
    at.session_state["annotate_go_next"] = (second, -1, False)
    at.run()
    assert not at.exception and at.session_state["annotate_doc"] == first, at.session_state["annotate_doc"]
    # a step asked on one receipt met by a run on another (a rerun begun on the receipt before it: probe 66's six
    # quick n's ended two to five receipts on): the page goes back to that receipt, and steps from it
    third = receipts.load_documents("receipts")[2].id
    at.session_state["annotate_go_next"] = (second, 1, False)  # asked on the second; this run is on the first
    at.run()
    assert at.session_state["annotate_doc"] == third and "annotate_go_next" not in at.session_state
    # presses typed after d on a receipt that then left a filtered list are dropped, not put on the one shown next
    at = _app(first)
    at.session_state["annotate_keys_leaving"] = second
    at.session_state["annotate_keys_waiting"] = ["5", "5"]
    at.session_state["annotate_done_by_key"] = second
    at.run()
    assert not at.exception and not receipts.get_document(first).labelled_words
    assert any(w.value.startswith("2 key presses typed after the done mark were not applied") for w in at.warning), \
        [w.value for w in at.warning]
    # a receipt marked done under a filter that leaves it out: its warning is said on the receipt shown next
    receipts.set_reviewed(second, True)
    at.selectbox(key="annotate_status").set_value("unlabelled").run()
    at.session_state["annotate_marked_done"] = second  # as Mark done (the button or d) leaves it
    at.run()
    warned = [w.value for w in at.warning if "was marked done and left this list" in w.value]
    assert len(warned) == 1 and "words have no label" in warned[0] and warned[0].endswith(
        "Take the done mark back, or press Undo or z before any other change, to open it again.")
    at.run()
    assert not [w for w in at.warning if "left this list" in w.value]  # said once
    assert not [b for b in at.button if b.key == "annotate_take_back"]
    # the last receipt of the list marked done: the warning and its way back stay over the empty list (a walkthrough
    # saw the editor, the warning and Undo go), and the button opens the receipt again
    receipts.set_reviewed(first, True)  # done with nothing labelled: its warning
    at.selectbox(key="annotate_status").set_value("in progress").run()
    receipts.set_reviewed(second, False)
    receipts.update_word(second, 0, "TOTAL")  # second in progress, alone in the list
    at.run()
    assert at.session_state["annotate_doc"] == second
    receipts.set_reviewed(second, True)
    at.session_state["annotate_marked_done"] = second
    at.run()
    assert any("No receipt of" in i.value for i in at.info)
    assert [w.value for w in at.warning if "left this list" in w.value]
    at.run()  # kept while the list is empty
    at.button(key="annotate_take_back").click().run()
    assert not at.exception and not receipts.is_reviewed(second) and at.session_state["annotate_doc"] == second
    assert not [w for w in at.warning if "left this list" in w.value]
    assert f"Took back the done mark of receipt ` {second} `: it is open again." in [i.value for i in at.info]


def test_undo_right_after_a_receipt_left_the_filtered_list_takes_its_done_mark_back(receipts):
    """A probe typed "d z" under a status filter: the z undid an older change (another session's) of the receipt
    shown next, never looked at, and a stale Take-back button took back another session's newer mark."""
    first, second = [d.id for d in receipts.load_documents("receipts")[:2]]
    for doc_id in (first, second):
        receipts.update_word(doc_id, 0, "TOTAL")  # both in progress
    receipts.set_reviewed(second, True)
    receipts.set_reviewed(second, False)  # second's latest change: a done mark taken back (elsewhere)
    at = _app(first)
    at.selectbox(key="annotate_status").set_value("in progress").run()
    assert at.session_state["annotate_doc"] == first
    # d on first: the page shows second; z there asks for first's mark back, not second's older change
    at.session_state["annotate_keys_leaving"] = first
    at.session_state["annotate_keys_waiting"] = ["d", "z", "5"]
    at.session_state["annotate_done_by_key"] = first
    labelled = receipts.get_document(first).labelled_words
    # d marks first done and it leaves the list; second is drawn, and the z waiting for it takes first's mark back;
    # "5" waits for first, and lands there
    at.run()
    assert not at.exception and not receipts.is_reviewed(first) and not receipts.is_reviewed(second)
    assert at.session_state["annotate_doc"] == first
    assert receipts.get_document(first).labelled_words == labelled + 1
    assert any("Took back the done mark of receipt" in i.value for i in at.info), [i.value for i in at.info]
    # the Undo button, as z does
    receipts.set_reviewed(first, True)
    at.session_state["annotate_marked_done"] = first
    at.run()
    assert at.session_state["annotate_doc"] == second and at.session_state["annotate_left_done"][0] == first
    at.button(key="annotate_undo").click().run()
    assert not at.exception and not receipts.is_reviewed(first) and not receipts.is_reviewed(second)
    assert at.session_state["annotate_doc"] == first
    # a change on the receipt shown ends that moment: Undo is that receipt's again
    receipts.set_reviewed(first, True)
    at.session_state["annotate_marked_done"] = first
    at.run()
    assert at.session_state["annotate_doc"] == second and "annotate_left_done" in at.session_state
    receipts.update_word(second, 1, "TOTAL")
    at.session_state["annotate_keys_leaving"] = "nobody"  # a press on second: "1" labels its selected word
    at.session_state["annotate_keys_waiting"] = ["1"]
    at.run()
    assert "annotate_left_done" not in at.session_state
    # a stale button: another session took the mark back and marked it done again meanwhile: refused, said
    receipts.set_reviewed(first, False)
    receipts.set_reviewed(first, True)
    at.session_state["annotate_marked_done"] = first
    at.run()
    receipts.set_reviewed(first, False)
    receipts.set_reviewed(first, True)  # a newer mark, not the one the button was drawn for
    at.button(key="annotate_take_back").click().run()
    assert receipts.is_reviewed(first)
    assert any("The done mark was not taken back" in i.value for i in at.info), [i.value for i in at.info]
    # another dataset in view: no note of a receipt of this one
    at.session_state["annotate_marked_done"] = first
    at.session_state["dataset"] = "gold"
    at.run()
    assert not at.exception and not [w for w in (*at.warning, *at.info) if "left this list" in w.value]


def test_a_receipt_labelled_under_the_unlabelled_filter_stays_open_until_left(receipts):
    """A walkthrough labelling under "unlabelled" was sent to the next receipt by its first key press: the receipt
    became in progress and left the list. It stays open (and listed) until another receipt is opened."""
    first, second = [d.id for d in receipts.load_documents("receipts")[:2]]
    at = _app(first)
    at.selectbox(key="annotate_status").set_value("unlabelled").run()
    assert at.session_state["annotate_doc"] == first
    at.session_state["annotate_keys_leaving"] = "nobody"  # "1" pressed on first: it is in progress now
    at.session_state["annotate_keys_waiting"] = ["1"]
    at.run()
    at.run()
    assert not at.exception and receipts.get_document(first).labelled_words == 1
    assert at.session_state["annotate_doc"] == first
    assert not [i for i in at.info if "showing another" in i.value]
    assert any("kept open, no longer under this status, until you move on" in c.value for c in at.caption)
    at.session_state["annotate_keys_leaving"] = "nobody"  # and the next key labels the next word of it
    at.session_state["annotate_keys_waiting"] = ["1"]
    at.run()
    assert receipts.get_document(first).labelled_words == 2 and at.session_state["annotate_doc"] == first
    # d, then Undo: the mark taken back, the receipt open again under "unlabelled", not under a filter switched to
    # "all" without a word (a walkthrough)
    at.session_state["annotate_keys_leaving"] = "nobody"
    at.session_state["annotate_keys_waiting"] = ["d"]
    at.run()
    assert receipts.is_reviewed(first) and at.session_state["annotate_doc"] == second
    at.button(key="annotate_undo").click().run()
    assert not receipts.is_reviewed(first) and at.session_state["annotate_doc"] == first
    assert at.selectbox(key="annotate_status").value == "unlabelled"
    assert any("kept open, no longer under this status, until you move on" in c.value for c in at.caption)
    at.button(key="annotate_next").click().run()  # moved on: it leaves the list
    assert at.session_state["annotate_doc"] == second
    at.run()
    assert first not in at.selectbox(key="annotate_doc").options
    # Previous goes back to it, kept open again (a walkthrough's "b" went to the receipt listed before it)
    at.button(key="annotate_prev").click().run()
    assert at.session_state["annotate_doc"] == first
    assert any("kept open, no longer under this status, until you move on" in c.value for c in at.caption)
    at.button(key="annotate_next").click().run()
    assert at.session_state["annotate_doc"] == second
    at.session_state["annotate_keys_leaving"] = "nobody"  # and so does "b"
    at.session_state["annotate_keys_waiting"] = ["b"]
    at.run()
    assert not at.exception and at.session_state["annotate_doc"] == first
    assert any("kept open, no longer under this status, until you move on" in c.value for c in at.caption)
    # once another receipt is opened, the way back is gone: Previous is the list's again
    at.button(key="annotate_next").click().run()
    at.button(key="annotate_next").click().run()
    third = at.session_state["annotate_doc"]
    assert third not in (first, second)
    at.button(key="annotate_prev").click().run()
    assert at.session_state["annotate_doc"] == second


def test_putting_the_done_mark_back_by_undo_or_redo_warns_and_waits_as_mark_done(receipts):
    """A probe's Redo marked a receipt done again with no warning and no retraining: an undo or redo that puts the
    done mark back is followed by what Mark done does, by button and by key."""
    doc = receipts.load_documents("receipts")[0]  # nothing labelled: marking it done warns
    receipts.set_reviewed(doc.id, True)
    assert not receipts.undo(doc.id).marked_done  # the mark taken back
    assert receipts.redo(doc.id).marked_done and receipts.is_reviewed(doc.id)  # the mark again
    receipts.set_reviewed(doc.id, False)  # "Back to in progress"
    assert receipts.undo(doc.id).marked_done and receipts.is_reviewed(doc.id)  # its undo puts the mark back
    receipts.set_reviewed(doc.id, False)
    # by key: y redoes the mark; the presses after it wait for the redraw, as after d
    receipts.set_reviewed(doc.id, True)
    outcome = apply_keys(receipts, doc.id, 0, len(doc.words), ["z", "y", "5"])
    assert outcome.marked_done and receipts.is_reviewed(doc.id) and outcome.after_next == ["5"]
    assert not receipts.get_document(doc.id).labelled_words
    receipts.set_reviewed(doc.id, False)
    # by button: Undo of "Back to in progress" shows Mark done's warning
    receipts.set_reviewed(doc.id, True)
    receipts.set_reviewed(doc.id, False)
    at = _app(doc.id)
    assert not [w for w in at.warning if "marked done" in w.value]
    at.session_state["annotate_retrain"] = True  # opted in, with no run chosen: the retraining says why it waits
    at.button(key="annotate_undo").click().run()
    assert not at.exception and receipts.is_reviewed(doc.id)
    warned = [w.value for w in at.warning if "marked done" in w.value]
    assert len(warned) == 1 and "words have no label" in warned[0], [w.value for w in at.warning]
    # the undo's own line and the retraining's, both (a probe saw one overwrite the other, by key and by button)
    assert "Undid the last done mark. Choose a run first: retraining uses its backbone." in [i.value for i in at.info]
    receipts.set_reviewed(doc.id, False)
    receipts.set_reviewed(doc.id, True)
    receipts.undo(doc.id)
    at.run()
    at.session_state["annotate_keys_leaving"] = doc.id  # y as a press waiting for this receipt's draw: the editor
    at.session_state["annotate_keys_waiting"] = ["y"]  # applies it as the keyboard's callback does
    at.run()
    assert not at.exception and receipts.is_reviewed(doc.id)
    assert ("Redid the done mark that Undo had taken back. Choose a run first: retraining uses its backbone."
            in [i.value for i in at.info]), [i.value for i in at.info]
    at.session_state["annotate_retrain"] = False
    at.run()
    # Undo of the mark, then Redo: the warning again
    at.button(key="annotate_undo").click().run()
    assert not receipts.is_reviewed(doc.id) and not [w for w in at.warning if "marked done" in w.value]
    at.button(key="annotate_redo").click().run()
    assert not at.exception and receipts.is_reviewed(doc.id)
    assert [w.value for w in at.warning if "marked done" in w.value] == warned


def test_each_press_carries_the_receipt_it_was_typed_on():
    """A probe's "d 7 7" under a status filter: the 7s reached the server after it had drawn the next receipt, and
    labelled it though it was not on screen yet. The page sends the receipt shown with each press."""
    from ui.annotate_keys import Press, fresh_presses, typed_here

    trigger = {"token": "t", "pressed": [{"seq": 1, "key": "d", "view": "a"}, {"seq": 2, "key": "7", "view": "a"},
                                         {"seq": 3, "key": "7", "view": 5}, {"seq": 4, "key": "1"}]}
    presses, ack = fresh_presses(trigger, None)
    assert presses == [Press("d", "a"), Press("7", "a"), Press("7", None), Press("1", None)] and ack["seq"] == 4
    typed = [Press("7", "a"), Press("7", "a"), Press("1", "b")]
    assert typed_here(typed, "b", came_from=None) == (["1"], typed[:2])  # a replaced "a": dropped
    assert typed_here(typed, "b", came_from="a") == (["7", "7", "1"], [])  # "a" left by n: typed ahead for "b"
    assert typed_here([Press("7")], "b", came_from=None) == (["7"], [])  # an older page that sends no receipt
    # n and b move on from the receipt shown wherever they were typed (probe 66's six quick n's typed on receipt
    # "a" reached the server two receipts on, and were dropped unsaid); a label key typed there still is not
    quick = [Press("n", "a"), Press("8", "a"), Press("b", "a")]
    assert typed_here(quick, "c", came_from="b") == (["n", "b"], [quick[1]])


def test_keys_group_words_into_items(receipts):
    """A walkthrough labelled a receipt by keys, then had to group every item with the mouse: `i` starts an item on
    the selected word, `p` puts the word into the item of the word before (past unlabelled and OTHER words); both
    stay on the word, and undo as one."""
    doc = receipts.load_documents("receipts")[0]  # no word labelled, none in an item
    words = len(doc.words)
    outcome = apply_keys(receipts, doc.id, 0, words, ["1", "k", "i"])  # name the first word, back to it, new item
    group = receipts.get_document(doc.id).words[0].group_id
    assert group is not None and outcome.index == 0 and outcome.changed and not outcome.messages
    outcome = apply_keys(receipts, doc.id, 1, words, ["p"])  # the next word joins it
    assert receipts.get_document(doc.id).words[1].group_id == group and outcome.index == 1
    # said, as other keys' outcomes are (walkthrough 26: i and p changed only the Item box)
    assert outcome.notice == f"Word #1 {doc.words[1].text!r} put into the item of word #0 {doc.words[0].text!r}."
    apply_keys(receipts, doc.id, 1, words, ["z"])
    assert receipts.get_document(doc.id).words[1].group_id is None
    # word 1 is in no item now, but nobody labelled it: p passes over it, as over "x" in "2 x Coffee"
    apply_keys(receipts, doc.id, 2, words, ["p"])
    assert receipts.get_document(doc.id).words[2].group_id == group
    apply_keys(receipts, doc.id, 2, words, ["z"])
    apply_keys(receipts, doc.id, 1, words, ["0"])  # an OTHER word is passed over too
    apply_keys(receipts, doc.id, 2, words, ["p"])
    assert receipts.get_document(doc.id).words[2].group_id == group
    apply_keys(receipts, doc.id, 2, words, ["z"])
    apply_keys(receipts, doc.id, 1, words, ["1"])  # an item name in no item stops it
    refused = apply_keys(receipts, doc.id, 2, words, ["p"])
    assert refused.messages == ["word 2 was left out of any item: word 1 before it (ITEM_NAME) is in no item (press "
                                "i on an item's first word to start one)"] and not refused.changed
    # the line's labelled item words that join with it are counted (walkthrough 34 read "Word #29 … put into a new
    # item" when six words had joined)
    line = [i for i, w in enumerate(receipts.get_document(doc.id).words) if w.line_id == doc.words[1].line_id]
    assert 2 in line
    apply_keys(receipts, doc.id, 2, words, ["1"])
    joined = apply_keys(receipts, doc.id, 1, words, ["i"])
    together = [i for i in line if receipts.get_document(doc.id).words[i].group_id ==
                receipts.get_document(doc.id).words[1].group_id]
    others = len(together) - 1
    assert others >= 1 and joined.notice.endswith(f"put into a new item, and {others} labelled item word"
                                                   f"{'s' if others > 1 else ''} of its line with it."), joined.notice
    assert apply_keys(receipts, doc.id, 0, words, ["k", "p"]).messages == [
        "word 0 was left out of any item: no word before it is in an item (press i on an item's first word to start "
        "one)"]
    apply_keys(receipts, doc.id, 2, words, ["i"])
    assert receipts.get_document(doc.id).words[2].group_id not in (None, group)
    assert "i new item" in key_help() and "p the item of the word before" in key_help()


def test_a_press_judged_by_an_earlier_draw_knows_the_sessions_own_labels(receipts):
    """A probe typing fast saw "word #11 … is now ITEM_UNIT_PRICE (person), not QUANTITY 1 (import) as this page
    showed it: another session labelled it … nothing was saved": the key callback of an earlier draw (a faster
    press had cut the next draw short) judged the session's own label of a moment before as another session's.
    The presses' outcome carries the labels and latest change as they know them, and the editor judges by those."""
    doc = receipts.load_documents("receipts")[0]
    drawn = receipts.get_document(doc.id)  # the receipt as one draw showed it
    words = len(drawn.words)
    first = apply_keys(receipts, doc.id, 0, words, ["1"], seen=drawn.word_layout,
                       seen_action=receipts.latest_action(doc.id), seen_labels=drawn.word_labels)
    assert first.changed and first.index == 1 and first.seen_labels[0][0] == label_keys()["1"]
    # back to word 0 and relabel it, judged by the same draw: refused, though only this session changed it
    stale = apply_keys(receipts, doc.id, 1, words, ["k", "2"], seen=drawn.word_layout,
                       seen_action=receipts.latest_action(doc.id), seen_labels=drawn.word_labels)
    assert stale.stale and "nothing was saved" in stale.messages[0]
    # judged by what the presses know (what the editor keeps between callbacks): saved, and undone by z
    known = apply_keys(receipts, doc.id, 1, words, ["k", "2", "z"], seen=drawn.word_layout,
                       seen_action=first.seen_action, seen_labels=first.seen_labels)
    assert not known.stale and not known.messages, known.messages
    assert receipts.get_document(doc.id).words[0].annotation_label == label_keys()["1"]  # the 2 undone


def test_large_view_draws_a_long_receipt_tall_as_predict_does(receipts):
    """A walkthrough could not read a long receipt at 1366 px on Annotate, which had no Large view (Predict has)."""
    doc = receipts.load_documents("receipts")[0]
    at = _app(doc.id)

    def height() -> int:
        [chart] = [c for c in at.get("plotly_chart") if c.key == f"annotate_figure_{doc.id}"]
        return json.loads(chart.proto.spec)["layout"]["height"]

    normal = height()
    at.toggle(key="annotate_large").set_value(True).run()
    assert not at.exception
    assert height() > max(normal, 720)


def test_a_receipt_opens_on_its_first_unlabelled_word_that_prints_a_letter_or_digit():
    """A walkthrough's photo opened on word #0, the photo's edge read as "|": a word of no letter or digit is passed
    over when a later unlabelled word has one; a labelled word always is."""
    from receipt_core.data.document import Document, Word
    from ui.annotate_state import first_unlabelled_word

    def receipt(*texts: str, labelled: tuple[int, ...] = ()) -> Document:
        return Document(id="r", width=100, height=100, words=tuple(
            Word(text, (0, 10 * i, 10, 10 * i + 5), label_source="person" if i in labelled else None)
            for i, text in enumerate(texts)))

    assert first_unlabelled_word(receipt("|", "—", "TOTAL", "3.50")) == 2
    assert first_unlabelled_word(receipt("SHOP", "|", "TOTAL", labelled=(0,))) == 2
    assert first_unlabelled_word(receipt("|", "—")) == 0  # none prints one: the first unlabelled
    assert first_unlabelled_word(receipt("A", "B", labelled=(0, 1))) == 0  # all labelled


def test_s_suggests_labels_from_the_chosen_run_and_says_so_or_why_not(receipts):
    """Walkthrough 26 labelled by keyboard only: Suggest labels was the 54th Tab stop, so `a` found nothing to
    accept on every new receipt. `s` stores the chosen run's suggestions; with no run chosen it says so."""
    doc = receipts.load_documents("receipts")[0]
    words = len(doc.words)
    calls = []

    def suggest() -> str:
        calls.append(doc.id)
        return "3 suggestions stored from run r."

    outcome = apply_keys(receipts, doc.id, 0, words, ["s"], suggest=suggest)
    assert calls == [doc.id] and outcome.notice == "3 suggestions stored from run r." and outcome.index == 0
    refused = apply_keys(receipts, doc.id, 0, words, ["s"])
    assert refused.messages == ["No run to suggest from: choose one under Use a trained run (train one first if "
                                "there is none)"] and not refused.changed
    assert "s suggest labels from the chosen run" in key_help()


def test_a_label_widget_reporting_the_label_a_word_has_or_a_word_not_selected_saves_nothing(receipts, monkeypatch):
    """Probe 29 moved through an imported receipt with j at typing speed: the browser reported each word's Label
    widget afresh (AppTest sends no such report), every word passed had its import label saved again as a person's
    (12-15 history rows), and the page warned of another session. The widget's callback, called as the browser's
    report calls it: a value equal to the word's label, or from a word no longer selected, is no change."""
    import ui.annotate_editor as editor
    from ui.annotate_state import word_key

    doc = receipts.load_documents("receipts")[0]
    words = list(doc.words)
    words[0] = words[0].with_annotation("TOTAL", source="import")
    words[1] = words[1].with_annotation("QUANTITY", 2.0, source="import")
    doc = doc.with_words(words)
    saved = []
    monkeypatch.setattr(editor, "act", lambda shown, change: saved.append(shown.id))

    def report(index: int, label: str, value=None, selected: int | None = None) -> bool:
        state = {"label": label, "value": value, word_key(doc.id): index if selected is None else selected}
        monkeypatch.setattr(editor.st, "session_state", state)
        saved.clear()
        editor._save_word(doc, index, "label", "value")
        return bool(saved)

    assert not report(0, "TOTAL")  # the label it has
    assert not report(1, "QUANTITY", 2.0)  # the quantity and value it has
    assert not report(0, "SUBTOTAL", selected=3)  # a widget of a word no longer selected
    assert report(0, "SUBTOTAL")  # a real change, on the selected word
    assert report(1, "QUANTITY", 3.0)  # a typed value


def test_suggesting_again_says_how_many_wait_not_zero_stored(receipts):
    """Walkthrough 27 pressed the least-confident jump again on its receipt: "0 suggestions stored" over a receipt
    showing 54 waiting. Suggestions stored before are counted as waiting."""
    from ui.annotate_model import _stored

    doc = receipts.load_documents("receipts")[0]
    first = receipts.store_suggestions(doc.id, _prediction(doc), "run-x")
    waiting = len(first.changes)
    assert waiting > 0 and _stored(first) == f"{waiting} suggestions stored"
    again = receipts.store_suggestions(doc.id, _prediction(doc), "run-x")
    assert _stored(again) == f"{waiting} suggestions waiting (0 new)"
    # every word labelled: why none is stored, said (walkthrough 37 read a bare "0 suggestions stored" on an imported
    # receipt as the model failing)
    receipts.accept_suggestions(doc.id)
    for index, word in enumerate(receipts.get_document(doc.id).words):
        if not word.is_labelled:
            receipts.update_word(doc.id, index, "OTHER")
    full = receipts.store_suggestions(doc.id, _prediction(doc), "run-x")
    assert _stored(full) == "No word is left unlabelled, so 0 suggestions stored"


def test_a_dataset_opened_again_shows_the_receipt_last_open_in_it(receipts):
    """Walkthrough 34 was on receipt 2 of its uploads; Train's Start moved the sidebar to the training dataset, and
    back on the uploads Annotate opened receipt 1."""
    second = receipts.load_documents("receipts")[1].id
    at = _app(second)
    assert at.selectbox(key="annotate_doc").value == second
    at.session_state["dataset"] = "gold"
    at.run()
    assert at.selectbox(key="annotate_doc").value in {d.id for d in receipts.load_documents("gold")}
    at.session_state["dataset"] = "receipts"
    at.run()
    assert not at.exception and at.selectbox(key="annotate_doc").value == second


def test_an_accepted_suggestion_shows_the_score_it_was_suggested_with(receipts):
    """Walkthrough 53 accepted "suggested OTHER · score 0.92" and read "labelled by model (…, score 0.93)": one
    prediction, two numbers (one rounded down, the other to nearest)."""
    from receipt_core.data.document import Suggestion

    doc = receipts.load_documents("receipts")[0]
    words = list(_unlabelled(doc).words)
    words[0] = dataclasses.replace(words[0], suggestion=Suggestion("TOTAL", False, None, run="run-x", score=0.9253))
    receipts.save_documents("receipts", [doc.with_words(words)])
    outcome = apply_keys(receipts, doc.id, 0, len(words), ["a"])
    assert outcome.changed and receipts.get_document(doc.id).words[0].label_source == "model"
    at = _app(doc.id)
    at.session_state[f"annotate_cursor_{doc.id}"] = 0
    at.run()
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert any("labelled by model (run run-x, score 0.92)" in text for text in shown), shown
