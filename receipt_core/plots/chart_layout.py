"""Where a Plotly figure's title and content start: below the toolbar Plotly draws at its top right."""

from __future__ import annotations

from ..data.markup import escape_markup

TOOLBAR_ROOM = 30  # pixels Plotly's toolbar takes at a figure's top right: titles and receipts start below it
TITLED_TOP = TOOLBAR_ROOM + 28  # a titled figure's top margin: the toolbar, then the title's line
TITLE_LINE = 20  # pixels of each further line of a title


AXIS_ROOM = 48  # pixels below a plot for its tick labels and its x-axis title
LEGEND_ROW = 20  # pixels of one row of a horizontal legend
NARROW_CHART = 280  # pixels across the narrowest chart drawn: one of two columns on a 1024-pixel screen


def figure_title(text: str | tuple[str, ...]) -> dict:
    """A figure's title, on the left and under the toolbar: centred at the top, the toolbar's icons covered it
    ("field m[icons]F1" in a walkthrough's screenshots of Train, Race and Predict). It starts at the figure's
    edge, not the plot's, so a long title in a narrow column keeps its last word ("Field labels: validation
    metr" at 1024 pixels). A tuple is one line each (Predict's receipt, then its run: walkthrough 37 read
    "… · text-minilm · phase" at 1280 pixels). Goes with a top margin of :func:`title_top`."""
    lines = (text,) if isinstance(text, str) else text
    return dict(text="<br>".join(escape_markup(line) for line in lines), x=0, xref="container", xanchor="left",
                y=1, yref="container", yanchor="top", pad=dict(t=TOOLBAR_ROOM, l=8), font=dict(size=15))


def title_top(text: str | tuple[str, ...]) -> int:
    """The top margin of a figure titled ``text`` (:func:`figure_title`; nothing: the toolbar's room alone)."""
    if not text:
        return TOOLBAR_ROOM
    return TITLED_TOP + TITLE_LINE * (0 if isinstance(text, str) else len(text) - 1)


def legend_rows(names: list[str], width: int = NARROW_CHART) -> int:
    """Rows a horizontal legend of ``names`` takes in a chart ``width`` pixels across (about 6.5 pixels a
    character, 45 for an entry's line sample and gap), counted as Plotly fills them: entry by entry."""
    rows, used = 1, 0.0
    for name in names:
        entry = 45 + 6.5 * len(name)
        if used and used + entry > width:
            rows, used = rows + 1, 0.0
        used += entry
    return rows


def bottom_legend(names: list[str]) -> tuple[dict, int]:
    """A horizontal legend at the figure's bottom edge, and the bottom margin that holds it below the x-axis title
    at the narrowest width. Placed against the plot instead, it moved up as its rows took room from the plot and
    covered the axis title ("step" under the first entry, in a walkthrough's screenshots of Train)."""
    legend = dict(orientation="h", x=0, xanchor="left", y=0, yref="container", yanchor="bottom")
    return legend, AXIS_ROOM + LEGEND_ROW * legend_rows(names) + 6

