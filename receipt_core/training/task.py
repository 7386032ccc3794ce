"""The contract between the generic loop and a domain: :class:`TrainingTask` (batches, a forward pass that returns
its own loss, evaluation, checkpoints, a freeze schedule) and the errors the loop raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

import torch
from torch import nn

from .events import EvalEvent, Event
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

    def after_evaluation(self, state: TrainerState, evaluation: EvalEvent, end_of_epoch: bool) -> list[Event]:
        """Schedule hook after each evaluation (phase changes); may change the trainable parameters."""

    def save(self, state: TrainerState) -> str:
        """Write a checkpoint atomically; returns its folder."""


class CheckpointSaveError(RuntimeError):
    """Writing a checkpoint failed (disk full, quota, permissions); the run stops, the previous one is intact."""


class NonFiniteLossError(RuntimeError):
    """The loss (or a task loss, or the gradient norm) became NaN or infinite; the step was not applied."""
