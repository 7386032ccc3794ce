"""Runs → Resume: the form that continues a stopped run from its last checkpoint, on its own receipts or on
datasets chosen here, within a time budget."""

from __future__ import annotations

import math

import streamlit as st

from receipt_core.training.run_documents import missing_run_documents, started_on_command_line, train_ids
from receipt_core.training.run_settings import positive_number, saved_training_minutes, schedule_after_resume
from receipt_core.training.slot import JobBusyError
from receipt_core.wording import as_sentence, counted, minutes_said
from ui.dataset_choice import EVALUATION_HELP, HOLD_OUT, replace_vanished_choices, vanished_note
from ui.literal import notice_markdown
from ui.shared import field_row, friendly, go_to_page, job_slot, user_errors
from ui.train_start import prepare_resume

OWN_RECEIPTS = "(the receipts it trained and evaluated on)"
OWN_EVALUATION = "(the receipts it evaluated on)"
MAX_BUDGET_MINUTES = 600.0  # the field's limit, as Train's


def resume_budget(budget: float | None, used_minutes: float) -> float:
    """The time budget a resume offers, in minutes counted from the run's first step: the time it used, and its own
    budget again on top (0, none, for a run that had none). A walkthrough's 1-minute run, stopped by hand after
    0.9 min, resumed "within that budget" for 3 steps; a budget of none trained a 2-minute run's ten remaining
    epochs with no cap (another walkthrough)."""
    budget = min(positive_number(budget), MAX_BUDGET_MINUTES)
    if not budget:
        return 0.0
    return min(math.ceil((min(positive_number(used_minutes), MAX_BUDGET_MINUTES) + budget) * 10) / 10,
               MAX_BUDGET_MINUTES)


def resume_budget_note(budget: float | None, used_minutes: float, chosen: float) -> str:
    """What the budget field's value (``chosen``, as typed now) gives the run, said under it: walkthrough 31 typed
    0.6 and the caption still said what the field had offered."""
    had = f"It had a time budget of {minutes_said(budget)}" if budget else "It had no time budget"
    # the checkpoint's time, which a resume goes on from (a killed run's table shows the time past its last save)
    start = f"{had}; its last checkpoint holds {used_minutes:.1f} min of training"
    if chosen and chosen > used_minutes:
        start += f": the field gives it about {chosen - used_minutes:.1f} min more ({chosen:g} in all)"
    elif chosen:
        start += f": the field's {chosen:g} min is under the time already used, so it ends after one step"
    return start + ". With no budget (0) it trains its remaining epochs."


def resume_form(ws, run, opened: bool) -> None:
    """The folded form under a stopped run that has a checkpoint; ``opened`` unfolds it (Train's "Open it on Runs
    to resume" led here, and a walkthrough looked for it in a folded one)."""
    run_id = run.id
    with st.expander("Resume this run from its last checkpoint", expanded=opened):
        st.caption(f"It trained on {run.config.get('train_documents', '?')} receipts and evaluated on "
                   f"{run.config.get('eval_documents', '?')}; continue on the same receipts (their current "
                   "labels), or choose datasets.")
        names = [d.name for d in ws.datasets()]
        own = [OWN_RECEIPTS] if train_ids(run.config) else []  # older runs did not record their ids
        if own and (gone := missing_run_documents(ws, run.config)):
            own = []
            why = ("not in the workspace: `train` read them from a folder, or they were deleted since"
                   if started_on_command_line(run.config) else "deleted since it started")
            st.caption(f"Its own receipts cannot be used: {counted(len(gone), 'receipt')} of them "
                       f"{'was' if len(gone) == 1 else 'were'} {why}. Choose a dataset to continue on.")
        # a dataset chosen here and then renamed or deleted in another tab: said, and Resume does nothing in this
        # rerun (a probe's Resume trained the first dataset instead, unsaid, as Train's Start once did)
        vanished = replace_vanished_choices({"runs_resume_train": (own + names or [None])[0],
                                             "runs_resume_eval": HOLD_OUT}, [OWN_RECEIPTS, *names])
        if vanished:
            st.warning(notice_markdown(vanished_note(vanished, "Resume",
                                                     pressed=bool(st.session_state.get("runs_resume")))))
        # wide enough for "(the receipts it trained and evaluated on)": three columns cut it at 1366 px (a
        # walkthrough)
        r1, r2, r3 = field_row(3, width=340)
        train_set = r1.selectbox("Training dataset", own + names, key="runs_resume_train")
        if train_set == OWN_RECEIPTS:
            # its own evaluation receipts, said as such: a greyed "hold out a share" read as what would happen
            # (a walkthrough)
            eval_set = r2.selectbox("Evaluation dataset", [OWN_EVALUATION], key="runs_resume_own_eval",
                                    disabled=True, help="With its own receipts the run evaluates on its own "
                                                        "evaluation receipts, as before it stopped")
            share = 0.25
        else:
            eval_set = r2.selectbox("Evaluation dataset", [HOLD_OUT] + names, key="runs_resume_eval",
                                    help=EVALUATION_HELP)
            share = r3.slider("Held-out share", 0.1, 0.5, 0.25, 0.05, key="runs_resume_share",
                              disabled=eval_set != HOLD_OUT)
        budget = positive_number(run.config.get("max_minutes"))
        saved = saved_training_minutes(ws.run_dir(run_id))  # the checkpoint's: a killed run has no summary
        used = positive_number(run.summary.get("elapsed_s")) / 60 if saved is None else saved
        offered = resume_budget(budget, used)
        minutes = st.number_input(
            "Time budget in all (minutes; 0: none)", 0.0, MAX_BUDGET_MINUTES, offered,
            key=f"runs_resume_minutes_{run_id}",
            help="Counted from the run's first step, its time before it stopped included")
        st.caption(resume_budget_note(budget, used, float(minutes)))
        if note := schedule_after_resume(ws.run_dir(run_id), run.config, float(minutes) or None):
            st.warning(note[0].upper() + note[1:] + " (the field above).")
        if st.button("Resume", key="runs_resume", disabled=not (own or names)) and not vanished:
            with user_errors("Resuming the run"):
                prepared = prepare_resume(ws, run,
                                          None if train_set == OWN_RECEIPTS else (train_set,),
                                          None if eval_set == HOLD_OUT else eval_set, share,
                                          float(minutes) or None)
                if prepared.left_out_note:
                    st.toast(prepared.left_out_note)
                try:
                    job_slot().start(prepared.launch, description=prepared.description)
                    go_to_page("app_pages/train.py")
                except JobBusyError as error:
                    st.error(notice_markdown(as_sentence(friendly(error))))  # it names the busy run (a probe)
