"""Which process owns something long-lived (a run, a study): its pid with that process's start time, so a pid the
system reused for another program is not mistaken for the owner."""

from __future__ import annotations

import os


def this_process() -> tuple[int, float | None]:
    """This process's pid and start time."""
    return os.getpid(), process_start_time(os.getpid())


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None when no such process runs."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def process_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (a reused pid is another process)."""
    if pid is None:
        return False
    now_started = process_start_time(pid)
    if now_started is None:
        return False
    return started is None or abs(now_started - started) < 1.0
