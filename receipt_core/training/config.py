"""Every setting of a receipt training run, with its default, in one frozen dataclass.

:class:`TrainConfig` is the one home of the training defaults: the CLI builds its ``train`` options from it, the
Train page and the study read it, and a checkpoint stores it (``to_json``) so a run can be rebuilt and resumed.
The generic loop reads only the fields of :class:`~receipt_core.training.loop.LoopSettings`; the receipt task
reads the rest.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..model.encoding import check_box_mode, stored_box_mode
from .schedules import LR_SCHEDULES


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a run. The loop reads the generic ones; the receipt task reads the rest."""

    backbone: str = "layout-minilm"
    scenario: str = "full"  # a freeze preset name (see receipt_core.model.freeze.PRESETS)
    freeze: tuple[str, ...] = ()  # groups frozen on top of the preset
    unfreeze: tuple[str, ...] = ()  # groups unfrozen on top of the preset
    phased_top_k: int = 2  # phased: encoder layers added in phase 2
    epochs_per_phase: int | None = 1  # phased: a phase ends after this many epochs …
    patience: int | None = None  # … or after this many evaluations without a better validation loss
    epochs: int = 3
    max_minutes: float | None = None  # training-time budget (paused time does not count)
    batch_size: int = 8
    lr: float = 5e-5
    decay_factor: float = 2.6  # discriminative rates: each lower group's rate is the one above / factor
    lr_schedule: str = "constant"  # or "linear": warm up, then decay to 0 at the run's end (epochs or budget)
    warmup: float = 0.06  # "linear": the fraction of the run spent warming up
    weight_decay: float = 0.01
    loss_weighting: str = "fixed"  # or "uncertainty"
    task_weights: tuple[float, float] = (1.0, 1.0)
    grad_clip: float | None = 1.0
    seed: int = 0
    max_length: int = 512
    stride: int = 128
    eval_every: int = 0  # evaluate every N steps; 0 = at the end of each epoch
    watch: tuple[str, ...] = ()  # document ids whose predictions are emitted at each evaluation
    cache_frozen: bool = True  # compute the output of a frozen bottom (embeddings + layers) once per window
    boxes: str = "word"  # encoding.BOX_MODES: each word's own box, its OCR line's, or its row (own x, line's y)

    def __post_init__(self) -> None:
        for name in ("freeze", "unfreeze", "task_weights", "watch"):  # lists from JSON or a UI become tuples
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {self.batch_size}")
        if not (self.lr >= 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must be a finite number >= 0, got {self.lr}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max minutes must be > 0 when given, got {self.max_minutes}")
        if self.loss_weighting not in ("fixed", "uncertainty"):
            raise ValueError(f"loss weighting must be 'fixed' or 'uncertainty', got {self.loss_weighting!r}")
        if self.decay_factor < 1:
            raise ValueError(f"discriminative decay factor must be >= 1, got {self.decay_factor}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"learning-rate schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must be a fraction in [0, 1), got {self.warmup}")
        check_box_mode(self.boxes)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Rebuild from ``to_json()``; unknown keys are an error (a checkpoint from another version)."""
        if "line_boxes" in data:  # written before there were three box modes
            data = {**{k: v for k, v in data.items() if k != "line_boxes"}, "boxes": stored_box_mode(data)}
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; known: {sorted(names)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)
