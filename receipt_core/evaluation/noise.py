"""When a difference between two scores counts: the noise rule the study's reading uses, one home for every view.

Two scores differ only when they are further apart than :func:`margin`: the larger of :data:`NOISE_FLOOR`, the
sum of their spreads (sample standard deviations over seeds; 0 for a single run), for item accuracy one item of the
evaluation set (:func:`one_item`), and for field micro-F1 the sampling error of a score over that few words
(:func:`few_words`). A "best" is marked only
when :func:`clear_winner` finds one: no worse than any other on every metric, and measurably better than each on
at least one.
"""

from __future__ import annotations

from typing import Callable, Hashable, Mapping, Sequence, TypeVar

NOISE_FLOOR = 0.005
NOISE_NOTE = (f"Differences smaller than {NOISE_FLOOR} (or than the seeds' spread, with repeats, or than one item "
              "of the evaluation set for item accuracy, or than the sampling error of field F1 over the evaluation "
              "set's field words) count as no difference.")

K = TypeVar("K", bound=Hashable)


def margin(std_a: float = 0.0, std_b: float = 0.0, floor: float = 0.0) -> float:
    """How far apart two scores must be to call a difference: the larger of 0.005, their spreads' sum and
    ``floor`` (the metric's own resolution: more than one item of the evaluation set for item accuracy)."""
    return max(NOISE_FLOOR, (std_a or 0.0) + (std_b or 0.0), floor)


def compare(a: float, b: float, std_a: float = 0.0, std_b: float = 0.0, floor: float = 0.0) -> int:
    """+1 when ``a`` is measurably higher, -1 when ``b`` is, 0 within noise."""
    return 0 if abs(a - b) < margin(std_a, std_b, floor) else (1 if a > b else -1)


def one_item(items: Sequence[object]) -> float:
    """The floor for item accuracy over evaluations of ``items`` items each: a difference of one item is no
    difference (one of 150 is 0.0067, over the 0.005 floor); 0 when a count is missing."""
    counts = [n for n in items if isinstance(n, (int, float)) and not isinstance(n, bool) and n > 0]
    return 1.0 / min(counts) + 1e-9 if counts and len(counts) == len(items) else 0.0


def few_words(scores: Sequence[object], words: Sequence[object]) -> float:
    """The floor for field micro-F1 over evaluations of ``words`` field words each: the standard error of a share
    of that many words, sqrt(F1 (1 - F1) / words), at the scores' mean and the fewest words. 2,000 words at 0.95
    give 0.005, the fixed floor; a walkthrough's race on 15 receipts (322 words) called 0.782 vs 0.771 "held",
    where the error is 0.023. Counts that are missing (runs recorded before they were kept) or no whole number of at
    least 1 are left out; 0 when none is left, or no score."""
    # the known counts: runs compared here were scored on the same receipts, so one run recorded before the count
    # was kept does not take the floor away from the others (a probe's old run brought the star back)
    counts = [n for n in words if isinstance(n, (int, float)) and not isinstance(n, bool) and n >= 1
              and float(n).is_integer()]
    values = [v for v in scores if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1]
    if not counts or not values:
        return 0.0
    mean = sum(values) / len(values)
    return (mean * (1 - mean) / min(counts)) ** 0.5


PairFloors = Callable[[K, K], Sequence[float]]
"""Each metric's floor for one pair of candidates: field F1's sampling error depends on the two scores compared, so a
pair's margin is the pair's own, not one moved by an unrelated run (walkthrough 50: adding a reference run changed
two runs' "noise margin 0.008" to 0.009)."""


def pair_floors(floors: Sequence[float] | PairFloors, a: K, b: K) -> Sequence[float]:
    """The floors that apply between ``a`` and ``b``: ``floors`` itself, or what it gives for the pair."""
    return floors(a, b) if callable(floors) else floors


def clear_winner(scores: Mapping[K, Sequence[tuple[float, float]]],
                 floors: Sequence[float] | PairFloors = ()) -> K | None:
    """The candidate that beats every other beyond noise, or None.

    ``scores`` maps each candidate to one ``(mean, std)`` per metric, in the same order for all; ``floors`` gives
    each metric's own smallest difference (:func:`one_item`), 0 when left out, for every pair or (a
    :data:`PairFloors`) per pair. The leader (highest sum of means)
    wins when, against each other candidate, it is within noise or better on every metric and measurably better on
    at least one. Fewer than two candidates: no winner (nothing was compared).
    """
    if len(scores) < 2:
        return None
    leader = max(scores, key=lambda key: sum(mean for mean, _ in scores[key]))
    for other, theirs in scores.items():
        if other == leader:
            continue
        floor = pair_floors(floors, leader, other)
        signs = [compare(m, n, s, t, floor[i] if i < len(floor) else 0.0)
                 for i, ((m, s), (n, t)) in enumerate(zip(scores[leader], theirs))]
        if min(signs) < 0 or max(signs) <= 0:
            return None
    return leader
