"""The run's one status line (training/run_status.py): elapsed never behind the clock while running and standing
while paused, the epoch never going backwards, no ETA before the rate is measured, the finished elapsed as the
FinishedEvent says; and the RunFeed carrying it with step/epoch/wall-clock curve columns."""

from __future__ import annotations

import pytest

from receipt_core.training.events import (EvalEvent, FinishedEvent, PhaseEvent, ProgressEvent, StatusEvent,
                                          StepEvent)
from receipt_core.training.run_feed import CURVE_COLUMNS, RunFeed
from receipt_core.training.run_status import RunClock, format_seconds, status_line

T0 = 1_000_000.0


def progress(step: int, elapsed: float, total: int = 40, epochs: int = 4, completed: int = 0) -> ProgressEvent:
    return ProgressEvent(step=step, total_steps=total, epoch=completed, epochs=epochs, elapsed_s=elapsed,
                         steps_per_s=1.0, items_per_s=2.0, eta_s=3.0)


def test_elapsed_keeps_moving_between_events_and_never_lags_the_loops_clock():
    clock = RunClock(started_at=T0)
    assert status_line(clock.timing(), T0 + 4).elapsed_s == 0  # loading the backbone: the loop's clock has not begun
    clock.add(PhaseEvent(step=0, epoch=0, phase=1, trainable_groups=(), trainable_parameters=1, total_parameters=2,
                         reason=""), T0 + 5)  # the loop's clock starts (T0 + 4.9) just before its first event
    clock.add(progress(1, 5.1), T0 + 10.01)
    shown = []
    for now in (T0 + 11, T0 + 20, T0 + 33):  # a long evaluation: no progress event for 23 s
        line = status_line(clock.timing(), now)
        assert line.elapsed_s >= now - (T0 + 4.9) - 0.05, (now - T0, line.elapsed_s)
        shown.append(line.elapsed_s)
    assert shown == sorted(shown) and shown[-1] > 28


def test_paused_time_stands_still_and_resuming_starts_the_clock_again():
    clock = RunClock(started_at=T0)
    clock.add(progress(3, 10.0), T0 + 10)
    clock.add(StatusEvent(step=3, status="paused"), T0 + 11)
    at_pause = status_line(clock.timing(), T0 + 12)
    later = status_line(clock.timing(), T0 + 100)
    assert at_pause.status == "paused" and later.elapsed_s == at_pause.elapsed_s == 11
    assert "paused" in later.text() and "ETA" not in later.text()
    clock.add(StatusEvent(step=3, status="running"), T0 + 200)
    assert status_line(clock.timing(), T0 + 205).elapsed_s == 16
    clock.add(progress(4, 15.5), T0 + 205.2)  # the loop's own clock (it excluded the pause too) takes over
    assert 15.5 <= status_line(clock.timing(), T0 + 206).elapsed_s <= 17.05


def test_the_epoch_never_goes_backwards_and_the_end_matches_the_finished_event():
    clock = RunClock(started_at=T0)
    epochs_shown = []
    for step in range(1, 11):
        clock.add(progress(step, float(step), total=40, epochs=4, completed=(step - 1) // 10), T0 + step)
        epochs_shown.append(status_line(clock.timing(), T0 + step).epoch)
    clock.add(FinishedEvent(step=10, epoch=1, reason="time budget", elapsed_s=13.7, metrics={}, checkpoint=None),
              T0 + 14)
    end = status_line(clock.timing(), T0 + 300, live=False)
    epochs_shown.append(end.epoch)
    assert epochs_shown == sorted(epochs_shown) and end.epoch == 1.0
    assert end.ended and end.eta_s is None and end.elapsed_s == 13.7
    assert "finished after 14s" in end.text() and "elapsed" not in end.text()
    # the rate is the latest window's: said while the run trains, not as if it were the whole run's (a walkthrough)
    assert "samples/s" not in end.text()
    running = RunClock(started_at=T0)
    running.add(progress(3, 3.0), T0 + 3)
    assert "2.0 samples/s" in status_line(running.timing(), T0 + 4).text()


def test_no_eta_until_the_rate_is_measured_then_it_counts_down():
    clock = RunClock(started_at=T0)
    clock.add(progress(1, 30.0, total=100), T0 + 30)  # the first step: the backbone took 29 s to load
    line = status_line(clock.timing(), T0 + 31)
    assert line.estimating and line.eta_s is None and "ETA estimating…" in line.text()
    for step in range(2, 11):
        clock.add(progress(step, 30.0 + (step - 1) * 2, total=100), T0 + 30 + (step - 1) * 2)
    line = status_line(clock.timing(), T0 + 48)
    assert not line.estimating and line.eta_s == 90 * 2  # 2 s a step since the first one, not counting loading
    assert status_line(clock.timing(), T0 + 58).eta_s == 170
    assert status_line(clock.timing(), T0 + 58, budget_s=65).eta_s == 7  # the budget ends it first
    # a short run measures its rate over fewer steps: a walkthrough's 6-step run read "estimating…" to its end
    short = RunClock(started_at=T0)
    short.add(progress(1, 3.0, total=6), T0 + 3)
    assert status_line(short.timing(), T0 + 3).estimating
    short.add(progress(2, 6.0, total=6), T0 + 6)  # a phased run's 2-step phase: measured over its 1 step
    assert status_line(short.timing(), T0 + 6).eta_s == 12.0  # 3 s a step, 4 steps left


def test_a_resumed_run_does_not_tick_through_the_downtime_or_stay_stopped():
    clock = RunClock(started_at=T0 + 10_000)  # this launch, hours after the earlier process's last event
    clock.add(progress(5, 50.0), T0 + 50)
    clock.add(FinishedEvent(step=5, epoch=0, reason="stopped", elapsed_s=51.0, metrics={}, checkpoint=None), T0 + 51)
    assert status_line(clock.timing(), T0 + 10_003).elapsed_s == 51  # loading again: stands at the old end
    clock.add(progress(6, 52.0), T0 + 10_020)  # the resumed loop's clock: 51 at its start, one step later
    line = status_line(clock.timing(), T0 + 10_021)
    assert not line.ended and line.status == "running" and line.elapsed_s == 53


def test_a_run_that_ended_without_a_finished_event_stands_at_its_last_event():
    clock = RunClock(started_at=T0)
    clock.add(progress(2, 2.0), T0 + 2)
    assert status_line(clock.timing(), T0 + 500, live=False).elapsed_s == 2


def test_format_seconds():
    assert [format_seconds(s) for s in (None, 4.4, 65, 7380)] == ["–", "4s", "1m 05s", "2h 03m"]


def test_run_feed_gives_curves_by_step_epoch_and_wall_clock_and_the_clock():
    class Source:
        def __init__(self, events):
            self.events = events

        def run_events(self, run_id, after_seq=0, kinds=None):
            from receipt_core.workspace.runs import RunEvent

            return [RunEvent(run_id, i + 1, e.kind, e.to_json(), at) for i, (e, at) in enumerate(self.events)
                    if i + 1 > after_seq]

    events = [(StepEvent(step=s, epoch=1, loss=1.0 / s, task_losses={}, lr=0.1, phase=1), T0 + s)
              for s in (1, 2)] + [(progress(2, 2.0, total=4, epochs=2), T0 + 2.01),
                                   (EvalEvent(step=2, epoch=1, val_loss=0.4, task_val_losses={},
                                              metrics={"fields": {"micro_f1": 0.5}}, phase=1), T0 + 5)]
    feed = RunFeed("r", started_at=T0)
    feed.poll(Source(events))
    curves = feed.curves()
    assert list(curves.train_loss.columns) == list(CURVE_COLUMNS)
    assert curves.train_loss["wall_s"].tolist() == [0.0, 1.0]
    assert curves.metrics.iloc[0][["step", "epoch", "wall_s", "value"]].tolist() == [2, 1.0, 4.0, 0.5]
    assert status_line(curves.timing, T0 + 9).elapsed_s == pytest.approx(9 - 0.01)  # the loop: 2.0 at T0 + 2.01


def test_a_run_resumed_in_the_same_session_reads_running_and_drops_the_old_end():
    """Stop, then Resume on the Runs page: the Train page's feed has folded the stop; the resumed loop's first
    phase event makes it "running" again, with no stale "Stopped after …" box."""
    feed = RunFeed("r1")
    phase = PhaseEvent(step=0, epoch=0, phase=1, trainable_groups=("head.fields",), trainable_parameters=10,
                       total_parameters=100, reason="start")
    feed.add(phase, created_at=100.0)
    feed.add(FinishedEvent(step=5, epoch=1, reason="stopped", elapsed_s=5.0, metrics={}, checkpoint="x"),
             created_at=105.0)
    assert feed.curves().status == "stopped" and feed.curves().finished is not None
    feed.add(PhaseEvent(step=5, epoch=1, phase=1, trainable_groups=("head.fields",), trainable_parameters=10,
                        total_parameters=100, reason="resumed"), created_at=200.0)
    assert feed.curves().status == "running" and feed.curves().finished is None


def test_a_resume_read_by_the_feed_of_the_earlier_launch_keeps_the_clock_moving():
    """Walkthrough: Runs → Resume of a run the Train page had watched until its stop; the session's clock did not
    know the new launch, so it stood at the old end ("running after 3m 01s" for 126 steps)."""
    clock = RunClock(started_at=T0)  # the first launch's start
    clock.add(progress(5, 50.0), T0 + 50)
    clock.add(FinishedEvent(step=5, epoch=0, reason="stopped", elapsed_s=51.0, metrics={}, checkpoint=None), T0 + 51)
    clock.add(PhaseEvent(step=5, epoch=0, phase=1, trainable_groups=("heads",), trainable_parameters=1,
                         total_parameters=2, reason="resumed"), T0 + 900)
    line = status_line(clock.timing(), T0 + 910)
    assert not line.ended and line.status == "running" and line.elapsed_s == 61  # 51 + 10 s of this launch
    clock.add(progress(6, 62.0), T0 + 911)
    assert status_line(clock.timing(), T0 + 915).elapsed_s == pytest.approx(66)


def test_a_new_phase_measures_the_rate_again():
    """Phase 1 of phased trains the heads over cached features, much faster than phase 2: an ETA from the whole
    run's mean rate said 'ETA 0s' at step 50 of 75."""
    clock = RunClock(started_at=T0)
    for step in range(1, 51):  # phase 1: 0.1 s a step
        clock.add(progress(step, 0.1 * step, total=75, epochs=3), T0 + 0.1 * step)
    clock.add(PhaseEvent(step=50, epoch=2, phase=2, trainable_groups=(), trainable_parameters=2, total_parameters=2,
                         reason="phase 2"), T0 + 5.0)
    assert status_line(clock.timing(), T0 + 5.0).estimating  # phase 2's rate is not known yet: no ETA, not 0s
    for step in range(51, 61):  # phase 2: 2 s a step
        clock.add(progress(step, 5.0 + 2 * (step - 50), total=75, epochs=3), T0 + 5.0 + 2 * (step - 50))
    line = status_line(clock.timing(), T0 + 25.0)
    assert line.eta_s == pytest.approx(15 * 2.0, rel=0.01)  # 15 steps left at phase 2's rate, not phase 1's


def test_while_a_slower_phase_is_ahead_the_eta_is_said_as_a_floor():
    """A walkthrough of a phased run read "ETA 1m53s" in phase 1 (heads over cached features, 8 steps/s) and
    waited 10 minutes: phases 2 and 3 step several times slower. Until the last phase the ETA is said as "at
    least"; in the last phase, or when the time budget ends the run first, it is the ETA."""
    def phase(step, number, phases=3):
        return PhaseEvent(step=step, epoch=0, phase=number, trainable_groups=(), trainable_parameters=1,
                          total_parameters=2, reason=f"phase {number}", phases=phases)

    clock = RunClock(started_at=T0)
    clock.add(phase(0, 1), T0)
    for step in range(1, 21):
        clock.add(progress(step, 0.1 * step, total=100, epochs=3), T0 + 0.1 * step)
    line = status_line(clock.timing(), T0 + 2.0)
    assert line.eta_at_least and line.eta_s == pytest.approx(8.0, rel=0.01)
    assert "ETA at least 8s (later phases train more layers)" in line.text()
    assert not status_line(clock.timing(), T0 + 2.0, budget_s=5.0).eta_at_least  # the budget's 3 s left end it
    clock.add(phase(20, 3), T0 + 2.0)
    for step in range(21, 41):
        clock.add(progress(step, 2.0 + (step - 20), total=100, epochs=3), T0 + 2.0 + (step - 20))
    line = status_line(clock.timing(), T0 + 22.0)
    assert not line.eta_at_least and "ETA 1m" in line.text() and "at least" not in line.text()
    one_phase = RunClock(started_at=T0)  # full fine-tuning: one phase, nothing slower ahead
    one_phase.add(phase(0, 1, phases=1), T0)
    for step in range(1, 21):
        one_phase.add(progress(step, 0.1 * step, total=100, epochs=3), T0 + 0.1 * step)
    assert not status_line(one_phase.timing(), T0 + 2.0).eta_at_least


def test_a_pause_or_stop_not_reached_yet_is_said_on_every_page_alike():
    """A walkthrough pressed Pause while the backbone loaded: the button said Resume, the Train header "running".
    The sidebar and Train now name the state from one place."""
    from types import SimpleNamespace

    from ui.run_badge import PAUSING, STATUS_ICONS, STOPPING, shown_status

    asked = SimpleNamespace(should_pause=True, should_stop=False)
    assert shown_status("running", True, asked) == PAUSING
    assert shown_status("paused", True, asked) == "paused"  # reached
    assert shown_status("running", False, asked) == "running"  # an ended job has nothing pending
    assert shown_status("running", True, SimpleNamespace(should_pause=True, should_stop=True)) == STOPPING
    assert shown_status("running", True, SimpleNamespace(should_pause=False, should_stop=False)) == "running"
    assert {PAUSING, STOPPING, "running", "paused", "finished", "stopped", "failed"} <= set(STATUS_ICONS)


def test_a_budgeted_run_says_its_budget_bounds_the_eta_and_its_bar_follows_the_budget():
    """A walkthrough's phased run with a 1-minute budget read "ETA estimating…" at 42 s (each new phase measures
    its rate again), its bar at a sixth, until the budget ended it at 60 s."""
    clock = RunClock(started_at=T0)
    clock.add(progress(1, 2.0, total=300), T0 + 2)
    line = status_line(clock.timing(), T0 + 42, budget_s=60)
    assert line.eta_at_most and line.eta_s == pytest.approx(18.0, abs=0.5)
    assert "ETA at most 18s (time budget)" in line.text() and "estimating" not in line.text()
    assert line.fraction == pytest.approx(0.7, abs=0.01)  # 42 s of 60, not 1 step of 300
    # and the line says what the bar shows (walkthrough 37 read "step 17/300" over a third of a bar as a clash)
    assert line.bar_follows_budget and line.text().endswith(" · the bar: time used of its 1m 00s budget")
    # not under a race's bar, which is of the whole race (walkthrough 46)
    assert "the bar" not in line.text(bar_note=False) and line.text(bar_note=False).endswith("(time budget)")
    unbudgeted = status_line(clock.timing(), T0 + 42)
    assert unbudgeted.estimating and "ETA estimating…" in unbudgeted.text()
    assert unbudgeted.fraction == pytest.approx(1 / 300)
    assert not unbudgeted.bar_follows_budget and "the bar" not in unbudgeted.text()
    clock.add(FinishedEvent(step=40, epoch=0, reason="time budget", elapsed_s=60.0, metrics={}, checkpoint=None),
              T0 + 60)
    # ended by its budget: done as planned, a full bar and a line that says why its steps stopped short (a
    # walkthrough read "step 77/300 · epoch 3.0/12 · finished after 1m 30s" over a quarter bar as unfinished)
    ended = status_line(clock.timing(), T0 + 61, budget_s=60)
    assert ended.fraction == 1.0 and not ended.bar_follows_budget
    assert ended.text() == ("step 40/300 · epoch 0.5/4 · finished after 1m 00s: its 1m 00s time budget ended it "
                            "before the steps planned")
    stopped = RunClock(started_at=T0)
    stopped.add(progress(1, 2.0, total=300), T0 + 2)
    stopped.add(FinishedEvent(step=40, epoch=0, reason="stopped", elapsed_s=30.0, metrics={}, checkpoint=None), T0 + 30)
    assert status_line(stopped.timing(), T0 + 31, budget_s=60).fraction == pytest.approx(40 / 300)  # its steps


def test_stopping_keeps_the_clock_running_without_an_eta_and_a_rate_is_said_only_while_it_is_current():
    """Found by a walkthrough: after Stop the line read "running after 1m 59s" with its clock frozen for the 18 s
    of the closing evaluation; a paused run kept its last samples/s; a resumed one showed the earlier process's
    rate before its first step."""
    clock = RunClock(started_at=T0)
    for step in range(1, 12):
        clock.add(progress(step, float(step)), T0 + step)
    running = status_line(clock.timing(), T0 + 11.5)
    assert "2.0 samples/s" in running.text() and running.eta_s is not None
    stopping = [status_line(clock.timing(), T0 + now, stopping=True) for now in (12, 20, 29)]
    assert [line.elapsed_s for line in stopping] == [12, 20, 29] and not any(line.ended for line in stopping)
    assert stopping[-1].text() == "step 11/40 · epoch 1.1/4 · elapsed 29s · stopping: evaluating and saving"
    clock.add(FinishedEvent(step=11, epoch=1, reason="stopped", elapsed_s=30.0, metrics={}, checkpoint=None), T0 + 30)
    ended = status_line(clock.timing(), T0 + 40, stopping=True)
    assert ended.text() == "step 11/40 · epoch 1.1/4 · stopped after 30s"

    paused = RunClock(started_at=T0)
    for step in range(1, 4):
        paused.add(progress(step, float(step)), T0 + step)
    paused.add(StatusEvent(step=3, status="paused"), T0 + 4)
    assert "samples/s" not in status_line(paused.timing(), T0 + 50).text()

    resumed = RunClock(started_at=T0 + 1_000)  # this launch; the events before it are the earlier process's
    for step in range(1, 4):
        resumed.add(progress(step, float(step)), T0 + step)
    resumed.add(FinishedEvent(step=3, epoch=0, reason="stopped", elapsed_s=4.0, metrics={}, checkpoint=None), T0 + 4)
    resumed.add(PhaseEvent(step=3, epoch=0, phase=1, trainable_groups=(), trainable_parameters=1,
                           total_parameters=2, reason="resumed"), T0 + 1_008)
    line = status_line(resumed.timing(), T0 + 1_009)
    assert line.status == "running" and "samples/s" not in line.text()
    resumed.add(progress(4, 6.0), T0 + 1_010)
    assert "2.0 samples/s" in status_line(resumed.timing(), T0 + 1_011).text()


def test_a_run_that_ended_in_a_dip_says_an_earlier_evaluation_scored_higher():
    """Found by a walkthrough: Stop just after phase 2 began saved field micro-F1 0.692, and Train said only that,
    under a chart that had shown 0.783 at step 50."""
    def evaluation(step: int, f1: float) -> EvalEvent:
        return EvalEvent(step=step, epoch=1, val_loss=0.4, task_val_losses={}, metrics={"fields": {"micro_f1": f1}},
                         phase=1)

    def ended(f1: float) -> FinishedEvent:
        return FinishedEvent(step=63, epoch=2, reason="stopped", elapsed_s=137.0,
                             metrics={"fields": {"micro_f1": f1}}, checkpoint="x")

    feed = RunFeed("r", started_at=T0)
    for i, event in enumerate([evaluation(25, 0.61), evaluation(50, 0.783), evaluation(63, 0.692)]):
        feed.add(event, created_at=T0 + i)
    assert feed.curves().better_earlier() is None  # still training: nothing saved to compare with
    feed.add(ended(0.692), created_at=T0 + 5)
    assert feed.curves().better_earlier() == (pytest.approx(0.783), 50)
    level = RunFeed("s", started_at=T0)
    for i, event in enumerate([evaluation(25, 0.61), evaluation(50, 0.695), ended(0.692)]):
        level.add(event, created_at=T0 + i)
    assert level.curves().better_earlier() is None  # within the margin: not worth a note


def test_the_epoch_is_said_in_tenths_done_rounded_down():
    """A walkthrough read "epoch 3.0/12" at step 74 of 25-step epochs, while Predict said "after 2 complete
    epochs"."""
    clock = RunClock(started_at=T0)
    clock.add(progress(74, 74.0, total=300, epochs=12), T0 + 74)
    assert "epoch 2.9/12" in status_line(clock.timing(), T0 + 75).text()
    clock.add(progress(75, 75.0, total=300, epochs=12), T0 + 75)
    assert "epoch 3.0/12" in status_line(clock.timing(), T0 + 76).text()


def test_before_the_first_loss_point_the_status_says_what_runs_and_for_how_long():
    """The race's progress bar read "loading the backbone…" for a minute while a frozen backbone computed its
    features; it now says what the Train page says, with the time so far."""
    from types import SimpleNamespace

    from ui.live_run import before_first_step

    assert before_first_step(None, 4.2) == ("Loading the backbone and encoding receipts (4s so far)… the first "
                                            "loss point follows.")
    frozen = SimpleNamespace(trainable_groups=("head.fields", "head.quantity"))
    assert before_first_step(SimpleNamespace(phases=((0, 1),), phase_events=(frozen,)), 61).startswith(
        "Preparing the first steps (1m 01s since Start; a frozen backbone first computes its features")
    # full fine-tuning computes no frozen features: not said of it (walkthrough 32)
    full = SimpleNamespace(trainable_groups=("embeddings.text", "encoder.0", "head.fields"))
    assert before_first_step(SimpleNamespace(phases=((0, 1),), phase_events=(full,)), 61) == (
        "Preparing the first steps (1m 01s since Start)… the first loss point follows.")


def test_a_trainable_count_rounding_would_hide_is_shown_exactly():
    """A walkthrough read "trainable 24.1M of 24.1M parameters" for a run with its quantity head frozen."""
    from ui.shared import fmt_params_of

    assert fmt_params_of(24_142_475, 24_143_245) == "24,142,475 of 24,143,245"
    assert fmt_params_of(666_000, 24_800_000) == "666.0k of 24.8M"
    assert fmt_params_of(24_143_245, 24_143_245) == "24.1M of 24.1M"


def test_the_races_reading_counts_epochs_done_as_trains_status_line_does():
    """0.96 of an epoch is no whole one: walkthrough 19 read "epoch 0.9/12" on Train and "after 1.0 epochs" in the
    race's report, for one run."""
    from receipt_core.wording import epochs_done

    assert [epochs_done(e) for e in (0.96, 1.0, 0.1 + 0.2, 2.9999999999999, 7.95)] == ["0.9", "1.0", "0.3", "3.0",
                                                                                        "7.9"]


def test_a_budget_in_minutes_is_said_as_a_person_says_it():
    """Walkthrough 33: a race of 40 seconds a run read "in 0.666667 min of training each"."""
    from receipt_core.wording import minutes_said

    assert [minutes_said(m) for m in (40 / 60, 1.0, 1.5, 10.0, 125.0, 0.004)] == [
        "40 s", "1 min", "1 min 30 s", "10 min", "2 h 5 min", "0 s"]
