"""A training loop that knows nothing about receipts, run in a background thread that anyone can watch and steer.

Three pieces, after minGPT's trainer and transformers' ``TrainerCallback``:

- :class:`Trainer` runs the loop over a :class:`TrainingTask` (the domain side: batches, a forward pass that
  returns its own loss, evaluation, checkpoints, a freeze schedule). It owns the optimizer step, NaN/inf
  detection, the time budget, throughput and ETA, and data-parallel gradient averaging under Accelerate.
- :class:`TrainerState` is serialisable progress; :class:`TrainerControl` holds the flags the loop reads at
  every step boundary (``should_stop``, ``should_pause``, ``should_save``, ``should_evaluate``). Callbacks
  receive both and may only change ``control``.
- :class:`TrainingJob` runs a trainer in a daemon thread: ``start()``, ``pause()``, ``resume()``, ``stop()``
  (takes effect within one step), ``join()``, ``status``. Every event goes to each listener (``add_listener``)
  and to a ``queue.Queue`` per reader (``subscribe()``), so a UI fragment drains its own queue and never calls
  anything from this thread. An exception inside the thread becomes a :class:`FailedEvent` carrying its message.
- :class:`StoreListener` writes every event into a workspace run's log and keeps the run's status current.

Events are frozen dataclasses with a ``kind`` and ``to_json()`` (JSON-safe: NaN and infinities become null), so
the UI, the CLI and the workspace store read one stream.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Protocol, Sequence

import torch
from torch import nn

from ..model.encoding import check_box_mode, stored_box_mode
from .schedules import LR_SCHEDULES, lr_multiplier

log = logging.getLogger(__name__)

# --- configuration ---------------------------------------------------------------------------------------

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


# --- events ----------------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def to_json(self) -> dict[str, Any]:
        return _json_safe({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


@dataclass(frozen=True)
class StepEvent(Event):
    kind: ClassVar[str] = "step"
    step: int
    epoch: int
    loss: float
    task_losses: Mapping[str, float]
    lr: float
    phase: int


@dataclass(frozen=True)
class EvalEvent(Event):
    kind: ClassVar[str] = "eval"
    step: int
    epoch: int
    val_loss: float | None
    task_val_losses: Mapping[str, float]
    metrics: Mapping[str, Any]
    phase: int


@dataclass(frozen=True)
class PhaseEvent(Event):
    kind: ClassVar[str] = "phase"
    step: int
    epoch: int
    phase: int
    trainable_groups: tuple[str, ...]
    trainable_parameters: int
    total_parameters: int
    reason: str


@dataclass(frozen=True)
class PredictionEvent(Event):
    kind: ClassVar[str] = "prediction"
    step: int
    epoch: int
    doc_id: str
    prediction: Mapping[str, Any]  # DocumentPrediction.to_json()


@dataclass(frozen=True)
class ProgressEvent(Event):
    kind: ClassVar[str] = "progress"
    step: int
    total_steps: int
    epoch: int  # epochs completed (StepEvent.epoch is the 1-based epoch the step belongs to)
    epochs: int
    elapsed_s: float
    steps_per_s: float
    items_per_s: float
    eta_s: float | None


@dataclass(frozen=True)
class StatusEvent(Event):
    """The job's status changed: "running", "paused" (and back), or a note such as nothing-can-learn."""

    kind: ClassVar[str] = "status"
    step: int
    status: str
    message: str = ""


@dataclass(frozen=True)
class CheckpointEvent(Event):
    kind: ClassVar[str] = "checkpoint"
    step: int
    epoch: int
    path: str


@dataclass(frozen=True)
class FinishedEvent(Event):
    kind: ClassVar[str] = "finished"
    step: int
    epoch: int
    reason: str  # "completed", "stopped", "time budget", "nothing to train"
    elapsed_s: float
    metrics: Mapping[str, Any]
    checkpoint: str | None


@dataclass(frozen=True)
class FailedEvent(Event):
    kind: ClassVar[str] = "failed"
    step: int
    error: str  # the message a user reads
    error_type: str
    traceback: str
    checkpoint: str | None  # the last good checkpoint, untouched by the failure


EVENT_TYPES: Mapping[str, type[Event]] = {cls.kind: cls for cls in (
    StepEvent, EvalEvent, PhaseEvent, PredictionEvent, ProgressEvent, StatusEvent, CheckpointEvent,
    FinishedEvent, FailedEvent)}


def event_from_json(kind: str, payload: Mapping[str, Any]) -> Event:
    """Rebuild a typed event from its stored ``kind`` and ``to_json()`` payload (e.g. from the workspace)."""
    try:
        cls = EVENT_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown event kind {kind!r}; known: {sorted(EVENT_TYPES)}") from None
    values = dict(payload)
    for f in dataclasses.fields(cls):
        if isinstance(values.get(f.name), list) and "tuple" in str(f.type):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


# --- state, control, callbacks ---------------------------------------------------------------------------


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


# --- the task protocol -----------------------------------------------------------------------------------


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


# --- the loop --------------------------------------------------------------------------------------------


class Trainer:
    """Runs a TrainingTask under a TrainConfig; emits events through ``emit``.

    With an ``accelerator`` whose ``num_processes`` > 1, each process trains on its own batches and the
    gradients of the parameters that are trainable *now* are averaged across processes after backward. The
    freeze plan is a pure function of the config, state and validation losses (identical on every rank), so
    every rank excludes the same frozen parameters, and a phase that unfreezes groups mid-run is synchronised
    without rebuilding any wrapper. Stop, NaN and time-budget decisions are agreed by all ranks each step.
    """

    def __init__(self, task: TrainingTask, config: TrainConfig, emit: Callable[[Event], None],
                 control: TrainerControl | None = None, callbacks: Sequence[Callback] = (),
                 state: TrainerState | None = None, accelerator: Any = None,
                 wait_while_paused: Callable[[], None] | None = None) -> None:
        self.task = task
        self.config = config
        self.control = control or TrainerControl()
        self.callbacks = list(callbacks)
        self.state = state or TrainerState()
        self.accelerator = accelerator
        self._emit = emit
        self._wait_while_paused = wait_while_paused
        self.last_checkpoint: str | None = None
        self._clock_start = 0.0
        self._elapsed_before = 0.0
        self._window: list[tuple[float, int, int]] = []  # (time, step, items) for throughput

    # -- helpers --

    @property
    def _world(self) -> int:
        return int(getattr(self.accelerator, "num_processes", 1) or 1)

    @property
    def _is_main(self) -> bool:
        return bool(getattr(self.accelerator, "is_main_process", True))

    def emit(self, event: Event) -> None:
        if self._is_main:
            self._emit(event)

    def _elapsed(self) -> float:
        return self._elapsed_before + (time.monotonic() - self._clock_start)

    def _agree(self, flag: bool) -> bool:
        """True on every rank when any rank says True (single process: the flag itself)."""
        if self._world == 1:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.accelerator.device)
        return bool(self.accelerator.reduce(value, reduction="sum").item() > 0)

    def _sync_gradients(self, parameters: list[nn.Parameter]) -> None:
        if self._world == 1 or not parameters:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
        flat = torch.cat([g.reshape(-1) for g in grads])
        flat = self.accelerator.reduce(flat, reduction="mean")
        offset = 0
        for p, g in zip(parameters, grads):
            n = g.numel()
            p.grad = flat[offset:offset + n].view_as(p).clone()
            offset += n

    def _time_is_up(self) -> bool:
        budget = self.config.max_minutes
        return budget is not None and self._elapsed() >= budget * 60

    def _check_ranks_agree(self) -> None:
        """Data-parallel processes must hold identical weights; a checksum per process proves it at each save."""
        model = self.task.model
        checksum = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1)
        sums = self.accelerator.gather(checksum.to(self.accelerator.device))
        if not bool((sums == sums[0]).all()):
            raise RuntimeError(f"data-parallel processes diverged at step {self.state.global_step}: weight checksums "
                               f"{sums.tolist()}; every process must train the same parameter groups")

    def _save(self) -> None:
        self.state.elapsed_s = self._elapsed()
        if self._world > 1:
            self._check_ranks_agree()
        if self._is_main:
            try:
                path = self.task.save(self.state)
            except OSError as error:  # a full disk, a quota, a permission: the task's atomic save kept the old one
                reason = error.strerror or str(error)
                where = f" ({error.filename})" if error.filename else ""
                kept = f"the previous checkpoint ({self.last_checkpoint}) is unchanged" if self.last_checkpoint \
                    else "no earlier checkpoint exists"
                raise CheckpointSaveError(f"saving the checkpoint at step {self.state.global_step} failed: "
                                          f"{reason}{where}; {kept}") from error
            self.last_checkpoint = path
            self.emit(CheckpointEvent(step=self.state.global_step, epoch=self.state.epoch, path=str(path)))
        if self._world > 1:
            self.accelerator.wait_for_everyone()

    def _progress(self) -> ProgressEvent:
        now = time.monotonic()
        self._window.append((now, self.state.global_step, self.state.items_seen))
        self._window = self._window[-50:]
        t0, s0, i0 = self._window[0]
        span = now - t0
        steps_per_s = (self.state.global_step - s0) / span if span > 0 else 0.0
        items_per_s = (self.state.items_seen - i0) / span if span > 0 else 0.0
        remaining = max(self.state.total_steps - self.state.global_step, 0)
        eta = remaining / steps_per_s if steps_per_s > 0 else None
        if self.config.max_minutes is not None:
            budget_left = max(self.config.max_minutes * 60 - self._elapsed(), 0.0)
            eta = budget_left if eta is None else min(eta, budget_left)
        return ProgressEvent(step=self.state.global_step, total_steps=self.state.total_steps,
                             epoch=self.state.epoch, epochs=self.config.epochs, elapsed_s=self._elapsed(),
                             steps_per_s=steps_per_s, items_per_s=items_per_s, eta_s=eta)

    def _evaluate(self, end_of_epoch: bool) -> EvalEvent:
        evaluation, follow_ups = self.task.evaluate(self.state)
        self.state.last_metrics = dict(evaluation.metrics)
        self.emit(evaluation)
        for event in follow_ups:
            self.emit(event)
        for callback in self.callbacks:
            callback.on_evaluate(self.state, self.control, evaluation)
        for event in self.task.after_evaluation(self.state, evaluation, end_of_epoch):
            self.emit(event)
        return evaluation

    def _pause_point(self) -> None:
        if not self.control.should_pause or self.control.should_stop:
            return
        self.state.elapsed_s = self._elapsed()
        self.emit(StatusEvent(step=self.state.global_step, status="paused"))
        paused_at = time.monotonic()
        if self._wait_while_paused is not None:
            self._wait_while_paused()
        else:
            while self.control.should_pause and not self.control.should_stop:
                time.sleep(0.05)
        self._clock_start += time.monotonic() - paused_at  # paused time does not count
        if not self.control.should_stop:
            self.emit(StatusEvent(step=self.state.global_step, status="running"))

    # -- the loop --

    def train(self) -> FinishedEvent:
        """Run to the end (epochs, time budget or stop). Raises NonFiniteLossError without saving on NaN/inf."""
        config, state, task = self.config, self.state, self.task
        self._clock_start = time.monotonic()
        self._elapsed_before = state.elapsed_s
        for event in task.begin(state):
            self.emit(event)
        for callback in self.callbacks:
            callback.on_train_begin(state, self.control)

        if not task.can_learn():
            self.emit(StatusEvent(step=state.global_step, status="running",
                                  message="no parameter can learn (every group is frozen): evaluating only"))
            self._evaluate(end_of_epoch=True)
            self._save()
            return self._finish("nothing to train")

        reason = "completed"
        while state.epoch < config.epochs:
            batches = task.train_batches(state.epoch)
            state.steps_per_epoch = len(batches)
            state.total_steps = state.steps_per_epoch * config.epochs
            for index in range(state.step_in_epoch, len(batches)):
                self._pause_point()
                if self._agree(self.control.should_stop):
                    reason = "stopped"
                    break
                if self._agree(self._time_is_up()):
                    reason = "time budget"
                    break
                event = self._step(batches[index])
                state.step_in_epoch = index + 1
                for callback in self.callbacks:
                    callback.on_step_end(state, self.control, event)
                if self._is_main:
                    self.emit(event)
                    self.emit(self._progress())
                if config.eval_every and state.global_step % config.eval_every == 0 and index + 1 < len(batches):
                    self.control.should_evaluate = True
                if self._agree(self.control.should_evaluate):
                    self.control.should_evaluate = False
                    self._evaluate(end_of_epoch=False)
                if self._agree(self.control.should_save):
                    self.control.should_save = False
                    self._save()
            else:
                state.epoch += 1
                state.step_in_epoch = 0
                for callback in self.callbacks:
                    callback.on_epoch_end(state, self.control)
                self._evaluate(end_of_epoch=True)
                self._save()
                if not task.can_learn() and state.epoch < config.epochs:
                    reason = "nothing to train"
                    break
                continue
            break  # stopped or out of time inside the epoch
        if reason != "completed" and state.step_in_epoch:
            self._evaluate(end_of_epoch=False)
            self._save()
        elif reason != "completed" and self.last_checkpoint is None:
            self._save()
        return self._finish(reason)

    def _finish(self, reason: str) -> FinishedEvent:
        self.state.elapsed_s = self._elapsed()
        event = FinishedEvent(step=self.state.global_step, epoch=self.state.epoch, reason=reason,
                              elapsed_s=self.state.elapsed_s, metrics=dict(self.state.last_metrics),
                              checkpoint=self.last_checkpoint)
        self.emit(event)
        return event

    def run_progress(self, steps_ahead: int = 0) -> float:
        """How far the run is, 0…1: the larger of steps / all steps and training time / the time budget, so a
        budgeted run's schedule ends with its budget or its epochs, whichever comes first. Every process of a
        data-parallel run gets the largest value of any (their clocks differ; their rates must not)."""
        state, config = self.state, self.config
        by_steps = (state.global_step + steps_ahead) / state.total_steps if state.total_steps else 0.0
        by_time = self._elapsed() / (config.max_minutes * 60) if config.max_minutes else 0.0
        progress = min(1.0, max(by_steps, by_time))
        if self._world > 1:
            value = torch.tensor([progress], dtype=torch.float64, device=self.accelerator.device)
            progress = float(self.accelerator.reduce(value, reduction="max").item())
        return progress

    def _schedule_lr(self) -> None:
        """Set each group's rate to its base rate (kept in the group as ``base_lr``) times the schedule's factor,
        for the step about to run (step global_step + 1, so a warm-up never applies a zero rate)."""
        if self.config.lr_schedule == "constant":
            return
        factor = lr_multiplier(self.config.lr_schedule, self.run_progress(steps_ahead=1), self.config.warmup)
        for group in self.task.optimizer.param_groups:
            group["lr"] = group.setdefault("base_lr", group["lr"]) * factor

    def _step(self, batch: Any) -> StepEvent:
        task, state = self.task, self.state
        optimizer = task.optimizer
        optimizer.zero_grad(set_to_none=True)
        output = task.training_step(batch)
        losses = {name: float(value.detach()) for name, value in output.task_losses.items()}
        loss_value = float(output.loss.detach())
        bad = [name for name, value in [("loss", loss_value), *losses.items()] if not math.isfinite(value)]
        if self._agree(bool(bad)):
            raise NonFiniteLossError(
                f"the training loss became non-finite at step {state.global_step + 1} (epoch {state.epoch + 1}): "
                + (", ".join(f"{name}={loss_value if name == 'loss' else losses[name]}" for name in bad)
                   or "on another process")
                + "; the step was not applied. Lower the learning rate or check the batch's labels")
        if self.accelerator is not None:
            self.accelerator.backward(output.loss)
        else:
            output.loss.backward()
        trainable = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
        self._sync_gradients(trainable)
        if self.config.grad_clip is not None and trainable:
            norm = float(torch.nn.utils.clip_grad_norm_(trainable, self.config.grad_clip))
            if self._agree(not math.isfinite(norm)):
                raise NonFiniteLossError(f"the gradient norm became non-finite at step {state.global_step + 1} "
                                         f"(epoch {state.epoch + 1}); the step was not applied")
        self._schedule_lr()
        optimizer.step()
        state.global_step += 1
        state.items_seen += output.items * self._world
        lr = max((group["lr"] for group in optimizer.param_groups), default=0.0)
        return StepEvent(step=state.global_step, epoch=state.epoch + 1, loss=loss_value, task_losses=losses,
                         lr=float(lr), phase=state.phase)


# --- the workspace listener -----------------------------------------------------------------------------


class StoreListener:
    """Writes every event into a workspace run's log (``Workspace.append_run_event``) and keeps the run's status
    ("running", "paused", "finished", "stopped", "failed") and summary current. Any object with those two
    methods will do; the trainer does not import the storage module."""

    def __init__(self, workspace, run_id: str) -> None:
        self.workspace = workspace
        self.run_id = run_id

    def __call__(self, event: Event) -> None:
        self.workspace.append_run_event(self.run_id, event.kind, event.to_json())
        if isinstance(event, StatusEvent) and event.status in ("running", "paused"):
            self.workspace.set_run_status(self.run_id, event.status)
        elif isinstance(event, FinishedEvent):
            status = "stopped" if event.reason == "stopped" else "finished"
            self.workspace.set_run_status(self.run_id, status, summary=event.to_json())
        elif isinstance(event, FailedEvent):
            summary = {k: v for k, v in event.to_json().items() if k != "traceback"}
            self.workspace.set_run_status(self.run_id, "failed", summary=summary)


# --- the background job ----------------------------------------------------------------------------------

JOB_STATUSES = ("created", "running", "paused", "finished", "stopped", "failed")


class TrainingJob:
    """One training run in a daemon thread, with listeners, per-reader queues and control buttons.

    ``build`` is called inside the thread (loading a backbone and data may take a while, and its errors must
    become a FailedEvent too); it returns ``(task, state)`` where ``state`` is None for a fresh run or the
    TrainerState to resume from.
    """

    def __init__(self, build: Callable[[], tuple[TrainingTask, TrainerState | None]], config: TrainConfig,
                 callbacks: Sequence[Callback] = (), accelerator: Any = None, name: str = "training",
                 run_id: str | None = None) -> None:
        self.config = config
        self.name = name
        self.run_id = run_id  # the workspace run this job writes to, when it has one
        self.control = TrainerControl()
        self._build = build
        self._callbacks = list(callbacks)
        self._accelerator = accelerator
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._listeners: list[Callable[[Event], None]] = []
        self._queues: list[queue.Queue] = []
        self._history: list[Event] = []
        self._status = "created"
        self._thread: threading.Thread | None = None
        self.result: FinishedEvent | FailedEvent | None = None
        self.trainer: Trainer | None = None

    # -- watching --

    @property
    def status(self) -> str:
        return self._status

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener(event)`` from the training thread for every later event (keep it quick)."""
        with self._lock:
            self._listeners.append(listener)

    def subscribe(self, replay: bool = True) -> queue.Queue:
        """A new queue that receives every event; with ``replay`` it first gets every event so far."""
        reader: queue.Queue = queue.Queue()
        with self._lock:
            if replay:
                for event in self._history:
                    reader.put(event)
            self._queues.append(reader)
        return reader

    def unsubscribe(self, reader: queue.Queue) -> None:
        with self._lock:
            if reader in self._queues:
                self._queues.remove(reader)

    def history(self) -> list[Event]:
        with self._lock:
            return list(self._history)

    def _emit(self, event: Event) -> None:
        if isinstance(event, StatusEvent) and event.status in ("running", "paused"):
            self._status = event.status
        elif isinstance(event, FinishedEvent):
            self._status = "stopped" if event.reason == "stopped" else "finished"
        elif isinstance(event, FailedEvent):
            self._status = "failed"
        # Listeners first (the store among them), then the queues: a reader that sees an event can rely on the
        # workspace already holding it. History and queues change under one lock, so a new subscriber's replay
        # and its live events neither overlap nor leave a gap.
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not kill the run
                log.exception("training listener %r failed on a %s event", listener, event.kind)
        with self._lock:
            self._history.append(event)
            for reader in self._queues:
                reader.put(event)

    # -- steering --

    def start(self) -> "TrainingJob":
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"job {self.name!r} was already started (status {self._status})")
            self._thread = threading.Thread(target=self._run, name=f"trainer-{self.name}", daemon=True)
            self._status = "running"
        self._thread.start()
        return self

    def pause(self) -> None:
        """Pause at the next step boundary (the current step finishes)."""
        with self._wake:
            self.control.should_pause = True

    def resume(self) -> None:
        with self._wake:
            self.control.should_pause = False
            self._wake.notify_all()

    def stop(self) -> None:
        """Stop after the current step: the run evaluates, saves a checkpoint and finishes as "stopped"."""
        with self._wake:
            self.control.should_stop = True
            self._wake.notify_all()

    def request_save(self) -> None:
        self.control.should_save = True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _wait_while_paused(self) -> None:
        with self._wake:
            while self.control.should_pause and not self.control.should_stop:
                self._wake.wait(timeout=0.5)

    # -- the thread --

    def _run(self) -> None:
        try:
            with torch.random.fork_rng(devices=[]):  # the run seeds torch's CPU RNG; the process gets its own back
                self._train()
        except BaseException as error:  # noqa: BLE001 - every failure reaches the listeners with its message
            self._fail(error)

    def _train(self) -> None:
        task, state = self._build()
        try:
            self.trainer = Trainer(task, self.config, self._emit, control=self.control, callbacks=self._callbacks,
                                   state=state, accelerator=self._accelerator,
                                   wait_while_paused=self._wait_while_paused)
            self.result = self.trainer.train()
        finally:
            close = getattr(task, "close", None)  # a task may hold caches or files
            if close is not None:
                close()

    def _fail(self, error: BaseException) -> None:
        """Turn any failure into a FailedEvent: the message a user reads, and the untouched last checkpoint."""
        step = self.trainer.state.global_step if self.trainer is not None else 0
        checkpoint = self.trainer.last_checkpoint if self.trainer is not None else None
        message = " ".join(str(error).split()) or type(error).__name__
        if checkpoint is not None and not isinstance(error, CheckpointSaveError):  # (that one says it already)
            message += f" (the last good checkpoint, kept as it was, is in {checkpoint})"
        self.result = FailedEvent(step=step, error=message, error_type=type(error).__name__,
                                  traceback=traceback.format_exc(), checkpoint=checkpoint)
        self._emit(self.result)
