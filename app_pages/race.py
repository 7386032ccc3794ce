"""Race: the freeze scenarios on the same data and time budget, one after another through the server's job slot;
their curves overlaid live by wall-clock time or step, cost beside quality, and at the end the study's reading of
the design's claims."""

from __future__ import annotations

import streamlit as st

from receipt_core.study.race_record import find_races
from ui.race_track import race_track
from ui.race_view import race_board, race_form
from ui.shared import require_router, workspace

RACE_REFRESH_S = 1.5

require_router()
st.title("Scenario race")
st.caption("What freezing buys and costs, measured: each scenario trains on the same receipts with the same time "
           "budget, one after another; the cheap ones get through more epochs, the expensive ones learn more per "
           "step (the budget is a cap: a run also ends when its scenario's epochs are done, and the table says so). "
           "Each scenario runs with its own defaults, as Train would start it (freeze-backbone and phased: "
           "contextual heads over a layer mix; full: linear heads, the recipe measured best for it), or, with *One "
           "recipe for every scenario* ticked, all with one recipe, so that only freezing differs; each run is "
           "an ordinary run (watch it on Train, find it on Runs). One seed and a short budget give a first look: "
           "the study (Runs → Studies) repeats seeds.")
track = race_track()
live = track.live()
with st.expander("Start a race", expanded=not find_races(track.studies_dir)):  # folded once there is a race to show
    race_form([d.name for d in workspace().datasets()])
st.fragment(run_every=RACE_REFRESH_S if live is not None else None)(race_board)()
