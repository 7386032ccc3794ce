"""The contract between the generic loop and a domain: :class:`TrainingTask` (batches, a forward pass that returns
its own loss, evaluation, checkpoints, a freeze schedule) and the errors the loop raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

import torch
from torch import nn

from ..model.encoding import EncodedWindow
from .batching import epoch_batches
from .events import EvalEvent, Event, PhaseEvent
from .state import TrainerState


@dataclass(frozen=True)
class StepOutput:
    loss: torch.Tensor  # scalar with a graph
    task_losses: Mapping[str, torch.Tensor]
    items: int  # examples in the batch (for throughput)


class TrainingTask(Protocol):
    """The domain side of a run. The loop calls these; see receipt_core.training.receipt_task for the receipt task."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    setup_s: float  # seconds this launch spent building feature caches (inside its steps and evaluations)

    def train_batches(self, epoch: int) -> Sequence[Any]:
        """This process's batches for ``epoch``, the same for the same seed and epoch."""

    def training_step(self, batch: Any) -> StepOutput:
        """Forward pass in train mode (frozen parts as the task decides); no backward, no optimizer step."""

    def can_learn(self) -> bool:
        """Whether any parameter is trainable now (False: the run only evaluates)."""

    def begin(self, state: TrainerState) -> list[Event]:
        """Called once before the first step (after a resume too); returns events such as the first PhaseEvent."""

    def evaluate(self, state: TrainerState) -> tuple[EvalEvent, list[Event]]:
        """The evaluation event plus follow-ups (predictions for a watch-list)."""

    def evaluation_due(self, state: TrainerState) -> bool:
        """Whether the task wants an evaluation now, before the epoch ends (``state.elapsed_s`` is current): a phased
        plan whose phase has used its share of the time budget moves on there."""

    def after_evaluation(self, state: TrainerState, evaluation: EvalEvent, end_of_epoch: bool) -> list[Event]:
        """Schedule hook after each evaluation (phase changes); may change the trainable parameters."""

    def save(self, state: TrainerState) -> str:
        """Write a checkpoint atomically; returns its folder."""


class WholeModelTask:
    """What a one-phase task that trains every parameter shares (the reference tagger, layout pre-training): it can
    always learn, its first event says so with :attr:`phase_reason`, and its batches are :func:`epoch_batches` over
    its ``windows``. A subclass sets ``config`` (with ``seed`` and ``batch_size``), ``windows`` and
    :attr:`phase_reason`, and says which module's parameters count."""

    phase_reason: str
    windows: Sequence[EncodedWindow]
    config: Any
    setup_s = 0.0  # no feature cache

    def counted_module(self) -> nn.Module:
        raise NotImplementedError

    def can_learn(self) -> bool:
        return True

    def begin(self, state: TrainerState) -> list[Event]:
        torch.manual_seed(self.config.seed)  # the job runs inside fork_rng: the caller's RNG is restored
        total = sum(p.numel() for p in self.counted_module().parameters())
        return [PhaseEvent(step=state.global_step, epoch=state.epoch, phase=state.phase,
                           trainable_groups=("everything",), trainable_parameters=total, total_parameters=total,
                           reason=self.phase_reason)]

    def train_batches(self, epoch: int) -> list[tuple[int, ...]]:
        return epoch_batches(self.windows, self.config.batch_size, self.config.seed, epoch)

    def evaluation_due(self, state: TrainerState) -> bool:
        return False  # one phase: evaluations come at the epochs' ends (and every eval_every steps)

    def after_evaluation(self, state: TrainerState, evaluation: EvalEvent, end_of_epoch: bool) -> list[Event]:
        return []  # no schedule


class CheckpointSaveError(RuntimeError):
    """Writing a checkpoint failed (disk full, quota, permissions); the run stops, the previous one is intact."""


class NonFiniteLossError(RuntimeError):
    """The loss (or a task loss, or the gradient norm) became NaN or infinite; the step was not applied."""
