"""Which run is worth its cost, in words, for the Runs page under its cost-vs-quality chart: the ★ weighs quality
only, and a walkthrough was left to weigh phased's +0.029 field F1 against its 2.3 times the training time itself.

Among the runs scored on the same receipts (:func:`.run_summary.comparable_groups`), by the ★'s own rule
(:func:`..evaluation.noise.clear_winner` on field micro-F1 and item quantity accuracy): with a ★, it is set beside
the cheapest run by training time; without one, the cheapest run is worth its cost when no run is ahead of it
beyond the noise (a walkthrough read "no run is marked best" above "… scores best … worth its cost" below).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..evaluation.noise import clear_winner, compare
from .run_summary import TRAINING_TIME, comparable_groups

CHEAPER = 1.2  # a run must train at least this many times faster to count as the cheaper one


def cost_reading(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> str | None:
    """One sentence per evaluation set with two or more finished, timed runs; None when there is none."""
    names = names or {}
    times = {row["run"]: row.get(TRAINING_TIME) for row in rows}
    # a run stopped by hand trained less, not faster: walkthrough 48's, stopped after 5 s, read "trains 3.1 times
    # faster" than the ★ run
    stopped = {row["run"] for row in rows if str(row.get("status", "")).startswith("stopped")}
    receipts = {row["run"]: row.get("eval receipts") for row in rows}  # the set itself is a hash of its ids
    said = []
    for scores, floors in comparable_groups(rows):
        timed = {run: pairs for run, pairs in scores.items() if isinstance(times.get(run), (int, float))
                 and times[run] > 0}
        if len(timed) < 2:
            continue

        def name(run: str) -> str:  # as the table shows it
            return repr(names.get(run, run))

        def quality(run: str) -> str:
            return f"field F1 {timed[run][0][0]:.3f}, item quantity accuracy {timed[run][1][0]:.3f}"

        def level_with_all(run: str) -> bool:  # no run ahead of it beyond the noise, on either metric
            return all(compare(timed[run][i][0], timed[other][i][0], floor=floors(run, other)[i]) >= 0
                       for other in timed if other != run for i in range(2))

        where = f"Scored on the same {receipts[next(iter(timed))]} receipts"
        if not (ended := [run for run in timed if run not in stopped]):
            continue
        cheapest = min(ended, key=lambda run: times[run])
        slowest = max(timed, key=lambda run: times[run])
        star = clear_winner(timed, floors)
        if star is not None and times[cheapest] * CHEAPER > times[star]:
            said.append(f"{where}, the ★ run {name(star)} scores best ({quality(star)}) and trained about as fast "
                        f"as any ({times[star]:.0f} s): worth its cost.")
        elif star is not None:
            said.append(f"{where}, the ★ run {name(star)} scores best ({quality(star)}) in {times[star]:.0f} s of "
                        f"training; the cheapest run, {name(cheapest)}, trained in {times[cheapest]:.0f} s "
                        f"({times[star] / times[cheapest]:.1f} times less) with {quality(cheapest)}: weigh that "
                        "against your volume of receipts.")  # "times faster" read as speed at the same work, of
        # runs given budgets of 1 and 2 minutes (walkthrough 61)
        elif level_with_all(cheapest) and times[slowest] >= CHEAPER * times[cheapest]:
            said.append(f"{where}, no run is ahead of {name(cheapest)} beyond the noise ({quality(cheapest)}), and "
                        f"it trained fastest ({times[cheapest]:.0f} s, to {times[slowest]:.0f} s for "
                        f"{name(slowest)}): worth its cost.")
        elif level_with_all(cheapest):
            said.append(f"{where}, the runs are level within the noise and trained in about the same time: any of "
                        "them is worth its cost.")
        else:
            said.append(f"{where}, no run is ahead on both metrics; the cheapest, {name(cheapest)}, trained in "
                        f"{times[cheapest]:.0f} s with {quality(cheapest)}: weigh the others' gains in the table "
                        "above against their training time.")
    return " ".join(said) or None
