"""A run's stored events folded into the Runs page's table row and its metrics CSV.

Like :class:`~receipt_core.training.run_feed.RunFeed`, this reads the workspace's ``run_events``, rebuilds each
event as its class (``event_from_json``) and dispatches on the class.
"""

from __future__ import annotations

from typing import Any, Protocol

from .events import (EvalEvent, FinishedEvent, HEADLINE_METRICS, PhaseEvent, ProgressEvent, StepEvent,
                     event_from_json, flatten_metrics)


class _EventSource(Protocol):  # receipt_core.workspace.store.Workspace
    def run_events(self, run_id: str, after_seq: int = 0, kinds=None) -> list: ...


def _events(source: _EventSource, run_id: str, kinds: list[str]) -> list:
    return [event_from_json(record.kind, record.payload) for record in source.run_events(run_id, kinds=kinds)]


def run_summary(source: _EventSource, run) -> dict[str, Any]:
    """One row of the Runs table for ``run`` (a workspace RunRecord): settings, trainable parameters (the most of
    any phase), wall time, steps and the best value of each of ``HEADLINE_METRICS`` (``best <name>``)."""
    config = run.config
    row: dict[str, Any] = {"run": run.id, "name": run.name, "status": run.status, "backbone": config.get("backbone"),
                           "scenario": config.get("scenario"), "trainable parameters": None, "total parameters": None,
                           "wall time (s)": None, "steps": None}
    best: dict[str, float] = {}
    for event in _events(source, run.id, [PhaseEvent.kind, EvalEvent.kind, ProgressEvent.kind, FinishedEvent.kind]):
        if isinstance(event, PhaseEvent):
            row["trainable parameters"] = max(row["trainable parameters"] or 0, event.trainable_parameters or 0)
            row["total parameters"] = event.total_parameters
        elif isinstance(event, EvalEvent):
            metrics = flatten_metrics(event.metrics)
            for name in HEADLINE_METRICS:
                if name in metrics:
                    best[name] = max(best.get(name, float("-inf")), metrics[name])
        elif isinstance(event, (ProgressEvent, FinishedEvent)):
            row["wall time (s)"] = event.elapsed_s
            row["steps"] = event.step
    row.update({f"best {name}": best.get(name) for name in HEADLINE_METRICS})
    return row


def run_metrics_rows(source: _EventSource, run_id: str) -> list[dict[str, Any]]:
    """Every step and evaluation of a run as flat rows (the metrics CSV): losses and learning rate of the steps,
    validation loss and numeric metrics of the evaluations."""
    rows = []
    for event in _events(source, run_id, [StepEvent.kind, EvalEvent.kind]):
        row: dict[str, Any] = {"kind": event.kind, "step": event.step, "epoch": event.epoch, "phase": event.phase}
        if isinstance(event, StepEvent):
            row["loss"] = event.loss
            row.update({f"{task}.loss": value for task, value in event.task_losses.items()})
            row["lr"] = event.lr
        else:
            row["val_loss"] = event.val_loss
            row.update(flatten_metrics(event.metrics))
        rows.append(row)
    return rows
