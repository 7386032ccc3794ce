"""What a scenario study runs: its configurations (a backbone and a freeze scenario, or the plain reference) and
the settings every configuration shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model.encoding import check_box_mode

REFERENCE = "reference"
LAYOUT_SCENARIOS = ("freeze-all", "freeze-backbone", "freeze-fields-head", "freeze-quantity-head", "phased", "full")
TEXT_SCENARIOS = ("freeze-backbone", "full")


@dataclass(frozen=True)
class StudyConfig:
    """One row of the study: a backbone and a freeze scenario, or the plain reference (scenario "reference")."""

    backbone: str
    scenario: str

    @property
    def name(self) -> str:
        return f"{REFERENCE} ({self.backbone})" if self.is_reference else f"{self.backbone} · {self.scenario}"

    @property
    def is_reference(self) -> bool:
        return self.scenario == REFERENCE

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{self.backbone}-{self.scenario}")


def default_configs(layout_backbone: str = "layout-minilm",
                    text_backbone: str = "text-minilm") -> tuple[StudyConfig, ...]:
    """The design's questions: six scenarios on the layout backbone, two on the text-only one, the reference."""
    return (*(StudyConfig(layout_backbone, s) for s in LAYOUT_SCENARIOS),
            *(StudyConfig(text_backbone, s) for s in TEXT_SCENARIOS),
            StudyConfig(layout_backbone, REFERENCE))


def parse_config(spec: str) -> StudyConfig:
    """``BACKBONE:SCENARIO`` (e.g. ``text-minilm:full``) or ``reference:BACKBONE`` → StudyConfig."""
    from ..model.freeze import PRESETS

    head, sep, tail = spec.partition(":")
    if not sep or not head or not tail:
        raise ValueError(f"configuration {spec!r} must look like BACKBONE:SCENARIO (e.g. layout-minilm:full) or "
                         "reference:BACKBONE")
    if head == REFERENCE:
        return StudyConfig(tail, REFERENCE)
    if tail not in PRESETS:
        raise ValueError(f"configuration {spec!r}: unknown scenario {tail!r}; choose one of {', '.join(PRESETS)}")
    return StudyConfig(head, tail)


@dataclass(frozen=True)
class StudySettings:
    """Hyperparameters shared by every configuration (the reference uses lr, batch size, seed and budget)."""

    budget_minutes: float | None = 3.0
    epochs: int = 50  # an upper bound: the budget normally ends a run first
    repeats: int = 1
    seed: int = 0
    batch_size: int = 16
    lr: float = 2e-4
    decay_factor: float = 1.0
    loss_weighting: str = "fixed"
    max_length: int = 512
    freeze: tuple[str, ...] = ()  # extra groups frozen in every multi-task run (e.g. embeddings.text)
    phased_top_k: int = 2
    epochs_per_phase: int = 1
    lr_schedule: str = "constant"  # every run, the reference included
    warmup: float = 0.06
    boxes: str = "word"  # encoding.BOX_MODES; every run, the reference included

    def __post_init__(self) -> None:
        object.__setattr__(self, "freeze", tuple(self.freeze))
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {self.repeats}")
        if self.budget_minutes is not None and not self.budget_minutes > 0:
            raise ValueError(f"the budget must be above 0 minutes, got {self.budget_minutes}")
        check_box_mode(self.boxes)

    def to_json(self) -> dict[str, Any]:
        return {"budget_minutes": self.budget_minutes, "epochs": self.epochs, "repeats": self.repeats,
                "seed": self.seed, "batch_size": self.batch_size, "lr": self.lr, "decay_factor": self.decay_factor,
                "loss_weighting": self.loss_weighting, "max_length": self.max_length, "freeze": list(self.freeze),
                "phased_top_k": self.phased_top_k, "epochs_per_phase": self.epochs_per_phase,
                "lr_schedule": self.lr_schedule, "warmup": self.warmup, "boxes": self.boxes}
