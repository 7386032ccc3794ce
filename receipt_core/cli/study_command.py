"""``study``: every freeze scenario, both backbones and the plain reference on the same data and time budget.

Writes ``DIR/report.md``, ``DIR/report.html``, ``DIR/study.json`` and each run's checkpoint under ``DIR/runs``.
Progress goes to stderr; the table is printed on stdout at the end.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from .arguments import (add_box_arguments, add_force_argument, add_format_argument, add_workspace_argument,
                        check_empty_out_folder, check_out_outside_workspace, check_toggle_depth, fraction, given_path,
                        make_out_folder, positive_float, positive_int, whole_number)
from .errors import CommandError
from ..data.files import FolderBusyError, sole_writer_of
from .sources import load_documents, load_training_documents
from ..training.schedules import LR_SCHEDULES
from ..wording import counted


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..training.config import SCENARIO_DEFAULTS, TrainConfig

    TRAIN_DEFAULTS = TrainConfig()
    study = subparsers.add_parser(
        "study", help="compare freeze scenarios, backbones and a plain reference",
        description="Train every configuration on the same data, seed and time budget; write DIR/report.md, "
                    "DIR/report.html and DIR/study.json. Default configurations: freeze-all, freeze-backbone, "
                    "freeze-fields-head, freeze-quantity-head, phased and full on layout-minilm; freeze-backbone, "
                    "phased (train's default) and full on text-minilm; the plain LayoutLMForTokenClassification "
                    "reference.")
    study.add_argument("--train", required=True, nargs="+", metavar="DATA",
                       help="training data: folders or workspace datasets (several train together, as in train)")
    study.add_argument("--eval", required=True, metavar="DATA", help="evaluation data: a folder or workspace dataset")
    add_format_argument(study)
    study.add_argument("--budget-minutes", type=positive_float, default=10.0, metavar="M",
                       help="training-time budget per run (default 10)")
    study.add_argument("--repeats", type=positive_int, default=1, metavar="R",
                       help="runs per configuration with seeds S, S+1, …; the table shows mean ± std")
    study.add_argument("--backbone-scenarios", nargs="+", default=None, metavar="BACKBONE:SCENARIO",
                       help="configurations to run instead of the defaults, e.g. layout-minilm:full "
                            "text-minilm:full reference:layout-minilm")
    study.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                       help="epochs per run, unless the budget ends it first (default: each scenario's own, as "
                            f"train's: {TRAIN_DEFAULTS.epochs}, freeze-backbone "
                            f"{SCENARIO_DEFAULTS['freeze-backbone']['epochs']})")
    study.add_argument("--batch-size", type=positive_int, default=None, metavar="B",
                       help=f"(default: train's, {TRAIN_DEFAULTS.batch_size})")
    study.add_argument("--lr", type=positive_float, default=None, metavar="LR",
                       help=f"(default: train's, {TRAIN_DEFAULTS.lr}; a scenario's own head rate stays)")
    study.add_argument("--decay-factor", type=float, default=None, metavar="F",
                       help="discriminative rates: each lower group's rate is the one above / F (1 = one rate; "
                            f"default: train's, {TRAIN_DEFAULTS.decay_factor})")
    study.add_argument("--loss-weighting", choices=("fixed", "uncertainty"), default=None,
                       help=f"(default: train's, {TRAIN_DEFAULTS.loss_weighting})")
    study.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None,
                       help="every run's rate: constant, or linear (warm up, then decay to 0 at the run's end; "
                            f"default: train's, {TRAIN_DEFAULTS.lr_schedule})")
    study.add_argument("--warmup", type=fraction, default=None, metavar="FRACTION",
                       help=f"linear schedule: the fraction of the run spent warming up (default: train's, {TRAIN_DEFAULTS.warmup})")
    add_box_arguments(study, scope=f"; every run, the reference too (default: as train, each scenario's own: "
                                   f"{TRAIN_DEFAULTS.boxes} unless the scenario sets another, as phased and "
                                   "freeze-backbone set row)", default=None)
    study.add_argument("--same-recipe", action="store_true",
                       help="every scenario trains with phased's recipe (contextual heads at their own rate over a "
                            "layer mix and row boxes, label smoothing), so the runs differ only in what they freeze; "
                            "default: each scenario's own defaults, the recipe measured best for it")
    study.add_argument("--freeze", nargs="+", default=[], metavar="GROUP",
                       help="groups frozen in every multi-task run on top of its scenario (e.g. embeddings.text)")
    study.add_argument("--max-length", type=whole_number, default=None, metavar="TOKENS",
                       help="tokens per window, every run (default: train's)")
    study.add_argument("--seed", type=int, default=0, metavar="S",
                       help="the first repeat's seed; repeat k uses seed + k (default: 0)")
    study.add_argument("--out", required=True, type=given_path, metavar="DIR",
                       help="a new or empty folder for study.json, the report and each run's checkpoint (runs/); "
                            "the dashboard (Runs → Studies) opens the studies in the workspace's studies/ folder, "
                            "so give --out WORKSPACE/studies/NAME to read it there")
    add_force_argument(study, help="write into DIR even when it is not empty; a study already there (one stopped "
                                   "with Ctrl-C, say) is replaced: its study.json, report and runs/ are deleted first")
    add_workspace_argument(study)
    study.set_defaults(handler=run_study_command)


def run_study_command(args: argparse.Namespace) -> int:
    from ..study.runner import check_study
    from ..study.settings import StudySettings, default_configs, parse_config
    from ..study.view import STUDIES_FOLDER
    from ..training.config import MAX_DECAY_FACTOR
    from ..workspace.store import home_folder

    if args.decay_factor is not None and not 1 <= args.decay_factor <= MAX_DECAY_FACTOR:  # NaN too (a probe)
        raise CommandError(f"--decay-factor must be a number from 1 to {MAX_DECAY_FACTOR:g}, got {args.decay_factor}")
    check_out_outside_workspace(args.out, home_folder(args.workspace), allowed=STUDIES_FOLDER)
    if not args.force:  # with it, the study there is replaced once every check has passed (_clear_study)
        _refuse_a_study_folder(args.out)
    check_empty_out_folder(args.out, args.force)  # report.md, report.html: a user's files of those names stay
    try:
        configs = ([parse_config(spec) for spec in args.backbone_scenarios] if args.backbone_scenarios
                   else list(default_configs()))
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.same_recipe and all(config.is_reference for config in configs):  # a probe's was recorded, then ignored
        raise CommandError("--same-recipe gives the two-head scenarios one recipe, and this study runs only the "
                           "reference, which trains with its own settings: leave --same-recipe out, or add a "
                           "scenario to --backbone-scenarios")
    try:
        settings = StudySettings(budget_minutes=args.budget_minutes, epochs=args.epochs, repeats=args.repeats,
                                 seed=args.seed, batch_size=args.batch_size, lr=args.lr,
                                 decay_factor=args.decay_factor, loss_weighting=args.loss_weighting,
                                 max_length=args.max_length, freeze=tuple(args.freeze),
                                 lr_schedule=args.lr_schedule, warmup=args.warmup, boxes=args.boxes,
                                 same_recipe=args.same_recipe)
    except ValueError as error:  # before any document loads
        raise CommandError(str(error)) from None
    for config in configs:  # each backbone's depth, before any document loads
        if not config.is_reference:
            check_toggle_depth(settings.freeze, (), config.backbone)
    train_docs = load_training_documents(args.train, args.format, args.workspace)
    eval_docs = load_documents(args.eval, args.format, args.workspace, role="--eval")
    try:
        check_study(configs, eval_docs)
    except ValueError as error:
        raise CommandError(str(error)) from None
    make_out_folder(args.out)  # after every check: a refusal leaves no empty folder (a probe found one)
    try:
        with sole_writer_of(args.out):
            if args.force:
                _clear_study(args.out)
            _refuse_a_study_folder(args.out)  # again, under the lock: one that finished meanwhile wrote it
            return _study_into(args, configs, settings, train_docs, eval_docs)
    except FolderBusyError:
        raise CommandError(f"another study is writing into {args.out}; choose another --out folder") from None


STUDY_FILES = ("study.json", "report.md", "report.html")


def _clear_study(out: Path) -> None:
    """Delete what a study wrote into ``out`` (its files and runs/), for ``--force``: a probe's study stopped with
    Ctrl-C could be neither continued nor written again into its folder, the flag refused as well. Said on stderr;
    the folder's other files stay."""
    import shutil

    runs = out / "runs"
    found = [name for name in STUDY_FILES if (out / name).is_file()] + (["runs/"] if os.path.lexists(runs) else [])
    if not found:
        return
    for name in STUDY_FILES:
        (out / name).unlink(missing_ok=True)
    if runs.is_symlink() or runs.is_file():
        runs.unlink()
    elif runs.is_dir():
        shutil.rmtree(runs)
    print(f"--force: replacing the study in {out} (deleted {', '.join(found)})", file=sys.stderr)


def _refuse_a_study_folder(out: Path) -> None:
    # --force named: it is what replaces a study stopped with Ctrl-C (probe 43 was not told)
    if (out / "study.json").exists():
        raise CommandError(f"{out} already holds a study; choose an empty --out folder, or pass --force to replace "
                           "it")
    if (out / "runs").is_symlink():  # read as an old study's runs/ (probe 43)
        raise CommandError(f"{out} holds runs/, a link to {os.readlink(out / 'runs')}, where a study writes its runs; "
                           "choose an empty --out folder, or pass --force to replace the link (what it leads to "
                           "is left alone)")
    if (out / "runs").exists():
        raise CommandError(f"{out} holds the runs/ of a study that never wrote its study.json (stopped before "
                           "this project wrote one on Ctrl-C); choose an empty --out folder, or pass --force to "
                           "replace it")


def _study_into(args: argparse.Namespace, configs, settings, train_docs, eval_docs) -> int:
    """Run the checked study into ``args.out`` (held by this process), write its report, print its table."""
    from ..study.files import write_study
    from ..study.in_progress import StudyAnnouncement
    from ..study.runner import run_study
    from ..study.table import markdown_table
    from ..workspace.store import home_folder

    runs = len(configs) * settings.repeats
    print(f"study: {len(configs)} configurations × {counted(settings.repeats, 'seed')} = {runs} runs of at most "
          f"{settings.budget_minutes:g} min training; train {counted(len(train_docs), 'document')}, "
          f"eval {len(eval_docs)}",
          file=sys.stderr, flush=True)
    command = "python -m receipt_core " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if len(sys.argv) > 1 and sys.argv[1] == "study" else ""
    # said in the workspace while it trains: the dashboard shows it (sidebar, Train, Runs → Studies)
    with StudyAnnouncement(home_folder(args.workspace), args.out, runs) as announced:
        result = run_study(configs, settings, train_docs, eval_docs, args.out,
                           log=lambda line: print(line, file=sys.stderr, flush=True),
                           train_data=" + ".join(args.train), eval_data=str(args.eval),
                           command=command or "python -m receipt_core study " + " ".join(
                               f"{k} {v}" for k, v in (("--train", " ".join(args.train)), ("--eval", args.eval),
                                                       ("--budget-minutes", args.budget_minutes),
                                                       ("--out", args.out))),
                           on_run=announced.now_training)
    paths = write_study(result, args.out)
    print(markdown_table(result))
    print(f"wrote {paths['markdown']}, {paths['html']} and {paths['json']}", file=sys.stderr)
    if result.interrupted:  # what finished is written and opens on Studies; the exit code says it was cut short
        print(f"interrupted: {result.notes[-1]}", file=sys.stderr)
        return 130
    planned = len(result.summaries) * settings.repeats
    failed = planned - sum(len(summary.runs) for summary in result.summaries)
    if failed:  # a probe's second seed failed after its first had trained, and the command said nothing of it
        print(f"warning: {failed} of {counted(planned, 'run')} failed (the report's notes say why)", file=sys.stderr)
    return 0 if not failed else 2
