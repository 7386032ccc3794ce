"""User-supplied text (names, file names, document ids, error messages quoting them) inside a Markdown string.

``st.success``/``st.error``/``st.caption``/``st.subheader``/``st.toast`` render Markdown: a dataset named
``[click me](https://evil.example/x)`` would become a live link, ``![t](https://evil.example/t.png)`` a remote
image the browser fetches. :func:`literal` wraps such text in a code span, where Markdown, Streamlit's
``:color[…]``/``:material/…:`` directives and emoji shortcodes are not interpreted: it shows exactly as typed.
"""

from __future__ import annotations

import re

# Bidirectional controls reorder the text around them even inside a code span (``invoice\u202egnp.exe`` shows as
# ``invoiceexe.png``), so they are shown as their escapes instead.
_BIDI_CONTROLS = {code: f"\\u{code:04x}" for code in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def literal(text: object) -> str:
    """``text`` as a Markdown code span showing it verbatim (whitespace runs, newlines included, become one space;
    a bidirectional control character, its escape such as ``\\u202e``)."""
    flat = " ".join(str(text).translate(_BIDI_CONTROLS).split()) or " "
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {flat} {fence}"
