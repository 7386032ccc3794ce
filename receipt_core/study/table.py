"""The study's table as its reports show it (one row per configuration, means over the seeds), the notes under
it, and the paragraph that says what the study ran on — text only, shared by report.md, report.html and the
dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..datasets.splits import MIN_EVAL_RECEIPTS
from ..data.markup import code_span, escape_markdown, visible_text
from ..evaluation.noise import NOISE_NOTE
from ..training.config import BUDGET_ENDING
from ..training.events import HEADLINE_METRICS
from ..training.run_status import format_seconds
from ..wording import epochs_done, readable_time
from .reading import best_summary
from .result import Spread, StudyResult

TABLE_COLUMNS = ("configuration", "field micro-F1", "quantity word F1", "item quantity acc.", "item acc. (qty ≠ 1)",
                 "training s", "epochs", "trainable parameters")
TABLE_NOTE = ("Scores are each run's final evaluation, the model it saved (the Runs page's \"best\" columns take each "
              "metric's best over a run's evaluations, so they can be higher). Item quantity accuracy counts every "
              "item (answering 1 everywhere already scores high); the column after it counts only items whose gold "
              "quantity is not 1. Training seconds are the run's own clock, which the budget stops unless the run's "
              "own epochs end it first, plus the evaluation and checkpoint that close the run. The budget is checked "
              "between steps, so a run ends past it by its closing work and its last step; a frozen backbone's first "
              "steps also compute the features, so a budget of seconds is overrun by tens of seconds with MiniLM on a "
              "few hundred receipts on 2 cores. The row marked ★ is the best multi-task configuration, marked only "
              "when it is behind no other row beyond the noise rule below on either metric and ahead of each on at "
              "least one (no row is when none is, nor when fewer than "
              f"{MIN_EVAL_RECEIPTS} receipts were scored).")
READING_NOTE = NOISE_NOTE


@dataclass(frozen=True)
class TableRow:
    """One configuration as the report's table shows it (means over the seeds; None where every run failed)."""

    configuration: str
    best: bool  # the best multi-task configuration, when it clears the noise rule (marked ★)
    metrics: Mapping[str, Spread]  # HEADLINE_METRICS key -> spread; empty when every run failed
    train_s: float | None
    epochs: float | None
    trainable_parameters: int | None
    # without a finished run: why ("failed"; "interrupted", "not run" when Ctrl-C stopped the study there or before)
    missing: str = "failed"

    @property
    def failed(self) -> bool:
        return not self.metrics

    def cells(self) -> tuple[str, ...]:
        """The row's text, one cell per :data:`TABLE_COLUMNS` (metrics as "mean ± std" with repeats)."""
        if self.failed:
            return (self.configuration, self.missing, *[""] * (len(TABLE_COLUMNS) - 2))
        return (self.configuration, *[self.metrics[k].text() for k in HEADLINE_METRICS], f"{self.train_s:.0f}",
                epochs_done(self.epochs), f"{self.trainable_parameters:,}")  # as the race and Train count them


def table_rows(result: StudyResult) -> list[TableRow]:
    """The report's table, one row per configuration in the study's order."""
    best = best_summary(result)
    rows = []
    names = [s.config.name for s in result.summaries]
    stopped = names.index(result.stopped_at) if result.stopped_at in names else len(names)
    for number, s in enumerate(result.summaries):
        if not s.runs:  # a probe's report said "failed" for a run Ctrl-C cut short and one that never started
            missing = "failed" if number < stopped else "interrupted" if number == stopped else "not run"
            rows.append(TableRow(s.config.name, False, {}, None, None, None, missing))
            continue
        rows.append(TableRow(s.config.name, best is not None and s.config == best.config,
                             {k: s.spread(k) for k in HEADLINE_METRICS}, s.spread("train_s").mean,
                             s.spread("epochs").mean, int(s.spread("trainable_parameters").mean)))
    return rows


def markdown_table(result: StudyResult) -> str:
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for row in table_rows(result):
        cells = list(row.cells())
        cells[0] = escape_markdown(cells[0])  # a configuration names its backbone, which may be a folder path
        if row.best:  # marked as the note says it is, in every table (walkthrough 58 read "the bold row" on Runs,
            cells[0] = f"**★ {cells[0]}**"  # where the table marks it ★ only)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def settings_paragraph(result: StudyResult) -> str:
    """The report's first paragraph: data, budget, hyperparameters, seeds, when it ran."""
    settings = result.settings
    budget = (format_seconds(settings.budget_minutes * 60) if settings.budget_minutes is not None
              else "no time limit")  # 20s, 3m 00s: not "0.333333 minutes"
    spread = f"mean ± sample std over {settings.repeats} seeds" if settings.repeats > 1 else "one seed"
    schedule = (f"linear: {settings.warmup:.0%} warm-up, then down to 0" if settings.lr_schedule == "linear"
                else settings.lr_schedule)
    # one recipe for every scenario: its boxes, not the base setting it replaced (probe 31 and walkthrough 29 read
    # "line boxes" here, then "row boxes" in the recipe's sentence); the reference keeps the study's own
    two_head = any(not s.config.is_reference for s in result.summaries)  # a reference alone keeps its own boxes
    recipe_boxes = settings.scenario_overrides("full").get("boxes") if settings.same_recipe and two_head else None
    boxes = f"{recipe_boxes or settings.boxes} boxes"
    if recipe_boxes and recipe_boxes != settings.boxes and any(s.config.is_reference for s in result.summaries):
        boxes += f" (the reference: {settings.boxes})"
    started, finished = (escape_markdown(visible_text(readable_time(when)))
                         for when in (result.started, result.finished))
    return (f"Train: {code_span(result.train_data)} ({result.train_documents} documents); evaluation: "
            f"{code_span(result.eval_data)} "
            f"({result.eval_documents} documents). Budget per run: {budget} of training (evaluation after each "
            f"epoch counts; {BUDGET_ENDING}), at most {settings.epochs} "
            f"epochs; batch size {settings.batch_size}, learning rate "
            f"{settings.lr:g} ({schedule}), discriminative decay {settings.decay_factor:g}, "
            f"{settings.loss_weighting} loss weighting, {boxes}"
            + (f", always frozen: {', '.join(code_span(name) for name in settings.freeze)}" if settings.freeze else "")
            + f"; seed {settings.seed}; {spread}." + _scenario_defaults_sentence(result)
            + f" Started {started}, finished {finished}.")


def _scenario_defaults_sentence(result: StudyResult) -> str:
    """Which of the settings above a scenario's own defaults replaced (``StudySettings.scenario_overrides``):
    a freeze-backbone run trains 20 epochs of contextual heads over row boxes, whatever the line above says."""
    scenarios = dict.fromkeys(s.config.scenario for s in result.summaries if not s.config.is_reference)
    parts = [f"{scenario}: {_describe(overrides)}" for scenario in scenarios
             if (overrides := result.settings.scenario_overrides(scenario))]
    if result.settings.same_recipe and parts:  # one recipe: said once, as what makes the scenarios comparable
        recipe = {k: v for k, v in result.settings.scenario_overrides("full").items()
                  if k not in ("boxes", "epochs_per_phase")}  # the phases are phased's own (walkthrough 32)
        return " Every scenario trains with one recipe, so only what it freezes differs: " + _describe(recipe) + "."
    return (" Each scenario's own defaults replace these where the study did not set them: " + "; ".join(parts)
            + ".") if parts else ""


def _describe(overrides: dict) -> str:
    named = dict(overrides)
    words = []
    if "head" in named:
        head = named.pop("head")
        shape = (f" ({named.pop('head_depth', '?')} layers of width {named.pop('head_size', '?')})"
                 if head == "contextual" else "")
        words.append(f"{head} heads{shape}")
    if "layer_mix" in named:
        words.append(f"over a layer mix ({named.pop('layer_mix')})")
    if "head_lr" in named:
        words.append(f"head learning rate {named.pop('head_lr'):g}")
    if "epochs" in named:
        words.append(f"at most {named.pop('epochs')} epochs")
    if "epochs_per_phase" in named:
        words.append(f"{named.pop('epochs_per_phase')} epochs per phase")
    if "boxes" in named:
        words.append(f"{named.pop('boxes')} boxes")
    words += [f"{name.replace('_', ' ')} {value}" for name, value in named.items()]
    return ", ".join(words)

