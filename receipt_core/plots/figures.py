"""Plotly figures for the dashboard: receipts with labelled word boxes, training curves, cost vs quality.

No Streamlit here: every function takes plain data and returns a ``plotly.graph_objects.Figure``, so pages stay
thin and the figures can be tested (and reused in notebooks) without a server.

Receipts are drawn in the document's pixel coordinates (y pointing down, as in the image). A receipt with pixels
shows the image under the boxes; a receipt without (most of CORD) shows a blank page with each word's text
written in its box. Boxes are coloured by label; quantity words get a thick dark outline and a ``×`` marker so
they stand out whatever their colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from PIL import Image

from ..data.annotation import answer_score
from ..data.document import NOT_LABELLED, Document
from ..data.markup import escape_markup
from ..data.schema import DEFAULT_SCHEMA, OTHER, QUANTITY, LabelSchema
from .click_targets import click_targets

FIGURE_HEIGHT = 720  # pixels on screen for a receipt figure
MAX_IMAGE_SIDE = 1400  # the background image is downscaled to this before it is sent to the browser
LOW_CONFIDENCE = 60.0  # Tesseract confidence below which a word is flagged for review

# Colour-blind-friendly qualitative palette (Okabe-Ito, then Tableau) — OTHER is a quiet grey.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#8C564B",
            "#17BECF", "#BCBD22", "#7F7F7F", "#9467BD")
# greys dark enough to see on white receipt paper (a walkthrough could not find #B0B0B0 outlines on a photo)
TOOLBAR_ROOM = 30  # pixels Plotly's toolbar takes at a figure's top right: titles and receipts start below it
TITLED_TOP = TOOLBAR_ROOM + 28  # a titled figure's top margin: the toolbar, then the title's line


def figure_title(text: str) -> dict:
    """A figure's title, on the left and under the toolbar: centred at the top, the toolbar's icons covered it
    ("field m[icons]F1" in a walkthrough's screenshots of Train, Race and Predict). Goes with a top margin of
    :data:`TITLED_TOP`."""
    return dict(text=escape_markup(text), x=0, xref="paper", xanchor="left", y=1, yref="container", yanchor="top",
                pad=dict(t=TOOLBAR_ROOM))


OTHER_COLOR = "#7A7A7A"
NOT_LABELLED_COLOR = "#A8A8A8"  # lighter than OTHER: a word nobody labelled yet is not OTHER
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
    """Marks for a document's own labels (annotation view), a word nobody labelled as "not labelled" (as the label
    counts and the word table say, not OTHER); low-OCR-confidence words are flagged."""
    return [BoxMark(index=i, text=w.text, box=w.box, label=w.annotation_label if w.is_labelled else NOT_LABELLED,
                    quantity=w.is_quantity,
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
        score = answer_score(word) if "field_score" in word else None  # a quantity word's: the quantity head's
        marks.append(BoxMark(index=i, text=str(word.get("text", "")), box=tuple(word["box"]),
                             label=QUANTITY if quantity else str(word.get("field", OTHER)), quantity=quantity,
                             score=score, score_name="quantity score" if quantity else "field score",
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
    colors = {**label_colors(schema), NOT_LABELLED: NOT_LABELLED_COLOR}
    fig = go.Figure()
    _page_background(fig, width, height, image)

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
        targets = click_targets([m.box for m in group], [m.index for m in group], [_hover(m) for m in group])
        fig.add_trace(go.Scatter(  # invisible points along each box carry the hover text and make words clickable
            x=targets.x, y=targets.y, mode="markers", marker=dict(size=6, color=color, opacity=0.01),
            legendgroup=label, showlegend=False, customdata=targets.index, hovertext=targets.hover, hoverinfo="text",
            name=label))

    quantity = [m for m in marks if m.quantity]
    if quantity:
        xs, ys = _outline(m.box for m in quantity)
        # 2 px and a small marker: on a receipt drawn small (CORD words without pixels) 3 px and a 7 px cross
        # turned "1 x" into a dark blob
        # part of QUANTITY's legend entry (its toggle hides both), not an entry of its own beside it
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=QUANTITY_OUTLINE, width=2),
                                 name="quantity word", legendgroup=QUANTITY, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=[m.box[0] for m in quantity], y=[m.box[1] for m in quantity], mode="markers",
                                 marker=dict(symbol="x-thin", size=5, line=dict(width=1.5, color=QUANTITY_OUTLINE)),
                                 legendgroup=QUANTITY, showlegend=False, hoverinfo="skip"))
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
    fig.update_layout(title=figure_title(title) if title else None, height=figure_height,
                      margin=dict(l=0, r=0, t=TITLED_TOP if title else TOOLBAR_ROOM, b=0),
                      plot_bgcolor="white", legend=dict(orientation="h", y=-0.02, yanchor="top"),
                      uirevision=uirevision, dragmode="zoom", hovermode="closest")
    return fig


def document_figure(doc: Document, image: Image.Image | None = None, selected: int | None = None,
                    schema: LabelSchema = DEFAULT_SCHEMA, title: str = "") -> go.Figure:
    """The annotation view of a document: its own labels, low OCR confidence flagged."""
    return receipt_figure(doc.width, doc.height, document_marks(doc), image=image, title=title, schema=schema,
                          selected=selected, uirevision=f"doc-{doc.id}")


def prediction_figure(width: int, height: int, prediction: Mapping[str, Any], image: Image.Image | None = None,
                      schema: LabelSchema = DEFAULT_SCHEMA, title: str = "", uncertain_below: float = 0.5,
                      figure_height: int = FIGURE_HEIGHT) -> go.Figure:
    """A model's prediction for one receipt: boxes coloured by predicted field, quantity words marked, words whose
    field score is under ``uncertain_below`` outlined as uncertain. ``figure_height`` (screen pixels) makes it
    tall enough to read a long receipt (:func:`tall_figure_height`)."""
    return receipt_figure(width, height, prediction_marks(prediction, uncertain_below), image=image, title=title,
                          schema=schema, uirevision=f"prediction-{prediction.get('id', '')}",
                          figure_height=figure_height)


def tall_figure_height(width: int, height: int, screen_width: int = 900, most: int = 2400) -> int:
    """Screen pixels that show a ``width`` × ``height`` page about ``screen_width`` wide (a large view), capped."""
    return int(min(most, max(FIGURE_HEIGHT, screen_width * height / max(width, 1))))


def _page_background(fig: go.Figure, width: float, height: float, image: Image.Image | None) -> None:
    """Under everything: the receipt's image stretched over the ``width`` × ``height`` page, or without one a
    blank white page with a thin grey border."""
    if image is not None:
        fig.add_layout_image(source=_display_image(image), xref="x", yref="y", x=0, y=0, sizex=width, sizey=height,
                             xanchor="left", yanchor="top", sizing="stretch", layer="below")
    else:
        fig.add_shape(type="rect", x0=0, y0=0, x1=width, y1=height, line=dict(color="#999999", width=1),
                      fillcolor="white", layer="below")


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
    parts = [f"#{mark.index} <b>{escape_markup(mark.text)}</b>", mark.label]
    if mark.score is not None:
        parts.append(f"{mark.score_name} {mark.score:.2f}" if mark.score <= 1 else f"{mark.score_name} {mark.score:.0f}")
    return "<br>".join(parts)


def _write_words(fig: go.Figure, marks: Sequence[BoxMark], page_height: int, figure_height: int) -> None:
    """Write each word's text in its box, sized to the box (blank-page view of receipts without pixels)."""
    if not marks:
        return
    scale = figure_height / page_height  # screen pixels per page pixel, roughly (the page fills the height)
    fig.add_trace(go.Scatter(
        x=[(m.box[0] + m.box[2]) / 2 for m in marks], y=[(m.box[1] + m.box[3]) / 2 for m in marks],
        mode="text", text=[escape_markup(m.text) for m in marks],
        textfont=dict(size=[max(5, min(18, 0.7 * (m.box[3] - m.box[1]) * scale)) for m in marks], color="#222222"),
        hoverinfo="skip", showlegend=False))


# --- training curves --------------------------------------------------------------------------------------


SERIES_COLORS = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
                 "#9C755F", "#BAB0AC")
"""Tableau 10: a qualitative palette whose ten colours stay apart (lines of up to ten runs, scenarios' points)."""
SCENARIO_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon")
UNCOLOURED_RUN = "#9E9E9E"  # a run the page draws in no colour elsewhere


def kept_series_colors(chosen: Sequence[str], kept: Mapping[str, str]) -> dict[str, str]:
    """A colour of ``SERIES_COLORS`` for each of ``chosen`` (at most ten): a run keeps the colour ``kept`` gave it,
    and a newly chosen run takes the first colour no other chosen run holds, so adding or removing one run never
    recolours the others."""
    colors = {key: kept[key] for key in chosen if kept.get(key) in SERIES_COLORS}
    taken: set[str] = set()
    for key in chosen:  # two kept runs with one colour (never from this function): the later one is given another
        if key in colors and colors[key] in taken:
            del colors[key]
        elif key in colors:
            taken.add(colors[key])
    free = [color for color in SERIES_COLORS if color not in taken]
    for key in chosen:
        if key not in colors:
            colors[key] = free.pop(0) if free else UNCOLOURED_RUN
    return {key: colors[key] for key in chosen}


CURVE_AXES = {"step": "step", "epoch": "epoch", "wall_s": "wall-clock seconds"}


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """An exponential moving average (TensorBoard's smoothing): ``weight`` 0 keeps the values, 0.99 smooths hard.
    Debiased, so the first points are not pulled towards 0."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out, average, norm = [], 0.0, 0.0
    for value in values:
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out.append(average / norm)
    return out


def curve_figure(points: pd.DataFrame, title: str, y_title: str, phases: Sequence[tuple[int, int]] = (),
                 uirevision: str = "curves", x: str = "step", log_y: bool = False,
                 smoothing: float = 0.0, colors: Mapping[str, str] | None = None) -> go.Figure:
    """Lines of ``points`` (columns ``x``, ``series``, ``value``; ``step`` too for phase markers on another
    axis), one per series in :data:`SERIES_COLORS`, phase starts as dashed lines.

    ``x`` is ``step``, ``epoch`` or ``wall_s`` (a RunFeed's curve columns). With ``smoothing`` (0…<1) each series is
    drawn faintly as measured under its exponential moving average. ``phases`` is ``[(step, phase number), …]``;
    phase 1 at step 0 is not drawn; each later phase gets a dashed line labelled inside the plot at its top, and
    the legend sits below the axis, so the two never overlap. ``uirevision`` must stay the same across redraws of
    the same chart so the user's zoom and hidden series survive live updates.
    """
    # The figure is assembled as plain dicts and validated once by the constructor: the Train page rebuilds these
    # charts every refresh while a run trains in the same process, and figure-by-figure updates (add_trace,
    # add_vline, update_layout: ~50 ms a chart) held the GIL the training thread needed.
    traces: list[dict] = []
    if not points.empty:
        for i, (series, group) in enumerate(points.dropna(subset=[x]).groupby("series", sort=False)):
            name = escape_markup(series)  # a run's name on the Runs page
            group = group.sort_values(x)
            color = (colors or {}).get(series) or SERIES_COLORS[i % len(SERIES_COLORS)]
            mode = "lines+markers" if len(group) < 40 else "lines"
            xs, values = group[x].to_numpy(), group["value"].to_numpy()
            if smoothing > 0 and len(group) > 2:
                traces.append(dict(type="scatter", x=xs, y=values, mode="lines", name=name, legendgroup=name,
                                   showlegend=False, opacity=0.3, line=dict(color=color, width=1),
                                   hoverinfo="skip"))
                traces.append(dict(type="scatter", x=xs, y=smooth(values.tolist(), smoothing), mode="lines", name=name,
                                   legendgroup=name, line=dict(color=color, width=2)))
            else:
                traces.append(dict(type="scatter", x=xs, y=values, mode=mode, name=name, line=dict(color=color),
                                   marker=dict(size=5, color=color)))
    shapes, annotations = [], []
    for step, phase in phases:
        if phase > 1:
            at = _x_at_step(points, step, x)
            if at is None:
                continue
            shapes.append(dict(type="line", x0=at, x1=at, xref="x", y0=0, y1=1, yref="y domain",
                               line=dict(color="#555555", width=1, dash="dash")))
            annotations.append(dict(x=at, y=1, xref="x", yref="paper", yanchor="top", xanchor="left",
                                    showarrow=False, text=f"phase {phase}", font=dict(size=11, color="#333333"),
                                    bgcolor="rgba(255,255,255,0.85)"))
    layout = dict(title=figure_title(title), height=340, margin=dict(l=10, r=10, t=TITLED_TOP, b=10),
                  uirevision=uirevision, legend=dict(orientation="h", y=-0.25, yanchor="top", x=0, xanchor="left"),
                  xaxis=dict(title=dict(text=CURVE_AXES.get(x, x))),
                  yaxis=dict(title=dict(text=y_title), **({"type": "log"} if log_y else {})),
                  shapes=shapes, annotations=annotations)
    if not traces:  # Plotly's empty axes run from -1 to 4: say what is coming instead
        layout["xaxis"]["range"], layout["yaxis"]["range"] = [0, 1], [0, 1]
        layout["annotations"] = [dict(x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                                      text="no points yet", font=dict(size=13, color="#777777"))]
    fig = go.Figure(data=traces, layout=layout)
    return fig


def _x_at_step(points: pd.DataFrame, step: int, x: str) -> float | None:
    """Where ``step`` falls on the ``x`` axis: the step itself, or the first point's ``x`` at or after it."""
    if x == "step":
        return step
    if points.empty or "step" not in points or x not in points:
        return None
    after = points[points["step"] >= step].dropna(subset=[x])
    return None if after.empty else float(after.sort_values("step")[x].iloc[0])


def _apart(side: pd.Series, x: pd.Series, y: pd.Series) -> pd.Series:
    """Labels of points close together (within 5 % of the x span and 0.04 in quality) take turns above, below and
    level with their points, on the side they lean to, from the highest point down: three freeze-backbone runs a few
    thousandths apart printed their names over each other (a walkthrough)."""
    x_near = max(float(x.max() - x.min()), 1e-12) * 0.05
    side = side.copy()
    placed: list[tuple[float, float]] = []
    for index in y.sort_values(ascending=False, kind="stable").index:  # highest first: its label goes above, the
        # next one's below (lowest first put the lower point's label above the higher one's: they crossed)
        near = sum(1 for px, py in placed if abs(px - x[index]) <= x_near and abs(py - y[index]) <= 0.04)
        lean = side[index].split()[1]  # kept: a label flipped to the other side was cut at the axis (a walkthrough)
        side[index] = (f"top {lean}", f"bottom {lean}", f"middle {lean}")[near % 3]
        placed.append((float(x[index]), float(y[index])))
    return side


def cost_quality_figure(runs: pd.DataFrame, cost: str, quality: str, cost_title: str, quality_title: str,
                        uirevision: str = "cost-quality", label: str = "run",
                        colors: Mapping[str, str] | None = None) -> go.Figure:
    """One point per run (columns ``label``, ``scenario``, ``cost``, ``quality``), coloured by scenario in
    :data:`SERIES_COLORS`, each labelled with its ``label`` column. With ``colors`` (label → colour: the runs
    another chart on the page draws in those colours) a point takes its run's colour, grey when it has none, and
    the scenario is told by the marker's shape instead; only the coloured runs are labelled then (every point
    names its run on hover).

    Labels lean away from the nearer side (right of the points in the left half, left of them in the right half)
    and are not clipped at the axes, and the margins leave them room, so none is cut off. The cost axis is
    logarithmic when costs span more than two orders of magnitude (trainable parameters do).
    """
    fig = go.Figure()
    data = runs.dropna(subset=[cost, quality])
    positive = data[cost][data[cost] > 0]
    log_x = bool(len(positive)) and positive.max() / max(positive.min(), 1e-12) > 100
    side = pd.Series("top center", index=data.index)
    if len(data):
        xs = data[cost].clip(lower=positive.min() if log_x else None).astype(float)
        position = xs.map(math.log10) if log_x else xs
        middle = (position.min() + position.max()) / 2
        side = position.map(lambda v: "top right" if v <= middle else "top left")
        side = _apart(side, position, data[quality].astype(float))
    for i, (scenario, group) in enumerate(data.groupby("scenario", sort=True)):
        names = group[label].map(escape_markup)
        # with colours, only the runs overlaid above are labelled (the grey ones by hover): thirteen labels in one
        # corner printed over each other (a walkthrough)
        shown = names if colors is None else names.where(group[label].isin(list(colors)), "")
        fig.add_trace(go.Scatter(x=group[cost], y=group[quality], mode="markers+text",
                                 text=shown, customdata=names,
                                 textposition=side[group.index].tolist(), name=escape_markup(scenario),
                                 cliponaxis=False,
                                 marker=dict(size=12, color=SERIES_COLORS[i % len(SERIES_COLORS)]) if colors is None
                                 else dict(size=12, symbol=SCENARIO_SYMBOLS[i % len(SCENARIO_SYMBOLS)],
                                           color=[colors.get(name, UNCOLOURED_RUN) for name in group[label]]),
                                 hovertemplate="%{customdata}<br>" + cost_title + " %{x:,}<br>" + quality_title
                                 + " %{y:.3f}<extra>" + escape_markup(scenario) + "</extra>",
                                 showlegend=colors is None))
        if colors is not None:  # the legend tells the scenario by shape alone: a grey marker, not a run's colour
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=escape_markup(scenario),
                                     marker=dict(size=12, symbol=SCENARIO_SYMBOLS[i % len(SCENARIO_SYMBOLS)],
                                                 color=UNCOLOURED_RUN), hoverinfo="skip"))
    if len(data) and data[quality].between(0, 1).all():  # a score: its whole scale, not 0-1.5 around one point
        fig.update_yaxes(range=[min(0.0, float(data[quality].min())) - 0.02, 1.05])
    if log_x:
        fig.update_xaxes(type="log")
    elif len(data) and data[cost].max() - data[cost].min() <= 1e-9 * max(abs(data[cost].max()), 1.0):
        # every run costs the same: Plotly would zoom into a rounding error and tick 2.316364M, 2.3163645M, …
        center = float(data[cost].max())
        half = max(abs(center) * 0.5, 1.0)
        fig.update_xaxes(range=[center - half, center + half], tickformat="~s")
    fig.update_layout(height=420, margin=dict(l=60, r=60, t=60, b=40), xaxis_title=cost_title,
                      yaxis_title=quality_title, uirevision=uirevision, title=f"{quality_title} vs {cost_title}")
    return fig
