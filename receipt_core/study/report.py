"""The study's reports: ``report.md`` (table, reading, problems) and ``report.html`` (the same with Plotly
figures from :mod:`receipt_core.study.figures`, shared with the dashboard)."""

from __future__ import annotations

import plotly.graph_objects as go

from ..data.markup import code_block, escape_markdown, escape_markup, inline_markdown_html
from .figures import curves_figure, quality_cost_figure
from .reading import read_claims
from .result import StudyResult
from .table import READING_NOTE, TABLE_COLUMNS, TABLE_NOTE, markdown_table, settings_paragraph, table_rows


NO_CLAIMS = "Too few configurations ran to judge any of the design's claims."


def markdown_report(result: StudyResult) -> str:
    parts = ["# Scenario study", "", settings_paragraph(result), ""]
    if result.command:
        parts += ["Command:", "", *code_block(result.command), ""]
    parts += [markdown_table(result), "", TABLE_NOTE, "", "## Reading", ""]
    claims = read_claims(result)
    if not claims:
        parts.append(NO_CLAIMS)
    for claim in claims:
        parts.append(f"- Claim: *{escape_markdown(claim.claim)}* → **{escape_markdown(claim.verdict.capitalize())}**: "
                     f"{escape_markdown(claim.evidence)}")  # the verdict in bold, not the claim (walkthrough 29)
    parts += ["", READING_NOTE]
    if result.notes:
        parts += ["", "## Problems", ""] + [f"- {escape_markdown(note)}" for note in result.notes]
    return "\n".join(parts) + "\n"


def _starred(cells: tuple[str, ...], best: bool) -> tuple[str, ...]:
    """A table row's cells, its first marked ★ when the row is the best."""
    return (("★ " if best else "") + str(cells[0]), *cells[1:])


OFFLINE_CHART = {"displaylogo": False}
"""The report's charts draw no Plotly logo, a link to plotly.com in each toolbar: the page links nowhere off the
machine it was written on (probe 67)."""


def html_report(result: StudyResult) -> str:
    """A standalone page (Plotly embedded once, works offline): what ``report.md`` says (settings, command, table,
    reading, problems), with quality vs cost and the overlaid curves."""
    rows = table_rows(result)
    marked = [_starred(row.cells(), row.best) for row in rows]  # as the note
    columns = list(zip(*marked)) if rows else [()] * len(TABLE_COLUMNS)
    # Plotly reads tags in a table cell (<a href>, <b>): a configuration names its backbone, which may be a folder
    cells = [[escape_markup(str(value)) for value in column] for column in columns]
    table = go.Figure(go.Table(header={"values": list(TABLE_COLUMNS)}, cells={"values": cells}))
    table.update_layout(height=120 + 30 * len(rows), margin={"t": 10, "b": 10})
    claims = "".join(f"<li>Claim: <i>{escape_markup(c.claim)}</i> → <b>{escape_markup(c.verdict.capitalize())}</b>: "
                     f"{escape_markup(c.evidence)}</li>" for c in read_claims(result))
    # what report.md says, every part of it: the Race page offers this file alone, and it left out the problems
    # (failed runs, evaluation receipts that were also training receipts), the settings and the notes (a probe)
    # wrapped: a study of long folder names ran its command past the page's right edge (probe 67)
    command = (f"<p>Command:</p><pre style='white-space: pre-wrap; overflow-wrap: anywhere'>"
               f"{escape_markup(result.command)}</pre>" if result.command else "")
    problems = ("<h2>Problems</h2><ul>" + "".join(f"<li>{escape_markup(note)}</li>" for note in result.notes)
                + "</ul>" if result.notes else "")
    body = [f"<h1>Scenario study</h1><p>{inline_markdown_html(settings_paragraph(result))}</p>", command,
            table.to_html(full_html=False, include_plotlyjs=True, config=OFFLINE_CHART), f"<p>{escape_markup(TABLE_NOTE)}</p>",
            f"<h2>Reading</h2><ul>{claims or f'<li>{NO_CLAIMS}</li>'}</ul><p>{escape_markup(READING_NOTE)}</p>",
            problems,
            quality_cost_figure(result).to_html(full_html=False, include_plotlyjs=False, config=OFFLINE_CHART),
            curves_figure(result).to_html(full_html=False, include_plotlyjs=False, config=OFFLINE_CHART)]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Scenario study</title></head>"
            "<body style='font-family: sans-serif; max-width: 1200px; margin: auto'>" + "".join(body)
            + "</body></html>")
