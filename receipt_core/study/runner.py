"""The scenario study: every freeze scenario, both backbones and the plain reference, on the same data, seed
and time budget, with a table, a reading of the design's claims, charts, and a machine-readable summary.

:func:`run_study` trains each :class:`StudyConfig` (``repeats`` times, seeds ``seed``, ``seed + 1`` …) and
returns a :class:`StudyResult`; :func:`write_study` turns it into ``report.md``, ``report.html`` (Plotly) and
``study.json`` (shape documented in ``docs/STUDY.md``). Multi-task runs go through the project's own
:class:`~receipt_core.training.job.TrainingJob` (so they are exactly what ``train`` does); the reference through
:func:`receipt_core.training.reference.train_reference`.

Time budgets are training time as the trainer counts it (evaluations after each epoch included), so the
cheap scenarios (a frozen backbone, whose output is computed once and cached) get through more epochs in the
same budget — that is the cost side of the comparison.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..data.document import Document
from ..model.encoding import check_box_mode
from ..training.events import HEADLINE_METRICS as HEADLINE
from ..training.reference import ReferenceConfig, train_reference

STUDY_FORMAT = "receipt-mtl/study"
STUDY_VERSION = 1
REFERENCE = "reference"
LAYOUT_SCENARIOS = ("freeze-all", "freeze-backbone", "freeze-fields-head", "freeze-quantity-head", "phased", "full")
TEXT_SCENARIOS = ("freeze-backbone", "full")
METRIC_LABELS = {"fields.micro_f1": "field micro-F1", "quantity.word_f1": "quantity word F1",
                 "quantity.item_accuracy": "item quantity acc.",
                 "quantity.item_accuracy_not_one": "item qty acc. (qty ≠ 1)"}


@dataclass(frozen=True)
class StudyConfig:
    """One row of the study: a backbone and a freeze scenario, or the plain reference (scenario "reference")."""

    backbone: str
    scenario: str

    @property
    def name(self) -> str:
        return f"{REFERENCE} ({self.backbone})" if self.is_reference else f"{self.backbone} · {self.scenario}"

    @property
    def is_reference(self) -> bool:
        return self.scenario == REFERENCE

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{self.backbone}-{self.scenario}")


def default_configs(layout_backbone: str = "layout-minilm", text_backbone: str = "text-minilm") -> tuple[StudyConfig, ...]:
    """The design's questions: six scenarios on the layout backbone, two on the text-only one, the reference."""
    return (*(StudyConfig(layout_backbone, s) for s in LAYOUT_SCENARIOS),
            *(StudyConfig(text_backbone, s) for s in TEXT_SCENARIOS),
            StudyConfig(layout_backbone, REFERENCE))


def parse_config(spec: str) -> StudyConfig:
    """``BACKBONE:SCENARIO`` (e.g. ``text-minilm:full``) or ``reference:BACKBONE`` → StudyConfig."""
    from ..model.freeze import PRESETS

    head, sep, tail = spec.partition(":")
    if not sep or not head or not tail:
        raise ValueError(f"configuration {spec!r} must look like BACKBONE:SCENARIO (e.g. layout-minilm:full) or "
                         "reference:BACKBONE")
    if head == REFERENCE:
        return StudyConfig(tail, REFERENCE)
    if tail not in PRESETS:
        raise ValueError(f"configuration {spec!r}: unknown scenario {tail!r}; choose one of {', '.join(PRESETS)}")
    return StudyConfig(head, tail)


@dataclass(frozen=True)
class StudySettings:
    """Hyperparameters shared by every configuration (the reference uses lr, batch size, seed and budget)."""

    budget_minutes: float | None = 3.0
    epochs: int = 50  # an upper bound: the budget normally ends a run first
    repeats: int = 1
    seed: int = 0
    batch_size: int = 16
    lr: float = 2e-4
    decay_factor: float = 1.0
    loss_weighting: str = "fixed"
    max_length: int = 512
    freeze: tuple[str, ...] = ()  # extra groups frozen in every multi-task run (e.g. embeddings.text)
    phased_top_k: int = 2
    epochs_per_phase: int = 1
    lr_schedule: str = "constant"  # every run, the reference included
    warmup: float = 0.06
    boxes: str = "word"  # encoding.BOX_MODES; every run, the reference included

    def __post_init__(self) -> None:
        object.__setattr__(self, "freeze", tuple(self.freeze))
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {self.repeats}")
        if self.budget_minutes is not None and not self.budget_minutes > 0:
            raise ValueError(f"the budget must be above 0 minutes, got {self.budget_minutes}")
        check_box_mode(self.boxes)

    def to_json(self) -> dict[str, Any]:
        return {"budget_minutes": self.budget_minutes, "epochs": self.epochs, "repeats": self.repeats,
                "seed": self.seed, "batch_size": self.batch_size, "lr": self.lr, "decay_factor": self.decay_factor,
                "loss_weighting": self.loss_weighting, "max_length": self.max_length, "freeze": list(self.freeze),
                "phased_top_k": self.phased_top_k, "epochs_per_phase": self.epochs_per_phase,
                "lr_schedule": self.lr_schedule, "warmup": self.warmup, "boxes": self.boxes}


@dataclass(frozen=True)
class RunResult:
    """One training run of one configuration and seed."""

    config: StudyConfig
    seed: int
    metrics: Mapping[str, float]  # the HEADLINE metrics of the final model
    train_s: float  # training time (the budget's clock)
    wall_s: float  # the whole run: loading, encoding, training, evaluating, saving
    trainable_parameters: int  # at the end of the run (phased: the last phase)
    total_parameters: int
    steps: int
    epochs: float
    finished: str  # "completed", "time budget", "nothing to train"
    evaluations: tuple[Mapping[str, float], ...]  # {"step", "epoch", "elapsed_s", <HEADLINE metrics>}
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


@dataclass(frozen=True)
class Claim:
    claim: str
    verdict: str  # "held", "did not hold", "mixed", "not measured"
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

    def summary(self, config: StudyConfig) -> ConfigSummary | None:
        return next((s for s in self.summaries if s.config == config), None)


# --- running ------------------------------------------------------------------------------------------


def run_study(configs: Sequence[StudyConfig], settings: StudySettings, train_docs: Sequence[Document],
              eval_docs: Sequence[Document], out_dir: Path, log: Callable[[str], None] = lambda line: None,
              train_data: str = "", eval_data: str = "", command: str = "") -> StudyResult:
    """Train every configuration ``settings.repeats`` times; checkpoints go to ``out_dir/runs/<config>-s<seed>``.

    A failing run (e.g. a non-finite loss) is logged and left out of its row; the others continue.
    """
    if not configs:
        raise ValueError("the study needs at least one configuration")
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ValueError(f"configurations repeat: {names}")
    if not eval_docs:
        raise ValueError("the study needs evaluation documents")
    out_dir = Path(out_dir)
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    started = _now()
    notes: list[str] = []
    summaries = []
    for number, config in enumerate(configs, 1):
        runs = []
        for repeat in range(settings.repeats):
            seed = settings.seed + repeat
            log(f"[{number}/{len(configs)}] {config.name}, seed {seed}")
            try:
                if config.is_reference:
                    result = _run_reference(config, settings, seed, train_docs, eval_docs, log)
                else:
                    result = _run_multitask(config, settings, seed, train_docs, eval_docs,
                                            out_dir / "runs" / f"{config.slug}-s{seed}")
            except Exception as error:  # noqa: BLE001 - one broken configuration must not lose the others
                message = f"{config.name} (seed {seed}) failed: {' '.join(str(error).split())}"
                notes.append(message)
                log(message)
                continue
            log("    " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
                + f"; {result.train_s:.0f}s training, {result.steps} steps, {result.epochs:.2f} epochs")
            runs.append(result)
        summaries.append(ConfigSummary(config, tuple(runs)))
    return StudyResult(settings=settings, summaries=tuple(summaries), train_data=train_data, eval_data=eval_data,
                       train_documents=len(train_docs), eval_documents=len(eval_docs), command=command,
                       started=started, finished=_now(), notes=tuple(notes))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _thin(points: Sequence[tuple[int, float, float]], limit: int = 400) -> tuple[tuple[int, float, float], ...]:
    """At most ``limit`` loss points, each the mean of its stretch of steps (a readable curve, a small file)."""
    if len(points) <= limit:
        return tuple(points)
    size = math.ceil(len(points) / limit)
    thinned = []
    for begin in range(0, len(points), size):
        chunk = points[begin:begin + size]
        thinned.append((chunk[-1][0], chunk[-1][1], statistics.fmean(p[2] for p in chunk)))
    return tuple(thinned)


class _Collector:
    """Listener gathering what the study keeps from a multi-task run's events."""

    def __init__(self) -> None:
        self.losses: list[tuple[int, float, float]] = []
        self.evaluations: list[dict[str, float]] = []
        self.phases: list[dict[str, Any]] = []
        self.elapsed = 0.0
        self.trainable = 0
        self.total = 0

    def __call__(self, event) -> None:
        if event.kind == "progress":
            self.elapsed = event.elapsed_s
        elif event.kind == "step":
            self.losses.append((event.step, self.elapsed, event.loss))
        elif event.kind == "phase":
            self.trainable, self.total = event.trainable_parameters, event.total_parameters
            self.phases.append({"step": event.step, "phase": event.phase,
                                "trainable_parameters": event.trainable_parameters, "reason": event.reason})
        elif event.kind == "eval":
            self.evaluations.append({"step": event.step, "epoch": event.epoch, "elapsed_s": self.elapsed,
                                     **{k: float(event.metrics[k]) for k in HEADLINE if k in event.metrics}})


def _run_multitask(config: StudyConfig, settings: StudySettings, seed: int, train_docs: Sequence[Document],
                   eval_docs: Sequence[Document], run_dir: Path) -> RunResult:
    from ..training.events import FailedEvent
    from ..training.config import TrainConfig
    from ..training.job import TrainingJob
    from ..training.receipt_task import build_task

    train_config = TrainConfig(backbone=config.backbone, scenario=config.scenario, freeze=settings.freeze,
                               phased_top_k=settings.phased_top_k, epochs_per_phase=settings.epochs_per_phase,
                               epochs=settings.epochs, max_minutes=settings.budget_minutes,
                               batch_size=settings.batch_size, lr=settings.lr, decay_factor=settings.decay_factor,
                               loss_weighting=settings.loss_weighting, seed=seed, max_length=settings.max_length,
                               lr_schedule=settings.lr_schedule, warmup=settings.warmup,
                               boxes=settings.boxes)
    if (run_dir / "run.json").exists():
        raise ValueError(f"{run_dir} already holds a checkpoint; give the study an empty --out folder")
    collector = _Collector()
    started = time.monotonic()
    job = TrainingJob(lambda: build_task(train_config, train_docs, eval_docs, run_dir), train_config,
                      name=config.name)
    job.add_listener(collector)
    job.start()
    job.join()
    wall = time.monotonic() - started
    result = job.result
    if isinstance(result, FailedEvent) or result is None:
        raise RuntimeError(result.error if result is not None else "the training thread ended without a result")
    metrics = {k: float(result.metrics[k]) for k in HEADLINE if k in result.metrics}
    state = job.trainer.state
    epochs = state.epoch + (state.step_in_epoch / state.steps_per_epoch if state.steps_per_epoch else 0.0)
    return RunResult(config=config, seed=seed, metrics=metrics, train_s=result.elapsed_s, wall_s=wall,
                     trainable_parameters=collector.trainable, total_parameters=collector.total, steps=result.step,
                     epochs=epochs, finished=result.reason, evaluations=tuple(collector.evaluations),
                     losses=_thin(collector.losses), run_dir=str(run_dir), phases=tuple(collector.phases))


def _run_reference(config: StudyConfig, settings: StudySettings, seed: int, train_docs: Sequence[Document],
                   eval_docs: Sequence[Document], log: Callable[[str], None]) -> RunResult:
    reference_config = ReferenceConfig(backbone=config.backbone, epochs=settings.epochs,
                                       max_minutes=settings.budget_minutes, batch_size=settings.batch_size,
                                       lr=settings.lr, seed=seed, max_length=settings.max_length,
                                       lr_schedule=settings.lr_schedule, warmup=settings.warmup,
                                       boxes=settings.boxes)
    started = time.monotonic()
    result = train_reference(reference_config, train_docs, eval_docs, on_log=lambda line: log("    " + line))
    metrics = {k: float(result.metrics[k]) for k in HEADLINE if k in result.metrics}
    return RunResult(config=config, seed=seed, metrics=metrics, train_s=result.train_s,
                     wall_s=time.monotonic() - started, trainable_parameters=result.trainable_parameters,
                     total_parameters=result.total_parameters, steps=result.steps, epochs=result.epochs,
                     finished=result.finished, evaluations=result.evaluations, losses=_thin(result.losses))


# --- reading the results --------------------------------------------------------------------------------


def _margin(a: ConfigSummary, b: ConfigSummary, key: str) -> float:
    """How far apart two rows must be on ``key`` to call a difference: the larger of 0.005 and the runs' spread."""
    return max(0.005, a.spread(key).std + b.spread(key).std)


def _compare(a: ConfigSummary, b: ConfigSummary, key: str) -> tuple[int, str]:
    """(+1 a better, -1 b better, 0 within noise), and the numbers as text."""
    x, y = a.spread(key).mean, b.spread(key).mean
    sign = 0 if abs(x - y) < _margin(a, b, key) else (1 if x > y else -1)
    return sign, f"{METRIC_LABELS.get(key, key)} {x:.3f} vs {y:.3f}"


def read_claims(result: StudyResult) -> list[Claim]:
    """The design's claims, each judged against the measured rows (``not measured`` when a row is missing)."""
    rows = {(s.config.backbone, s.config.scenario): s for s in result.summaries if s.runs}
    layout = next((s.config.backbone for s in result.summaries if s.config.scenario == "freeze-all"), "layout-minilm")
    text = next((s.config.backbone for s in result.summaries
                 if not s.config.is_reference and s.config.backbone != layout), "text-minilm")
    get = lambda backbone, scenario: rows.get((backbone, scenario))  # noqa: E731
    claims: list[Claim] = []
    f1, items = "fields.micro_f1", "quantity.item_accuracy"

    frozen, full = get(layout, "freeze-all"), get(layout, "full")
    if frozen and full:
        learned = frozen.spread("trainable_parameters").mean == 0
        claims.append(Claim("Freezing everything learns nothing.", "held" if learned else "did not hold",
                            f"freeze-all trains {int(frozen.spread('trainable_parameters').mean):,} parameters; "
                            f"{_compare(frozen, full, f1)[1]} and {_compare(frozen, full, items)[1]} "
                            "(untrained heads vs full fine-tuning)."))
    backbone_only = get(layout, "freeze-backbone")
    if backbone_only and full:
        cheaper = backbone_only.spread("trainable_parameters").mean / max(full.spread("trainable_parameters").mean, 1)
        sign, numbers = _compare(backbone_only, full, f1)
        gap = full.spread(f1).mean - backbone_only.spread(f1).mean
        verdict = "held" if sign >= 0 else ("mixed" if gap < 0.05 else "did not hold")
        claims.append(Claim("Freezing the backbone is cheap and good.", verdict,
                            f"it trains {cheaper:.2%} of the parameters and gets through "
                            f"{backbone_only.spread('epochs').mean:.1f} epochs vs {full.spread('epochs').mean:.1f} "
                            f"in the same budget; {numbers}; {_compare(backbone_only, full, items)[1]} "
                            "(freeze-backbone vs full)."))
    for scenario, key, task in (("freeze-fields-head", f1, "field"), ("freeze-quantity-head", items, "quantity")):
        one = get(layout, scenario)
        if one and frozen and full:
            stuck = _compare(one, frozen, key)[0] <= 0 and _compare(one, full, key)[0] < 0
            why = ("The frozen head stays random and its task stays at the untrained level." if stuck else
                   "The backbone learned to feed the frozen random head: its task trained anyway, through the "
                   "backbone.")
            claims.append(Claim(f"Freezing the {task} head locks in its errors.", "held" if stuck else "did not hold",
                                f"{scenario}: {_compare(one, frozen, key)[1]} (vs freeze-all); "
                                f"{_compare(one, full, key)[1]} (vs full). {why}"))
    for scenario in ("full", "freeze-backbone"):
        a, b = get(layout, scenario), get(text, scenario)
        if a and b:
            s1, n1 = _compare(a, b, f1)
            s2, n2 = _compare(a, b, items)
            if s1 * s2 < 0:
                verdict = "mixed"  # better on one task, worse on the other
            elif s1 > 0 or s2 > 0:
                verdict = "held"
            else:
                verdict = "did not hold"  # worse, or no measurable advantage
            claims.append(Claim(f"A layout-aware backbone beats a text-only one ({scenario}).", verdict,
                                f"{layout} vs {text}: {n1}; {n2}."))
    phased = get(layout, "phased")
    others = [s for s in result.summaries if s.runs and s.config.scenario not in ("phased", REFERENCE)]
    if phased and others:
        best = max(others, key=lambda s: s.spread(f1).mean)
        sign, numbers = _compare(phased, best, f1)
        claims.append(Claim("Phased unfreezing is best.", "held" if sign >= 0 else "did not hold",
                            f"phased vs the best other scenario ({best.config.name}): {numbers}; "
                            f"{_compare(phased, best, items)[1]}."))
    references = [s for s in result.summaries if s.runs and s.config.is_reference]
    multitask = [s for s in result.summaries if s.runs and not s.config.is_reference]
    if references and multitask:
        reference = references[0]
        best = max(multitask, key=lambda s: s.spread(f1).mean + s.spread(items).mean)
        s1, n1 = _compare(best, reference, f1)
        s2, n2 = _compare(best, reference, items)
        verdict = "held" if s1 > 0 and s2 > 0 else ("did not hold" if s1 < 0 or s2 < 0 else "mixed")
        claims.append(Claim("The two-head model beats the plain combined tagger.", verdict,
                            f"best configuration ({best.config.name}) vs {reference.config.name}: {n1}; {n2}."))
    return claims


def best_summary(result: StudyResult) -> ConfigSummary | None:
    """The multi-task row with the highest field micro-F1 + item quantity accuracy."""
    rows = [s for s in result.summaries if s.runs and not s.config.is_reference]
    return max(rows, key=lambda s: s.spread("fields.micro_f1").mean + s.spread("quantity.item_accuracy").mean,
               default=None)


# --- writing ------------------------------------------------------------------------------------------


def study_json(result: StudyResult) -> dict[str, Any]:
    """The machine-readable study (see docs/STUDY.md for the shape)."""
    best = best_summary(result)
    return {
        "format": STUDY_FORMAT, "version": STUDY_VERSION, "command": result.command, "started": result.started,
        "finished": result.finished, "settings": result.settings.to_json(),
        "data": {"train": result.train_data, "eval": result.eval_data, "train_documents": result.train_documents,
                 "eval_documents": result.eval_documents},
        "metrics": list(HEADLINE),
        "configurations": [{
            "name": s.config.name, "backbone": s.config.backbone, "scenario": s.config.scenario,
            "kind": REFERENCE if s.config.is_reference else "multitask",
            "summary": {key: s.spread(key).to_json() for key in (*HEADLINE, "train_s", "wall_s",
                                                                    "trainable_parameters", "steps", "epochs")}
            if s.runs else {},
            "runs": [r.to_json() for r in s.runs]} for s in result.summaries],
        "best": best.config.name if best else None,
        "claims": [{"claim": c.claim, "verdict": c.verdict, "evidence": c.evidence} for c in read_claims(result)],
        "notes": list(result.notes),
    }


TABLE_COLUMNS = ("configuration", "field micro-F1", "quantity word F1", "item quantity acc.", "item acc. (qty ≠ 1)",
                 "training s", "epochs", "trainable parameters")
TABLE_NOTE = ("Item quantity accuracy counts every item (answering 1 everywhere already scores high); the column after "
              "it counts only items whose gold quantity is not 1. Training seconds are the budget's clock; the bold "
              "row is the best multi-task configuration.")
READING_NOTE = "Differences smaller than 0.005 (or than the seeds' spread, with repeats) count as no difference."


@dataclass(frozen=True)
class TableRow:
    """One configuration as the report's table shows it (means over the seeds; None where every run failed)."""

    configuration: str
    best: bool  # the best multi-task configuration (bold in the report)
    metrics: Mapping[str, Spread]  # HEADLINE key -> spread; empty when every run failed
    train_s: float | None
    epochs: float | None
    trainable_parameters: int | None

    @property
    def failed(self) -> bool:
        return not self.metrics

    def cells(self) -> tuple[str, ...]:
        """The row's text, one cell per :data:`TABLE_COLUMNS` (metrics as "mean ± std" with repeats)."""
        if self.failed:
            return (self.configuration, "failed", *[""] * (len(TABLE_COLUMNS) - 2))
        return (self.configuration, *[self.metrics[k].text() for k in HEADLINE], f"{self.train_s:.0f}",
                f"{self.epochs:.1f}", f"{self.trainable_parameters:,}")


def table_rows(result: StudyResult) -> list[TableRow]:
    """The report's table, one row per configuration in the study's order."""
    best = best_summary(result)
    rows = []
    for s in result.summaries:
        if not s.runs:
            rows.append(TableRow(s.config.name, False, {}, None, None, None))
            continue
        rows.append(TableRow(s.config.name, best is not None and s.config == best.config,
                             {k: s.spread(k) for k in HEADLINE}, s.spread("train_s").mean, s.spread("epochs").mean,
                             int(s.spread("trainable_parameters").mean)))
    return rows


def markdown_table(result: StudyResult) -> str:
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for row in table_rows(result):
        if row.failed:
            lines.append(f"| {row.configuration} | failed |" + " |" * (len(TABLE_COLUMNS) - 2))
            continue
        cells = list(row.cells())
        if row.best:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def settings_paragraph(result: StudyResult) -> str:
    """The report's first paragraph: data, budget, hyperparameters, seeds, when it ran."""
    settings = result.settings
    budget = f"{settings.budget_minutes:g} minutes" if settings.budget_minutes is not None else "no time limit"
    spread = f"mean ± sample std over {settings.repeats} seeds" if settings.repeats > 1 else "one seed"
    schedule = (f"linear: {settings.warmup:.0%} warm-up, then down to 0" if settings.lr_schedule == "linear"
                else settings.lr_schedule)
    boxes = f"{settings.boxes} boxes"
    return (f"Train: `{result.train_data}` ({result.train_documents} documents); evaluation: `{result.eval_data}` "
            f"({result.eval_documents} documents). Budget per run: {budget} of training (evaluation after each "
            f"epoch counts), at most {settings.epochs} epochs; batch size {settings.batch_size}, learning rate "
            f"{settings.lr:g} ({schedule}), discriminative decay {settings.decay_factor:g}, "
            f"{settings.loss_weighting} loss weighting, {boxes}"
            + (f", always frozen: {', '.join(settings.freeze)}" if settings.freeze else "")
            + f"; seed {settings.seed}; {spread}. Started {result.started}, finished {result.finished}.")


def markdown_report(result: StudyResult) -> str:
    parts = ["# Scenario study", "", settings_paragraph(result), ""]
    if result.command:
        parts += ["Command:", "", "```", result.command, "```", ""]
    parts += [markdown_table(result), "", TABLE_NOTE, "", "## Reading", ""]
    claims = read_claims(result)
    if not claims:
        parts.append("Too few configurations ran to judge any of the design's claims.")
    for claim in claims:
        parts.append(f"- **{claim.claim}** {claim.verdict.capitalize()}: {claim.evidence}")
    parts += ["", READING_NOTE]
    if result.notes:
        parts += ["", "## Problems", ""] + [f"- {note}" for note in result.notes]
    return "\n".join(parts) + "\n"


def html_report(result: StudyResult) -> str:
    """A standalone page (Plotly embedded once, works offline): the table, the reading, quality vs cost, and
    overlaid curves (figures from :mod:`receipt_core.study.figures`, shared with the dashboard)."""
    import plotly.graph_objects as go

    from .figures import curves_figure, quality_cost_figure

    rows = table_rows(result)
    columns = list(zip(*(row.cells() for row in rows))) if rows else [()] * len(TABLE_COLUMNS)
    table = go.Figure(go.Table(header={"values": list(TABLE_COLUMNS)}, cells={"values": [list(c) for c in columns]}))
    table.update_layout(height=120 + 30 * len(rows), margin={"t": 10, "b": 10})
    claims = "".join(f"<li><b>{_escape(c.claim)}</b> {_escape(c.verdict)}: {_escape(c.evidence)}</li>"
                     for c in read_claims(result))
    body = [f"<h1>Scenario study</h1><p>Train {_escape(result.train_data)} ({result.train_documents} documents), "
            f"evaluation {_escape(result.eval_data)} ({result.eval_documents} documents); budget "
            f"{result.settings.budget_minutes} min per run.</p>",
            table.to_html(full_html=False, include_plotlyjs=True),
            f"<h2>Reading</h2><ul>{claims}</ul>",
            quality_cost_figure(result).to_html(full_html=False, include_plotlyjs=False),
            curves_figure(result).to_html(full_html=False, include_plotlyjs=False)]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Scenario study</title></head>"
            "<body style='font-family: sans-serif; max-width: 1200px; margin: auto'>" + "".join(body)
            + "</body></html>")


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_study(result: StudyResult, out_dir: Path) -> dict[str, Path]:
    """``report.md``, ``report.html`` and ``study.json`` in ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "study.json"}
    _write(paths["json"], json.dumps(study_json(result), indent=1, ensure_ascii=False, allow_nan=False))
    _write(paths["markdown"], markdown_report(result))
    _write(paths["html"], html_report(result))
    return paths


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class StudyFileError(ValueError):
    """A path that does not hold a readable scenario study; the message says what is wrong and what to do."""


def load_study(path: Path) -> dict[str, Any]:
    """Read a ``study.json`` (or the folder holding one), checking its format tag and version.

    Raises :class:`StudyFileError` for a missing path or file, a file that is not JSON, a file that is not a
    study, or a study written by a newer version of this project.
    """
    path = Path(path).expanduser()
    made_by = "the folder written by `python -m receipt_core study ... --out DIR`"
    if not path.exists():
        raise StudyFileError(f"{path} does not exist; give {made_by} (or its study.json)")
    if path.is_dir():
        if not (path / "study.json").is_file():
            raise StudyFileError(f"{path} holds no study.json, so it is not a study folder; give {made_by}")
        path = path / "study.json"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise StudyFileError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise StudyFileError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                             "it may have been cut off while copying — copy it again or rerun the study") from None
    found = data.get("format") if isinstance(data, Mapping) else None
    if found != STUDY_FORMAT:
        raise StudyFileError(f"{path} is not a scenario study: its \"format\" is {found!r}, expected "
                             f"{STUDY_FORMAT!r} (written by `python -m receipt_core study`)")
    version = data.get("version")
    readable = f"version {STUDY_VERSION}" if STUDY_VERSION == 1 else f"versions 1 to {STUDY_VERSION}"
    if isinstance(version, int) and not isinstance(version, bool) and version > STUDY_VERSION:
        raise StudyFileError(f"{path} is study format version {version}, newer than this project reads ({readable}); "
                             "update the project, or rerun the study with this one")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StudyFileError(f"{path} has study format version {version!r}, which no version of the project writes "
                             f"(this one reads {readable}); the file is damaged — copy it again or rerun the study")
    return dict(data)


__all__ = ["StudyConfig", "StudySettings", "RunResult", "ConfigSummary", "Spread", "Claim", "StudyResult",
           "default_configs", "parse_config", "run_study", "read_claims", "best_summary", "study_json",
           "markdown_report", "html_report", "write_study", "load_study", "REFERENCE", "StudyFileError", "TableRow",
           "table_rows", "markdown_table", "settings_paragraph", "TABLE_COLUMNS"]
