"""The one training loop: it runs any :class:`~receipt_core.training.task.TrainingTask` and knows nothing about
receipts (after minGPT's trainer).

It owns the optimizer step, NaN/inf detection, the time budget, the learning-rate schedule, throughput and ETA,
pause/stop/save/evaluate at step boundaries, and data-parallel gradient averaging under Accelerate.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Protocol, Sequence

import torch
from torch import nn

from .events import TIME_BUDGET, CheckpointEvent, EvalEvent, Event, FinishedEvent, ProgressEvent, StatusEvent, StepEvent
from .schedules import budget_share, lr_multiplier
from .state import Callback, TrainerControl, TrainerState
from .task import CheckpointSaveError, NonFiniteLossError, TrainingTask


class LoopSettings(Protocol):
    """What the loop reads of a task's config (``TrainConfig``, ``ReferenceConfig`` and ``PretrainConfig`` have them)."""

    epochs: int
    max_minutes: float | None  # training-time budget (paused time does not count; closing evaluation and save in it)
    lr_schedule: str  # schedules.LR_SCHEDULES
    warmup: float  # "linear": the fraction of the run spent warming up
    grad_clip: float | None
    eval_every: int  # evaluate every N steps; 0 = at the end of each epoch
    save_every_epoch: bool  # False: save only at the run's end (and when it stops or fails over)


class Trainer:
    """Runs a TrainingTask under its LoopSettings; emits events through ``emit``.

    With an ``accelerator`` whose ``num_processes`` > 1, each process trains on its own batches and the
    gradients of the parameters that are trainable *now* are averaged across processes after backward. The
    freeze plan is a pure function of the config, state and validation losses (identical on every rank), so
    every rank excludes the same frozen parameters, and a phase that unfreezes groups mid-run is synchronised
    without rebuilding any wrapper. Stop, NaN and time-budget decisions are agreed by all ranks each step.
    """

    def __init__(self, task: TrainingTask, config: LoopSettings, emit: Callable[[Event], None],
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
        self._saved_step: int | None = None  # the step of the last checkpoint this trainer wrote
        self._clock_start = 0.0
        self._elapsed_before = 0.0
        self._setup_before = 0.0
        self._window: list[tuple[float, int, int]] = []  # (time, step, items) for throughput
        # how long the last evaluation and the last save took: kept free at the end of a time budget, so that a run
        # that stops for its budget has evaluated and saved by the time the budget is spent, not that much after it
        self._last_evaluation_s = 0.0
        self._last_save_s = 0.0
        self._last_step_s = 0.0

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

    def _setup(self) -> float:
        """Of the training time, how much went into building feature caches (earlier launches' included)."""
        return self._setup_before + float(getattr(self.task, "setup_s", 0.0) or 0.0)

    def _record_clock(self, agreed: bool = False) -> None:
        """The run's training time, and the part of it spent building feature caches, into the state (saved with
        it); ``agreed``: the time every rank takes (:meth:`_agreed_elapsed`), for decisions that read it."""
        self.state.elapsed_s = self._agreed_elapsed() if agreed else self._elapsed()
        self.state.setup_s = self._setup()

    def _agreed_elapsed(self) -> float:
        """The run's training time as every rank takes it (the longest): decisions that read it, such as a phase's
        share of the time budget, must come out the same on every rank."""
        if self._world == 1:
            return self._elapsed()
        value = torch.tensor([self._elapsed()], dtype=torch.float64, device=self.accelerator.device)
        return float(self.accelerator.gather(value).max().item())

    def _task_asks_to_evaluate(self, steps_left: int) -> bool:
        """Whether the task wants an evaluation before the epoch ends (``TrainingTask.evaluation_due``: a phased
        plan whose phase has used its share of the time budget moves on there). Not asked when the epoch's own
        evaluation comes sooner than one now would end: a WildReceipt run evaluated 2 steps before its epoch's end,
        then again at it. Every rank decides alike."""
        if self._agree(steps_left * self._last_step_s < self._last_evaluation_s):
            return False
        self._record_clock(agreed=True)
        return bool(self.task.evaluation_due(self.state))

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
        """Whether the budget is spent once the closing evaluation and save (as long as the last ones took) are
        counted in."""
        budget = self.config.max_minutes
        closing = self._last_evaluation_s + self._last_save_s
        return budget is not None and self._elapsed() + closing >= budget * 60

    def _check_ranks_agree(self) -> None:
        """Data-parallel processes must hold identical weights; a checksum per process proves it at each save."""
        model = self.task.model
        checksum = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1)
        sums = self.accelerator.gather(checksum.to(self.accelerator.device))
        if not bool((sums == sums[0]).all()):
            raise RuntimeError(f"data-parallel processes diverged at step {self.state.global_step}: weight checksums "
                               f"{sums.tolist()}; every process must train the same parameter groups")

    def _save(self) -> None:
        started = time.monotonic()
        try:
            self._write_checkpoint()
        finally:
            self._last_save_s = time.monotonic() - started

    def _write_checkpoint(self) -> None:
        self._record_clock()
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
            self._saved_step = self.state.global_step
            self.emit(CheckpointEvent(step=self.state.global_step, epoch=self.state.epoch, path=str(path)))
        if self._world > 1:
            self.accelerator.wait_for_everyone()

    def _progress(self) -> ProgressEvent:
        now = self._elapsed()  # the run's clock: a pause must not lower the rate (or stretch the ETA)
        self._window.append((now, self.state.global_step, self.state.items_seen))
        self._window = self._window[-50:]
        t0, s0, i0 = self._window[0]
        span = now - t0
        steps_per_s = (self.state.global_step - s0) / span if span > 0 else 0.0
        items_per_s = (self.state.items_seen - i0) / span if span > 0 else 0.0
        remaining = max(self.state.total_steps - self.state.global_step, 0)
        eta = remaining / steps_per_s if steps_per_s > 0 else None
        by_budget = False
        if self.config.max_minutes is not None:
            budget_left = max(self.config.max_minutes * 60 - self._elapsed(), 0.0)
            by_budget = eta is None or budget_left <= eta
            eta = budget_left if by_budget else eta
        return ProgressEvent(step=self.state.global_step, total_steps=self.state.total_steps,
                             epoch=self.state.epoch, epochs=self.config.epochs, elapsed_s=self._elapsed(),
                             steps_per_s=steps_per_s, items_per_s=items_per_s, eta_s=eta, eta_is_budget=by_budget)

    def _evaluate(self, end_of_epoch: bool) -> EvalEvent:
        started = time.monotonic()
        try:
            return self._evaluate_and_decide(end_of_epoch)
        finally:
            self._last_evaluation_s = time.monotonic() - started

    def _evaluate_and_decide(self, end_of_epoch: bool) -> EvalEvent:
        self._record_clock(agreed=True)  # the training time the task's decisions after it see
        evaluation, follow_ups = self.task.evaluate(self.state)
        losses = [evaluation.val_loss, *evaluation.task_val_losses.values()]
        if any(loss is not None and not math.isfinite(loss) for loss in losses):  # before it is stored or saved
            raise NonFiniteLossError(
                f"the validation loss became non-finite at step {self.state.global_step} (epoch {evaluation.epoch}): "
                "the steps before it overflowed the weights, so nothing was saved from them. Lower the learning "
                "rate (and the heads' rate)")
        self.state.last_metrics = dict(evaluation.metrics)
        self.emit(evaluation)
        for event in follow_ups:
            self.emit(event)
        for callback in self.callbacks:
            callback.on_evaluate(self.state, self.control, evaluation)
        if self.control.should_stop:  # the closing evaluation of a stopped run: no phase begins that never trains
            return evaluation  # (a probe's Ctrl-C printed and saved "phase 3: everything" with no step in it)
        for event in self.task.after_evaluation(self.state, evaluation, end_of_epoch):
            self.emit(event)
        return evaluation

    def _pause_point(self) -> None:
        if not self.control.should_pause or self.control.should_stop:
            return
        self._record_clock()
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
        self._setup_before = state.setup_s
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
            # the steps already taken before this epoch, plus this many for each epoch left: the same as
            # steps_per_epoch * epochs, unless a resume brought other receipts (found by a walkthrough: a resume on
            # a smaller dataset showed "step 114/42", and its linear rate had reached 0 before it began)
            done_before = state.global_step - min(state.step_in_epoch, state.global_step)
            state.total_steps = done_before + state.steps_per_epoch * (config.epochs - state.epoch)
            for index in range(state.step_in_epoch, len(batches)):
                self._pause_point()
                if self._agree(self.control.should_stop):
                    reason = "stopped"
                    break
                if self._agree(self._time_is_up()):
                    reason = TIME_BUDGET
                    break
                step_started = time.monotonic()
                event = self._step(batches[index])
                self._last_step_s = time.monotonic() - step_started
                state.step_in_epoch = index + 1
                for callback in self.callbacks:
                    callback.on_step_end(state, self.control, event)
                if self._is_main:
                    self.emit(event)
                    self.emit(self._progress())
                if config.eval_every and state.global_step % config.eval_every == 0 and index + 1 < len(batches):
                    self.control.should_evaluate = True
                if index + 1 < len(batches) and self._task_asks_to_evaluate(steps_left=len(batches) - index - 1):
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
                # out of time, this evaluation is the run's last: the task must not plan a phase nothing would train
                # in (a walkthrough's run said "phase 3: everything (102% of the time budget used)" as it ended)
                self._evaluate(end_of_epoch=not self._agree(self._time_is_up()))
                if config.save_every_epoch or state.epoch >= config.epochs:
                    self._save()
                if not task.can_learn() and state.epoch < config.epochs:
                    reason = "nothing to train"
                    break
                continue
            break  # stopped or out of time inside the epoch
        if reason != "completed" and state.step_in_epoch:
            self._evaluate(end_of_epoch=False)
            self._save()
        elif reason != "completed" and self._saved_step != state.global_step:
            self._save()  # stopped, out of time or nothing left to train at an epoch's end not saved yet
        return self._finish(reason)

    def _finish(self, reason: str) -> FinishedEvent:
        self._record_clock()
        event = FinishedEvent(step=self.state.global_step, epoch=self.state.epoch, reason=reason,
                              elapsed_s=self.state.elapsed_s, metrics=dict(self.state.last_metrics),
                              checkpoint=self.last_checkpoint)
        self.emit(event)
        return event

    def run_progress(self, steps_ahead: float = 0.0) -> float:
        """How far the run is, 0…1: the larger of steps / all steps and training time / the time budget, so a
        budgeted run's schedule ends with its budget or its epochs, whichever comes first. Every process of a
        data-parallel run gets the largest value of any (their clocks differ; their rates must not)."""
        state, config = self.state, self.config
        by_steps = (state.global_step + steps_ahead) / state.total_steps if state.total_steps else 0.0
        by_time = budget_share(self._elapsed(), self._setup(), config.max_minutes * 60) if config.max_minutes else 0.0
        progress = min(1.0, max(by_steps, by_time))
        if self._world > 1:
            value = torch.tensor([progress], dtype=torch.float64, device=self.accelerator.device)
            progress = float(self.accelerator.reduce(value, reduction="max").item())
        return progress

    def _schedule_lr(self) -> None:
        """Set each group's rate to its base rate (kept in the group as ``base_lr``) times the schedule's factor,
        for the step about to run, at its middle (global_step + 0.5): neither the first step of a warm-up nor the
        last step of the decay gets a rate of 0 (at global_step + 1 the last one did, so a one-step run trained
        nothing and said "completed", a probe)."""
        if self.config.lr_schedule == "constant":
            return
        factor = lr_multiplier(self.config.lr_schedule, self.run_progress(steps_ahead=0.5), self.config.warmup)
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
