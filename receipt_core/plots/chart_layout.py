"""Where a Plotly figure's title and content start: below the toolbar Plotly draws at its top right."""

from __future__ import annotations

from ..data.markup import escape_markup

TOOLBAR_ROOM = 30  # pixels Plotly's toolbar takes at a figure's top right: titles and receipts start below it
TITLED_TOP = TOOLBAR_ROOM + 28  # a titled figure's top margin: the toolbar, then the title's line


def figure_title(text: str) -> dict:
    """A figure's title, on the left and under the toolbar: centred at the top, the toolbar's icons covered it
    ("field m[icons]F1" in a walkthrough's screenshots of Train, Race and Predict). Goes with a top margin of
    :data:`TITLED_TOP`."""
    return dict(text=escape_markup(text), x=0, xref="paper", xanchor="left", y=1, yref="container", yanchor="top",
                pad=dict(t=TOOLBAR_ROOM))
