"""The Race page's parts: the start form, and the board (progress, overlaid curves, cost beside quality, and at the
end the study's reading). The board reads the race's record and its runs' stored events, never the race's
thread; the Studies tab's progress line (:func:`race_progress`) is the board's first line."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from receipt_core.data.files import download_name_part
from receipt_core.datasets.splits import paired_datasets
from receipt_core.model.backbone_names import BACKBONE_NAMES, BACKBONE_NAMES_HELP
from receipt_core.model.freeze import PRESETS
from receipt_core.plots.run_charts import CURVE_AXES, curve_figure, label_smoothing_note
from receipt_core.plots.study_tables import claim_lines
from receipt_core.study.race import RaceBusyError, name_taken
from receipt_core.study.reading import SHORT_RACE_S
from receipt_core.study.race_record import (DEFAULT_RACE_SCENARIOS, RaceFileError, RacePlan, RaceRecord,
                                           check_race_name, find_races, unreadable_races)
from receipt_core.study.figures import config_colours
from receipt_core.study.race_view import (OVERRUN, RACE_CHARTS, RaceFeed, cut_by_budget, deleted_runs,
                                          ended_before_budget, entry_label, entry_smoothing, no_epoch_finished,
                                          overran_budget, race_curves, race_rows)
from receipt_core.study.settings import StudyConfig, StudySettings
from receipt_core.study.table import READING_NOTE
from receipt_core.study.view import open_study, read_report
from receipt_core.training.config import TrainConfig
from receipt_core.training.estimate import planned_split
from receipt_core.training.rough_estimate import FROZEN_BACKBONE_SCENARIOS
from receipt_core.training.events import HEADLINE_METRICS, METRIC_LABELS
from receipt_core.training.run_feed import RunCurves
from receipt_core.training.run_status import status_line
from receipt_core.workspace.database import WorkspaceError
from receipt_core.wording import as_sentence, counted, epochs_done, minutes_said
from ui.dataset_choice import (EVALUATION_HELP, HOLD_OUT, also_train_choice, current_dataset, evaluation_preview,
                               pair_evaluation, replace_vanished_choices, vanished_note)
from ui.literal import literal, notice_markdown, plain
from ui.live_run import before_first_step
from ui.name_fields import trimmed_note
from ui.race_track import race_track, start_race
from ui.shared import NO_DATA, NO_VALUE, field_row, friendly, job_slot, user_errors, workspace
from ui.training_elsewhere import training_elsewhere

# pixels of each overlaid chart: two side by side at 1280 px (440 left one alone, using 55% of the width: a
# walkthrough), three on a wide screen, one on a narrow one
RACE_CHART_WIDTH = 400
SHOWN_KEY = "race_shown"  # the race the board shows (its name); the newest when unset
FEED_KEY = "race_feed"
STATUS_ICONS = {"running": ":green[:material/play_circle:]", "finished": ":green[:material/check_circle:]",
                "stopped": ":material/stop_circle:", "failed": ":red[:material/error:]",
                "interrupted": ":orange[:material/warning:]"}


def study_name_ok(name: str) -> bool:
    """Whether the race's or study's typed folder name (empty: one is made) can be used; what is wrong is said
    under the field at once, as the Data page does for a dataset name, not after Start."""
    if not name.strip():
        return True
    try:
        check_race_name(name.strip())
        if (taken := name_taken(race_track().studies_dir, name.strip())) is not None:
            raise ValueError(taken)  # said as it is typed, not after Start race (probe 49)
    except ValueError as error:
        st.error(notice_markdown(as_sentence(str(error))))
        return False
    trimmed_note(name, name.strip())
    return True


@dataclass(frozen=True)
class DataChoice:
    """The data of a race or study as its form asks for it (as the Train page does)."""

    train: str
    also_train: tuple[str, ...]  # other datasets trained on with ``train``
    evaluation: str | None  # None: hold out ``share`` of the training receipts
    share: float
    vanished: tuple[str, ...] = ()  # datasets chosen before that were found renamed or deleted in this rerun


def data_choice(datasets: list[str], key: str) -> DataChoice:
    """Training dataset, other datasets trained on with it, evaluation dataset and the held-out share, as the Train
    page asks."""
    columns = field_row(3, width=230)  # as the Train page: room for the datasets' names
    default_train, default_eval = paired_datasets(datasets, current_dataset())  # as the Train page pairs them
    vanished = replace_vanished_choices({f"{key}_train": default_train or datasets[0],
                                         f"{key}_eval": default_eval or HOLD_OUT}, datasets, lists=(f"{key}_also",))
    train = columns[0].selectbox("Training dataset", datasets, persist_state="session", key=f"{key}_train",
                                 index=datasets.index(default_train) if default_train in datasets else 0,
                                 on_change=pair_evaluation, args=(f"{key}_train", f"{key}_eval", datasets))
    options = [HOLD_OUT] + datasets
    evaluation = columns[1].selectbox("Evaluation dataset", options, persist_state="session", key=f"{key}_eval",
                                      index=options.index(default_eval) if default_eval in options else 0,
                                      help=EVALUATION_HELP)
    share = columns[2].slider("Held-out share", 0.1, 0.5, 0.25, 0.05, persist_state="session", key=f"{key}_share",
                              disabled=evaluation != HOLD_OUT)
    also = also_train_choice(datasets, train, f"{key}_also", evaluation=evaluation)
    evaluation_preview([train, *also], evaluation, share)  # too few evaluation receipts make its verdicts noise
    return DataChoice(train, tuple(also), None if evaluation == HOLD_OUT else evaluation, share, tuple(vanished))


def data_refused(data: DataChoice, button: str) -> bool:
    """Whether ``button`` must do nothing, said before the press: a dataset chosen before was found renamed or
    deleted in this rerun (:func:`~ui.dataset_choice.replace_vanished_choices`), or the split every run would make
    is refused, said as Train says it (a walkthrough pressed Start race on a one-receipt dataset and only then read
    that holding receipts out needs two)."""
    if data.vanished:
        st.warning(notice_markdown(vanished_note(data.vanished, button)))
        return True
    ws = workspace()
    split = planned_split(ws.list_documents_of([data.train, *data.also_train]),
                          None if data.evaluation is None else ws.list_documents(data.evaluation), data.share)
    if split.problem is not None:
        st.warning(notice_markdown(f"{button} is off until this is mended: {split.problem}."))
    return split.problem is not None


SAME_RECIPE_LABEL = "One recipe for every scenario (only what each freezes differs)"
SAME_RECIPE_HELP = ("Unticked, each scenario trains with its own defaults, the recipe measured best for it: "
                    "freeze-backbone 20 epochs of contextual heads, full fine-tuning linear heads over line boxes, "
                    "phased contextual heads with label smoothing. So a race compares recipes as well as freezing. "
                    "Ticked, every scenario trains with phased's recipe (contextual heads at their own rate 3e-3 over "
                    "a layer mix and row boxes, label smoothing 0.1, the same epochs): the scores then differ by "
                    "what each freezes alone")


def race_form(datasets: list[str]) -> None:
    """Scenarios, backbone, data, budget per run; Start race."""
    if not datasets:
        st.info(NO_DATA)
        return
    defaults = TrainConfig()
    top = st.columns([3, 1])
    scenarios = top[0].multiselect("Scenarios", PRESETS, default=list(DEFAULT_RACE_SCENARIOS),
                                   persist_state="session", key="race_scenarios",
                                   help="Each trains with its own defaults (the Train page's for that scenario), "
                                        "one after another, on the same data and time budget; the budget is a "
                                        "cap: a run also ends when its scenario's epochs are done")
    backbone = top[1].selectbox("Backbone", BACKBONE_NAMES, index=BACKBONE_NAMES.index(defaults.backbone),

                                persist_state="session", key="race_backbone",
                                help=BACKBONE_NAMES_HELP)
    same_recipe = st.checkbox(SAME_RECIPE_LABEL, persist_state="session", key="race_same_recipe", help=SAME_RECIPE_HELP)
    data = data_choice(datasets, "race")
    settings_columns = st.columns(3)
    seconds = settings_columns[0].number_input(
        "Seconds per run", 5, 3600, 120, step=5, persist_state="session", key="race_seconds",
        help="Each run's time budget: training time, evaluations included; each run also evaluates and saves when "
             "its budget ends. A frozen "
             "backbone first computes its features once, inside its budget: give it longer than that (a minute or "
             "more for MiniLM on a few hundred receipts on 2 cores) to see it pull ahead")
    seed = settings_columns[1].number_input("Seed", 0, 1_000_000, defaults.seed,
                                            persist_state="session", key="race_seed")
    tuned = [scenario for scenario in scenarios if scenario not in FROZEN_BACKBONE_SCENARIOS]
    if seconds <= SHORT_RACE_S and backbone != "tiny" and tuned:
        # a walkthrough raced at 5 s: each run made one step, scored 0.07 and took 21-27 s, with no word before;
        # said of the runs that fine-tune the backbone: at 45 s freeze-backbone ran 6.6 epochs (a second one)
        settings_columns[0].caption(f":material/warning: At {SHORT_RACE_S} s or less a {literal(backbone)} run that "
                                    f"trains its backbone ({', '.join(tuned)}) gets only a few steps on 2 cores: its "
                                    "scores will mean little, and the reading gives no verdict on them "
                                    "(freeze-backbone, on cached features, still gets several epochs), and each run "
                                    "takes tens of seconds more for its set-up, and may train past its budget by its "
                                    "first evaluation and save.")
    name = settings_columns[2].text_input("Name (a folder under the studies folder)",
                                          persist_state="session", key="race_name",
                                          placeholder="race-<date>-<time>")
    named = study_name_ok(name)
    active = job_slot().current()
    busy = active is not None and active.is_live  # said before the press, which would be refused (a walkthrough)
    if busy:
        st.caption(f":material/warning: Run {literal(active.run_id)} is training on this server: a race starts once "
                   "it has ended (or been stopped on Train).")
    if elsewhere := training_elsewhere(workspace()):  # `train` or `study` on the command line: a race beside it
        # times both on shared cores (walkthrough 50 raced beside a command-line study the sidebar called idle)
        st.caption(f":material/warning: Also training in this workspace: {elsewhere}. A race started now shares the "
                   "CPU cores with it: its runs get fewer steps in their budgets, and the timings compare badly.")
    refused = data_refused(data, "Start race")
    if scenarios:  # a presenter could not tell what the default three runs of 2 minutes cost the demo (walkthrough 46)
        st.caption(f"{counted(len(scenarios), 'run')} one after another, each at most {int(seconds)} s of training "
                   "(a run ends sooner when its own epochs are done), plus each run's set-up: up to about "
                   f"{minutes_said(len(scenarios) * int(seconds) / 60)} in all.")
    if st.button("Start race", type="primary", key="race_start",
                 disabled=not scenarios or not named or busy or refused):
        with user_errors("Starting the race"):
            plan = RacePlan(configs=tuple(StudyConfig(backbone, s) for s in scenarios),
                            settings=StudySettings(budget_minutes=int(seconds) / 60, seed=int(seed),
                                                   same_recipe=bool(same_recipe)),
                            train_data=data.train, also_train=data.also_train, eval_data=data.evaluation,
                            hold_out=data.share, kind="race")
            st.session_state[SHOWN_KEY] = start_race(plan, name)
            st.rerun()


RECIPE_CAPTIONS = {True: "One recipe for every scenario: each trains with phased's heads, rates, smoothing and "
                          "boxes, so only what it freezes differs.",
                   False: "Each scenario with its own defaults: the heads, rates, epochs and boxes differ with what "
                          "it freezes (tick *One recipe for every scenario* to compare freezing alone)."}


def race_board() -> None:
    """The race shown (the newest unless one was picked): drawn in a fragment that refreshes while it runs."""
    track = race_track()
    races = find_races(track.studies_dir)
    names = [r.name for r in races]
    # which recipe each race ran, in the list: a presenter could not tell a race of one recipe from one of the
    # scenarios' own defaults, the names alike (walkthrough 33)
    one_recipe = {r.name for r in races if r.plan.settings.same_recipe}
    unreadable = unreadable_races(track.studies_dir)
    if unreadable:  # left out of the list: a damaged race vanished without a word (a probe)
        st.warning("Not shown, their race.json cannot be read (fix or delete the folder under the studies folder): "
                   + "; ".join(f"{literal(folder)} ({literal(problem)})" for folder, problem in unreadable) + ".")
    live = track.live()
    if live is not None and live.name not in names:
        names.insert(0, live.name)
    if not names:
        st.info("No race yet: choose the scenarios above and press **Start race**." if workspace().datasets()
                else "No race yet: a race needs receipts (see above).")  # no form without data (a walkthrough)
        return
    if st.session_state.get(SHOWN_KEY) not in names:
        st.session_state[SHOWN_KEY] = names[0]
    # a folder name as text: "tab\there" showed as "tab here", the twin of another race (a probe)
    name = (st.selectbox("Race", names, persist_state="session", key=SHOWN_KEY,
                         format_func=lambda race: plain(race) + (" · one recipe" if race in one_recipe else ""))
            if len(names) > 1 else names[0])
    try:
        record = track.record(name)
    except RaceFileError as error:  # deleted or damaged since the list was read
        st.error(f"Reading the race failed: {literal(friendly(error))}")
        return
    was_live = st.session_state.get("race_was_live")
    st.session_state["race_was_live"] = record.is_live
    if was_live and not record.is_live:
        st.rerun(scope="app")  # the form opens again and the fragment stops refreshing
    feed = st.session_state.get(FEED_KEY)
    if feed is None or feed.name != name:
        feed = st.session_state[FEED_KEY] = RaceFeed(name)
    curves = feed.poll(workspace(), record)
    deleted = deleted_runs(record, {run.id for run in workspace().list_runs()})

    header = st.columns([5, 1])
    header[0].markdown(f"### {STATUS_ICONS.get(record.status, '')} Race {literal(record.name, exact=True)} — "
                       f"{record.status}")
    if record.is_live and header[1].button("Stop race", key="race_stop", type="primary", width="stretch"):
        try:
            track.stop(record.name)
            st.toast("Stopping the race after this step…")
        except RaceBusyError as error:
            st.warning(notice_markdown(friendly(error)))  # it may name a run or race
    st.caption(RECIPE_CAPTIONS[record.plan.settings.same_recipe])
    race_progress(record, curves)
    if record.error:
        st.error(f"The race ended early: {literal(record.error)}")
    axis = st.radio("Plot by", ["wall_s", "step", "epoch"], format_func=CURVE_AXES.get, horizontal=True,

                    persist_state="session", key="race_x",
                    help="Wall-clock seconds since each run's start: what a scenario costs in time")
    # a wrapping row: three columns drew each chart 177 pixels wide at 1024 px and cut its legend (a walkthrough)
    charts = st.container(horizontal=True, gap="medium")
    columns = [charts.container(width=RACE_CHART_WIDTH) for _ in RACE_CHARTS]
    colours = config_colours(record.study())  # each configuration's colour, as in the cost chart below
    by_run = {entry_label(record, entry): colours[entry.config] for entry in record.entries}
    for column, (title, y_title, series) in zip(columns, RACE_CHARTS):
        column.plotly_chart(curve_figure(race_curves(record, curves, series), title, y_title, x=axis,
                                         uirevision=f"race-{name}-{series}-{axis}", colors=by_run),
                            key=f"race_chart_{series}", width="stretch")
    if note := label_smoothing_note(entry_smoothing(record), quote=literal, validation_chart=False):
        st.caption(note)
    st.markdown("**Cost beside quality**")
    st.dataframe(pd.DataFrame(race_rows(record, curves, deleted)), hide_index=True, key="race_table",
                 placeholder=NO_VALUE, width="stretch",
                 # the configuration pinned: at 1366 px the cost columns scroll and their rows kept no name
                 column_config={"configuration": st.column_config.TextColumn(pinned=True),
                                # 666K, 24.8M: at 1366 px "666,011" was cut to "666,01", a number read as
                                # true (walkthrough 33); the Phases table counts them so too
                                "trainable parameters": st.column_config.NumberColumn(
                                    "trainable", format="compact", width=85,
                                    help="Trainable parameters: the most any phase of the run trained"),
                                # short labels and narrow numbers: at 1366 px "share of own model traine…" was
                                # cut and the training seconds, steps and wall seconds sat off-screen (a
                                # walkthrough)
                                # widths in pixels: "small" cut the headers to "share traine", "wa" (a walkthrough)
                                "share of own model trained": st.column_config.NumberColumn(
                                    "share trained", format="percent", width=110,
                                    help="Trainable parameters over the run's own model, its heads included (the "
                                         "reading compares the counts with full fine-tuning's)"),
                                "training s": st.column_config.NumberColumn(format="%.1f", width=95),
                                "wall s": st.column_config.NumberColumn(format="%.1f", width=75),
                                "epochs": st.column_config.NumberColumn(format="%.1f", width=75),
                                "steps": st.column_config.NumberColumn(width=70),
                                # "finished (time budget)" whole: it was cut to "finished (" (a walkthrough)
                                "status": st.column_config.TextColumn("status", width="medium"),
                                # three decimals in every row: "0.722" beside "0.6786" (a walkthrough)
                                **{METRIC_LABELS[m]: st.column_config.NumberColumn(format="%.3f")
                                   for m in HEADLINE_METRICS}})
    early = ended_before_budget(record)
    if early:
        runs = "; ".join(f"{literal(run.label)} {epochs_done(run.epochs)} epochs in {run.train_s:.1f} s"
                         for run in early)
        # a shorter budget only where none was cut by it: walkthrough 29's race had phased and full stopped at 2.8
        # and 2.1 epochs, and was told to shorten it
        cut = cut_by_budget(record)
        advice = (f"; a longer budget would let {', '.join(literal(run.label) for run in cut)} end on "
                  f"{'its' if len(cut) == 1 else 'their'} epochs too" if cut else ", or race with a shorter budget")
        one = len(early) == 1  # "their … them" of a single run (walkthrough 50)
        st.caption(f"Ended on {'its' if one else 'their'} own epochs before the "
                   f"{record.plan.settings.budget_minutes * 60:g} s budget, so the budget did not give "
                   f"{'it the time the others had' if one else 'them equal time'}: {runs}. Compare "
                   f"{'it' if one else 'them'} by the training seconds beside {'its' if one else 'their'} "
                   f"scores{advice}.")
    if no_epoch_finished(record):
        st.warning("No run of this race finished an epoch, so its scores compare models that have barely trained: "
                   "race again with more seconds per run (minutes with MiniLM on a few hundred receipts on 2 cores).")
    overran = overran_budget(record)
    if overran:
        runs = "; ".join(f"{literal(run.label)} {run.train_s:.1f} s" for run in overran)
        st.caption(f"Past the {record.plan.settings.budget_minutes * 60:g} s budget by more than {OVERRUN - 1:.0%}: "
                   f"{runs}. The budget is checked "
                   "between steps, and a run's first steps (with a frozen backbone, computing the features) and "
                   "its first evaluation and save come before it can tell how long they take, so a budget of "
                   "seconds is overrun by tens of seconds.")
    if deleted:
        st.caption(f"Deleted on Runs since the race: {', '.join(map(literal, deleted.values()))}. Their curves are "
                   "gone; the table and the reading keep the figures the race measured.")
    if not record.is_live:
        race_reading(record)


def race_progress(record: RaceRecord, curves: dict[str, RunCurves]) -> None:
    """A progress bar over the race's runs, with the running one's status line (the Train page's)."""
    total = len(record.entries)
    current = record.current if record.is_live else None
    if current is None:
        waiting = next((e for e in record.entries if e.status == "waiting"), None) if record.is_live else None
        text = f"{record.done} of {total} runs ended · " + (
            record.status if waiting is None else f"next: {waiting.name}, as soon as the job slot is free")
        st.progress(record.done / total, text=text)
        return
    number = record.entries.index(current) + 1
    run = curves.get(current.run_id or "")
    budget = record.plan.settings.budget_minutes
    line = status_line(run.timing, time.time(), live=True, budget_s=budget * 60 if budget else None) \
        if run is not None else None
    # the bar is of the whole race, which the line says: walkthrough 46 read "step 375/500" over a bar a third full
    # (run 1 of 2), and the run's own "the bar: time used of its budget" spoke of a bar not shown
    detail = line.text(bar_note=False) if line is not None and run.progress is not None else _before_first_step(
        run, current)
    st.progress((record.done + (line.fraction if line is not None else 0.0)) / total,
                text=f"Run {number} of {total} (the bar: the whole race): {current.name} — {detail}")


def _before_first_step(run: RunCurves | None, entry) -> str:
    """The running entry's state before its first loss point, timed from its run's creation (a walkthrough watched
    "loading the backbone…" stand still for a minute while a frozen backbone computed its features)."""
    try:
        since = time.time() - workspace().get_run(entry.run_id).created_at if entry.run_id else None
    except WorkspaceError:  # deleted on Runs meanwhile
        since = None
    return "loading the backbone…" if since is None else before_first_step(run, since)


def race_reading(record: RaceRecord) -> None:
    """At the end: the study's reading of the claims, its quality-vs-cost figure, and where its report is."""
    track = race_track()
    if not track.has_study(record.name):
        st.caption("No run of this race ended with a result, so there is no reading.")
        return
    with user_errors("Opening the race's study"):
        study = open_study(record.name, within=track.studies_dir)
        st.markdown("**Reading of the design's claims**")
        study_reading(study, "race_cost_quality", "Too few scenarios ran to judge any of the design's claims.")
        st.caption(f"The race's full report is under Runs → Studies → {literal(record.name)}.")
        report = study.report_path("html")
        if report is not None:
            st.download_button(f"Download {report.name}", lambda: read_report(report),
                               file_name=f"{download_name_part(record.name) or 'race'}-report.html",
                               mime="text/html", key="race_report")


def study_reading(study, chart_key: str, too_few: str) -> None:
    """A study's (or race's) reading of the design's claims, its notes and its cost-vs-quality chart; ``too_few``
    when no claim could be judged."""
    st.markdown("\n".join(f"- {line}" for line in claim_lines(study)) or too_few)
    st.caption(READING_NOTE)
    for note in study.notes:
        st.warning(literal(note))
    st.plotly_chart(study.quality_cost_figure(), key=chart_key, width="stretch")
