"""What trains in this workspace in another process, in one phrase for the sidebar, Train and the live view: a
run of ``train`` on the command line (or of another server), and a command-line ``study`` (its mark:
``receipt_core/study/in_progress.py``). Both share the CPU cores with a run started here."""

from __future__ import annotations

from receipt_core.study.in_progress import elsewhere_said, studies_in_other_processes
from receipt_core.workspace.run_labels import display_name, run_labels
from receipt_core.workspace.store import Workspace
from ui.literal import literal


def training_elsewhere(ws: Workspace) -> str | None:
    """"run NAME is running in another process (pid N); study 'cli' is training in another process (pid M): run 2
    of 3, …", names as text; None when nothing trains elsewhere."""
    parts = []
    if runs := ws.runs_in_other_processes():
        more = f" (and {len(runs) - 1} more)" if len(runs) > 1 else ""
        parts.append(f"run {literal(display_name(runs[0], run_labels(ws)))} is {runs[0].status} in another process "
                     f"(pid {runs[0].pid}){more}")
    if studies := studies_in_other_processes(ws.home):
        parts.append(elsewhere_said(studies, shown=literal))
    return "; ".join(parts) or None
