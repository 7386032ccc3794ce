"""The time estimate before Start (training/estimate.py): the arithmetic on events recorded in a workspace, which
runs count, the time budget, and the rough guess labelled as one when no run was measured."""

from __future__ import annotations

import dataclasses
import math

import pytest

from receipt_core.training.estimate import (MAX_RUNS_USED, MeasuredCost, PlannedRun, about_time, estimate,
                                            estimate_run_time, measured_cost, rough_epoch_seconds,
                                            rough_seconds_per_receipt_epoch)
from receipt_core.training.events import FinishedEvent, ProgressEvent, StatusEvent
from receipt_core.training.runs import RUN_KIND
from receipt_core.workspace.store import Workspace

RECEIPTS, BATCH, EPOCHS = 40, 8, 2
STEPS_PER_EPOCH = math.ceil(RECEIPTS / BATCH)


def _progress(step: int, elapsed: float, epochs: int = EPOCHS) -> ProgressEvent:
    return ProgressEvent(step=step, total_steps=STEPS_PER_EPOCH * epochs, epoch=(step - 1) // STEPS_PER_EPOCH,
                         epochs=epochs, elapsed_s=elapsed, steps_per_s=1.0, items_per_s=float(BATCH), eta_s=None)


def _record(ws: Workspace, config: dict, events, status: str = "finished") -> str:
    run_id = ws.create_run("r", {RUN_KIND: "receipt", "backbone": "tiny", "scenario": "full",
                                 "train_documents": RECEIPTS, **config})
    for event in events:
        ws.append_run_event(run_id, event.kind, event.to_json())
    ws.set_run_status(run_id, status)
    return run_id


def _plan(**changes) -> PlannedRun:
    values = dict(kind="receipt", backbone="tiny", scenario="full", train_receipts=100, epochs=3, batch_size=8)
    return PlannedRun(**{**values, **changes})


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


def test_a_runs_cost_is_its_elapsed_time_over_the_receipt_epochs_its_steps_made():
    steps = [_progress(step, 1.5 * step) for step in range(1, 2 * STEPS_PER_EPOCH + 1)]
    finished = FinishedEvent(step=steps[-1].step, epoch=EPOCHS, reason="completed", elapsed_s=steps[-1].elapsed_s + 4,
                             metrics={}, checkpoint=None)  # the last evaluation and save count too

    cost = measured_cost("a", [*steps, finished], RECEIPTS)

    assert cost.seconds == finished.elapsed_s
    assert cost.receipt_epochs == pytest.approx(EPOCHS * RECEIPTS)
    past = measured_cost("b", steps[:STEPS_PER_EPOCH + 1], RECEIPTS)  # stopped one step into its second epoch
    assert past.receipt_epochs == pytest.approx((STEPS_PER_EPOCH + 1) / STEPS_PER_EPOCH * RECEIPTS)
    # stopped inside or at the end of its first epoch: its time is mostly set-up (walkthroughs' races of one-step
    # and one-epoch runs put a 20-epoch run at 178 min, not 2, and at 10 min, not 1)
    assert measured_cost("h", steps[:STEPS_PER_EPOCH - 1], RECEIPTS) is None
    assert measured_cost("e", steps[:STEPS_PER_EPOCH], RECEIPTS) is None


def test_runs_too_short_to_measure_are_said_beside_the_rough_guess(ws):
    """A walkthrough read "no earlier run like it" just after racing that very scenario: its runs had ended within
    their first epoch, so none measured one."""
    _record(ws, {}, [_progress(1, 20.0)])
    _record(ws, {}, [_progress(STEPS_PER_EPOCH, 40.0)])
    result = estimate_run_time(ws, _plan())
    assert result.measured_runs == 0 and result.unmeasured_runs == 2
    assert ("(rough guess: 2 earlier runs like it ended within the first epoch or trained on far fewer or more "
            "receipts, so none measures this run; ") in result.text()
    assert estimate_run_time(ws, _plan(backbone="text-minilm")).text().count("no earlier run like it") == 1
    assert measured_cost("c", [StatusEvent(step=0, status="running")], RECEIPTS) is None  # failed before a step


def test_runs_like_the_plan_are_pooled_and_others_ignored(ws):
    completed = [_progress(s, 2.0 * s) for s in range(1, STEPS_PER_EPOCH * EPOCHS + 1)]
    stopped = [_progress(s, 3.0 * s) for s in range(1, STEPS_PER_EPOCH + 4)]  # 3 steps into its second epoch
    _record(ws, {}, completed)
    _record(ws, {}, stopped)
    _record(ws, {}, [_progress(1, 50.0)])  # ended inside its first epoch: mostly set-up, not counted
    _record(ws, {"scenario": "freeze-backbone"}, [_progress(1, 100.0)])  # another scenario
    _record(ws, {RUN_KIND: "reference"}, [_progress(s, 20.0 * s) for s in range(1, STEPS_PER_EPOCH + 2)])  # a kind
    _record(ws, {"backbone": "text-minilm"}, [_progress(1, 100.0)])  # another backbone
    _record(ws, {}, [])  # never made a step

    result = estimate_run_time(ws, _plan())

    # the first epoch apart from the later ones: both runs' first parts pooled (2 s and 3 s a step), the completed
    # run's second epoch (2 s a step) apart
    first_seconds = 2.0 * STEPS_PER_EPOCH + 3.0 * STEPS_PER_EPOCH
    first_receipt_epochs = 2 * RECEIPTS
    # the later parts: the completed run's second epoch, and the stopped run's 3 steps (3 s each)
    later_seconds = 2.0 * STEPS_PER_EPOCH + 3.0 * 3
    later_receipt_epochs = RECEIPTS + 3 / STEPS_PER_EPOCH * RECEIPTS
    assert result.measured_runs == 2
    assert result.seconds_per_receipt_epoch == pytest.approx(first_seconds / first_receipt_epochs)
    assert result.later_epochs_rate == pytest.approx(later_seconds / later_receipt_epochs)
    assert result.seconds == pytest.approx(100 * (first_seconds / first_receipt_epochs
                                                  + 2 * later_seconds / later_receipt_epochs))
    assert result.steps_per_epoch == math.ceil(100 / 8)
    # (these events carry more loop time than passed since their runs were made: no start-up figure)
    assert result.text().startswith(f"about {about_time(result.seconds)} for 3 epochs of 13 steps, after loading "
                                    "the backbone and encoding the receipts (measured: ")
    assert "in the first epoch, " in result.text() and "in 2 earlier runs like it" in result.text()
    reference = estimate_run_time(ws, _plan(kind="reference", scenario=None))
    assert reference.measured_runs == 1
    assert reference.seconds_per_receipt_epoch == pytest.approx(20.0 * STEPS_PER_EPOCH / RECEIPTS)


def test_the_time_before_the_first_step_is_measured_apart_from_the_loop():
    """A walkthrough waited 50 s longer than the estimate: the loop's clock starts after the backbone has loaded
    and the receipts are encoded. The gap from Start to a run's first event is said beside the estimate."""
    from types import SimpleNamespace

    from receipt_core.training.estimate import startup_seconds

    phase = SimpleNamespace(created_at=1050.0, payload={"phase": 1})
    progress = SimpleNamespace(created_at=1052.0, payload={"elapsed_s": 1.5})
    assert startup_seconds(1000.0, [phase, progress]) == 50.0
    assert startup_seconds(1000.0, [progress]) == 50.5  # no phase event: the first progress less its loop time
    assert startup_seconds(1000.0, []) is None and startup_seconds(2000.0, [phase]) is None  # no start-up: not said
    costs = [MeasuredCost(str(i), 10.0, 100.0, startup) for i, startup in enumerate((40.0, None, 12.0, 90.0))]
    result = estimate(_plan(), costs)
    assert result.startup_s == 40.0  # the median of the runs that measured one
    assert ", after about 40 s to load the backbone and encode the receipts (measured: " in result.text()
    # with its heads trained first on cached features, the first step also waits for that pass (a walkthrough read
    # "about 1 s" before a freeze-backbone run whose first step came 27 s after Start)
    waits = "the first step also waits for the frozen layers' features of every receipt"
    for scenario in ("freeze-backbone", "phased"):
        assert waits in estimate(_plan(scenario=scenario), costs).text()
    assert waits not in estimate(_plan(scenario="freeze-backbone", unfreeze=("encoder.5",)), costs).text()


def test_only_the_most_recent_runs_count(ws):
    for rate in range(1, MAX_RUNS_USED + 2):  # oldest first: the first one recorded is left out
        _record(ws, {}, [_progress(STEPS_PER_EPOCH + 1, rate * 10.0)])
    result = estimate_run_time(ws, _plan())
    rates = range(2, MAX_RUNS_USED + 2)
    assert result.measured_runs == MAX_RUNS_USED
    assert result.seconds_per_receipt_epoch == pytest.approx(
        sum(r * 10.0 for r in rates) / (MAX_RUNS_USED * RECEIPTS * (STEPS_PER_EPOCH + 1) / STEPS_PER_EPOCH))


def test_the_time_budget_caps_the_estimate():
    plan = _plan(max_minutes=1.0, train_receipts=10_000)
    result = estimate(plan, [])
    assert result.budget_bound and result.seconds == 60.0
    # how far it gets is said (a walkthrough's read "before 20 epochs" and reached 1.8)
    reached = 3 * 60.0 / (rough_seconds_per_receipt_epoch(plan) * 10_000 * 3 + 3 * rough_epoch_seconds(plan))
    assert result.epochs_in_budget == pytest.approx(reached)
    assert result.text().startswith("about 60 s: the time budget ends it in the first of 3 epochs of 1250 steps, after "
                                    "loading the backbone and encoding the receipts (rough guess")
    longer = estimate(_plan(max_minutes=1.0, train_receipts=100, epochs=200), [])
    assert longer.text().startswith(f"about 60 s: the time budget ends it after about {round(longer.epochs_in_budget)} "
                                    "of 200 epochs of 13 steps")
    assert result.text().endswith("). Under the budget, it stops early enough for its closing evaluation and save to "
                                  "fit, at the time the last ones took, so a slower closing evaluation (or a budget "
                                  "of seconds, ended before any) runs a little past it")
    assert not estimate(_plan(max_minutes=600.0), []).budget_bound
    # the phased plan's later phases cost several times its first: no epoch count it could not keep (walkthrough 41
    # read "after about 8.3 of 12 epochs" and the budget ended the run after 4)
    phased = estimate(_plan(scenario="phased", max_minutes=1.0, train_receipts=10_000), [])
    assert phased.budget_bound and phased.epochs_in_budget is None
    assert phased.headline().startswith("about 60 s: the time budget ends it before 3 epochs of 1250 steps")
    # close under the budget: said, since a slower run is then cut short (walkthrough 39: "about 89 s for 12 epochs"
    # under 1.5 minutes, and the budget ended the run after 9)
    near = _plan(train_receipts=100, epochs=12)
    full = estimate(near, []).seconds
    close = estimate(dataclasses.replace(near, max_minutes=full / 60 / 0.9), [])
    assert not close.budget_bound and ", close to its " in close.headline() and "ends it first if the run goes " \
        "slower" in close.headline()
    assert "close to" not in estimate(dataclasses.replace(near, max_minutes=full / 60 / 0.5), []).headline()


def test_the_headline_is_the_figure_and_the_details_hold_the_rest():
    """Stop 64: the whole estimate under Start was ~100 words (start-up, rates, machine test, the budget's ending)
    that walkthroughs read past; the page says the headline and where it comes from, the rest in a tooltip."""
    result = estimate(_plan(max_minutes=1.0, train_receipts=100, epochs=200), [])
    assert result.headline() == f"about 60 s: the time budget ends it after about {round(result.epochs_in_budget)} " \
                                "of 200 epochs of 13 steps"
    assert result.source() == "a rough guess: no earlier run here measures a run like this one"
    assert result.details().startswith("after loading the backbone and encoding the receipts (rough guess: ")
    assert "Under the budget" in result.details() and "Under the budget" not in result.headline()
    assert result.text() == f"{result.headline()}, {result.details()}"
    costs = [MeasuredCost(run_id="a", seconds=120.0, receipt_epochs=200.0, startup_s=40.0),
             MeasuredCost(run_id="b", seconds=120.0, receipt_epochs=200.0, startup_s=40.0)]
    measured = estimate(_plan(), costs)
    assert measured.headline().endswith(", after about 40 s to load the backbone and encode the receipts")
    assert measured.source() == "measured on 2 earlier runs like it"
    assert measured.details().startswith(" (measured: ") and measured.text() == measured.headline() + measured.details()
    nothing = estimate(_plan(trainable_parameters=0), [])
    assert nothing.source() == nothing.details() == "" and nothing.text() == nothing.headline()


def test_without_a_measured_run_the_estimate_is_a_labelled_rough_guess():
    result = estimate(_plan(backbone="text-minilm", train_receipts=600, epochs=12), [])
    assert result.measured_runs == 0
    # each epoch's evaluation and save on top: a walkthrough's 9 demo receipts were guessed at seconds, took a minute
    assert result.seconds == pytest.approx(rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm")) * 600 * 12
                                           + 3.0 * 12)
    assert result.text().startswith(f"about {about_time(result.seconds)} for 12 epochs of 75 steps, after loading the "
                                    "backbone and encoding the receipts (rough guess: ")
    assert result.text().endswith("s per receipt and epoch, and 3 s an epoch to evaluate and save, on a 2-core "
                                  "machine)")
    frozen = _plan(backbone="text-minilm", scenario="freeze-backbone")
    assert rough_seconds_per_receipt_epoch(frozen) < rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm"))
    # phased against full: test_before_any_run_the_default_phased_plan_is_not_guessed_slower_than_full_fine_tuning


def test_the_rough_guess_is_scaled_to_this_machines_speed(ws, monkeypatch):
    """A walkthrough waited 5 minutes for "about 2 min" on a machine running 2.3 times slower than the one the rough
    guesses were measured on. The guess is scaled by a short timing, taken only when the guess is what is said."""
    from receipt_core.training.machine_speed import FACTOR_RANGE, REFERENCE_WORKLOAD_S, speed_factor, workload_seconds

    plan = _plan(backbone="text-minilm", train_receipts=600, epochs=12)
    unscaled = estimate(plan, [])
    timed = []
    slower = estimate_run_time(ws, plan, lambda: timed.append(1) or 2.5)
    assert timed == [1] and slower.seconds == pytest.approx(2.5 * unscaled.seconds)
    assert slower.text().endswith("s per receipt and epoch, and 7.5 s an epoch to evaluate and save: figures "
                                  "measured on a 2-core machine, times 2.5, as a short test ran 2.5 times slower "
                                  "here in the last 10 minutes (other work running then slows it; a run like this "
                                  "one, once trained here, measures the next estimate))")
    # a faster machine is said as one: "0.95 times slower" read as slower (walkthrough 33)
    faster = estimate_run_time(ws, plan, lambda: 0.95)
    assert "times 0.95, as a short test ran in 0.95 of the time here" in faster.text(), faster.text()
    _record(ws, {"train_documents": RECEIPTS, "backbone": "text-minilm"}, [_progress(STEPS_PER_EPOCH + 1, 12.0)])
    measured = estimate_run_time(ws, _plan(backbone="text-minilm"), lambda: timed.append(2) or 2.5)
    assert measured.measured_runs == 1 and timed == [1]  # a measured run needs no timing and is not scaled
    assert "times 2.5" not in measured.text()
    # the real workload: a positive time, and a factor kept within its range whatever the machine's load
    seconds = workload_seconds(repeats=1)
    assert seconds > 0 and FACTOR_RANGE[0] <= speed_factor(seconds) <= FACTOR_RANGE[1]
    assert speed_factor(REFERENCE_WORKLOAD_S * 2) == pytest.approx(2.0) and speed_factor(1e-9) == FACTOR_RANGE[0]
    with pytest.raises(ValueError, match="above 0 s"):
        speed_factor(0.0)


def test_the_train_page_shows_the_estimate_next_to_start(workspace_home):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from receipt_core.datasets import import_into_workspace, load_dataset

    repo = Path(__file__).resolve().parent.parent
    ws = Workspace.open(workspace_home)
    import_into_workspace(ws, "cord-dev", load_dataset(repo / "assets" / "cord-sample" / "dev", "cord"))
    at = AppTest.from_file(str(repo / "app.py"), default_timeout=120)
    at.session_state["train_backbone"] = "tiny"  # no MiniLM to read for the toggles
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    receipts = len(ws.list_documents("cord-dev")) - round(len(ws.list_documents("cord-dev")) * 0.25)
    epochs, batch = at.number_input(key="train_epochs").value, at.number_input(key="train_batch").value
    guess = [c for c in at.caption if "rough guess" in c.value]
    assert guess and guess[0].value.startswith("About ") and \
        f"for {epochs} epochs of {math.ceil(receipts / batch)} steps (a rough guess: no earlier run here measures " \
        "a run like this one). Phase 2 (auto)" in guess[0].value
    # the rest in its tooltip: how the guess is made (stop 64: ~100 words under Start were read past)
    assert "s an epoch to evaluate and save" in guess[0].proto.help and "to evaluate" not in guess[0].value
    # a busy machine is said beside it (walkthrough 61's run, beside another tester's training, took 2.4 times the
    # estimate): read from the load average when the page draws
    import os

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
        at.run()
    cores = os.cpu_count()
    assert [c.value for c in at.caption if "The machine is busy now" in c.value] == [
        f"The machine is busy now (load 9.0 on {cores} CPU cores over the last minute): other work shares the cores, "
        "so a run started now trains slower than this estimate, and its time budget buys fewer steps."]
    from receipt_core.training.machine_speed import busy_note

    assert busy_note(load=1.4, cores=2) is None and busy_note(load=1.5, cores=2).startswith("The machine is busy")

    # an earlier run like the page's: its backbone and the page's default scenario
    _record(ws, {"train_documents": RECEIPTS, "scenario": at.selectbox(key="train_preset").value},
            [_progress(STEPS_PER_EPOCH, 12.0 * STEPS_PER_EPOCH / (STEPS_PER_EPOCH + 1), epochs=2),
             _progress(STEPS_PER_EPOCH + 1, 12.0, epochs=2)])  # one step past its first epoch, 12 s in all
    at.number_input(key="train_epochs").set_value(1).run()
    measured = [c for c in at.caption if "(measured on" in c.value]
    rate = 12.0 / (RECEIPTS * (STEPS_PER_EPOCH + 1) / STEPS_PER_EPOCH)
    seconds = rate * receipts
    assert [c.value for c in measured] == [
        f"About {seconds:.0f} s for 1 epoch of {math.ceil(receipts / batch)} steps (measured on 1 earlier run like "
        "it). Phase 2 (auto): the top 2 encoder layers."]  # all the tiny backbone has
    assert measured[0].proto.help == (
        f"About {seconds:.0f} s for 1 epoch of {math.ceil(receipts / batch)} steps, after loading the backbone and "
        "encoding the receipts; the first step also waits for the frozen layers' features of every receipt, which "
        f"the first epoch's time includes (measured: {rate:.3f} s per receipt and epoch in 1 earlier run like it).")
    # layout pre-training reads every receipt, none held out (a walkthrough: the estimate said 10 steps an epoch
    # where the run made 13)
    at.radio(key="train_kind").set_value("Layout pre-training").run()
    everything = len(ws.list_documents("cord-dev"))
    batch = at.number_input(key="train_batch_pretrain").value
    assert any(f"epochs of {math.ceil(everything / batch)} steps" in c.value for c in at.caption), \
        [c.value for c in at.caption]


def test_a_run_that_trains_nothing_is_one_evaluation_and_hand_toggles_are_their_own_runs(ws):
    """A walkthrough: freeze-all showed "about 2 min for 12 epochs" before a run that evaluated for a second, and
    switching encoder.5 on over freeze-backbone left the frozen backbone's estimate in place."""
    nothing = estimate(_plan(scenario="freeze-all", trainable_parameters=0), [])
    assert nothing.evaluation_only and nothing.text().startswith("no training: no group can learn, so Start "
                                                                 "evaluates the model once")
    assert not estimate(_plan(scenario="freeze-all", trainable_parameters=10, unfreeze=("head",)), []).evaluation_only
    frozen = _plan(backbone="text-minilm", scenario="freeze-backbone")
    toggled = _plan(backbone="text-minilm", scenario="freeze-backbone", unfreeze=("encoder.5",))
    # dearer than the frozen backbone's, cheaper than full fine-tuning's: the layers below encoder.5 stay cached
    assert (rough_seconds_per_receipt_epoch(frozen) < rough_seconds_per_receipt_epoch(toggled)
            < rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm")))
    assert rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm", scenario="freeze-backbone",
                                                 unfreeze=("head.fields",))) == rough_seconds_per_receipt_epoch(frozen)
    _record(ws, {"backbone": "text-minilm", "scenario": "freeze-backbone"}, [_progress(STEPS_PER_EPOCH + 1, 5.0)])
    assert estimate_run_time(ws, frozen).measured_runs == 1
    assert estimate_run_time(ws, toggled).measured_runs == 0  # a plain run says nothing of the toggled one's cost
    _record(ws, {"backbone": "text-minilm", "scenario": "freeze-backbone", "unfreeze": ["encoder.5"]},
            [_progress(STEPS_PER_EPOCH + 1, 50.0)])
    assert estimate_run_time(ws, toggled).seconds_per_receipt_epoch == pytest.approx(
        50.0 / (RECEIPTS * (STEPS_PER_EPOCH + 1) / STEPS_PER_EPOCH))


def test_a_frozen_backbones_first_epoch_is_not_taken_for_every_epoch(ws):
    """The left-alone item of a walkthrough: freeze-backbone's first epoch fills the feature caches (and its first
    evaluation the evaluation set's), so a short run pooled as one rate put a 20-epoch run at several times its
    time. The first epoch is measured apart from the later ones; the phased plan keeps one pooled rate."""
    first_epoch = [_progress(s, 6.0 * s) for s in range(1, STEPS_PER_EPOCH + 1)]  # 30 s: the caches' fill
    evaluated = first_epoch[-1].elapsed_s + 10.0  # the first evaluation, with the evaluation set's cache
    later = [_progress(STEPS_PER_EPOCH + s, evaluated + 0.5 * s) for s in range(1, STEPS_PER_EPOCH + 1)]
    _record(ws, {"scenario": "freeze-backbone"}, [*first_epoch, *later])
    plan = _plan(scenario="freeze-backbone", train_receipts=RECEIPTS, epochs=20)

    result = estimate_run_time(ws, plan)

    one_later_epoch = 0.5 * STEPS_PER_EPOCH  # the later steps, 0.5 s each
    assert result.seconds == pytest.approx(evaluated + 0.5 + 19 * one_later_epoch, rel=0.05)
    pooled = later[-1].elapsed_s / (2 * RECEIPTS) * RECEIPTS * 20
    assert pooled > 4 * result.seconds  # what one pooled rate said
    assert result.text().startswith(f"about {result.seconds:.0f} s for 20 epochs") and "in the first epoch" in \
        result.text()
    _record(ws, {"scenario": "phased"}, [*first_epoch, *later])
    phased = estimate_run_time(ws, _plan(scenario="phased", train_receipts=RECEIPTS, epochs=20))
    assert phased.later_epochs_rate is None and phased.seconds == pytest.approx(pooled)


def test_a_races_runs_give_no_start_up_figure():
    """A walkthrough read "about 1 s to load the backbone and encode the receipts" on Train after a race, where it
    took 19 s: a race encodes its receipts once for all its runs."""
    from types import SimpleNamespace

    from receipt_core.training.estimate import measured_costs

    events = [_progress(s, 2.0 * s) for s in range(1, STEPS_PER_EPOCH + 2)]
    records = [SimpleNamespace(kind=e.kind, payload=e.to_json(), created_at=1000.0 + 20.0 + e.elapsed_s)
               for e in events]
    config = {RUN_KIND: "receipt", "backbone": "tiny", "scenario": "full", "train_documents": RECEIPTS}
    runs = [SimpleNamespace(id="race", config={**config, "study": "race-1"}, created_at=1000.0),
            SimpleNamespace(id="train", config=config, created_at=1000.0)]
    source = SimpleNamespace(list_runs=lambda: runs, run_events=lambda run_id, **_: records)
    costs = {cost.run_id: cost for cost in measured_costs(source, _plan())}
    assert costs["train"].startup_s == pytest.approx(20.0) and costs["race"].startup_s is None


def test_a_run_still_training_is_no_earlier_run(ws):
    """A walkthrough read "measured … in 1 earlier run like it" beside Start while that run was still training, and
    the estimate grew with its first epochs; a paused run is as unfinished."""
    epochs = [_progress(s, 2.0 * s) for s in range(1, 2 * STEPS_PER_EPOCH + 1)]
    live = _record(ws, {}, epochs, status="running")
    _record(ws, {}, epochs, status="paused")
    assert estimate_run_time(ws, _plan()).measured_runs == 0
    ws.set_run_status(live, "finished")
    assert estimate_run_time(ws, _plan()).measured_runs == 1


def test_a_run_on_far_fewer_receipts_does_not_measure_the_plan(ws):
    """A walkthrough raced on 6 demo receipts (4 trained), then planned 200 CORD receipts: each epoch's evaluation
    and save, spread over 4 receipts, put the run at 118 minutes instead of about 2."""
    _record(ws, {}, [_progress(s, 5.0 * s) for s in range(1, STEPS_PER_EPOCH * EPOCHS + 1)])  # 40 receipts
    assert estimate_run_time(ws, _plan(train_receipts=160)).measured_runs == 1  # 4 times as many: like sized
    far = estimate_run_time(ws, _plan(train_receipts=161))
    assert far.measured_runs == 0 and far.unmeasured_runs == 1
    assert far.seconds_per_receipt_epoch == rough_seconds_per_receipt_epoch(_plan())
    assert estimate_run_time(ws, _plan(train_receipts=9)).measured_runs == 0  # nor far more


def test_a_phased_run_counts_only_once_it_reached_its_last_phase(ws):
    """A walkthrough stopped a phased run in its second epoch, still in phase 1 (the heads on cached features, its
    cheapest phase): it more than doubled the estimate of a 12-epoch phased run."""
    from receipt_core.training.events import PhaseEvent

    def phase(number: int, step: int) -> PhaseEvent:
        # epoch 0 at step 0, as the loop says it (a stored event of epoch -1 is left out as damaged)
        return PhaseEvent(step=step, epoch=max(step - 1, 0) // STEPS_PER_EPOCH, phase=number,
                          trainable_groups=("heads",), trainable_parameters=1, total_parameters=2, reason="", phases=3)

    steps = [_progress(s, 2.0 * s) for s in range(1, STEPS_PER_EPOCH * EPOCHS + 1)]
    _record(ws, {"scenario": "phased"}, [phase(1, 0), *steps])
    plan = _plan(scenario="phased")
    result = estimate_run_time(ws, plan)
    assert result.measured_runs == 0 and "ended within the first epoch or phase" in result.text()
    _record(ws, {"scenario": "phased"}, [phase(1, 0), *steps[:3], phase(2, 3), *steps[3:6], phase(3, 6), *steps[6:]])
    assert estimate_run_time(ws, plan).measured_runs == 1


def test_before_any_run_the_default_phased_plan_is_not_guessed_slower_than_full_fine_tuning():
    """A walkthrough read "about 2 min" for phased against "about 84 s" for full on the CORD sample, where every
    side-by-side measurement (the study, the race) has phased a little cheaper."""
    for backbone in ("text-minilm", "layout-minilm"):
        assert (rough_seconds_per_receipt_epoch(_plan(backbone=backbone, scenario="phased"))
                <= rough_seconds_per_receipt_epoch(_plan(backbone=backbone, scenario="full")))


def test_times_are_said_to_the_half_minute_under_ten_minutes():
    """A walkthrough's 1.5-minute budget read "about 2 min: the time budget ends it"."""
    assert [about_time(s) for s in (0.2, 45, 89.6, 90, 100, 135, 599, 600, 1234)] == [
        "1 s", "45 s", "90 s", "1.5 min", "1.5 min", "2 min", "10 min", "10 min", "21 min"]


def test_the_rough_guess_grows_with_the_receipts_length_and_other_scenarios_runs_scale_it(ws):
    """A walkthrough on the demo receipts (99 words each, CORD's 24) read "about 5 s" for a phased run that took
    minutes; after that run, phased read "about 3.5 min" beside "about 5 s" for full, which costs more per step."""
    long_receipts = _plan(backbone="text-minilm", words_per_receipt=96.0)
    assert rough_seconds_per_receipt_epoch(long_receipts) == pytest.approx(
        4 * rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm")))
    assert rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm", words_per_receipt=3.0)) == pytest.approx(
        0.5 * rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm")))  # each step's fixed costs stay
    phased = {"backbone": "text-minilm", "scenario": "phased"}
    _record(ws, phased, [_progress(s, 3.0 * s) for s in range(1, STEPS_PER_EPOCH * EPOCHS + 1)])
    measured = 3.0 * STEPS_PER_EPOCH * EPOCHS / (RECEIPTS * EPOCHS)
    full = estimate_run_time(ws, _plan(backbone="text-minilm", train_receipts=RECEIPTS, words_per_receipt=96.0))
    ratio = rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm")) / rough_seconds_per_receipt_epoch(
        _plan(backbone="text-minilm", scenario="phased"))
    assert full.measured_runs == 0 and full.scaled_from == ("phased", 1)
    assert full.seconds_per_receipt_epoch == pytest.approx(measured * ratio, rel=0.05)  # the length is in the run
    assert full.seconds == pytest.approx(full.seconds_per_receipt_epoch * RECEIPTS * 3)
    assert "(from 1 earlier phased run of this backbone, adjusted for how much cheaper or dearer this scenario's " \
           "steps are: " in full.text()
    frozen = estimate_run_time(ws, _plan(backbone="text-minilm", scenario="freeze-backbone", train_receipts=RECEIPTS))
    assert frozen.seconds_per_receipt_epoch < full.seconds_per_receipt_epoch / 3
    assert estimate_run_time(ws, _plan(backbone="tiny")).scaled_from is None  # another backbone: the rough guess


def test_a_frozen_backbones_runs_do_not_scale_a_trained_ones_nor_the_reverse(ws):
    """A walkthrough's full fine-tuning, scaled from one freeze-backbone run, took 2.4 times its estimate: a frozen
    backbone's epochs cost the cache fill once and then the heads alone."""
    _record(ws, {"backbone": "text-minilm", "scenario": "freeze-backbone"},
            [_progress(s, 0.2 * s) for s in range(1, STEPS_PER_EPOCH * EPOCHS + 1)])
    full = estimate_run_time(ws, _plan(backbone="text-minilm", train_receipts=RECEIPTS))
    assert full.scaled_from is None and full.measured_runs == 0
    assert "rough guess" in full.text()
    frozen_all = estimate_run_time(ws, _plan(backbone="text-minilm", scenario="freeze-all", train_receipts=RECEIPTS,
                                             trainable_parameters=None))
    assert frozen_all.scaled_from == ("freeze-backbone", 1)  # both freeze the whole backbone
    _record(ws, {"backbone": "text-minilm", "scenario": "phased"},
            [_progress(s, 3.0 * s) for s in range(1, STEPS_PER_EPOCH * EPOCHS + 1)])
    assert estimate_run_time(ws, _plan(backbone="text-minilm", train_receipts=RECEIPTS)).scaled_from == ("phased", 1)
    head = estimate_run_time(ws, _plan(backbone="text-minilm", scenario="freeze-quantity-head",
                                       train_receipts=RECEIPTS))
    assert head.scaled_from == ("phased", 1)  # the newest run that trains the backbone, not freeze-backbone's


def test_the_split_start_would_refuse_is_said_before_start():
    """A walkthrough's dataset of three photos, one labelled, offered Start, which then failed: at least 2 labelled
    receipts are needed to hold some out."""
    from types import SimpleNamespace

    from receipt_core.training.estimate import planned_split

    def summary(labelled: int, words: int = 10):
        return SimpleNamespace(labelled_words=labelled, words=words)

    refused = planned_split([summary(5), summary(0), summary(0)], None, 0.25)
    assert refused.receipts == 0 and refused.problem == (
        "counting only its labelled receipts, the training dataset has 1 receipt; holding some out for evaluation "
        "needs at least 2 (or choose an evaluation dataset)")
    fine = planned_split([summary(5, 10), summary(5, 30), summary(5, 20), summary(0)], None, 0.25)
    assert (fine.receipts, fine.problem) == (2, None) and fine.words_per_receipt in (15.0, 20.0, 25.0)


def test_a_rough_guess_for_hand_toggles_says_they_are_not_in_it(ws):
    """A walkthrough froze four layers of full and read the same "about 8 min" as plain full, with nothing saying
    the guess is the scenario's own; once a run with those toggles is measured, the caveat goes."""
    toggled = _plan(freeze=("encoder.0", "encoder.1"))
    said = estimate_run_time(ws, toggled).text()
    # said first: at the end of ~100 words a walkthrough read the figure and moved on (walkthrough 35)
    assert said.startswith("the scenario's own figure, without the layers and heads you toggled by hand: about ")
    assert "toggled by hand" not in estimate_run_time(ws, _plan()).text()
    _record(ws, {"freeze": ["encoder.0", "encoder.1"]},
            [_progress(step, 2.0 * step) for step in range(1, 2 * STEPS_PER_EPOCH + 1)])
    measured = estimate_run_time(ws, toggled)
    if measured.measured_runs:
        assert "toggled by hand" not in measured.text()
    # a backbone layer switched on over freeze-backbone: full fine-tuning's guess, said as such (a walkthrough read
    # "the scenario's own" beside 12 min, where freeze-backbone's own had said 3.5)
    # …nor full fine-tuning's: the frozen layers below the lowest one switched on are still cached (a second
    # walkthrough's encoder.4 and encoder.5 took a third of full's figure)
    top_two = _plan(backbone="text-minilm", scenario="freeze-backbone", unfreeze=("encoder.5", "encoder.4"))
    frozen, full = (rough_seconds_per_receipt_epoch(_plan(backbone="text-minilm", scenario=scenario))
                    for scenario in ("freeze-backbone", "full"))
    assert rough_seconds_per_receipt_epoch(top_two) == pytest.approx(frozen + (full - frozen) * 2 / 6)
    switched = estimate_run_time(ws, top_two).text()
    assert ("the backbone layers you switched on, and those above them (33% of the encoder), run every step, while "
            "the frozen layers below are computed once" in switched and "the scenario's own" not in switched)
    embeddings = _plan(backbone="text-minilm", scenario="freeze-backbone", unfreeze=("embeddings.text",))
    assert rough_seconds_per_receipt_epoch(embeddings) == pytest.approx(full)  # nothing below it to cache
    assert "so this is full fine-tuning's figure" in estimate_run_time(ws, embeddings).text()


def test_a_run_of_a_backbone_of_the_same_cost_measures_the_plan(ws):
    """Walkthrough 43: a layout-minilm · full estimate said "a rough guess: no earlier run here measures a run like
    this one" beside a text-minilm · full run on the same receipts, and overshot it (7.2 epochs guessed, 5.0 run).
    The two are one model (the text-only one gives every token a zero box), so a step costs the same."""
    from receipt_core.model.backbone_names import same_cost

    assert same_cost("layout-minilm", "text-minilm") and same_cost("tiny", "tiny")
    assert not same_cost("tiny", "layout-minilm") and not same_cost("/my/checkpoint", "layout-minilm")
    _record(ws, {"backbone": "text-minilm"}, [_progress(s, 2.0 * s) for s in range(1, STEPS_PER_EPOCH * EPOCHS + 1)])
    assert estimate_run_time(ws, _plan(backbone="layout-minilm", train_receipts=RECEIPTS)).measured_runs == 1
    assert estimate_run_time(ws, _plan(backbone="tiny", train_receipts=RECEIPTS)).measured_runs == 0
