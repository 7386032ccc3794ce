"""Strings from users and files shown verbatim where a renderer reads markup.

Plotly reads ``<a href>``, ``<b>``, ``<br>`` and HTML entities in titles, legend names, labels and hovers, so a
document id, run name or word text that holds them would become a live link or formatting. Every such string goes
through :func:`escape_markup` before it reaches a figure. Markdown that this package writes (a study's report and
the paragraph the Studies page shows) puts such strings in a :func:`code_span`. (Other Streamlit text is kept
literal by ``ui/literal.py``, which calls :func:`code_span`.) CSV downloads go through :func:`spreadsheet_csv`,
so a spreadsheet never reads a name as a formula.
"""

from __future__ import annotations

import re


def escape_markup(text: object) -> str:
    """``text`` as Plotly shows it verbatim (``&``, ``<`` and ``>`` as entities)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Bidirectional controls reorder the text around them even inside a code span (``invoice\u202egnp.exe`` shows as
# ``invoiceexe.png``), so they are shown as their escapes instead.
_BIDI_CONTROLS = {code: f"\\u{code:04x}" for code in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}


_OTHER_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


def visible_text(text: object) -> str:
    """``text`` for a widget that shows plain text (a picker's options, a table cell, a code block): bidirectional
    controls and other control characters (newline and tab kept) as their escapes, so a file name
    ``invoice\u202egnp.exe.png`` cannot show as ``invoicegnp.exe.png`` reversed."""
    return str(text).translate(_BIDI_CONTROLS).translate(_OTHER_CONTROLS)


def code_span(text: object) -> str:
    """``text`` as a Markdown code span showing it verbatim: fenced by one backtick more than its longest run of
    backticks, so a path holding `` ` `` cannot close the span early and turn what follows into a link. Whitespace
    runs (newlines included) become one space; a bidirectional control character shows as its escape (``\\u202e``)."""
    flat = " ".join(str(text).translate(_BIDI_CONTROLS).split()) or " "
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {flat} {fence}"


# What can start inline markup mid-line: escapes, code, emphasis, links and images (``[``), HTML and entities,
# table cells, strikethrough and (in Streamlit) math. Backslash-escaping them is plain CommonMark.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>|~&$])")


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that renders it verbatim mid-line (newlines become spaces): every character that could
    start a link, image, emphasis, code, HTML, a table cell break or math is backslash-escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(text).splitlines()))


def code_block(text: str) -> list[str]:
    """Lines of a fenced Markdown code block holding ``text`` verbatim, fenced by more backticks than it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: object) -> object:
    """A CSV cell as a spreadsheet shows it verbatim: text starting like a formula (``=``, ``+``, ``-``, ``@``, tab,
    carriage return) gets a leading apostrophe, as OWASP advises against CSV injection (a file named
    ``=HYPERLINK(…).png`` would otherwise become a live formula in Excel or LibreOffice). Numbers pass unchanged."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def spreadsheet_csv(frame) -> bytes:
    """``frame`` (a pandas DataFrame) as UTF-8 CSV bytes with every text cell passed through
    :func:`spreadsheet_text`: what the dashboard's CSV downloads hand out."""
    safe = frame.map(spreadsheet_text)
    safe.columns = [spreadsheet_text(column) for column in frame.columns]
    return safe.to_csv(index=False).encode("utf-8")
