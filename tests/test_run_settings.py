"""A run's settings on the Runs page: differences from the defaults of the run's own scenario (or kind), or from
another run, never a raw dump of the stored config."""

from __future__ import annotations

import dataclasses

from receipt_core.training.config import CAPABLE_HEADS, ReferenceConfig, TrainConfig
from receipt_core.training.run_settings import defaults_title, settings_diff
from receipt_core.training.runs import RUN_KIND


def stored(config: TrainConfig, train_ids=("a", "b", "c"), eval_ids=("d",)) -> dict:
    """A two-head run's config as the workspace stores it (training.runs.start_run)."""
    return {**config.to_json(), RUN_KIND: "receipt", "train_documents": len(train_ids),
            "eval_documents": len(eval_ids), "train_ids": list(train_ids), "eval_ids": list(eval_ids)}


COUNTS = {"train_documents", "eval_documents"}  # shown beside the defaults, which have no documents


def rows(changes) -> list[tuple[str, str, str]]:
    return [(c.setting, c.value, c.baseline) for c in changes if c.setting not in COUNTS]


def test_a_run_started_with_its_scenarios_defaults_differs_only_in_its_documents():
    for scenario in ("phased", "freeze-backbone", "full"):
        config = stored(TrainConfig.for_scenario(scenario))
        changes = settings_diff(config)
        assert [(c.setting, c.value, c.baseline) for c in changes] == [("train_documents", "3", "–"),
                                                                         ("eval_documents", "1", "–")], scenario
        assert defaults_title(config) == f"{scenario} defaults"


def test_a_changed_setting_is_shown_against_its_scenarios_default_not_the_bare_configs():
    changes = settings_diff(stored(TrainConfig.for_scenario("phased", epochs=20, seed=3)))
    assert rows(changes) == [("epochs", "20", "12"), ("seed", "3", "0")]
    # the heads phased brings (contextual, head rate 3e-3) are its defaults, so they are not listed
    assert not {c.setting for c in changes} & set(CAPABLE_HEADS)
    # a full fine-tuning run that asks for the contextual head lists it against full's linear default
    full = settings_diff(stored(TrainConfig.for_scenario("full", head="contextual")))
    assert rows(full) == [("head", "contextual", "linear")]
    # a race's 20 s budget: a walkthrough read max_minutes 0.3333333333333333
    raced = settings_diff(stored(TrainConfig.for_scenario("full", max_minutes=20 / 60)))
    assert rows(raced) == [("max_minutes", "0.3333", "no budget")]
    # what None means, and what each setting is (a walkthrough read phased_top_k "3" against "(none)")
    auto = settings_diff(stored(TrainConfig.for_scenario("phased", phased_top_k=3)))
    assert rows(auto) == [("phased_top_k", "3", "auto (3, or 2 under a budget)")]
    assert auto[0].about.startswith("phased: encoder layers unfrozen in phase 2")
    # the receipt the Train page watched is not a setting
    assert settings_diff(stored(TrainConfig.for_scenario("full", watch=("d",))))[2:] == []


def test_reference_runs_compare_with_the_reference_defaults():
    config = {**dataclasses.asdict(ReferenceConfig(epochs=7)), RUN_KIND: "reference", "train_documents": 2,
              "eval_documents": 1, "train_ids": ["a", "b"], "eval_ids": ["c"]}
    assert rows(settings_diff(config)) == [("epochs", "7", "50")]
    assert defaults_title(config) == "reference defaults"


def test_against_another_run_the_documents_are_counts_with_how_many_are_shared():
    mine = stored(TrainConfig.for_scenario("phased"), train_ids=("a", "b", "c"))
    theirs = stored(TrainConfig.for_scenario("full"), train_ids=("b", "c", "x", "y"))
    changes = {c.setting: c for c in settings_diff(mine, theirs)}
    assert changes["scenario"].value == "phased" and changes["scenario"].baseline == "full"
    assert changes["head"].value == "contextual" and changes["head"].baseline == "linear"
    assert changes["train_ids"].value == "3 documents (2 shared)" and changes["train_ids"].baseline == "4 documents"
    assert "eval_ids" not in changes  # the same evaluation documents
    # phased-only settings: a full run has none (a walkthrough read "epochs_per_phase 2 vs 1" against full)
    mine = stored(TrainConfig.for_scenario("phased", epochs_per_phase=2))
    theirs = stored(TrainConfig.for_scenario("full"))
    changes = {c.setting: c for c in settings_diff(mine, theirs)}
    assert (changes["epochs_per_phase"].value, changes["epochs_per_phase"].baseline) == ("2", "–")
    full_a, full_b = stored(TrainConfig.for_scenario("full")), stored(TrainConfig.for_scenario("full", patience=3))
    assert "patience" not in {c.setting for c in settings_diff(full_a, full_b)}


def test_resuming_a_budgeted_run_without_its_budget_says_the_rate_goes_back_up():
    """An audit resumed a run its 0.1-minute budget had stopped (its linear rate at 0) without a budget: it went on
    at 70 % of the peak rate, the schedule going by steps again, and nothing said so."""
    from receipt_core.training.schedules import budget_dropped_note

    note = budget_dropped_note("linear", 0.06, 0.1, 6.3, 102, 300)
    assert note == ("this run's learning rate fell with its 0.1-minute time budget, to 0% of its peak when it "
                    "stopped; resumed without a budget, its linear schedule goes by steps alone, from step 102 of "
                    "300, so the rate goes back up to 70% of the peak: a second descent rather than the first one "
                    "continued. Give a budget to resume within one")
    assert budget_dropped_note("constant", 0.06, 0.1, 6.3, 102, 300) is None  # the rate never fell
    assert budget_dropped_note("linear", 0.06, None, 6.3, 102, 300) is None  # no budget to drop
    assert budget_dropped_note("linear", 0.06, 10.0, 6.3, 102, 300) is None  # its steps led the schedule, not time
    # a larger budget than its own spreads the schedule over more time: the rate goes back up too (a walkthrough)
    larger = budget_dropped_note("linear", 0.06, 0.1, 6.3, 102, 300, new_budget_minutes=1.0)
    assert larger == ("this run's learning rate fell with its 0.1-minute time budget, to 0% of its peak when it "
                      "stopped; resumed within 1 minute in all, its linear schedule is spread over the longer time, "
                      "so the rate goes back up to 70% of the peak and comes down again by the new end. A budget of "
                      "0.1 min in all, its own, continues the first descent instead")
    assert budget_dropped_note("linear", 0.06, 0.1, 6.3, 102, 300, new_budget_minutes=0.1) is None  # its own


def test_runs_resume_reads_that_note_from_the_checkpoint(tmp_path):
    import json

    from receipt_core.training.run_settings import schedule_after_resume

    config = {"lr_schedule": "linear", "warmup": 0.06, "max_minutes": 0.1}
    (tmp_path / "run.json").write_text(json.dumps({"state": {"elapsed_s": 6.3, "global_step": 102,
                                                             "total_steps": 300}}))
    assert "goes back up to 70% of the peak" in schedule_after_resume(tmp_path, config)
    assert schedule_after_resume(tmp_path, {**config, "max_minutes": None}) is None
    (tmp_path / "run.json").write_text("[1, 2")  # damaged: Runs says so elsewhere
    assert schedule_after_resume(tmp_path, config) is None
    # edited progress (a probe): no note and no crash here; Resume refuses the run with the reason
    (tmp_path / "run.json").write_text(json.dumps({"state": {"elapsed_s": "abc", "global_step": 102}}))
    assert schedule_after_resume(tmp_path, config) is None
