"""A per-reader feed of one run's stored events, folded into the tables the Train page draws.

Readers do not hold the job's thread or queues: a :class:`RunFeed` is a cursor into the workspace's
``run_events`` (the job's store listener writes every event there), so a reloaded tab, a second tab, and the Runs
page after a restart all read the same stream, and an abandoned session leaves nothing behind. Stored events are
rebuilt as their classes (``event_from_json``) and dispatched on the class; their wall times (``created_at``) feed
the run's clock (:class:`~receipt_core.training.run_status.RunClock`) and the curves' ``wall_s`` axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol

import pandas as pd

from .events import (EvalEvent, Event, FailedEvent, FinishedEvent, PhaseEvent, PredictionEvent, ProgressEvent,
                     StatusEvent, StepEvent, flatten_metrics, run_status, stored_event, trained_phases)
from .run_status import RunClock, RunTiming

CURVE_COLUMNS = ("step", "epoch", "wall_s", "series", "value")


class _EventSource(Protocol):  # receipt_core.workspace.store.Workspace
    def run_events(self, run_id: str, after_seq: int = 0, kinds=None) -> list: ...


@dataclass(frozen=True)
class RunCurves:
    """Everything the Train page draws, as plain tables (long format: step, epoch, wall_s, series, value; ``epoch``
    is fractional (epochs done at that step) and ``wall_s`` the seconds since the run's first stored event)."""

    train_loss: pd.DataFrame
    val_loss: pd.DataFrame
    metrics: pd.DataFrame
    phases: tuple[tuple[int, int], ...]  # (step, phase) where each phase began
    progress: ProgressEvent | None  # the latest progress
    predictions: Mapping[str, PredictionEvent]  # doc id -> its latest prediction
    status: str  # "running", "paused", "finished", "stopped", "failed", or "" before any status
    messages: tuple[str, ...]  # notes from the trainer (e.g. nothing can learn)
    error: str | None  # the FailedEvent message
    finished: FinishedEvent | None
    trainable_parameters: int | None
    total_parameters: int | None
    last_seq: int
    timing: RunTiming  # the run's clock: status_line(timing, now) gives the status line
    phase_events: tuple[PhaseEvent, ...] = ()  # the phases it trained in, each with what trained and why (a table)

    def better_earlier(self, name: str = "fields.micro_f1", margin: float = 0.005) -> tuple[float, int] | None:
        """(score, step) of the run's best evaluation by ``name`` when it beat the score the run ended with (its
        saved model's) by more than ``margin``, else None. A run stopped in a dip saves the dip: a walkthrough read
        "Stopped … field micro-F1 0.692" under a chart that had shown 0.783."""
        if self.finished is None:
            return None
        final = flatten_metrics(self.finished.metrics).get(name)
        scores = self.metrics[self.metrics["series"] == name]
        if not isinstance(final, (int, float)) or scores.empty:
            return None
        best = scores.loc[scores["value"].idxmax()]
        return (float(best["value"]), int(best["step"])) if best["value"] > final + margin else None


class RunFeed:
    """A cursor into one run's stored events that folds them into chart tables as they arrive.

    Each UI session keeps its own feed (in its session state); ``poll`` reads only the events after the last
    one seen, so a live chart costs one small query per refresh.
    """

    def __init__(self, run_id: str, started_at: float | None = None) -> None:
        self.run_id = run_id
        self.started_at = started_at  # this launch of the run (a resumed run is launched again)
        self.last_seq = 0
        self._clock = RunClock(started_at)
        self._first_at: float | None = None
        self._steps_per_epoch: float | None = None
        self._train: list[tuple[int, str, float]] = []
        self._val: list[tuple[int, str, float]] = []
        self._metrics: list[tuple[int, str, float]] = []
        self._phases: list[tuple[int, int]] = []
        self._progress: ProgressEvent | None = None
        self._predictions: dict[str, PredictionEvent] = {}
        self._status = ""
        self._messages: list[str] = []
        self._error: str | None = None
        self._finished: FinishedEvent | None = None
        self._phase_events: list[PhaseEvent] = []

    def poll(self, source: _EventSource) -> int:
        """Fold in the events stored since the last poll; returns how many arrived."""
        stored = source.run_events(self.run_id, after_seq=self.last_seq)
        for record in stored:
            if (event := stored_event(record.kind, record.payload)) is not None:
                self.add(event, record.created_at)
            self.last_seq = max(self.last_seq, record.seq)
        return len(stored)

    def add(self, event: Event, created_at: float | None = None) -> None:
        """Fold in one event; ``created_at`` is its stored wall time (None: unknown, the clock ignores it)."""
        self._status = run_status(event, self._status)
        wall = None
        if created_at is not None:
            self._clock.add(event, created_at)
            self._first_at = created_at if self._first_at is None else self._first_at
            wall = created_at - self._first_at
        if isinstance(event, StepEvent):  # its epoch is 1-based (the one it belongs to): epoch - 1 were done before
            at = (event.step, self._epoch_at(event.step, event.epoch - 1), wall)
            self._train.append((*at, "total", event.loss))
            self._train.extend((*at, task, value) for task, value in event.task_losses.items())
        elif isinstance(event, EvalEvent):
            at = (event.step, self._epoch_at(event.step, event.epoch), wall)
            if event.val_loss is not None:
                self._val.append((*at, "total", event.val_loss))
            self._val.extend((*at, task, value) for task, value in event.task_val_losses.items())
            self._metrics.extend((*at, name, value) for name, value in flatten_metrics(event.metrics).items())
        elif isinstance(event, PhaseEvent):
            if not self._phases or self._phases[-1][1] != event.phase:  # a resume announces its phase again
                self._phases.append((event.step, event.phase))
            self._phase_events.append(event)
            self._finished, self._error = None, None  # the loop runs (again): an earlier end was before a resume
        elif isinstance(event, ProgressEvent):
            self._progress = event
            if event.total_steps and event.epochs:
                self._steps_per_epoch = event.total_steps / event.epochs
        elif isinstance(event, PredictionEvent):
            self._predictions[event.doc_id] = event
        elif isinstance(event, StatusEvent) and event.message:
            self._messages.append(event.message)
        elif isinstance(event, FinishedEvent):
            self._finished = event
        elif isinstance(event, FailedEvent):
            self._error = event.error or "training failed"

    def curves(self) -> RunCurves:
        # live, a new phase shows at once, and a failure stays in the phase it tried; a run that finished where a
        # phase began shows the phase it trained
        trained = trained_phases(self._phase_events, self._finished.step if self._finished else None)
        last = trained[-1] if trained else None
        phases = tuple(phase for phase in self._phases if last is not None and phase[0] <= last.step)
        return RunCurves(train_loss=_frame(self._train), val_loss=_frame(self._val), metrics=_frame(self._metrics),
                         phases=phases, progress=self._progress, predictions=dict(self._predictions),
                         status=self._status, messages=tuple(self._messages), error=self._error,
                         finished=self._finished,
                         trainable_parameters=last.trainable_parameters if last else None,
                         total_parameters=last.total_parameters if last else None, last_seq=self.last_seq,
                         timing=self._clock.timing(), phase_events=tuple(trained))

    def _epoch_at(self, step: int, epochs_done: int) -> float:
        """Epochs done at ``step`` (fractional) once a progress event said the steps per epoch; else the whole
        epochs done before it (the first step's point precedes the first progress event)."""
        if self._steps_per_epoch:
            return step / self._steps_per_epoch
        return float(epochs_done)


def _frame(rows: Iterable[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(CURVE_COLUMNS))
    return frame.dropna(subset=["value"])
