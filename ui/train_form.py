"""Train's form state for the two-head model: each scenario's own defaults set into the form when the scenario
changes, the Advanced settings' keys (new ones at each change, so a closed popover takes the new defaults), and the
heads the form asks for."""

from __future__ import annotations

import dataclasses

import streamlit as st

from receipt_core.model.head_settings import HeadSettings
from receipt_core.training.config import PHASED_ONLY, TrainConfig

# the two-head settings whose default a scenario may set (SCENARIO_DEFAULTS): widget key -> TrainConfig field
SCENARIO_SETTINGS = {"train_epochs": "epochs", "train_batch": "batch_size", "train_lr": "lr",
                     "train_lr_schedule": "lr_schedule", "train_boxes": "boxes", "train_decay": "decay_factor",
                     "train_weighting": "loss_weighting", "train_head": "head", "train_head_size": "head_size",
                     "train_head_depth": "head_depth", "train_head_boxes": "head_boxes", "train_top_k": "phased_top_k",
                     "train_epochs_per_phase": "epochs_per_phase", "train_patience": "patience",
                     "train_label_smoothing": "label_smoothing"}
# the two-head settings drawn in the Advanced popover. A closed popover's widgets do not take a value the page sets:
# the browser sent the one typed before back at the next rerun (a walkthrough's label smoothing 0.05 returned after a
# switch to freeze-backbone whose toast said 0). So a scenario change gives them new keys (advanced_key), and new
# widgets start from the new scenario's defaults.
ADVANCED_SETTINGS = ("train_boxes", "train_decay", "train_weighting", "train_label_smoothing", "train_head",
                     "train_head_size", "train_head_depth", "train_head_boxes")
ADVANCED_GENERATION = "train_advanced_generation"  # how many times the scenario changed in this session


def advanced_key(base: str) -> str:
    """The key of an Advanced-settings widget now: ``base`` until the first scenario change, then
    ``base__g<n>`` (the tests find a widget by ``base`` and this suffix)."""
    generation = st.session_state.get(ADVANCED_GENERATION, 0)
    return f"{base}__g{generation}" if generation else base


def scenario_defaults() -> None:
    """On a change of scenario (a callback: runs before the page redraws), set every scenario-dependent setting to
    the new scenario's own default (a number input shows an unset one as 0). A keyed widget keeps the value the
    browser holds otherwise: removing the key was not enough, the browser sent the old value back."""
    preset = st.session_state["train_preset"]
    defaults = TrainConfig.for_scenario(preset)
    changed = []
    for key, field in SCENARIO_SETTINGS.items():
        value = getattr(defaults, field)
        value = value if value is not None else 0  # a number input's unset; top k: 0 is "auto"
        shown = preset == "phased" or field not in PHASED_ONLY  # freeze-backbone has no "epochs per phase" to tell
        current = advanced_key(key) if key in ADVANCED_SETTINGS else key
        if shown and current in st.session_state and st.session_state[current] != value:
            changed.append(f"{field.replace('_', ' ')} {value:g}" if isinstance(value, float) else
                           f"{field.replace('_', ' ')} {value}")
        if key not in ADVANCED_SETTINGS:
            st.session_state[key] = value
    st.session_state[ADVANCED_GENERATION] = st.session_state.get(ADVANCED_GENERATION, 0) + 1
    if changed:  # a value the person typed is replaced: said, not done silently (found by a walkthrough)
        st.toast(f"{preset}'s own defaults: " + ", ".join(changed[:6]) + (" …" if len(changed) > 6 else ""))


def head_settings(defaults: TrainConfig, preset: str) -> HeadSettings:
    """The heads the settings below ask for (their widgets' values from the last rerun, else the scenario's
    defaults), so the parameter counts above them count the heads the run will build."""
    state = st.session_state
    config = dataclasses.replace(
        defaults, head=state.get(advanced_key("train_head"), defaults.head),
        layer_mix=state.get(advanced_key(f"train_layer_mix_{preset}"), defaults.layer_mix),
        head_size=int(state.get(advanced_key("train_head_size"), defaults.head_size)),
        head_depth=int(state.get(advanced_key("train_head_depth"), defaults.head_depth)),
        head_boxes=bool(state.get(advanced_key("train_head_boxes"), defaults.head_boxes)))
    return config.head_settings()


def bounded_number(column, label: str, low: float, high: float, value, out_of_range: list[str], **kwargs):
    """A number field whose bounds the page checks, not the browser: given min and max, Streamlit keeps a number
    typed past them in the box, red, and sends the last valid one, so Start trained 12 epochs under a box that
    showed 201 (probes 47 and 52). Past its bounds it is said under the field and added to ``out_of_range`` (Start
    stays off while it holds any); the value returned is the nearest bound, for the estimate beside Start."""
    number = column.number_input(label, value=value, **kwargs)
    if low <= number <= high:
        return number
    bounds = f"from {low:g} to {high:g}"
    column.error(f"{bounds}, not {number:g}")
    out_of_range.append(f"{label.split(' (')[0]} must be {bounds}")
    return type(number)(min(max(number, low), high))
