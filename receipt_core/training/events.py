"""What a run reports: frozen event dataclasses, one class per kind, JSON-safe.

The loop emits them; the workspace stores them (``kind`` plus ``to_json()``); the UI, the CLI and the study read
them back as objects (``event_from_json``) and dispatch on their class.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def to_json(self) -> dict[str, Any]:
        return _json_safe({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


@dataclass(frozen=True)
class StepEvent(Event):
    kind: ClassVar[str] = "step"
    step: int
    epoch: int
    loss: float
    task_losses: Mapping[str, float]
    lr: float
    phase: int


@dataclass(frozen=True)
class EvalEvent(Event):
    kind: ClassVar[str] = "eval"
    step: int
    epoch: int
    val_loss: float | None
    task_val_losses: Mapping[str, float]
    metrics: Mapping[str, Any]
    phase: int


@dataclass(frozen=True)
class PhaseEvent(Event):
    kind: ClassVar[str] = "phase"
    step: int
    epoch: int
    phase: int
    trainable_groups: tuple[str, ...]
    trainable_parameters: int
    total_parameters: int
    reason: str
    phases: int = 1  # the phases the run's plan reaches (phased: up to 3); a later phase trains more, so steps slower

    @property
    def phases_ahead(self) -> int:
        """Phases still to come after this one."""
        return max(self.phases - self.phase, 0)


@dataclass(frozen=True)
class PredictionEvent(Event):
    kind: ClassVar[str] = "prediction"
    step: int
    epoch: int
    doc_id: str
    prediction: Mapping[str, Any]  # DocumentPrediction.to_json()


@dataclass(frozen=True)
class ProgressEvent(Event):
    kind: ClassVar[str] = "progress"
    step: int
    total_steps: int
    epoch: int  # epochs completed (StepEvent.epoch is the 1-based epoch the step belongs to)
    epochs: int
    elapsed_s: float
    steps_per_s: float
    items_per_s: float
    eta_s: float | None
    eta_is_budget: bool = False  # eta_s is what is left of the time budget, which ends the run before its steps


@dataclass(frozen=True)
class StatusEvent(Event):
    """The job's status changed: "running", "paused" (and back), or a note such as nothing-can-learn."""

    kind: ClassVar[str] = "status"
    step: int
    status: str
    message: str = ""


@dataclass(frozen=True)
class CheckpointEvent(Event):
    kind: ClassVar[str] = "checkpoint"
    step: int
    epoch: int
    path: str


@dataclass(frozen=True)
class FinishedEvent(Event):
    kind: ClassVar[str] = "finished"
    step: int
    epoch: int
    reason: str  # "completed", "stopped", "time budget", "nothing to train"
    elapsed_s: float
    metrics: Mapping[str, Any]
    checkpoint: str | None


@dataclass(frozen=True)
class FailedEvent(Event):
    kind: ClassVar[str] = "failed"
    step: int
    error: str  # the message a user reads
    error_type: str
    traceback: str
    checkpoint: str | None  # the last good checkpoint, untouched by the failure


EVENT_TYPES: Mapping[str, type[Event]] = {cls.kind: cls for cls in (
    StepEvent, EvalEvent, PhaseEvent, PredictionEvent, ProgressEvent, StatusEvent, CheckpointEvent,
    FinishedEvent, FailedEvent)}


def trained_phases(phases: Sequence[PhaseEvent], ended_at: int | None) -> list[PhaseEvent]:
    """The phases a run trained in, of its ``phases`` events: one announced at the step the run ended at (``ended_at``,
    its finished event's; None while it trains) never did, but the first always counts. A phased run stopped at
    step 100, where phase 3 began, read "trainable 24.8M of 24.8M" on Train and Runs where phase 2's 6.0M had
    trained (a walkthrough)."""
    return [p for p in phases if ended_at is None or p.step < ended_at] or list(phases[:1])


def event_from_json(kind: str, payload: Mapping[str, Any]) -> Event:
    """Rebuild a typed event from its stored ``kind`` and ``to_json()`` payload (e.g. from the workspace)."""
    try:
        cls = EVENT_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown event kind {kind!r}; known: {sorted(EVENT_TYPES)}") from None
    if not isinstance(payload, Mapping):
        raise ValueError(f"a {kind!r} event is a JSON object, got {type(payload).__name__}")
    values = dict(payload)
    for f in dataclasses.fields(cls):
        if isinstance(values.get(f.name), list) and "tuple" in str(f.type):
            values[f.name] = tuple(values[f.name])
        if f.name in values and (problem := _field_problem(str(f.type), values[f.name])):
            raise ValueError(f"{kind} event field {f.name!r} {problem}")
    return cls(**values)


MAX_EVENT_INT = 10**12  # steps, epochs, phases and parameter counts: far beyond any run, far below a float's 1e300
MAX_EVENT_FLOAT = 1e12  # losses, rates and seconds; a loss that overflowed is stored as null, not as 1e309


def _field_problem(type_text: str, value: Any) -> str | None:
    """Why ``value`` cannot be an event field of the annotated type ``type_text``, or None. A probe's hand-edited
    event of step "abc" broke every run's curves and the downloads on Runs ("unsupported operand type(s) for /"),
    and one of step 1e300 stretched the loss chart's axis so far that every other run lay on one line."""
    base = type_text.removesuffix(" | None")
    if value is None:
        return None if base != type_text or base == "float" else "is null"
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EVENT_INT:
            return f"must be a whole number from 0 to {MAX_EVENT_INT:,}, got {value!r:.40}"
    elif base == "float":
        if not _bounded_number(value):
            return f"must be a number of at most {MAX_EVENT_FLOAT:g} in size, got {value!r:.40}"
    elif base in ("str", "bool"):
        if not isinstance(value, str if base == "str" else bool):
            return f"must be a {'text' if base == 'str' else 'true or false'}, got {value!r:.40}"
    elif base.startswith("Mapping"):
        if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
            return "must be an object"
        if base == "Mapping[str, float]" and not all(v is None or _bounded_number(v) for v in value.values()):
            return f"must map names to numbers of at most {MAX_EVENT_FLOAT:g} in size"
    elif base.startswith("tuple[str"):
        if not isinstance(value, tuple) or not all(isinstance(item, str) for item in value):
            return "must be a list of texts"
    return None


def _bounded_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and abs(value) <= MAX_EVENT_FLOAT)


def stored_event(kind: str, payload: Mapping[str, Any]) -> Event | None:
    """:func:`event_from_json` of an event read back from the workspace, or None (logged) when the stored row does
    not make one: the database edited by hand, where one such row broke the run's charts and the Runs table."""
    try:
        return event_from_json(kind, payload)
    except (TypeError, ValueError) as error:
        logging.getLogger(__name__).warning("a stored %r event does not read back (%s); left out", kind, error)
        return None


# --- reading events ---------------------------------------------------------------------------------------

FIELD_WORDS = "fields.field_words"  # how many gold field words field micro-F1 is over: its sampling error's size
ITEMS_SCORED = "quantity.items"  # how many items item accuracy is over: one of them is its smallest difference
HEADLINE_METRICS = ("fields.micro_f1", "quantity.word_f1", "quantity.item_accuracy", "quantity.item_accuracy_not_one")
"""The metrics a run is judged by, in the order tables show them (the evaluation's flattened names)."""

# each task's loss as the pages title it (Train's charts, Runs' Compare)
TASK_TITLES = {"fields": "Field labels", "quantity": "Quantities", "tags": "Reference tagger",
               "masked_words": "Masked words"}
METRIC_LABELS = {"fields.micro_f1": "field micro-F1", "quantity.word_f1": "quantity word F1",
                 "quantity.item_accuracy": "item quantity acc.",
                 "quantity.item_accuracy_not_one": "item qty acc. (qty ≠ 1)",
                 "fields.micro_precision": "field micro-precision", "fields.micro_recall": "field micro-recall",
                 "fields.accuracy": "field accuracy", "quantity.word_precision": "quantity word precision",
                 "quantity.word_recall": "quantity word recall", "masked_words.accuracy": "masked-word accuracy",
                 "masked_words.loss": "masked-word loss"}
"""What every page, table and report calls a metric (the flattened name is the key)."""


COUNT_METRICS = ("documents", "words", "field_words", "items", "items_not_one", "segments")
"""The last parts of the metric names that count things (``fields.words``) rather than score them (0 to 1)."""


def is_score_metric(name: str) -> bool:
    """True for a score (``fields.micro_f1``), false for a count (``fields.words``, ``documents``): charts of
    scores plot only the first kind, so a word count does not squash the 0–1 axis."""
    return name.rsplit(".", 1)[-1] not in COUNT_METRICS


def run_status(event: Event, current: str) -> str:
    """A run's status after ``event``: "running", "paused", "finished", "stopped" or "failed"
    (``current`` when the event does not change it). A phase event comes only from a running loop (its start, a
    resume from a checkpoint included, or a phase change), so it means "running"."""
    if isinstance(event, StatusEvent) and event.status in ("running", "paused"):
        return event.status
    if isinstance(event, PhaseEvent):
        return "running"
    if isinstance(event, FinishedEvent):
        return "stopped" if event.reason == "stopped" else "finished"
    if isinstance(event, FailedEvent):
        return "failed"
    return current


TIME_BUDGET = "time budget"  # a FinishedEvent's reason when the run's time budget ended it
ENDINGS = {"completed": "Finished its plan", "stopped": "Stopped", "time budget": "Finished at its time budget",
           "nothing to train": "Finished with nothing to train"}


def ending(reason: str) -> str:
    """How a run's end reads on a page ("Stopped", "Finished at its time budget"); a walkthrough read
    "Finished (stopped)" as a contradiction."""
    return ENDINGS.get(reason, f"Finished ({reason})")


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "", keep_tables: bool = False) -> dict[str, Any]:
    """A (possibly nested) metrics mapping under dotted names (``fields.micro_f1``).

    By default only numeric scalars, as floats, and per-label tables are skipped (what charts plot); with
    ``keep_tables`` every value is kept and per-label tables stay nested under their key (what a run stores)."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if "per_label" in name:
            if keep_tables:
                flat[name] = value
            continue
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, prefix=name + ".", keep_tables=keep_tables))
        elif keep_tables:
            flat[name] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The headline metrics present in ``metrics`` (nested or already flat), in HEADLINE_METRICS order."""
    flat = flatten_metrics(metrics)
    return {name: flat[name] for name in HEADLINE_METRICS if name in flat}
