"""The Annotate page's receipt: every box an outline, so no box ever hides the text it labels.

- a word somebody labelled: a solid outline in its label's colour (a quantity word in the QUANTITY colour, its
  value in the hover);
- a word nobody labelled: a dotted grey outline; with a model suggestion waiting, a *dashed* outline in the
  suggested label's colour (legend "suggested LABEL"), the run and score in the hover;
- an item (words sharing a ``group_id``): a dotted frame around its words, named "item N";
- the selected word: a thick black frame just outside its box.

Low OCR confidence and the model's doubt are the overlay's marks (``overlay.add_overlay``), drawn on top of
this figure when the annotator asks for them.

Clicking a word selects it (invisible points along its box carry the word index, ``click_targets``);
box-selecting an area gives the box of a word to add. Pure Plotly, no Streamlit.
"""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
from PIL import Image

from ..data.annotation import is_item_group
from ..data.boxes import union
from ..data.document import NOT_LABELLED, Document, Word
from ..data.markup import escape_markup
from ..data.schema import DEFAULT_SCHEMA, LabelSchema
from .click_targets import click_targets
from .figures import (NOT_LABELLED_COLOR, BoxMark, _outline, _page_background, _write_words, label_colors,
                      lay_out_page, page_figure_height, page_view)

ITEM_COLOR = "#6A3D9A"
SELECTED_MARGIN = 3.0  # page pixels between a selected word's box and its frame


def annotation_figure(doc: Document, image: Image.Image | str | None = None, selected: int | None = None,
                      schema: LabelSchema = DEFAULT_SCHEMA, figure_height: int | None = None) -> go.Figure:
    """The receipt with its labels, suggestions, items and the selected word (see the module docstring)."""
    view = page_view(doc.width, doc.height, (w.box for w in doc.words), image is not None)
    figure_height = figure_height or page_figure_height(view.width, view.height)
    colors = label_colors(schema)
    fig = go.Figure()
    _page_background(fig, doc.width, doc.height, image)
    indexed = list(enumerate(doc.words))
    for label in schema.annotation_labels:
        labelled = [w for _, w in indexed if w.is_labelled and w.annotation_label == label]
        if labelled:
            _boxes(fig, [w.box for w in labelled], colors.get(label, "#000000"), label, width=2)
        suggested = [w for _, w in indexed if not w.is_labelled and w.suggestion is not None
                     and w.suggestion.annotation_label == label]
        if suggested:
            _boxes(fig, [w.box for w in suggested], colors.get(label, "#000000"), f"suggested {label}", width=1.5,
                   dash="dash")
    plain = [w for _, w in indexed if not w.is_labelled and w.suggestion is None]
    if plain:
        # dotted: OTHER is a label someone gave, in the same grey; nobody's label must not look like it
        _boxes(fig, [w.box for w in plain], NOT_LABELLED_COLOR, NOT_LABELLED, width=1.5, dash="dot")
    # items only, as the Item picker numbers them: CORD's subtotal and total groups are not items (a walkthrough saw
    # "items (24)" beside "item 1 of 22")
    items = sorted((group, words) for group, words in _items(doc.words).items() if is_item_group(doc, group))
    if items:  # one legend entry for every item frame: a receipt of 20 items listed "item 3 … item 19" taller
        pad = SELECTED_MARGIN * 2  # than the receipt itself
        frames = [(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
                  for x0, y0, x1, y1 in (union(w.box for w in words) for _, words in items)]
        _boxes(fig, frames, ITEM_COLOR, f"items ({len(items)})", width=1, dash="dot", legend="items")
    if selected is not None and 0 <= selected < len(doc.words):
        x0, y0, x1, y1 = doc.words[selected].box
        m = SELECTED_MARGIN
        _boxes(fig, [(x0 - m, y0 - m, x1 + m, y1 + m)], "#000000", f"word {selected}", width=3)
    targets = click_targets([w.box for w in doc.words], range(len(doc.words)),
                            [word_hover(i, w) for i, w in indexed])
    fig.add_trace(go.Scatter(  # invisible points along each box carry the hover text and make words clickable
        x=targets.x, y=targets.y, mode="markers", marker=dict(size=8, color="#000000", opacity=0.01),
        showlegend=False, name="words", customdata=targets.index, hovertext=targets.hover, hoverinfo="text"))
    if image is None:
        _write_words(fig, [BoxMark(index=i, text=w.text, box=w.box, label=w.annotation_label) for i, w in indexed],
                     view, figure_height)
    lay_out_page(fig, view, figure_height, f"annotate-{doc.id}")
    return fig


def word_hover(index: int, word: Word) -> str:
    """What hovering a word says: its text, its label and who gave it, a waiting suggestion, OCR confidence."""
    label = escape_markup(word.annotation_label) if word.is_labelled else NOT_LABELLED
    parts = [f"#{index} <b>{escape_markup(word.text)}</b>",
             f"{label} ({word.label_source})" if word.is_labelled else label]
    if word.is_quantity:
        parts.append(f"quantity {word.quantity_value if word.quantity_value is not None else '— (type it)'}")
    if word.label_source == "model":
        parts.append(f"accepted from {escape_markup(word.label_run or '?')}, score {word.label_score or 0:.2f}")
    if word.suggestion is not None:
        parts.append(f"suggested {escape_markup(word.suggestion.annotation_label)} {word.suggestion.score:.2f} by "
                     f"{escape_markup(word.suggestion.run)}")
    if word.group_id is not None:
        parts.append(f"item {word.group_id}")
    if word.confidence is not None:
        parts.append(f"OCR confidence {word.confidence:.0f}")
    return "<br>".join(parts)


def _items(words: Sequence[Word]) -> dict[int, list[Word]]:
    groups: dict[int, list[Word]] = {}
    for word in words:
        if word.group_id is not None:
            groups.setdefault(word.group_id, []).append(word)
    return groups


def _boxes(fig: go.Figure, boxes, color: str, name: str, width: float, dash: str = "solid",
           legend: str | None = None) -> None:
    xs, ys = _outline(boxes)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=width, dash=dash),
                             name=escape_markup(name),
                             legendgroup=legend or name, hoverinfo="skip"))

