"""The study's reading: each of the design's claims judged against the measured rows, and the best row.

A difference counts only when it is larger than 0.005 and than the seeds' spread (see :func:`_margin`, after
``evaluation.noise``, the one home of that rule), and, for item quantity accuracy, larger than one item of the
evaluation set (150 items make one item 0.0067, over the 0.005 floor: a walkthrough saw one seed's single item read
as a verdict). A claim judged on single runs says it is indicative.
"""

from __future__ import annotations

from dataclasses import replace

from ..datasets.splits import MIN_EVAL_RECEIPTS
from ..evaluation.noise import clear_winner, few_words, margin, one_item
from ..model.backbone_names import TEXT_ONLY_BACKBONES, same_cost
from ..training.events import FIELD_WORDS, ITEMS_SCORED, METRIC_LABELS
from ..training.rough_estimate import FROZEN_BACKBONE_SCENARIOS
from ..training.run_status import format_seconds
from ..wording import epochs_done, minutes_said
from .result import Claim, ConfigSummary, StudyResult, trained_phases
from .settings import REFERENCE


def _margin(a: ConfigSummary, b: ConfigSummary, key: str) -> float:
    """How far apart two rows must be on ``key`` to call a difference: the larger of 0.005 and the runs' spread,
    for item accuracy more than one item of the evaluation set, and for field F1 more than its sampling error over
    the evaluation set's field words."""
    runs = [run for row in (a, b) for run in row.runs]
    floor = 0.0
    if key == "quantity.item_accuracy":
        floor = one_item([run.metrics.get(ITEMS_SCORED) for run in runs])
    elif key == "fields.micro_f1":
        floor = few_words([run.metrics.get(key) for run in runs], [run.metrics.get(FIELD_WORDS) for run in runs])
    return margin(a.spread(key).std, b.spread(key).std, floor)


def _indicative(*rows: ConfigSummary) -> str:
    """What the evidence adds when a side ran once: one seed says nothing of the run-to-run spread. Every claim that
    compares scores says it (a walkthrough read a race's "cheap and good" verdict, one seed a side, without it)."""
    return (" One seed each: indicative only; repeats measure the spread." if any(len(row.runs) < 2 for row in rows)
            else "")


def _cut_short(*rows: ConfigSummary) -> str:
    """What the evidence adds when the time budget ended a side's runs before their planned epochs: the scores
    compare the sides at equal time, not each at its own end (a walkthrough read a 30-second race's "freezing the
    backbone is cheap and good: held" against full fine-tuning stopped after 2 of its 12 epochs)."""
    cut = [row for row in rows if any(run.finished == "time budget" for run in row.runs)]
    if not cut:
        return ""
    named = "; ".join(f"{row.config.name} after {epochs_done(row.spread('epochs').mean)} epochs" for row in cut)
    cut_s = min(row.spread("train_s").mean for row in cut)
    ended = [row for row in rows if row not in cut and row.spread("train_s").mean < 0.9 * cut_s]
    if ended:  # they stopped early on their own: the times differ (walkthrough 33 read "equal training time" of
        # freeze-backbone's 26 s beside phased's 40 s)
        own = "; ".join(f"{row.config.name} ended its own epochs in {format_seconds(row.spread('train_s').mean)}"
                        for row in ended)
        return (f" The time budget ended {named}, before the end of its plan, and {own}: the scores compare runs "
                "at different training times, neither at equal time nor each at its best.")
    times = [row.spread("train_s").mean for row in rows]
    if max(times) > 1.1 * min(times):  # a walkthrough read "equal training time" of full's 67 s beside phased's 60 s
        said = ", ".join(f"{row.config.name} {row.spread('train_s').mean:.1f} s" for row in rows)  # as tables say
        return (f" The time budget ended {named}, before the end of its plan: the scores compare runs at about "
                f"equal training time ({said}; a run ends past its budget by its last step and closing work), not "
                "each at its best.")
    return (f" The time budget ended {named}, before the end of its plan: the scores compare runs at equal training "
            "time, not each at its best.")


def _too_short(*rows: ConfigSummary) -> str | None:
    """Why a comparison of ``rows`` says nothing when a side trained under :data:`MIN_TIMED_EPOCHS` of an epoch (it
    has not seen every receipt once), else None."""
    short = [row for row in rows if row.spread("epochs").mean < MIN_TIMED_EPOCHS]
    if not short:
        return None
    said = "; ".join(f"{row.config.name} trained {row.spread('epochs').mean:.2f} of an epoch" for row in short)
    return f"But {said}: too little to judge its scores (it has not seen every receipt once). Give the runs more time."


UNEVEN_STEPS = 1.2  # two same-sized backbones at one budget: more apart in steps than this, the machine was busy


def _uneven_steps(a: ConfigSummary, b: ConfigSummary) -> str:
    """For two backbones of one size and scenario at one time budget: their steps should be about equal, and when
    they are not, the machine's load, not the backbones, made the difference (a walkthrough's loaded machine gave
    layout-minilm 18 steps and text-minilm 30 in 30 seconds, and the study read "did not hold")."""
    if not _uneven(a, b):
        return ""
    steps = [row.spread("steps").mean for row in (a, b)]
    return (f" In the same time {a.config.name} trained {steps[0]:.0f} steps and {b.config.name} {steps[1]:.0f}: "
            "backbones of one size take about as long a step, so other work slowed one run; re-run them on an "
            "idle machine, or with repeats.")


def _stopped(*rows: ConfigSummary) -> str:
    """What the evidence adds when a side's run was stopped by hand (Stop on Train, during a race): probe 64's
    phased run, stopped after 10 of its 12 epochs, was starred and judged as if it had run its plan."""
    stopped = [row for row in rows if _stopped_by_hand(row)]
    if not stopped:
        return ""
    named = "; ".join(f"{row.config.name} after {epochs_done(row.spread('epochs').mean)} epochs" for row in stopped)
    return f" Stopped by hand: {named}; its scores are of a shorter training than the others'."


def _stopped_by_hand(row: ConfigSummary) -> bool:
    return any(run.finished == "stopped" for run in row.runs)


def stopped_by_hand(result: StudyResult) -> bool:
    """Whether a run of the study was stopped by hand: it then has no ★ (its row compares a shorter training)."""
    return any(_stopped_by_hand(row) for row in result.summaries)


def _uneven(a: ConfigSummary, b: ConfigSummary) -> bool:
    """Whether two rows of one scenario on backbones of one size trained unevenly because of other work: the one
    with fewer steps was ended by the time budget, and the other trained more than :data:`UNEVEN_STEPS` times its
    steps (walkthrough 64: text-minilm's frozen run was cut at 237 steps while layout-minilm's ran its 500)."""
    if a.config.scenario != b.config.scenario or not same_cost(a.config.backbone, b.config.backbone):
        return False
    fewer, more = sorted((a, b), key=lambda row: row.spread("steps").mean)
    steps = fewer.spread("steps").mean
    cut = all(run.finished == "time budget" for run in fewer.runs)
    return cut and bool(steps) and more.spread("steps").mean > UNEVEN_STEPS * steps


def _caveats(*rows: ConfigSummary) -> str:
    return _indicative(*rows) + _cut_short(*rows) + _stopped(*rows)


def _compare(a: ConfigSummary, b: ConfigSummary, key: str) -> tuple[int, str]:
    """(+1 a better, -1 b better, 0 within noise), and the numbers as text."""
    x, y = a.spread(key).mean, b.spread(key).mean
    sign = 0 if abs(x - y) < _margin(a, b, key) else (1 if x > y else -1)
    return sign, f"{METRIC_LABELS.get(key, key)} {x:.3f} vs {y:.3f}"


def read_claims(result: StudyResult) -> list[Claim]:
    """The design's claims, each judged against the measured rows (``not measured`` when a row is missing)."""
    rows = {(s.config.backbone, s.config.scenario): s for s in result.summaries if s.runs}
    layout = _scenario_backbone(result)
    text = next((s.config.backbone for s in result.summaries
                 if not s.config.is_reference and s.config.backbone != layout), "text-minilm")
    get = lambda backbone, scenario: rows.get((backbone, scenario))  # noqa: E731
    claims: list[Claim] = []
    f1, items = "fields.micro_f1", "quantity.item_accuracy"

    frozen, full = get(layout, "freeze-all"), get(layout, "full")
    if frozen and full:
        learned = frozen.spread("trainable_parameters").mean == 0
        claims.append(Claim(LEARNS_NOTHING, "held" if learned else "did not hold",
                            f"freeze-all trains {int(frozen.spread('trainable_parameters').mean):,} parameters; "
                            f"{_compare(frozen, full, f1)[1]} and {_compare(frozen, full, items)[1]} "
                            "(untrained heads vs full fine-tuning)."))
    backbone_only = get(layout, "freeze-backbone")
    if backbone_only and full and layout == "tiny":  # a walkthrough read "held" off a random backbone
        claims.append(Claim("Freezing the backbone is cheap and good.", "not measured", RANDOM_TINY))
    elif backbone_only and full:
        claims.append(_cheap_and_good(backbone_only, full))
    for scenario, key, task in (("freeze-fields-head", f1, "field"), ("freeze-quantity-head", items, "quantity")):
        one = get(layout, scenario)
        if one and frozen and full:
            stuck = _compare(one, frozen, key)[0] <= 0 and _compare(one, full, key)[0] < 0
            why = ("The frozen head stays random and its task stays at the untrained level." if stuck else
                   "The backbone learned to feed the frozen random head: its task trained anyway, through the "
                   "backbone.")
            claims.append(Claim(f"Freezing the {task} head locks in its errors.", "held" if stuck else "did not hold",
                                f"{scenario}: {_compare(one, frozen, key)[1]} (vs freeze-all); "
                                f"{_compare(one, full, key)[1]} (vs full). {why}{_caveats(one, frozen, full)}"))
    for scenario in ("full", "freeze-backbone", "phased"):
        a, b = get(layout, scenario), get(text, scenario)
        if a and b and layout != text:
            s1, n1 = _compare(a, b, f1)
            s2, n2 = _compare(a, b, items)
            claim = f"A layout-aware backbone beats a text-only one ({scenario})."
            if scenario == "freeze-backbone" and layout == "layout-minilm" and text in TEXT_ONLY_BACKBONES:
                claims.append(Claim(claim, "not measured", f"{layout} vs {text}: {n1}; {n2}. {SAME_FEATURES}"))
                continue
            if short := _too_short(a, b):  # a walkthrough's 30-second study: "did not hold" on 0.72 of an epoch
                claims.append(Claim(claim, "not measured", f"{layout} vs {text}: {n1}; {n2}. {short}"))
                continue
            evidence = f"{layout} vs {text}: {n1}; {n2}.{_level_note(s1, s2)}{_caveats(a, b)}"
            if uneven := _uneven_steps(a, b):  # walkthrough 50 read "did not hold" beside "other work slowed one
                # run" (101 steps vs 150): the steps, not the backbones, told the runs apart
                verdict = _verdict(s1, s2)
                claims.append(Claim(claim, "not measured", f"Taken alone, these runs would say the claim "
                                                           f"{_SAID.get(verdict, verdict)}: {evidence}{uneven}"))
                continue
            claims.append(Claim(claim, _verdict(s1, s2), evidence))
    backbones = {s.config.backbone for s in result.summaries if s.runs and not s.config.is_reference}
    if len(backbones) == 1 and layout != "tiny":  # a race runs one backbone: the stakeholder's question still stands
        claims.append(Claim("A layout-aware backbone beats a text-only one.", "not measured",
                            f"only {layout} ran here; run layout-minilm and text-minilm in one study (Runs → "
                            "Studies) to compare them, fine-tuned (full or phased)."))
    phased_rows = [s for s in result.summaries if s.runs and s.config.scenario == "phased"]
    others = [s for s in result.summaries if s.runs and s.config.scenario not in ("phased", REFERENCE)]
    if phased_rows and others:
        phased = max(phased_rows, key=lambda s: s.spread(f1).mean)  # the better backbone's, when both ran
        best = max(others, key=lambda s: s.spread(f1).mean)
        sign, numbers = _compare(phased, best, f1)
        item_sign, item_numbers = _compare(phased, best, items)
        evidence = (f"phased ({phased.config.name}) vs the best other scenario ({best.config.name}): "
                    f"{numbers}; {item_numbers}.")
        if phased.config.backbone == "tiny":  # as for freeze-backbone: the claim is about a pre-trained backbone
            claims.append(Claim("Phased unfreezing is best.", "not measured",
                                f"{evidence} But {RANDOM_TINY}"))
        elif short := _too_short(phased, best):
            claims.append(Claim("Phased unfreezing is best.", "not measured", f"{evidence} {short}"))
        elif _never_unfroze(phased):
            claims.append(Claim("Phased unfreezing is best.", "not measured",
                                f"{evidence} But phased trained past phase 1 (the heads only) for less than a "
                                "quarter of an epoch in its budget, if at all: it trained what freeze-backbone "
                                "trains, so this cannot say whether unfreezing pays. Give it more time, or fewer "
                                "epochs per phase."))
        else:  # judged on both tasks, as the layout claim is (it read "did not hold" while ahead on items)
            claims.append(Claim("Phased unfreezing is best.", _verdict(sign, item_sign),
                                evidence + _level_note(sign, item_sign) + _caveats(phased, best)))
    references = [s for s in result.summaries if s.runs and s.config.is_reference]
    multitask = [s for s in result.summaries if s.runs and not s.config.is_reference]
    if references and multitask:
        reference = references[0]
        best = max(multitask, key=lambda s: s.spread(f1).mean + s.spread(items).mean)
        s1, n1 = _compare(best, reference, f1)
        s2, n2 = _compare(best, reference, items)
        verdict = "held" if s1 > 0 and s2 > 0 else ("did not hold" if s1 < 0 or s2 < 0 else "mixed")
        claims.append(Claim("The two-head model beats the plain combined tagger.", verdict,
                            f"best configuration ({best.config.name}) vs {reference.config.name}: {n1}; {n2}."
                            f"{_caveats(best, reference)}"))
    if (budget := _budget_that_cut(result)) is not None:  # the verdict is of runs at that budget, said in its line
        # "at a budget", not "in … of training": a side that ended its own epochs sooner trained less (walkthrough
        # 50's freeze-backbone trained 29 s of a race headlined "in 1 min of training each")
        claims = [replace(claim, claim=f"{claim.claim.rstrip('.')}, at a time budget of {budget} each.")
                  if claim.verdict != "not measured" else claim for claim in claims]
    if (short := short_budget_note(result)) is not None:  # walkthrough 45's 45-second race read "did not hold"
        # under the race's own warning that such runs' scores mean little
        claims = [replace(claim, verdict="not measured", evidence=f"Taken alone, these runs would say the claim "
                          f"{_SAID.get(claim.verdict, claim.verdict)}: {claim.evidence} {short}")
                  if claim.verdict != "not measured" and claim.claim != LEARNS_NOTHING else claim
                  for claim in claims]
    if 0 < result.eval_documents < MIN_EVAL_RECEIPTS:  # a walkthrough read a green "held" off 3 receipts
        few = (f" Scored on {result.eval_documents} evaluation receipts: one receipt moves a score by more than the "
               f"differences runs are told apart by; judge on at least {MIN_EVAL_RECEIPTS}.")
        # nor a verdict: a second walkthrough read the green "Held" above the note, as Runs marks no best run on so
        # few receipts; what the receipts leaned to stays in the evidence
        # said in words: "These receipts lean to \"held\"" was jargon to a walkthrough
        claims = [replace(claim, verdict=TOO_FEW, evidence=f"Taken alone, these receipts would say the claim "
                          f"{_SAID.get(claim.verdict, claim.verdict)}: {claim.evidence}{few}")
                  if claim.verdict != "not measured" else claim for claim in claims]
    return claims


LEARNS_NOTHING = "Freezing everything learns nothing."  # judged on trainable parameters, not on scores
# at or under this, a MiniLM run that trains its backbone on a few hundred receipts makes a few epochs at most on 2
# cores (walkthrough 43's 60-second full fine-tuning run did 5.1 epochs of the CORD sample, 0.930 field F1: telling)
SHORT_RACE_S = 45


def short_budget_note(result: StudyResult) -> str | None:
    """Why score comparisons say nothing when the time budget is :data:`SHORT_RACE_S` or less and a run trained its
    pre-trained backbone (the race form warns of it before the race), else None."""
    seconds = (result.settings.budget_minutes or 0) * 60
    tuned = sorted({s.config.scenario for s in result.summaries if s.runs and not s.config.is_reference
                    and s.config.backbone != "tiny" and s.config.scenario not in FROZEN_BACKBONE_SCENARIOS})
    if not 0 < seconds <= SHORT_RACE_S or not tuned:
        return None
    return (f"But at {SHORT_RACE_S} s or less a run that trains its backbone ({', '.join(tuned)}) gets only a few "
            "steps on 2 cores, so its scores mean little: race or study with more time per run.")


def _budget_that_cut(result: StudyResult) -> str | None:
    """The time budget as a claim's line says it ("1 min") when it ended a run before its planned epochs, else None:
    a walkthrough's 60-second race headlined "Phased unfreezing is best. Did not hold", the budget only in the
    caveats after the numbers."""
    minutes = result.settings.budget_minutes
    cut = any(run.finished == "time budget" for row in result.summaries for run in row.runs)
    return minutes_said(minutes) if minutes and cut else None


def _level_note(field_sign: int, item_sign: int) -> str:
    """When one task decided a verdict and the other was level within the noise rule, said: a race read "held" on
    item quantity accuracy 0.980 vs 0.973 that the Runs page called level (a walkthrough)."""
    if (field_sign == 0) == (item_sign == 0):
        return ""
    level, decided = (("field micro-F1", "item quantity accuracy") if field_sign == 0
                      else ("item quantity accuracy", "field micro-F1"))
    return f" The {level} difference is within the noise margin: the verdict rests on {decided}."


LEVEL = "no measurable difference"  # a claim that one row beats another, where neither task tells them apart
TOO_FEW = "too few receipts"  # a claim's verdict when its runs were scored on under MIN_EVAL_RECEIPTS receipts
# how a verdict reads after "the claim" ("held", "did not hold" read as they are)
_SAID = {"mixed": "is mixed", LEVEL: "shows no measurable difference"}


def _verdict(first: int, second: int) -> str:
    """A claim that one row beats another, from its signs on the two tasks: held when better on one and no worse on
    the other, mixed when better on one and worse on the other, did not hold when worse on one and better on
    neither, else :data:`LEVEL` (a walkthrough read a red "did not hold" on 0.893 vs 0.897, within the noise rule,
    and one item of 150)."""
    if first * second < 0:
        return "mixed"
    if first > 0 or second > 0:
        return "held"
    return "did not hold" if first < 0 or second < 0 else LEVEL


SAME_FEATURES = ("Frozen, layout-minilm's 2-D position tables stay at their zero start, so the two backbones compute "
                 "the same features and any gap here is run-to-run noise; layout enters a frozen backbone's run only "
                 "through the heads' box features, which both runs have. Compare them fine-tuned (full, phased).")

RANDOM_TINY = ("tiny is randomly initialised: frozen, it is a random feature extractor, while the claim is about a "
               "pre-trained backbone. Race layout-minilm or text-minilm to judge it.")


def _never_unfroze(phased: ConfigSummary) -> bool:
    """Whether every phased run trained in phase 1 only, or past it for under :data:`MIN_UNFROZEN_EPOCHS` of an
    epoch (runs recorded before phases were kept say nothing). A walkthrough's 60-second race entered phase 2 as its
    budget ended, and the reading judged phased unfreezing on a run that never unfroze; another's trained 1 step of
    26 past phase 1 and read "Phased unfreezing is best: did not hold"."""
    recorded = [run for run in phased.runs if run.phases]
    return bool(recorded) and all(_unfrozen_epochs(run) < MIN_UNFROZEN_EPOCHS for run in recorded)


MIN_UNFROZEN_EPOCHS = 0.25  # a phased run judged on unfreezing trained at least this much of an epoch past phase 1


def _unfrozen_epochs(run) -> float:
    """How much of an epoch a phased run trained after its heads-only phase 1 (0 when it never left it)."""
    if max(trained_phases(run), default=1) <= 1 or not run.steps or not run.epochs:
        return 0.0
    began = min(int(p.get("step", 0)) for p in run.phases if int(p.get("phase", 1)) >= 2)
    return max(run.steps - began, 0) / (run.steps / run.epochs)


FASTER = 0.9  # "cheap" in time: an epoch costs at most this share of full fine-tuning's
# a run that trained less than this share of an epoch times no epoch, nor are its scores judged: it has not seen
# every receipt once (a walkthrough's race read "held" against full fine-tuning stopped at 0.72 of an epoch)
MIN_TIMED_EPOCHS = 1.0


def _cheap_and_good(backbone_only: ConfigSummary, full: ConfigSummary) -> Claim:
    """"Freezing the backbone is cheap and good": good is field micro-F1 level with full fine-tuning or better
    (within the noise rule; a gap under 0.05 is "mixed"); cheap is an epoch that costs at most :data:`FASTER` of
    full fine-tuning's in training time. Fewer trainable parameters alone are not cheap: with capable heads on a
    small backbone, the heads' own work can make a frozen-backbone epoch no faster (found by a walkthrough: the
    claim "held" on a race where it got through 7.9 epochs against full's 10.8)."""
    f1, items = "fields.micro_f1", "quantity.item_accuracy"
    short = [row for row in (backbone_only, full) if row.spread("epochs").mean < MIN_TIMED_EPOCHS]
    if short:  # a walkthrough's 90-second race: freeze-backbone trained 1 step, "an epoch takes 4593.04 s"
        said = "; ".join(f"{row.config.scenario} trained {row.spread('epochs').mean:.2f} of an epoch in "
                         f"{row.spread('train_s').mean:.1f} s" for row in short)
        # why so little: a frozen backbone's feature fill only where the short side froze it (walkthrough 30 read
        # it of full fine-tuning, which freezes nothing)
        why = ("a frozen backbone's first steps compute every receipt's features once, and a loaded machine takes "
               "longer over it" if any(row is backbone_only for row in short)
               else "a step that trains the whole model takes long on 2 loaded cores")
        return Claim("Freezing the backbone is cheap and good.", "not measured",
                     f"{said}: too little to time an epoch or judge its scores ({why}). Race with more seconds per "
                     "run.")
    share = backbone_only.spread("trainable_parameters").mean / max(full.spread("trainable_parameters").mean, 1)
    per_epoch = [row.seconds_per_epoch() for row in (backbone_only, full)]
    cheap = per_epoch[0] <= FASTER * per_epoch[1]
    sign, numbers = _compare(backbone_only, full, f1)
    gap = full.spread(f1).mean - backbone_only.spread(f1).mean
    if sign < 0:
        verdict = "mixed" if gap < 0.05 else "did not hold"
    else:
        verdict = "held" if cheap else "mixed"
    time_note = "" if cheap else " (cheaper in parameters, not in time)"
    return Claim("Freezing the backbone is cheap and good.", verdict,
                 f"it trains {share:.2%} as many parameters as full fine-tuning "
                 f"({int(backbone_only.spread('trainable_parameters').mean):,} vs "
                 f"{int(full.spread('trainable_parameters').mean):,}; a table's share of its own model differs "
                 f"where the two scenarios' heads do); an epoch takes {per_epoch[0]:.2f} s of "
                 f"training vs {per_epoch[1]:.2f} s"
                 f"{time_note}, {epochs_done(backbone_only.spread('epochs').mean)} epochs vs "
                 f"{epochs_done(full.spread('epochs').mean)}; {numbers}; {_compare(backbone_only, full, items)[1]} "
                 f"(freeze-backbone vs full). {CHEAP_AND_GOOD_RULE}{_caveats(backbone_only, full)}")


CHEAP_AND_GOOD_RULE = (f"The rule: good is field micro-F1 level with full fine-tuning within the noise (behind by "
                       f"under 0.05: mixed), cheap is an epoch in at most {FASTER:.0%} of full's training time; what "
                       "that saves at a volume of receipts is yours to weigh.")
"""Said in the claim's evidence: walkthrough 64 read "mixed" for gaps of 0.008 and could not tell where the lines
were, nor that no volume of receipts enters the verdict."""


def _scenario_backbone(result: StudyResult) -> str:
    """The backbone whose rows answer the freeze questions: the one freeze-all ran on; else the only multi-task
    backbone (a scenario race runs one); else layout-minilm, the design's."""
    backbones = list(dict.fromkeys(s.config.backbone for s in result.summaries if not s.config.is_reference))
    frozen = [s.config.backbone for s in result.summaries if s.config.scenario == "freeze-all"]
    if frozen:
        return frozen[0]
    return backbones[0] if len(backbones) == 1 else "layout-minilm"


def best_summary(result: StudyResult) -> ConfigSummary | None:
    """The multi-task row with the highest field micro-F1 + item quantity accuracy, when its lead clears the noise
    rule (``evaluation.noise.clear_winner``: no worse than any other row on either metric and measurably better on
    one); None when no row stands out (or only one ran), and when fewer than ``MIN_EVAL_RECEIPTS`` receipts were
    scored (a walkthrough's ★ stood on 3), or when a row trained less than :data:`MIN_TIMED_EPOCHS` of an epoch (a
    walkthrough's report starred freeze-backbone over a full run of 0.32 epochs, which the reading called too
    short to judge), or when a run was stopped by hand (probe 64's, starred after 10 of its 12 epochs), or when two
    rows of one scenario on backbones of one size trained unevenly (:func:`_uneven`)."""
    if 0 < result.eval_documents < MIN_EVAL_RECEIPTS or stopped_by_hand(result):
        return None
    rows = [s for s in result.summaries if s.runs and not s.config.is_reference]
    if any(_uneven(a, b) for i, a in enumerate(rows) for b in rows[i + 1:]):  # other work, not the configurations,
        return None  # set them apart (walkthrough 64's ★ went to the run the load had spared)
    if any(row.spread("epochs").mean < MIN_TIMED_EPOCHS for row in rows):
        return None
    keys = ("fields.micro_f1", "quantity.item_accuracy")
    floors = (0.0, one_item([run.metrics.get(ITEMS_SCORED) for row in rows for run in row.runs]))
    winner = clear_winner({i: [(s.spread(k).mean, s.spread(k).std) for k in keys] for i, s in enumerate(rows)},
                          floors)
    return None if winner is None else rows[winner]
