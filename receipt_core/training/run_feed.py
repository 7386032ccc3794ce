"""A per-reader feed of one run's stored events, folded into the tables the Train page draws.

Readers do not hold the job's thread or queues: a :class:`RunFeed` is a cursor into the workspace's
``run_events`` (the job's store listener writes every event there), so a reloaded tab, a second tab, and the Runs
page after a restart all read the same stream, and an abandoned session leaves nothing behind. Stored events are
rebuilt as their classes (``event_from_json``) and dispatched on the class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol

import pandas as pd

from .events import (EvalEvent, Event, FailedEvent, FinishedEvent, PhaseEvent, PredictionEvent, ProgressEvent,
                     StatusEvent, StepEvent, event_from_json, flatten_metrics, run_status)


class _EventSource(Protocol):  # receipt_core.workspace.store.Workspace
    def run_events(self, run_id: str, after_seq: int = 0, kinds=None) -> list: ...


@dataclass(frozen=True)
class RunCurves:
    """Everything the Train page draws, as plain tables (long format: step, series, value)."""

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


class RunFeed:
    """A cursor into one run's stored events that folds them into chart tables as they arrive.

    Each UI session keeps its own feed (in its session state); ``poll`` reads only the events after the last
    one seen, so a live chart costs one small query per refresh.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.last_seq = 0
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
        self._trainable: int | None = None
        self._total: int | None = None

    def poll(self, source: _EventSource) -> int:
        """Fold in the events stored since the last poll; returns how many arrived."""
        stored = source.run_events(self.run_id, after_seq=self.last_seq)
        for record in stored:
            self.add(event_from_json(record.kind, record.payload))
            self.last_seq = max(self.last_seq, record.seq)
        return len(stored)

    def add(self, event: Event) -> None:
        self._status = run_status(event, self._status)
        if isinstance(event, StepEvent):
            self._train.append((event.step, "total", event.loss))
            self._train.extend((event.step, task, value) for task, value in event.task_losses.items())
        elif isinstance(event, EvalEvent):
            if event.val_loss is not None:
                self._val.append((event.step, "total", event.val_loss))
            self._val.extend((event.step, task, value) for task, value in event.task_val_losses.items())
            self._metrics.extend((event.step, name, value) for name, value in flatten_metrics(event.metrics).items())
        elif isinstance(event, PhaseEvent):
            self._phases.append((event.step, event.phase))
            self._trainable, self._total = event.trainable_parameters, event.total_parameters
        elif isinstance(event, ProgressEvent):
            self._progress = event
        elif isinstance(event, PredictionEvent):
            self._predictions[event.doc_id] = event
        elif isinstance(event, StatusEvent) and event.message:
            self._messages.append(event.message)
        elif isinstance(event, FinishedEvent):
            self._finished = event
        elif isinstance(event, FailedEvent):
            self._error = event.error or "training failed"

    def curves(self) -> RunCurves:
        return RunCurves(train_loss=_frame(self._train), val_loss=_frame(self._val), metrics=_frame(self._metrics),
                         phases=tuple(self._phases), progress=self._progress, predictions=dict(self._predictions),
                         status=self._status, messages=tuple(self._messages), error=self._error,
                         finished=self._finished, trainable_parameters=self._trainable,
                         total_parameters=self._total, last_seq=self.last_seq)


def _frame(rows: Iterable[tuple[int, str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["step", "series", "value"])
    return frame.dropna(subset=["value"])
