"""User-supplied text (names, file names, document ids, error messages quoting them) inside a Markdown string.

``st.success``/``st.error``/``st.caption``/``st.subheader``/``st.toast`` render Markdown: a dataset named
``[click me](https://evil.example/x)`` would become a live link, ``![t](https://evil.example/t.png)`` a remote
image the browser fetches. :func:`literal` wraps such text in a code span, where Markdown, Streamlit's
``:color[…]``/``:material/…:`` directives and emoji shortcodes are not interpreted: it shows exactly as typed.
"""

from __future__ import annotations

import ast
import re
from typing import Iterable

from receipt_core.data.markup import code_span, one_line, visible_text

# a Python repr of a string: 'x', "it's"; never an apostrophe inside or after a word ("the workspace's OCR
# cache … the receipts' images" read as one quote, half a sentence in code font: a probe)
_QUOTED = re.compile(r"(?<!\w)(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")(?!\w)")
# What Markdown or Streamlit could read as markup outside the quotes: punctuation that formats, links or embeds,
# a directive or shortcode (":red[", ":smile:"), a bare address, a heading or a list at the start.
_MARKUP = re.compile(r"[\\`*_\[\]<|~$&@]|:\S|https?:|www\.|^\s*(?:#|\d+[.)]\s|[-+*]\s|>|=)",
                     re.IGNORECASE | re.MULTILINE)


def literal(text: object, limit: int | None = None, exact: bool = False) -> str:
    """``text`` as a Markdown code span showing it verbatim (:func:`receipt_core.data.markup.code_span`: whitespace
    runs, newlines included, become one space; an invisible or bidirectional control character, its escape such as
    ``\\u202e`` or ``\\u200b``). With ``limit``, text longer than that is cut there and ends in "…" (a value from a
    link, which may be 20,000 characters long). With ``exact``, whitespace that would be hidden shows too: a newline,
    tab or other space character as its escape (``\\n``), spaces at either end said in words; for a value that
    matched nothing and may differ from a name only by them (a probe's ``?dataset=dev%0A`` read "Dataset `dev`
    from the link is not in this workspace")."""
    text = str(text)
    text = text if limit is None or len(text) <= limit else text[:limit] + "…"
    if not exact:
        return code_span(text)
    shown = "".join(char if char == " " or not char.isspace() else repr(char)[1:-1] for char in text)
    ends = [f"{count} space{'s' if count > 1 else ''} {where}" for count, where in
            ((len(shown) - len(shown.lstrip(" ")), "before it"), (len(shown) - len(shown.rstrip(" ")), "after it"))
            if count and shown.strip(" ")]
    if shown and not shown.strip(" "):
        ends = [f"{len(shown)} space{'s' if len(shown) > 1 else ''} only"]
    return code_span(shown) + (f" ({' and '.join(ends)})" if ends else "")


def plain(text: object) -> str:
    """``text`` for a widget that shows one line of plain text, not Markdown (a picker's option, a button): control,
    bidirectional and zero-width characters (Unicode Cc and Cf) as their escapes, newline and tab included
    (:func:`receipt_core.data.markup.one_line`): a file named ``a\nb.png`` showed as ``ab.png`` in a picker,
    while the ``\r`` beside it was escaped (a probe)."""
    return one_line(text)


def plain_lines(lines: Iterable[object]) -> str:
    """``lines`` for a plain-text block (``st.code``), one per line, each as :func:`plain` shows it: a line break
    inside one (a file's name in a problem) cannot pass for a line of its own."""
    return "\n".join(plain(line) for line in lines)


def plain_text(text: object) -> str:
    """``text`` a person wrote over several lines (a run's notes), for a plain-text block: its line breaks and tabs
    kept, every other control, bidirectional and zero-width character as its escape
    (:func:`receipt_core.data.markup.visible_text`)."""
    return visible_text(text)


def notice_markdown(text: object) -> str:
    """A sentence this app wrote that quotes user text as Python does (``'TOTAL'``, ``"it's"``), as Markdown: each
    quote a code span (:func:`literal`), the rest plain prose, so a notice no longer reads entirely in code font
    (a walkthrough of Undo). When the rest holds anything Markdown or Streamlit could take for markup (a user's
    text that was not quoted, say), the whole sentence is one code span instead."""
    text = str(text)
    if _MARKUP.search(_QUOTED.sub("", text)):
        return literal(text)
    parts, end = [], 0
    for quoted in _QUOTED.finditer(text):
        parts += [visible_text(text[end:quoted.start()]), literal(_unquoted(quoted.group(0)))]
        end = quoted.end()
    return "".join([*parts, visible_text(text[end:])])


def _unquoted(quoted: str) -> str:
    """What a Python repr of a string stands for (``'it\\'s'`` → ``it's``): the text as the user typed it."""
    try:
        value = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        return quoted[1:-1]
    return value if isinstance(value, str) else quoted[1:-1]
