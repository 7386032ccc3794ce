"""A run's events as short lines on stderr: what a command prints while a model trains."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..training.events import (HEADLINE_METRICS, EvalEvent, Event, FinishedEvent, PhaseEvent, ProgressEvent,
                               StatusEvent, StepEvent)
from ..wording import epochs_done

SHOWN_METRICS = ("val_loss", *HEADLINE_METRICS)
"""The evaluation metrics an ``eval`` line shows (in the order the evaluation reports them)."""
RECENT_METRICS = ("masked_words.loss", "masked_words.accuracy")  # pre-training's, over its recent training steps
RECENT_NOTE = "over the recent training steps: pre-training holds no receipts out"


class ProgressPrinter:
    """A run listener printing its events on ``stream`` (step lines at most every ``interval`` seconds)."""

    def __init__(self, stream: TextIO | None = None, interval: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0
        self._last_step: StepEvent | None = None
        self._phases_ahead = 0  # a later, slower phase makes the loop's ETA a floor
        self._steps_per_epoch: float | None = None  # from the progress events, for the epochs an evaluation follows

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self._last_step = event
        elif isinstance(event, ProgressEvent):
            if event.total_steps and event.epochs:
                self._steps_per_epoch = event.total_steps / event.epochs
            now = time.monotonic()
            if now - self._last >= self.interval or event.step == event.total_steps:
                self._last = now
                self._print_step(event)
        elif isinstance(event, EvalEvent):
            shown = {k: v for k, v in event.metrics.items() if k in SHOWN_METRICS and isinstance(v, (int, float))}
            parts = [f"{k} {v:.4f}" for k, v in shown.items()]
            recent = {k: v for k, v in event.metrics.items() if k in RECENT_METRICS and isinstance(v, (int, float))}
            if recent and not parts:  # pre-training: walkthrough 50 read "no eval data" at each evaluation, and then
                # a masked-word accuracy at the end with no word of what it was measured on
                parts = [f"{k} {v:.4f}" for k, v in recent.items()]
                parts[-1] += f" ({RECENT_NOTE})"
            # epochs done, as the step lines' "epoch 7/12" is the one under way: walkthrough 51 read "step 162/300
            # epoch 7/12" beside "eval step 162 (epoch 6)"
            done = (epochs_done(event.step / self._steps_per_epoch) if self._steps_per_epoch
                    else f"{event.epoch}")
            self._print(f"eval  step {event.step} (after {done} epochs): " + ", ".join(parts or ["no eval data"]))
        elif isinstance(event, PhaseEvent):
            self._phases_ahead = event.phases_ahead
            what = event.reason if event.reason.startswith("phase") else f"phase {event.phase}: {event.reason}"
            self._print(f"{what}; trainable {event.trainable_parameters:,} of "
                        f"{event.total_parameters:,} parameters ({', '.join(event.trainable_groups) or 'none'})")
        elif isinstance(event, StatusEvent):
            self._print(f"note: {event.message}" if event.message else f"status: {event.status}")
        elif isinstance(event, FinishedEvent):
            # a resumed run that had already done its epochs trains and saves nothing ("checkpoint None" before)
            saved = (f"checkpoint {event.checkpoint}" if event.checkpoint else
                     "nothing new was trained or saved (a resumed run past its epochs: give a larger --epochs)")
            self._print(f"finished ({event.reason}) at step {event.step} after {event.elapsed_s:.1f}s; {saved}")
            scores = {k: event.metrics[k] for k in HEADLINE_METRICS
                      if isinstance(event.metrics.get(k), (int, float)) and not isinstance(event.metrics[k], bool)}
            if event.checkpoint and scores:  # a walkthrough scrolled back through the eval lines for them
                self._print("the saved model's scores (its last evaluation): "
                            + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
            if event.reason == "time budget" and event.step == 0:  # a probe's --max-minutes 1e-7 said only this
                self._print("warning: the time budget ended before the first step, so the checkpoint holds an "
                            "untrained model; give --max-minutes more time")

    def _print_step(self, progress: ProgressEvent) -> None:
        step = self._last_step
        losses = ""
        if step is not None:
            tasks = ", ".join(f"{k} {v:.4f}" for k, v in step.task_losses.items())
            losses = f" loss {step.loss:.4f} ({tasks})"
        eta = "" if progress.eta_s is None else f" ETA {duration(progress.eta_s)}"
        if eta and self._phases_ahead and not progress.eta_is_budget:  # this phase's rate over every step left
            eta = f" ETA at least {duration(progress.eta_s)} (later phases train more layers)"
        # no rate before a second step has been timed: "0.00 steps/s" on a run's (or a resume's) first step read as
        # a stall (a walkthrough)
        rate = (f" {progress.steps_per_s:.2f} steps/s {progress.items_per_s:.1f} samples/s"
                if progress.steps_per_s > 0 else "")
        self._print(f"step  {progress.step}/{progress.total_steps} epoch {min(progress.epoch + 1, progress.epochs)}/"
                    f"{progress.epochs}{losses}{rate}{eta}")

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


def duration(seconds: float) -> str:
    """``42s`` or ``3m05s``."""
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
