"""Plotly figures for the dashboard: receipts with labelled word boxes, training curves, cost vs quality.

No Streamlit here: every function takes plain data and returns a ``plotly.graph_objects.Figure``, so pages stay
thin and the figures can be tested (and reused in notebooks) without a server.

Receipts are drawn in the document's pixel coordinates (y pointing down, as in the image). A receipt with pixels
shows the image under the boxes; a receipt without (most of CORD) shows a blank page with each word's text
written in its box. Boxes are coloured by label; quantity words get a thick dark outline and a ``×`` marker so
they stand out whatever their colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from PIL import Image

from ..data.document import Document
from ..data.schema import DEFAULT_SCHEMA, OTHER, QUANTITY, LabelSchema

FIGURE_HEIGHT = 720  # pixels on screen for a receipt figure
MAX_IMAGE_SIDE = 1400  # the background image is downscaled to this before it is sent to the browser
LOW_CONFIDENCE = 60.0  # Tesseract confidence below which a word is flagged for review

# Colour-blind-friendly qualitative palette (Okabe-Ito, then Tableau) — OTHER is a quiet grey.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#8C564B",
            "#17BECF", "#BCBD22", "#7F7F7F", "#9467BD")
OTHER_COLOR = "#B0B0B0"
QUANTITY_COLOR = "#D62728"
QUANTITY_OUTLINE = "#111111"


def label_colors(schema: LabelSchema = DEFAULT_SCHEMA) -> dict[str, str]:
    """A fixed colour per annotation label (fields plus QUANTITY), the same on every page."""
    colors = {OTHER: OTHER_COLOR, QUANTITY: QUANTITY_COLOR}
    others = [label for label in schema.fields if label != OTHER]
    for i, label in enumerate(others):
        colors[label] = _PALETTE[i % len(_PALETTE)]
    return colors


@dataclass(frozen=True)
class BoxMark:
    """One word as drawn: its box, the label that colours it, and what the hover says."""

    index: int
    text: str
    box: tuple[float, float, float, float]
    label: str
    quantity: bool = False
    score: float | None = None  # model confidence (0-1) or OCR confidence (0-100), shown on hover
    score_name: str = "confidence"
    flagged: bool = False  # drawn with a dotted outline (low OCR confidence, uncertain prediction)


def document_marks(doc: Document, low_confidence: float = LOW_CONFIDENCE) -> list[BoxMark]:
    """Marks for a document's own labels (annotation view); low-OCR-confidence words are flagged."""
    return [BoxMark(index=i, text=w.text, box=w.box, label=w.annotation_label, quantity=w.is_quantity,
                    score=w.confidence, score_name="OCR confidence",
                    flagged=w.confidence is not None and w.confidence < low_confidence)
            for i, w in enumerate(doc.words)]


def prediction_marks(prediction: Mapping[str, Any], uncertain_below: float = 0.5) -> list[BoxMark]:
    """Marks for a model prediction in ``DocumentPrediction.to_json()`` shape (``words`` with field, score, quantity).

    A quantity word is coloured as QUANTITY (what an annotator would pick); its field is kept in the hover.
    """
    marks = []
    for i, word in enumerate(prediction.get("words", ())):
        quantity = bool(word.get("quantity"))
        score = word.get("field_score")
        marks.append(BoxMark(index=i, text=str(word.get("text", "")), box=tuple(word["box"]),
                             label=QUANTITY if quantity else str(word.get("field", OTHER)), quantity=quantity,
                             score=score, score_name="field score",
                             flagged=score is not None and score < uncertain_below))
    return marks


def receipt_figure(width: int, height: int, marks: Sequence[BoxMark], image: Image.Image | None = None,
                   title: str = "", schema: LabelSchema = DEFAULT_SCHEMA, selected: int | None = None,
                   uirevision: str | None = None, figure_height: int = FIGURE_HEIGHT) -> go.Figure:
    """A receipt page with word boxes coloured by label, over its image or a blank page with the words written.

    ``selected`` (a word index) is drawn with a thick outline. ``uirevision`` keeps the user's zoom across
    redraws of the same receipt.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"a receipt page must have a positive size, got {width}x{height}")
    colors = label_colors(schema)
    fig = go.Figure()
    if image is not None:
        fig.add_layout_image(source=_display_image(image), xref="x", yref="y", x=0, y=0, sizex=width, sizey=height,
                             xanchor="left", yanchor="top", sizing="stretch", layer="below")
    else:
        fig.add_shape(type="rect", x0=0, y0=0, x1=width, y1=height, line=dict(color="#999999", width=1),
                      fillcolor="white", layer="below")

    by_label: dict[str, list[BoxMark]] = {}
    for mark in marks:
        by_label.setdefault(mark.label, []).append(mark)
    order = [label for label in schema.annotation_labels if label in by_label] + sorted(
        label for label in by_label if label not in schema.annotation_labels)
    for label in order:
        group = by_label[label]
        color = colors.get(label, "#000000")
        xs, ys = _outline(m.box for m in group)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", fill="toself", fillcolor=_alpha(color, 0.18 if image is not None else 0.12),
            line=dict(color=color, width=1.5), name=label, legendgroup=label, hoverinfo="skip"))
        fig.add_trace(go.Scatter(  # invisible centres carry the hover text and make words clickable
            x=[(m.box[0] + m.box[2]) / 2 for m in group], y=[(m.box[1] + m.box[3]) / 2 for m in group],
            mode="markers", marker=dict(size=6, color=color, opacity=0.01), legendgroup=label, showlegend=False,
            customdata=[m.index for m in group], hovertext=[_hover(m) for m in group], hoverinfo="text",
            name=label))

    quantity = [m for m in marks if m.quantity]
    if quantity:
        xs, ys = _outline(m.box for m in quantity)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=QUANTITY_OUTLINE, width=3),
                                 name="quantity word", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=[m.box[0] for m in quantity], y=[m.box[1] for m in quantity], mode="markers",
                                 marker=dict(symbol="x-thin", size=7, line=dict(width=2, color=QUANTITY_OUTLINE)), showlegend=False,
                                 hoverinfo="skip"))
    flagged = [m for m in marks if m.flagged]
    if flagged:
        xs, ys = _outline(m.box for m in flagged)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#FF00FF", width=1.5, dash="dot"),
                                 name="low confidence", hoverinfo="skip"))
    if selected is not None:
        chosen = [m for m in marks if m.index == selected]
        if chosen:
            xs, ys = _outline(m.box for m in chosen)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#000000", width=4),
                                     name=f"word {selected}", hoverinfo="skip"))
    if image is None:
        _write_words(fig, marks, height, figure_height)

    fig.update_xaxes(range=[0, width], visible=False, constrain="domain")
    fig.update_yaxes(range=[height, 0], visible=False, scaleanchor="x", scaleratio=1)
    fig.update_layout(title=title or None, height=figure_height, margin=dict(l=0, r=0, t=40 if title else 10, b=0),
                      plot_bgcolor="white", legend=dict(orientation="h", y=-0.02, yanchor="top"),
                      uirevision=uirevision, dragmode="zoom", hovermode="closest")
    return fig


def document_figure(doc: Document, image: Image.Image | None = None, selected: int | None = None,
                    schema: LabelSchema = DEFAULT_SCHEMA, title: str = "") -> go.Figure:
    """The annotation view of a document: its own labels, low OCR confidence flagged."""
    return receipt_figure(doc.width, doc.height, document_marks(doc), image=image, title=title, schema=schema,
                          selected=selected, uirevision=f"doc-{doc.id}")


def prediction_figure(width: int, height: int, prediction: Mapping[str, Any], image: Image.Image | None = None,
                      schema: LabelSchema = DEFAULT_SCHEMA, title: str = "") -> go.Figure:
    """A model's prediction for one receipt: boxes coloured by predicted field, quantity words marked."""
    return receipt_figure(width, height, prediction_marks(prediction), image=image, title=title, schema=schema,
                          uirevision=f"prediction-{prediction.get('id', '')}")


def _display_image(image: Image.Image) -> Image.Image:
    scale = MAX_IMAGE_SIDE / max(image.size)
    if scale >= 1:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))


def _outline(boxes: Iterable[tuple[float, float, float, float]]) -> tuple[list, list]:
    """Closed rectangles as one polyline with None breaks (one trace for many boxes keeps the figure light)."""
    xs: list = []
    ys: list = []
    for x0, y0, x1, y1 in boxes:
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
    return xs, ys


def _alpha(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _hover(mark: BoxMark) -> str:
    parts = [f"#{mark.index} <b>{_escape(mark.text)}</b>", mark.label]
    if mark.score is not None:
        parts.append(f"{mark.score_name} {mark.score:.2f}" if mark.score <= 1 else f"{mark.score_name} {mark.score:.0f}")
    return "<br>".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write_words(fig: go.Figure, marks: Sequence[BoxMark], page_height: int, figure_height: int) -> None:
    """Write each word's text in its box, sized to the box (blank-page view of receipts without pixels)."""
    if not marks:
        return
    scale = figure_height / page_height  # screen pixels per page pixel, roughly (the page fills the height)
    fig.add_trace(go.Scatter(
        x=[(m.box[0] + m.box[2]) / 2 for m in marks], y=[(m.box[1] + m.box[3]) / 2 for m in marks],
        mode="text", text=[_escape(m.text) for m in marks],
        textfont=dict(size=[max(5, min(18, 0.7 * (m.box[3] - m.box[1]) * scale)) for m in marks], color="#222222"),
        hoverinfo="skip", showlegend=False))


# --- training curves --------------------------------------------------------------------------------------


def curve_figure(points: pd.DataFrame, title: str, y_title: str, phases: Sequence[tuple[int, int]] = (),
                 uirevision: str = "curves", x: str = "step", log_y: bool = False) -> go.Figure:
    """Lines of ``points`` (columns ``x``, ``series``, ``value``), one per series, phase starts as dashed lines.

    ``phases`` is ``[(step, phase number), …]``; phase 1 at step 0 is not drawn. ``uirevision`` must stay the
    same across redraws of the same chart so the user's zoom and hidden series survive live updates.
    """
    fig = go.Figure()
    if not points.empty:
        for name, group in points.groupby("series", sort=False):
            group = group.sort_values(x)
            fig.add_trace(go.Scatter(x=group[x], y=group["value"], mode="lines+markers" if len(group) < 40 else "lines",
                                     name=str(name), marker=dict(size=5)))
    for step, phase in phases:
        if phase > 1:
            fig.add_vline(x=step, line=dict(color="#555555", width=1, dash="dash"),
                          annotation_text=f"phase {phase}", annotation_position="top left")
    fig.update_layout(title=title, height=320, margin=dict(l=10, r=10, t=40, b=10), uirevision=uirevision,
                      legend=dict(orientation="h", y=-0.2), xaxis_title=x, yaxis_title=y_title)
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def cost_quality_figure(runs: pd.DataFrame, cost: str, quality: str, cost_title: str, quality_title: str,
                        uirevision: str = "cost-quality") -> go.Figure:
    """One point per run (columns ``run``, ``scenario``, ``cost``, ``quality``), coloured by scenario.

    The cost axis is logarithmic when costs span more than two orders of magnitude (trainable parameters do).
    """
    fig = go.Figure()
    data = runs.dropna(subset=[cost, quality])
    for scenario, group in data.groupby("scenario", sort=True):
        fig.add_trace(go.Scatter(x=group[cost], y=group[quality], mode="markers+text", text=group["run"],
                                 textposition="top center", name=str(scenario), marker=dict(size=12),
                                 hovertemplate="%{text}<br>" + cost_title + " %{x:,}<br>" + quality_title
                                 + " %{y:.3f}<extra>" + str(scenario) + "</extra>"))
    positive = data[cost][data[cost] > 0]
    if len(positive) and positive.max() / max(positive.min(), 1e-12) > 100:
        fig.update_xaxes(type="log")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), xaxis_title=cost_title,
                      yaxis_title=quality_title, uirevision=uirevision, title=f"{quality_title} vs {cost_title}")
    return fig
