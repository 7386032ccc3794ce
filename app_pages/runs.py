"""Runs: every run with its best scores first (the best marked only beyond the noise rule), name, tags and notes;
overlaid curves by step, epoch or wall-clock with smoothing; cost vs quality; its settings as a diff against the
defaults of its scenario or another run; download; delete; resume. The Studies tab: ``ui/studies_tab.py``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from receipt_core.data.files import zip_folder, zipped_files
from receipt_core.data.markup import spreadsheet_csv
from receipt_core.model.checkpoint import checkpoint_problem, frozen_backbone_left_out, has_checkpoint
from receipt_core.model.run_manifest import damage_detail
from receipt_core.evaluation.noise import NOISE_NOTE
from receipt_core.plots.run_charts import (CURVE_AXES, SERIES_COLORS, cost_quality_figure, curve_figure,
                                           kept_series_colors, label_smoothing_note)
from receipt_core.training.config import smoothing_of
from receipt_core.training.cost_reading import cost_reading
from receipt_core.training.events import HEADLINE_METRICS, METRIC_LABELS, TASK_TITLES
from receipt_core.training.run_feed import CURVE_COLUMNS, RunFeed
from receipt_core.training.run_documents import started_on_command_line, trained_datasets_of_runs
from receipt_core.training.pretrained_backbones import pretrained_backbone
from receipt_core.training.run_settings import defaults_title, is_pretraining, settings_diff
from receipt_core.datasets.splits import MIN_EVAL_RECEIPTS
from receipt_core.training.run_summary import (BEST_BY, ONES_BASELINE, OWN_TRAINING, RESUMED_AT, SAVED,
                                               TRAINING_TIME, best_reason, clear_best_runs, listing_order,
                                               no_best_reason, ranked_score, run_metrics_rows, run_phases,
                                               run_summary)
from receipt_core.training.suggestion_heads import is_suggestion_run
from receipt_core.workspace.runs import SAVED_STATUSES
from receipt_core.workspace.run_labels import (MAX_NAME, MAX_NOTES, display_name, distinct_labels, download_stem,
                                               RunLabel, RunLabelConflictError, run_labels,
                                               save_label_edit)
from receipt_core.wording import as_sentence, counted
from ui.cost_quality import cost_quality_points
from ui.literal import literal, notice_markdown, plain, plain_lines, plain_text
from ui.one_run import run_scores, settings_row_height, settings_table_height
from ui.phase_table import show_phases
from ui.run_choice import RESUME_OPEN_KEY, RUNS_ONE_KEY, vanished_run
from ui.studies_tab import studies_tab as show_studies
from ui.shared import NO_VALUE, forget_stale_choice, job_slot, require_router, user_errors, workspace
from ui.run_resume import resume_form
from ui.runs_refresh import redraw_when_runs_change

DEFAULTS = "the defaults"
SAVED_TITLE = "saved model's"  # the "saved" columns' header
RENAMED_KEY = "runs_renamed"  # the run id Save stored: the next run refreshes the pickers and says so
DELETED_TOAST_KEY = "runs_deleted_toast"  # "Deleted run …", shown after the rerun the deletion ends with
RUN_COLORS_KEY = "runs_colors"  # run id -> its colour in the overlaid charts, kept while the choice changes
RUN_PICKERS = ("runs_compare", RUNS_ONE_KEY, "runs_against")
RUNS_SEEN_KEY = "runs_seen"  # the run ids this session's Runs page has listed: a run not among them is new

DELETED_HERE_KEY = "runs_deleted_here"  # the run this session's Delete button took away (said by its toast)
NO_CHECKPOINT_TO_RESUME = ("This run has no checkpoint, so it cannot be resumed: it ended before its first save (a "
                           "run saves at its evaluations and at its end). Start a new run on the Train page.")
# status beside the name: a failed run was a row of "—" whose reason sat off a 1366-pixel screen (a walkthrough)
# the saved model's scores first, on screen at 1366 pixels: what Train and Predict show (a walkthrough found them
# past a sideways scroll)
# how many receipts scored them right after the saved scores: a run scored on 3 sorted above one scored on 50, and
# the count that tells them apart was cut off at the right edge (a walkthrough)
# and what it cost beside what it scored: the time was past eight metric columns (a walkthrough)
# the scenario beside the name: a renamed run ("my full race run") showed no scenario on a 1366-pixel screen, where
# the table ended at its training time (walkthrough 28)
TRAINED_ON = "trained on"
RUN_COLUMNS = ["best", "name", "scenario", "status", *[f"{SAVED} {m}" for m in BEST_BY], TRAINING_TIME, ONES_BASELINE,
               TRAINED_ON, "eval receipts", *[f"best {m}" for m in HEADLINE_METRICS], OWN_TRAINING, "tags",
               "trainable parameters", "steps", RESUMED_AT, "backbone", "run"]


def _quality_title(column: str) -> str:
    """A Runs table column of a score as its header reads: "saved model's field micro-F1", "best …"."""
    kind, metric = column.split(" ", 1)
    return f"{SAVED_TITLE if kind == SAVED else kind} {METRIC_LABELS[metric]}"


require_router()
st.title("Runs")
ws = workspace()
runs_tab, studies_tab = st.tabs(["Runs", "Studies"])

with studies_tab:  # drawn first: a study opens even in a workspace without runs (the Runs tab stops early then)
    show_studies(ws)

with runs_tab:
    ws.mark_interrupted_runs()  # a run of another process (`train` on the command line) killed since
    redraw_when_runs_change(ws)
    runs = ws.list_runs()
    for damaged_id, problem in ws.damaged_runs():  # left out of every list; said here, where it can go
        st.warning(notice_markdown(as_sentence(problem)))
        if st.button("Delete this damaged run", key=f"runs_delete_damaged_{damaged_id}"):
            with user_errors("Deleting the run"):
                ws.delete_run(damaged_id)
                st.rerun()
    stray, stray_count = ws.stray_run_folders()
    if stray_count:  # a probe's run folders copied in by hand went unsaid: the pages list only runs recorded here
        st.caption(f"{counted(stray_count, 'entry', 'entries')} of the workspace's runs folder "
                   f"{'is' if stray_count == 1 else 'are'} no run of this workspace: "
                   + ", ".join(literal(name, limit=60, exact=True) for name in stray)
                   + (f" and {stray_count - len(stray)} more" if stray_count > len(stray) else "")
                   + ". The pages list only the runs trained here; a run folder copied in from elsewhere is read by "
                     "path on the command line: `python -m receipt_core evaluate FOLDER --data DATASET` scores it, "
                     "`python -m receipt_core predict FOLDER IMAGE …` predicts with it.")
    if not runs:
        st.info("No runs yet: start one on the Train page.")
        st.stop()
    labels_by_id = run_labels(ws)
    runs_by_id = {run.id: run for run in runs}
    names = {run.id: plain(display_name(run, labels_by_id)) for run in runs}  # RTL and control chars as escapes
    labels = distinct_labels(names)
    if deleted := st.session_state.pop(DELETED_TOAST_KEY, None):
        st.toast(deleted)
    renamed = st.session_state.pop(RENAMED_KEY, None)
    if renamed:
        # a run was renamed: the run pickers hold their choice as the old label text, so set each choice again (by
        # run id) before they are drawn and they show the new names
        st.toast(f"Saved the name, tags and notes of {literal(labels.get(renamed, renamed))}")  # after the rerun
        for key in RUN_PICKERS:
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]

    rows, best = [], set()  # said and left empty when a run's records cannot be summarised
    with user_errors("Summarising the runs"):
        rows = [run_summary(ws, run) for run in runs]
        best = clear_best_runs(rows)
        sort_by = st.selectbox("Sort by", list(HEADLINE_METRICS), format_func=METRIC_LABELS.get, key="runs_sort",
                               help=f"Runs scored on fewer than {MIN_EVAL_RECEIPTS} receipts, then runs scored on "
                                    "their own training receipts, are listed after the others")
        table = pd.DataFrame(listing_order(rows, sort_by))
        table["name"] = table["run"].map(labels)
        # which data each run learned from: two runs of one scenario, one with the corrected photos added, read
        # alike in every column (walkthrough 65); as the run pickers say it
        trained_on = trained_datasets_of_runs(ws, runs)
        table[TRAINED_ON] = table["run"].map(lambda i: plain(" + ".join(trained_on.get(i, ()))))
        table["tags"] = table["run"].map(
            lambda i: plain(", ".join(labels_by_id[i].tags)) if i in labels_by_id else "")
        table["best"] = table["run"].map(lambda run_id: "★" if run_id in best else "")
        st.dataframe(table, hide_index=True, key="runs_table", placeholder=NO_VALUE, width="stretch",
                     column_order=RUN_COLUMNS,
                     column_config={
                         "best": st.column_config.TextColumn("", width=30, pinned=True,
                                                             help="The best run, marked only when it "
                                                             "beats every other run evaluated on the same receipts "
                                                             "beyond the noise rule below"),
                         # medium: large pushed the scores off a 1366-pixel screen (a walkthrough saw them blank);
                         # pinned, so the name stays beside the columns scrolled into view (a walkthrough)
                         # 250: "text-minilm · freeze-quantity-head" whole (medium cut it, walkthrough 37)
                         "name": st.column_config.TextColumn("name", width=250, pinned=True),
                         **{f"best {m}": st.column_config.NumberColumn(f"best {METRIC_LABELS[m]}", format="%.3f",
                                                                       width=175, help=f"the best {m} over the run's "
                                                                       "evaluations, each metric on its own (Predict "
                                                                       "shows the last checkpoint's)")
                            for m in HEADLINE_METRICS},
                         **{f"{SAVED} {m}": st.column_config.NumberColumn(
                             f"saved model's {METRIC_LABELS[m]}", format="%.3f", width=200,
                             help=f"{m} of the run's last evaluation: the model it saved, which Train, Predict and "
                                  "the race report show")
                            for m in BEST_BY},
                         ONES_BASELINE: st.column_config.NumberColumn(
                             "answering 1 scores", format="%.3f", width=150,
                             help="The item quantity accuracy of answering 1 for every item, reading no quantity at "
                                  "all, on the run's evaluation receipts: a run's item quantity accuracy means "
                                  "something only above it (most items are bought once)"),
                         TRAINED_ON: st.column_config.TextColumn(
                             TRAINED_ON, width=160, help="The datasets that hold the receipts the run trained on, "
                             "most receipts first (empty when none of them is in the workspace any more)"),
                         "eval receipts": st.column_config.NumberColumn(
                             "eval receipts", width=100, help="Receipts the run was evaluated on: scores on "
                             "different receipts are not compared for ★"),
                         OWN_TRAINING: st.column_config.CheckboxColumn(
                             "on its training receipts", width=110, help="Scored on the receipts it trained on (as "
                             "Annotate's retraining of the suggestion heads is): its scores say how well it fits them, "
                             "not how it reads new receipts. Listed after the others."),
                         # "finished (time budget)" whole: 90 px cut it to "finished (time" (a walkthrough)
                         "status": st.column_config.TextColumn("status", width=170),
                         "trainable parameters": st.column_config.NumberColumn(format="compact"),
                         TRAINING_TIME: st.column_config.NumberColumn(
                             TRAINING_TIME, format="%.1f",
                             help="The run's training clock: its steps, evaluations and saves, without pauses and "
                                  "without the loading and encoding before its first step")})
        # run names quoted in the reasons are code spans: a name is the user's text (notice_markdown)
        st.caption(("★ marks the best run by its saved model's field micro-F1 and item quantity accuracy among the "
                    "runs evaluated on the same receipts; it weighs quality only (Cost vs quality, below, puts each "
                    "run's cost beside it). " + notice_markdown(best_reason(rows, labels, trained_on)) + " " if best
                    else notice_markdown(no_best_reason(rows, labels)) + " ") + NOISE_NOTE
                   + " The \"saved model's\" columns are the run's last evaluation, the model it saved, which Train "
                   "and Predict show; each \"best\" column is that metric's best evaluation on its own, so one row "
                   "may mix evaluations.")

    st.subheader("Compare runs")
    # the choice lives in session state (first the three newest runs, then the user's, runs deleted since dropped);
    # a default= beside a value set through the state (a rename sets it again) made Streamlit log a warning
    # runs new since this session's last look are overlaid too, so a race's runs appear in the charts (a
    # walkthrough's stayed out); the ones the user took out stay out
    # Annotate's retrainings (scored on their own few receipts) are never overlaid unasked: a walkthrough's
    # undo and redo of a done mark made two, and they took over the charts
    seen = st.session_state.get(RUNS_SEEN_KEY)
    # nor are pre-training runs: their masked-word loss is no task of the others (walkthrough 50's took a place in
    # the default overlay from a race run)
    own = [run_id for run_id in labels if not is_suggestion_run(runs_by_id[run_id].config)
           and not is_pretraining(runs_by_id[run_id].config)]
    # first shown: the three newest and the ★ run, where it is older (a walkthrough's comparison left the best out)
    # oldest first, so runs take their colours in the order they were made, as a race's charts colour its entries
    # (walkthrough 40 saw a race's two runs swap colours between Race and Runs)
    kept = ([run_id for run_id in st.session_state["runs_compare"] if run_id in labels]
            if "runs_compare" in st.session_state else own[:3][::-1] + [i for i in own[3:] if i in best])
    new = [run_id for run_id in own if seen is not None and run_id not in seen and run_id not in kept]
    compared = (new + kept)[:len(SERIES_COLORS)]  # the newest new runs when there are too many
    st.session_state["runs_compare"] = [i for i in compared if i in new][::-1] + [i for i in compared if i not in new]
    st.session_state[RUNS_SEEN_KEY] = set(labels)
    # kept while other pages are visited: a walkthrough's four runs came back as the newest three after a visit to
    # Train or Data
    chosen = st.multiselect("Runs to overlay", list(labels),
                            format_func=lambda run_id: labels.get(run_id, run_id),  # a label from before a rename
                            key="runs_compare", max_selections=len(SERIES_COLORS), persist_state="session")
    chosen = [run_id for run_id in chosen if run_id in labels]
    # one colour per overlaid run, the same in every chart below (a run with no point yet in one chart included),
    # and the same while other runs are added or removed
    st.session_state[RUN_COLORS_KEY] = kept_series_colors(chosen, st.session_state.get(RUN_COLORS_KEY, {}))
    run_colors = {labels[run_id]: color for run_id, color in st.session_state[RUN_COLORS_KEY].items()}
    a1, a2 = st.columns(2)
    x_axis = a1.radio("Plot by", list(CURVE_AXES), format_func=CURVE_AXES.get, horizontal=True, key="runs_x")
    smoothing = a2.slider("Smoothing", 0.0, 0.95, 0.0, 0.05, key="runs_smoothing",
                          help="Exponential moving average of the training loss (the measured points stay, faint); "
                               "the evaluations are drawn as measured, so each curve ends at the run's score")
    if chosen:
        with user_errors("Drawing the curves"):
            feeds = {}
            for run_id in chosen:
                feed = RunFeed(run_id)
                feed.poll(ws)
                feeds[run_id] = feed.curves()

            def overlay(frame_of, series: str) -> pd.DataFrame:
                parts = [frame_of(c)[frame_of(c)["series"] == series].assign(series=labels[run_id])
                         for run_id, c in feeds.items()]
                return pd.concat(parts) if parts else pd.DataFrame(columns=list(CURVE_COLUMNS))

            # each task's loss too, as Train draws them (a walkthrough could overlay only the totals)
            tasks = sorted({task for c in feeds.values() for task in c.train_loss["series"]} - {"total"})
            titles = {"total": "total", **{task: TASK_TITLES.get(task, task).lower() for task in tasks}}
            loss = st.radio("Loss", list(titles), horizontal=True, key="runs_loss", format_func=titles.get)
            loss_title = titles[loss]
            # (title, curves, series, y axis, smoothed): the evaluations unsmoothed, as measured (a smoothed F1
            # curve of 12 points ended at 0.54 for a run that scored 0.559: walkthrough 49)
            charts = [(f"training loss ({loss_title})", lambda c: c.train_loss, loss, "loss", True),
                      (f"validation loss ({loss_title})", lambda c: c.val_loss, loss, "loss", False),
                      # the names every other page uses (a walkthrough read "fields micro-F1" here alone)
                      (METRIC_LABELS["fields.micro_f1"], lambda c: c.metrics, "fields.micro_f1", "F1", False),
                      (METRIC_LABELS["quantity.item_accuracy"], lambda c: c.metrics, "quantity.item_accuracy",
                       "accuracy", False)]
            columns = st.columns(2)
            for i, (title, frame_of, series, y_title, smoothed) in enumerate(charts):
                columns[i % 2].plotly_chart(curve_figure(overlay(frame_of, series), title, y_title, x=x_axis,
                                                         smoothing=smoothing if smoothed else 0.0,
                                                         uirevision=f"runs-{i}-{x_axis}",
                                                         colors=run_colors),
                                            key=f"runs_overlay_{i}", width="stretch")
            if note := label_smoothing_note({labels[run_id]: smoothing_of(runs_by_id[run_id].config)
                                             for run_id in chosen}, quote=literal):
                st.caption(note)

    st.subheader("Cost vs quality")
    c1, c2 = st.columns(2)
    # the time first: what a run cost the person who waited for it (a walkthrough's phased run stood as the
    # dearest at 25M parameters, its last phase's, though it trained 0.7M in its first)
    cost = c1.selectbox("Cost", [TRAINING_TIME, "trainable parameters"], key="runs_cost",
                        help="training time: the run's clock, its evaluations and saves included, its pauses and "
                             "set-up not; trainable parameters: the most a run trained at once (a phased run's last "
                             "phase, its heads included: each scenario has its own heads, see Train)")
    # the saved model's first, as the table and the ★ weigh runs (walkthrough 20: the chart opened on "best")
    quality = c2.selectbox("Quality", [f"{SAVED} {m}" for m in BEST_BY] + [f"best {m}" for m in HEADLINE_METRICS],
                           key="runs_quality", format_func=_quality_title)
    with user_errors("Drawing cost vs quality"):
        # runs scored on their own training receipts (Annotate's retrainings) are no point of comparison: a
        # walkthrough's two at F1 0.000 stretched the axis and squashed the real runs together at its top
        own_scored = (table[OWN_TRAINING].fillna(False).astype(bool) if OWN_TRAINING in table
                      else pd.Series(False, index=table.index))
        points, run_colors = cost_quality_points(table[~own_scored], cost, quality, run_colors)
        left_out = (f" Left out: {counted(int(own_scored.sum()), 'run')} scored on its own training receipts."
                    if own_scored.any() else "")
        if points.dropna().empty:
            st.caption("No finished evaluation yet." + left_out)
        else:
            st.plotly_chart(cost_quality_figure(points, cost, quality, cost, _quality_title(quality),
                                                label="name", colors=run_colors),
                            key="runs_cost_quality", width="stretch")
            st.caption("Each run overlaid above keeps its colour here (the others are grey); the marker's shape "
                       "tells the scenario." + left_out)
            # which run is worth its cost, in words (walkthrough 40 was left to weigh +0.029 F1 against 2.3x the time)
            if reading := cost_reading(rows, labels):
                st.markdown(notice_markdown(reading))

    st.subheader("One run")
    starred = [(ranked_score(row, BEST_BY[0]), row["run"]) for row in rows if row["run"] in best]
    if RUNS_ONE_KEY not in st.session_state and starred:  # first shown: the ★ run, as Predict's picker opens on it,
        st.session_state[RUNS_ONE_KEY] = max(starred)[1]  # not the newest (a walkthrough's weakest, F1 0.11)
    gone = vanished_run(RUNS_ONE_KEY, labels)
    forget_stale_choice(RUNS_ONE_KEY, labels)  # a run renamed in another tab, or deleted
    # kept while other pages are visited: Resume jumps to Train, and back on Runs the picker was on the first run
    # (a walkthrough)
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, key=RUNS_ONE_KEY, persist_state="session")
    # not this page's own Delete: said (a probe saw the picker move to another run without a word, and its Save say
    # "Saved … of" a run nobody had chosen)
    if gone is not None and gone != st.session_state.pop(DELETED_HERE_KEY, None):
        st.warning(f"The run you had chosen, {literal(gone)}, is gone (deleted, perhaps in another tab); "
                   f"this is {literal(labels[run_id])}. What you had typed for the gone run was not saved.")
    run = next(r for r in runs if r.id == run_id)
    this_row = next((row for row in rows if row["run"] == run_id), None)
    resumed = f" · resumed from step {this_row[RESUMED_AT]}" if this_row is not None and this_row[RESUMED_AT] else ""
    st.caption(f"Status **{run.status}**{resumed} · run id `{run.id}` · started as “{literal(run.name)}”")
    if this_row is not None and not (scores := run_scores(this_row)).empty:
        st.dataframe(scores, hide_index=True, key="runs_one_scores", width=560, placeholder=NO_VALUE)
    if (saved_backbone := pretrained_backbone(ws, run)) is not None:  # where it is, and how to use it (walkthrough
        # 52 found it only in the command line's last line)
        st.caption(f"Its backbone: {literal(saved_backbone.typed)} in the workspace. Fine-tune on it: Train → "
                   f"Backbone → local folder…, that path (or {literal(f'train --backbone {saved_backbone.folder}')}"
                   ").")
    live_elsewhere = run.live_in_another_process()  # (`train` on the command line; only it can pause or stop it)
    if live_elsewhere:
        i1, i2 = st.columns([5, 1], vertical_alignment="center")
        steer = ("Ctrl-Z in its terminal resumes it" if run.status == "paused" else
                 "Ctrl-Z in its terminal pauses it")
        i1.info(f"This run is {run.status} in another process (pid {run.pid}"
                f"{', started on the command line' if started_on_command_line(run.config) else ''}): {steer}, and "
                f"Ctrl-C there (or `kill {run.pid}`) stops it after saving. Its curves above hold the points logged "
                "so far.")
        if i2.button("Refresh", key="runs_refresh", width="stretch", help="Read its newest points"):
            st.rerun()
    label = labels_by_id.get(run_id)
    drawn_key = f"runs_label_drawn_{run_id}"  # the label as this tab's form first showed it (save_label_edit)
    if f"runs_name_{run_id}" not in st.session_state or drawn_key not in st.session_state:
        st.session_state[drawn_key] = label or RunLabel(run_id, "", (), "")
    if st.session_state.pop(f"runs_label_saved_{run_id}", False):  # the boxes as stored, before they are drawn:
        stored = label or RunLabel(run_id, "", (), "")  # probe 60's tags "x,, ,y ,  z,x" stayed in the box
        st.session_state.update({drawn_key: stored, f"runs_name_{run_id}": stored.name,  # after Save, stored as
                                 f"runs_tags_{run_id}": ", ".join(stored.tags),  # "x, y, z"
                                 f"runs_notes_{run_id}": stored.notes})
    with st.form(f"runs_label_form_{run_id}", border=False):
        n1, n2 = st.columns([2, 3])
        # no max_chars: Streamlit drops a pasted text over it whole (found by a probe); Save says what is too long
        new_name = n1.text_input("Name", value=label.name if label else "", key=f"runs_name_{run_id}",
                                 placeholder=run.name, help=f"At most {MAX_NAME} characters")
        new_tags = n2.text_input("Tags (comma-separated)", value=", ".join(label.tags) if label else "",
                                 key=f"runs_tags_{run_id}", placeholder="none yet (for example: baseline, demo)")
        new_notes = st.text_area("Notes", value=label.notes if label else "", key=f"runs_notes_{run_id}",
                                 height=80, help=f"At most {MAX_NOTES:,} characters")
        # keyed by run: a press in a form whose run another tab deleted meanwhile saves nothing, rather than the
        # values of the run the picker moved to (found by a probe: it said "Saved … of" another run)
        if st.form_submit_button("Save name, tags and notes", key=f"runs_label_save_{run_id}"):
            with user_errors("Saving the run's name, tags and notes"):  # a tag too long read as the name's fault
                try:
                    save_label_edit(ws, run_id, st.session_state[drawn_key], new_name, new_tags, new_notes)
                except RunLabelConflictError as conflict:
                    stored = run_labels(ws).get(run_id) or RunLabel(run_id, "", (), "")
                    st.session_state[drawn_key] = stored  # a second Save replaces it, knowingly
                    st.error(as_sentence(str(conflict)))
                    st.code(plain_lines([f"name: {stored.name}", f"tags: {', '.join(stored.tags)}"]) + "\n"
                            + plain_text(f"notes: {stored.notes}"),
                            language=None, wrap_lines=True)
                else:
                    # the form is drawn again from what is stored: its boxes held what was typed, and a field left
                    # as it was drawn would have read as an edit back to that at the next Save
                    st.session_state[f"runs_label_saved_{run_id}"] = True
                    st.session_state[RENAMED_KEY] = run_id
                    st.rerun()

    others = [r for r in labels if r != run_id]
    forget_stale_choice("runs_against", [DEFAULTS] + others)
    against = st.selectbox("Settings compared with", [DEFAULTS] + others, key="runs_against",
                           format_func=lambda i: i if i == DEFAULTS else labels[i])
    with user_errors("Comparing the settings"):
        baseline = None if against == DEFAULTS else next(r for r in runs if r.id == against).config
        changes = settings_diff(run.config, baseline)
        if changes:
            other_title = defaults_title(run.config) if baseline is None else "other run"
            st.dataframe(pd.DataFrame([{"setting": c.label, "this run": c.value, other_title: c.baseline,
                                        "what it is": c.about} for c in changes]),
                         hide_index=True, key="runs_settings", placeholder=NO_VALUE, width="stretch",
                         # rows of three lines: the explanation wraps in its cell instead of ending mid-word at
                         # 1366 pixels (a walkthrough)
                         row_height=(row_height := settings_row_height([c.about for c in changes])),
                         # every row whole: the default 400 px showed a fourth row's top sliver, read as a blank row
                         # (walkthrough 33)
                         height=settings_table_height(len(changes), row_height),
                         column_config={"setting": st.column_config.TextColumn(pinned=True),
                                        # the explanation wraps in its cell rather than running off the screen
                                        "what it is": st.column_config.TextColumn(width="large")})
        else:
            st.caption("Same settings." if baseline is not None else
                       f"Same settings as the {literal(defaults_title(run.config))}.")
    with user_errors("Reading the run's phases"):
        show_phases(run_phases(ws, run_id), key="runs_phases")
    if run.summary.get("error"):
        st.error(f"This run failed: {literal(run.summary['error'])}")
    d1, d2, d3 = st.columns(3)
    folder = ws.runs_dir / run_id
    saved = has_checkpoint(folder)
    damage = checkpoint_problem(folder, run_id=run_id)
    if damage:
        st.warning(f"This run's checkpoint is damaged: {literal(damage_detail(damage))}. Predict and Resume cannot "
                   "read it; restore the folder from a copy, or delete the run.")
    gone = run.status in SAVED_STATUSES and not folder.is_dir()
    if gone:  # a probe deleted the folder by hand: Runs showed "finished" and a greyed zip button, unsaid
        st.warning(f"This run's folder {literal(str(folder))} is gone (deleted or moved by hand), and its checkpoint "
                   "with it: Predict and Resume cannot read it. Put the folder back, or delete the run.")
    with user_errors("Preparing downloads"):
        rows = run_metrics_rows(ws, run_id)
        stem = download_stem(run, labels_by_id)
        d1.download_button("Metrics CSV", spreadsheet_csv(pd.DataFrame(rows)),
                           file_name=f"{stem}-metrics.csv", mime="text/csv", key="runs_csv", disabled=not rows)
        saving = run.status == "running"  # its files change at each save: a zip taken then mixed two saves (a probe)
        # a damaged checkpoint is not offered: a probe's run folder linked elsewhere zipped that folder's files
        if d2.button("Prepare checkpoint zip", disabled=not saved or saving or bool(damage), key="runs_zip_prepare",
                     help="Pause or stop the run first: while it trains, a save may rewrite the files being zipped"
                     if saving else "The checkpoint is damaged (above)" if damage else "The run's folder is gone "
                     "(above)" if gone else "The run has no checkpoint: it ended before its first save"
                     if not saved else None):
            # its own size: a frozen run keeps only its trained tensors (a walkthrough read "about 100–300 MB" for 8)
            size = sum(file.stat().st_size for file in zipped_files(folder)) / 2 ** 20
            with st.spinner(f"Zipping the checkpoint ({size:,.1f} MB of files)…"):  # seconds with nothing shown
                st.session_state["runs_zip_bytes"] = (run_id, zip_folder(folder))
        prepared = st.session_state.get("runs_zip_bytes")
        if prepared and prepared[0] == run_id:
            d2.download_button("Download checkpoint", prepared[1], file_name=f"{stem}.zip", mime="application/zip",
                               key="runs_zip")
            if frozen_backbone_left_out(folder):  # a zip of the heads alone read as the model (walkthrough 26)
                d2.caption(f"Its frozen backbone ({literal(run.config.get('backbone', '?'))}) is not in the zip: "
                           "run.json names it, and loading the run rebuilds it from that backbone's weights, as "
                           "`predict` and `evaluate` do.")
    active = job_slot().busy()
    live_here = active is not None and active.run_id == run_id
    confirm = d3.checkbox("Yes, delete this run", key=f"runs_delete_confirm_{run_id}",
                          disabled=live_here or live_elsewhere)
    if d3.button("Delete run", disabled=not confirm or live_here or live_elsewhere, key="runs_delete"):
        with user_errors("Deleting the run"):
            ws.delete_run(run_id)
            job_slot().forget(run_id)  # the Train page and the sidebar stop showing it
            st.session_state[DELETED_HERE_KEY] = run_id  # not "gone, perhaps in another tab" (a walkthrough)
            # by the name the page shows, after the rerun: a toast sent just before it was lost (a walkthrough)
            st.session_state[DELETED_TOAST_KEY] = f"Deleted run {literal(names[run_id])}"
            st.rerun()
    if live_here:
        d3.caption("Stop the run on the Train page before deleting it.")
    if live_elsewhere:
        d3.caption("Stop the run in its process before deleting it.")

    if run.status == "finished" and run.summary.get("reason") == "time budget":
        # why there is no Resume (a walkthrough looked for one): its rate had fallen to 0 with the budget
        st.caption("This run ended at its time budget, where its learning rate had come down to its end, so it is "
                   "not resumed: start a new run with a larger budget (or none) on the Train page.")
    if run.status in ("interrupted", "stopped", "failed") and not saved and not damage and not live_here:
        # why there is no Resume (a probe's run, interrupted before its first save, showed neither)
        st.caption(NO_CHECKPOINT_TO_RESUME)
    if run.status in ("interrupted", "stopped", "failed") and saved and not damage and not live_here:  # a probe
        # was offered Resume under "This run's checkpoint is damaged", and it failed on the damaged run.json
        resume_form(ws, run, opened=st.session_state.get(RESUME_OPEN_KEY) == run_id)
