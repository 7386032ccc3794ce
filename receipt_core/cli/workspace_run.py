"""Runs the command line keeps in the workspace: ``train``, ``reference`` and ``pretrain`` without ``--out`` store
their run there as the dashboard does, so the dashboard's Runs page lists it (curves, settings, the checkpoint to
download, resuming) and ``predict``/``evaluate`` read it by its run id. The terminal still steers it: Ctrl-Z pauses,
Ctrl-C stops.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..study.in_progress import elsewhere_said, studies_in_other_processes
from ..training.run_documents import COMMAND_LINE, STARTED_FROM_KEY
from .foreground import run_in_foreground

if TYPE_CHECKING:  # the job's module loads torch; the command modules import this one at start-up
    from ..training.events import FinishedEvent
    from ..training.job import TrainingJob
    from ..workspace.store import Workspace

RUN_WORKSPACE_HELP = ("workspace for dataset names, and where the run is kept without --out (default: "
                      "$RECEIPT_STUDIO_HOME, else ./workspace)")
WORKSPACE_RUN_HELP = ("Without --out the run is kept in the workspace (--workspace): the dashboard's Runs page lists "
                      "it, and predict and evaluate read it by its run id")


def open_run_workspace(home: Path | None) -> Workspace:
    """The workspace a run is kept in (made when missing: a first run may come before any import). A folder that
    holds other files but no workspace is refused: a probe's ``--workspace`` at a run folder built a workspace
    inside that checkpoint."""
    from ..workspace.database import DATABASE_NAME
    from ..workspace.store import Workspace

    if home is not None and home.is_dir() and not (home / DATABASE_NAME).exists() and any(home.iterdir()):
        from .errors import CommandError

        raise CommandError(f"--workspace {home} holds other files but no workspace ({DATABASE_NAME}); give a new or "
                           "empty folder, or an existing workspace")
    workspace = Workspace.open(home)
    warn_of_other_runs(workspace)
    return workspace


def warn_of_other_runs(workspace: Workspace) -> None:
    """Say on stderr which runs already train in this workspace in another process (the dashboard's, another
    ``train``): both share the CPU cores, so each goes slower than alone. A probe's command-line run dropped from
    23 to 3.6 samples a second beside the dashboard's with nothing said here (the Train page says it)."""
    others = workspace.runs_in_other_processes()
    if others:
        run = others[0]
        more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
        print(f"warning: run {run.id} is {run.status} in another process (pid {run.pid}){more} in this workspace: "
              "this run shares the CPU cores with it, and both go slower than alone", file=sys.stderr, flush=True)
    if studies := studies_in_other_processes(workspace.home):  # a study started on the command line
        print(f"warning: {elsewhere_said(studies)} in this workspace: this run shares the CPU cores with it, and "
              "both go slower than alone", file=sys.stderr, flush=True)


def command_line_notes(train: Sequence[str], evaluation: str | None = None) -> dict[str, object]:
    """What the run's config records of its command: where it came from and the data it named."""
    return {STARTED_FROM_KEY: COMMAND_LINE, "train_data": [str(source) for source in train],
            **({"eval_data": str(evaluation)} if evaluation is not None else {})}


def run_in_workspace(job: TrainingJob, what: str, reads_it: str | None = None) -> FinishedEvent:
    """Run a job made by ``training.runs.new_*`` in the foreground, saying first where its run is kept and what
    reads it (default: predict and evaluate, by the run's id: true of two-head runs only, whose id is then printed
    on stdout once the run has saved)."""
    id_on_stdout = reads_it is None
    reads_it = reads_it or f"predict and evaluate read it as {job.run_id}"
    print(f"run {job.run_id} is kept in the workspace: the dashboard's Runs page lists it, and {reads_it}",
          file=sys.stderr, flush=True)
    result = run_in_foreground(job, what)
    if id_on_stdout and result.checkpoint is not None:  # alone on stdout, for a script: RUN=$(… train …)
        print(job.run_id, flush=True)  # (walkthrough 60 captured nothing: every line went to stderr)
    return result
