"""Learning-rate schedules as a factor on each group's base rate, by how far a run is (no torch needed)."""

from __future__ import annotations

LR_SCHEDULES = ("constant", "linear")


def budget_share(elapsed_s: float, setup_s: float, budget_s: float) -> float:
    """How far a run is through its time budget as its learning sees it, 0…1: the time spent building feature
    caches (``setup_s``: the frozen layers' one forward pass over the receipts) is left out of both the time used
    and the budget, so the learning-rate schedule covers the steps the run has. A race's 60-second freeze-backbone
    run spent 28 s filling its cache, and its second step already ran at half its rate (a walkthrough). The budget
    itself still ends the run at its wall-clock time."""
    learning = budget_s - setup_s
    if learning <= 0:
        return 1.0
    return min(max((elapsed_s - setup_s) / learning, 0.0), 1.0)


def lr_multiplier(schedule: str, progress: float, warmup: float) -> float:
    """The factor on every group's base rate at ``progress`` (0 = start, 1 = end of the run).

    ``constant``: 1. ``linear``: rises linearly over the first ``warmup`` of the run, then falls linearly to 0 at
    the end (the schedule of BERT fine-tuning, ``transformers.get_linear_schedule_with_warmup``).
    """
    if schedule == "constant":
        return 1.0
    if schedule != "linear":
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; known: {LR_SCHEDULES}")
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return progress / warmup
    return (1.0 - progress) / (1.0 - warmup)


def budget_dropped_note(schedule: str, warmup: float, budget_minutes: float | None, elapsed_s: float, step: int,
                        total_steps: int, new_budget_minutes: float | None = None, setup_s: float = 0.0) -> str | None:
    """What resuming under ``new_budget_minutes`` (None: no budget) does to the rate of a run that had a budget of
    ``budget_minutes`` (its schedule went by the larger of its steps and its time, ``TrainingLoop.run_progress``),
    when the rate goes back up; else None. An audit resumed a run stopped by its budget at a rate of 0 and saw it
    restart at 70 % of its peak, unsaid; a larger budget than the run's own does the same, less. ``setup_s``: the
    part of ``elapsed_s`` spent building feature caches, which the schedule leaves out (:func:`budget_share`)."""
    if schedule == "constant" or not budget_minutes or not total_steps:
        return None
    by_steps = step / total_steps
    was = lr_multiplier(schedule, max(by_steps, budget_share(elapsed_s, setup_s, budget_minutes * 60)), warmup)
    now = lr_multiplier(schedule, max(by_steps, budget_share(elapsed_s, setup_s, new_budget_minutes * 60))
                        if new_budget_minutes else by_steps, warmup)
    if now <= was + 0.05:
        return None
    if new_budget_minutes:
        minutes = f"{new_budget_minutes:g} minute{'s' if new_budget_minutes != 1 else ''}"
        return (f"this run's learning rate fell with its {budget_minutes:g}-minute time budget, to {was:.0%} of its "
                f"peak when it stopped; resumed within {minutes} in all, its {schedule} schedule "
                f"is spread over the longer time, so the rate goes back up to {now:.0%} of the peak and comes down "
                f"again by the new end. A budget of {budget_minutes:g} min in all, its own, continues the first "
                "descent instead")
    return (f"this run's learning rate fell with its {budget_minutes:g}-minute time budget, to {was:.0%} of its peak "
            f"when it stopped; resumed without a budget, its {schedule} schedule goes by steps alone, from step "
            f"{step} of {total_steps}, so the rate goes back up to {now:.0%} of the peak: a second descent rather "
            "than the first one continued. Give a budget to resume within one")
