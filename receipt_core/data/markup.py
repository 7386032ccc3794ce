"""Strings from users and files shown verbatim where a renderer reads markup.

Plotly reads ``<a href>``, ``<b>``, ``<br>`` and HTML entities in titles, legend names, labels and hovers, so a
document id, run name or word text that holds them would become a live link or formatting. Every such string goes
through :func:`escape_markup` before it reaches a figure. Markdown that this package writes (a study's report and
the paragraph the Studies page shows) puts such strings in a :func:`code_span`. (Other Streamlit text is kept
literal by ``ui/literal.py``, which calls :func:`code_span`.) All of them show characters that are invisible or
reorder their neighbours (bidirectional controls, zero-width characters) as escapes through :func:`visible_text`.
CSV downloads go through :func:`spreadsheet_csv`, so a spreadsheet never reads a name as a formula.
"""

from __future__ import annotations

import re
import unicodedata


def escape_markup(text: object) -> str:
    """``text`` as Plotly shows it verbatim: invisible characters as their escapes (:func:`visible_text`), then
    ``&``, ``<`` and ``>`` as entities."""
    return visible_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# :func:`visible_text` escapes the characters that change how the text around them shows, or show as nothing:
# control characters (Unicode category Cc; newline and tab are kept) and format characters (Cf). Cf holds the
# bidirectional controls, which reorder the text around them even inside a code span or a Plotly label
# (``invoice\u202egnp.exe`` shows as ``invoiceexe.png``), the zero-width space, joiners, word joiner and
# byte-order mark (``zero\u200bwidth`` shows as ``zerowidth``), the soft hyphen, tag characters, ….
# The joiners are kept where they join two non-ASCII characters (:func:`_joins`): emoji sequences and Indic
# or Persian words need them.
_KEPT = "\n\t"
# Letters that draw nothing, which Python counts as printable: the Hangul fillers and the braille blank (a probe's
# tag of two U+3164 showed as an empty cell, and ``a\u3164`` as ``a``)
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def holds_control_character(text: str, allowed: str = "") -> bool:
    """Whether ``text`` holds a control character (Unicode Cc: NUL, escape, newline…) other than those ``allowed``:
    the one rule an import applies to a document id and a person's edit to a word's text or a run's label."""
    return not text.isprintable() and any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def visible_text(text: object) -> str:
    """``text`` with every character that would show as nothing or rearrange its neighbours as its escape: control
    characters as ``\\x1b``, format characters (bidirectional controls, zero-width characters, …) as ``\\u202e``
    or ``\\U000e0041``; newline and tab are kept. The one place user text is made visible: widgets that show
    plain text (a picker's options, a table cell, a code block) call it directly, :func:`code_span` and
    :func:`escape_markup` (every Plotly figure) through it, so a file name ``invoice\\u202egnp.exe.png`` cannot
    show as ``invoicegnp.exe.png`` reversed, nor ``zero\\u200bwidth`` as ``zerowidth``."""
    text = str(text)
    if _plainly_visible(text):  # the common case, without a look at each character
        return text
    hidden = _drawn_as_nothing(text)
    return "".join(char if (char in _KEPT or _joins(text, i)) and i not in hidden else _escaped(char, i in hidden)
                   for i, char in enumerate(text))


def one_line(text: object) -> str:
    """:func:`visible_text` with newlines and tabs escaped too: a line a terminal prints (an import's problem line
    names a file, and a file name ``\x1b]0;PWNED\x07x.json`` retitled the window, a probe), which no name can
    clear, recolour or break into a fake second line."""
    text = str(text)
    if _plainly_visible(text):
        return text
    hidden = _drawn_as_nothing(text)
    return "".join(char if _joins(text, i) and i not in hidden else _escaped(char, i in hidden)
                   for i, char in enumerate(text))


def terminal_lines(text: object) -> str:
    """``text`` with each of its lines as :func:`one_line` prints it: a traceback for a server log, whose lines stay
    lines while an error message in it cannot reach the operator's terminal with an escape (a probe's study folder
    name ``\x1b]0;PWNED\x07…`` retitled the terminal running ``make run``)."""
    return "\n".join(one_line(line) for line in str(text).splitlines())


_JOINERS = "\u200c\u200d"  # zero-width non-joiner and joiner


def _joins(text: str, i: int) -> bool:
    """Whether ``text[i]`` is a joiner doing its job: between two characters that are neither ASCII nor space, as in
    an emoji sequence (👩‍💻) or Indic and Persian words, where escaping it would change the word. Between Latin
    letters it hides nothing a reader needs and is escaped (``pay\u200dpal``)."""
    if text[i] not in _JOINERS or i == 0 or i == len(text) - 1:
        return False
    before, after = text[i - 1], text[i + 1]
    return all(not c.isascii() and not c.isspace() and c not in _JOINERS for c in (before, after))


def _escaped(char: str, hidden: bool = False) -> str:
    """``char`` itself, or its escape when it is invisible (``\\x1b``, ``\\u200b``, ``\\U000e0041``) or
    ``hidden`` (:func:`_drawn_as_nothing`)."""
    category, code = unicodedata.category(char), ord(char)
    if category == "Cc":
        return f"\\x{code:02x}"
    if hidden or category == "Cf" or char in _BLANK_LETTERS:
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


# Marks that Python counts as printable and that draw nothing: the combining grapheme joiner, Khmer's inherent
# vowels, Mongolian free variation selectors and the variation selectors (a probe named three runs "best run",
# "best run" + U+034F and "best run" + U+FE0F, and every table, chip and legend showed "best run" three times)
_IGNORABLE_MARKS = re.compile("[\u034f\u17b4\u17b5\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_COMBINING = ("Mn", "Me", "Mc")


def _plainly_visible(text: str) -> bool:
    return (text.isprintable() and _BLANK_LETTERS.isdisjoint(text) and not _IGNORABLE_MARKS.search(text)
            and not (text and unicodedata.category(text[0]) in _COMBINING)
            and not any(unicodedata.category(text[i + 1]) in _COMBINING
                        for i, char in enumerate(text[:-1]) if char.isspace()))


def _drawn_as_nothing(text: str) -> set[int]:
    """The positions of marks in ``text`` that show as nothing: an ignorable mark (a variation selector only where it
    does not follow a non-ASCII character, whose look it picks: ❤️), and combining marks with nothing to sit on (at
    the start, after a space, or after such a mark: a name of 80 lone accents drew as an empty chip)."""
    hidden: set[int] = set()
    for i, char in enumerate(text):
        if _IGNORABLE_MARKS.match(char):
            picks_a_look = (_SELECTORS.match(char) is not None and i > 0 and not text[i - 1].isascii()
                            and not text[i - 1].isspace() and i - 1 not in hidden)
            if not picks_a_look:
                hidden.add(i)
        elif unicodedata.category(char) in _COMBINING and (i == 0 or text[i - 1].isspace() or i - 1 in hidden):
            hidden.add(i)
    return hidden


def code_span(text: object) -> str:
    """``text`` as a Markdown code span showing it verbatim: fenced by one backtick more than its longest run of
    backticks, so a path holding `` ` `` cannot close the span early and turn what follows into a link. Whitespace
    runs (newlines included) become one space; an invisible character shows as its escape (:func:`visible_text`:
    ``\\u202e``, ``\\u200b``)."""
    flat = visible_text(" ".join(str(text).split())) or " "
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {flat} {fence}"


# What can start inline markup mid-line: escapes, code, emphasis, links and images (``[``), HTML and entities,
# table cells, strikethrough and (in Streamlit) math. Backslash-escaping them is plain CommonMark.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>|~&$])")


# What Streamlit turns into markup after the Markdown is parsed, where a backslash no longer counts: a bare URL,
# ``www.`` or an e-mail address becomes a live link, ``:red[…]`` coloured text, ``:smile:`` an emoji and
# ``:material/home:`` an icon. An invisible word joiner breaks them: after a ``:`` that a letter, digit or ``/``
# follows (not in a time such as 17:19, where a digit comes before it too), after an ``@`` before a word, and inside
# ``www.``. (A joiner after every ``:`` got into copied times and labels: "17:<word joiner>19 UTC".)
_WORD_JOINER = "\u2060"
_AFTER_MARKUP = re.compile(r"((?<!\d):(?=[\w/])|@(?=\w)|(?i:www)(?=\.))")


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that renders it verbatim mid-line (newlines become spaces): every character that could
    start a link, image, emphasis, code, HTML, a table cell break or math is backslash-escaped, and a word joiner
    keeps a bare URL, an e-mail address, a colour directive, an emoji or icon code from becoming one."""
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(text).splitlines()))
    return _AFTER_MARKUP.sub(lambda match: match.group(1) + _WORD_JOINER, escaped)


def inline_markdown_html(text: str) -> str:
    """A line this app wrote in Markdown with :func:`code_span` and :func:`escape_markdown` (a study's settings
    paragraph) as HTML: each code span a ``<code>`` element, the backslash escapes and word joiners undone, all of
    it escaped as :func:`escape_markup` escapes text, so a user's name in it stays text."""
    parts, end = [], 0
    for span in _CODE_SPAN.finditer(text):
        parts += [_markdown_text_html(text[end:span.start()]), f"<code>{escape_markup(span.group(2))}</code>"]
        end = span.end()
    return "".join([*parts, _markdown_text_html(text[end:])])


_CODE_SPAN = re.compile(r"(`+) (.*?) \1")  # code_span's own shape: a fence, a space, the text, a space, the fence


def _markdown_text_html(markdown: str) -> str:
    return escape_markup(re.sub(r"\\(.)", r"\1", markdown).replace(_WORD_JOINER, ""))


def code_block(text: str) -> list[str]:
    """Lines of a fenced Markdown code block holding ``text`` verbatim, fenced by more backticks than it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


_FORMULA_STARTS = ("=", "+", "-", "@", "|", "%", "\t", "\r")


def spreadsheet_text(value: object) -> object:
    """A CSV cell as a spreadsheet shows it verbatim: text starting like a formula (``=``, ``+``, ``-``, ``@``, and
    ``|`` and ``%`` for the spreadsheets that read DDE or macros from them; tab, carriage return), also after leading
    spaces (a no-break space included, which some spreadsheets skip), gets a leading apostrophe, as OWASP advises
    against CSV injection (a file named ``=HYPERLINK(…).png`` would otherwise become a live formula in Excel or
    LibreOffice). Characters that show as nothing or reorder their neighbours are written as their escapes, as the
    pages show them (:func:`visible_text`): a probe's ``…\u202egpj.exe.jpg`` read reversed in the CSV alone.
    Numbers pass unchanged."""
    if not isinstance(value, str):
        return value
    value = visible_text(value)
    return f"'{value}" if value.lstrip(" \u00a0").startswith(_FORMULA_STARTS) else value


def spreadsheet_csv(frame) -> bytes:
    """``frame`` (a pandas DataFrame) as UTF-8 CSV bytes with every text cell passed through
    :func:`spreadsheet_text`: what the dashboard's CSV downloads hand out."""
    safe = frame.map(spreadsheet_text)
    safe.columns = [spreadsheet_text(column) for column in frame.columns]
    return safe.to_csv(index=False).encode("utf-8")
