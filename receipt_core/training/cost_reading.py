"""Which run is worth its cost, in words, for the Runs page under its cost-vs-quality chart: the ★ weighs quality
only, and a walkthrough was left to weigh phased's +0.029 field F1 against its 2.3 times the training time itself.

Among the runs scored on the same receipts (:func:`.run_summary.comparable_groups`), the run with the best field
micro-F1 is set beside the cheapest run by training time: when the cheaper run is level with it on both of the ★'s
metrics (within the noise rule), it is the one worth its cost; otherwise the line says what the extra time buys.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..evaluation.noise import compare
from .run_summary import TRAINING_TIME, comparable_groups

CHEAPER = 1.2  # a run must train at least this many times faster to count as the cheaper one


def cost_reading(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> str | None:
    """One sentence per evaluation set with two or more finished, timed runs; None when there is none."""
    names = names or {}
    times = {row["run"]: row.get(TRAINING_TIME) for row in rows}
    receipts = {row["run"]: row.get("eval receipts") for row in rows}  # the set itself is a hash of its ids
    said = []
    for scores, floors in comparable_groups(rows):
        timed = {run: pairs for run, pairs in scores.items() if isinstance(times.get(run), (int, float))
                 and times[run] > 0}
        if len(timed) < 2:
            continue
        best = max(timed, key=lambda run: (timed[run][0][0], timed[run][1][0]))
        level = [run for run in timed
                 if all(compare(timed[run][i][0], timed[best][i][0], floor=floors[i]) >= 0 for i in range(2))]
        cheapest_level = min(level, key=lambda run: times[run])
        cheapest = min(timed, key=lambda run: times[run])
        where = f"Scored on the same {receipts[best]} receipts"

        def name(run: str) -> str:  # as the table shows it
            return repr(names.get(run, run))

        def f1(run: str) -> str:
            return f"{timed[run][0][0]:.3f}"

        def items(run: str) -> str:
            return f"{timed[run][1][0]:.3f}"

        if cheapest_level != best and times[best] >= CHEAPER * times[cheapest_level]:
            said.append(f"{where}, {name(cheapest_level)} is worth its cost: level with the best run, {name(best)}, "
                        f"within the noise (field F1 {f1(cheapest_level)} vs {f1(best)}), in "
                        f"{times[cheapest_level]:.0f} s of training to its {times[best]:.0f} s "
                        f"({times[best] / times[cheapest_level]:.1f} times less).")
        elif cheapest == best:
            said.append(f"{where}, {name(best)} scores best (field F1 {f1(best)}) and trained fastest "
                        f"({times[best]:.0f} s): worth its cost.")
        elif times[cheapest] * CHEAPER > times[best]:
            said.append(f"{where}, {name(best)} scores best (field F1 {f1(best)}) and trained about as fast as the "
                        f"cheapest run, {name(cheapest)} ({times[best]:.0f} s to {times[cheapest]:.0f} s): worth its "
                        "cost.")
        else:
            said.append(f"{where}, {name(best)} scores best (field F1 {f1(best)}, item quantity accuracy "
                        f"{items(best)}) in {times[best]:.0f} s of training; the cheapest run, {name(cheapest)}, "
                        f"trains {times[best] / times[cheapest]:.1f} times faster ({times[cheapest]:.0f} s) and "
                        f"scores {f1(cheapest)} and {items(cheapest)}: weigh that against your volume of receipts.")
    return " ".join(said) or None
