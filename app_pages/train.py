"""Train: what to train (the two-head model, the plain reference tagger, or layout pre-training), its data and
settings; Start/Pause/Stop; live charts. Every default comes from the run's config dataclass."""

from __future__ import annotations

import streamlit as st

from receipt_core.datasets.splits import paired_datasets
from receipt_core.model.backbone_names import (BACKBONE_NAMES, BACKBONE_NAMES_HELP, DEFAULT_BACKBONE,
                                               TEXT_ONLY_BACKBONES)
from receipt_core.data.boxes import BOX_MODES
from receipt_core.model.freeze import (BUDGET_SHARE_BY_PHASE_END, LAYOUT_GROUP, PRESETS, FreezePlan,
                                     hand_frozen_heads, hand_toggles)
from receipt_core.model.scenario_guide import frozen_heads_note, guide_markdown, phase_plan_lines, phased_plan_warnings
from receipt_core.model.head_settings import HEAD_KINDS, LAYER_MIX_LABELS, LAYER_MIXES
from receipt_core.training.config import (DEEP_PHASE_TWO, MAX_LR, PHASE_END_NEEDED, SHALLOW_PHASE_TWO,
                                          PretrainConfig, ReferenceConfig, TrainConfig, phase_two_depth)
from receipt_core.training.estimate import PlannedRun, estimate_run_time, planned_pretraining, planned_split
from receipt_core.training.machine_speed import busy_note
from receipt_core.training.schedules import LR_SCHEDULES
from receipt_core.training.slot import JobBusyError, busy_message
from receipt_core.wording import as_sentence
from ui.dataset_choice import (EVALUATION_HELP, HOLD_OUT, also_train_choice, current_dataset, evaluation_preview,
                               pair_evaluation, replace_vanished_choices, vanished_note)
from ui.literal import notice_markdown, plain
from ui.live_run import RESULTS_REFRESH_S, STATUS_REFRESH_S, live_results, live_view
from ui.machine_timing import machine_factor
from ui.shared import (NO_DATA, NO_VALUE, field_row, fmt_params, fmt_share, forget_stale_choice, friendly, group_sizes,
                       job_slot, require_router, user_errors, workspace)
from ui.backbone_folder import backbone_folder_input
from ui.training_elsewhere import training_elsewhere
from ui.train_form import advanced_key, bounded_number, head_settings, scenario_defaults
from ui.train_start import StartRequest, prepare_start, training_labels

LOCAL = "local folder…"
TWO_HEAD, REFERENCE, PRETRAIN = "Two-head model", "Reference tagger", "Layout pre-training"
RUN_KINDS = {TWO_HEAD: "receipt", REFERENCE: "reference", PRETRAIN: "pretrain"}  # a stored run's RUN_KIND
KIND_HELP = {TWO_HEAD: "The project's model: one backbone, a field head and a quantity head, with freeze scenarios.",
             REFERENCE: "The plain baseline a user would write: transformers' LayoutLMForTokenClassification, one "
                        "tagger for fields and quantities, every parameter trained.",
             PRETRAIN: "LayoutLM's masked-word task over boxes on the training receipts, no labels needed: saves a "
                       "backbone folder, which a later run fine-tunes (Backbone → local folder…)."}

HEADS_NOTE = ("Each scenario brings its own heads (Advanced settings change them): capable ones where the backbone "
              "is frozen for all or most of the run (freeze-backbone, phased), linear ones where it trains "
              "throughout (full fine-tuning, one head frozen) and learns the context itself. So phased's last phase "
              "trains more weights than full fine-tuning does, in fewer steps over the whole model.")


def _phase_settings(defaults: TrainConfig, layers: int, out_of_range: list[str]) -> tuple[int, int, int]:
    """The phased plan's own settings (phase 2's depth, 0 for auto; epochs per phase; patience), drawn in a row."""
    phase_cols = field_row(3, width=240)
    chosen_depth = st.session_state.get("train_top_k")
    if chosen_depth is not None and not isinstance(chosen_depth, int):  # a forged message's "7" (a probe)
        del st.session_state["train_top_k"]
    elif (chosen_depth or 0) > layers:  # a smaller backbone than the last one
        st.session_state["train_top_k"] = layers
    # 0: auto (TrainConfig.for_training_set decides). Not None: Streamlit takes a None value for no choice at all
    # and drew "Choose an option" (found by a walkthrough)
    depths = [0, *range(1, layers + 1)]
    top_k_index = {} if "train_top_k" in st.session_state else {
        "index": depths.index(min(defaults.phased_top_k, layers) if defaults.phased_top_k else 0)}
    # one label for auto whatever the backbone: a label that changed with it (tiny's "auto (2)") came back from
    # the widget as that text instead of 0 once the backbone changed
    top_k = phase_cols[0].selectbox(
        "Phase 2: top encoder layers", depths,
        persist_state="session", key="train_top_k",
        format_func=lambda k: (f"auto ({DEEP_PHASE_TWO}; {SHALLOW_PHASE_TWO} on a tight budget)" if not k
                               else str(k)),
        help=f"Of this backbone's {layers}. auto: {DEEP_PHASE_TWO} layers score higher when the run has time "
             f"for its epochs, {SHALLOW_PHASE_TWO} when a time budget cuts it short (README); never more than "
             "the backbone has", **top_k_index)
    epochs_per_phase = bounded_number(phase_cols[1], "Epochs per phase", 0, 50, defaults.epochs_per_phase or 0,
                                      out_of_range, persist_state="session", key="train_epochs_per_phase",
                                                  help="0: a phase ends by patience only. Under a time budget "
                                                       "phase 1 also ends by "
                                                       f"{BUDGET_SHARE_BY_PHASE_END[1]:.0%} of it and phase 2 by "
                                                       f"{BUDGET_SHARE_BY_PHASE_END[2]:.0%}, whatever their epochs, "
                                                       "so the last phase keeps most of the budget")
    patience = bounded_number(phase_cols[2], "Patience (evaluations; 0: off)", 0, 20, defaults.patience or 0,
                              out_of_range, persist_state="session", key="train_patience",
                                          help="A phase also ends after this many evaluations in a row without a "
                                               "lower validation loss; 0: off, a phase ends by its epochs only")
    return top_k, epochs_per_phase, patience


require_router()
st.title("Train")
ws = workspace()
slot = job_slot()
busy = slot.busy()
datasets = [d.name for d in ws.datasets()]

STARTED_HERE_KEY = "train_started_here"  # the run this session's Start launched last
start_refused: str | None = None  # shown under the settings: a collapsed expander hid it (a probe's two sessions)
# folded while a run trains or shows its result below: open, it pushed a finished run's summary 2,000 px down
# "and Start" while none trains: folded under a finished run, the page showed no Start (a walkthrough)
with st.expander("Run settings" if busy else "Run settings and Start", expanded=slot.current() is None):
    if not datasets:
        st.info(NO_DATA)
    kind = st.radio("What to train", (TWO_HEAD, REFERENCE, PRETRAIN), horizontal=True,
                    persist_state="session", key="train_kind")
    st.caption(KIND_HELP[kind])
    defaults = {TWO_HEAD: TrainConfig(), REFERENCE: ReferenceConfig(), PRETRAIN: PretrainConfig()}[kind]
    per_kind = "" if kind == TWO_HEAD else "_reference" if kind == REFERENCE else "_pretrain"  # own defaults
    data_cols = field_row(3, width=230)  # dataset names need the width: columns cut them to "cord-sample…"
    default_train, default_eval = paired_datasets(datasets, current_dataset())
    vanished = replace_vanished_choices({"train_dataset": default_train or (datasets[0] if datasets else None),
                                         "train_eval": default_eval or HOLD_OUT}, datasets, lists=("train_also",))
    # and Start does nothing in this rerun (a probe's Start trained a dataset nobody chose); when it was pressed, the
    # error beside it says so, not this note as well (a walkthrough read the same names twice)
    if vanished and not st.session_state.get("train_start"):
        st.warning(notice_markdown(vanished_note(vanished, "Start")))
    train_set = data_cols[0].selectbox("Training dataset", datasets, persist_state="session", key="train_dataset",
                                       index=datasets.index(default_train) if default_train in datasets else 0,
                                       on_change=pair_evaluation, args=("train_dataset", "train_eval", datasets))
    eval_options = [HOLD_OUT] + datasets
    eval_choice = data_cols[1].selectbox("Evaluation dataset", eval_options, persist_state="session", key="train_eval",
                                         index=eval_options.index(default_eval) if default_eval else 0,
                                         disabled=kind == PRETRAIN, help=EVALUATION_HELP)
    hold_out = data_cols[2].slider("Held-out share", 0.1, 0.5, 0.25, 0.05,
                                   persist_state="session", key="train_hold_out",
                                   disabled=eval_choice != HOLD_OUT or kind == PRETRAIN,
                                   help="With no evaluation dataset, this share of the training dataset's receipts "
                                        "is set aside to score the run (greyed while an evaluation dataset is "
                                        "chosen)")
    also = also_train_choice(datasets, train_set, "train_also", evaluation=None if kind == PRETRAIN else eval_choice)
    train_sets = [train_set, *also] if train_set else []
    train_summaries = ws.list_documents_of(train_sets) if train_sets else []  # read once: labels and estimate
    # pre-training reads every receipt: no label needed
    labels = training_labels(train_summaries if kind != PRETRAIN else [], train_sets)
    if labels.warning:
        st.warning(notice_markdown(labels.warning))

    model_cols = st.columns([2, 3])
    default_backbone = defaults.backbone if defaults.backbone in BACKBONE_NAMES else DEFAULT_BACKBONE
    backbone_choice = model_cols[0].selectbox("Backbone", list(BACKBONE_NAMES) + [LOCAL],
                                              persist_state="session", key=f"train_backbone{per_kind}",
                                              index=list(BACKBONE_NAMES).index(default_backbone),
                                              help=BACKBONE_NAMES_HELP)
    if backbone_choice == "tiny":
        model_cols[0].caption("tiny: a small, randomly initialised backbone (no pretrained weights) that trains in "
                              "seconds: for trying the dashboard, not for a useful model. What the scenario guide "
                              "says of a pre-trained backbone does not hold for it: frozen, it is a random one.")
    elif kind == TWO_HEAD and backbone_choice != LOCAL:  # of the two MiniLMs, not of a folder (walkthrough 52)
        # the study's one like-for-like pair (walkthrough 50: a phased pair quoted beside it came from two recipes)
        model_cols[0].caption(f"Default {default_backbone}: in the scenario study on CORD dev the text-only backbone "
                              "scored above the layout one fine-tuned in full, on one recipe (field F1, seed 0: "
                              "0.961 vs 0.948; README). Frozen, the two compute the same features.")
    backbone = backbone_choice
    if backbone_choice == LOCAL:
        backbone = backbone_folder_input(model_cols[0], ws)

    preset, freeze, unfreeze = "full", (), ()
    out_of_range: list[str] = []  # the fields typed past their bounds (ui/train_form.bounded_number)
    if kind == TWO_HEAD:
        preset = model_cols[1].selectbox("Scenario", PRESETS, index=PRESETS.index(defaults.scenario),
                                         persist_state="session", key="train_preset", on_change=scenario_defaults,
                                         help="Picking a scenario puts every setting below back to that "
                                              "scenario's own defaults")
        default_note = model_cols[1].container()  # filled once the toggles say whether the scenario is as it is
        defaults = TrainConfig.for_scenario(preset)  # a scenario's own defaults (e.g. the heads' rate)
        sizes: tuple[tuple[str, int], ...] = ()
        if backbone:
            with user_errors("Reading the backbone"):
                sizes = group_sizes(backbone, head_settings(defaults, preset), defaults.max_length)
            if not sizes:
                backbone = ""  # unreadable (the error above says why): Start stays off, no failed run is recorded
        if sizes:
            plan = FreezePlan.preset(preset, [name for name, _ in sizes])
            st.markdown("**Trainable parameter groups** (toggles override the scenario)")
            toggle_cols = field_row(len(sizes), width=220)  # four columns cut each name to "e…" at 900 px
            blind = LAYOUT_GROUP if backbone in TEXT_ONLY_BACKBONES else None  # its 2-D tables see no boxes
            chosen = {name: toggle_cols[i].toggle(
                          f"{name} · {fmt_params(count)}", value=plan.trainable[name], disabled=name == blind,
                          persist_state="session", key=f"train_toggle_{backbone}_{preset}_{name}",
                          help=f"{count:,} parameters" + (f"; {backbone} gives every word the box [0, 0, 0, 0], so "
                                                          "these 2-D tables see no layout: only their row 0 learns "
                                                          "(one offset added to every word), though the trainable "
                                                          "count holds the whole tables; left as the scenario sets "
                                                          "them" if name == blind else ""))
                      for i, (name, count) in enumerate(sizes)}
            toggles = hand_toggles(plan, sizes, chosen)
            freeze, unfreeze = toggles.freeze, toggles.unfreeze
            if toggles.is_custom:  # only the changes: "no group also frozen" read as a change (a walkthrough)
                changes = [f"{', '.join(names)} also {done}" for names, done in ((unfreeze, "trained"),
                                                                                 (freeze, "frozen")) if names]
                model_cols[1].markdown(f"**custom**: *{preset}* with {' and '.join(changes)} (the toggles below)")
                frozen = hand_frozen_heads(preset, [name for name, _ in sizes], freeze, unfreeze)
                frozen_note = frozen_heads_note(list(frozen.heads), frozen.backbone_trains)
                if not toggles.trainable_parameters and preset != "phased":  # said before Start (probe 52)
                    frozen_note = ("Every group is frozen: nothing can learn, so Start only evaluates the untrained "
                                   "model, as freeze-all does.")
                if frozen_note:
                    model_cols[1].caption(frozen_note)
            else:
                model_cols[1].markdown(guide_markdown(preset))
            note = " (phase 1; later phases unfreeze more)" if preset == "phased" else ""
            # counted as PyTorch trains them (requires_grad): a walkthrough read text-minilm's 2-D tables in the
            # count though its boxes are all [0, 0, 0, 0]
            blind_note = (f"{blind} ({fmt_params(dict(sizes)[blind])}) is counted when it trains: {backbone}'s boxes "
                          "are all [0, 0, 0, 0], so only one row of each 2-D table is ever read"
                          if blind and plan.trainable.get(blind) else None)
            st.metric("Trainable parameters" + note,
                      f"{toggles.trainable_parameters:,} / {toggles.total_parameters:,}",
                      f"{fmt_share(toggles.share)}% of the model", delta_color="off", delta_arrow="off",
                      help=blind_note)
            # the heads differ by scenario, and so does the model's size: a walkthrough saw phased's 24.8M beside
            # full's 24.1M on Runs' cost chart with nothing to say why
            head_weights = sum(count for name, count in sizes if name.startswith("head."))
            st.caption(f"Heads: {head_settings(defaults, preset).describe()}, {fmt_params(head_weights)} weights. "
                       + HEADS_NOTE)
        if preset == TrainConfig().scenario and not freeze and not unfreeze:  # of the default as it is only: under
            # another scenario, or changed by the toggles, it read as said of that (two walkthroughs)
            default_note.caption(f"The default, {preset}: level with full fine-tuning on CORD dev (field F1 0.965 vs "
                                 "0.962 over three seeds, a difference smaller than the seeds' spread) and ahead "
                                 "of it on WildReceipt photos (0.767 vs 0.735), for less training (README). Those "
                                 "are whole runs; a budget of a minute or two ends it in its first phases, and full "
                                 "fine-tuning or freeze-backbone may then score higher: a Race compares them at your "
                                 "budget.")
        layers = sum(1 for name, _ in sizes if name.startswith("encoder.")) or 24
        top_k, epochs_per_phase, patience = 0, defaults.epochs_per_phase or 0, defaults.patience or 0
        if preset == "phased":  # drawn for phased only: greyed under another scenario they read as its settings
            top_k, epochs_per_phase, patience = _phase_settings(defaults, layers, out_of_range)
    elif backbone_choice == LOCAL and backbone:  # the reference and pre-training read the same folder
        readable = False
        with user_errors("Reading the backbone"):
            readable = bool(group_sizes(backbone, max_length=defaults.max_length))
        backbone = backbone if readable else ""

    hp = field_row(6)
    epochs = bounded_number(hp[0], "Epochs", 1, 200, defaults.epochs, out_of_range,
                            persist_state="session", key=f"train_epochs{per_kind}",
                                help="Passes over the training receipts; each ends with an evaluation and a save")
    batch_size = bounded_number(hp[1], "Batch size", 1, 64, defaults.batch_size, out_of_range,
                                persist_state="session", key=f"train_batch{per_kind}",
                                    help="Receipts per training step (one step: one weight update)")
    lr = bounded_number(hp[2], "Learning rate", 1e-7, MAX_LR, defaults.lr, out_of_range, format="%.0e", step=1e-5,
                        persist_state="session", key=f"train_lr{per_kind}",
                            help="Above 0: a rate of 0 trains nothing")
    # %g: a budget of 0.001 min showed as "0.00", which the label calls none, yet ran as one (probe 38)
    max_minutes = bounded_number(hp[3], "Time budget (min; 0: none)", 0.0, 600.0, defaults.max_minutes or 0.0,
                                 out_of_range, persist_state="session", key="train_minutes", format="%g",
                                     help="0: none. Counts the run's steps, evaluations and saves, not pauses or "
                                          "set-up; the run keeps the time its last evaluation and save took free at "
                                          "the end, so a closing one slower than that (a busy machine) ends it a few "
                                          "seconds past the budget")
    seed = bounded_number(hp[4], "Seed", 0, 1_000_000, defaults.seed, out_of_range, persist_state="session",
                          key="train_seed",
                              help="Fixes the random start (head weights, dropout, receipt order): the same seed and "
                                   "settings give the same run; compare scenarios over several seeds")
    lr_schedule = hp[5].selectbox("Learning-rate schedule", LR_SCHEDULES,
                                  persist_state="session", key=f"train_lr_schedule{per_kind}",
                                  index=LR_SCHEDULES.index(defaults.lr_schedule),
                                  help="linear: warm up over the first 6% of the run, then decay to 0 at its end "
                                       "(the last epoch, or the time budget when that comes first)")
    if kind == TWO_HEAD and preset == "phased":  # the phase 2 one once its depth is known, with the estimate below
        for warning in phased_plan_warnings(int(epochs), int(epochs_per_phase), [], (), 0):
            st.warning(warning)
    # the settings a first run leaves as they are, out of the way (a walkthrough: twenty controls in view, none
    # marked as advanced); their values are drawn (and read) all the same
    advanced = st.popover("Advanced settings: boxes, loss, heads", icon=":material/tune:")
    advanced.caption("Each default is the best measured recipe for the scenario (README, \"Scenario study\").")
    with advanced:
        more = field_row(5)
        boxes = more[0].selectbox("Boxes", BOX_MODES,
                                  persist_state="session",
                                  key=advanced_key("train_boxes") if kind == TWO_HEAD else f"train_boxes{per_kind}",
                                  index=BOX_MODES.index(defaults.boxes),  # per kind: the reference's is word
                                  help="The box each word is encoded with: its own (word), its OCR line's, as "
                                       "LayoutLMv3 and LiLT do (line), or its own left and right edges with its "
                                       "line's top and bottom (row: one row per line, each word keeps its column)")
        if kind == TWO_HEAD:
            decay = more[1].number_input("Discriminative factor", 1.0, 10.0, defaults.decay_factor, step=0.1,
                                         persist_state="session", key=advanced_key("train_decay"),
                                         help="Each lower layer's rate is the one above divided by this")
            weighting = more[2].selectbox("Loss weighting", ["fixed", "uncertainty"],
                                          persist_state="session", key=advanced_key("train_weighting"),
                                          index=["fixed", "uncertainty"].index(defaults.loss_weighting),
                                          help="How the two heads' losses add up: fixed weights, or weights the run "
                                               "learns from each task's noise (Kendall et al., 2018)")
            eval_every = more[3].number_input("Evaluate every N steps", 0, 10_000, defaults.eval_every,
                                              persist_state="session", key="train_eval_every",
                                              help="0: after each epoch")
            smoothing = more[4].number_input("Label smoothing", 0.0, 0.5, defaults.label_smoothing, step=0.05,
                                             persist_state="session", key=advanced_key("train_label_smoothing"),
                                             help="Each training target keeps this share of its weight spread over "
                                                  "the other labels: less overconfident heads on noisy OCR labels "
                                                  "(phased: 0.1; 0: plain targets)")
            heads = field_row(6)
            head = heads[0].selectbox("Heads", HEAD_KINDS, index=HEAD_KINDS.index(defaults.head),
                                      persist_state="session", key=advanced_key("train_head"),
                                      help="linear: one word at a time; contextual: a small transformer over the "
                                           "receipt's words and their boxes")
            layer_mix = heads[1].selectbox("Heads read", LAYER_MIXES, index=LAYER_MIXES.index(defaults.layer_mix),
                                           persist_state="session", key=advanced_key(f"train_layer_mix_{preset}"),
                                           format_func=lambda mix: LAYER_MIX_LABELS.get(mix, mix),
                                           help="A learned mix of every layer's output, starting on the last layer "
                                                "(top, --layer-mix top) or evenly (uniform); or the last layer "
                                                "only (off)")
            head_size = heads[2].number_input("Contextual head width", 8, 1024, defaults.head_size, step=64,
                                              persist_state="session", key=advanced_key("train_head_size"),
                                              disabled=head != "contextual")
            head_depth = heads[3].number_input("Contextual head layers", 1, 4, defaults.head_depth,
                                               persist_state="session", key=advanced_key("train_head_depth"),
                                               disabled=head != "contextual")
            head_boxes = heads[4].toggle("Head boxes", value=defaults.head_boxes,
                                         persist_state="session", key=advanced_key("train_head_boxes"),
                                         disabled=head != "contextual",
                                         help="The contextual head also reads each word's box: where layout enters "
                                              "when the backbone is frozen")
            head_lr = heads[5].number_input("Head learning rate", 0.0, MAX_LR, defaults.head_lr or 0.0,
                                            format="%g", step=1e-4, persist_state="session",
                                            key=advanced_key(f"train_head_lr_{preset}"),
                                            help="0: the learning rate above")
        if kind == PRETRAIN:
            mask_probability = more[1].number_input("Masked share of words", 0.01, 0.5, defaults.mask_probability,
                                                    step=0.01, persist_state="session", key="train_mask_probability")

    preview_ids, preview_titles = [], {}
    if datasets and kind != PRETRAIN:
        preview = evaluation_preview(train_sets, eval_choice, hold_out)  # one of them may be watched
        preview_ids, preview_titles = [s.id for s in preview], {s.id: s.title for s in preview}
    if datasets and kind == TWO_HEAD:
        # kept from other data: show (and watch) the first receipt; set, not removed, or the browser kept showing
        # the old receipt over the one drawn (a walkthrough)
        forget_stale_choice("train_watch", preview_ids or [None])
        # named as every other picker names a receipt: a raw "wildreceipt-3362036743a6…" here (a walkthrough)
        watch = st.selectbox("Live predictions for", preview_ids or [None], persist_state="session", key="train_watch",
                             format_func=lambda i: NO_VALUE if i is None else plain(preview_titles.get(i, i)),
                             help="An evaluation receipt whose predictions are drawn at each evaluation")

    if elsewhere := training_elsewhere(ws):  # `train` or `study` on the command line
        st.caption(f"Also training in this workspace: {elsewhere}. A run started here shares the CPU cores with it, "
                   "and both go slower than the estimate says.")
    start_col = estimate_col = st.container(horizontal=True, vertical_alignment="center")  # Start never shrinks
    phase_end_missing = kind == TWO_HEAD and preset == "phased" and not epochs_per_phase and not patience
    if phase_end_missing:
        st.error(f"{PHASE_END_NEEDED[0].upper()}{PHASE_END_NEEDED[1:]}: set one of them above.")
    # pre-training reads every receipt: no label needed, none held out (as Start does)
    split = planned_pretraining(train_summaries) if kind == PRETRAIN else planned_split(
        train_summaries, None if eval_choice in (HOLD_OUT, None) else ws.list_documents(eval_choice), hold_out)
    split_refused = split.problem is not None and bool(datasets) and not labels.none_labelled
    if split_refused:
        st.warning(notice_markdown(f"Start is off until this is mended: {split.problem}."))
    # a press on a Start drawn enabled, read before the button: in a rerun where another session's run trains now,
    # Streamlit drops a disabled button's press (probe 26: a second tab's Start vanished unsaid, and the tab then
    # showed the other tab's run as if it were its own)
    if (busy is not None and st.session_state.get("train_start") is True
            and st.session_state.get(STARTED_HERE_KEY) != busy.run_id):
        start_refused = as_sentence(friendly(JobBusyError(busy_message(busy))))
        st.session_state["train_was_live"] = True  # as below: the live view's rerun would wipe the refusal
    # off while a run trains here: a walkthrough's second tab pressed it and read "Watch it on the Train page" there
    if out_of_range:  # the field's own red outline was all a probe saw, and Start trained the last valid value
        st.error(f"Start is off until this is mended: {'; '.join(out_of_range)}.")
    start = start_col.button("Start", type="primary", key="train_start",
                             disabled=not datasets or not backbone or phase_end_missing or labels.none_labelled
                             or split_refused or busy is not None or bool(out_of_range),
                             help="Label some of the training receipts first (the warning above)"
                             if labels.none_labelled or split_refused else None)
    if busy is not None:
        start_col.caption("A run trains on this server (below): stop it, or wait for it to end, to start another.")
    if datasets and backbone:
        with user_errors("Estimating the run's time"):
            receipts = split.receipts
            plan = PlannedRun(kind=RUN_KINDS[kind], backbone=backbone, scenario=preset if kind == TWO_HEAD else None,
                              train_receipts=receipts, epochs=int(epochs), batch_size=int(batch_size),
                              max_minutes=float(max_minutes) or None, freeze=tuple(freeze), unfreeze=tuple(unfreeze),
                              trainable_parameters=toggles.trainable_parameters if kind == TWO_HEAD and sizes else None,
                              words_per_receipt=split.words_per_receipt)
            if receipts:  # none: Start says why
                depth, idle = "", ()
                if kind == TWO_HEAD and preset == "phased":
                    phase_two = top_k or min(phase_two_depth(int(epochs), receipts, plan.max_minutes), layers)
                    # said: walkthrough 42 saw 3 turn 2 as it typed a budget
                    fewer = not top_k and phase_two < min(DEEP_PHASE_TWO, layers)
                    depth = "" if top_k else (f" Phase 2 (auto): the top {phase_two} encoder layers"
                                              + (", fewer on this time budget." if fewer else "."))
                    idle = phased_plan_warnings(0, None, [name for name, _ in sizes or ()], unfreeze, phase_two)
                    if sizes and (freeze or unfreeze):  # what each phase trains with the toggles (walkthrough 35)
                        model_cols[1].caption("With your toggles: " + "; ".join(
                            f"{label} ({fmt_params(count)})"
                            for label, count in phase_plan_lines(list(sizes), freeze, unfreeze, phase_two)) + ".")
                estimate = estimate_run_time(ws, plan, machine_factor)
                said = as_sentence(estimate.headline()) + (f" ({estimate.source()})." if estimate.source() else ".")
                # the figure, with where it comes from in the tooltip (~100 words under Start were read past)
                estimate_col.caption(said + depth, help=as_sentence(estimate.text()) + ".")
                if slot.busy() is None and (busy := busy_note()) is not None:  # not this server's own run
                    estimate_col.caption(busy)
                for warning in idle:  # walkthrough 30 toggled encoder.4 and .5 on a phased run whose phase 2
                    st.warning(warning)  # was those two: "heads only", then "heads + top 2", both at 4.2M
    if start and vanished:
        start_refused = vanished_note(vanished, "Start", pressed=True)
    elif start:
        with user_errors("Starting the run"):
            budget = float(max_minutes) or None
            if kind == PRETRAIN:
                config = PretrainConfig(backbone=backbone, epochs=int(epochs), max_minutes=budget,
                                        batch_size=int(batch_size), lr=float(lr), lr_schedule=lr_schedule,
                                        mask_probability=float(mask_probability), seed=int(seed), boxes=boxes)
            elif kind == REFERENCE:
                config = ReferenceConfig(backbone=backbone, epochs=int(epochs), max_minutes=budget,
                                         batch_size=int(batch_size), lr=float(lr), seed=int(seed),
                                         lr_schedule=lr_schedule, boxes=boxes)
            else:
                config = TrainConfig(
                    backbone=backbone, scenario=preset, freeze=tuple(freeze), unfreeze=tuple(unfreeze),
                    phased_top_k=top_k or None, epochs_per_phase=int(epochs_per_phase) or None,
                    patience=int(patience) or None, epochs=int(epochs), max_minutes=budget,
                    batch_size=int(batch_size), lr=float(lr), decay_factor=float(decay), loss_weighting=weighting,
                    seed=int(seed), eval_every=int(eval_every), lr_schedule=lr_schedule, boxes=boxes, head=head,
                    layer_mix=layer_mix, head_size=int(head_size), head_depth=int(head_depth),
                    head_boxes=bool(head_boxes), head_lr=float(head_lr) or None, label_smoothing=float(smoothing))
            prepared = prepare_start(ws, StartRequest(
                config=config, train_sets=tuple(train_sets), hold_out=hold_out,
                evaluation=None if eval_choice == HOLD_OUT or kind == PRETRAIN else eval_choice,
                watch=watch if kind == TWO_HEAD else None))
            if prepared.left_out_note:
                st.toast(prepared.left_out_note)
            try:
                st.session_state[STARTED_HERE_KEY] = slot.start(prepared.launch,
                                                                description=prepared.description).run_id
                st.session_state["train_was_live"] = True
                st.rerun()
            except JobBusyError as error:
                start_refused = as_sentence(friendly(error))  # it names the busy run (a probe)
                # this page now knows the other session's run is live: the live view's rerun on a run "started in
                # another session" had wiped the refusal (a probe's two Starts 2 ms apart: 3 times in 5 unsaid)
                st.session_state["train_was_live"] = True

if start_refused is not None:
    st.error(notice_markdown(f"Not started. {start_refused}"))
st.divider()
training = slot.busy() is not None
st.fragment(run_every=STATUS_REFRESH_S if training else 5.0)(live_view)()  # status, controls, progress
st.fragment(run_every=RESULTS_REFRESH_S if training else None)(live_results)()  # charts, predictions
