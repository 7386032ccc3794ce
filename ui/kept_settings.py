"""The settings forms (Train, Race, the study form on Runs) keep what the person set when they go to another page
and come back.

Streamlit deletes a widget's value at the end of a run that did not draw the widget, so a form came back with its
defaults after a visit to Home. A value re-saved under its key before the page runs is not deleted (Streamlit's
"Working with widgets in multipage apps", option 3): :func:`keep_settings` does that for the forms' keys, and the
widget takes the value back when its page draws it again. Buttons, charts and tables hold no setting, and Streamlit
refuses a value set for them: they are left out by name.
"""

from __future__ import annotations

import streamlit as st

KEPT_PREFIXES = ("train_", "race_", "study_")
NOT_SETTINGS = frozenset({
    "train_start", "train_pause", "train_stop", "train_prediction_figure", "train_prediction_items",
    "race_start", "race_stop", "race_table", "race_report", "race_cost_quality", "study_start",
})
NOT_SETTING_PREFIXES = ("train_chart_", "race_chart_")


def is_kept(key: str) -> bool:
    return key.startswith(KEPT_PREFIXES) and key not in NOT_SETTINGS and not key.startswith(NOT_SETTING_PREFIXES)


def keep_settings() -> None:
    """Re-save every kept key this session holds, before the page runs."""
    for key in [k for k in st.session_state if isinstance(k, str) and is_kept(k)]:
        st.session_state[key] = st.session_state[key]
