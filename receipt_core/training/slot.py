"""The server's training slot: one job at a time.

A Streamlit server runs one Python process for every browser session, so the slot is created once per server
(the app holds it in ``st.cache_resource``) and shared: any session can see the running job, pause it or stop
it, and closing or reloading a tab does not touch it. Starting while a job is alive raises
:class:`JobBusyError` with what is running, so two people pressing Start at once get one run and one clear
message, never two runs fighting over the CPU.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from .threads import configure_torch_threads


class JobBusyError(RuntimeError):
    """A second training run was requested while one is in progress on this server."""


@dataclass(frozen=True)
class ActiveJob:
    run_id: str
    job: Any  # receipt_core.training.job.TrainingJob
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
            self._adopt_running()
            return self._active

    def _adopt_running(self) -> None:
        """Take on a training job still running in this process that this slot does not hold (under the lock).

        Streamlit's "clear cache" message (any client may send it) drops every ``st.cache_resource``, the slot the
        pages keep included: a probe then saw "Training: idle", started a second run beside the first, and no page
        could stop the first. A job's thread carries the job, so a fresh slot finds it again and refuses a second
        Start, and Pause and Stop reach it."""
        if self._active is not None and self._active.is_live:
            return
        for thread in threading.enumerate():
            job = getattr(thread, "training_job", None)
            if job is not None and job.is_alive and getattr(job, "run_id", None):
                self._active = ActiveJob(run_id=job.run_id, job=job,
                                         started_at=getattr(job, "started_at", time.time()),
                                         description=job.name)
                return

    def busy(self) -> ActiveJob | None:
        """The live job, if any."""
        active = self.current()
        return active if active is not None and active.is_live else None

    def start(self, launch: Callable[[], tuple[str, Any]], description: str = "") -> ActiveJob:
        """Run ``launch()`` (which creates the run and returns ``(run_id, started TrainingJob)``) if the slot is free.

        The check and the launch happen under one lock, so of two concurrent callers exactly one launches and
        the other gets JobBusyError. If ``launch`` raises, the slot stays free and the error propagates. PyTorch
        gets one intra-op thread per physical core first (``configure_torch_threads``; a no-op once set), so a
        server that never trains never imports torch for it.
        """
        with self._lock:
            self._adopt_running()
            if self._active is not None and self._active.is_live:
                raise JobBusyError(busy_message(self._active))
            configure_torch_threads()
            # taken before the launch: its thread may store events before ``launch`` returns, and pages read the
            # events before ``started_at`` as an earlier launch's (a resumed run's)
            started_at = time.time()
            run_id, job = launch()
            self._active = ActiveJob(run_id=run_id, job=job, started_at=started_at, description=description)
            return self._active

    def forget(self, run_id: str) -> None:
        """Let go of the last job when it is ``run_id``'s and has ended: its run was deleted, and the Train page and
        the sidebar kept showing it as "stopped" (a probe). A live job is kept: Runs refuses to delete its run."""
        with self._lock:
            if self._active is not None and self._active.run_id == run_id and not self._active.is_live:
                self._active = None

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
            "Watch it on the Train page (under the run settings), or stop it there before starting another.")
