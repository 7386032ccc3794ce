"""The confidence overlay: low-OCR-confidence words and words the model is unsure of, each with its own outline."""

from __future__ import annotations

import pytest

from receipt_core.data.document import Document, Word
from receipt_core.model.predict import DocumentPrediction, WordPrediction
from receipt_core.plots.doubt_marks import LOW_OCR_COLOR, UNSURE_COLOR
from receipt_core.plots.overlay import (MODEL_LAYER, OCR_LAYER,
                                        OverlayCounts, confidence_marks, overlay_counts, overlay_figure)

DOC = Document(id="photo", width=300, height=200, words=(
    Word("C0FFEE", (10, 10, 100, 30), confidence=41.0),  # misread: low OCR confidence and the model unsure
    Word("2", (120, 10, 135, 30), confidence=95.0),  # quantity, the quantity head unsure
    Word("7.00", (200, 10, 260, 30), confidence=55.0),  # low OCR confidence only
    Word("TOTAL", (10, 100, 90, 120), confidence=93.0),  # sure on both counts
))
PREDICTION = DocumentPrediction(doc_id="photo", items=(), words=(
    WordPrediction("C0FFEE", DOC.words[0].box, "ITEM_NAME", 0.31, False, None, 0.1),
    WordPrediction("2", DOC.words[1].box, "OTHER", 0.9, True, 2.0, 0.45),  # field score high, quantity score not
    WordPrediction("7.00", DOC.words[2].box, "ITEM_PRICE", 0.97, False, None, 0.0),
    WordPrediction("TOTAL", DOC.words[3].box, "TOTAL", 0.99, False, None, 0.0),
))


def _traces(figure, prefix):
    return [t for t in figure.data if (t.name or "").startswith(prefix)]


def test_marks_say_which_word_is_doubtful_and_why():
    marks = confidence_marks(DOC, PREDICTION, low_ocr_below=60, unsure_below=0.5)
    assert [(m.low_ocr, m.unsure) for m in marks] == [(True, True), (False, True), (True, False), (False, False)]
    assert marks[1].answer == "QUANTITY" and marks[1].model_confidence == pytest.approx(0.45)
    assert overlay_counts(marks) == OverlayCounts(words=4, ocr_scored=4, low_ocr=2, unsure=2, both=1)


def test_the_two_doubts_have_distinct_outlines_and_the_toggle_picks_them():
    figure = overlay_figure(DOC, PREDICTION, layers=(OCR_LAYER, MODEL_LAYER), low_ocr_below=60, unsure_below=0.5)
    (ocr,) = _traces(figure, "low OCR confidence (< 60): 2")
    (model,) = _traces(figure, "model unsure (< 0.50): 2")
    # hatched, and a star, as no label is drawn, in colours no label has, leaving the label's outline readable: a
    # solid orange outline and a dashed blue one read as ITEM_UNIT_PRICE and a suggested ITEM_NAME (walkthrough 24),
    # and a hatching of unsure words turned a doubted photo into stripes (walkthrough 25)
    assert (ocr.fillpattern.shape, ocr.fillpattern.fgcolor, ocr.line.width) == ("/", LOW_OCR_COLOR, 0)
    assert (model.mode, model.marker.symbol, model.marker.color) == ("markers", "star", UNSURE_COLOR)
    from receipt_core.plots.figures import NOT_LABELLED_COLOR, label_colors, prediction_figure

    assert not {LOW_OCR_COLOR, UNSURE_COLOR} & {*label_colors().values(), NOT_LABELLED_COLOR}
    labels = prediction_figure(DOC.width, DOC.height, PREDICTION.to_json())
    assert labels.data and not any(trace.fillpattern.shape for trace in labels.data if hasattr(trace, "fillpattern"))
    # a star there marks only what the overlay's star marks: Predict's own figure draws its doubts the same way
    assert {trace.name for trace in labels.data if trace.marker.symbol == "star"} <= {"model unsure: 2"}
    # the star on each unsure word's top right corner, the hatching on each low-OCR word's own box
    assert list(zip(model.x, model.y)) == [(w.box[2], w.box[1]) for w in DOC.words[:2]]
    assert min(x for x in ocr.x if x is not None) == DOC.words[0].box[0]
    only_ocr = overlay_figure(DOC, PREDICTION, layers=(OCR_LAYER,))
    assert _traces(only_ocr, "low OCR") and not _traces(only_ocr, "model unsure")
    only_model = overlay_figure(DOC, PREDICTION, layers=(MODEL_LAYER,))
    assert _traces(only_model, "model unsure") and not _traces(only_model, "low OCR")


def test_hover_gives_both_confidences_and_text_is_escaped():
    doc = Document(id="d", width=100, height=50, words=(Word("<b>1</b>", (0, 0, 40, 20), confidence=30.0),))
    prediction = DocumentPrediction(doc_id="d", items=(), words=(
        WordPrediction("<b>1</b>", doc.words[0].box, "TOTAL", 0.2, False, None, 0.0),))
    (hover,) = set(next(t for t in overlay_figure(doc, prediction).data if t.name == "words").hovertext)
    assert hover.startswith("#0 <b>&lt;b&gt;1&lt;/b&gt;</b><br>")  # the word's text is shown as text
    assert "TOTAL, model 0.20 (unsure)" in hover and "OCR confidence 30 (low)" in hover


def test_words_without_an_ocr_confidence_are_never_low_ocr():
    doc = Document(id="gold", width=100, height=50, words=(Word("TEA", (0, 0, 40, 20)),))
    prediction = DocumentPrediction(doc_id="gold", items=(), words=(
        WordPrediction("TEA", doc.words[0].box, "ITEM_NAME", 0.9, False, None, 0.0),))
    counts = overlay_counts(confidence_marks(doc, prediction))
    assert (counts.ocr_scored, counts.low_ocr) == (0, 0)
    assert not _traces(overlay_figure(doc, prediction), "low OCR")


def test_a_prediction_of_another_document_or_an_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="overlay the prediction of that very document"):
        overlay_figure(DOC, DocumentPrediction(doc_id="x", words=(), items=()))
    with pytest.raises(ValueError, match="unknown overlay layer 'pixels'; choose from ocr, model"):
        overlay_figure(DOC, PREDICTION, layers=("pixels",))
