"""Running the scenario study: every freeze scenario, both backbones and the plain reference, on the same data,
seed and time budget.

:func:`run_study` trains each :class:`~receipt_core.study.settings.StudyConfig` (``repeats`` times, seeds
``seed``, ``seed + 1`` …) and returns a :class:`~receipt_core.study.result.StudyResult`;
:func:`receipt_core.study.files.write_study` turns it into ``report.md``, ``report.html`` and ``study.json``.
Multi-task runs go through the project's own :class:`~receipt_core.training.job.TrainingJob` (so they are exactly
what ``train`` does); the reference through :func:`receipt_core.training.reference.train_reference`.

Time budgets are training time as the trainer counts it (evaluations after each epoch included), so the
cheap scenarios (a frozen backbone, whose output is computed once and cached) get through more epochs in the
same budget — that is the cost side of the comparison.
"""

from __future__ import annotations

import datetime as _dt
import math
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

from ..data.document import Document
from ..datasets.splits import evaluation_notes
from ..training.events import (FIELD_WORDS, ITEMS_SCORED, EvalEvent, Event, FailedEvent, PhaseEvent, ProgressEvent,
                               StepEvent, flatten_metrics, headline)
from ..training.config import ReferenceConfig
from .result import ConfigSummary, RunResult, StudyResult, trained_parameters
from .settings import StudyConfig, StudySettings


def check_study(configs: Sequence[StudyConfig], eval_docs: Sequence[Document]) -> None:
    """ValueError unless the study has configurations, none twice, and documents to evaluate on."""
    if not configs:
        raise ValueError("the study needs at least one configuration")
    counts = Counter(configs)
    if len(counts) != len(configs):
        repeated = sorted({config.name for config, count in counts.items() if count > 1})
        raise ValueError(f"configurations repeat: {', '.join(repeated)}")
    if not eval_docs:
        raise ValueError("the study needs evaluation documents")


def run_study(configs: Sequence[StudyConfig], settings: StudySettings, train_docs: Sequence[Document],
              eval_docs: Sequence[Document], out_dir: Path, log: Callable[[str], None] = lambda line: None,
              train_data: str = "", eval_data: str = "", command: str = "",
              on_run: Callable[[int, str], None] = lambda number, training: None) -> StudyResult:
    """Train every configuration ``settings.repeats`` times; checkpoints go to ``out_dir/runs/<config>-s<seed>``.
    ``on_run(number, training)`` is told each run as it starts (1-based, and "configuration, seed N").

    A failing run (e.g. a non-finite loss) is logged and left out of its row; the others continue.
    """
    check_study(configs, eval_docs)
    out_dir = Path(out_dir)
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    started = _now()
    # evaluation receipts also trained on, or too few of them: said as train says it, and kept in the report (a
    # probe's `study --train demo cord-dev --eval cord-dev` scored its runs on their own training receipts unsaid)
    notes: list[str] = list(evaluation_notes([d.id for d in train_docs], [d.id for d in eval_docs]))
    for note in notes:
        log(f"warning: {note}")
    runs: dict[StudyConfig, list[RunResult]] = {config: [] for config in configs}
    planned = [(config, settings.seed + repeat) for config in configs for repeat in range(settings.repeats)]
    interrupted, stopped_at = False, None
    for position, (config, seed) in enumerate(planned, start=1):
        number = configs.index(config) + 1
        log(f"[{number}/{len(configs)}] {config.name}, seed {seed}")
        on_run(position, f"{config.name}, seed {seed}")
        try:
            if config.is_reference:
                result = _run_reference(config, settings, seed, train_docs, eval_docs, log)
            else:
                result = _run_multitask(config, settings, seed, train_docs, eval_docs,
                                        out_dir / "runs" / f"{config.slug}-s{seed}")
        except KeyboardInterrupt:
            # the runs that finished are kept and written: an hours-long study stopped at its last run lost them
            # all, and its folder could then be neither opened nor reused (a probe)
            interrupted, stopped_at = True, config.name
            finished = sum(len(kept) for kept in runs.values())
            message = (f"interrupted during {config.name} (seed {seed}): {finished} of {len(planned)} runs finished; "
                       "the rest did not run")
            notes.append(message)
            log(message)
            break
        except Exception as error:  # noqa: BLE001 - one broken configuration must not lose the others
            message = f"{config.name} (seed {seed}) failed: {' '.join(str(error).split())}"
            notes.append(message)
            log(message)
            continue
        log("    " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
            + f"; {result.train_s:.0f}s training, {result.steps} steps, {result.epochs:.2f} epochs")
        runs[config].append(result)
    return StudyResult(settings=settings, summaries=tuple(ConfigSummary(c, tuple(runs[c])) for c in configs),
                       train_data=train_data, eval_data=eval_data, train_documents=len(train_docs),
                       eval_documents=len(eval_docs), command=command, started=started, finished=_now(),
                       notes=tuple(notes), interrupted=interrupted, stopped_at=stopped_at)


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


class RunCollector:
    """Listener gathering what the study keeps from a run's events (a multi-task run's, or the reference's when it
    runs as a workspace run)."""

    def __init__(self) -> None:
        self.losses: list[tuple[int, float, float]] = []
        self.evaluations: list[dict[str, float]] = []
        self.phases: list[dict[str, Any]] = []
        self.elapsed = 0.0
        self.trainable = 0
        self.total = 0
        self._step_loss: tuple[int, float] | None = None  # the last step's, until its progress gives its time

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            self.elapsed = event.elapsed_s
            if self._step_loss is not None and self._step_loss[0] == event.step:  # the step's own time: step 1
                self.losses.append((event.step, self.elapsed, self._step_loss[1]))  # was drawn at 0 s (it came
                self._step_loss = None  # after a 28 s cache fill) and each step at the one before (a walkthrough)
        elif isinstance(event, StepEvent):
            self._step_loss = (event.step, event.loss)
        elif isinstance(event, PhaseEvent):
            self.trainable, self.total = event.trainable_parameters, event.total_parameters
            self.phases.append({"step": event.step, "phase": event.phase,
                                "trainable_parameters": event.trainable_parameters, "reason": event.reason})
        elif isinstance(event, EvalEvent):
            self.evaluations.append({"step": event.step, "epoch": event.epoch, "elapsed_s": self.elapsed,
                                     **headline(event.metrics)})


def train_config(config: StudyConfig, settings: StudySettings, seed: int):
    """The ``TrainConfig`` of a multi-task configuration's run: the scenario's own defaults
    (``TrainConfig.for_scenario``) under the settings every configuration shares."""
    from ..training.config import TrainConfig

    shared = dict(backbone=config.backbone, freeze=settings.freeze, phased_top_k=settings.phased_top_k,
                  epochs_per_phase=settings.epochs_per_phase, epochs=settings.epochs,
                  max_minutes=settings.budget_minutes, batch_size=settings.batch_size, lr=settings.lr,
                  decay_factor=settings.decay_factor, loss_weighting=settings.loss_weighting, seed=seed,
                  max_length=settings.max_length, lr_schedule=settings.lr_schedule, warmup=settings.warmup,
                  boxes=settings.boxes)
    # a scenario's own default wins over a shared setting the user did not give (which is TrainConfig's default)
    return TrainConfig.for_scenario(config.scenario, **{**shared, **settings.scenario_overrides(config.scenario)})


def reference_config(config: StudyConfig, settings: StudySettings, seed: int) -> ReferenceConfig:
    """The ``ReferenceConfig`` of the plain reference's run under the study's shared settings."""
    return ReferenceConfig(backbone=config.backbone, epochs=settings.epochs, max_minutes=settings.budget_minutes,
                           batch_size=settings.batch_size, lr=settings.lr, seed=seed, max_length=settings.max_length,
                           lr_schedule=settings.lr_schedule, warmup=settings.warmup, boxes=settings.boxes)


def scored_metrics(metrics) -> dict[str, float]:
    """What a study keeps of a run's final evaluation: the headline metrics, and how many items and field words
    they scored (the noise rule's floors: a race's reading said "held" on a gap within F1's sampling error when
    the word count was left out)."""
    flat = flatten_metrics(metrics)
    return {**headline(flat), **{key: flat[key] for key in (ITEMS_SCORED, FIELD_WORDS) if key in flat}}


def run_result(config: StudyConfig, seed: int, job, collector: RunCollector, wall_s: float,
               run_dir: Path | None) -> RunResult:
    """What the study keeps of a finished :class:`~receipt_core.training.job.TrainingJob` whose events went to
    ``collector``; RuntimeError with the run's message when it failed."""
    result = job.result
    if isinstance(result, FailedEvent) or result is None:
        raise RuntimeError(result.error if result is not None else "the training thread ended without a result")
    state = job.trainer.state
    epochs = state.epoch + (state.step_in_epoch / state.steps_per_epoch if state.steps_per_epoch else 0.0)
    trainable = trained_parameters(collector.phases, result.step, collector.trainable)
    return RunResult(config=config, seed=seed, metrics=scored_metrics(result.metrics), train_s=result.elapsed_s,
                     wall_s=wall_s, trainable_parameters=trainable, total_parameters=collector.total,
                     steps=result.step, epochs=epochs, finished=result.reason,
                     evaluations=tuple(collector.evaluations), losses=_thin(collector.losses),
                     run_dir=None if run_dir is None else str(run_dir), phases=tuple(collector.phases))


def _run_multitask(config: StudyConfig, settings: StudySettings, seed: int, train_docs: Sequence[Document],
                   eval_docs: Sequence[Document], run_dir: Path) -> RunResult:
    from ..model.checkpoint import RUN_FILE
    from ..training.job import TrainingJob
    from ..training.receipt_task import build_task

    config_of_run = train_config(config, settings, seed)
    if (run_dir / RUN_FILE).exists():
        raise ValueError(f"{run_dir} already holds a checkpoint; give the study an empty --out folder")
    collector = RunCollector()
    started = time.monotonic()
    job = TrainingJob(lambda: build_task(config_of_run, train_docs, eval_docs, run_dir), config_of_run,
                      name=config.name)
    job.add_listener(collector)
    job.start()
    try:
        job.join()
    except KeyboardInterrupt:  # Ctrl-C: the run stops after its step (not left training behind the study's back)
        job.stop()
        job.join()
        raise
    return run_result(config, seed, job, collector, time.monotonic() - started, run_dir)


def _run_reference(config: StudyConfig, settings: StudySettings, seed: int, train_docs: Sequence[Document],
                   eval_docs: Sequence[Document], log: Callable[[str], None]) -> RunResult:
    from ..training.reference import train_reference  # torch: imported when a reference run starts, not with the UI

    started = time.monotonic()
    result = train_reference(reference_config(config, settings, seed), train_docs, eval_docs,
                             on_log=lambda line: log("    " + line))
    metrics = scored_metrics(result.metrics)
    return RunResult(config=config, seed=seed, metrics=metrics, train_s=result.train_s,
                     wall_s=time.monotonic() - started, trainable_parameters=result.trainable_parameters,
                     total_parameters=result.total_parameters, steps=result.steps, epochs=result.epochs,
                     finished=result.finished, evaluations=result.evaluations, losses=_thin(result.losses))
