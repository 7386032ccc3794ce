"""The loop's serialisable progress (:class:`TrainerState`), the flags it reads between steps
(:class:`TrainerControl`) and callbacks, after transformers' ``TrainerCallback``: a callback gets both and may only
change ``control``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from .events import EvalEvent, StepEvent, _json_safe


@dataclass
class TrainerState:
    """Serialisable progress: saved in run.json so a run resumes where it left off."""

    global_step: int = 0
    epoch: int = 0  # epochs completed
    step_in_epoch: int = 0  # batches of the current epoch already done
    steps_per_epoch: int = 0
    total_steps: int = 0
    phase: int = 1
    elapsed_s: float = 0.0  # training time, paused time excluded, summed over resumes
    setup_s: float = 0.0  # of which building feature caches (the learning-rate schedule leaves it out)
    items_seen: int = 0
    best_val_loss: float | None = None
    evals_without_improvement: int = 0
    phase_started_epoch: int = 0
    last_metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _json_safe(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TrainerState":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class TrainerControl:
    """Flags read by the loop at step boundaries. Set by the job's buttons and by callbacks, nothing else."""

    should_stop: bool = False
    should_pause: bool = False
    should_save: bool = False
    should_evaluate: bool = False


class Callback:
    """Reacts to the loop; may change ``control`` only (never the model, the optimizer or ``state``)."""

    def on_train_begin(self, state: TrainerState, control: TrainerControl) -> None: ...

    def on_step_end(self, state: TrainerState, control: TrainerControl, event: StepEvent) -> None: ...

    def on_evaluate(self, state: TrainerState, control: TrainerControl, event: EvalEvent) -> None: ...

    def on_epoch_end(self, state: TrainerState, control: TrainerControl) -> None: ...
