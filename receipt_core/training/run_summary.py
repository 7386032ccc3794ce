"""A run's stored events folded into the Runs page's table row and its metrics CSV.

Like :class:`~receipt_core.training.run_feed.RunFeed`, this reads the workspace's ``run_events``, rebuilds each
event as its class (``event_from_json``) and dispatches on the class.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from ..datasets.splits import MIN_EVAL_RECEIPTS
from ..evaluation.noise import PairFloors, clear_winner, compare, few_words, margin, one_item
from ..evaluation.metrics import ones_baseline
from ..workspace.runs import LIVE_STATUSES
from .events import (CheckpointEvent, EvalEvent, FinishedEvent, FIELD_WORDS, HEADLINE_METRICS, ITEMS_SCORED,
                     METRIC_LABELS, PhaseEvent, ProgressEvent, StatusEvent, StepEvent, flatten_metrics, headline,
                     stored_event, trained_phases)
from .run_documents import eval_ids, resumed_from_steps, scored_on_own_training

BEST_BY = ("fields.micro_f1", "quantity.item_accuracy")  # what "best run" weighs, as the study's best row does
SAVED = "saved"  # "saved <metric>": the last evaluation's score, the model the run saved
BUDGET_CUT = "finished (time budget)"  # a run its time budget ended before its planned epochs
UNTRAINED = " · before its first step: untrained"  # after the status of a run that ended before a step
ONES_BASELINE = "answering 1"  # item quantity accuracy of answering 1 everywhere on its evaluation receipts
EVAL_FIELD_WORDS = "eval field words"  # its evaluation's field words: field F1's sampling error (noise.few_words)
EVAL_ITEMS = "eval items"  # its evaluation's item count: one item is the smallest item-accuracy difference


class _EventSource(Protocol):  # receipt_core.workspace.store.Workspace
    def run_events(self, run_id: str, after_seq: int = 0, kinds=None) -> list: ...


def _events(source: _EventSource, run_id: str, kinds: list[str]) -> list:
    return [event for record in source.run_events(run_id, kinds=kinds)
            if (event := stored_event(record.kind, record.payload)) is not None]


OWN_TRAINING = "scored on its training receipts"  # a Runs table column
# the loop's clock (evaluations and saves in, pauses and the set-up before the first step out): a walkthrough read
# "wall time" 95 s for a run 127 s from Start to its end
TRAINING_TIME = "training time (s)"


RESUMED_AT = "resumed from step"  # a Runs table column: where each resume of a stopped run went on from


def resumed_at(config: Mapping[str, Any]) -> str | None:
    """The steps a run was resumed from, as the Runs table shows them ("28", "28, 40"); None for a run never
    resumed. A walkthrough's run stopped by hand and resumed read "finished (time budget)", its stop unsaid."""
    steps = resumed_from_steps(config)
    if not steps:
        return None
    shown = ", ".join(str(step) for step in steps[:SHOWN_RESUMES])
    return shown + (f" and {len(steps) - SHOWN_RESUMES} more" if len(steps) > SHOWN_RESUMES else "")


SHOWN_RESUMES = 3  # steps the Runs table names; the rest counted


def run_summary(source: _EventSource, run) -> dict[str, Any]:
    """One row of the Runs table for ``run`` (a workspace RunRecord): its name, the best value of each of
    ``HEADLINE_METRICS`` (``best <name>``) first, then status, settings, trainable parameters (the most of any
    phase), training time and steps."""
    config = run.config
    evaluated_on = eval_ids(config)
    row: dict[str, Any] = {"run": run.id, "name": run.name, **{f"best {name}": None for name in HEADLINE_METRICS},
                           "eval receipts": len(evaluated_on) or None, "eval set": eval_set_key(evaluated_on),
                           OWN_TRAINING: scored_on_own_training(config),
                           "status": run.status, "scenario": config.get("scenario"), "backbone": config.get("backbone"),
                           "trainable parameters": None, "total parameters": None, TRAINING_TIME: None,
                           "steps": None, RESUMED_AT: resumed_at(config), EVAL_ITEMS: None, EVAL_FIELD_WORDS: None}
    best: dict[str, float] = {}
    phases: list[PhaseEvent] = []
    ended_at = None  # the step a run ended at (None while it trains, or once a resume goes on)
    events = _events(source, run.id, [PhaseEvent.kind, EvalEvent.kind, ProgressEvent.kind, FinishedEvent.kind,
                                      CheckpointEvent.kind])
    for event in events:
        if isinstance(event, PhaseEvent):
            phases.append(event)
            ended_at = None
        elif isinstance(event, EvalEvent):
            metrics = flatten_metrics(event.metrics)
            row[EVAL_ITEMS] = metrics.get(ITEMS_SCORED, row[EVAL_ITEMS])
            row[EVAL_FIELD_WORDS] = metrics.get(FIELD_WORDS, row[EVAL_FIELD_WORDS])
            for name in HEADLINE_METRICS:
                if name in metrics:
                    best[name] = max(best.get(name, float("-inf")), metrics[name])
        elif isinstance(event, (ProgressEvent, FinishedEvent)):
            row[TRAINING_TIME] = event.elapsed_s
            row["steps"] = event.step
            if isinstance(event, FinishedEvent):
                row["status"] = ended_status(run.status, event.reason, event.step)
                ended_at = event.step
    trained = trained_phases(phases, ended_at)
    if trained:
        row["trainable parameters"] = max(p.trainable_parameters or 0 for p in trained)
        row["total parameters"] = trained[-1].total_parameters
    row.update({f"best {name}": best.get(name) for name in HEADLINE_METRICS})
    # beside the best: a walkthrough read item accuracy 0.987 on Runs and 0.973 for the same run on Train and Predict
    saved = saved_evaluation(events)
    saved_metrics = flatten_metrics(saved.metrics) if saved is not None else {}
    row.update({f"{SAVED} {name}": saved_metrics.get(name) for name in BEST_BY})
    row[ONES_BASELINE] = ones_baseline(saved_metrics)
    return row


def saved_evaluation(events: Sequence) -> EvalEvent | None:
    """The evaluation of the model a run saved last: its last EvalEvent at or before its last checkpoint (the last
    of all, for a run that reported no checkpoint); None when it never evaluated. A save that failed (a probe's full
    disk) left step 50's scores beside step 25's model on Predict and Runs."""
    saves = [event.step for event in events if isinstance(event, CheckpointEvent)]
    evaluations = [event for event in events if isinstance(event, EvalEvent) and (not saves or event.step <= saves[-1])]
    return evaluations[-1] if evaluations else None


def ended_status(status: str, reason: str | None, steps: int | None = None) -> str:
    """A run's status as shown beside others: "finished (time budget)" for a run its time budget ended before its
    planned epochs (``reason``, the finished event's), which a walkthrough compared, as "finished", with runs that
    ran their whole plan; else ``status``. A finished or stopped run of no step (``steps`` 0) says its model is
    untrained: the CLI warned of it, and Runs read it as any finished run (probe 37), and probe 63's Stop pressed
    before the first step as any stopped one."""
    shown = BUDGET_CUT if status == "finished" and reason == "time budget" else status
    return shown + UNTRAINED if status in ("finished", "stopped") and steps == 0 else shown


def eval_set_key(eval_ids: Sequence[str]) -> str | None:
    """Which receipts a run was evaluated on, as a short key (equal keys: the same receipts); None for none."""
    if not eval_ids:
        return None
    return hashlib.sha256("\n".join(sorted(eval_ids)).encode("utf-8")).hexdigest()[:12]


def ranked_score(row: Mapping[str, Any], metric: str) -> float | None:
    """The score of ``metric`` that runs are ranked by: the saved model's (the one Predict uses, and the column the
    Runs table shows first), else, for a run that recorded none, its best evaluation's. A walkthrough saw the ★ on
    a run whose saved model was worse on the column shown, from one better evaluation midway."""
    saved = row.get(f"{SAVED} {metric}") if metric in BEST_BY else None
    return saved if saved is not None else row.get(f"best {metric}")


def clear_best_runs(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """The ``run`` of each row whose saved model (:func:`ranked_score`) beats every other run evaluated on the same
    receipts (``eval set``) on ``BEST_BY`` beyond the study's noise rule (``evaluation.noise``); scores on different
    receipts are never compared, and rows missing a metric, or scored on fewer than ``MIN_EVAL_RECEIPTS`` receipts
    (one receipt moves such a score beyond any rule: a walkthrough's ★ stood on 3), take no part. Empty when no run
    stands out."""
    return {winner for scores, floors in comparable_groups(rows)
            if (winner := clear_winner(scores, floors)) is not None}


def comparable_groups(rows: Sequence[Mapping[str, Any]]) -> list[tuple[dict[str, list[tuple[float, float]]],
                                                                        PairFloors]]:
    """The runs scored on the same receipts, per evaluation set, that have ended: each run's ``BEST_BY`` scores
    (spread 0), with the floors of those metrics for a pair of them (field F1's sampling error at the two runs'
    scores, one item of item accuracy)."""
    groups: dict[Any, dict[str, list[tuple[float, float]]]] = {}
    for row in rows:
        scores = [ranked_score(row, name) for name in BEST_BY]
        # a run still training takes no part: its ★ stood on a checkpoint midway and could move during a demo
        # (a walkthrough)
        if (row.get("eval set") is not None and (row.get("eval receipts") or 0) >= MIN_EVAL_RECEIPTS
                and row.get("status") not in LIVE_STATUSES and all(score is not None for score in scores)):
            groups.setdefault(row["eval set"], {})[row["run"]] = [(score, 0.0) for score in scores]
    items = {row["run"]: row.get(EVAL_ITEMS) for row in rows}
    words = {row["run"]: row.get(EVAL_FIELD_WORDS) for row in rows}

    def floors_of(scores: Mapping[str, list[tuple[float, float]]]) -> PairFloors:
        return lambda a, b: (few_words([scores[a][0][0], scores[b][0][0]], [words[a], words[b]]),
                             one_item([items[a], items[b]]))

    return [(scores, floors_of(scores)) for scores in groups.values()]


_BEST_BY_LABELS = tuple(METRIC_LABELS[metric] for metric in BEST_BY)  # as the table's columns name them


def _two_scores(mine: float, theirs: float, floor: float) -> str:
    """"0.929 vs 0.905, noise margin 0.009": two runs' scores of one metric and the noise margin between them."""
    return f"{mine:.3f} vs {theirs:.3f}, noise margin {margin(floor=floor):.3f}"


def best_reason(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None,
                trained_on: Mapping[str, Sequence[str]] | None = None) -> str:
    """What a ★ stands on, for the Runs page: per evaluation set with a best run, against each other run there, each
    metric's two scores, level or ahead, and the noise margin (walkthroughs could check a missing ★ against the
    rule, not a ★ shown, and then read "it is ahead of it" with no score). With ``trained_on`` (run id → the
    datasets it trained on), a run that learned from other data than the ★ run is said to, with what the scores
    can show of it: walkthrough 65 added its corrected photos to a run, which the ★ set beneath the run without
    them on CORD dev alone, and read that the photos had not helped."""
    data_of = {run: " + ".join(map(repr, datasets)) for run, datasets in (trained_on or {}).items() if datasets}
    said = []
    by_run = {row["run"]: row for row in rows}
    for scores, floors in comparable_groups(rows):
        if (winner := clear_winner(scores, floors)) is None:
            continue
        against, other_data = [], False
        for other, theirs in scores.items():
            if other == winner:
                continue
            parts = []
            floor = floors(winner, other)
            for i, (mine, them) in enumerate(zip(scores[winner], theirs)):
                ahead = compare(mine[0], them[0], floor=floor[i]) > 0
                parts.append(f"{'ahead' if ahead else 'level'} on {_BEST_BY_LABELS[i]} "
                             f"({_two_scores(mine[0], them[0], floor[i])})")
            unequal = _unequal_cost(by_run[winner], by_run[other])
            data = (f" (trained on {data_of[other]}, the ★ run on {data_of[winner]})"
                    if data_of.get(other) and data_of.get(winner) and data_of[other] != data_of[winner] else "")
            other_data = other_data or bool(data)
            against.append(f"against {(names or {}).get(other, other)!r}{unequal}{data}: " + ", ".join(parts))
        said.append(f"★ {(names or {}).get(winner, winner)!r} — " + "; ".join(against) + "."
                    + (" Runs that trained on other data are compared on these evaluation receipts alone: what a "
                       "dataset added shows on receipts like it (evaluate on some)." if other_data else ""))
    return " ".join(said)


UNEQUAL_TIME = 1.5  # training times further apart than this ratio are said beside a ★'s comparison


def _unequal_cost(winner: Mapping[str, Any], other: Mapping[str, Any]) -> str:
    """" (stopped, trained 54 s to the ★ run's 33 s)" when two runs a ★ compares did not train alike: the other
    one did not end by its plan (stopped, interrupted, cut by its time budget), or their training times differ by
    more than :data:`UNEQUAL_TIME` times, or, in about the same time, two runs of one scenario their steps; "" when
    they did. A walkthrough's ★ stood on a run against one stopped
    after 1.1 epochs, and another on a 68-second run against runs of 40 s, neither said."""
    notes = []
    # only where the two differ: every run of a race ends by its budget, and saying it of the others alone told them
    # apart from nothing (walkthrough 27)
    if other.get("status") not in (None, "finished", winner.get("status")):  # "(finished (time budget); …" nested
        notes.append("ended by its time budget" if other["status"] == BUDGET_CUT else str(other["status"]))
    theirs, mine = other.get(TRAINING_TIME), winner.get(TRAINING_TIME)
    timed_apart = bool(theirs and mine and max(theirs, mine) > UNEQUAL_TIME * min(theirs, mine))
    if timed_apart:
        notes.append(f"trained {theirs:.0f} s to the ★ run's {mine:.0f} s")
    # steps of one scenario far apart in about the same time: a loaded machine or a slower backbone, which the
    # scores alone do not tell (walkthrough 52's ★ stood on 245 steps against 87 in a minute each, unsaid)
    their_steps, my_steps = other.get("steps"), winner.get("steps")
    if (not timed_apart and other.get("scenario") == winner.get("scenario") and their_steps and my_steps
            and max(their_steps, my_steps) > UNEQUAL_TIME * min(their_steps, my_steps)):
        notes.append(f"{their_steps} steps to the ★ run's {my_steps}")
    return f" ({', '.join(notes)})" if notes else ""


def no_best_reason(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> str:
    """Why :func:`clear_best_runs` marked no run, for the Runs page: too few comparable runs (scored on at least
    ``MIN_EVAL_RECEIPTS`` receipts, the same ones), or none ahead beyond the noise rule, said with the pair that
    shows it and the margins that rule applied (``names``: run id -> the name to show). A walkthrough read "none
    beats every other … beyond the noise rule" over runs 0.3 apart, each scored on 3 receipts, and a later one over
    0.929 against 0.908, with no word of the margin or of the other metric."""
    scored = [row for row in rows if ranked_score(row, BEST_BY[0]) is not None and row.get("eval set") is not None]
    few = sum(1 for row in scored if (row.get("eval receipts") or 0) < MIN_EVAL_RECEIPTS)
    groups = [group for group in comparable_groups(rows) if len(group[0]) > 1]
    if groups:
        scores, floors = max(groups, key=lambda group: len(group[0]))
        return "No run is marked best: " + _undecided(scores, floors, names or {}) + "."
    live = [row for row in scored if row.get("status") in LIVE_STATUSES]
    if live:  # a run still training takes no part, and it is said (a walkthrough read "none beats every other")
        shown = ", ".join(repr((names or {}).get(row["run"], row["run"])) for row in live[:3])
        return (f"No ★ yet: {shown} {'is' if len(live) == 1 else 'are'} still training, and a ★ weighs runs that have "
                "ended, two or more on the same receipts.")
    sets: dict[Any, int] = {}
    for row in scored:
        if (row.get("eval receipts") or 0) >= MIN_EVAL_RECEIPTS:
            sets[row["eval set"]] = sets.get(row["eval set"], 0) + 1
    if any(count > 1 for count in sets.values()):  # runs without an item accuracy (a reference tagger's)
        return ("No run is marked best: none beats every other run evaluated on the same receipts beyond the noise "
                "rule.")
    if few:
        return (f"No run is marked best: {few} of the {len(scored)} scored runs were evaluated on fewer than "
                f"{MIN_EVAL_RECEIPTS} receipts, where one receipt moves a score by more than the noise rule, so they "
                "take no part, and fewer than two others were evaluated on the same receipts.")
    return "★ marks the best run once two or more runs are evaluated on the same receipts."


def _undecided(scores: Mapping[str, Sequence[tuple[float, float]]], pair_floors: PairFloors,
               names: Mapping[str, str]) -> str:
    """Which run the leader (the highest sum of scores, as ``clear_winner`` takes it) does not beat, and how: a
    trade-off between the two metrics, or every metric within the noise margin (given)."""
    labels = _BEST_BY_LABELS
    leader = max(scores, key=lambda key: sum(mean for mean, _ in scores[key]))

    def name(run_id: str) -> str:
        return repr(names.get(run_id, run_id))

    for other, theirs in scores.items():
        if other == leader:
            continue
        floors = pair_floors(leader, other)
        signs = [compare(mine[0], them[0], floor=floors[i]) for i, (mine, them) in enumerate(zip(scores[leader],
                                                                                              theirs))]
        if min(signs) < 0:  # the other run is measurably ahead on one metric (the leader, by the sum, on the other)
            behind = signs.index(-1)
            ahead = 1 - behind
            lead = "leads on" if signs[ahead] > 0 else "is ahead, within the noise margin, on"
            its_lead = _two_scores(scores[leader][ahead][0], theirs[ahead][0], floors[ahead])
            their_lead = _two_scores(theirs[behind][0], scores[leader][behind][0], floors[behind])
            return (f"{name(leader)} {lead} {labels[ahead]} ({its_lead}) and {name(other)} leads on "
                    f"{labels[behind]} ({their_lead}), so neither is best on both")
        if max(signs) <= 0:
            within = ", ".join(f"{labels[i]} ({_two_scores(mine[0], them[0], floors[i])})"
                               for i, (mine, them) in enumerate(zip(scores[leader], theirs)))
            return (f"{name(leader)} and {name(other)} are within the noise margin on both metrics ({within}), "
                    "so the evaluation set cannot tell them apart")
    return "none beats every other run evaluated on the same receipts beyond the noise rule"


def listing_order(rows: Sequence[Mapping[str, Any]], metric: str) -> list[Mapping[str, Any]]:
    """Runs table rows by ``metric``, highest first and missing last: by the saved model's score where the table
    shows one first (``BEST_BY``; a walkthrough read 0.855 listed above 0.862, sorted by a "best" column further
    right), else by ``best <metric>``. Runs scored on fewer than ``MIN_EVAL_RECEIPTS`` receipts come after the others
    (a walkthrough's run scored on 3 headed a list of runs scored on 50), and runs scored on their own training
    receipts last of all (a retraining on 1 reviewed receipt scored 1.000). The order is stable within each part."""
    def key(row: Mapping[str, Any]) -> tuple:
        value = ranked_score(row, metric)
        return (bool(row.get(OWN_TRAINING)), (row.get("eval receipts") or 0) < MIN_EVAL_RECEIPTS, value is None,
                -value if value is not None else 0.0)

    return sorted(rows, key=key)


@dataclass(frozen=True)
class LastEvaluation:
    """A run's latest validation: where it was taken and its headline metrics (flattened names)."""

    step: int
    epoch: int
    metrics: Mapping[str, float]


def run_phases(source: _EventSource, run_id: str) -> list[PhaseEvent]:
    """The phases a run trained in (:func:`trained_phases` of its stored phase events), each with what trained and
    why it began then, as the run said it: Runs shows them (a walkthrough found "phase 2: heads + top 2 encoder
    layers (25% of the time budget used)" only in the database)."""
    phases: list[PhaseEvent] = []
    ended_at = None
    for event in _events(source, run_id, [PhaseEvent.kind, FinishedEvent.kind]):
        if isinstance(event, PhaseEvent):
            phases.append(event)
            ended_at = None  # the run goes on (a resume)
        else:
            ended_at = event.step
    return trained_phases(phases, ended_at)


def last_evaluation(source: _EventSource, run_id: str) -> LastEvaluation | None:
    """:func:`saved_evaluation` of the run as headline metrics; None when it never evaluated."""
    last = saved_evaluation(_events(source, run_id, [EvalEvent.kind, CheckpointEvent.kind]))
    if last is None:
        return None
    return LastEvaluation(step=last.step, epoch=last.epoch, metrics=headline(last.metrics))


def run_metrics_rows(source: _EventSource, run_id: str) -> list[dict[str, Any]]:
    """Every step and evaluation of a run as flat rows (the metrics CSV): losses and learning rate of the steps,
    validation loss and numeric metrics of the evaluations, and a ``finished`` row where each launch of the run
    ended (its reason, and the training time to then); ``wall_s``, the seconds since the run's first stored
    event, pauses included, as the charts' wall-clock axis; ``training_s``, the run's training clock, without pauses
    or set-up, as its training time counts it. ``epoch`` is the epochs done at that step, as the
    charts and Train's status line count them (fractional once a progress event said the steps per epoch): the
    events' own numbers differ (a step's is the epoch it belongs to, from 1; an evaluation's the epochs completed),
    and a walkthrough's CSV gave step 51 epoch 3 on its step row and 2 on its evaluation row."""
    # the run's first phase and status events too: the charts count wall time from its first stored event, the
    # set-up before the first step included (walkthrough 27's CSV ran 11 s behind the charts)
    stored = [(record.created_at, event) for record in source.run_events(
        run_id, kinds=[StepEvent.kind, EvalEvent.kind, ProgressEvent.kind, PhaseEvent.kind, StatusEvent.kind,
                       FinishedEvent.kind])
        if (event := stored_event(record.kind, record.payload)) is not None]
    steps_per_epoch = next((e.total_steps / e.epochs for _, e in stored
                            if isinstance(e, ProgressEvent) and e.total_steps and e.epochs), None)
    first_at = min((at for at, _ in stored if isinstance(at, (int, float))), default=None)
    # the run's own clock beside the wall clock: its training time at the last progress report up to each row, which
    # leaves pauses and set-up out, as Train's "finished after" and Runs' training time do (walkthrough 35 read 134 s
    # of wall clock beside 87 s of training)
    clock = sorted((e.step, e.elapsed_s) for _, e in stored if isinstance(e, ProgressEvent))
    rows = []
    phase = None
    for created_at, event in stored:
        if not isinstance(event, (StepEvent, EvalEvent, FinishedEvent)):
            continue
        done = event.epoch - 1 if isinstance(event, StepEvent) else event.epoch  # whole epochs, without progress
        epoch = round(event.step / steps_per_epoch, 3) if steps_per_epoch else done
        # the wall clock the charts can plot by, pauses included (a walkthrough could not rebuild them from the CSV)
        wall = round(created_at - first_at, 2) if first_at is not None and isinstance(created_at, (int, float)) \
            else None
        if isinstance(event, FinishedEvent):  # the end, with the training time the Runs table shows, its final
            # evaluation and save included (walkthrough 50 read 59.37 s on the last evaluation's row, 63.8 s there)
            rows.append({"kind": event.kind, "step": event.step, "epoch": epoch, "wall_s": wall,
                         "training_s": round(event.elapsed_s, 2), "phase": phase, "reason": event.reason})
            continue
        phase = event.phase
        at = bisect.bisect_right(clock, (event.step, math.inf)) - 1
        row: dict[str, Any] = {"kind": event.kind, "step": event.step, "epoch": epoch, "wall_s": wall,
                               "training_s": round(clock[at][1], 2) if at >= 0 else None, "phase": event.phase}
        if isinstance(event, StepEvent):
            row["loss"] = event.loss
            row.update({f"{task}.loss": value for task, value in event.task_losses.items()})
            row["lr"] = event.lr
        else:
            row["val_loss"] = event.val_loss
            row.update(flatten_metrics(event.metrics))
        rows.append(row)
    return rows
