"""The batches of a training epoch: one home for how every task of the loop orders its windows."""

from __future__ import annotations

from typing import Sequence

from ..model.encoding import EncodedWindow, length_grouped_batches


def epoch_batches(windows: Sequence[EncodedWindow], batch_size: int, seed: int, epoch: int) -> list[tuple[int, ...]]:
    """Length-grouped batches of window indices for ``epoch``: the same for the same seed and epoch, shuffled
    anew each epoch (the two-head model, the reference and pre-training all batch this way)."""
    return [tuple(indices) for indices in length_grouped_batches(windows, batch_size, seed=seed * 100_003 + epoch)]
