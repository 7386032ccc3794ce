"""Run a training job in the terminal: watch it on stderr, pause it with Ctrl-Z, stop it with Ctrl-C.

Every kind of run (``train``, ``reference``, ``pretrain``) is a :class:`~receipt_core.training.job.TrainingJob`
of the one loop, so the terminal steers them all the same way: Ctrl-Z pauses at the next step boundary (and a
second Ctrl-Z resumes; paused time does not count against the budget), Ctrl-C (or SIGTERM, ``kill PID``) stops
after the current step (the run evaluates and saves first), a second one aborts.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from ..training.events import FailedEvent, FinishedEvent
from .errors import CommandError, Terminated

if TYPE_CHECKING:  # the job's module loads torch; the command modules import this one at start-up
    from ..training.job import TrainingJob


STOPPED_EXIT_CODE = 130  # as a stopped study's and a second Ctrl-C's


def exit_code(finished: FinishedEvent) -> int:
    """The command's exit status for a run that ended with ``finished``: 0 when it ended by itself (its epochs, its
    time budget), :data:`STOPPED_EXIT_CODE` when Ctrl-C or ``kill`` stopped it, evaluated and saved. A probe's
    stopped run exited 0, and a script's ``train … && evaluate …`` went on as if training had completed."""
    return STOPPED_EXIT_CODE if finished.reason == "stopped" else 0


class InterruptRecorder:
    """SIGINT's handler from a command's start until its run takes over: as Python's own, it raises
    KeyboardInterrupt, and it records that it did. Python drops an exception raised inside a ``__del__`` (a
    tokenizer's regex cache freed while loading), so a Ctrl-C in the setup could vanish and the run train its whole
    budget and exit 0 (a probe: 2 of 7 early presses); :func:`run_in_foreground` reads the record before it trains."""

    def __init__(self) -> None:
        self.received = False

    def __call__(self, signum, frame) -> None:
        self.received = True
        raise KeyboardInterrupt


def record_interrupts():
    """Install :class:`InterruptRecorder` as SIGINT's handler where Python's own is (the main thread of a process
    that did not inherit SIGINT ignored); returns the undo."""
    if threading.current_thread() is not threading.main_thread() or (
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        return lambda: None
    previous = signal.signal(signal.SIGINT, InterruptRecorder())

    def undo() -> None:  # unless a stopped run set SIGINT ignored: a late press must not break its exit
        if isinstance(signal.getsignal(signal.SIGINT), InterruptRecorder):
            signal.signal(signal.SIGINT, previous)

    return undo


def _interrupted_before_start() -> bool:
    handler = signal.getsignal(signal.SIGINT)
    return isinstance(handler, InterruptRecorder) and handler.received


def run_in_foreground(job: TrainingJob, what: str = "training") -> FinishedEvent:
    """Start ``job``, wait for it while Ctrl-Z pauses/resumes and Ctrl-C stops it; its FinishedEvent, or
    CommandError carrying the failure's message."""
    restore = _pause_on_ctrl_z(job)
    interrupted = _interrupted_before_start()  # read before the handler below replaces the recorder
    restore_stop = _stop_on_interrupt_or_terminate()
    stopped = False
    try:
        _start_unsignalled(job)  # a signal in the first instant crashed with SIGABRT outside this try (a probe)
        if interrupted:  # a Ctrl-C the setup swallowed: stopped as one pressed now
            raise KeyboardInterrupt
        while not job.join(timeout=0.5):
            pass
    except KeyboardInterrupt as signalled:
        stopped = True
        _abort_on_ctrl_c(what, job)  # first thing: a second press 50 ms later must find it set
        # said as what it was: probe 50's `kill -TERM` read "interrupted … (press Ctrl-C again to abort)"
        how = ("terminated (SIGTERM): stopping {} after the current step (a second SIGTERM or Ctrl-C aborts)"
               if isinstance(signalled, Terminated) else
               "interrupted: stopping {} after the current step (press Ctrl-C again to abort)")
        print(how.format(what), file=sys.stderr, flush=True)
        job.stop()
        try:
            job.join()
        except KeyboardInterrupt:  # outside the main thread no handler could be set
            _abort(what)
        _ignore_ctrl_c()  # saved and stopped: a late second press must not break the process's exit with a traceback
    finally:
        restore()
        if not stopped:  # after a stop, a late signal stays ignored: the run saved, its exit code must say so
            restore_stop()
    result = job.result
    if isinstance(result, FailedEvent):
        when = f"at step {result.step}" if result.step else "before a step completed"
        raise CommandError(f"{what} failed {when}: {result.error}")
    if result is None:
        raise CommandError(f"{what} was stopped before it started; nothing was saved" if stopped
                           else f"{what} ended without a result")
    return result


def _start_unsignalled(job: TrainingJob) -> None:
    """``job.start()`` with SIGINT and SIGTERM held until it returns (then delivered, to the stop above): one
    landing between the thread's creation and its start left a job that never ends to wait on."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        job.start()
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        job.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _abort(what: str) -> None:
    """A second Ctrl-C: end the process now, without the step, evaluation and save the first one waits for.
    ``os._exit``: returning through the interpreter's shutdown with the job's thread inside PyTorch ended in
    "terminate called without an active exception" and SIGABRT (a probe: 3 of 4 double Ctrl-Cs)."""
    print(f"aborted: {what} stopped without saving; what it saved before, if anything, is what is left (a "
          "train --out folder: train --resume; a workspace run: Resume on the Runs page)", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(130)


def _stop_on_interrupt_or_terminate():
    """SIGINT (Ctrl-C) and SIGTERM (``kill PID``) both stop the run after its step, evaluated and saved; returns
    the undo. SIGINT is set even when the process inherited it ignored (a shell script's ``train … &``: a walkthrough
    found ``kill -INT`` did nothing), and SIGTERM no longer ends the run without its save."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum, frame) -> None:
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    return lambda: [signal.signal(number, handler) for number, handler in previous.items()]


def _abort_on_ctrl_c(what: str, job: TrainingJob) -> None:
    """Make the next SIGINT (Ctrl-C) or SIGTERM abort at once (:func:`_abort`), unless the job has already ended
    with its save: a press in the instant between the saved run's "finished (stopped)" and the wait returning
    turned its exit into 130, "aborted … without saving" (seen once in a full test run)."""

    def abort_unless_saved(signum, frame) -> None:
        if job.status not in ("finished", "stopped"):
            _abort(what)

    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, abort_unless_saved)


def _ignore_ctrl_c() -> None:
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)


def _pause_on_ctrl_z(job: TrainingJob):
    """Make SIGTSTP (Ctrl-Z) toggle the job's pause instead of suspending the process; returns the undo."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTSTP"):
        return lambda: None

    def toggle(signum, frame) -> None:
        if job.control.should_pause:
            print("resuming", file=sys.stderr, flush=True)
            job.resume()
        else:
            print("pausing after the current step: Ctrl-Z again resumes, Ctrl-C stops", file=sys.stderr,
                  flush=True)
            job.pause()

    previous = signal.signal(signal.SIGTSTP, toggle)
    return lambda: signal.signal(signal.SIGTSTP, previous)
