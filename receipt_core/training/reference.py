"""Training the plain reference tagger (``model/reference.py``) as a task of the one loop.

Plain AdamW (one learning rate for every parameter, gradient clipping at 1) on the same windows, batches, seed
and time budget as the multi-task runs, with the same learning-rate schedule. No freezing, no phases, no task
weighting: the baseline the study's table must beat. Because it is a :class:`~receipt_core.training.task.TrainingTask`,
it gets the loop's budget, schedule, NaN guard, pause/stop, events and checkpoints, and the dashboard and the CLI
watch it like any run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..data.document import Document
from ..data.schema import DEFAULT_SCHEMA, LabelSchema
from ..data.files import with_user_umask
from ..model.encoding import DocumentEncoder
from ..model.reference import build_reference_model, predict_reference, reference_batch
from .events import EvalEvent, Event, FinishedEvent, PhaseEvent, ProgressEvent, StepEvent
from .events import flatten_metrics, headline
from .config import ReferenceConfig
from .loop import Trainer
from .state import TrainerState
from .task import StepOutput, WholeModelTask

REFERENCE_DIR = "reference"  # the tagger's transformers directory inside a run folder


@dataclass(frozen=True)
class ReferenceResult:
    metrics: dict[str, Any]  # evaluate_predictions() of the final model, flattened
    train_s: float  # training time (evaluations included)
    steps: int
    epochs: float  # epochs done (fractional when the budget stopped mid-epoch)
    trainable_parameters: int
    total_parameters: int
    finished: str  # "completed", "time budget" or "stopped"
    losses: tuple[tuple[int, float, float], ...] = ()  # (step, elapsed_s, loss)
    evaluations: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # {"step", "epoch", "elapsed_s", metrics}


class ReferenceTask(WholeModelTask):
    """The reference tagger's side of the loop: batches of combined tags, its loss, its evaluation, its saves."""

    phase_reason = "reference tagger: every parameter trains"

    def __init__(self, config: ReferenceConfig, train_docs: Sequence[Document], eval_docs: Sequence[Document],
                 run_dir: Path | None, schema: LabelSchema = DEFAULT_SCHEMA) -> None:
        if not train_docs:
            raise ValueError("the reference needs training documents; import or generate receipts first")
        self.config = config
        self.schema = schema
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.eval_docs = tuple(eval_docs)
        torch.manual_seed(config.seed)
        self.model, self.tokenizer, self.uses_layout = build_reference_model(config.backbone, schema, config.seed,
                                                                            config.max_length)
        self.encoder = DocumentEncoder(self.tokenizer, schema, max_length=config.max_length, stride=config.stride,
                                       uses_layout=self.uses_layout, boxes=config.boxes)
        self.windows = self.encoder.encode_many(train_docs)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def counted_module(self) -> nn.Module:
        return self.model

    def training_step(self, batch: tuple[int, ...]) -> StepOutput:
        self.model.train()
        tensors = reference_batch([self.windows[i] for i in batch], self.encoder.pad_token_id, self.schema,
                                  self.uses_layout)
        loss = self.model(**tensors).loss
        return StepOutput(loss=loss, task_losses={"tags": loss}, items=len(batch))

    def predict(self, docs: Sequence[Document], reconcile: bool = True):
        return predict_reference(self.model, self.encoder, docs, self.schema, self.uses_layout, reconcile=reconcile)

    def evaluate(self, state: TrainerState) -> tuple[EvalEvent, list[Event]]:
        from ..evaluation.metrics import evaluate_predictions

        metrics: dict[str, Any] = {}
        if self.eval_docs:
            metrics = flatten_metrics(evaluate_predictions(self.eval_docs, self.predict(self.eval_docs)),
                                      keep_tables=True)
        return EvalEvent(step=state.global_step, epoch=state.epoch, val_loss=None, task_val_losses={},
                         metrics=metrics, phase=state.phase), []

    def save(self, state: TrainerState) -> str:
        """The tagger as a transformers directory (``run_dir/reference``), written beside and then swapped in."""
        if self.run_dir is None:
            return ""
        target = self.run_dir / REFERENCE_DIR
        staging = self.run_dir / f".{REFERENCE_DIR}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        self.model.save_pretrained(str(staging), safe_serialization=True)
        self.tokenizer.save_pretrained(str(staging))
        with_user_umask(staging)  # safetensors writes its weights 0600
        if target.exists():
            old = self.run_dir / f".{REFERENCE_DIR}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
        return str(target)


class _Collector:
    """Folds the loop's events into a ReferenceResult's curves."""

    def __init__(self, on_log: Callable[[str], None] | None) -> None:
        self.on_log = on_log
        self.losses: list[tuple[int, float, float]] = []
        self.evaluations: list[dict[str, Any]] = []
        self.elapsed = 0.0
        self.last_loss: float | None = None
        self.total = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self.last_loss = event.loss
        elif isinstance(event, ProgressEvent):
            self.elapsed = event.elapsed_s
            if self.last_loss is not None:
                self.losses.append((event.step, event.elapsed_s, self.last_loss))
        elif isinstance(event, PhaseEvent):
            self.total = event.total_parameters
        elif isinstance(event, EvalEvent) and event.metrics:
            epoch = event.epoch
            self.evaluations.append({"step": event.step, "epoch": epoch, "elapsed_s": self.elapsed,
                                     **headline(event.metrics)})
            if self.on_log is not None:
                shown = headline(event.metrics)
                self.on_log(f"reference eval step {event.step} (epoch {epoch}): fields.micro_f1 "
                            f"{shown.get('fields.micro_f1', float('nan')):.4f}, quantity.item_accuracy "
                            f"{shown.get('quantity.item_accuracy', float('nan')):.4f}")


def train_reference(config: ReferenceConfig, train_docs: Sequence[Document], eval_docs: Sequence[Document],
                    schema: LabelSchema = DEFAULT_SCHEMA, on_log: Callable[[str], None] | None = None,
                    run_dir: Path | None = None) -> ReferenceResult:
    """Fine-tune the plain tagger in this thread until ``config.epochs`` or the time budget; evaluate after each
    epoch and at the end. Seeded: the same config and data give the same run. The caller's torch RNG is left
    untouched. With ``run_dir`` the tagger is saved there after each epoch."""
    collector = _Collector(on_log)
    with torch.random.fork_rng(devices=[]):
        task = ReferenceTask(config, train_docs, eval_docs, run_dir, schema)
        trainer = Trainer(task, config, emit=collector)
        finished: FinishedEvent = trainer.train()
        if eval_docs and on_log is not None:  # what reconciling buys the reference (see model/reconcile.py)
            from ..evaluation.metrics import evaluate_predictions

            plain = evaluate_predictions(eval_docs, task.predict(eval_docs, reconcile=False))
            shown = headline(plain)
            on_log(f"reference without reconciling: fields.micro_f1 {shown.get('fields.micro_f1', float('nan')):.4f}, "
                   f"quantity.item_accuracy {shown.get('quantity.item_accuracy', float('nan')):.4f}")
    state = trainer.state
    epochs = state.epoch + (state.step_in_epoch / state.steps_per_epoch if state.steps_per_epoch else 0.0)
    return ReferenceResult(metrics=dict(finished.metrics), train_s=finished.elapsed_s, steps=finished.step,
                           epochs=epochs, trainable_parameters=collector.total, total_parameters=collector.total,
                           finished=finished.reason, losses=tuple(collector.losses),
                           evaluations=tuple(collector.evaluations))
