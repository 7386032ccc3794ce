"""A run's stored events folded into the Runs table row and the metrics CSV (training/run_summary.py)."""

from __future__ import annotations

import pytest

from receipt_core.training.events import (HEADLINE_METRICS, EvalEvent, FinishedEvent, PhaseEvent, ProgressEvent,
                                          StepEvent)
from receipt_core.training.run_summary import TRAINING_TIME, run_metrics_rows, run_summary
from receipt_core.workspace.store import Workspace


def stored_run(tmp_path):
    ws = Workspace(tmp_path / "ws")
    run_id = ws.create_run("summary", {"backbone": "tiny", "scenario": "phased"})
    events = [
        PhaseEvent(step=0, epoch=0, phase=1, trainable_groups=("head.fields",), trainable_parameters=10,
                   total_parameters=40, reason="start"),
        StepEvent(step=1, epoch=1, loss=3.0, task_losses={"fields": 2.0, "quantity": 1.0}, lr=1e-4, phase=1),
        EvalEvent(step=1, epoch=1, val_loss=2.5, task_val_losses={"fields": 1.8},
                  metrics={"fields.micro_f1": 0.6, "fields.per_label": {"TOTAL": {"f1": 1.0}}, "quantity.items": 7,
                           "quantity.item_accuracy": 0.5, "val_loss": 2.5}, phase=1),
        PhaseEvent(step=1, epoch=1, phase=2, trainable_groups=("head.fields", "encoder.1"), trainable_parameters=25,
                   total_parameters=40, reason="phase 2"),
        ProgressEvent(step=2, total_steps=4, epoch=1, epochs=2, elapsed_s=3.5, steps_per_s=1.0, items_per_s=4.0,
                      eta_s=2.0),
        EvalEvent(step=2, epoch=2, val_loss=None, task_val_losses={},
                  metrics={"fields.micro_f1": 0.4, "quantity.item_accuracy": 0.75}, phase=2),
        FinishedEvent(step=4, epoch=2, reason="completed", elapsed_s=7.25, metrics={}, checkpoint=None),
    ]
    for event in events:
        ws.append_run_event(run_id, event.kind, event.to_json())
    return ws, ws.get_run(run_id)


def test_summary_row_takes_the_best_headline_metrics_the_largest_phase_and_the_last_time(tmp_path):
    ws, run = stored_run(tmp_path)
    row = run_summary(ws, run)
    assert row["run"] == run.id and row["backbone"] == "tiny" and row["scenario"] == "phased"
    assert row["trainable parameters"] == 25 and row["total parameters"] == 40
    assert row["training time (s)"] == 7.25 and row["steps"] == 4
    assert row["best fields.micro_f1"] == 0.6 and row["best quantity.item_accuracy"] == 0.75
    # the saved model's, beside them: the last evaluation (a walkthrough read 0.987 on Runs, 0.973 on Predict)
    assert row["saved fields.micro_f1"] == 0.4 and row["saved quantity.item_accuracy"] == 0.75
    assert row["best quantity.word_f1"] is None  # never measured
    assert [k for k in row if k.startswith("best ")] == [f"best {name}" for name in HEADLINE_METRICS]


def test_metrics_rows_hold_every_step_and_evaluation_without_tables(tmp_path):
    ws, run = stored_run(tmp_path)
    rows = run_metrics_rows(ws, run.id)
    # and where it ended, with the training time the Runs table shows (walkthrough 50 read 59.37 s on the last
    # evaluation's row and 63.8 s in the table: its final evaluation and save came after)
    end = rows.pop()
    assert (end["kind"], end["step"], end["training_s"], end["reason"], end["phase"]) == (
        "finished", 4, 7.25, "completed", 2)
    assert run_summary(ws, ws.get_run(run.id))[TRAINING_TIME] == end["training_s"]
    assert [r["kind"] for r in rows] == ["step", "eval", "eval"]
    # epochs done at the step, as the charts and Train count them (2 steps an epoch): one meaning for step and
    # evaluation rows (a walkthrough's CSV gave step 51 epoch 3 on one row and 2 on the other)
    first = rows[0].pop("wall_s")
    assert rows[0] == {"kind": "step", "step": 1, "epoch": 0.5, "phase": 1, "loss": 3.0, "training_s": None,
                       "fields.loss": 2.0, "quantity.loss": 1.0, "lr": 1e-4}
    # the run's training clock beside the wall clock, without pauses or set-up: from its progress report at or
    # before the row's step (walkthrough 35 read 134 s of wall clock beside 87 s of training time)
    assert [r["training_s"] for r in rows] == [None, None, 3.5]
    rows[0]["wall_s"] = first
    # from the run's first stored event (its phase event here), as the charts count it (walkthrough 27's CSV ran
    # 11 s behind them, counted from the first step)
    from receipt_core.training.run_feed import RunFeed

    feed = RunFeed(run.id)
    feed.poll(ws)
    charted = feed.curves().train_loss
    assert first == pytest.approx(float(charted[charted["step"] == 1]["wall_s"].iloc[0]), abs=0.01)
    # the seconds since the first step, as the charts' wall-clock axis (walkthrough 26 could not rebuild them)
    assert all(isinstance(r["wall_s"], float) and r["wall_s"] >= 0 for r in rows)
    assert [r["wall_s"] for r in rows] == sorted(r["wall_s"] for r in rows)
    assert [r["epoch"] for r in rows] == [0.5, 0.5, 1.0]
    assert rows[1]["val_loss"] == 2.5 and rows[1]["fields.micro_f1"] == 0.6 and rows[1]["quantity.items"] == 7
    assert not any("per_label" in key for row in rows for key in row)
    assert rows[2]["val_loss"] is None and rows[2]["phase"] == 2


def test_a_run_without_events_has_an_empty_row(tmp_path):
    ws = Workspace(tmp_path / "ws")
    run = ws.get_run(ws.create_run("empty", {}))
    row = run_summary(ws, run)
    assert row["steps"] is None and row["trainable parameters"] is None
    assert run_metrics_rows(ws, run.id) == []


def test_the_runs_page_stars_no_run_on_one_item_of_its_evaluation():
    """A demo walkthrough: one item of 150 (0.0067) cleared the 0.005 floor and starred a run from one seed."""
    from receipt_core.training.run_summary import EVAL_ITEMS, clear_best_runs

    def row(run, items_right, items=150):
        return {"run": run, "eval set": "same", "eval receipts": 50, "best fields.micro_f1": 0.9, EVAL_ITEMS: items,
                "best quantity.item_accuracy": items_right / items}

    assert clear_best_runs([row("a", 145), row("b", 144)]) == set()
    assert clear_best_runs([row("a", 146), row("b", 144)]) == {"a"}


def test_a_run_its_time_budget_ended_says_so_in_its_status(tmp_path):
    """A walkthrough's 1-minute full run (75 of 300 steps) read "finished" beside runs that had run their plan."""
    ws = Workspace(tmp_path / "ws")
    rows = {}
    for reason, status in (("time budget", "finished"), ("completed", "finished"), ("stopped", "stopped")):
        run_id = ws.create_run(reason, {"backbone": "tiny", "scenario": "full"})
        ws.append_run_event(run_id, FinishedEvent.kind, FinishedEvent(step=75, epoch=2, reason=reason, elapsed_s=61.0,
                                                                      metrics={}, checkpoint=None).to_json())
        ws.set_run_status(run_id, status)
        rows[reason] = run_summary(ws, ws.get_run(run_id))["status"]
    assert rows == {"time budget": "finished (time budget)", "completed": "finished", "stopped": "stopped"}
    # ended before its first step: its model is the untrained start (probe 37 read it as any finished run)
    run_id = ws.create_run("at once", {"backbone": "tiny", "scenario": "full"})
    ws.append_run_event(run_id, FinishedEvent.kind, FinishedEvent(step=0, epoch=0, reason="time budget", elapsed_s=0.0,
                                                                  metrics={}, checkpoint=None).to_json())
    ws.set_run_status(run_id, "finished")
    assert run_summary(ws, ws.get_run(run_id))["status"] == "finished (time budget) · before its first step: untrained"
    # and stopped before it (probe 63 pressed Stop 0.2 s after Start: the run read as any stopped one)
    run_id = ws.create_run("stopped at once", {"backbone": "tiny", "scenario": "full"})
    ws.append_run_event(run_id, FinishedEvent.kind, FinishedEvent(step=0, epoch=0, reason="stopped", elapsed_s=0.2,
                                                                  metrics={}, checkpoint=None).to_json())
    ws.set_run_status(run_id, "stopped")
    assert run_summary(ws, ws.get_run(run_id))["status"] == "stopped · before its first step: untrained"


def test_cost_quality_points_name_each_unfinished_run_by_its_status_and_keep_its_colour():
    import pandas as pd

    from receipt_core.training.run_summary import BUDGET_CUT
    from ui.cost_quality import cost_quality_points

    table = pd.DataFrame([
        {"name": "full", "scenario": "full", "status": "finished", "training time (s)": 60.0, "best f1": 0.9},
        {"name": "cut", "scenario": "phased", "status": BUDGET_CUT, "training time (s)": 30.0, "best f1": 0.8},
        {"name": "ref", "scenario": None, "status": "stopped", "training time (s)": 10.0, "best f1": None}])
    points, colors = cost_quality_points(table, "training time (s)", "best f1", {"cut": "#f00", "full": "#0f0"})
    assert list(points["name"]) == ["full", "cut (time budget)", "ref (stopped)"]
    assert list(points["scenario"]) == ["full", "phased", "reference tagger"]
    assert colors == {"cut": "#f00", "full": "#0f0", "cut (time budget)": "#f00"}
    assert list(table["name"]) == ["full", "cut", "ref"]  # the table itself is left as it was


def test_a_phase_announced_where_the_run_ended_is_not_counted_as_trained(tmp_path):
    """A walkthrough's phased run stopped at step 100, where phase 3 (everything, 24.8M) was announced: Runs said
    24.8M trainable, where phase 2's 6.0M had trained every step since step 25."""
    ws = Workspace(tmp_path / "ws")
    run_id = ws.create_run("stopped", {"backbone": "tiny", "scenario": "phased"})
    for event in (PhaseEvent(step=0, epoch=0, phase=1, trainable_groups=("heads",), trainable_parameters=10,
                             total_parameters=40, reason="start", phases=3),
                  PhaseEvent(step=25, epoch=1, phase=2, trainable_groups=("heads", "encoder.5"),
                             trainable_parameters=20, total_parameters=40, reason="phase 2", phases=3),
                  PhaseEvent(step=100, epoch=4, phase=3, trainable_groups=("everything",), trainable_parameters=40,
                             total_parameters=40, reason="phase 3", phases=3),
                  FinishedEvent(step=100, epoch=4, reason="stopped", elapsed_s=60.0, metrics={}, checkpoint=None)):
        ws.append_run_event(run_id, event.kind, event.to_json())
    assert run_summary(ws, ws.get_run(run_id))["trainable parameters"] == 20
    ws.append_run_event(run_id, "phase", PhaseEvent(step=100, epoch=4, phase=3, trainable_groups=("everything",),
                                                    trainable_parameters=40, total_parameters=40, reason="resumed",
                                                    phases=3).to_json())  # resumed into phase 3: it trains now
    assert run_summary(ws, ws.get_run(run_id))["trainable parameters"] == 40


def test_runs_scored_on_a_few_receipts_or_their_own_training_receipts_are_listed_after_the_others():
    """A walkthrough sorted Runs by field F1: a run scored on 3 receipts (0.879) headed the list, above one scored on
    50 (0.870), and the count that tells them apart was off the screen."""
    from receipt_core.training.run_summary import OWN_TRAINING, listing_order

    def row(run, f1, receipts, own=False, best=None):
        return {"run": run, "saved fields.micro_f1": f1, "best fields.micro_f1": best or f1, "eval receipts": receipts,
                OWN_TRAINING: own}

    rows = [row("three", 0.879, 3), row("fifty", 0.870, 50), row("own", 1.0, 1, own=True), row("unscored", None, 50),
            row("fifty-low", 0.5, 50), row("old", 0.9, None)]
    assert [r["run"] for r in listing_order(rows, "fields.micro_f1")] == [
        "fifty", "fifty-low", "unscored", "old", "three", "own"]
    # by the saved model's score, the column shown first: a walkthrough read 0.855 above 0.862, sorted by "best"
    tied = [row("frozen-head", 0.855, 50, best=0.862), row("phased", 0.862, 50)]
    assert [r["run"] for r in listing_order(tied, "fields.micro_f1")] == ["phased", "frozen-head"]


def test_after_a_failed_save_the_saved_scores_are_the_checkpoints_not_the_last_evaluations(tmp_path):
    """A probe's run on a full disk saved at step 25 (F1 0.428), failed to save at step 50 (F1 0.499), and Predict
    showed 0.499 beside the step-25 model it loaded; the Runs table's saved columns likewise."""
    from receipt_core.training.events import CheckpointEvent
    from receipt_core.training.run_summary import last_evaluation

    ws = Workspace(tmp_path / "ws")
    run_id = ws.create_run("full disk", {"backbone": "tiny", "scenario": "full"})

    def evaluation(step: int, f1: float) -> EvalEvent:
        return EvalEvent(step=step, epoch=step // 25, val_loss=1.0, task_val_losses={},
                         metrics={"fields.micro_f1": f1, "quantity.item_accuracy": 0.5}, phase=1)

    for event in (evaluation(25, 0.428), CheckpointEvent(step=25, epoch=1, path="r"), evaluation(50, 0.499)):
        ws.append_run_event(run_id, event.kind, event.to_json())
    saved = last_evaluation(ws, run_id)
    assert (saved.step, saved.metrics["fields.micro_f1"]) == (25, 0.428)
    row = run_summary(ws, ws.get_run(run_id))
    assert row["saved fields.micro_f1"] == 0.428 and row["best fields.micro_f1"] == 0.499
    unsaved = ws.create_run("no checkpoint event", {"backbone": "tiny", "scenario": "full"})
    ws.append_run_event(unsaved, "eval", evaluation(50, 0.499).to_json())
    assert last_evaluation(ws, unsaved).step == 50  # a run that reports no checkpoint: its last evaluation


def test_with_no_best_run_the_runs_page_says_why():
    """A walkthrough read "none beats every other run … beyond the noise rule" over runs 0.3 apart, each scored on
    3 receipts: they took no part, for want of receipts."""
    from receipt_core.training.run_summary import no_best_reason

    def row(run: str, f1: float, receipts: int, eval_set: str = "s") -> dict:
        return {"run": run, "best fields.micro_f1": f1, "eval receipts": receipts, "eval set": eval_set}

    assert no_best_reason([row("a", 0.9, 3), row("b", 0.6, 3)]) == (
        "No run is marked best: 2 of the 2 scored runs were evaluated on fewer than 10 receipts, where one receipt "
        "moves a score by more than the noise rule, so they take no part, and fewer than two others were evaluated "
        "on the same receipts.")
    assert no_best_reason([row("a", 0.9, 30), row("b", 0.9, 30), row("c", 0.5, 3)]).endswith(
        "none beats every other run evaluated on the same receipts beyond the noise rule.")
    assert no_best_reason([row("a", 0.9, 30)]).startswith("★ marks the best run once two or more")

    # two runs on the same receipts: the pair and the margins the rule applied (walkthrough 19 read 0.929 vs 0.908
    # with no word of the margin, nor of the other metric)
    def scored(run: str, f1: float, items: float) -> dict:
        return {**row(run, f1, 50), "saved fields.micro_f1": f1, "saved quantity.item_accuracy": items,
                "eval field words": 1000, "eval items": 150}

    names = {"full": "full run", "frozen": "frozen run"}
    assert no_best_reason([scored("full", 0.929, 0.90), scored("frozen", 0.908, 0.95)], names) == (
        "No run is marked best: 'frozen run' leads on item quantity acc. (0.950 vs 0.900, noise margin 0.007) and "
        "'full run' leads on field micro-F1 (0.929 vs 0.908, noise margin 0.009), so neither is best on both.")
    assert no_best_reason([scored("full", 0.929, 0.95), scored("frozen", 0.925, 0.95)], names) == (
        "No run is marked best: 'full run' and 'frozen run' are within the noise margin on both metrics (field "
        "micro-F1 (0.929 vs 0.925, noise margin 0.008), item quantity acc. (0.950 vs 0.950, noise margin 0.007)), so "
        "the evaluation set cannot tell them apart.")
    # a ★ says what it stands on, as its absence does (walkthrough 20 could not check one against the rule)
    from receipt_core.training.run_summary import best_reason

    rows = [scored("full", 0.929, 0.95), scored("frozen", 0.905, 0.95)]
    assert best_reason(rows, names) == (
        "★ 'full run' — against 'frozen run': ahead on field micro-F1 (0.929 vs 0.905, noise margin 0.009), level on "
        "item quantity acc. (0.950 vs 0.950, noise margin 0.007).")
    # a pair's margin is the pair's own: a third run, far behind, leaves it as it was (walkthrough 50 read 0.008,
    # then 0.009 for the same two runs once a reference run of 0.908 joined the list)
    with_third = rows + [{**scored("reference", 0.60, 0.95), "run": "reference"}]
    assert best_reason(with_third, names).startswith(best_reason(rows, names)[:-1])
    # runs that did not train alike are said so beside the ★ (walkthrough 23's ★ stood on a run against one stopped
    # after 1.1 epochs, and another on a 68-second run against runs of 40 s)
    costly = [{**rows[0], TRAINING_TIME: 68.0}, {**rows[1], "status": "stopped", TRAINING_TIME: 40.0}]
    assert best_reason(costly, names).startswith(
        "★ 'full run' — against 'frozen run' (stopped, trained 40 s to the ★ run's 68 s): ahead on field micro-F1")
    budget_cut = [rows[0], {**rows[1], "status": "finished (time budget)"}]
    assert best_reason(budget_cut, names).startswith(
        "★ 'full run' — against 'frozen run' (ended by its time budget): ahead")
    both_cut = [{**rows[0], "status": "finished (time budget)"}, {**rows[1], "status": "finished (time budget)"}]
    assert best_reason(both_cut, names).startswith("★ 'full run' — against 'frozen run': ahead")  # alike: unsaid
    alike = [{**rows[0], TRAINING_TIME: 50.0}, {**rows[1], TRAINING_TIME: 40.0}]
    assert best_reason(alike, names).startswith("★ 'full run' — against 'frozen run': ahead")
    # one scenario, about the same time, steps far apart: said (walkthrough 52's ★ stood on 245 steps against 87)
    busy = [{**rows[0], TRAINING_TIME: 60.0, "steps": 245, "scenario": "phased"},
            {**rows[1], TRAINING_TIME: 69.0, "steps": 87, "scenario": "phased"}]
    assert best_reason(busy, names).startswith("★ 'full run' — against 'frozen run' (87 steps to the ★ run's 245): ")
    apart = [{**busy[0], "scenario": "full"}, busy[1]]  # other scenarios step at other rates: unsaid
    assert best_reason(apart, names).startswith("★ 'full run' — against 'frozen run': ahead")
    # runs that learned from other data are said so, with what the evaluation receipts can show of it (walkthrough
    # 65 added its corrected photos to a run, set beneath the run without them on CORD dev alone); alike: unsaid
    ids = [row["run"] for row in rows]
    other_data = {ids[0]: ["cord-sample-train"], ids[1]: ["cord-sample-train", "wr-fix"]}
    assert best_reason(rows, names, other_data) == (
        "★ 'full run' — against 'frozen run' (trained on 'cord-sample-train' + 'wr-fix', the ★ run on "
        "'cord-sample-train'): ahead on field micro-F1 (0.929 vs 0.905, noise margin 0.009), level on item quantity "
        "acc. (0.950 vs 0.950, noise margin 0.007). Runs that trained on other data are compared on these evaluation "
        "receipts alone: what a dataset added shows on receipts like it (evaluate on some).")
    assert best_reason(rows, names, {ids[0]: ["a"], ids[1]: ["a"]}) == best_reason(rows, names)
    assert best_reason(rows, names, {ids[0]: ["a"], ids[1]: []}) == best_reason(rows, names)  # its data deleted
    # a run still training takes no part (walkthrough 21's ★ stood on a resumed run midway), and it is said
    # (walkthrough 22 read "none beats every other" with one ended run beside one training)
    assert best_reason([{**rows[0], "status": "running"}, rows[1]], names) == ""
    assert no_best_reason([{**rows[0], "status": "running"}, rows[1]], names) == (
        "No ★ yet: 'full run' is still training, and a ★ weighs runs that have ended, two or more on the same "
        "receipts.")
    # the page shows them through notice_markdown: a run's name, the user's text, stays literal
    from ui.literal import notice_markdown

    hostile = {"full": "**bold** <b>x</b> [l](http://e)", "frozen": "\u202eemanlanoitcerid"}
    shown = notice_markdown(no_best_reason([scored("full", 0.929, 0.90), scored("frozen", 0.908, 0.95)], hostile))
    assert "` **bold** <b>x</b> [l](http://e) `" in shown, shown
    assert "`\\u202eemanlanoitcerid`" in shown.replace(" ", ""), shown
    assert "` **bold** <b>x</b> [l](http://e) `" in notice_markdown(best_reason(rows, hostile))


def test_the_star_goes_by_the_saved_models_scores_the_table_shows_first():
    """A walkthrough's ★ stood on phased, whose saved model scored item accuracy 0.967 against freeze-backbone's
    0.987, from one evaluation midway at 0.987: the ★ now ranks the saved models, as the table's first columns and
    Predict do; a run that recorded no saved score is ranked by its best."""
    from receipt_core.training.run_summary import EVAL_ITEMS, clear_best_runs, listing_order

    def row(run, saved_items, best_items, items=150):
        return {"run": run, "eval set": "same", "eval receipts": 50, EVAL_ITEMS: items,
                "best fields.micro_f1": 0.93, "saved fields.micro_f1": 0.93,
                "best quantity.item_accuracy": best_items / items,
                "saved quantity.item_accuracy": None if saved_items is None else saved_items / items}

    phased, frozen = row("phased", 145, 148), row("frozen", 148, 148)
    assert clear_best_runs([phased, frozen]) == {"frozen"}
    assert [r["run"] for r in listing_order([phased, frozen], "quantity.item_accuracy")] == ["frozen", "phased"]
    older = row("older", None, 148)  # recorded before saved scores: its best
    assert clear_best_runs([phased, older]) == {"older"}


def test_the_runs_page_stars_no_run_on_a_gap_its_few_field_words_cannot_tell():
    from receipt_core.training.run_summary import EVAL_FIELD_WORDS, EVAL_ITEMS, clear_best_runs

    def row(run, f1, words):
        return {"run": run, "eval set": "same", "eval receipts": 15, "best fields.micro_f1": f1, EVAL_ITEMS: 33,
                EVAL_FIELD_WORDS: words, "best quantity.item_accuracy": 0.9}

    assert clear_best_runs([row("a", 0.782, 322), row("b", 0.771, 322)]) == set()
    assert clear_best_runs([row("a", 0.782, 322), row("b", 0.771, None)]) == set()  # an older run beside it
    assert clear_best_runs([row("a", 0.782, 20_000), row("b", 0.771, 20_000)]) == {"a"}


def test_a_tampered_resume_record_or_budget_is_read_within_bounds():
    """Probe 27: a run's resumed_from_steps set to [10**40, 0, 1, …, 19999] filled the Runs caption with 20,001
    steps, and a max_minutes of NaN or "5" took Runs → One run down in the Resume form."""
    from receipt_core.training.run_summary import RESUMED_AT, resumed_at
    from ui.run_resume import resume_budget, resume_budget_note

    assert RESUMED_AT == "resumed from step"
    assert resumed_at({"resumed_from_steps": [28]}) == "28"
    assert resumed_at({"resumed_from_steps": [28, 40]}) == "28, 40"
    assert resumed_at({"resumed_from_steps": [10 ** 40, *range(20000)]}) == "19900, 19901, 19902 and 97 more"
    assert resumed_at({"resumed_from_steps": [True, -1, "5", 2.5, None]}) is None
    assert resumed_at({"resumed_from_steps": "28"}) is None and resumed_at({}) is None
    for budget in (float("nan"), float("inf"), "5", True, None, -1, 0):
        assert resume_budget(budget, 0.5) == 0.0
        assert resume_budget_note(0.0, 0.5, 0.0).startswith("It had no time budget; its last checkpoint holds 0.5 min "
                                                            "of training")
    assert resume_budget(1.0, float("nan")) == 1.0 and resume_budget(1e308, 1e308) == 600.0
    assert resume_budget(1.0, 0.84) == 1.9
    # what the field holds now, not what it offered (walkthrough 31 typed 0.6 under "1.1 min more (1.3 in all)")
    assert resume_budget_note(1.0, 0.2, 1.3).startswith("It had a time budget of 1 min; its last checkpoint holds 0.2 "
                                                         "min of training: the field gives it about 1.1 min more (1.3 "
                                                         "in all)")
    assert "about 0.4 min more (0.6 in all)" in resume_budget_note(1.0, 0.2, 0.6)
    assert "the field's 0.1 min is under the time already used" in resume_budget_note(1.0, 0.2, 0.1)
    assert resume_budget_note(1.0, 0.2, 0.0) == ("It had a time budget of 1 min; its last checkpoint holds 0.2 min of "
                                                 "training. With no budget (0) it trains its remaining epochs.")
