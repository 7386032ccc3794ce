"""The plan a time estimate is for, and the rough guess of its cost before a workspace has a run like it to measure
(:mod:`.estimate` pools measured runs): seconds per receipt-epoch per backbone and scenario, measured on one 2-core
machine, scaled by the planned receipts' length, plus each epoch's evaluation and save. A frozen backbone runs once,
through the feature cache; backbone layers switched on over it run every step, the layers below them cached.
"""

from __future__ import annotations

from dataclasses import dataclass

FROZEN_BACKBONE_SCENARIOS = ("freeze-backbone", "freeze-all")  # the backbone runs once, through the feature cache

# Rough guesses, used only before a workspace has a run to measure: seconds per receipt-epoch on the 2-core machine
# this project is measured on, plus each epoch's evaluation and save (ROUGH_EPOCH_S), which cost the same however few
# receipts train. Runs side by side, each with its defaults: the README's scenario study (2026-12-01, 600 CORD train
# receipts x 12 epochs) full 379–384 s, phased 302 s; its race picture (2026-12-04, the CORD sample's 200 x 12) full
# 103 s, phased 98 s; 9 demo receipts of 106 words x 12 epochs, phased, 67 s (2026-12-05, idle machine). With 3 s an
# epoch, full 0.035 and phased 0.032 put those at 120/288, 113/266 and 51 s (a single rate of 0.042 had put the demo
# run at 20 s, and before the receipts' length counted at 4.5 s: a walkthrough waited minutes). freeze-backbone
# with its contextual heads: 122–180 s for 600 x 20 (the cache fill included), its epochs' evaluations and saves
# (the heads alone) cheap. tiny: 200 CORD sample receipts, 3 epochs, 23.3 s (2026-12-01, the machine shared).
ROUGH_SECONDS_PER_RECEIPT_EPOCH = {"layout-minilm": 0.035, "text-minilm": 0.035, "tiny": 0.037}
ROUGH_PHASED = {"layout-minilm": 0.032, "text-minilm": 0.032}
ROUGH_FROZEN_BACKBONE = {"layout-minilm": 0.012, "text-minilm": 0.012}
ROUGH_EPOCH_S = 3.0  # an epoch's evaluation and save, the whole model's (full, phased)
ROUGH_EPOCH_S_LIGHT = {"frozen": 0.5, "tiny": 0.3}  # the heads' alone; the tiny backbone's
# The words per receipt of the receipts those guesses were measured on (CORD: 23.5 in the sample, 24.2 in train). A
# step's cost grows with its receipts' length (the demo's have 99–106 words), so the guess is scaled by the planned
# receipts' words.
ROUGH_WORDS_PER_RECEIPT = 24.0
MIN_WORDS_SCALE = 0.5  # shorter receipts still pay each step's fixed costs


@dataclass(frozen=True)
class PlannedRun:
    """What the Train page is about to start."""

    kind: str  # "receipt" (two-head), "reference" or "pretrain": the run config's RUN_KIND
    backbone: str
    scenario: str | None  # two-head runs only
    train_receipts: int
    epochs: int
    batch_size: int
    max_minutes: float | None = None
    freeze: tuple[str, ...] = ()  # the hand toggles over the scenario (two-head runs only)
    unfreeze: tuple[str, ...] = ()
    trainable_parameters: int | None = None  # 0: nothing can learn (freeze-all): Start evaluates once and ends
    words_per_receipt: float | None = None  # the training receipts' mean word count: scales the rough guess
    machine_factor: float = 1.0  # this machine's time over the reference machine's (machine_speed): scales it too

    @property
    def trains_nothing(self) -> bool:
        return self.kind == "receipt" and self.trainable_parameters == 0


def rough_seconds_per_receipt_epoch(plan: PlannedRun) -> float:
    """The documented guess for a backbone and scenario (a local folder: as the MiniLM backbones), scaled by the
    planned receipts' length against the receipts it was measured on (:data:`ROUGH_WORDS_PER_RECEIPT`). A backbone
    group switched on by hand over a frozen scenario is guessed as full fine-tuning: the cache no longer skips the
    backbone's pass (a walkthrough saw "about 48 s" stay put when it switched encoder.5 on)."""
    scale = max(plan.words_per_receipt / ROUGH_WORDS_PER_RECEIPT, MIN_WORDS_SCALE) if plan.words_per_receipt else 1.0
    return scale * _rough_rate(plan)


def rough_epoch(plan: PlannedRun) -> float:
    """The rough guess of one epoch of the plan, its evaluation and save included: what two scenarios' guesses are
    compared by (a measured rate holds both)."""
    return rough_seconds_per_receipt_epoch(plan) * plan.train_receipts + rough_epoch_seconds(plan)


def rough_epoch_seconds(plan: PlannedRun) -> float:
    """The guess of one epoch's evaluation and save (:data:`ROUGH_EPOCH_S`): the heads' alone with a frozen
    backbone, the tiny backbone's, else the whole model's."""
    if plan.backbone == "tiny":
        return ROUGH_EPOCH_S_LIGHT["tiny"]
    if (share := running_share(plan)) is not None:  # its evaluation reads the cached layers too
        return ROUGH_EPOCH_S_LIGHT["frozen"] + (ROUGH_EPOCH_S - ROUGH_EPOCH_S_LIGHT["frozen"]) * share
    return ROUGH_EPOCH_S_LIGHT["frozen"] if frozen_backbone(plan) else ROUGH_EPOCH_S


def frozen_backbone(plan: PlannedRun) -> bool:
    unfrozen_backbone = any(not name.startswith("head") for name in plan.unfreeze)
    return plan.kind == "receipt" and plan.scenario in FROZEN_BACKBONE_SCENARIOS and not unfrozen_backbone


def features_first(plan: PlannedRun) -> bool:
    """Whether the run's first steps train the heads alone on cached features (a frozen backbone, phased's phase
    1), so its first step waits for the frozen layers' pass over every receipt."""
    return frozen_backbone(plan) or (plan.kind == "receipt" and plan.scenario == "phased")


def running_share(plan: PlannedRun) -> float | None:
    """For a frozen-backbone scenario with backbone groups switched on by hand: the share of the backbone's encoder
    layers that run every step, the lowest one switched on and those above it (the frozen ones below are computed
    once, through the feature cache); 1.0 when an embedding group or the whole backbone is switched on. None for any
    other plan. A walkthrough's freeze-backbone with encoder.4 and encoder.5 on was guessed as full fine-tuning,
    three times what it took."""
    if plan.kind != "receipt" or plan.scenario not in FROZEN_BACKBONE_SCENARIOS or frozen_backbone(plan):
        return None
    from ..model.backbone_names import encoder_layers

    layers = encoder_layers(plan.backbone)
    switched = [name.split(".", 1)[1] for name in plan.unfreeze if name.startswith("encoder.")]
    whole = any(name in ("backbone", "encoder") or name.startswith("embeddings") for name in plan.unfreeze)
    if whole or not layers or not switched or not all(index.isdigit() for index in switched):
        return 1.0
    return min((layers - min(int(index) for index in switched)) / layers, 1.0)


def _rough_rate(plan: PlannedRun) -> float:
    """:func:`rough_seconds_per_receipt_epoch` for receipts of CORD's length."""
    frozen = frozen_backbone(plan)
    if frozen and plan.backbone in ROUGH_FROZEN_BACKBONE:
        return ROUGH_FROZEN_BACKBONE[plan.backbone]
    share = running_share(plan)
    if share is not None and plan.backbone in ROUGH_FROZEN_BACKBONE:  # between the heads' cost and full's
        full = ROUGH_SECONDS_PER_RECEIPT_EPOCH[plan.backbone]
        return ROUGH_FROZEN_BACKBONE[plan.backbone] + (full - ROUGH_FROZEN_BACKBONE[plan.backbone]) * share
    if plan.kind == "receipt" and plan.scenario == "phased":
        fallback = ROUGH_SECONDS_PER_RECEIPT_EPOCH.get(plan.backbone, ROUGH_PHASED["text-minilm"])  # tiny: its own
        return ROUGH_PHASED.get(plan.backbone, fallback)
    return ROUGH_SECONDS_PER_RECEIPT_EPOCH.get(plan.backbone, ROUGH_SECONDS_PER_RECEIPT_EPOCH["text-minilm"])
