"""The confidence overlay: where a photo went wrong, word by word.

Two doubts, drawn so they can be told apart at a glance and shown together:

- **low OCR confidence** (Tesseract's word confidence under ``LOW_CONFIDENCE``, 0-100): the word's box *hatched*
  ``////`` in black — the text itself may be wrong;
- **model unsure** (the probability of the answer the word got under the threshold, 0-1; ``evaluation.confidence
  .word_confidence``): a yellow *star* on the box's top right corner — the label may be wrong.

No label is drawn hatched or with a star, so the label's own outline stays readable under both: a solid orange
outline and a dashed blue one read as ITEM_UNIT_PRICE and a suggested ITEM_NAME (a walkthrough), and a hatching of
the unsure words turned a photo the model doubted into stripes (another).

Every other word keeps a thin grey outline. The hover of each word gives its text, its answer and both
confidences. Words from a dataset carry no OCR confidence (``None``): they are never marked as low OCR confidence.

Predict overlays a fresh prediction (:func:`confidence_marks`, :func:`overlay_figure`). Annotate overlays its own
receipt figure (:func:`add_overlay` on ``annotation_figure``), with the model's confidence taken from what is at
hand (:func:`annotation_marks`): a prediction of the receipt as it is now (:func:`prediction_scores`), else what
the words store (:func:`stored_scores`: a waiting suggestion's score, an accepted suggestion's ``label_score``).
A word without a model score (``model_confidence`` None) is never marked as unsure. Pure Plotly, no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import plotly.graph_objects as go
from PIL import Image

from ..data.annotation import answer_score
from ..data.document import MODEL, Document
from ..data.markup import escape_markup
from ..data.schema import shown_label, stored_answer
from ..evaluation.confidence import DEFAULT_UNCERTAIN_BELOW, is_unsure, word_confidence
from .click_targets import click_targets
from .doubt_marks import add_low_ocr_hatching, add_unsure_stars
from .figures import (LOW_CONFIDENCE, _outline, _page_background, _write_words, lay_out_page,
                      page_figure_height, page_view)

OCR_LAYER = "ocr"
MODEL_LAYER = "model"
LAYERS = (OCR_LAYER, MODEL_LAYER)
LABELS_ONLY, LOW_OCR, UNSURE, BOTH = "labels only", "low OCR confidence", "model unsure", "both"
OVERLAY_CHOICES = {LABELS_ONLY: (), LOW_OCR: (OCR_LAYER,), UNSURE: (MODEL_LAYER,), BOTH: (OCR_LAYER, MODEL_LAYER)}
"""The overlay choices of Predict and Annotate, one set for both (the two pages named the same layers differently),
short enough for one row beside Annotate's Large view toggle at 1366 px; at 900 px its image column is too narrow
for them, and they stack (a walkthrough)."""
WORD_COLOR = "#9A9A9A"


@dataclass(frozen=True)
class ConfidenceMark:
    """One word with both confidences and whether each counts as low."""

    index: int
    text: str
    box: tuple[float, float, float, float]
    answer: str  # the predicted field, or QUANTITY ("" without a model score)
    model_confidence: float | None  # 0-1, the probability of ``answer``; None: no model score for this word
    ocr_confidence: float | None  # 0-100, None for words that did not come from the OCR
    low_ocr: bool
    unsure: bool


@dataclass(frozen=True)
class OverlayCounts:
    words: int
    ocr_scored: int  # words with an OCR confidence
    low_ocr: int
    unsure: int
    both: int  # low OCR confidence and model unsure

    @property
    def poorly_read(self) -> bool:
        """Whether at least :data:`POORLY_READ_SHARE` of the OCR'd words were read with low confidence: a photo of
        wood grain or a crumpled slip, whose words the model labels all the same (a walkthrough read a table's grain
        as items at confidence 0.99). On WildReceipt dev 5 of 50 photos are."""
        return bool(self.ocr_scored) and self.low_ocr >= POORLY_READ_SHARE * self.ocr_scored


POORLY_READ_SHARE = 0.5


def confidence_marks(doc: Document, prediction, low_ocr_below: float = LOW_CONFIDENCE,
                     unsure_below: float = DEFAULT_UNCERTAIN_BELOW) -> list[ConfidenceMark]:
    """Each word of ``doc`` with its OCR confidence and the confidence of its answer in ``prediction`` (a
    ``model.predict.DocumentPrediction`` of ``doc``)."""
    if len(prediction.words) != len(doc.words):
        raise ValueError(f"the prediction has {len(prediction.words)} words but document {doc.id!r} has "
                         f"{len(doc.words)}; overlay the prediction of that very document")
    marks = []
    for index, (word, guess) in enumerate(zip(doc.words, prediction.words)):
        confidence = word_confidence(guess)
        marks.append(ConfidenceMark(
            index=index, text=word.text, box=tuple(float(v) for v in word.box),
            answer=shown_label(guess.field, guess.quantity), model_confidence=confidence,
            ocr_confidence=word.confidence,
            low_ocr=word.confidence is not None and word.confidence < low_ocr_below,
            unsure=is_unsure(guess, unsure_below)))
    return marks


WordScore = tuple[str, float]  # (the model's answer for a word, its probability 0-1)


def stored_scores(doc: Document) -> list[WordScore | None]:
    """The model's confidence each word of ``doc`` stores: a waiting suggestion's score, else the score of the
    suggestion a person accepted (``label_score``); None for a word no model has scored."""
    scores: list[WordScore | None] = []
    for word in doc.words:
        if word.suggestion is not None:
            scores.append((word.suggestion.annotation_label, word.suggestion.score))
        elif word.label_source == MODEL and word.label_score is not None:
            scores.append((word.annotation_label, word.label_score))
        else:
            scores.append(None)
    return scores


def prediction_scores(doc: Document, prediction: Mapping[str, Any]) -> list[WordScore] | None:
    """Each word's answer and field score in ``prediction`` (``DocumentPrediction.to_json()``), or None when the
    prediction is not of ``doc`` as it is now (other words: corrected since, or another receipt)."""
    words = prediction.get("words", ())
    if len(words) != len(doc.words) or any(str(p.get("text", "")) != w.text for p, w in zip(words, doc.words)):
        return None
    return [(stored_answer(p), answer_score(p)) for p in words]


def annotation_marks(doc: Document, scores: Sequence[WordScore | None] | None = None,
                     low_ocr_below: float = LOW_CONFIDENCE,
                     unsure_below: float = DEFAULT_UNCERTAIN_BELOW) -> list[ConfidenceMark]:
    """Each word of ``doc`` with its OCR confidence and, from ``scores`` (one per word; None: the scores the words
    store, :func:`stored_scores`), the model's answer and confidence when it has one."""
    scores = stored_scores(doc) if scores is None else list(scores)
    if len(scores) != len(doc.words):
        raise ValueError(f"{len(scores)} model scores for the {len(doc.words)} words of document {doc.id!r}")
    marks = []
    for index, (word, score) in enumerate(zip(doc.words, scores)):
        answer, confidence = score if score is not None else ("", None)
        marks.append(ConfidenceMark(
            index=index, text=word.text, box=tuple(float(v) for v in word.box), answer=answer,
            model_confidence=confidence, ocr_confidence=word.confidence,
            low_ocr=word.confidence is not None and word.confidence < low_ocr_below,
            unsure=confidence is not None and confidence < unsure_below))
    return marks


def overlay_counts(marks: Sequence[ConfidenceMark]) -> OverlayCounts:
    return OverlayCounts(words=len(marks), ocr_scored=sum(m.ocr_confidence is not None for m in marks),
                         low_ocr=sum(m.low_ocr for m in marks), unsure=sum(m.unsure for m in marks),
                         both=sum(m.low_ocr and m.unsure for m in marks))


def overlay_figure(doc: Document, prediction, image: Image.Image | str | None = None,
                   layers: Sequence[str] = LAYERS,
                   low_ocr_below: float = LOW_CONFIDENCE, unsure_below: float = DEFAULT_UNCERTAIN_BELOW,
                   title: str | tuple[str, ...] = "", figure_height: int | None = None) -> go.Figure:
    """The receipt with the doubts of ``layers`` (``OCR_LAYER``, ``MODEL_LAYER`` or both) marked as the module
    docstring says, over its image or a blank page with the words written."""
    if doc.width <= 0 or doc.height <= 0:
        raise ValueError(f"a receipt page must have a positive size, got {doc.width}x{doc.height}")
    view = page_view(doc.width, doc.height, (w.box for w in doc.words), image is not None)
    figure_height = figure_height or page_figure_height(view.width, view.height)
    marks = confidence_marks(doc, prediction, low_ocr_below, unsure_below)
    fig = go.Figure()
    _page_background(fig, doc.width, doc.height, image)
    if image is None:
        _write_words(fig, marks, view, figure_height)
    _add_outline(fig, [m.box for m in marks], "word", dict(color=WORD_COLOR, width=1))
    add_overlay(fig, marks, layers, low_ocr_below, unsure_below)
    targets = click_targets([m.box for m in marks], range(len(marks)), [_hover(m) for m in marks])
    fig.add_trace(go.Scatter(  # invisible points along each box carry the hover text
        x=targets.x, y=targets.y, mode="markers", marker=dict(size=6, color=WORD_COLOR, opacity=0.01),
        showlegend=False, customdata=targets.index, hovertext=targets.hover, hoverinfo="text", name="words"))
    lay_out_page(fig, view, figure_height, f"overlay-{doc.id}", title)
    return fig


def add_overlay(fig: go.Figure, marks: Sequence[ConfidenceMark], layers: Sequence[str] = LAYERS,
                low_ocr_below: float = LOW_CONFIDENCE, unsure_below: float = DEFAULT_UNCERTAIN_BELOW,
                hover_trace: str | None = None) -> go.Figure:
    """The outlines of ``layers`` for ``marks`` drawn over ``fig`` (a receipt figure in page pixels, y down), as the
    module docstring says; they take no hover and no click, so a figure's clickable words stay clickable. With
    ``hover_trace``, the trace of that name (points whose ``customdata`` is their word's index, as
    ``click_targets`` makes them) gets each word's model confidence added to its hover when the model layer is on.
    Returns ``fig``."""
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown:
        raise ValueError(f"unknown overlay layer {unknown[0]!r}; choose from {', '.join(LAYERS)}")
    if OCR_LAYER in layers:
        add_low_ocr_hatching(fig, [m.box for m in marks if m.low_ocr], f"low OCR confidence (< {low_ocr_below:g})")
    if MODEL_LAYER in layers:
        add_unsure_stars(fig, [m.box for m in marks if m.unsure], f"model unsure (< {unsure_below:.2f})")
        trace = next((t for t in fig.data if hover_trace is not None and t.name == hover_trace), None)
        if trace is not None and trace.hovertext is not None and trace.customdata is not None:
            trace.hovertext = [text + (f"<br>{_model_line(marks[i])}" if 0 <= i < len(marks)
                                       and marks[i].model_confidence is not None else "")
                               for text, i in zip(trace.hovertext, trace.customdata)]
    return fig


def _add_outline(fig: go.Figure, boxes: Sequence[tuple[float, float, float, float]], name: str, line: dict) -> None:
    if boxes:
        xs, ys = _outline(boxes)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=line, name=f"{name}: {len(boxes)}",
                                 hoverinfo="skip"))


def _hover(mark: ConfidenceMark) -> str:
    parts = [f"#{mark.index} <b>{escape_markup(mark.text)}</b>"]
    if mark.model_confidence is not None:
        parts.append(_model_line(mark))
    if mark.ocr_confidence is not None:
        parts.append(f"OCR confidence {mark.ocr_confidence:.0f}" + (" (low)" if mark.low_ocr else ""))
    return "<br>".join(parts)


def _model_line(mark: ConfidenceMark) -> str:
    return f"{mark.answer}, model {mark.model_confidence:.2f}" + (" (unsure)" if mark.unsure else "")
