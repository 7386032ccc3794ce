"""This machine's speed for the Train page's rough time guesses: the short workload of
:mod:`receipt_core.training.machine_speed`, timed at most once every 10 minutes per server (about 0.5 s)."""

from __future__ import annotations

import streamlit as st

from receipt_core.training.machine_speed import speed_factor, workload_seconds
from receipt_core.training.threads import configure_torch_threads

TIMED_EVERY_S = 600


@st.cache_data(ttl=TIMED_EVERY_S, show_spinner=False)
def machine_factor() -> float:
    """How many times the reference machine's time training takes here now (the estimate scales its rough guess by
    it). Timed on the threads a run started from this server would use."""
    configure_torch_threads()
    return speed_factor(workload_seconds())
