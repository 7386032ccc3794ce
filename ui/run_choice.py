"""Choosing a trained run on a page: the runs with a checkpoint (and the damaged ones left out), the picker and
the name it shows, and the run's model, loaded once per checkpoint and shared by the sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from receipt_core.model.run_manifest import damage_detail
from receipt_core.workspace.runs import SAVED_STATUSES
from ui.literal import literal, plain
from ui.shared import workspace

RUNS_ONE_KEY = "runs_one"  # Runs' "One run" picker
RESUME_OPEN_KEY = "runs_resume_open"  # a run whose Resume section Runs shows unfolded (Train's "Open it on Runs")



@st.cache_resource(show_spinner="Loading the run's model…", max_entries=3)
def _loaded_run(run_dir: str, stamp: float):
    from receipt_core.model.checkpoint import load_checkpoint

    return load_checkpoint(Path(run_dir), run_id=Path(run_dir).name)  # the folder of a workspace run is its id


def loaded_run(run_id: str):
    """The checkpoint of a run (a ``checkpoint.LoadedRun``), loaded once per checkpoint version and shared.

    Keyed by the run.json modification time, so a run that saved a newer checkpoint is reloaded.
    """
    from receipt_core.model.checkpoint import RUN_FILE

    run_dir = workspace().runs_dir / run_id
    info = run_dir / RUN_FILE
    if not info.is_file():
        raise FileNotFoundError(f"run {run_id} has no checkpoint yet (it saves one at the end of each epoch)")
    return _loaded_run(str(run_dir), info.stat().st_mtime)


@dataclass(frozen=True)
class SavedRuns:
    """The runs that saved a checkpoint (newest first), read in one pass over their folders: those that load, as
    far as can be told without reading their weights (``checkpoint.checkpoint_problem``), and those left out."""

    usable: tuple  # RunRecords
    damaged: tuple[tuple[Any, str], ...]  # (RunRecord, what is wrong with its checkpoint)
    gone: tuple = ()  # RunRecords of runs that ended whose folder is no longer there (deleted or moved by hand)

    def damaged_note(self) -> str | None:
        """One line naming the runs left out because their checkpoint is damaged (a probe's Predict fell back to a
        weaker run without a word, and offered runs that failed only once picked), else None."""
        if not self.damaged:
            return None
        # by id too: four "tiny · full" read alike
        return ("Left out, their checkpoint is damaged (restore the folder, or delete the run on Runs): "
                + "; ".join(f"{literal(run.id)} · {literal(run_display_name(run))} "
                            f"({literal(damage_detail(problem))})" for run, problem in self.damaged) + ".")

    def gone_note(self) -> str | None:
        """One line naming the runs that ended but whose folder is gone, else None: a probe deleted a run's folder
        by hand, and Predict said "No trained run with a checkpoint yet: train one" of a run Runs showed finished."""
        if not self.gone:
            return None
        return ("Left out, their folder is gone from the workspace's runs folder (deleted or moved by hand; put it "
                "back, or delete the run on Runs): " + "; ".join(f"{literal(run.id)} · {literal(run_display_name(run))}"
                                                                for run in self.gone) + ".")


def saved_runs() -> SavedRuns:
    """Each run that saved a checkpoint, or left a damaged one, sorted into :class:`SavedRuns`."""
    from receipt_core.model.checkpoint import checkpoint_problem, has_checkpoint

    ws = workspace()
    usable, damaged, gone = [], [], []
    for run in ws.list_runs():
        problem = checkpoint_problem(ws.runs_dir / run.id, run_id=run.id)
        if problem is not None:
            damaged.append((run, problem))
        elif has_checkpoint(ws.runs_dir / run.id):
            usable.append(run)
        elif run.status in SAVED_STATUSES and not (ws.runs_dir / run.id).is_dir():
            gone.append(run)
    return SavedRuns(tuple(usable), tuple(damaged), tuple(gone))


def runs_with_checkpoints() -> list:
    """Runs (newest first) whose checkpoint loads (:attr:`SavedRuns.usable`), as RunRecords."""
    return list(saved_runs().usable)


def vanished_run(key: str, run_ids) -> str | None:
    """The run the selectbox ``key`` had chosen when that run is no longer among ``run_ids`` (deleted, perhaps in
    another tab); None when its choice is one of them, an old option text of one (the browser may send back
    "<id> · name" or a name from before a rename), or nothing. Call before ``forget_stale_choice`` replaces it."""
    from receipt_core.workspace.runs import is_run_id

    stored = st.session_state.get(key)
    if stored is None or stored in run_ids:
        return None
    run_id = str(stored).split(" · ")[0]
    return run_id if is_run_id(run_id) and run_id not in run_ids else None


GONE_THEN_PRESS = "so nothing was done with it. Check the run now chosen, then press again."
GONE_THEN_SHOWN = "so what is shown below is the run now chosen's."


def run_picker(runs: list, key: str, dataset: str | None = None, gone_then: str = GONE_THEN_PRESS):
    """A selectbox over ``runs`` (newest first, as ``runs_with_checkpoints`` lists them) showing each run's id, the
    name Runs gives it and the datasets it trained on; returns the chosen run, or None (with a warning) in the rerun
    in which the run chosen before was found deleted: a button pressed in that rerun acted with another run nobody
    chose (a probe: "suggestions stored from run …" of a run it had not picked), so the caller does nothing then.

    Its first choice, among the runs that trained on ``dataset`` when one is given and any did (Annotate's
    suggestions for a receipt come best from a run trained on its dataset: a walkthrough's photos got a CORD run's,
    every option reading "text-minilm · freeze-backbone"), else among all: the run Runs marks ★ (it beats every run
    evaluated on the same receipts beyond the noise rule; of several, one per evaluation set, the highest field F1),
    else the one with the highest field F1, else the newest: a race leaves its weakest scenario newest. The
    options' text holds no status: Streamlit keeps a choice as its option's text, so a text that changed when a run
    finished would leave a choice that is no run id (``forget_stale_choice``)."""
    from receipt_core.training.run_documents import trained_datasets_of_runs
    from receipt_core.training.run_summary import BEST_BY, clear_best_runs, ranked_score, run_summary
    from receipt_core.workspace.run_labels import display_name, run_labels

    by_id = {run.id: run for run in runs}
    labels = run_labels(workspace())  # the names given on Runs
    trained_on = trained_datasets_of_runs(workspace(), runs)
    names = {run.id: plain(f"{run.id} · {display_name(run, labels)}"
                           + (f" · on {' + '.join(trained_on[run.id])}" if trained_on[run.id] else ""))
             for run in runs}
    stored = st.session_state.get(key)
    gone = vanished_run(key, by_id)
    # a choice this rule made (not the person) is made again when the runs or the dataset change: a walkthrough
    # trained a run on its photos and came back to find Annotate still on the CORD run chosen before it existed
    auto_key, situation = f"{key}_auto", (dataset, tuple(by_id))
    auto = st.session_state.get(auto_key)
    if stored not in by_id or (auto is not None and auto != situation):
        own = [run for run in runs if dataset in trained_on[run.id]] if dataset is not None else []
        candidates = own or runs
        summaries = [run_summary(workspace(), run) for run in candidates]
        best = clear_best_runs(summaries)
        # without a ★, the highest field F1 (the saved model's): the newest was a race's weakest (a demo)
        scored = [(score, row["run"]) for row in summaries if (score := ranked_score(row, BEST_BY[0])) is not None]
        # a ★ is per evaluation set: the only run scored on 12 demo receipts has one too, and the newest such ★
        # (F1 0.32) was chosen over a ★ at 0.945 on CORD (a walkthrough); of several, the highest field F1
        starred = [(score, run_id) for score, run_id in scored if run_id in best]
        st.session_state[key] = max(starred or scored)[1] if scored else candidates[0].id
        st.session_state[auto_key] = situation
    chosen = by_id[st.selectbox("Run", list(by_id), format_func=names.get, key=key,
                                on_change=st.session_state.pop, args=(auto_key, None))]  # the person's from now on
    if gone is not None:
        st.warning(f"The run you had chosen, {literal(gone)}, is gone (deleted, perhaps in another tab), {gone_then}")
        return None
    return chosen


def run_display_name(run) -> str:
    """The run's name as Runs shows it: the name given there, else the one it was started with."""
    from receipt_core.workspace.run_labels import display_name, run_labels

    return display_name(run, run_labels(workspace()))
