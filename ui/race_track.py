"""The server's race track (one race at a time, shared by every session, like the job slot) and the start of a
race from a page: the settings a page collected become a :class:`~receipt_core.study.race_record.RacePlan`, started
in the job slot."""

from __future__ import annotations

import streamlit as st

from receipt_core.study.race import RaceTrack, default_race_name
from receipt_core.study.race_record import RacePlan
from ui.literal import literal
from ui.shared import job_slot, workspace, workspace_home


@st.cache_resource(show_spinner=False)
def _race_track(home: str) -> RaceTrack:
    return RaceTrack(workspace())


def race_track() -> RaceTrack:
    """The race track of this server's workspace (created once per workspace folder)."""
    return _race_track(str(workspace_home()))


def start_race(plan: RacePlan, name: str) -> str:
    """Start ``plan`` in the job slot under ``name`` (a fresh name when empty); toasts any receipts left out and
    returns the race's name. Errors (busy slot, bad name, unlabelled data) propagate with their message."""
    race, notes = race_track().start(job_slot(), plan, name.strip() or default_race_name(plan.kind))
    for note in notes:
        st.toast(literal(note))
    return race.name
