"""Runs → One run: the chosen run's scores and cost as a short table of its own, read from the row the runs table
shows (a walkthrough found settings, phases and downloads there, but no score or time of the run it was reading)."""

from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd

from receipt_core.training.events import HEADLINE_METRICS, METRIC_LABELS
from receipt_core.training.run_summary import BEST_BY, RESUMED_AT, SAVED, TRAINING_TIME


def run_scores(row: Mapping[str, Any]) -> pd.DataFrame:
    """One line per figure of ``row`` (a ``run_summary`` row): the saved model's scores, the best of each metric
    over its evaluations, the receipts they were scored on, and what the run cost. Figures it has none of are
    left out."""
    lines = [(f"saved model's {METRIC_LABELS[m]}", row.get(f"{SAVED} {m}"), "score") for m in BEST_BY]
    lines += [(f"best {METRIC_LABELS[m]} over its evaluations", row.get(f"best {m}"), "score")
              for m in HEADLINE_METRICS]
    lines += [("evaluation receipts", row.get("eval receipts"), "count"),
              ("trainable parameters", row.get("trainable parameters"), "count"),
              (TRAINING_TIME, row.get(TRAINING_TIME), "seconds"), ("steps", row.get("steps"), "count"),
              ("resumed from step", row.get(RESUMED_AT), "text")]
    shown = [{"figure": name, "value": _shown(value, kind)} for name, value, kind in lines if _known(value)]
    return pd.DataFrame(shown, columns=["figure", "value"])


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _shown(value: Any, kind: str) -> str:
    if kind == "score":
        return f"{float(value):.3f}"
    if kind == "seconds":
        return f"{float(value):,.1f}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


LINE_HEIGHT, CHARACTERS_PER_LINE = 22, 60  # the settings table's "what it is" cell at 1366 px
TABLE_HEADER_HEIGHT = 36  # a dataframe's header row, in pixels


def settings_row_height(abouts: list[str]) -> int:
    """Rows tall enough for the longest "what it is" (3 to 6 lines): three cut the time budget's off mid-line (a
    walkthrough)."""
    longest = max((len(about) for about in abouts), default=0)
    return LINE_HEIGHT * min(6, max(3, -(-longest // CHARACTERS_PER_LINE)))


def settings_table_height(rows: int, row_height: int, most: int = 640) -> int:
    """The settings table's height in pixels: its header and whole rows, as many as fit in ``most``."""
    shown = min(rows, max(1, (most - TABLE_HEADER_HEIGHT) // row_height))
    return TABLE_HEADER_HEIGHT + shown * row_height + 3  # and the grid's borders
