"""One status line for a run: step, epoch, elapsed time, ETA and throughput that agree and move together.

The loop measures its own elapsed time (paused time excluded) and reports it in each ``ProgressEvent``; between
those events (a long evaluation, building the feature cache) nothing arrives. The clock here
is therefore anchored on the stored events' wall times (``RunEvent.created_at``): the clock starts at the run's first
event (the loop starts its own clock just before it; loading the backbone before that is not training time) and,
while the run is running, the elapsed time is the last anchor plus the wall time since, so it keeps moving; each
progress event brings it up to the loop's own reading (never back, unless the two differ by more than storage
latency: another process's clock, after a resume); a ``paused`` status freezes it and ``running`` starts it
again; the ``FinishedEvent``'s elapsed time is the final word.

:class:`RunClock` folds events (with their wall times) as they are read; :meth:`RunClock.timing` gives a frozen
:class:`RunTiming`; :func:`status_line` turns it and ``now`` into a :class:`RunStatusLine`. The epoch shown is the
fraction of epochs the steps done make (``step × epochs / total steps``), never lower than any shown before; the
ETA is shown only once the throughput has been measured over enough of the run (:data:`ETA_MIN_STEPS` steps and
:data:`ETA_MIN_FRACTION` of all steps), from the wall-clock rate since the first step, so evaluations count in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..wording import epochs_done
from .events import (TIME_BUDGET, Event, FailedEvent, FinishedEvent, PhaseEvent, ProgressEvent, StatusEvent,
                     run_status)

ETA_MIN_STEPS = 5  # steps after the first one before the rate counts as measured ...
ETA_MIN_STEPS_SHORT = 1  # ... or fewer in a short run, one eighth of its steps but at least this (a walkthrough's
# 6-step run read "ETA estimating…" to its end, and a 24-step phased run until step 16; a phase of 2 steps measures
# its rate over 1, each new phase measuring it again)
ETA_MIN_FRACTION = 0.05  # ... and at least this share of all steps done
LATENCY_S = 2.0  # a progress event this much behind the running clock is the same clock (storage latency)
STOPPING = "stopping"  # a status line's status from a Stop press until the run has evaluated and saved


@dataclass(frozen=True)
class RunTiming:
    """What the events said about a run's clock and position, frozen at the last event folded in."""

    status: str  # run_status of the events: "", "running", "paused", "finished", "stopped", "failed"
    step: int
    total_steps: int
    epochs: int
    epoch_done: float  # the most epochs ever shown (fraction of steps), so it never goes backwards
    anchor_elapsed_s: float  # training seconds at ``anchor_at``
    anchor_at: float | None  # wall time (time.time()) of the anchor; None before any event
    ticking: bool  # the clock runs on from the anchor (running), or stands (paused, ended)
    first_progress: tuple[int, float] | None  # (step, elapsed) of the first progress: the rate's origin
    last_progress: tuple[int, float] | None  # (step, elapsed) of the latest progress
    last_progress_at: float | None  # its wall time
    windows_per_s: float | None
    finished_elapsed_s: float | None  # the FinishedEvent's elapsed time
    started_at: float | None  # wall time this server launched the run (a resume: later than the old events)
    last_event_at: float | None
    phases_ahead: int = 0  # phases of the plan still to come: the rate measured in this one is too fast for them
    finish_reason: str = ""  # the FinishedEvent's reason ("completed", "time budget", …); "" before it


@dataclass(frozen=True)
class RunStatusLine:
    """The numbers a status line shows, all from one clock."""

    status: str
    step: int
    total_steps: int
    epoch: float  # epochs done, as a fraction (2.4 = four tenths into the third epoch)
    epochs: int
    elapsed_s: float
    eta_s: float | None  # None while estimating, and once the run has ended
    estimating: bool  # running, but the rate is not measured yet
    windows_per_s: float | None
    ended: bool
    eta_at_least: bool = False  # the ETA is this phase's rate over every step left, and a slower phase follows
    eta_at_most: bool = False  # the rate is not measured yet: the ETA is what is left of the time budget
    budget_s: float | None = None  # the run's time budget, which ends it when it comes before its steps
    finish_reason: str = ""  # why it finished (FinishedEvent.reason), once it has

    @property
    def fraction(self) -> float:
        """The share of the run done, 0…1 (for a progress bar): of its steps, or of its time budget when that is
        further on (a walkthrough's budgeted run sat at a sixth of the bar until the budget ended it)."""
        steps = min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0
        if self.ended_by_budget:  # done as planned: a full bar (a walkthrough's sat at a quarter, "unfinished")
            return 1.0
        if self.budget_s and not self.ended:
            return max(steps, min(self.elapsed_s / self.budget_s, 1.0))
        return steps

    @property
    def bar_follows_budget(self) -> bool:
        """Whether :attr:`fraction` is the share of the time budget used, not of the steps (a walkthrough read
        "step 17/300" over a bar a third full as two figures that disagree)."""
        return bool(self.budget_s and not self.ended and self.total_steps
                    and min(self.elapsed_s / self.budget_s, 1.0) > self.step / self.total_steps)

    @property
    def ended_by_budget(self) -> bool:
        """Whether the run finished because its time budget ran out, before its planned steps."""
        return self.ended and self.finish_reason == TIME_BUDGET

    def text(self, bar_note: bool = True) -> str:
        """The line; ``bar_note=False`` leaves out what its bar shows (a race's bar is of the whole race)."""
        parts = []
        if self.total_steps:
            parts.append(f"step {self.step}/{self.total_steps}")
            # tenths done, rounded down: 2.96 read "epoch 3.0/12" on Train while Predict said "after 2 complete
            # epochs" (a walkthrough)
            parts.append(f"epoch {epochs_done(self.epoch)}/{self.epochs}")
        # the rate of the latest steps: said only while they are current (a paused run kept its last rate, and a
        # resumed one showed the earlier process's before its first step, a walkthrough)
        if self.windows_per_s and not self.ended and self.status not in ("paused", STOPPING):
            # a sample: one encoded window (a receipt past 512 tokens gives several)
            parts.append(f"{self.windows_per_s:.1f} samples/s")
        if self.ended_by_budget:
            budget = f" {format_seconds(self.budget_s)}" if self.budget_s else ""
            parts.append(f"finished after {format_seconds(self.elapsed_s)}: its{budget} time budget ended it before "
                         "the steps planned")
        elif self.ended:
            parts.append(f"{self.status or 'ended'} after {format_seconds(self.elapsed_s)}")
        else:
            parts.append(f"elapsed {format_seconds(self.elapsed_s)}")
            if self.status == "paused":
                parts.append("paused")
            elif self.status == STOPPING:  # it read "running after 1m 59s" with the clock stopped (a walkthrough)
                parts.append("stopping: evaluating and saving")
            elif self.eta_at_most and self.eta_s is not None:  # a budgeted run read "estimating…" to its end
                parts.append(f"ETA at most {format_seconds(self.eta_s)} (time budget)")
            elif self.estimating:
                parts.append("ETA estimating…")
            elif self.eta_s is not None:
                parts.append(f"ETA {'at least ' if self.eta_at_least else ''}{format_seconds(self.eta_s)}"
                             + (" (later phases train more layers)" if self.eta_at_least else ""))
            if bar_note and self.bar_follows_budget and self.status not in ("paused", STOPPING):
                parts.append(f"the bar: time used of its {format_seconds(self.budget_s)} budget")
        return " · ".join(parts)


class RunClock:
    """Folds a run's events and their wall times into a :class:`RunTiming`.

    ``started_at`` is when this server launched the run (``time.time()``): events older than it are an earlier
    process's (a resumed run), whose clock stopped at its last event; it runs again from this launch's first event.
    """

    def __init__(self, started_at: float | None = None) -> None:
        self.started_at = started_at
        self._status = ""
        self._step = 0
        self._total = 0
        self._epochs = 0
        self._epoch_done = 0.0
        self._anchor: tuple[float, float | None] = (0.0, None)
        self._ticking = False
        self._first: tuple[int, float] | None = None
        self._last: tuple[int, float] | None = None
        self._last_at: float | None = None
        self._windows: float | None = None
        self._finished: float | None = None
        self._finish_reason = ""
        self._last_event_at: float | None = None
        self._phases_ahead = 0

    def _elapsed_at(self, at: float) -> float:
        elapsed, anchor_at = self._anchor
        if not self._ticking or anchor_at is None:
            return elapsed
        return elapsed + max(at - anchor_at, 0.0)

    def add(self, event: Event, at: float) -> None:
        """Fold in ``event``, stored at wall time ``at``."""
        self._status = run_status(event, self._status)
        if self._anchor[1] is None:
            self._anchor, self._ticking = (0.0, at), True  # the loop's clock started just before its first event
        elif self.started_at is not None and self._anchor[1] < self.started_at <= at:
            # this launch's first event after an earlier process's: that clock stopped at its last event, and
            # how that process ended (stopped, failed) is over
            self._anchor, self._ticking = (self._elapsed_at(self._last_event_at or at), at), True
            self._finished, self._finish_reason, self._status = None, "", run_status(event, "running")
            self._windows = None  # the earlier process's rate: measured again from this launch's steps
        elif self._finished is not None and isinstance(event, (PhaseEvent, ProgressEvent)):
            # the loop is running again after its end (a resume, read by a clock that does not know this launch's
            # start): the end is over, and the clock runs from the old end
            self._anchor, self._ticking, self._finished = (self._finished, at), True, None
            self._finish_reason = ""
            self._windows = None
        self._last_event_at = at if self._last_event_at is None else max(self._last_event_at, at)
        if isinstance(event, ProgressEvent):
            running = self._elapsed_at(at)
            same_clock = self._ticking and 0.0 <= running - event.elapsed_s < LATENCY_S
            self._anchor = (running if same_clock else event.elapsed_s, at)
            self._ticking = True
            self._step, self._total, self._epochs = event.step, event.total_steps, event.epochs
            if self._first is None or event.step < self._first[0]:
                self._first = (event.step, event.elapsed_s)
            self._last, self._last_at = (event.step, event.elapsed_s), at
            self._windows = event.items_per_s
            self._note_epoch()
        elif isinstance(event, PhaseEvent):
            # a new phase changes what a step costs (phased: the heads over cached features, then the top layers,
            # then everything): the rate is measured again from this phase's first progress. The whole run's mean
            # showed "ETA 0s" at step 50 of 75 on the fast phase-1 steps (found by a walkthrough)
            self._first = None
            self._phases_ahead = event.phases_ahead
        elif isinstance(event, StatusEvent) and event.status in ("running", "paused"):
            self._anchor = (self._elapsed_at(at), at)
            self._ticking = event.status == "running"
        elif isinstance(event, FinishedEvent):
            self._finished, self._finish_reason = event.elapsed_s, event.reason
            self._anchor, self._ticking = (event.elapsed_s, at), False
            self._step = event.step
            self._note_epoch()
        elif isinstance(event, FailedEvent):
            self._anchor, self._ticking = (self._elapsed_at(at), at), False

    def _note_epoch(self) -> None:
        if self._total:
            self._epoch_done = max(self._epoch_done, self._step * self._epochs / self._total)

    def timing(self) -> RunTiming:
        return RunTiming(status=self._status, step=self._step, total_steps=self._total, epochs=self._epochs,
                         epoch_done=self._epoch_done, anchor_elapsed_s=self._anchor[0], anchor_at=self._anchor[1],
                         ticking=self._ticking, first_progress=self._first, last_progress=self._last,
                         last_progress_at=self._last_at, windows_per_s=self._windows,
                         finished_elapsed_s=self._finished, finish_reason=self._finish_reason,
                         started_at=self.started_at,
                         last_event_at=self._last_event_at, phases_ahead=self._phases_ahead)


def status_line(timing: RunTiming, now: float, live: bool = True, budget_s: float | None = None,
                stopping: bool = False) -> RunStatusLine:
    """The status line at wall time ``now``. ``live`` says whether a job still drives the run (a run whose job
    ended without a FinishedEvent — failed, interrupted — stands at its last event); ``budget_s`` is the run's
    time budget, which caps the ETA; ``stopping``: Stop was pressed and the live run evaluates and saves (its
    clock runs on, with no ETA)."""
    ended = timing.finished_elapsed_s is not None or timing.status in ("finished", "stopped", "failed") or not live
    if timing.finished_elapsed_s is not None:
        elapsed = timing.finished_elapsed_s
    elif timing.anchor_at is None:
        elapsed = 0.0
    else:
        until = now
        if ended or (timing.started_at is not None and timing.anchor_at < timing.started_at):
            until = timing.last_event_at or now  # stands at the last event (of the earlier process, if resumed)
        elapsed = timing.anchor_elapsed_s + (max(until - timing.anchor_at, 0.0) if timing.ticking else 0.0)
    eta, estimating, at_least, at_most = None, False, False, False
    if not ended and not stopping:
        eta, at_least = _eta(timing, now, elapsed, budget_s)
        estimating = eta is None
        if estimating and budget_s is not None:  # not measured yet, but the budget bounds it
            eta, at_most = max(budget_s - elapsed, 0.0), True
    status = STOPPING if stopping and not ended else timing.status or ("running" if live else "")
    return RunStatusLine(status=status, step=timing.step, total_steps=timing.total_steps,
                         epoch=timing.epoch_done, epochs=timing.epochs, elapsed_s=elapsed, eta_s=eta,
                         estimating=estimating, windows_per_s=timing.windows_per_s, ended=ended,
                         eta_at_least=at_least, eta_at_most=at_most, budget_s=budget_s,
                         finish_reason=timing.finish_reason if ended else "")


def _eta(timing: RunTiming, now: float, elapsed: float, budget_s: float | None) -> tuple[float | None, bool]:
    """The ETA (None: not measured yet) and whether it is only a floor: every step left at this phase's rate,
    with a slower phase still to come (phased: phase 1's steps over cached features run several times faster
    than phase 3's, so a run said "ETA 1m53s" and took 10 minutes). A time budget that ends the run sooner is
    the ETA itself."""
    first, last = timing.first_progress, timing.last_progress
    if first is None or last is None or not timing.total_steps:
        return None, False
    steps, seconds = last[0] - first[0], last[1] - first[1]
    needed = max(ETA_MIN_STEPS_SHORT, min(ETA_MIN_STEPS, timing.total_steps // 8))
    if steps < needed or last[0] < ETA_MIN_FRACTION * timing.total_steps or seconds <= 0:
        return None, False
    remaining = max(timing.total_steps - last[0], 0) * seconds / steps
    if timing.ticking and timing.last_progress_at is not None:
        remaining -= max(now - timing.last_progress_at, 0.0)
    eta = max(remaining, 0.0)
    at_least = timing.phases_ahead > 0
    if budget_s is not None and max(budget_s - elapsed, 0.0) <= eta:
        eta, at_least = max(budget_s - elapsed, 0.0), False
    return eta, at_least


def format_seconds(seconds: float | None) -> str:
    """``42s``, ``1m 05s``, ``2h 03m``; ``–`` for None."""
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {(seconds % 3600) // 60:02d}m"
