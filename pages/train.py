"""Train: backbone, freeze scenario with per-group toggles, hyperparameters; Start/Pause/Stop; live charts."""

from __future__ import annotations

import contextlib

import streamlit as st

from receipt_core.datasets.splits import split_documents
from receipt_core.model.backbones import BACKBONE_NAMES, DEFAULT_BACKBONE
from receipt_core.model.encoding import BOX_MODES
from receipt_core.model.freeze import PRESETS, FreezePlan
from receipt_core.training.slot import JobBusyError
from receipt_core.model.scenario_guide import guide_markdown
from receipt_core.training.schedules import LR_SCHEDULES
from receipt_core.training.config import TrainConfig
from receipt_core.training.receipt_task import start_run
from ui.live_run import live_view
from ui.shared import require_router, current_dataset, fmt_params, friendly, group_sizes, job_slot, user_errors, workspace

HOLD_OUT = "(hold out part of the training dataset)"
LOCAL = "local folder…"

require_router()
st.title("Train")
ws = workspace()
slot = job_slot()
busy = slot.busy()
datasets = [d.name for d in ws.datasets()]

with st.expander("Run settings", expanded=busy is None):
    if not datasets:
        st.info("No data yet: generate demo receipts on Home first.")
    data_cols = st.columns(3)
    default = current_dataset()
    train_set = data_cols[0].selectbox("Training dataset", datasets, key="train_dataset",
                                       index=datasets.index(default) if default in datasets else 0)
    eval_choice = data_cols[1].selectbox("Evaluation dataset", [HOLD_OUT] + datasets, key="train_eval")
    hold_out = data_cols[2].slider("Held-out share", 0.1, 0.5, 0.25, 0.05, key="train_hold_out",
                                   disabled=eval_choice != HOLD_OUT)

    model_cols = st.columns([2, 3])
    backbone_choice = model_cols[0].selectbox("Backbone", list(BACKBONE_NAMES) + [LOCAL], key="train_backbone",
                                              index=list(BACKBONE_NAMES).index(DEFAULT_BACKBONE),
                                              help="layout-minilm: MiniLM-L6 with 2-D layout embeddings (default); "
                                                   "text-minilm: the same without layout; tiny: small and random, "
                                                   "for instant demos")
    backbone = backbone_choice
    if backbone_choice == LOCAL:
        backbone = model_cols[0].text_input("LayoutLM folder on the server", key="train_backbone_dir").strip()
    preset = model_cols[1].selectbox("Scenario", PRESETS, index=PRESETS.index("full"), key="train_preset")
    model_cols[1].markdown(guide_markdown(preset))

    st.markdown("**Trainable parameter groups** (toggles override the scenario)")
    sizes: tuple[tuple[str, int], ...] = ()
    if backbone:
        with user_errors("Reading the backbone"):
            sizes = group_sizes(backbone)
    freeze: list[str] = []
    unfreeze: list[str] = []
    if sizes:
        names = [name for name, _ in sizes]
        plan = FreezePlan.preset(preset, names)
        toggle_cols = st.columns(4)
        trainable = 0
        for i, (name, count) in enumerate(sizes):
            on = toggle_cols[i % 4].toggle(f"{name} · {fmt_params(count)}", value=plan.trainable[name],
                                           key=f"train_toggle_{backbone}_{preset}_{name}")
            trainable += count if on else 0
            if on and not plan.trainable[name]:
                unfreeze.append(name)
            elif not on and plan.trainable[name]:
                freeze.append(name)
        total = sum(count for _, count in sizes)
        note = " (phase 1; later phases unfreeze more)" if preset == "phased" else ""
        st.metric("Trainable parameters" + note, f"{fmt_params(trainable)} / {fmt_params(total)}",
                  f"{100 * trainable / total:.1f}% of the model", delta_color="off")

    phase_cols = st.columns(3)
    top_k = phase_cols[0].number_input("Phase 2: top encoder layers", 1, 24, 2, key="train_top_k",
                                       disabled=preset != "phased")
    epochs_per_phase = phase_cols[1].number_input("Epochs per phase (0 = by patience only)", 0, 50, 1,
                                                  key="train_epochs_per_phase", disabled=preset != "phased")
    patience = phase_cols[2].number_input("Patience in evaluations (0 = off)", 0, 20, 0, key="train_patience",
                                          disabled=preset != "phased")

    hp = st.columns(6)
    epochs = hp[0].number_input("Epochs", 0, 200, 6, key="train_epochs")
    batch_size = hp[1].number_input("Batch size", 1, 64, 2, key="train_batch")
    lr = hp[2].number_input("Learning rate", 0.0, 1.0, 1e-4, format="%.0e", step=1e-5, key="train_lr")
    decay = hp[3].number_input("Discriminative factor", 1.0, 10.0, 2.6, step=0.1, key="train_decay",
                               help="Each lower layer's rate is the one above divided by this")
    weighting = hp[4].selectbox("Loss weighting", ["fixed", "uncertainty"], key="train_weighting")
    max_minutes = hp[5].number_input("Time budget, minutes (0 = none)", 0.0, 600.0, 0.0, key="train_minutes")
    more = st.columns(5)
    seed = more[0].number_input("Seed", 0, 1_000_000, 0, key="train_seed")
    eval_every = more[1].number_input("Evaluate every N steps (0 = each epoch)", 0, 10_000, 0, key="train_eval_every")
    lr_schedule = more[3].selectbox("Learning-rate schedule", LR_SCHEDULES, key="train_lr_schedule",
                                    help="linear: warm up over the first 6% of the run, then decay to 0 at its end "
                                         "(the last epoch, or the time budget when that comes first)")
    boxes = more[4].selectbox("Boxes", BOX_MODES, key="train_boxes",
                              help="The box each word is encoded with: its own (word), its OCR line's, as "
                                   "LayoutLMv3 and LiLT do (line), or its own left and right edges with its line's "
                                   "top and bottom (row: one row per line, each word keeps its column)")
    preview_ids = []
    if datasets:
        with contextlib.suppress(ValueError):  # too few receipts: Start explains it
            summaries = ws.list_documents(train_set)
            eval_summaries = None if eval_choice == HOLD_OUT else ws.list_documents(eval_choice)
            preview_ids = [s.id for s in split_documents(summaries, eval_summaries, hold_out)[1]]
    watch = more[2].selectbox("Live predictions for", preview_ids or [None], key="train_watch",
                              help="An evaluation receipt whose predictions are drawn at each evaluation")

    start = st.button("Start", type="primary", key="train_start", disabled=not datasets or not backbone)
    if start:
        with user_errors("Starting the run"):
            docs = ws.load_documents(train_set)
            chosen_eval = None if eval_choice == HOLD_OUT else ws.load_documents(eval_choice)
            train_docs, eval_docs = split_documents(docs, chosen_eval, hold_out)
            eval_ids = [d.id for d in eval_docs]
            watch_id = watch if watch in eval_ids else eval_ids[0] if eval_ids else None
            config = TrainConfig(
                backbone=backbone, scenario=preset, freeze=tuple(freeze), unfreeze=tuple(unfreeze),
                phased_top_k=int(top_k), epochs_per_phase=int(epochs_per_phase) or None,
                patience=int(patience) or None, epochs=int(epochs), max_minutes=float(max_minutes) or None,
                batch_size=int(batch_size), lr=float(lr), decay_factor=float(decay), loss_weighting=weighting,
                seed=int(seed), eval_every=int(eval_every), watch=(watch_id,) if watch_id else (),
                lr_schedule=lr_schedule, boxes=boxes)

            def launch():
                job = start_run(ws, config, train_docs, eval_docs)
                return job.run_id, job

            try:
                slot.start(launch, description=f"{backbone} · {preset} · {len(train_docs)} train / "
                                               f"{len(eval_docs)} eval receipts")
                st.session_state["train_was_live"] = True
                st.rerun()
            except JobBusyError as error:
                st.error(friendly(error))

st.divider()
refresh = 1.0 if slot.busy() is not None else 5.0
st.fragment(run_every=refresh)(live_view)()
