"""Runs → Studies: start a scenario study in the background (its progress, then its report), or open a study's
folder inside the workspace's studies folder and see its report (table, reading, charts, downloads)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from receipt_core.data.files import download_name_part
from receipt_core.data.markup import escape_markdown
from receipt_core.plots.study_tables import study_table_rows
from receipt_core.study.in_progress import studies_in_other_processes
from receipt_core.study.table import TABLE_NOTE
from receipt_core.study.view import find_studies, open_study, read_report, workspace_studies_dir
from receipt_core.workspace.store import Workspace
from receipt_core.wording import as_sentence
from ui.literal import literal, plain
from ui.race_study import STUDY_REFRESH_S, study_form, study_progress
from ui.race_track import race_track
from ui.race_view import study_reading
from ui.shared import NO_VALUE, user_errors

OPENED_STUDY_KEY = "studies_opened"  # the study shown in the Studies tab (a path, as typed or picked)


def studies_tab(ws: Workspace) -> None:
    """The tab's contents; drawn even in a workspace without runs."""
    studies_dir = workspace_studies_dir(ws.home)
    studying = race_track().live() is not None
    with st.expander("Start a study here", expanded=False):
        study_form([d.name for d in ws.datasets()])
    st.fragment(run_every=STUDY_REFRESH_S if studying else None)(study_progress)(OPENED_STUDY_KEY)
    st.caption("A scenario study is a folder of runs and their report: **Start a study here** (above), a race "
               "(the Race page) or `python -m receipt_core study ... --out DIR` write one. Each in (or copied to) "
               "the workspace's studies folder is listed below: click its name to open its report here.")
    st.code(str(studies_dir), language=None)
    for training in studies_in_other_processes(ws.home):  # a command-line study: said while it trains (walkthrough
        # 50's read "No study folders … yet" beside one)
        folder = Path(training.folder)
        listed = folder.parent == studies_dir.resolve()
        st.info(f"{as_sentence(training.said(literal))}. "
                + ("Its report is listed here when it ends." if listed else
                   f"It writes into {literal(training.folder)}, outside the studies folder: copy that folder there "
                   "when it ends to open its report here."))
    found = find_studies(studies_dir)
    if found:
        pick_columns = st.columns(min(len(found), 4))
        for i, entry in enumerate(found):
            # a button label is Markdown: a folder named "[x](https://…)" would show as "x"
            # an icon that says it opens (walkthrough 29 took the plain full-width button for a heading, and typed
            # the name into the field below)
            if pick_columns[i % 4].button(escape_markdown(plain(entry.name)), key=f"studies_pick_{entry.name}",
                                          width="stretch", icon=":material/folder_open:"):
                st.session_state[OPENED_STUDY_KEY] = str(entry.folder)
    else:
        st.caption(f"No study folders in `{studies_dir}` yet.")
    p1, p2 = st.columns([5, 1], vertical_alignment="bottom")
    typed = p1.text_input("Or type a study folder's name (one copied in, say)", key="studies_path",
                          placeholder="my-study")
    if p2.button("Open", key="studies_open", width="stretch", disabled=not typed.strip(),
                 help="Type a study folder's name first (or pick one above)"):
        st.session_state[OPENED_STUDY_KEY] = typed.strip()
    if (opened := st.session_state.get(OPENED_STUDY_KEY)) is not None:
        with user_errors("Opening the study"):
            study = open_study(opened, within=studies_dir)
            st.subheader(f"Study · {literal(study.folder.name)}")
            st.markdown(study.intro)
            if study.command:
                st.code(study.command, language="bash")
            st.dataframe(pd.DataFrame(study_table_rows(study)), hide_index=True, key="studies_table",
                         placeholder=NO_VALUE, width="stretch",
                         column_config={"best": st.column_config.TextColumn("", width=30)})
            marked = next((row.configuration for row in study.rows if row.best), None)
            # two stars, two rules: a walkthrough saw the Runs tab's ★ on one run and this one on another
            st.caption(TABLE_NOTE + (f" Here it is marked ★: {literal(marked)}, by the models the runs saved, among "
                                     "this study's runs only; the Runs tab's ★ weighs every run scored on the same "
                                     "receipts, so it can mark another." if marked else ""))
            st.markdown("**Reading**")
            study_reading(study, "studies_cost", "Too few configurations ran to judge any of the design's claims.")
            st.plotly_chart(study.curves_figure(), key="studies_curves", width="stretch")
            downloads = [(kind, path) for kind in ("html", "markdown") if (path := study.report_path(kind))]
            for column, (kind, path) in zip(st.columns(max(len(downloads), 1)), downloads):
                # read when pressed, not on every rerun (a probe's 400 MB reports were read by each one)
                # named by its study: two studies' reports downloaded as "report (1).html" (a probe)
                column.download_button(f"Download {path.name}", lambda path=path: read_report(path),
                                       file_name=f"{download_name_part(study.folder.name) or 'study'}-{path.name}",
                                       mime="text/html" if kind == "html" else "text/markdown",
                                       key=f"studies_download_{kind}")
