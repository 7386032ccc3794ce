"""How long a run will take, said before Start: from the throughput earlier runs in the workspace measured, else
a rough guess per backbone, labelled as such.

The unit is the **receipt-epoch**: one training receipt seen once. A run's cost per receipt-epoch is its loop's
elapsed time (``ProgressEvent``/``FinishedEvent.elapsed_s``: paused time excluded, evaluations and checkpoints
included, loading the backbone not) over the receipt-epochs its steps made
(``steps done / steps per epoch × training receipts``). Earlier runs count once they went past their first epoch
(until then their time is mostly set-up), a phased one once it reached its last phase (its phases cost differently),
when they trained on a like number of receipts (within :data:`MAX_SIZE_RATIO` of the plan's: each epoch's
evaluation and save cost the same however few receipts train, so a race's 4-receipt run put 200 receipts at 70
times their time), and when they are of the same kind (two-head, reference, pre-training),
backbone and, for the two-head model, scenario and hand toggles; the
:data:`MAX_RUNS_USED` most recent of them are pooled (total seconds over total receipt-epochs). A planned run then costs
``receipts × epochs × seconds per receipt-epoch``, capped by its time budget, in
``ceil(receipts / batch size)`` steps an epoch (a receipt longer than one window makes more).

The first epoch is measured apart from the later ones, except for the phased plan (whose later phases cost more
again): with a frozen backbone it also fills the feature caches, and costs several later epochs (a short race run
of freeze-backbone, pooled as one rate, put a 20-epoch run at 7 times its time). Its end is the first step of the
second epoch, whose elapsed time holds the first evaluation, less one later step at their mean. The time before
the loop's clock starts (loading the backbone, encoding the receipts) is said apart: the median, over the same
runs, of the gap between the run's creation (Start) and its first event.

The plan and the rough guess are :mod:`.rough_estimate`'s. A rough guess is scaled by this machine's speed when the
caller times it (:mod:`.machine_speed`): the guesses were measured on one machine, and the same kind of machine has
run 2.5 times slower on other days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Protocol, Sequence

from ..datasets.splits import split_documents
from ..model.backbone_names import same_cost
from ..workspace.runs import LIVE_STATUSES
from .config import BUDGET_ENDING
from .events import Event, FinishedEvent, PhaseEvent, ProgressEvent, stored_event
from .rough_estimate import (PlannedRun, features_first, frozen_backbone, rough_epoch, rough_epoch_seconds,
                             rough_seconds_per_receipt_epoch, running_share)
from .runs import RUN_KIND

MAX_RUNS_USED = 3
CLOSE_TO_BUDGET = 0.75  # an estimate this share of the time budget or more says the budget may end the run first
MAX_SIZE_RATIO = 4.0  # a run on 4 times fewer (or more) training receipts than the plan is not measured for it
MAX_STARTUP_S = 3600.0  # a longer gap between Start and the first event is not a start-up (a run made, started later)


class _RunSource(Protocol):  # receipt_core.workspace.store.Workspace
    def list_runs(self) -> list: ...

    def run_events(self, run_id: str, after_seq: int = 0, kinds=None) -> list: ...


@dataclass(frozen=True)
class MeasuredCost:
    """What one earlier run measured."""

    run_id: str
    seconds: float
    receipt_epochs: float
    startup_s: float | None = None  # from Start to the loop's clock: the backbone's load, the receipts' encoding
    later_seconds: float = 0.0  # the part of seconds and receipt_epochs after the first epoch (and its evaluation)
    later_receipt_epochs: float = 0.0


@dataclass(frozen=True)
class TimeEstimate:
    seconds: float
    epochs: int
    steps_per_epoch: int
    measured_runs: int  # earlier runs the rate comes from; 0: a rough guess
    seconds_per_receipt_epoch: float
    budget_bound: bool  # the time budget ends the run before its epochs
    evaluation_only: bool = False  # nothing can learn: one evaluation pass, no epochs
    startup_s: float | None = None  # measured time before the first step (the most recent like runs' median)
    later_epochs_rate: float | None = None  # s per receipt-epoch after the first, measured apart from it
    phased: bool = False  # the phased plan: a run counts once it reached its last phase
    unmeasured_runs: int = 0  # runs like it, none of which measured this plan (too short, or of another size)
    scaled_from: tuple[str, int] | None = None  # (scenario, runs): measured on another scenario's runs, scaled
    epoch_s: float = 0.0  # a rough guess's seconds per epoch for its evaluation and save, on top of the rate
    machine_factor: float = 1.0  # a rough guess's scaling to this machine's speed (PlannedRun.machine_factor)
    features_first: bool = False  # the first step waits for the frozen layers' features of every receipt
    # a rough or scaled guess for a plan with layers or heads toggled by hand, which neither figure knows of (a
    # walkthrough froze four layers of full and read the same "about 8 min" as plain full)
    toggles_unmeasured: bool = False
    # backbone layers toggled on over a frozen-backbone scenario: the share of the encoder that runs every step
    backbone_running_share: float | None = None
    epochs_in_budget: float | None = None  # the epochs the budget lets it do, when it ends the run before its epochs
    budget_s: float | None = None  # the plan's time budget, when it has one

    def text(self) -> str:
        """``about 4 min for 12 epochs of 75 steps`` plus where the figure comes from: :meth:`headline` and
        :meth:`details` in one line."""
        if self.evaluation_only:
            return self.headline()
        details = self.details()
        return f"{self.headline()}{'' if details.startswith(' (') else ', '}{details}"

    def headline(self) -> str:
        """The figure itself, as the Train page says it beside Start: ``about 4 min for 12 epochs of 75 steps``, with
        the measured start-up when there is one; the rest, where the figure comes from, is :meth:`details`, which
        the page keeps in a tooltip (the whole of it under Start was a wall of ~100 words that walkthroughs read
        past)."""
        if self.evaluation_only:
            return ("no training: no group can learn, so Start evaluates the model once (seconds for a few hundred "
                    "receipts) and the run ends")
        about = f"about {about_time(self.seconds)}"
        plan = (f"{self.epochs} epoch{'s' if self.epochs != 1 else ''} of {self.steps_per_epoch} "
                f"step{'s' if self.steps_per_epoch != 1 else ''}")
        # how far it gets, said (a walkthrough's budgeted run read "ends it before 20 epochs" and reached 1.8)
        line = (f"{about}: the time budget ends it {_reached(self.epochs_in_budget)} of {plan}"
                if self.budget_bound and self.epochs_in_budget is not None else
                f"{about}: the time budget ends it before {plan}" if self.budget_bound else f"{about} for {plan}")
        # the loop's clock starts after the backbone is loaded and the receipts encoded (a walkthrough waited 50 s
        # more than the estimate under load)
        if not self.budget_bound and self.budget_s and self.seconds >= CLOSE_TO_BUDGET * self.budget_s:
            # walkthrough 39 read "about 89 s for 12 epochs" under a 1.5-minute budget, which ended the run after 9
            line += (f", close to its {about_time(self.budget_s)} time budget, which ends it first if the run goes "
                     "slower")
        if self.startup_s is not None:
            line += f", after about {max(self.startup_s, 1):.0f} s to load the backbone and encode the receipts"
        if self.toggles_unmeasured and self.backbone_running_share is None:  # said first: at the end of ~100 words
            # a walkthrough read the figure and moved on (walkthrough 35)
            line = f"the scenario's own figure, without the layers and heads you toggled by hand: {line}"
        return line

    def source(self) -> str:
        """Where the figure comes from, in a few words: ``measured on 2 earlier runs like it``, ``rough guess``."""
        if self.evaluation_only:
            return ""
        if self.measured_runs:
            return f"measured on {self.measured_runs} earlier run{'s' if self.measured_runs != 1 else ''} like it"
        if self.scaled_from is not None:
            scenario, count = self.scaled_from
            return f"scaled from {count} earlier {scenario} run{'s' if count != 1 else ''}"
        return "a rough guess: no earlier run here measures a run like this one"

    def details(self) -> str:
        """All the headline leaves out: the start-up when unmeasured, the frozen layers' first pass, the rates and
        runs the figure comes from, and how the budget ends a run."""
        if self.evaluation_only:
            return ""
        line = "" if self.startup_s is not None else "after loading the backbone and encoding the receipts"
        if self.features_first:  # a walkthrough read "about 1 s" and then waited 27 s for the first step
            line += ("; " if line else "") + ("the first step also waits for the frozen layers' features of every "
                                               "receipt, which the first epoch's time includes")
        line = self._with_source(line)
        return f"{line}. Under the budget, {BUDGET_ENDING}" if self.budget_bound else line

    def _with_source(self, line: str) -> str:
        """``line`` followed by where its figure comes from: earlier runs, another scenario's, or a rough guess."""
        line = self._source(line)
        if self.toggles_unmeasured and self.backbone_running_share is not None:
            # not the frozen scenario's own figure (a walkthrough read "the scenario's own" beside 12 min, where
            # the scenario's own had said 3.5), nor full fine-tuning's (the layers below are still cached)
            share = self.backbone_running_share
            line += ("; the backbone layers you switched on make every step run the backbone, so this is full "
                     "fine-tuning's figure" if share >= 1.0 else
                     f"; the backbone layers you switched on, and those above them ({share:.0%} of the encoder), "
                     "run every step, while the frozen layers below are computed once: the figure adds that share "
                     "of full fine-tuning's extra cost to the scenario's")
            line += "; a run with these toggles measures them for the next estimate"
        elif self.toggles_unmeasured:  # the caveat itself leads the line (text)
            line += ("; frozen layers make each step cheaper, more trained ones dearer, and a run with these toggles "
                     "measures them for the next estimate")
        return line

    def _source(self, line: str) -> str:
        if self.measured_runs:
            runs = "run" if self.measured_runs == 1 else "runs"
            rate = (f"{self.seconds_per_receipt_epoch:.3f} s per receipt and epoch" if self.later_epochs_rate is None
                    else f"{self.seconds_per_receipt_epoch:.3f} s per receipt in the first epoch, "
                         f"{self.later_epochs_rate:.3f} in each later one")
            return f"{line} (measured: {rate} in {self.measured_runs} earlier {runs} like it)"
        if self.scaled_from is not None:
            scenario, count = self.scaled_from
            runs = "run" if count == 1 else "runs"
            return (f"{line} (from {count} earlier {scenario} {runs} of this backbone, adjusted for how much "
                    f"cheaper or dearer this scenario's steps are: {self.seconds_per_receipt_epoch:.3f} s per "
                    "receipt and epoch; no earlier run of this scenario measured it)")
        if self.unmeasured_runs:  # a walkthrough read "no earlier run like it" just after racing that very scenario
            runs = "run" if self.unmeasured_runs == 1 else "runs"
            return (f"{line} (rough guess: {self.unmeasured_runs} earlier {runs} like it ended within the first "
                    f"epoch{' or phase' if self.phased else ''} or trained on far fewer or more receipts, so none "
                    f"measures this run; {self._rough_rates()})")
        return f"{line} (rough guess: no earlier run like it in this workspace; {self._rough_rates()})"

    def _rough_rates(self) -> str:
        rates = (f"{self.seconds_per_receipt_epoch:.3f} s per receipt and epoch, and {self.epoch_s:.2g} s an epoch "
                 "to evaluate and save")
        if self.machine_factor == 1.0:
            return f"{rates}, on a 2-core machine"
        # a walkthrough waited 5 minutes for "about 2 min" on a machine running 2.3 times slower than the reference
        # "times 4 for how fast this machine runs now" was opaque, and read as wrong when other work ended (a
        # walkthrough): said as the test it is, taken at most every 10 minutes
        factor = f"{self.machine_factor:.2g}"
        # "0.95 times slower" read as slower for a machine that is faster (walkthrough 33)
        speed = (f"{factor} times slower" if self.machine_factor > 1
                 else f"in {factor} of the time" if self.machine_factor < 1 else "as fast")
        return (f"{rates}: figures measured on a 2-core machine, times {factor}, as a short test ran {speed} here in "
                "the last 10 minutes (other work running then slows it; a run like this one, once trained here, "
                "measures the next estimate)")


def _reached(epochs: float) -> str:
    """How far a budgeted run gets, before "of 20 epochs of 25 steps": ``after about 4.3``, ``after about 12``,
    ``in the first``."""
    if epochs < 1:
        return "in the first"
    return f"after about {f'{epochs:.1f}'.rstrip('0').rstrip('.') if epochs < 10 else round(epochs)}"


def about_time(seconds: float) -> str:
    """``45 s`` under 90 s, then minutes to the half (``1.5 min``, ``4 min``) under ten, then whole minutes: a
    budget of 1.5 minutes read "about 2 min" (a walkthrough)."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    minutes = seconds / 60
    return f"{round(minutes * 2) / 2:g} min" if minutes < 10 else f"{minutes:.0f} min"


@dataclass(frozen=True)
class PlannedSplit:
    """The receipts a run started now would train on, as the Train page reads them before Start."""

    receipts: int  # 0 when Start would refuse
    words_per_receipt: float | None  # their mean word count (None: none)
    problem: str | None  # why Start would refuse the split, in its own words; None when it can start


def planned_split(summaries: Sequence, eval_summaries: Sequence | None, hold_out: float) -> PlannedSplit:
    """What a two-head or reference run started now would train on: the receipts (workspace DocumentSummary) with a
    label from a person or an import (as Start takes them), less the held-out share when there is no evaluation
    dataset. When that split is not possible, the reason, for the page to say before Start (a walkthrough's
    dataset of three photos, one labelled, offered Start and only then said it needed two)."""
    chosen = [s for s in summaries if s.labelled_words > 0]
    try:
        train = split_documents(chosen, eval_summaries, hold_out)[0]
    except ValueError as error:
        counting = "counting only its labelled receipts, " if len(chosen) < len(summaries) else ""
        return PlannedSplit(0, None, f"{counting}{error}")
    return planned_pretraining(train)


def planned_pretraining(summaries: Sequence) -> PlannedSplit:
    """What layout pre-training started now would read: every receipt, labelled or not, none held out."""
    return PlannedSplit(len(summaries), sum(s.words for s in summaries) / len(summaries) if summaries else None, None)


def measured_cost(run_id: str, events: Iterable[Event], train_receipts: int,
                  startup_s: float | None = None) -> MeasuredCost | None:
    """One run's seconds and receipt-epochs from its progress and finished events, or None when it did not go past
    its first epoch; the part after its first epoch apart (see the module's docstring)."""
    steps_per_epoch, step, seconds = None, 0, 0.0
    first_end: tuple[int, float] | None = None  # (step, elapsed) at the second epoch's first step
    phase, phases = 1, 1
    for event in events:
        if isinstance(event, PhaseEvent):
            phase, phases = max(phase, event.phase), max(phases, event.phases)
        elif isinstance(event, ProgressEvent):
            if event.total_steps and event.epochs:
                steps_per_epoch = event.total_steps / event.epochs
            step, seconds = event.step, event.elapsed_s
            if first_end is None and event.epoch >= 1:
                first_end = (step, seconds)
        elif isinstance(event, FinishedEvent):
            step, seconds = event.step, event.elapsed_s
    if not steps_per_epoch or step <= 0 or seconds <= 0 or train_receipts <= 0:
        return None
    if phase < phases:  # a phased run stopped before its last phase: its early phases are its cheap ones (a
        return None  # walkthrough's run stopped in phase 1 more than doubled the estimate of a 12-epoch run)
    if step <= steps_per_epoch:
        # ended inside or at the end of its first epoch: its time is mostly what a run pays once (a frozen
        # backbone's cache fill, the closing evaluation and save). Spread over a fraction of an epoch it put a
        # 20-epoch run at 178 min where 2 min was right, and one whole first epoch taken for every epoch put it at
        # 10 min where it took 1 (walkthroughs, after races of 5- and 30-second runs)
        return None
    later_steps, later_seconds = 0, 0.0
    if first_end and step > first_end[0] and seconds > first_end[1]:  # the second epoch's first step at their mean
        mean_step_s = (seconds - first_end[1]) / (step - first_end[0])
        later_steps, later_seconds = step - first_end[0] + 1, seconds - first_end[1] + mean_step_s
    return MeasuredCost(run_id=run_id, seconds=seconds, receipt_epochs=step / steps_per_epoch * train_receipts,
                        startup_s=startup_s, later_seconds=later_seconds,
                        later_receipt_epochs=later_steps / steps_per_epoch * train_receipts)


def startup_seconds(created_at: float, records: Sequence) -> float | None:
    """From a run's creation (Start) to the start of its loop's clock: the first stored event's wall time less the
    loop time it carries; None without events, or for a figure no start-up takes (a clock moved, an old run)."""
    if not records:
        return None
    first = records[0]
    startup = first.created_at - float(first.payload.get("elapsed_s") or 0.0) - created_at
    return startup if 0.0 <= startup <= MAX_STARTUP_S else None


def matches(config, plan: PlannedRun) -> bool:
    """Whether a stored run's config is a run like ``plan`` (kind, backbone, the two-head model's scenario); a
    backbone of the same cost counts (walkthrough 43's layout-minilm estimate ignored a text-minilm run of the same
    scenario, and overshot it)."""
    if config.get(RUN_KIND, "receipt") != plan.kind or not same_cost(config.get("backbone"), plan.backbone):
        return False
    return plan.kind != "receipt" or (config.get("scenario") == plan.scenario
                                      and tuple(config.get("freeze") or ()) == tuple(plan.freeze)
                                      and tuple(config.get("unfreeze") or ()) == tuple(plan.unfreeze))


def measured_costs(source: _RunSource, plan: PlannedRun) -> list[MeasuredCost]:
    """The costs of the most recent runs like ``plan`` that went past their first epoch (at most MAX_RUNS_USED).
    A race's runs give no start-up figure: the race encodes its receipts once for all of them (a walkthrough read
    "about 1 s to load" on Train, where loading and encoding took 19 s)."""
    return _measured(source, plan, [run for run in source.list_runs() if matches(run.config, plan)])


def _measured(source: _RunSource, plan: PlannedRun, like: Sequence) -> list[MeasuredCost]:
    """:func:`measured_costs` of the runs ``like`` the plan (newest first)."""
    costs: list[MeasuredCost] = []
    for run in like:
        if len(costs) == MAX_RUNS_USED:
            break
        receipts = int(run.config.get("train_documents") or 0)
        if not like_sized(receipts, plan.train_receipts):  # before its events are read
            continue
        records = source.run_events(run.id, kinds=[PhaseEvent.kind, ProgressEvent.kind, FinishedEvent.kind])
        events = (event for r in records if (event := stored_event(r.kind, r.payload)) is not None)
        startup = startup_seconds(run.created_at, records) if "study" not in run.config else None
        cost = measured_cost(run.id, events, receipts, startup)
        if cost is not None:
            costs.append(cost)
    return costs


def like_sized(run_receipts: int, planned_receipts: int) -> bool:
    """Whether a run trained on a number of receipts near enough the plan's to measure it: each epoch's evaluation
    and save cost the same however few receipts train, so a run on 4 receipts (a race on 6 demo receipts) spread
    them over 4 and put a run on 200 at 118 minutes instead of about 2 (a walkthrough)."""
    if run_receipts <= 0 or planned_receipts <= 0:
        return False
    return max(run_receipts, planned_receipts) <= MAX_SIZE_RATIO * min(run_receipts, planned_receipts)


def estimate(plan: PlannedRun, costs: Sequence[MeasuredCost]) -> TimeEstimate:
    """The planned run's time from measured ``costs`` (pooled), else from the rough guess."""
    if plan.trains_nothing:  # a walkthrough read "about 2 min for 12 epochs" before a run that evaluated for 1 s
        return TimeEstimate(seconds=0.0, epochs=0, steps_per_epoch=0, measured_runs=0, seconds_per_receipt_epoch=0.0,
                            budget_bound=False, evaluation_only=True)
    later = [c for c in costs if c.later_receipt_epochs > 0]
    later_rate = None
    if later and plan.epochs > 1 and plan.scenario != "phased":
        first = [c for c in costs if c.receipt_epochs > c.later_receipt_epochs]
        rate = (sum(c.seconds - c.later_seconds for c in first)
                / sum(c.receipt_epochs - c.later_receipt_epochs for c in first))
        later_rate = sum(c.later_seconds for c in later) / sum(c.later_receipt_epochs for c in later)
        seconds = plan.train_receipts * (rate + later_rate * (plan.epochs - 1))
    else:
        rate = (sum(c.seconds for c in costs) / sum(c.receipt_epochs for c in costs) if costs
                else rough_seconds_per_receipt_epoch(plan) * plan.machine_factor)
        seconds = rate * plan.train_receipts * plan.epochs
    epoch_s = 0.0 if costs else rough_epoch_seconds(plan) * plan.machine_factor  # a measured rate holds them
    uncapped = seconds + epoch_s * plan.epochs
    seconds, bound = _capped(plan, uncapped)
    return TimeEstimate(seconds=seconds, epochs=plan.epochs, epochs_in_budget=_within(plan, seconds, uncapped, bound),
                        steps_per_epoch=math.ceil(plan.train_receipts / plan.batch_size), measured_runs=len(costs),
                        seconds_per_receipt_epoch=rate, budget_bound=bound, startup_s=_median_startup(costs),
                        later_epochs_rate=later_rate, phased=plan.kind == "receipt" and plan.scenario == "phased",
                        epoch_s=epoch_s, features_first=features_first(plan),
                        machine_factor=1.0 if costs else plan.machine_factor,
                        toggles_unmeasured=not costs and bool(plan.freeze or plan.unfreeze),
                        backbone_running_share=running_share(plan),
                        budget_s=plan.max_minutes * 60 if plan.max_minutes else None)


def _within(plan: PlannedRun, budget_s: float, uncapped_s: float, bound: bool) -> float | None:
    """The epochs a run the budget ends gets through: its share of the whole plan's time (None when it is not
    budget-bound, and for the phased plan, whose later phases cost several times its first: walkthrough 41 read
    "after about 8.3 of 12 epochs" and the budget ended the run after 4)."""
    if plan.kind == "receipt" and plan.scenario == "phased":
        return None
    return plan.epochs * budget_s / uncapped_s if bound and uncapped_s > 0 else None


def _capped(plan: PlannedRun, seconds: float) -> tuple[float, bool]:
    """``seconds`` capped by the plan's time budget, and whether the budget ends the run before its epochs."""
    budget = plan.max_minutes * 60 if plan.max_minutes else None
    bound = budget is not None and budget < seconds
    return (budget if bound else seconds), bound


def _median_startup(costs: Sequence[MeasuredCost]) -> float | None:
    startups = sorted(c.startup_s for c in costs if c.startup_s is not None)
    return startups[len(startups) // 2] if startups else None


def estimate_run_time(source: _RunSource, plan: PlannedRun,
                      machine_factor: Callable[[], float] | None = None) -> TimeEstimate:
    """:func:`estimate` from the runs of the workspace ``source``; without a measured run like it, the measured rate
    of another scenario of the same backbone scaled by the two scenarios' rough guesses (:func:`_scaled_estimate`),
    else the rough guess, beside which how many runs like it measure none of it (too short, or of another size).
    ``machine_factor`` (:func:`.machine_speed.speed_factor` of a timing) scales the rough guess to this machine;
    it is called only when the rough guess is what the estimate says."""
    # a run still training is no earlier run: a walkthrough read "measured … in 1 earlier run like it" beside Start
    # while that run trained, the estimate growing with its slow first epochs
    runs = [run for run in source.list_runs() if run.status not in LIVE_STATUSES]
    like = [run for run in runs if matches(run.config, plan)]
    costs = _measured(source, plan, like)
    result = estimate(plan, costs)
    if costs or result.evaluation_only:
        return result
    scaled = _scaled_estimate(source, plan, runs)
    if scaled is not None:
        return scaled
    if machine_factor is not None:
        result = estimate(replace(plan, machine_factor=machine_factor()), costs)
    return replace(result, unmeasured_runs=len(like))


def _scaled_estimate(source: _RunSource, plan: PlannedRun, runs: Sequence) -> TimeEstimate | None:
    """The plan's time from the runs of another scenario of its kind and backbone (newest scenario first) that measured
    a rate on a like number of receipts, times the ratio of the two scenarios' rough epochs; None when there is none.
    Only a scenario that, like the plan, freezes the whole backbone or trains some of it counts. A walkthrough's
    workspace, after one phased run on the demo receipts, read "about 3.5 min" for phased beside "about 5 s" (the rough
    guess) for full, which costs more per step."""
    if plan.kind != "receipt":
        return None
    for scenario in dict.fromkeys(run.config.get("scenario") for run in runs):  # newest first, each once
        if not isinstance(scenario, str) or scenario == plan.scenario:
            continue
        other = replace(plan, scenario=scenario, freeze=(), unfreeze=())
        if frozen_backbone(other) != frozen_backbone(plan):
            # a frozen backbone's epochs cost the cache fill once and the heads after, a trained one's the whole
            # model each time: one does not scale to the other (a walkthrough's full fine-tuning, scaled from one
            # freeze-backbone run, took 2.4 times its estimate)
            continue
        costs = _measured(source, other, [run for run in runs if matches(run.config, other)])
        if not costs:
            continue
        rate = (sum(c.seconds for c in costs) / sum(c.receipt_epochs for c in costs)
                * rough_epoch(plan) / rough_epoch(other))
        uncapped = rate * plan.train_receipts * plan.epochs
        seconds, bound = _capped(plan, uncapped)
        return replace(estimate(plan, []), seconds=seconds, seconds_per_receipt_epoch=rate, budget_bound=bound,
                       startup_s=_median_startup(costs), scaled_from=(scenario, len(costs)), epoch_s=0.0,
                       epochs_in_budget=_within(plan, seconds, uncapped, bound))
    return None
