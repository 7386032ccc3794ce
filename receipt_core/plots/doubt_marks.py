"""How a figure marks a word to doubt, the same on every page: a word the OCR read with low confidence is hatched in
black; a word whose answer the model is unsure of gets a yellow star on its box's top right corner. No label is drawn
either way, so the label's own outline stays readable under both (walkthroughs read an orange outline as
ITEM_UNIT_PRICE, a dashed blue one as a suggestion, and Predict's dotted magenta as SUBTOTAL's pink)."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

LOW_OCR_COLOR = "#000000"  # the hatching of a word the OCR read with low confidence
LOW_OCR_HATCH = "/"
UNSURE_COLOR = "#FFD400"  # the star of a word the model is unsure of, outlined in black: seen on paper and photos
UNSURE_SYMBOL = "star"

Box = tuple[float, float, float, float]


def add_low_ocr_hatching(fig: go.Figure, boxes: Sequence[Box], name: str) -> None:
    """``boxes`` hatched, see-through, as one trace named ``name: <count>`` (nothing when there are none)."""
    if not boxes:
        return
    xs: list = []
    ys: list = []
    for x0, y0, x1, y1 in boxes:
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=LOW_OCR_COLOR, width=0), fill="toself",
                             fillcolor="rgba(0,0,0,0)", name=f"{name}: {len(boxes)}", hoverinfo="skip",
                             fillpattern=dict(shape=LOW_OCR_HATCH, fgcolor=LOW_OCR_COLOR, bgcolor="rgba(0,0,0,0)",
                                              solidity=0.2, size=8)))


def add_unsure_stars(fig: go.Figure, boxes: Sequence[Box], name: str) -> None:
    """A star on each box's top right corner, as one trace named ``name: <count>`` (nothing when there are none)."""
    if not boxes:
        return
    fig.add_trace(go.Scatter(x=[box[2] for box in boxes], y=[box[1] for box in boxes], mode="markers",
                             marker=dict(symbol=UNSURE_SYMBOL, size=10, color=UNSURE_COLOR,
                                         line=dict(color="#000000", width=1)),
                             name=f"{name}: {len(boxes)}", hoverinfo="skip"))
