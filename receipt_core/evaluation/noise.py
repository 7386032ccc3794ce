"""When a difference between two scores counts: the noise rule the study's reading uses, one home for every view.

Two scores differ only when they are further apart than :func:`margin`: the larger of :data:`NOISE_FLOOR` and
the sum of their spreads (sample standard deviations over seeds; 0 for a single run). A "best" is marked only
when :func:`clear_winner` finds one: no worse than any other on every metric, and measurably better than each on
at least one.
"""

from __future__ import annotations

from typing import Hashable, Mapping, Sequence, TypeVar

NOISE_FLOOR = 0.005
NOISE_NOTE = (f"Differences smaller than {NOISE_FLOOR} (or than the seeds' spread, with repeats) count as no "
              "difference.")

K = TypeVar("K", bound=Hashable)


def margin(std_a: float = 0.0, std_b: float = 0.0) -> float:
    """How far apart two scores must be to call a difference: the larger of 0.005 and their spreads' sum."""
    return max(NOISE_FLOOR, (std_a or 0.0) + (std_b or 0.0))


def compare(a: float, b: float, std_a: float = 0.0, std_b: float = 0.0) -> int:
    """+1 when ``a`` is measurably higher, -1 when ``b`` is, 0 within noise."""
    return 0 if abs(a - b) < margin(std_a, std_b) else (1 if a > b else -1)


def clear_winner(scores: Mapping[K, Sequence[tuple[float, float]]]) -> K | None:
    """The candidate that beats every other beyond noise, or None.

    ``scores`` maps each candidate to one ``(mean, std)`` per metric, in the same order for all. The leader (highest
    sum of means) wins when, against each other candidate, it is within noise or better on every metric and
    measurably better on at least one. Fewer than two candidates: no winner (nothing was compared).
    """
    if len(scores) < 2:
        return None
    leader = max(scores, key=lambda key: sum(mean for mean, _ in scores[key]))
    for other, theirs in scores.items():
        if other == leader:
            continue
        signs = [compare(m, n, s, t) for (m, s), (n, t) in zip(scores[leader], theirs)]
        if min(signs) < 0 or max(signs) <= 0:
            return None
    return leader
