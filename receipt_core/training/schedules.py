"""Learning-rate schedules as a factor on each group's base rate, by how far a run is (no torch needed)."""

from __future__ import annotations

LR_SCHEDULES = ("constant", "linear")


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
