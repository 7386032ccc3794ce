"""Strings from users and files shown verbatim where a renderer reads markup.

Plotly reads ``<a href>``, ``<b>``, ``<br>`` and HTML entities in titles, legend names, labels and hovers, so a
document id, run name or word text that holds them would become a live link or formatting. Every such string goes
through :func:`escape_markup` before it reaches a figure. (Streamlit text is kept literal by ``ui/literal.py``.)
"""

from __future__ import annotations


def escape_markup(text: object) -> str:
    """``text`` as Plotly shows it verbatim (``&``, ``<`` and ``>`` as entities)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
