"""The Annotate page's overlay and its region re-read, through AppTest: the overlay choice draws Predict's outlines
over the receipt (the model's only once a run has scored it), a receipt without OCR confidences or without an image
says so, and a box read again with the real Tesseract replaces the words in it, undoably."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import plotly.io
import pytest
from PIL import Image, ImageDraw, ImageFont
from streamlit.testing.v1 import AppTest

from receipt_core.data.document import Document, Word
from receipt_core.plots.overlay import annotation_marks, prediction_scores, stored_scores
from receipt_core.workspace.store import Workspace

REPO = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
LINES = ["CAFE LATTE 2 45.000", "TOTAL 45.000"]
MISREAD = {"LATTE": ("LAT7E", 31.0), "2": ("Z", 44.0)}  # what the first OCR got wrong, and its confidence


def photo_receipt() -> tuple[bytes, Document]:
    """A rendered receipt (PNG bytes) and its document as a poor OCR read it: two words wrong, low confidence."""
    font = ImageFont.truetype(FONT, 14)
    image = Image.new("RGB", (400, 200), (245, 240, 228))
    draw = ImageDraw.Draw(image)
    words = []
    for row, line in enumerate(LINES):
        x, y = 20.0, 20.0 + 40 * row
        for text in line.split():
            box = tuple(float(v) for v in draw.textbbox((x, y), text, font=font))
            draw.text((x, y), text, font=font, fill=(35, 30, 30))
            shown, confidence = MISREAD.get(text, (text, 92.0))
            words.append(Word(shown, box, confidence=confidence, line_id=row))
            x = box[2] + draw.textlength(" ", font=font)
    data = io.BytesIO()
    image.save(data, format="PNG")
    return data.getvalue(), Document(id="photo-1", width=400, height=200, words=tuple(words))


@pytest.fixture
def workspace(cord_dev, workspace_home) -> Workspace:
    ws = Workspace(workspace_home)
    data, doc = photo_receipt()
    sha = ws.put_image(data, ".png")
    ws.save_documents("photos", [dataclasses.replace(doc, image_sha256=sha)])
    ws.save_documents("imported", [cord_dev[0]])
    return ws


def _app(dataset: str, receipt: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["dataset"] = dataset
    at.query_params["receipt"] = receipt
    at.run()
    at.switch_page("app_pages/annotate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _figure(at: AppTest, doc_id: str):
    chart = next(c for c in at.get("plotly_chart") if c.key == f"annotate_figure_{doc_id}")
    return plotly.io.from_json(chart.proto.spec)


def _names(figure) -> list[str]:
    return [t.name or "" for t in figure.data]


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_the_overlay_marks_low_ocr_words_then_the_models_doubts_and_words_stay_clickable(workspace):
    doc = workspace.get_document("photo-1")
    at = _app("photos", doc.id)
    overlay = at.radio(key="annotate_overlay")
    assert overlay.options == ["labels only", "low OCR confidence"]  # no run has scored this receipt yet
    assert not any(n.startswith("low OCR confidence (<") for n in _names(_figure(at, doc.id)))
    overlay.set_value("low OCR confidence").run()
    figure = _figure(at, doc.id)
    assert "low OCR confidence (< 60): 2" in _names(figure)
    assert "2 of 6 OCR'd words read with confidence under 60" in _captions(at)
    assert "the overlays model unsure and both come once a run suggests labels for this receipt" in _captions(at)
    words = next(t for t in figure.data if t.name == "words")
    assert set(words.customdata) == set(range(len(doc.words)))  # every word is still clickable

    prediction = {"id": doc.id, "words": [{"text": w.text, "box": list(w.box), "field": "ITEM_NAME",
                                           "field_score": 0.3 if w.confidence < 60 else 0.9, "quantity": False}
                                          for w in doc.words]}
    workspace.store_suggestions(doc.id, prediction, "run-x")
    at.run()
    assert at.radio(key="annotate_overlay").options == ["labels only", "low OCR confidence",
                                                       "model unsure", "both"]
    at.radio(key="annotate_overlay").set_value("both").run()
    names = _names(_figure(at, doc.id))
    assert "low OCR confidence (< 60): 2" in names and "model unsure (< 0.50): 2" in names
    assert "2 of 6 scored words the model is unsure of" in _captions(at) and "2 both" in _captions(at)
    words = next(t for t in _figure(at, doc.id).data if t.name == "words")
    hover = words.hovertext[list(words.customdata).index(1)]  # word 1's (each box has points along it)
    assert "ITEM_NAME, model 0.30 (unsure)" in hover and "OCR confidence 31" in hover
    assert not at.exception


def test_a_receipt_without_ocr_confidences_or_image_says_so_and_cannot_be_read_again(workspace, cord_dev):
    doc = cord_dev[0]
    at = _app("imported", doc.id)
    at.radio(key="annotate_overlay").set_value("low OCR confidence").run()
    assert "no OCR confidence on this receipt" in _captions(at)
    assert not any(n.startswith("low OCR confidence (<") for n in _names(_figure(at, doc.id)))
    button = at.button(key="annotate_reread")
    assert button.disabled and "no image" in button.help
    assert "there are no pixels to read again" in _captions(at)
    # a box drawn on it: no "read it again with OCR" offered under the receipt (walkthrough 42 met it greyed out)
    at.session_state["annotate_drawn_box"] = (doc.id, (15.0, 15.0, 250.0, 40.0))
    at.run()
    assert not [b for b in at.button if b.key == "annotate_reread_drawn"]
    assert [i.value for i in at.info if i.value.startswith("Box drawn at") and "read it again with OCR" not in i.value]
    assert not at.exception


@pytest.mark.ocr
def test_a_box_read_again_replaces_its_words_and_blank_paper_changes_nothing(workspace):
    doc = workspace.get_document("photo-1")
    at = _app("photos", doc.id)
    assert at.button(key="annotate_reread").disabled  # no box yet: a press read "the region (x 0–0, y 0–0)"
    assert at.button(key="annotate_reread").help.startswith("Draw a box over the words first")
    at.session_state["annotate_drawn_box"] = (doc.id, (15.0, 15.0, 250.0, 40.0))  # as Box select over line 1 sets it
    at.session_state[f"annotate_cursor_{doc.id}"] = 4  # TOTAL, outside the box: it stays the selected word
    at.run()
    assert not at.button(key="annotate_reread").disabled
    # said under the receipt, where it was drawn (a walkthrough's box changed nothing in sight)
    assert any(i.value.startswith("Box drawn at x 15–250, y 15–40 (page pixels): label the words inside it below, "
                                  "read it again with OCR, or open *Corrections* in the word panel")
               for i in at.info), [i.value for i in at.info]
    # and read again from there, under the receipt: the button in Corrections sat 950 px down (walkthrough 38)
    at.button(key="annotate_reread_drawn").click().run()
    assert [t.value for t in at.toast if t.value.startswith("Region x 15–250, y 15–40 read again")]
    saved = workspace.get_document(doc.id)
    assert [w.text for w in saved.words] == "CAFE LATTE 2 45.000 TOTAL 45.000".split()
    assert saved.words[4:] == doc.words[4:]  # the second line is outside the box
    assert saved.words[at.session_state[f"annotate_cursor_{doc.id}"]] == doc.words[4]
    # in words, not a bracketed list, which set the whole message in code font (a walkthrough)
    assert any(i.value.startswith("Region x 15–250, y 15–40 read again: 4 words replaced by 4") for i in at.info), \
        [i.value for i in at.info]

    at.session_state["annotate_drawn_box"] = (doc.id, (250.0, 120.0, 390.0, 190.0))  # blank paper
    at.run()
    at.button(key="annotate_reread").click().run()
    assert workspace.get_document(doc.id).words == saved.words
    assert any("Tesseract read nothing in the region (x 250–390, y 120–190): nothing changed" in i.value
               for i in at.info)

    at.button(key="annotate_undo").click().run()
    assert workspace.get_document(doc.id).words == doc.words
    assert not at.exception


def test_a_box_drawn_says_what_it_holds_and_that_it_replaces_the_one_before(workspace):
    """Walkthrough 39 drew a second box with Draw boxes on: the first one's words were dropped unsaid (one box at a
    time). The toast says so."""
    from ui.annotate_bulk import box_drawn_news

    doc = workspace.get_document("photo-1")
    line = (15.0, 15.0, 250.0, 40.0)
    assert box_drawn_news(doc, line) == "Box drawn over 4 words: label them at once under the receipt"
    assert box_drawn_news(doc, line, replaced=True).endswith(" (it replaces the box drawn before: one box at a time)")
    assert box_drawn_news(doc, (250.0, 120.0, 390.0, 190.0)).startswith("Box drawn: read it again with OCR under the "
                                                                        "receipt")
    # a receipt without pixels is not offered a read it cannot do (walkthrough 48)
    import dataclasses

    assert box_drawn_news(dataclasses.replace(doc, image_sha256=None), (250.0, 120.0, 390.0, 190.0)) == \
        "Box drawn: add a word in it under Corrections (the word panel)"


def test_draw_boxes_keeps_the_drag_drawing_boxes_across_redraws(workspace):
    """Walkthrough 38: the toolbar's Box select went back to Zoom after each box (every redraw sends the figure's
    own drag mode), so each further box needed the toolbar again. Draw boxes keeps it until switched off."""
    doc = workspace.get_document("photo-1")
    at = _app("photos", doc.id)
    assert _figure(at, doc.id).layout.dragmode == "zoom"
    at.toggle(key="annotate_draw_boxes").set_value(True).run()
    assert _figure(at, doc.id).layout.dragmode == "select"
    at.session_state[f"annotate_cursor_{doc.id}"] = 2  # another word selected: the receipt is drawn again
    at.run()
    assert _figure(at, doc.id).layout.dragmode == "select"
    at.toggle(key="annotate_draw_boxes").set_value(False).run()
    assert _figure(at, doc.id).layout.dragmode == "zoom"


def test_the_words_inside_a_drawn_box_are_labelled_at_once_and_undone_at_once(workspace):
    """Walkthrough 29 dragged Box select over six words to label them together, as in Label Studio: the box could
    only add a word or be read again."""
    doc = workspace.get_document("photo-1")
    at = _app("photos", doc.id)
    assert not any(b.key == "annotate_bulk_apply" for b in at.button)  # no box, no button
    at.session_state["annotate_drawn_box"] = (doc.id, (15.0, 15.0, 250.0, 40.0))  # the first line
    at.run()
    inside = [i for i, w in enumerate(doc.words) if 15 <= w.center[0] <= 250 and 15 <= w.center[1] <= 40]
    assert inside and at.button(key="annotate_bulk_apply").disabled  # no label chosen yet
    picker = at.selectbox(key=f"annotate_bulk_label_{doc.id}")
    assert picker.label == f"Label the {len(inside)} words inside it as"
    picker.set_value("QUANTITY").run()  # words holding no number are skipped, said
    at.button(key="annotate_bulk_apply").click().run()
    saved = workspace.get_document(doc.id)
    from receipt_core.data.quantity import parse_quantity

    numbers = [i for i in inside if parse_quantity(doc.words[i].text) is not None]
    assert [i for i, w in enumerate(saved.words) if w.is_quantity] == numbers
    assert any(w.value.startswith(f"{len(inside) - len(numbers)} words without a number left as they were, not "
                                  "QUANTITY") for w in at.warning), [w.value for w in at.warning]
    at.button(key="annotate_undo").click().run()
    assert workspace.get_document(doc.id).words == doc.words  # one change, one undo
    # said in a toast, where the eye is: the line under the word panel sat below the fold (probe 35)
    assert any(t.value.startswith("Undid the last label or quantity change") for t in at.toast), \
        [t.value for t in at.toast]

    at.session_state["annotate_drawn_box"] = (doc.id, (15.0, 15.0, 250.0, 40.0))
    at.run()
    at.selectbox(key=f"annotate_bulk_label_{doc.id}").set_value("ITEM_NAME").run()
    at.button(key="annotate_bulk_apply").click().run()
    saved = workspace.get_document(doc.id)
    assert [saved.words[i].field for i in inside] == ["ITEM_NAME"] * len(inside)
    assert all(saved.words[i].label_source == "person" for i in inside)
    assert saved.words[len(inside):] == doc.words[len(inside):]
    assert "annotate_drawn_box" not in at.session_state  # the box has done its work
    # a box drawn on another receipt is not this one's (probe 32 pressed Next and was offered to label its words)
    at.session_state["annotate_drawn_box"] = ("another-receipt", (15.0, 15.0, 250.0, 40.0))
    at.run()
    assert not any(b.key == "annotate_bulk_apply" for b in at.button)
    assert not any(i.value.startswith("Box drawn at") for i in at.info)
    assert not at.exception


def test_the_model_scores_come_from_a_matching_prediction_else_from_the_words(workspace):
    doc = workspace.get_document("photo-1")
    prediction = {"words": [{"text": w.text, "field": "TOTAL", "field_score": 0.2, "quantity": i == 2}
                            for i, w in enumerate(doc.words)]}
    scores = prediction_scores(doc, prediction)
    assert scores[0] == ("TOTAL", 0.2) and scores[2] == ("QUANTITY", 0.2)
    corrected = doc.with_words([dataclasses.replace(doc.words[0], text="CAF3"), *doc.words[1:]])
    assert prediction_scores(corrected, prediction) is None  # a prediction of the words before a correction
    assert stored_scores(doc) == [None] * len(doc.words)
    marks = annotation_marks(doc)
    assert not any(m.unsure for m in marks) and [m.low_ocr for m in marks].count(True) == 2


def test_drawing_a_box_leaves_the_selected_word_alone(monkeypatch):
    """A browser check: Box select's points moved the selection onto the first word inside the box, so the word
    picked before (to edit after the re-read) was no longer the selected one. A click still selects."""
    from types import SimpleNamespace

    import ui.annotate_editor as editor
    from receipt_core.data.document import Document, Word

    doc = Document(id="d", width=100, height=100, words=(Word("A", (1, 1, 9, 9)), Word("B", (20, 1, 29, 9))))
    state = {"annotate_cursor_d": 1, "chart": {"selection": {"points": [{"customdata": 0}],
                                                             "box": [{"x": [0, 10], "y": [0, 10]}]}}}
    import ui.annotate_region as region

    monkeypatch.setattr(editor, "st", SimpleNamespace(session_state=state))
    monkeypatch.setattr(region, "st", SimpleNamespace(session_state=state))  # where the box is kept
    monkeypatch.setattr(editor, "word_key", lambda doc_id: f"annotate_cursor_{doc_id}")
    editor._on_select(doc, "chart")
    assert state["annotate_cursor_d"] == 1 and state["annotate_drawn_box"] == ("d", (0.0, 0.0, 10.0, 10.0))
    # said at once, the controls being under the receipt (walkthrough 30)
    assert state["annotate_toast"] == "Box drawn over 1 word: label them at once under the receipt"
    state["chart"] = {"selection": {"points": [{"customdata": 0}]}}  # a click
    editor._on_select(doc, "chart")
    assert state["annotate_cursor_d"] == 0
