"""The points of Runs' cost-vs-quality chart: each run by its name and scenario, one that did not train its whole
plan marked so at its point (a walkthrough read a run it had stopped half way as the cheaper winner)."""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from receipt_core.training.run_summary import BUDGET_CUT

REFERENCE_SCENARIO = "reference tagger"  # the one scored kind with no scenario


def cost_quality_points(table: pd.DataFrame, cost: str, quality: str,
                        colors: Mapping[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """``table``'s name, scenario, ``cost`` and ``quality`` columns, a run not ``finished`` named with its status
    ("(stopped)", "(time budget)": "(finished (time budget))" read badly), and ``colors`` (name → overlay colour)
    with each renamed run keeping its colour."""
    points = table[["name", "scenario", cost, quality]].copy()
    points["scenario"] = points["scenario"].fillna(REFERENCE_SCENARIO)
    status = table["status"].fillna("")
    unfinished = status != "finished"
    marked = points.loc[unfinished, "name"] + " (" + status[unfinished].replace(BUDGET_CUT, "time budget") + ")"
    kept = {**colors, **{new: colors[old] for old, new in zip(points.loc[unfinished, "name"], marked)
                         if old in colors}}
    points.loc[unfinished, "name"] = marked
    return points, kept
