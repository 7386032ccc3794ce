"""The Annotate page's overlay: where the photo went wrong, over the receipt you label.

A choice above the receipt marks the words Tesseract read with low confidence and, once a run has scored this
receipt, the words the model is unsure of, with Predict's outlines (:mod:`receipt_core.plots.overlay`). The model's
scores are the latest prediction of this receipt made on this page (suggesting labels, or ranking the receipts by
confidence) while its words are unchanged, else the scores the words store (waiting and accepted suggestions).
This module only picks the scores and draws the choice and its counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from receipt_core.data.document import Document
from receipt_core.evaluation.confidence import DEFAULT_UNCERTAIN_BELOW
from receipt_core.plots.figures import LOW_CONFIDENCE
from receipt_core.plots.overlay import (BOTH, LABELS_ONLY, LOW_OCR, MODEL_LAYER, OCR_LAYER, OVERLAY_CHOICES, UNSURE,
                                        ConfidenceMark, WordScore, add_overlay, annotation_marks, overlay_counts,
                                        prediction_scores, stored_scores)
from ui.annotate_model import latest_prediction
from ui.literal import literal

OVERLAY_KEY = "annotate_overlay"


@dataclass(frozen=True)
class Overlay:
    """The layers chosen and each word's doubts; :meth:`draw` puts them over the receipt figure."""

    layers: tuple[str, ...]
    marks: list[ConfidenceMark]

    def draw(self, figure: go.Figure) -> go.Figure:
        if not self.layers:
            return figure
        return add_overlay(figure, self.marks, self.layers, hover_trace="words")


def model_scores(doc: Document) -> tuple[list[WordScore | None] | None, str]:
    """The model's answer and confidence per word of ``doc``, and where they come from; (None, "") when no run has
    scored this receipt."""
    latest = latest_prediction(doc.id)
    if latest is not None:
        run_id, prediction = latest
        scores = prediction_scores(doc, prediction)
        if scores is not None:
            return scores, f"run {literal(run_id)}'s prediction of this receipt"
    stored = stored_scores(doc)
    if any(score is not None for score in stored):
        return stored, "the scores of the suggestions on its words (waiting or accepted)"
    return None, ""


def overlay_choice(doc: Document, where: DeltaGenerator | None = None) -> Overlay:
    """The overlay choice for ``doc`` (drawn in ``where``, else the page) and what it marks, said in one caption
    under it."""
    scores, source = model_scores(doc)
    options = [LABELS_ONLY, LOW_OCR] + ([UNSURE, BOTH] if scores is not None else [])
    if st.session_state.get(OVERLAY_KEY) not in options:  # a model choice made on a receipt a run had scored
        st.session_state[OVERLAY_KEY] = LOW_OCR if st.session_state.get(OVERLAY_KEY) == BOTH else LABELS_ONLY
    choice = (where or st).radio("Overlay", options, horizontal=True, key=OVERLAY_KEY,
                                 help=f"Where the photo went wrong: words Tesseract read with confidence under "
                                      f"{LOW_CONFIDENCE:g} are hatched in black (////); words whose answer a run "
                                      f"gave with probability under {DEFAULT_UNCERTAIN_BELOW:.2f} get a yellow "
                                      "star on the top right corner (offered once a run has suggested labels "
                                      "for this receipt). No label is drawn hatched or starred. "
                                      "Clicking words and Box select work as before.")
    layers = OVERLAY_CHOICES[choice]
    marks = annotation_marks(doc, scores)
    if layers:
        st.caption(_summary(marks, layers, source))
    return Overlay(layers=layers, marks=marks)


def _summary(marks: list[ConfidenceMark], layers: tuple[str, ...], source: str) -> str:
    counts = overlay_counts(marks)
    parts = []
    if OCR_LAYER in layers:
        if counts.ocr_scored:
            parts.append(f"{counts.low_ocr} of {counts.ocr_scored} OCR'd words read with confidence under "
                         f"{LOW_CONFIDENCE:g} (hatched in black)")
        else:
            parts.append("no OCR confidence on this receipt: its words were imported or typed, not read by "
                         "Tesseract, so none can be marked as read with low confidence")
    if MODEL_LAYER in layers:
        scored = sum(m.model_confidence is not None for m in marks)
        parts.append(f"{counts.unsure} of {scored} scored words the model is unsure of (under "
                     f"{DEFAULT_UNCERTAIN_BELOW:.2f}, a yellow star), from {source}")
    elif not any(m.model_confidence is not None for m in marks):
        # the two model overlays are offered once a run has scored the receipt: said so, and where a run comes from
        # (walkthrough 59 had no run, and "a run below" was a note to train one)
        parts.append("the overlays model unsure and both come once a run suggests labels for this receipt (Use a "
                     "trained run, below; train one first if there is none)")
    if layers == (OCR_LAYER, MODEL_LAYER):
        parts.append(f"{counts.both} both")
    return " · ".join(parts)
