"""The live view of the server's training job: status, buttons, progress, charts, predictions, errors.

Drawn inside an ``st.fragment(run_every=…)`` on the Train page. It reads the run's stored events through a
per-session :class:`~receipt_core.training.run_feed.RunFeed` — never the trainer thread — so it only ever calls Streamlit
from the script thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from receipt_core.plots.figures import prediction_figure, tall_figure_height
from receipt_core.model.checkpoint import checkpoint_problem
from receipt_core.plots.run_charts import curve_figure
from receipt_core.evaluation.metrics import ones_baseline_note
from receipt_core.training.events import (HEADLINE_METRICS, METRIC_LABELS, TASK_TITLES, PredictionEvent, ending,
                                         flatten_metrics, headline, is_score_metric)
from ui.literal import literal, notice_markdown, plain
from receipt_core.training.run_documents import train_ids
from receipt_core.training.run_feed import RunCurves, RunFeed
from receipt_core.training.run_status import status_line
from receipt_core.training.slot import JobBusyError
from receipt_core.training.suggestion_heads import is_suggestion_run
from receipt_core.workspace.database import NotFoundError, WorkspaceError
from receipt_core.workspace.summaries import receipt_title
from receipt_core.workspace.run_labels import run_name
from receipt_core.wording import as_sentence
from receipt_core.evaluation.prediction_check import MAX_SHOWN, wrong_words
from ui.phase_table import show_phases
from ui.receipt_images import receipt_display_image
from ui.run_badge import STATUS_ICONS, STOPPING, shown_status
from ui.run_choice import RESUME_OPEN_KEY, RUNS_ONE_KEY
from ui.training_elsewhere import training_elsewhere
from ui.shared import (NO_VALUE, figure_and_tables, fmt_params_of, fmt_seconds, friendly, go_to_page, job_slot,
                       workspace)

FEED_KEY = "train_feed"
FIGURES_KEY = "train_chart_figures"  # chart key → (what it was built from, figure)
NOTICE_KEY = "train_control_notice"  # what the last Pause/Resume/Stop press has to say: (toast|warning, text)
PREDICTION_KEY = "train_prediction_drawn"  # the watched receipt's figure as last drawn (_DrawnPrediction)
# the charts and predictions while a run trains; the status line keeps its own 2 s. Watched in headless Chromium on
# the 2 cores, the page cost the training: the dashboard's run took 144.0 and 134.6 s at 6 s, 128.1 and 128.6 s at
# 10 s (the same run from the command line: 96.7-112.6 s; BENCHMARKS.md)
RESULTS_REFRESH_S = 10.0
STATUS_REFRESH_S = 2.0  # the status line, controls and progress while a run trains
# While a run trains, the watched receipt's figure (its image and a box per word: the page's costliest redraw, on the
# server and in the browser) is redrawn at most this often; a short epoch would otherwise redraw it every refresh.
PREDICTION_REDRAW_S = RESULTS_REFRESH_S


def feed_for(run_id: str, started_at: float | None = None) -> RunFeed:
    """This session's feed of the run's launch that started at ``started_at``: a run resumed under the same id is
    a new launch, read afresh (its clock runs again; the earlier launch's end is over)."""
    feed = st.session_state.get(FEED_KEY)
    if feed is None or feed.run_id != run_id or feed.started_at != started_at:
        feed = RunFeed(run_id, started_at=started_at)
        st.session_state[FEED_KEY] = feed
    return feed


def _read_feed(active, ws) -> RunCurves:
    """The curves of ``active``'s run as its stored events give them now (this session's feed, read on)."""
    feed = feed_for(active.run_id, active.started_at)
    feed.poll(ws)
    curves = feed.curves()
    if active.is_live and curves.finished is not None:
        # a resume: the run's earlier end stands in its events until its loop announces itself again (seconds of
        # loading); a walkthrough read "stopped after 1m 14s" beside Pause and Stop, as if Resume had done nothing.
        # (A job's own end is its last event: the job is no longer live a moment later.)
        curves = replace(curves, finished=None, status=active.status, progress=None, phases=())
    return curves


def _is_suggestion_run(ws, run_id: str) -> bool:
    """Whether the run shown is Annotate's retraining of its suggestions (False once it is deleted)."""
    try:
        return is_suggestion_run(ws.get_run(run_id).config)
    except NotFoundError:
        return False


SHOWN_RUN_KEY = "train_shown_run"  # (run id, name) of the run Train's panel showed at its last draw


def live_view() -> None:
    """Draw the current (or last) job of this server; reruns the whole page when the job ends."""
    active = job_slot().current()
    ws = workspace()
    shown_before = st.session_state.pop(SHOWN_RUN_KEY, None)
    if active is None:
        st.session_state["train_was_live"] = False  # a run another session starts redraws the whole page
        if isinstance(shown_before, tuple) and run_name(ws, shown_before[0]) is None:
            # deleted on Runs, perhaps in another tab: the panel went without a word (a walkthrough)
            st.info(f"Run {literal(shown_before[1])} that was shown here was deleted (on Runs, perhaps in another "
                    "tab).")
        if ws.has_runs():  # the last one deleted on Runs: "no run yet" beside 3 finished ones (a walkthrough)
            st.info("No run is training on this server now; earlier runs are on the **Runs** page. Choose settings "
                    "above and press **Start** to train another.")
        else:
            st.info("No training run on this server yet. Choose settings above and press **Start**."
                    if ws.datasets() else "No training run on this server yet: load or make receipts first "
                    "(see above), then Start trains on them.")  # Start is off without data (a walkthrough)
        return
    curves = _read_feed(active, ws)
    live = active.is_live
    was_live = st.session_state.get("train_was_live")
    st.session_state["train_was_live"] = live
    if was_live is not None and was_live != live:  # ended, or started in another session: the settings form and the
        st.rerun(scope="app")  # fragments' refresh rates change with the job

    # a stop evaluates and saves first: seconds, not a step (a walkthrough read "running … ETA 2s" for 15 s after Stop)
    status = shown_status(curves.status or active.status, live, active.job.control)
    stopping = status == STOPPING
    header = st.columns([4, 1, 1])
    icon = STATUS_ICONS.get(status, ":material/radio_button_unchecked:")
    seed = getattr(getattr(active.job, "config", None), "seed", None)  # one seed's run: said, as Race does
    seeded = f" · seed {seed}" if isinstance(seed, int) else ""
    name = run_name(ws, active.run_id)
    st.session_state[SHOWN_RUN_KEY] = (active.run_id, name or active.run_id)
    if name:  # the title, by the name Runs shows, as run views lead with it (a walkthrough's run was titled by its id
        # here, by its name on Runs, and a renamed one kept the old label)
        header[0].markdown(f"### {icon} {literal(name)} — {status}\nrun `{active.run_id}` · "
                           f"{literal(active.description)}{seeded}")
    else:
        header[0].markdown(f"### {icon} Run `{active.run_id}` — {status}\n{literal(active.description)}{seeded}")
    if _is_suggestion_run(ws, active.run_id):  # a walkthrough's demo headline fell from 0.948 to 0.598
        st.info("This is Annotate's retraining of its suggestions, not a run you started: a short run scored on the "
                "receipts it trains on, so its scores say how it fits what people reviewed, not how it reads new "
                "receipts. Your own runs, and their scores, are on Runs.")
    if live and not stopping:  # an ended (or ending) run has nothing to pause or stop: no dead buttons beside it
        paused = active.job.status == "paused" or active.job.control.should_pause
        # callbacks: they act before the next run draws the header, which then shows "paused" or "stopping…"
        header[1].button("Resume" if paused else "Pause", key="train_pause", width="stretch", on_click=_control,
                         args=(active.run_id, "resume" if paused else "pause"))
        race = _race_of(active.run_id)
        header[2].button("Stop", key="train_stop", type="primary", width="stretch", on_click=_control,
                         args=(active.run_id, "stop"), help=None if race is None else (
                             f"Ends this run of the race {literal(race)}, which goes on to its next run; **Stop "
                             "race** on the Race page ends the race"))
        if race is not None:  # probe 64 pressed Stop here and the race's next run started, unsaid
            st.caption(f"This run is one of the race {literal(race)}: **Stop** ends this run and the race goes on to "
                       "its next; **Stop race** on the Race page ends the race.")

    _show_control_notice()
    if curves.error:
        st.error(f"Training failed: {literal(curves.error)}")
    for message in curves.messages:
        st.warning(message)
    resumable = not live and _resumable(curves, active.run_id)  # read once a draw: it opens the run's files
    _progress(curves, live, _budget_s(ws, active.run_id), active.started_at, stopping, resumable)
    if live and (elsewhere := training_elsewhere(ws)):  # `train` or `study` on the command line, started after this
        # run: it took the cores and this run's budget bought 7 steps of 300, with nothing said here (probe 47)
        st.warning(f"Also training in this workspace: {elsewhere}. It shares the CPU cores with this run, so this "
                   "run goes slower and its time budget buys fewer steps than alone.")
    if resumable:
        # Runs opened on its ★ run, not the one just stopped, with Resume folded away (a walkthrough)
        if st.button("Open it on Runs to resume", key="train_open_runs"):
            st.session_state[RUNS_ONE_KEY] = active.run_id
            st.session_state[RESUME_OPEN_KEY] = active.run_id
            go_to_page("app_pages/runs.py")


def _race_of(run_id: str) -> str | None:
    """The name of the race on this server that is training ``run_id`` now; None when no race is."""
    from ui.race_track import race_track

    race = race_track().live()
    current = race.record.current if race is not None else None
    return race.name if current is not None and current.run_id == run_id else None


def live_results() -> None:
    """The current (or last) run's charts and the watched receipt's predictions: a fragment of their own, redrawn
    every :data:`RESULTS_REFRESH_S` while the run trains, not with the status line. Watched in a browser on the same
    2 cores, the charts' redraws took the browser about a third of a core (measured: 13.9 s of CPU in 40 s), which
    the training was short of."""
    active = job_slot().current()
    if active is None:
        return
    ws = workspace()
    curves = _read_feed(active, ws)
    if active.is_live:  # a walkthrough read "no points yet" beside "step 72/120" and took the charts for stuck
        st.caption(f"The charts and predictions redraw every {RESULTS_REFRESH_S:g} s while the run trains (the "
                   f"status line above every {STATUS_REFRESH_S:g} s), so they can be a few steps behind it.")
    show_phases(curves.phase_events, key="train_phases")
    _charts(curves, active.run_id)
    _predictions(curves, ws, active.is_live, active.run_id)


def _control(run_id: str, action: str) -> None:
    """Pause, Resume or Stop. A callback of a button in a fragment must not draw (Streamlit logs a warning for every
    press): what it has to say is kept for the fragment's next run, which shows it (:func:`_show_control_notice`)."""
    try:
        job_slot().control(run_id, action)
        st.session_state[NOTICE_KEY] = ("toast", {"stop": "Stopping after this step…",
                                                  "pause": "Pausing after this step…", "resume": "Resumed"}[action])
    except JobBusyError as error:
        st.session_state[NOTICE_KEY] = ("warning", as_sentence(friendly(error)))


def _show_control_notice() -> None:
    kind, text = st.session_state.pop(NOTICE_KEY, (None, None))
    if kind == "toast":
        st.toast(text)
    elif kind == "warning":
        st.warning(notice_markdown(text))  # it may name the run that holds the slot


def _budget_s(ws, run_id: str) -> float | None:
    try:
        minutes = ws.get_run(run_id).config.get("max_minutes")
    except Exception:  # noqa: BLE001 - a deleted run has no budget to cap the ETA with
        return None
    return float(minutes) * 60 if isinstance(minutes, (int, float)) and minutes else None


def before_first_step(curves: RunCurves | None, since_start_s: float) -> str:
    """What a live run does before its first loss point, with the time it has taken so far: loading (before the
    loop's clock starts), then the first steps, where a frozen backbone computes its features once for every
    receipt (a walkthrough read "Loading …" for 17 s where the estimate had said about 1 s to load). The Train
    page and the race's progress bar both say it."""
    if curves is None or not curves.phases:
        return f"Loading the backbone and encoding receipts ({fmt_seconds(since_start_s)} so far)… the first loss " \
               "point follows."
    # the feature fill only where the bottom of the backbone is frozen: walkthrough 32 read it of full fine-tuning
    first = curves.phase_events[0] if curves.phase_events else None
    frozen = first is None or not any(group.startswith("embeddings") for group in first.trainable_groups)
    why = "; a frozen backbone first computes its features once for every receipt" if frozen else ""
    return f"Preparing the first steps ({fmt_seconds(since_start_s)} since Start{why})… the first loss point follows."


def _progress(curves: RunCurves, live: bool, budget_s: float | None, started_at: float, stopping: bool,
              resumable: bool) -> None:
    """One status line from the run's clock (training/run_status.py): step, epoch, elapsed and ETA agree (no ETA
    once Stop was pressed: the run evaluates and saves); ``resumable``: stopped with a checkpoint that loads."""
    now = time.time()
    line = status_line(curves.timing, now, live=live, budget_s=budget_s, stopping=stopping)
    trainable = (f" · trainable {fmt_params_of(curves.trainable_parameters, curves.total_parameters)} "
                 "parameters" if curves.total_parameters else "")
    if curves.progress is None and curves.finished is None:
        if live:
            st.progress(0.0, text=before_first_step(curves, now - started_at) + trainable)
        return
    last_step_at = curves.timing.last_progress_at
    if live and last_step_at is not None and last_step_at < started_at:
        # resumed, and no step of this launch yet: the old step stood still for 25 s under a ticking clock and a
        # falling ETA while the checkpoint loaded (a walkthrough)
        st.progress(line.fraction, text=f"Going on from step {line.step}: loading the checkpoint and preparing the "
                    f"first steps ({fmt_seconds(now - started_at)} since Resume)…{trainable}")
        return
    st.progress(line.fraction, text=line.text() + trainable)
    if curves.finished:
        shown = headline(curves.finished.metrics)
        box = st.info if curves.finished.reason == "stopped" else st.success  # a stop is the user's, not a success
        earlier = curves.better_earlier()
        note = (f"  \nThe saved model is the last one; an earlier evaluation scored higher ("
                f"{METRIC_LABELS['fields.micro_f1']} {earlier[0]:.3f} at step {earlier[1]}). Runs lists both, as the "
                "saved model's and the best scores." if earlier else "")
        # what a stop leaves (a walkthrough's "Stopped after 6m 54s" said nothing of the model or of going on)
        kept = ("  \nIts model is saved: Predict and Annotate can use it, and Runs → Resume goes on from it."
                if resumable else "")
        baseline = ones_baseline_note(flatten_metrics(curves.finished.metrics))
        box(f"{ending(curves.finished.reason)} after {fmt_seconds(curves.finished.elapsed_s)}"
            + "".join(f" · {METRIC_LABELS.get(k, k)} {v:.3f}" for k, v in shown.items() if k in HEADLINE_METRICS)
            + note + kept + (f"  \n{baseline}" if baseline else ""))


def _resumable(curves: RunCurves, run_id: str) -> bool:
    """Whether the run was stopped with a checkpoint that loads: a probe damaged the run.json of a stopped run and
    was still told Resume goes on from it."""
    finished = curves.finished
    return bool(finished and finished.reason == "stopped" and finished.checkpoint
                and checkpoint_problem(Path(finished.checkpoint), run_id=run_id) is None)


def _charts(curves: RunCurves, run_id: str) -> None:
    """One column per task the run reports (the two heads; the reference's tags; pre-training's masked words):
    its training and validation loss, and its validation metrics."""
    tasks = [t for t in dict.fromkeys(curves.train_loss["series"]) if t != "total"] or ["total"]
    metric_names = [m for m in dict.fromkeys(curves.metrics["series"])
                    if not m.endswith(("loss", "loss_weight")) and is_score_metric(m)]  # losses: the loss chart
    columns = st.columns(len(tasks))
    for column, task in zip(columns, tasks):
        title = TASK_TITLES.get(task, task)
        with column:
            losses = pd.concat([
                curves.train_loss[curves.train_loss["series"] == task].assign(series="train"),
                curves.val_loss[curves.val_loss["series"] == task].assign(series="validation"),
            ])
            _chart(f"train_chart_{task}_loss", losses, (run_id, curves.phases),
                   lambda: curve_figure(losses, f"{title}: loss", "loss", curves.phases,
                                        uirevision=f"{run_id}-{task}-loss"))
            own = [m for m in metric_names if m.split(".")[0] == task] if len(tasks) > 1 else metric_names
            if own:
                metrics = curves.metrics[curves.metrics["series"].isin(own)]
                metrics = metrics.assign(series=metrics["series"].map(lambda m: METRIC_LABELS.get(m, m)))  # as Runs
                _chart(f"train_chart_{task}_metrics", metrics, (run_id, curves.phases),
                       lambda: curve_figure(metrics, f"{title}: validation metrics", "score", curves.phases,
                                            uirevision=f"{run_id}-{task}-metrics"))


def _chart(key: str, points: pd.DataFrame, context: tuple, build: Callable[[], go.Figure]) -> None:
    """``st.plotly_chart`` of ``build()``, rebuilt only when ``points`` (or the run and its phases) changed.

    The view refreshes every few seconds in the process that trains, and building a figure holds the GIL the
    training thread needs; most refreshes bring no new validation point, and none once the run has ended."""
    signature = (context, len(points), int(pd.util.hash_pandas_object(points, index=False).sum()))
    memo = st.session_state.setdefault(FIGURES_KEY, {})
    if key not in memo or memo[key][0] != signature:
        memo[key] = (signature, build())
    st.plotly_chart(memo[key][1], key=key, width="stretch")


@dataclass(frozen=True)
class _DrawnPrediction:
    """The watched receipt's figure as last drawn, with the prediction it shows."""
    doc_id: str
    large: bool
    event: PredictionEvent
    figure: go.Figure
    drawn_at: float  # time.monotonic()
    check: tuple[int, int, list]  # prediction_check.wrong_words of the receipt as read for the figure

    def shows(self, doc_id: str, event: PredictionEvent, large: bool) -> bool:
        return (self.doc_id, self.large, self.event.step, self.event.epoch) == (doc_id, large, event.step, event.epoch)


def _predictions(curves: RunCurves, ws, live: bool, run_id: str) -> None:
    if not curves.predictions:
        return
    st.subheader("Live predictions")
    ids = sorted(curves.predictions)
    doc_id = st.selectbox("Watched receipt", ids, format_func=plain,  # a receipt id as text
                          persist_state="session", key="train_watch_view") if len(ids) > 1 else ids[0]
    # which kind of receipt it is: a walkthrough read "21 of 22 labelled words" as a score on a receipt it thought
    # the run trained on (it was held out of that dataset)
    try:
        trained_on = doc_id in train_ids(ws.get_run(run_id).config)
    except WorkspaceError:  # the run deleted since (Runs), or its record damaged: nothing to say about it
        trained_on = None
    if trained_on is not None:
        st.caption("A receipt the run also trains on: these predictions show what it learned, not how it reads new "
                   "receipts." if trained_on else "A receipt the run evaluates on and never trains on.")
    event = curves.predictions[doc_id]
    large = st.toggle("Large view", persist_state="session", key="train_prediction_large",
                      help="A tall figure to read a long receipt; drag to zoom, double-click to zoom out")
    drawn: _DrawnPrediction | None = st.session_state.get(PREDICTION_KEY)
    if drawn is not None and (drawn.doc_id, drawn.large) == (doc_id, large) and live \
            and time.monotonic() - drawn.drawn_at < PREDICTION_REDRAW_S:
        event = drawn.event  # a newer prediction shows at the next redraw; figure and items stay of one step
    prediction = event.prediction
    if drawn is None or not drawn.shows(doc_id, event, large):  # redraw (and re-encode the image) when it changed
        try:
            doc = ws.get_document(doc_id)
        except Exception as error:  # noqa: BLE001 - the document may have been deleted meanwhile
            st.caption(f"Cannot show {literal(doc_id)}: {literal(friendly(error))}")
            return
        figure = prediction_figure(doc.width, doc.height, prediction, receipt_display_image(ws, doc),
                                   title=f"{receipt_title(doc.id, doc.source)} at step {event.step}",
                                   figure_height=tall_figure_height(doc.width, doc.height) if large else None)
        drawn = _DrawnPrediction(doc_id, large, event, figure, time.monotonic(), wrong_words(doc, prediction))
        st.session_state[PREDICTION_KEY] = drawn
    left, right = figure_and_tables(stacked=large)
    left.plotly_chart(drawn.figure, key="train_prediction_figure", width="stretch")
    # an item with no quantity word read shows none, as on Predict (a walkthrough read an invented "1" here while
    # the table below said the receipt's "1" was missed); events stored before quantity_read was written show theirs
    shown = [{**item, "quantity": item.get("quantity") if item.get("quantity_read", True) else None}
             for item in prediction.get("items") or []]
    items = pd.DataFrame(shown, columns=["name", "quantity", "unit_price", "price"])
    right.caption(f"Items assembled from the predicted fields and quantities ({NO_VALUE}: no quantity read, so 1)")
    # numbers written whole and with separators: 59000.0 in a narrow column was cut to "5900" (a walkthrough)
    right.dataframe(items, hide_index=True, key="train_prediction_items", placeholder=NO_VALUE, width="stretch",
                    column_config={"name": st.column_config.TextColumn("name", width="medium"),
                                   "quantity": st.column_config.NumberColumn("quantity", format="%g"),
                                   **{column: st.column_config.NumberColumn(column, format="localized")
                                      for column in ("unit_price", "price")}})
    _check(right, drawn.check)


def _check(column, check: tuple[int, int, list]) -> None:
    """How many of the receipt's labelled words the prediction got, and the wrong ones (``prediction_check``)."""
    compared, right, wrong = check
    if not compared:
        return
    column.caption(f"{right} of {compared} labelled words predicted as labelled"
                   + ("; the wrong one:" if len(wrong) == 1 else f"; the {len(wrong)} wrong ones:"
                      if len(wrong) <= MAX_SHOWN else f"; the first {MAX_SHOWN} of {len(wrong)} wrong ones:"
                      if wrong else "."))
    if wrong:
        column.dataframe(pd.DataFrame(wrong[:MAX_SHOWN], columns=["word", "text", "predicted", "labelled"]),
                         hide_index=True, key="train_prediction_wrong", width="stretch",
                         height="auto" if len(wrong) <= 6 else 240)
