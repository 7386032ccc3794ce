"""``train`` and ``reference``: fine-tune the multi-task model, or the plain reference tagger
(``python -m receipt_core train --help``; their options come from ``TrainConfig`` and ``ReferenceConfig``).

Progress goes to stderr (:class:`~receipt_core.cli.progress.ProgressPrinter`). ``train`` also runs
data-parallel, unchanged, under ``accelerate launch -m receipt_core train …``: only the main process prints and
writes the checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from contextlib import nullcontext
from pathlib import Path

from ..model.backbone_names import encoder_layers
from ..model.freeze import PRESETS, group_names_for, hand_frozen_heads
from ..model.scenario_guide import frozen_heads_note, phased_plan_warnings
from ..training.config import CONTEXTUAL_ONLY, PHASED_ONLY, ReferenceConfig, TrainConfig
from ..wording import counted, minutes_said
from .arguments import (add_config_options, add_format_argument, add_workspace_argument, check_backbone_source,
                        check_out_outside_workspace, check_phase_two_depth, check_run_folder, check_toggle_depth,
                        config_from_args, given_path)
from .foreground import exit_code, run_in_foreground
from .errors import CommandError
from .progress import ProgressPrinter
from .run_folder import run_folder_held
from .sources import load_documents, load_training_documents
from .workspace_run import (RUN_WORKSPACE_HELP, WORKSPACE_RUN_HELP, command_line_notes, open_run_workspace,
                            run_in_workspace)


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="fine-tune the multi-task model", description="Fine-tune the field and quantity heads (and "
        "whatever the freeze scenario lets train); writes RUN_DIR/model.safetensors and RUN_DIR/run.json, or keeps "
        "the run in the workspace when there is no --out.",
        epilog=_scenario_defaults_note())
    train.add_argument("--train", required=True, nargs="+", metavar="DATA",
                       help="training data: one or more folders or workspace datasets, trained on together (each "
                            "folder's format is --format, or recognised from its files)")
    train.add_argument("--eval", required=True, metavar="DATA", help="evaluation data: a folder or workspace dataset")
    add_format_argument(train)
    add_config_options(train, TrainConfig, shown_defaults=TrainConfig.for_scenario(TrainConfig().scenario))
    train.add_argument("--resume", action="store_true",
                       help="continue the checkpoint already in RUN_DIR with its own settings; give --train and "
                            "--eval again (the folder keeps no copy of the data)")
    train.add_argument("--save-final-only", dest="save_every_epoch", action="store_false",
                       help="write the checkpoint once at the end (and when stopped) instead of after every epoch")
    train.add_argument("--no-feature-cache", dest="feature_cache", action="store_false",
                       help="run frozen bottom layers every step instead of caching their output once per window "
                            "(same losses, much slower; for comparison)")
    train.add_argument("--out", type=given_path, metavar="RUN_DIR",
                       help="a new or empty folder for the checkpoint (with --resume: the run's folder); predict and "
                            "evaluate read it. " + WORKSPACE_RUN_HELP)
    add_workspace_argument(train, help=RUN_WORKSPACE_HELP)
    train.set_defaults(handler=run_train)

    reference = subparsers.add_parser(
        "reference", help="fine-tune the plain reference tagger (the baseline the two-head model must beat)",
        description="Fine-tune transformers' LayoutLMForTokenClassification, one tagger for fields and quantities, "
                    "every parameter trained, on the same windows and batches as `train`; evaluates after each "
                    "epoch and writes the tagger to RUN_DIR/reference. Ctrl-Z pauses, Ctrl-C stops.")
    reference.add_argument("--train", required=True, nargs="+", metavar="DATA", help="training data")
    reference.add_argument("--eval", required=True, metavar="DATA", help="evaluation data")
    add_format_argument(reference)
    add_config_options(reference, ReferenceConfig)
    reference.add_argument("--out", type=given_path, metavar="RUN_DIR", help="an empty folder. " + WORKSPACE_RUN_HELP)
    add_workspace_argument(reference, help=RUN_WORKSPACE_HELP)
    reference.set_defaults(handler=run_reference)


def _refuse_a_folder_of_the_workspace(out: Path, resume: bool) -> None:
    """CommandError when ``--out`` lies inside a workspace: a probe's ``train --resume --out <workspace>/runs/ID``
    trained the run on, while the workspace still listed it as failed at its old step, with its old scores."""
    try:
        check_out_outside_workspace(out)
    except CommandError:
        if not resume:
            raise
        raise CommandError(f"--out {out} is a run kept in a workspace, which records its progress: resume it on the "
                           "dashboard's Runs page, or copy the folder out of the workspace to continue it here"
                           ) from None


def _phased_warnings(config) -> list[str]:
    """The Train page's warnings of a phased plan its settings cut short (``scenario_guide.phased_plan_warnings``)."""

    if config.scenario != "phased":
        return []
    groups = list(group_names_for(encoder_layers(config.backbone) or 0))
    return phased_plan_warnings(config.epochs, config.epochs_per_phase, groups, tuple(config.unfreeze),
                                config.phased_top_k or 0)


def run_train(args: argparse.Namespace) -> int:
    from ..model.checkpoint import RUN_FILE, read_run_info
    from ..training.job import TrainingJob
    from ..training.receipt_task import build_resumed_task, build_task
    from ..training.threads import configure_torch_threads
    from ..datasets.splits import evaluation_notes

    by_patience_only = getattr(args, "patience", None) and not hasattr(args, "epochs_per_phase")
    build = _scenario_config
    if args.out is not None:
        _refuse_a_folder_of_the_workspace(args.out, args.resume)
    if args.resume and args.out is not None:  # the run's own settings, but for those given here (a probe resumed
        check_run_folder(args.out, resume=True)  # a tiny run and was told it was not text-minilm)
        saved_info = read_run_info(args.out)  # its settings, and below its state (once: a run.json is bounded I/O)
        saved = TrainConfig.from_json(saved_info["config"])
        build = lambda **given: dataclasses.replace(saved, **{"max_minutes": None, **given})  # noqa: E731
    config = config_from_args(TrainConfig, args, build=build, cache_frozen=args.feature_cache,
                              save_every_epoch=args.save_every_epoch,
                              **({"epochs_per_phase": None} if by_patience_only else {}))
    if args.resume and args.out is not None:  # before the data and the model load (an audit waited for them)
        from ..training.receipt_task import resume_conflict

        if (conflict := resume_conflict(config, saved)) is not None:
            raise CommandError(f"cannot resume {args.out} {conflict}; leave that option out to keep the run's own")
    if args.resume and args.out is not None:
        from ..training.schedules import budget_dropped_note

        state = saved_info["state"]
        note = budget_dropped_note(config.lr_schedule, config.warmup, saved.max_minutes, state.get("elapsed_s", 0.0),
                                   state.get("global_step", 0), state.get("total_steps", 0), config.max_minutes,
                                   state.get("setup_s", 0.0))
        if note:
            print(f"warning: {note} (--max-minutes)", file=sys.stderr)
        elif saved.max_minutes and config.max_minutes is None:  # a probe's resumed run lost its budget, unsaid
            print(f"note: resumed without a time budget (the run had {minutes_said(saved.max_minutes)} of training "
                  "in all); give --max-minutes to keep one", file=sys.stderr)
    ignored = [f"--{name.replace('_', '-')}" for name in PHASED_ONLY if hasattr(args, name)]  # given by the user
    if config.scenario != "phased" and ignored:  # a probe's --phased-top-k 5 with freeze-backbone said nothing
        print(f"warning: {', '.join(ignored)} {'applies' if len(ignored) == 1 else 'apply'} only to --scenario "
              f"phased; {config.scenario} ignores {'it' if len(ignored) == 1 else 'them'}", file=sys.stderr)
    ignored = [f"--{name.replace('_', '-')}" for name in CONTEXTUAL_ONLY if hasattr(args, name)]
    if config.head != "contextual" and ignored:  # a probe's --head linear --head-size 64 said nothing
        print(f"warning: {', '.join(ignored)} {'applies' if len(ignored) == 1 else 'apply'} only to --head "
              f"contextual; a {config.head} head ignores {'it' if len(ignored) == 1 else 'them'}", file=sys.stderr)
    if not args.resume:  # (resume: the checkpoint's own backbone)
        check_backbone_source(config.backbone)
        if config.scenario == "phased" and config.phased_top_k is not None:
            check_phase_two_depth(config.phased_top_k, config.backbone)
        check_toggle_depth(config.freeze, config.unfreeze, config.backbone)
    if args.out is None and args.resume:
        raise CommandError("--resume continues the run in --out RUN_DIR: give it (a run kept in the workspace is "
                           "resumed from the dashboard's Runs page)")
    if args.out is not None:
        check_run_folder(args.out, resume=args.resume)  # in a second, before any document or model is loaded
    accelerator = _accelerator()
    if args.out is None and accelerator.num_processes > 1:
        raise CommandError("a run of several processes writes to --out RUN_DIR: give it")
    configure_torch_threads(accelerator.num_processes)  # one thread per physical core, split between processes
    is_main = accelerator.is_main_process
    train_docs = load_training_documents(args.train, args.format, args.workspace, quiet=not is_main)
    eval_docs = load_documents(args.eval, args.format, args.workspace, role="--eval", quiet=not is_main)
    if not args.resume:
        config = config.for_training_set(len(train_docs))  # phase 2's depth, when left open (resume: the saved one)
    if is_main:
        for note in evaluation_notes([d.id for d in train_docs], [d.id for d in eval_docs]):
            print(f"warning: {note}", file=sys.stderr)
        depth = (f" (phase 2: up to the top {counted(config.phased_top_k, 'encoder layer')})"  # backbone not loaded
                 if config.scenario == "phased" and config.phased_top_k else "")
        processes = f", {accelerator.num_processes} processes" if accelerator.num_processes > 1 else ""
        print(f"train: {counted(len(train_docs), 'document')}, eval: {counted(len(eval_docs), 'document')}; "
              f"backbone {config.backbone}, "
              f"scenario {config.scenario}{depth}{processes}", file=sys.stderr, flush=True)
        if (note := _frozen_heads_note(config)) is not None:  # as the Train page says it (a walkthrough)
            print(f"note: {note}", file=sys.stderr)
        for warning in _phased_warnings(config):  # as the Train page says them before Start (probe 33)
            print(f"warning: {warning}", file=sys.stderr)
    if args.out is None:
        from ..training.runs import new_run

        job = new_run(open_run_workspace(args.workspace), config, train_docs, eval_docs, listeners=[ProgressPrinter()],
                      notes=command_line_notes(args.train, args.eval))
        return exit_code(run_in_workspace(job, "training"))
    run_dir = args.out
    if args.resume:
        build = lambda: build_resumed_task(run_dir, train_docs, eval_docs, config, accelerator=accelerator)  # noqa: E731
    else:
        if (run_dir / RUN_FILE).exists():
            raise CommandError(f"{run_dir} already holds a checkpoint; pass --resume to continue it or choose "
                               "another --out")
        build = lambda: build_task(config, train_docs, eval_docs, run_dir, accelerator=accelerator)  # noqa: E731
    job = TrainingJob(build, config, accelerator=accelerator, name=str(run_dir))
    if is_main:
        job.add_listener(ProgressPrinter())
    with run_folder_held(run_dir, resume=args.resume) if is_main else nullcontext():  # only the main process saves
        return exit_code(run_in_foreground(job, "training"))


def run_reference(args: argparse.Namespace) -> int:
    from ..model.checkpoint import RUN_FILE
    from ..training.job import TrainingJob
    from ..datasets.splits import evaluation_notes
    from ..training.reference import REFERENCE_DIR, ReferenceTask
    from ..training.threads import configure_torch_threads

    configure_torch_threads()
    config = config_from_args(ReferenceConfig, args)
    check_backbone_source(config.backbone)
    run_dir = args.out
    if run_dir is not None and ((run_dir / REFERENCE_DIR).exists() or (run_dir / RUN_FILE).exists()):
        raise CommandError(f"{run_dir} already holds a trained model; choose another --out")
    if run_dir is not None:
        check_out_outside_workspace(run_dir)  # as train's --out (a probe wrote a reference run into images/)
        check_run_folder(run_dir, resume=False, resumable=False)  # nor a user's other files: they would mix
    train_docs = load_training_documents(args.train, args.format, args.workspace)
    eval_docs = load_documents(args.eval, args.format, args.workspace, role="--eval")
    for note in evaluation_notes([d.id for d in train_docs], [d.id for d in eval_docs]):  # as train says it
        print(f"warning: {note}", file=sys.stderr)
    print(f"reference: {len(train_docs)} train / {len(eval_docs)} eval documents; backbone {config.backbone}",
          file=sys.stderr, flush=True)
    if run_dir is None:
        from ..training.runs import new_reference_run

        job = new_reference_run(open_run_workspace(args.workspace), config, train_docs, eval_docs,
                                listeners=[ProgressPrinter()], notes=command_line_notes(args.train, args.eval))
        return exit_code(run_in_workspace(job, "the reference", reads_it="its scores on --eval are printed after "
                                          "each epoch (the tagger is in the run's folder, reference/)"))
    job = TrainingJob(lambda: (ReferenceTask(config, train_docs, eval_docs, run_dir), None), config,
                      name=str(run_dir))
    job.add_listener(ProgressPrinter())
    with run_folder_held(run_dir, resume=False):
        return exit_code(run_in_foreground(job, "the reference"))


def _frozen_heads_note(config: TrainConfig) -> str | None:
    """What a head frozen by ``--freeze`` means while backbone layers train; None when no head is, or the backbone's
    layers cannot be counted before it loads."""
    layers = encoder_layers(config.backbone)
    if layers is None or not config.freeze:
        return None
    try:
        frozen = hand_frozen_heads(config.scenario, group_names_for(layers), config.freeze, config.unfreeze)
    except ValueError:  # a group this backbone lacks: loading the model says so
        return None
    return frozen_heads_note(list(frozen.heads), frozen.backbone_trains)


def _scenario_defaults_note() -> str:
    """What each other scenario's run starts from, where it differs from the defaults shown (the default scenario's):
    a probe read contextual heads in the help and expected them of ``--scenario full``, which trains linear ones."""
    shown = TrainConfig.for_scenario(TrainConfig().scenario)
    changes: dict[str, list[str]] = {}
    for scenario in PRESETS:
        if scenario == shown.scenario:
            continue
        config = TrainConfig.for_scenario(scenario)
        unused = {"scenario", *(PHASED_ONLY if scenario != "phased" else ()),
                  *(CONTEXTUAL_ONLY if config.head != "contextual" else ())}
        flags = " ".join(_flag(item, getattr(config, item.name)) for item in dataclasses.fields(TrainConfig)
                         if item.name not in unused and getattr(config, item.name) != getattr(shown, item.name))
        changes.setdefault(flags or "the same", []).append(scenario)
    return (f"The defaults shown are those of --scenario {shown.scenario}. Other scenarios start from: "
            + "; ".join(f"{', '.join(scenarios)}: {flags}" for flags, scenarios in changes.items())
            + " (options given override them).")


def _flag(item: dataclasses.Field, value) -> str:
    name = "--" + item.name.replace("_", "-")
    if value is None:
        return f"no {name} ({item.metadata.get('unset') or 'none'})"
    return f"{name} {' '.join(value) if isinstance(value, tuple) else value}"


def _scenario_config(**settings) -> TrainConfig:
    """The run's config: the scenario's own defaults under the options given (``TrainConfig.for_scenario``)."""
    return TrainConfig.for_scenario(settings.pop("scenario", TrainConfig().scenario), **settings)


def _accelerator():
    """``accelerate.Accelerator``: a no-op wrapper in one process (on a GPU when there is one), data-parallel when
    launched with several processes. Without CUDA it is asked for CPU mode, which makes a multi-process launch
    use gloo (``accelerate launch --multi_gpu --num_processes 2`` on a CPU-only machine gives 2 CPU processes)."""
    import torch
    from accelerate import Accelerator

    return Accelerator(cpu=not torch.cuda.is_available())
