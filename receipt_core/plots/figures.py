"""Plotly figures of receipts for the dashboard: labelled word boxes over the image or a blank page (training
curves and cost vs quality are ``run_charts``).

No Streamlit here: every function takes plain data and returns a ``plotly.graph_objects.Figure``, so pages stay
thin and the figures can be tested (and reused in notebooks) without a server.

Receipts are drawn in the document's pixel coordinates (y pointing down, as in the image). A receipt with pixels
shows the image under the boxes; a receipt without (most of CORD) shows a blank page with each word's text
written in its box. Boxes are coloured by label; quantity words get a thick dark outline and a ``×`` marker so
they stand out whatever their colour.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import plotly.graph_objects as go
from PIL import Image

from ..data.annotation import answer_score
from ..data.document import NOT_LABELLED, Document
from ..data.markup import escape_markup
from ..data.schema import DEFAULT_SCHEMA, OTHER, QUANTITY, LabelSchema, stored_answer
from .chart_layout import figure_title, legend_rows, title_top
from .click_targets import click_targets
from .doubt_marks import add_low_ocr_hatching, add_unsure_stars

FIGURE_HEIGHT = 720  # pixels on screen for a receipt figure
WIDE_PAGE_SHARE = 0.55  # the least share of FIGURE_HEIGHT a page wider than tall gets (page_figure_height)
MAX_IMAGE_SIDE = 1400  # the background image is downscaled to this before it is sent to the browser
LOW_CONFIDENCE = 60.0  # Tesseract confidence below which a word is flagged for review
WRITTEN_WORDS_MAX = 1_000  # a blank page's words are written on it only up to this many (a probe's 4,116 froze it)
NARROW_RECEIPT_PX = 480  # the receipt column at its narrowest (Annotate beside its word panel at 1366 pixels)

# Colour-blind-friendly qualitative palette (Okabe-Ito, Paul Tol, Tableau) — OTHER is a quiet grey. In the schema's
# field order; a walkthrough confused DISCOUNT's vermilion with QUANTITY's red, PAYMENT's cyan with SERVICE's sky
# blue, and could not see TAX's yellow on receipt paper: wine, purple and olive now, every colour dark enough for white
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#882255", "#56B4E9", "#999933", "#8C564B",
            "#9467BD", "#332288", "#44AA99", "#BCBD22")
# greys dark enough to see on white receipt paper (a walkthrough could not find #B0B0B0 outlines on a photo)
OTHER_COLOR = "#7A7A7A"
# a word nobody labelled, dotted: in OTHER_COLOR, its outline vanished on a photo's light paper (a walkthrough took a
# word for one the OCR had missed)
NOT_LABELLED_COLOR = "#2B2B2B"
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
    flagged: bool = False  # a word to doubt: its OCR confidence (document marks) or model score (predictions) is low


OCR_SCORE = "OCR confidence"  # a document mark's score: Tesseract's, 0-100


def document_marks(doc: Document, low_confidence: float = LOW_CONFIDENCE) -> list[BoxMark]:
    """Marks for a document's own labels (annotation view), a word nobody labelled as "not labelled" (as the label
    counts and the word table say, not OTHER); low-OCR-confidence words are flagged."""
    return [BoxMark(index=i, text=w.text, box=w.box, label=w.annotation_label if w.is_labelled else NOT_LABELLED,
                    quantity=w.is_quantity,
                    score=w.confidence, score_name=OCR_SCORE,
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
                             label=stored_answer(word), quantity=quantity,
                             score=score, score_name="quantity score" if quantity else "field score",
                             # not a word its line's arithmetic settled (evaluation.confidence.is_unsure)
                             flagged=score is not None and score < uncertain_below and not word.get("reconciled")))
    return marks


def receipt_figure(width: int, height: int, marks: Sequence[BoxMark], image: Image.Image | str | None = None,
                   title: str | tuple[str, ...] = "", schema: LabelSchema = DEFAULT_SCHEMA,
                   selected: int | None = None, uirevision: str | None = None,
                   figure_height: int | None = None) -> go.Figure:
    """A receipt page with word boxes coloured by label, over its image or a blank page with the words written.
    ``figure_height`` (screen pixels): :func:`page_figure_height` of the page unless given.

    ``selected`` (a word index) is drawn with a thick outline. ``uirevision`` keeps the user's zoom across
    redraws of the same receipt.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"a receipt page must have a positive size, got {width}x{height}")
    view = page_view(width, height, (m.box for m in marks), image is not None)
    figure_height = figure_height or page_figure_height(view.width, view.height)
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
        # nobody's label: a dotted outline in near black, as Annotate draws it (walkthroughs could not see light grey
        # boxes on white paper)
        line = (dict(color=NOT_LABELLED_COLOR, width=1.5, dash="dot") if label == NOT_LABELLED
                else dict(color=color, width=1.5))
        xs, ys = _outline(m.box for m in group)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", fill="toself", fillcolor=_alpha(color, 0.18 if image is not None else 0.12),
            line=line, name=escape_markup(label), legendgroup=label, hoverinfo="skip"))  # a label as text (a probe's
        # re-signed run named a field as a link, drawn live in the legend)
        targets = click_targets([m.box for m in group], [m.index for m in group], [_hover(m) for m in group])
        fig.add_trace(go.Scatter(  # invisible points along each box carry the hover text and make words clickable
            x=targets.x, y=targets.y, mode="markers", marker=dict(size=6, color=color, opacity=0.01),
            legendgroup=label, showlegend=False, customdata=targets.index, hovertext=targets.hover, hoverinfo="text",
            name=escape_markup(label)))

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
    # marked as the overlay marks them, by what the score is: a dotted magenta "low confidence" read as SUBTOTAL's
    # pink, and unlike Annotate's stars (walkthrough 27)
    add_low_ocr_hatching(fig, [m.box for m in marks if m.flagged and m.score_name == OCR_SCORE], "low OCR confidence")
    add_unsure_stars(fig, [m.box for m in marks if m.flagged and m.score_name != OCR_SCORE], "model unsure")
    if selected is not None:
        chosen = [m for m in marks if m.index == selected]
        if chosen:
            xs, ys = _outline(m.box for m in chosen)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#000000", width=4),
                                     name=f"word {selected}", hoverinfo="skip"))
    if image is None:
        _write_words(fig, marks, view, figure_height)

    lay_out_page(fig, view, figure_height, uirevision, title)
    return fig


def document_figure(doc: Document, image: Image.Image | str | None = None, selected: int | None = None,
                    schema: LabelSchema = DEFAULT_SCHEMA, title: str = "") -> go.Figure:
    """The annotation view of a document: its own labels, low OCR confidence flagged."""
    return receipt_figure(doc.width, doc.height, document_marks(doc), image=image, title=title, schema=schema,
                          selected=selected, uirevision=f"doc-{doc.id}")


def prediction_figure(width: int, height: int, prediction: Mapping[str, Any],
                      image: Image.Image | str | None = None,
                      schema: LabelSchema = DEFAULT_SCHEMA, title: str | tuple[str, ...] = "",
                      uncertain_below: float = 0.5, figure_height: int | None = None) -> go.Figure:
    """A model's prediction for one receipt: boxes coloured by predicted field, quantity words marked, words whose
    field score is under ``uncertain_below`` outlined as uncertain. ``figure_height`` (screen pixels) makes it
    tall enough to read a long receipt (:func:`tall_figure_height`)."""
    return receipt_figure(width, height, prediction_marks(prediction, uncertain_below), image=image, title=title,
                          schema=schema, uirevision=f"prediction-{prediction.get('id', '')}",
                          figure_height=figure_height)


@dataclass(frozen=True)
class PageView:
    """The part of a page a receipt figure shows, in page pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0



RECEIPT_COLUMN = 420  # pixels across a receipt figure's column at 1024 to 1366 pixels (figure_and_tables' left)
RECEIPT_LEGEND_ROW = 30  # pixels of one row of a receipt figure's legend as the dashboard draws it


def lay_out_page(fig: go.Figure, view: PageView, figure_height: int, uirevision: str | None,
                 title: str | tuple[str, ...] = "") -> None:
    """The layout every receipt figure shares: its axes on ``view`` (one page pixel as wide as it is tall), its
    title under the toolbar, zoom kept across redraws (``uirevision``), and its legend below (:func:`legend_below`)."""
    fig.update_xaxes(range=[view.x0, view.x1], visible=False, constrain="domain")
    # at the top of its room, not centred in it: a wide photo in a column drew 150 px of blank above the receipt,
    # which pushed its lines below the fold at 1366 x 768 (walkthrough 38)
    fig.update_yaxes(range=[view.y1, view.y0], visible=False, scaleanchor="x", scaleratio=1, constrain="domain",
                     constraintoward="top")
    fig.update_layout(title=figure_title(title) if title else None, height=figure_height,
                      margin=dict(l=0, r=0, t=title_top(title), b=0),
                      plot_bgcolor="white", uirevision=uirevision, dragmode="zoom", hovermode="closest")
    legend_below(fig)


def legend_below(fig: go.Figure) -> None:
    """The legend in a bottom margin of its own, sized for its rows in a receipt column, and the figure that much
    taller. Placed against the plot, Plotly took its rows from the plot as it drew: a walkthrough's four-row legend
    on Annotate sat over the bottom of the receipt, whose TOTAL and CASH showed again below it."""
    names = [t.name for t in fig.data if t.showlegend is not False and t.name]
    bottom = RECEIPT_LEGEND_ROW * legend_rows(names, RECEIPT_COLUMN) + 10 if names else 0
    # on a white chip, as the receipt is: in the dark theme the black and navy samples vanished on the dark page
    # (walkthrough 58)
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-0.01, yanchor="top", bgcolor="white",
                                  font=dict(color="#222222")), margin_b=bottom,
                      height=(fig.layout.height or FIGURE_HEIGHT) + bottom)


VIEW_MARGIN = 0.04  # of the page's longer side, around the words of a page without pixels


def page_view(width: float, height: float, boxes: Iterable[Sequence[float]], has_image: bool) -> PageView:
    """The whole page over its image; without pixels, the words' extent and a margin: a CORD receipt's words fill
    a third of its page, and its blank page drew them tiny at the bottom of an empty figure (a walkthrough)."""
    boxes = list(boxes)
    if has_image or not boxes:
        return PageView(0.0, 0.0, float(width), float(height))
    margin = VIEW_MARGIN * max(width, height)
    return PageView(max(0.0, min(b[0] for b in boxes) - margin), max(0.0, min(b[1] for b in boxes) - margin),
                    min(float(width), max(b[2] for b in boxes) + margin),
                    min(float(height), max(b[3] for b in boxes) + margin))


def page_figure_height(width: int, height: int) -> int:
    """Screen pixels for a page drawn beside other things: :data:`FIGURE_HEIGHT` for a receipt taller than wide; for
    a wider photo, less in proportion (down to :data:`WIDE_PAGE_SHARE` of it), so it does not float in a tall
    blank figure (a walkthrough's 4:3 photo filled 230 of 720 pixels in a 1024-pixel screen's column)."""
    ratio = height / max(width, 1)
    return FIGURE_HEIGHT if ratio >= 1 else int(FIGURE_HEIGHT * max(WIDE_PAGE_SHARE, ratio))


def tall_figure_height(width: int, height: int, screen_width: int = 900, most: int = 2400) -> int:
    """Screen pixels that show a ``width`` × ``height`` page about ``screen_width`` wide (a large view), capped."""
    return int(min(most, max(FIGURE_HEIGHT, screen_width * height / max(width, 1))))


def display_source(image: Image.Image) -> str:
    """The image as the browser gets it: at most :data:`MAX_IMAGE_SIDE` pixels on a side, as a JPEG data URI.
    Plotly's own encoding of a PIL image is a PNG, which cost 0.6–1.1 s per redraw of a phone photo (a probe);
    a page that redraws one receipt often keeps this string (``ui/receipt_images.py``)."""
    buffer = io.BytesIO()
    _display_image(image).convert("RGB").save(buffer, "JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _page_background(fig: go.Figure, width: float, height: float, image: Image.Image | str | None) -> None:
    """Under everything: the receipt's image (pixels, or :func:`display_source`'s data URI) stretched over the
    ``width`` × ``height`` page, or without one a blank white page with a thin grey border."""
    if image is not None:
        source = image if isinstance(image, str) else display_source(image)
        fig.add_layout_image(source=source, xref="x", yref="y", x=0, y=0, sizex=width, sizey=height,
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
    parts = [f"#{mark.index} <b>{escape_markup(mark.text)}</b>", escape_markup(mark.label)]
    if mark.score is not None:
        parts.append(f"{mark.score_name} {mark.score:.2f}" if mark.score <= 1 else f"{mark.score_name} {mark.score:.0f}")
    return "<br>".join(parts)


def _write_words(fig: go.Figure, marks: Sequence[BoxMark], view: PageView, figure_height: int) -> None:
    """Write each word's text in its box, sized to the box (blank-page view of receipts without pixels); not over
    :data:`WRITTEN_WORDS_MAX` words, which no one reads at the figure's size and the browser draws for seconds."""
    if not marks or len(marks) > WRITTEN_WORDS_MAX:
        return
    scale = figure_height / view.height  # screen pixels per page pixel, roughly (the view fills the height)
    across = min(scale, NARROW_RECEIPT_PX / view.width)  # a wide view fills the width instead, at its narrowest
    sizes = [max(5, min(18, 0.7 * (m.box[3] - m.box[1]) * scale)) for m in marks]
    fig.add_trace(go.Scatter(
        x=[(m.box[0] + m.box[2]) / 2 for m in marks], y=[(m.box[1] + m.box[3]) / 2 for m in marks],
        mode="text", text=[escape_markup(_fitted(m.text, (m.box[2] - m.box[0]) * across, size))
                           for m, size in zip(marks, sizes)],
        textfont=dict(size=sizes, color="#222222"), hoverinfo="skip", showlegend=False))


def _fitted(text: str, width_px: float, font_px: float) -> str:
    """``text`` as written in a box ``width_px`` wide: cut with "…" when it is far longer than the box holds (a
    probe corrected a word to 80 characters, and its text ran over the words beside it and off the drawing); a
    text somewhat wider than its box, as OCR boxes often are, is left whole. The hover shows it all."""
    fits = max(int(1.5 * width_px / (0.55 * font_px)), 3)  # about 0.55 em a character
    return text if len(text) <= fits else text[:fits - 1] + "…"


# --- training curves --------------------------------------------------------------------------------------
