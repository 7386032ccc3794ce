"""Runs → Studies: start a scenario study from the browser, and follow it until its report opens.

A study started here is a race (:mod:`receipt_core.study.race`): its configurations train one after another
through the server's job slot, as workspace runs, and its files are written under the studies folder when the last
one ends — what ``python -m receipt_core study`` writes, so the tab opens it like any study."""

from __future__ import annotations

import streamlit as st

from receipt_core.model.backbone_names import BACKBONE_NAMES
from receipt_core.model.freeze import PRESETS
from receipt_core.study.race_record import RacePlan, find_races
from receipt_core.study.race_view import RaceFeed
from receipt_core.study.settings import (LAYOUT_SCENARIOS, REFERENCE, TEXT_SCENARIOS, StudyConfig, StudySettings,
                                         default_configs)
from receipt_core.training.run_status import format_seconds
from ui.literal import literal
from ui.race_track import race_track, start_race
from ui.race_view import (SAME_RECIPE_HELP, SAME_RECIPE_LABEL, data_choice, data_refused, race_progress,
                          study_name_ok)
from ui.shared import NO_DATA, user_errors, workspace

STUDY_REFRESH_S = 2.0
CONFIG_OPTIONS = tuple([StudyConfig(b, s) for b in BACKBONE_NAMES for s in PRESETS]
                       + [StudyConfig(b, REFERENCE) for b in BACKBONE_NAMES])
FEED_KEY = "study_feed"


def study_form(datasets: list[str]) -> None:
    """Configurations, data, budget, repeats, seed and folder name; Start study."""
    if not datasets:
        st.info(NO_DATA)
        return
    defaults = StudySettings()
    configs = st.multiselect("Configurations", CONFIG_OPTIONS, default=list(default_configs()),
                             format_func=lambda c: c.name, persist_state="session", key="study_configs",
                             help=f"The study's default: {len(LAYOUT_SCENARIOS)} scenarios on layout-minilm, "
                                  f"{len(TEXT_SCENARIOS)} on text-minilm ({', '.join(TEXT_SCENARIOS)}) and the plain "
                                  "reference tagger (as `python -m receipt_core study`)")
    same_recipe = st.checkbox(SAME_RECIPE_LABEL, persist_state="session", key="study_same_recipe",
                              help=SAME_RECIPE_HELP)
    data = data_choice(datasets, "study")
    columns = st.columns(4)
    minutes = columns[0].number_input("Time budget per run, minutes", 0.05, 600.0, float(defaults.budget_minutes),
                                      step=0.5, persist_state="session", key="study_minutes")
    repeats = columns[1].number_input("Seeds per configuration", 1, 10, defaults.repeats,
                                      persist_state="session", key="study_repeats")
    seed = columns[2].number_input("First seed", 0, 1_000_000, defaults.seed, persist_state="session", key="study_seed")
    name = columns[3].text_input("Folder name",
                                 persist_state="session", key="study_name", placeholder="study-<date>-<time>")
    runs = len(configs) * int(repeats)
    total = format_seconds(runs * minutes * 60)  # walkthrough 30 read past a default of 10 runs of 10 minutes
    st.caption(f"{runs} runs of at most {minutes:g} min training each, one after another in the server's job slot "
               f"(each also loads its backbone, evaluates and saves): up to **{total}** of training in all. For a "
               "first look, pick two or three configurations and a minute or two each.")
    named = study_name_ok(name)
    refused = data_refused(data, "Start study")
    if st.button("Start study", type="primary", key="study_start", disabled=not configs or not named or refused):
        with user_errors("Starting the study"):
            plan = RacePlan(configs=tuple(configs), settings=StudySettings(budget_minutes=float(minutes),
                                                                           repeats=int(repeats), seed=int(seed),
                                                                           same_recipe=bool(same_recipe)),
                            train_data=data.train, also_train=data.also_train, eval_data=data.evaluation,
                            hold_out=data.share, kind="study")
            start_race(plan, name)
            st.rerun()


def study_progress(opened_key: str) -> None:
    """The newest study started here, while it runs: its progress; when it ends, its report opens
    (``st.session_state[opened_key]``, the tab's opened study) and the page reruns once."""
    track = race_track()
    live = track.live()
    studies = find_races(track.studies_dir, kind="study")
    watched = st.session_state.get("study_watched")
    if live is not None and live.record.plan.kind == "study":
        record = live.record
        st.session_state["study_watched"] = record.name
    elif watched is not None:
        record = next((r for r in studies if r.name == watched), None)
        st.session_state.pop("study_watched")
        if record is not None and track.has_study(record.name):
            st.session_state[opened_key] = str(track.studies_dir / record.name)
        st.rerun(scope="app")
    else:
        return
    feed = st.session_state.get(FEED_KEY)
    if feed is None or feed.name != record.name:
        feed = st.session_state[FEED_KEY] = RaceFeed(record.name)
    st.markdown(f"**Study {literal(record.name)} in progress** — its report opens here when the last run ends; "
                "watch the current run on Train or the whole study on Race.")
    race_progress(record, feed.poll(workspace(), record))
