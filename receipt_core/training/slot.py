"""The server's training slot (one job at a time) and a per-reader feed of a run's events.

A Streamlit server runs one Python process for every browser session, so the slot is created once per server
(the app holds it in ``st.cache_resource``) and shared: any session can see the running job, pause it or stop
it, and closing or reloading a tab does not touch it. Starting while a job is alive raises
:class:`JobBusyError` with what is running, so two people pressing Start at once get one run and one clear
message, never two runs fighting over the CPU.

Readers do not hold the job's queues: a :class:`RunFeed` is a cursor into the workspace's ``run_events`` (the
trainer's store listener writes every event there), so a reloaded tab, a second tab, and the Runs page after a
restart all read the same stream, and an abandoned session leaves nothing behind.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol

import pandas as pd

class JobBusyError(RuntimeError):
    """A second training run was requested while one is in progress on this server."""


@dataclass(frozen=True)
class ActiveJob:
    run_id: str
    job: Any  # receipt_core.training.trainer.TrainingJob
    started_at: float  # time.time()
    description: str

    @property
    def status(self) -> str:
        return self.job.status

    @property
    def is_live(self) -> bool:
        """Still running or paused (a job whose thread ended, however it ended, is not)."""
        return bool(self.job.is_alive)


class JobSlot:
    """One training job per server; thread-safe. Keeps the last job after it ends so pages can show its result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: ActiveJob | None = None

    def current(self) -> ActiveJob | None:
        """The running job, or the last one that ran on this server (None before the first)."""
        with self._lock:
            return self._active

    def busy(self) -> ActiveJob | None:
        """The live job, if any."""
        active = self.current()
        return active if active is not None and active.is_live else None

    def start(self, launch: Callable[[], tuple[str, Any]], description: str = "") -> ActiveJob:
        """Run ``launch()`` (which creates the run and returns ``(run_id, started TrainingJob)``) if the slot is free.

        The check and the launch happen under one lock, so of two concurrent callers exactly one launches and
        the other gets JobBusyError. If ``launch`` raises, the slot stays free and the error propagates.
        """
        with self._lock:
            if self._active is not None and self._active.is_live:
                raise JobBusyError(busy_message(self._active))
            run_id, job = launch()
            self._active = ActiveJob(run_id=run_id, job=job, started_at=time.time(), description=description)
            return self._active

    def control(self, run_id: str, action: str) -> None:
        """Pause, resume or stop the job of ``run_id``; refuses when that run is not the one running here.

        Naming the run guards against a stale tab stopping a newer run that someone else started.
        """
        if action not in ("pause", "resume", "stop"):
            raise ValueError(f"unknown job action {action!r}; expected pause, resume or stop")
        active = self.current()
        if active is None or active.run_id != run_id or not active.is_live:
            raise JobBusyError(f"run {run_id} is not running on this server any more; nothing to {action}")
        getattr(active.job, action)()


def busy_message(active: ActiveJob) -> str:
    minutes = (time.time() - active.started_at) / 60
    what = f" ({active.description})" if active.description else ""
    return (f"a run is in progress: {active.run_id}{what}, {active.status} for {minutes:.1f} min. "
            "Watch it on the Train page, or stop it there before starting another.")


# --- reading a run's events -------------------------------------------------------------------------------


class _EventSource(Protocol):  # receipt_core.workspace.store.Workspace
    def run_events(self, run_id: str, after_seq: int = 0, kinds=None) -> list: ...


@dataclass(frozen=True)
class RunCurves:
    """Everything the Train page draws, as plain tables (long format: step, series, value)."""

    train_loss: pd.DataFrame
    val_loss: pd.DataFrame
    metrics: pd.DataFrame
    phases: tuple[tuple[int, int], ...]  # (step, phase) where each phase began
    progress: Mapping[str, Any] | None  # the latest ProgressEvent payload
    predictions: Mapping[str, Mapping[str, Any]]  # doc id -> latest PredictionEvent payload
    status: str  # "running", "paused", "finished", "stopped", "failed", or "" before any status
    messages: tuple[str, ...]  # notes from the trainer (e.g. nothing can learn)
    error: str | None  # the FailedEvent message
    finished: Mapping[str, Any] | None  # the FinishedEvent payload
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
        self._progress: Mapping[str, Any] | None = None
        self._predictions: dict[str, Mapping[str, Any]] = {}
        self._status = ""
        self._messages: list[str] = []
        self._error: str | None = None
        self._finished: Mapping[str, Any] | None = None
        self._trainable: int | None = None
        self._total: int | None = None

    def poll(self, source: _EventSource) -> int:
        """Fold in the events stored since the last poll; returns how many arrived."""
        events = source.run_events(self.run_id, after_seq=self.last_seq)
        for event in events:
            self.add(event.kind, event.payload)
            self.last_seq = max(self.last_seq, event.seq)
        return len(events)

    def add(self, kind: str, payload: Mapping[str, Any]) -> None:
        step = int(payload.get("step") or 0)
        if kind == "step":
            self._train.append((step, "total", payload.get("loss")))
            for task, value in (payload.get("task_losses") or {}).items():
                self._train.append((step, task, value))
        elif kind == "eval":
            if payload.get("val_loss") is not None:
                self._val.append((step, "total", payload["val_loss"]))
            for task, value in (payload.get("task_val_losses") or {}).items():
                self._val.append((step, task, value))
            for name, value in flatten_metrics(payload.get("metrics") or {}).items():
                self._metrics.append((step, name, value))
        elif kind == "phase":
            self._phases.append((step, int(payload.get("phase", 1))))
            self._trainable = payload.get("trainable_parameters")
            self._total = payload.get("total_parameters")
        elif kind == "progress":
            self._progress = dict(payload)
        elif kind == "prediction":
            self._predictions[str(payload.get("doc_id"))] = dict(payload)
        elif kind == "status":
            self._status = str(payload.get("status", self._status))
            if payload.get("message"):
                self._messages.append(str(payload["message"]))
        elif kind == "finished":
            self._finished = dict(payload)
            self._status = "stopped" if payload.get("reason") == "stopped" else "finished"
        elif kind == "failed":
            self._error = str(payload.get("error") or "training failed")
            self._status = "failed"

    def curves(self) -> RunCurves:
        return RunCurves(train_loss=_frame(self._train), val_loss=_frame(self._val), metrics=_frame(self._metrics),
                         phases=tuple(self._phases), progress=self._progress, predictions=dict(self._predictions),
                         status=self._status, messages=tuple(self._messages), error=self._error,
                         finished=self._finished, trainable_parameters=self._trainable,
                         total_parameters=self._total, last_seq=self.last_seq)


def _frame(rows: Iterable[tuple[int, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["step", "series", "value"])
    return frame.dropna(subset=["value"])


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric scalars of a (possibly nested) metrics mapping under dotted names; per-label tables are skipped."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if "per_label" in name:
            continue
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, prefix=name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat
