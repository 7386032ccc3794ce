"""A training run in a background thread that anyone can watch and steer, and the listener that stores its events.

:class:`TrainingJob` runs a :class:`~receipt_core.training.loop.Trainer` in a daemon thread: ``start()``,
``pause()``, ``resume()``, ``stop()`` (takes effect within one step), ``join()``, ``status``. Every event goes to
each listener (``add_listener``), from the training thread: the dashboard's listener is :class:`StoreListener`,
which writes the event to the workspace, and the pages read the workspace, never this thread. An exception
inside the thread becomes a :class:`~receipt_core.training.events.FailedEvent` carrying its message.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import Any, Callable, Sequence

import torch

from .events import Event, FailedEvent, FinishedEvent, StatusEvent, run_status
from .loop import LoopSettings, Trainer
from .state import Callback, TrainerControl, TrainerState
from .task import CheckpointSaveError, TrainingTask

log = logging.getLogger(__name__)


class StoreListener:
    """Writes every event into a workspace run's log (``Workspace.append_run_event``) and keeps the run's status
    ("running", "paused", "finished", "stopped", "failed") and summary current. Any object with those two
    methods will do; the trainer does not import the storage module."""

    def __init__(self, workspace, run_id: str) -> None:
        self.workspace = workspace
        self.run_id = run_id

    def __call__(self, event: Event) -> None:
        self.workspace.append_run_event(self.run_id, event.kind, event.to_json())
        if isinstance(event, FailedEvent):
            summary = {k: v for k, v in event.to_json().items() if k != "traceback"}
            self.workspace.set_run_status(self.run_id, "failed", summary=summary)
        elif isinstance(event, FinishedEvent):
            self.workspace.set_run_status(self.run_id, run_status(event, ""), summary=event.to_json())
        elif isinstance(event, StatusEvent) and event.status in ("running", "paused"):
            self.workspace.set_run_status(self.run_id, event.status)


class TrainingJob:
    """One training run in a daemon thread, with listeners and control buttons.

    ``build`` is called inside the thread (loading a backbone and data may take a while, and its errors must
    become a FailedEvent too); it returns ``(task, state)`` where ``state`` is None for a fresh run or the
    TrainerState to resume from.
    """

    def __init__(self, build: Callable[[], tuple[TrainingTask, TrainerState | None]], config: LoopSettings,
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
        self._status = "created"
        self._thread: threading.Thread | None = None
        self._done = threading.Event()  # set when the thread's work has ended, however it ended
        self.result: FinishedEvent | FailedEvent | None = None
        self.trainer: Trainer | None = None

    # -- watching --

    @property
    def status(self) -> str:
        return self._status

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener(event)`` from the training thread for every later event (keep it quick)."""
        with self._lock:
            self._listeners.append(listener)

    def _emit(self, event: Event) -> None:
        self._status = run_status(event, self._status)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not kill the run
                log.exception("training listener %r failed on a %s event", listener, event.kind)

    # -- steering --

    def start(self) -> "TrainingJob":
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"job {self.name!r} was already started (status {self._status})")
            self._thread = threading.Thread(target=self._run, name=f"trainer-{self.name}", daemon=True)
            self._thread.training_job = self  # found again from the thread list (JobSlot._adopt_running)
            self.started_at = time.time()
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

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True when it has. Waits on an event rather than ``Thread.join``: a Ctrl-C that
        interrupts ``Thread.join`` can leave the thread marked as ended while it still runs (CPython 3.11), and the
        interpreter then exits under a running training step."""
        if self._thread is None:
            return True
        return self._done.wait(timeout)

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
        finally:
            self._done.set()

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
