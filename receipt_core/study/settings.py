"""What a scenario study runs: its configurations (a backbone and a freeze scenario, or the plain reference) and
the settings every configuration shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


REFERENCE = "reference"
LAYOUT_SCENARIOS = ("freeze-all", "freeze-backbone", "freeze-fields-head", "freeze-quantity-head", "phased", "full")
TEXT_SCENARIOS = ("freeze-backbone", "phased", "full")  # phased: the default of train and the Train page


@dataclass(frozen=True)
class StudyConfig:
    """One row of the study: a backbone and a freeze scenario, or the plain reference (scenario "reference")."""

    backbone: str
    scenario: str

    @property
    def name(self) -> str:
        """As tables, charts and readings say it: a backbone folder by its last two parts, as a run's name says it
        (a study on a pre-trained backbone was named by the folder's whole path); ``slug`` keeps the whole path."""
        from ..model.backbone_names import backbone_label

        label = backbone_label(self.backbone)
        return f"{REFERENCE} ({label})" if self.is_reference else f"{label} · {self.scenario}"

    @property
    def is_reference(self) -> bool:
        return self.scenario == REFERENCE

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{self.backbone}-{self.scenario}")


def default_configs(layout_backbone: str = "layout-minilm",
                    text_backbone: str = "text-minilm") -> tuple[StudyConfig, ...]:
    """The design's questions: six scenarios on the layout backbone, three on the text-only one, the reference."""
    return (*(StudyConfig(layout_backbone, s) for s in LAYOUT_SCENARIOS),
            *(StudyConfig(text_backbone, s) for s in TEXT_SCENARIOS),
            StudyConfig(layout_backbone, REFERENCE))


def parse_config(spec: str) -> StudyConfig:
    """``BACKBONE:SCENARIO`` (e.g. ``text-minilm:full``) or ``reference:BACKBONE`` → StudyConfig."""
    from ..model.backbone_names import backbone_source_problem
    from ..model.freeze import PRESETS

    head, sep, tail = spec.partition(":")
    if not sep or not head or not tail:
        raise ValueError(f"configuration {spec!r} must look like BACKBONE:SCENARIO (e.g. layout-minilm:full) or "
                         "reference:BACKBONE")
    backbone, scenario = (tail, REFERENCE) if head == REFERENCE else (head, tail)
    if scenario != REFERENCE and scenario not in PRESETS:
        raise ValueError(f"configuration {spec!r}: unknown scenario {tail!r}; choose one of {', '.join(PRESETS)}")
    problem = backbone_source_problem(backbone)  # before the first run, not when this one's turn comes
    if problem:
        raise ValueError(f"configuration {spec!r}: {problem}")
    return StudyConfig(backbone, scenario)


@dataclass(frozen=True)
class StudySettings:
    """Settings shared by every configuration (the reference uses epochs, batch size, lr, schedule, boxes, seed and
    budget). A training setting left None takes ``TrainConfig``'s default, the one home of training defaults, and
    each multi-task run also gets its scenario's own defaults (``TrainConfig.for_scenario``) unless a setting here
    was given explicitly (``given``)."""

    budget_minutes: float | None = 10.0
    epochs: int | None = None  # None: TrainConfig's (the budget may end a run first)
    repeats: int = 1
    seed: int = 0
    batch_size: int | None = None
    lr: float | None = None
    decay_factor: float | None = None
    loss_weighting: str | None = None
    max_length: int | None = None
    freeze: tuple[str, ...] = ()  # extra groups frozen in every multi-task run (e.g. embeddings.text)
    phased_top_k: int | None = None
    epochs_per_phase: int | None = None
    lr_schedule: str | None = None  # every run, the reference included
    warmup: float | None = None
    boxes: str | None = None  # data.boxes.BOX_MODES; every run, the reference included
    # the settings the user set; None: the ones passed as not None (a study.json stores the list, empty or not)
    given: tuple[str, ...] | None = None
    same_recipe: bool = False  # every scenario trains with training.config.SAME_RECIPE: only freezing differs

    def __post_init__(self) -> None:
        from ..training.config import TrainConfig, check_budget

        object.__setattr__(self, "freeze", tuple(self.freeze))
        defaults = TrainConfig()
        given = set(self.given or ())
        for name in _TRAINING_SETTINGS:
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(defaults, name))
            elif self.given is None:
                given.add(name)
        object.__setattr__(self, "given", tuple(sorted(given)))
        if not isinstance(self.same_recipe, bool):  # a copied study.json may say anything
            raise ValueError(f"same_recipe must be true or false, got {self.same_recipe!r}")
        for name in ("repeats", "seed"):  # shown in the report's first paragraph: a copied study.json may say anything
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        if not 1 <= self.repeats <= MAX_REPEATS:
            raise ValueError(f"repeats must be from 1 to {MAX_REPEATS}, got {self.repeats:,}")
        from ..model.run_manifest import CONFIG_INT_BOUNDS

        low, high = CONFIG_INT_BOUNDS["seed"]  # each run's seed, refused here, not by each run after the data loaded
        last = self.seed + self.repeats - 1
        if not (low <= self.seed and last <= high):  # a probe's --seed 99999999999999999999 failed every run
            raise ValueError(f"the seeds run from {self.seed:,} to {last:,} (seed + repeats - 1), which must lie from "
                             f"{low:,} to {high:,}")
        check_budget(self.budget_minutes, "the budget in minutes")
        from ..model.freeze import toggle_name_problem

        for toggle in self.freeze:  # a probe's misspelt group failed every run, after the data had loaded
            if (problem := toggle_name_problem(toggle)) is not None:
                raise ValueError(problem)
        # the training settings every run shares, checked where every run's are (a copied study.json may say anything)
        TrainConfig(**{name: getattr(self, name) for name in _TRAINING_SETTINGS})

    def scenario_overrides(self, scenario: str) -> dict[str, Any]:
        """The scenario's own defaults (``SCENARIO_DEFAULTS``), or with :attr:`same_recipe` the one recipe of every
        scenario (``SAME_RECIPE``), that no setting given here overrides."""
        from ..training.config import SAME_RECIPE, SCENARIO_DEFAULTS

        recipe = SAME_RECIPE if self.same_recipe else SCENARIO_DEFAULTS.get(scenario, {})
        return {k: v for k, v in recipe.items() if k not in self.given}

    def to_json(self) -> dict[str, Any]:
        return {"budget_minutes": self.budget_minutes, "epochs": self.epochs, "repeats": self.repeats,
                "seed": self.seed, "batch_size": self.batch_size, "lr": self.lr, "decay_factor": self.decay_factor,
                "loss_weighting": self.loss_weighting, "max_length": self.max_length, "freeze": list(self.freeze),
                "phased_top_k": self.phased_top_k, "epochs_per_phase": self.epochs_per_phase,
                "lr_schedule": self.lr_schedule, "warmup": self.warmup, "boxes": self.boxes,
                "given": list(self.given),  # which settings the scenarios' own defaults could not replace
                "same_recipe": self.same_recipe}


MAX_REPEATS = 20  # seeds per configuration: more is a typo (99,999,999 started and ran)
_TRAINING_SETTINGS = ("epochs", "batch_size", "lr", "decay_factor", "loss_weighting", "max_length", "phased_top_k",
                      "epochs_per_phase", "lr_schedule", "warmup", "boxes")
"""StudySettings fields that are TrainConfig settings: None takes TrainConfig's default."""
