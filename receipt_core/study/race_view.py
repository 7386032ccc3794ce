"""A race as the dashboard draws it: its runs' curves overlaid, and each run's cost beside its quality.

No Streamlit here. :class:`RaceFeed` keeps one :class:`~receipt_core.training.run_feed.RunFeed` per run of a race
(a cursor into the run's stored events, so a refresh reads only what is new); :func:`race_curves` overlays the
runs' training loss and validation scores, one series per configuration, with the step, epoch and wall-clock
columns of the run feed; :func:`race_rows` is the table of cost (trainable parameters, seconds, steps, epochs)
beside quality (the headline metrics): a finished run's from its result, a running run's as of its last
evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Mapping

import pandas as pd

from ..training.events import HEADLINE_METRICS
from ..training.run_feed import CURVE_COLUMNS, RunCurves, RunFeed
from ..training.run_summary import ended_status
from .race_record import RaceEntry, RaceRecord
from .runner import train_config
from ..training.events import METRIC_LABELS
from ..wording import epochs_done

RACE_CHARTS = (("training loss", "loss", "total"), ("field micro-F1", "F1", "fields.micro_f1"),
               ("item quantity accuracy", "accuracy", "quantity.item_accuracy"))
"""(title, y axis, series) of the overlaid charts: the training loss, and the two headline scores."""
RACE_COLUMNS = ("configuration", "training s", "epochs", METRIC_LABELS["fields.micro_f1"],
                METRIC_LABELS["quantity.item_accuracy"], "status", "trainable parameters", "share of own model trained",
                "steps", "wall s",
                *(METRIC_LABELS[m] for m in HEADLINE_METRICS if m not in ("fields.micro_f1", "quantity.item_accuracy")))
"""The table's columns: the training time and epochs beside the two headline scores first, so they show without
scrolling (at 1366 px walkthrough 29's last header in view was "trainin…"), then the status and the parameters."""
DELETED_RUN = "run deleted"  # said after the status of a run deleted since the race: its curves are gone


class RaceFeed:
    """The run feeds of one race's runs; each session keeps its own (``poll`` reads only the new events)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._feeds: dict[str, RunFeed] = {}

    def poll(self, source, record: RaceRecord) -> dict[str, RunCurves]:
        """Every started run's curves (run id → RunCurves), brought up to date."""
        curves = {}
        for entry in record.entries:
            if entry.run_id is None:
                continue
            feed = self._feeds.setdefault(entry.run_id, RunFeed(entry.run_id))
            feed.poll(source)
            curves[entry.run_id] = feed.curves()
        return curves


def deleted_runs(record: RaceRecord, kept_run_ids: Collection[str]) -> dict[str, str]:
    """The race's started runs that are no longer among ``kept_run_ids`` (deleted on Runs): run id → label."""
    return {entry.run_id: entry_label(record, entry) for entry in record.entries
            if entry.run_id is not None and entry.run_id not in kept_run_ids}


def entry_label(record: RaceRecord, entry: RaceEntry) -> str:
    """A run's name in the race's legends and table: its configuration, and its seed when there are repeats."""
    return entry.name + (f" (seed {entry.seed})" if record.plan.settings.repeats > 1 else "")


def entry_smoothing(record: RaceRecord) -> dict[str, float]:
    """Each started run's label smoothing (its training loss's floor, :func:`..plots.run_charts.label_smoothing_note`)
    by its label in the race's charts; 0 for the plain reference, and for settings that no longer make a config. A
    run not started yet draws no curve, so it is not named (a walkthrough read phased named before it ran)."""
    smoothing = {}
    for entry in (entry for entry in record.entries if entry.run_id is not None):
        try:
            value = 0.0 if entry.config.is_reference else train_config(entry.config, record.plan.settings,
                                                                          entry.seed).label_smoothing
        except ValueError:
            value = 0.0
        smoothing[entry_label(record, entry)] = value
    return smoothing


def race_curves(record: RaceRecord, curves: Mapping[str, RunCurves], series: str) -> pd.DataFrame:
    """One chart's overlay: ``series`` (``total`` for the training loss, else a metric such as
    ``fields.micro_f1``) of every started run, relabelled by configuration (columns ``CURVE_COLUMNS``)."""
    parts = []
    for entry in record.entries:
        run = curves.get(entry.run_id or "")
        if run is None:
            continue
        frame = run.train_loss if series == "total" else run.metrics
        parts.append(frame[frame["series"] == series].assign(series=entry_label(record, entry)))
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(CURVE_COLUMNS))


def race_rows(record: RaceRecord, curves: Mapping[str, RunCurves],
              deleted: Collection[str] = ()) -> list[dict[str, Any]]:
    """One row per run: status, cost (trainable parameters and their share, training and wall seconds, steps,
    epochs) and quality (the headline metrics; None where not measured yet). A run in ``deleted`` (run ids
    deleted from the workspace since) keeps the figures the race recorded, and its status says it is gone."""
    rows = []
    for entry in record.entries:
        row: dict[str, Any] = dict.fromkeys(RACE_COLUMNS)
        result, run = entry.result, curves.get(entry.run_id or "")
        status = ended_status(entry.status, result.finished, result.steps) if result is not None else entry.status
        status = f"{status} · {DELETED_RUN}" if entry.run_id in deleted else status
        row.update({"configuration": entry_label(record, entry), "status": status})
        if result is not None:
            row.update({"trainable parameters": result.trainable_parameters,
                        "share of own model trained": _share(result.trainable_parameters, result.total_parameters),
                        "training s": result.train_s, "wall s": result.wall_s, "steps": result.steps,
                        # in tenths rounded down, as the reading and Train's status line count them (walkthrough
                        # 33 read 6.68 here and "after 6.6 epochs" in the reading)
                        "epochs": float(epochs_done(result.epochs)),
                        **{METRIC_LABELS[m]: result.metrics.get(m) for m in HEADLINE_METRICS}})
        elif run is not None:
            row.update({"trainable parameters": run.trainable_parameters,
                        "share of own model trained": _share(run.trainable_parameters, run.total_parameters),
                        "training s": run.progress.elapsed_s if run.progress else None,
                        "steps": run.progress.step if run.progress else None,
                        **{METRIC_LABELS[m]: _latest(run.metrics, m) for m in HEADLINE_METRICS}})
        rows.append(row)
    return rows


@dataclass(frozen=True)
class EarlyEnd:
    """A run of an ended race named beside its cost table (ended before the time budget, or far past it)."""

    label: str  # as the table names it (entry_label)
    epochs: float
    train_s: float


def ended_before_budget(record: RaceRecord) -> list[EarlyEnd]:
    """The runs of an ended race that stopped on their own epochs before its time budget: the budget did not give
    them equal time, which a reader of the cost table must know (a walkthrough's 15-second race: full stopped after
    its 12 epochs at 9.9 s, freeze-backbone after its 20 at 14.0 s, under "the same time budget"). Empty while
    the race runs and when it has no budget."""
    return _budgeted_runs(record, lambda result, budget_s: result.finished == "completed")


def cut_by_budget(record: RaceRecord) -> list[EarlyEnd]:
    """The runs of an ended race that its time budget stopped before their planned epochs."""
    return _budgeted_runs(record, lambda result, budget_s: result.finished == "time budget")


# a run whose training seconds pass its budget by more than this share is named beside the table (a walkthrough's
# 60-second race ran 66 s and 72 s, under the 25 % this once was, and only the Studies text said so)
OVERRUN = 1.1


def overran_budget(record: RaceRecord) -> list[EarlyEnd]:
    """The runs of an ended race whose training seconds passed its time budget by more than :data:`OVERRUN`: the
    budget is checked between steps, and a run's first steps (a frozen backbone's feature fill) and first
    evaluation and save come before it knows how long they take, so a short budget is overrun by far (a
    walkthrough's 5-second race reported 31-40 training seconds on the Race page with no word why)."""
    return _budgeted_runs(record, lambda result, budget_s: result.train_s > OVERRUN * budget_s)


def _budgeted_runs(record: RaceRecord, named) -> list[EarlyEnd]:
    """The ended runs of a race with a budget for which ``named(result, budget in seconds)`` holds; empty while it
    runs or without a budget."""
    budget = record.plan.settings.budget_minutes
    if record.is_live or budget is None:
        return []
    return [EarlyEnd(entry_label(record, entry), entry.result.epochs, entry.result.train_s)
            for entry in record.entries if entry.result is not None and named(entry.result, budget * 60)]


def no_epoch_finished(record: RaceRecord) -> bool:
    """Whether an ended race's runs all stopped within their first epoch: its scores compare near-untrained models
    (a walkthrough's 30-second race on a loaded machine: one step each, both scoring 0.074, with nothing said)."""
    results = [entry.result for entry in record.entries if entry.result is not None]
    return not record.is_live and bool(results) and all(result.epochs < 1 for result in results)


def _share(trainable: int | None, total: int | None) -> float | None:
    return trainable / total if trainable is not None and total else None


def _latest(metrics: pd.DataFrame, name: str) -> float | None:
    values = metrics[metrics["series"] == name]["value"]
    return float(values.iloc[-1]) if len(values) else None
