"""What a scenario study measured: each run's result, the spread over a configuration's seeds, the design's
claims as judged, and the whole study — plain frozen data, written to and read back from ``study.json``."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .settings import StudyConfig, StudySettings


@dataclass(frozen=True)
class RunResult:
    """One training run of one configuration and seed."""

    config: StudyConfig
    seed: int
    metrics: Mapping[str, float]  # the headline metrics (training.events.HEADLINE_METRICS) of the final model, and
    # training.events.ITEMS_SCORED and FIELD_WORDS (runs recorded before they were kept lack them)
    train_s: float  # training time (the budget's clock)
    wall_s: float  # the whole run: loading, encoding, training, evaluating, saving
    trainable_parameters: int  # the most any phase that trained a step had (trained_parameters)
    total_parameters: int
    steps: int
    epochs: float
    finished: str  # "completed", "time budget", "nothing to train", "stopped" (by hand: Stop on Train)
    evaluations: tuple[Mapping[str, float], ...]  # {"step", "epoch", "elapsed_s", <headline metrics>}
    losses: tuple[tuple[int, float, float], ...]  # (step, elapsed_s, training loss), thinned
    run_dir: str | None = None
    phases: tuple[Mapping[str, Any], ...] = ()  # phased runs: {"step", "phase", "trainable_parameters"}

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "metrics": dict(self.metrics), "train_s": self.train_s, "wall_s": self.wall_s,
                "trainable_parameters": self.trainable_parameters, "total_parameters": self.total_parameters,
                "steps": self.steps, "epochs": self.epochs, "finished": self.finished, "run_dir": self.run_dir,
                "phases": [dict(p) for p in self.phases],
                "curves": {"eval": [dict(e) for e in self.evaluations],
                           "loss": [{"step": s, "elapsed_s": t, "loss": v} for s, t, v in self.losses]}}


def _phases_that_trained(phases: Sequence[Mapping[str, Any]], steps: int) -> list[Mapping[str, Any]]:
    """The recorded phases of a run of ``steps`` steps that trained at least one: a phase that began at the run's
    last step (its budget ended as it moved on) trained nothing."""
    return [p for p in phases if int(p.get("step", 0)) < steps]


def trained_phases(run: RunResult) -> list[int]:
    """The numbers of the phases of ``run`` that trained at least one step."""
    return [int(p.get("phase", 1)) for p in _phases_that_trained(run.phases, run.steps)]


def trained_parameters(phases: Sequence[Mapping[str, Any]], steps: int, last: int) -> int:
    """What a run's cost counts as trained: the most parameters a phase that trained at least one step had
    (``last``: the run's final count, when no phase was recorded). A walkthrough's 60-second race counted phased at
    4.2M trainable, phase 2's, though phase 2 began at its last step and only the heads' 0.67M ever trained."""
    counts = [int(p.get("trainable_parameters", 0)) for p in _phases_that_trained(phases, steps)]
    return max(counts) if counts else last


@dataclass(frozen=True)
class Spread:
    mean: float
    std: float  # sample standard deviation (0 with one run)
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        values = tuple(float(v) for v in values)
        return cls(mean=statistics.fmean(values), std=statistics.stdev(values) if len(values) > 1 else 0.0,
                   values=values)

    def text(self, digits: int = 3) -> str:
        return f"{self.mean:.{digits}f}" + (f" ± {self.std:.{digits}f}" if len(self.values) > 1 else "")

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "values": list(self.values)}


@dataclass(frozen=True)
class ConfigSummary:
    config: StudyConfig
    runs: tuple[RunResult, ...]

    def spread(self, key: str) -> Spread:
        if key in ("train_s", "wall_s", "trainable_parameters", "steps", "epochs"):
            return Spread.of([getattr(r, key) for r in self.runs])
        return Spread.of([r.metrics.get(key, 0.0) for r in self.runs])

    def seconds_per_epoch(self) -> float:
        """Mean training seconds over mean epochs: what an epoch of this configuration costs."""
        return self.spread("train_s").mean / max(self.spread("epochs").mean, 1e-9)


@dataclass(frozen=True)
class Claim:
    claim: str
    verdict: str  # "held", "did not hold", "mixed", "no measurable difference", "not measured", "too few receipts"
    evidence: str


@dataclass(frozen=True)
class StudyResult:
    settings: StudySettings
    summaries: tuple[ConfigSummary, ...]
    train_data: str
    eval_data: str
    train_documents: int
    eval_documents: int
    command: str = ""
    started: str = ""
    finished: str = ""
    notes: tuple[str, ...] = ()
    interrupted: bool = False  # stopped (Ctrl-C) before every planned run; the notes say where
    stopped_at: str | None = None  # the configuration whose run Ctrl-C stopped (those after it never ran)

    def summary(self, config: StudyConfig) -> ConfigSummary | None:
        return next((s for s in self.summaries if s.config == config), None)
