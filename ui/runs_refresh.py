"""Runs redraws itself when the workspace's runs change in another tab or process: a run ends, one starts, a live
one logs an evaluation. A walkthrough's Runs table still said "running" with "—" scores a minute after the run had
finished, and lacked the run Train had started since, until a reload."""

from __future__ import annotations

import streamlit as st

from receipt_core.workspace.store import Workspace

CHECK_EVERY_S = 5.0  # one small query per check: each run's id and status, a live run's evaluations


def redraw_when_runs_change(workspace: Workspace, every_s: float = CHECK_EVERY_S) -> None:
    """Draws nothing. Every ``every_s`` seconds, compares the runs as this rerun of the page read them with the
    workspace's now (``Workspace.runs_version``), and reruns the page when they differ."""
    seen = workspace.runs_version()

    def check() -> None:
        if workspace.runs_version() != seen:
            st.rerun(scope="app")

    st.fragment(run_every=every_s)(check)()
