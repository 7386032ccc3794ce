"""The phases a run went through, as a table: the step each began at, what trained, and why it began then. Train
shows them for its run and Runs for the run it reads: a walkthrough found a phase's reason, such as "25% of the
time budget used", only in the database."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
import streamlit as st

from receipt_core.training.events import PhaseEvent
from ui.shared import NO_VALUE, fmt_params_of

WHY = "what began, and why"


def phase_frame(phases: Sequence[PhaseEvent]) -> pd.DataFrame:
    return pd.DataFrame([{"from step": phase.step, "epochs done": phase.epoch,
                          "trainable parameters": fmt_params_of(phase.trainable_parameters, phase.total_parameters),
                          WHY: phase.reason} for phase in phases],
                        columns=["from step", "epochs done", "trainable parameters", WHY])


def show_phases(phases: Sequence[PhaseEvent], key: str) -> None:
    """The table under a **Phases** heading, for a run whose plan has phases or that was resumed; nothing for a
    one-phase run (its trainable parameters are said beside it already)."""
    if not phases or (len(phases) == 1 and phases[0].phases <= 1):
        return
    st.markdown("**Phases**")
    st.dataframe(phase_frame(phases), hide_index=True, key=key, width="stretch", placeholder=NO_VALUE,
                 column_config={WHY: st.column_config.TextColumn(WHY, width="large")})
