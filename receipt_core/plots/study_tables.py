"""A scenario study's report as the dashboard shows it: the table as dataframe rows, the reading as lines.

No Streamlit here (the lines use Streamlit's Markdown colour syntax, but only as text): pages stay thin and these
can be tested without a server.
"""

from __future__ import annotations

from ..data.markup import escape_markdown
from ..study.table import TABLE_COLUMNS

VERDICT_COLOURS = {"held": "green", "did not hold": "red", "mixed": "orange", "no measurable difference": "blue",
                   "not measured": "gray", "too few receipts": "gray"}


def study_table_rows(study) -> list[dict]:
    """The study report's table (a ``study.view.OpenedStudy``) as rows for a dataframe: ``best`` first (★ on the
    best multi-task row; last, it was off the screen at laptop width, where the caption said a row was marked), then
    the report's cells (metrics as "mean ± std" with repeats) under its column names."""
    return [{"best": "★" if row.best else "", **dict(zip(TABLE_COLUMNS, row.cells()))} for row in study.rows]


def claim_lines(study) -> list[str]:
    """The study's reading, one Markdown line per claim: claim, verdict (coloured, Streamlit Markdown) and its
    numbers, as in report.md. Each is text read from a study.json, which a person may have copied from anyone:
    shown verbatim (:func:`~receipt_core.data.markup.escape_markdown`), only the colour comes from a fixed list."""
    # "Claim:" and the claim in italics, the verdict in bold: walkthrough 29's audience read the bold claim ("Freezing
    # the backbone is cheap and good") as the finding, where the verdict after it said "Mixed"
    return [f"Claim: *{escape_markdown(c.claim)}* → :{VERDICT_COLOURS.get(c.verdict, 'gray')}"
            f"[**{escape_markdown(c.verdict.capitalize())}**]: {escape_markdown(c.evidence)}" for c in study.claims]
