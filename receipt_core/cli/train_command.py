"""``train``: fine-tune the multi-task model (see ``python -m receipt_core train --help``).

Progress goes to stderr (:class:`~receipt_core.cli.progress.ProgressPrinter`). ``train`` also runs
data-parallel, unchanged, under ``accelerate launch -m receipt_core train …``: only the main process prints and
writes the checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .arguments import (add_box_arguments, add_format_argument, add_workspace_argument, fraction, non_negative_int,
                        positive_float, positive_int)
from .main import CommandError
from .progress import ProgressPrinter
from .sources import load_documents, load_training_documents
from ..training.schedules import LR_SCHEDULES


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..model.backbones import DEFAULT_BACKBONE
    from ..model.freeze import PRESETS

    train = subparsers.add_parser(
        "train", help="fine-tune the multi-task model", description="Fine-tune the field and quantity heads (and "
        "whatever the freeze scenario lets train); writes RUN_DIR/model.safetensors and RUN_DIR/run.json.")
    train.add_argument("--train", required=True, nargs="+", metavar="DATA",
                       help="training data: one or more folders or workspace datasets, trained on together (each "
                            "folder's format is --format, or recognised from its files)")
    train.add_argument("--eval", required=True, metavar="DATA", help="evaluation data: a folder or workspace dataset")
    add_format_argument(train)
    train.add_argument("--backbone", default=DEFAULT_BACKBONE, metavar="NAME|PATH",
                       help="layout-minilm (default), text-minilm, tiny, or a local LayoutLM folder")
    train.add_argument("--scenario", default="full", choices=PRESETS, help="freeze preset (default: full)")
    train.add_argument("--freeze", nargs="+", default=[], metavar="GROUP", help="groups to freeze on top of it")
    train.add_argument("--unfreeze", nargs="+", default=[], metavar="GROUP", help="groups to unfreeze on top of it")
    train.add_argument("--epochs", type=non_negative_int, default=3, metavar="N")
    train.add_argument("--max-minutes", type=positive_float, default=None, metavar="M",
                       help="stop training after M minutes (evaluates and saves first)")
    train.add_argument("--batch-size", type=positive_int, default=8, metavar="B")
    train.add_argument("--lr", type=positive_float, default=5e-5, metavar="LR")
    train.add_argument("--seed", type=int, default=0, metavar="S")
    train.add_argument("--decay-factor", type=float, default=2.6, metavar="F",
                       help="discriminative learning rates: each lower group's rate is the one above / F")
    train.add_argument("--loss-weighting", choices=("fixed", "uncertainty"), default="fixed")
    train.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant",
                       help="constant, or linear: warm up, then decay to 0 at the run's end (its epochs or "
                            "--max-minutes, whichever comes first)")
    train.add_argument("--warmup", type=fraction, default=0.06, metavar="FRACTION",
                       help="linear schedule: the fraction of the run spent warming up (default 0.06)")
    add_box_arguments(train)
    train.add_argument("--phased-top-k", type=positive_int, default=2, metavar="K",
                       help="phased: encoder layers unfrozen in phase 2 (default 2)")
    train.add_argument("--epochs-per-phase", type=positive_int, default=None, metavar="N",
                       help="phased: a phase ends after N epochs (default 1 unless --patience is given)")
    train.add_argument("--patience", type=positive_int, default=None, metavar="N",
                       help="phased: a phase ends after N evaluations without a better validation loss")
    train.add_argument("--eval-every", type=non_negative_int, default=0, metavar="STEPS",
                       help="evaluate every STEPS steps as well as after each epoch")
    train.add_argument("--max-length", type=positive_int, default=512, metavar="TOKENS")
    train.add_argument("--resume", action="store_true", help="continue the checkpoint already in RUN_DIR")
    train.add_argument("--no-feature-cache", dest="feature_cache", action="store_false",
                       help="run frozen bottom layers every step instead of caching their output once per window "
                            "(same losses, much slower; for comparison)")
    train.add_argument("--out", required=True, type=Path, metavar="RUN_DIR")
    add_workspace_argument(train)
    train.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from ..model.checkpoint import RUN_FILE
    from ..training.config import TrainConfig
    from ..training.events import FailedEvent
    from ..training.job import TrainingJob
    from ..training.receipt_task import build_resumed_task, build_task
    from ..training.threads import configure_torch_threads

    accelerator = _accelerator()
    configure_torch_threads(accelerator.num_processes)  # one thread per physical core, split between processes
    is_main = accelerator.is_main_process
    epochs_per_phase = args.epochs_per_phase if args.epochs_per_phase or args.patience else 1
    config = TrainConfig(backbone=args.backbone, scenario=args.scenario, freeze=tuple(args.freeze),
                         unfreeze=tuple(args.unfreeze), phased_top_k=args.phased_top_k,
                         epochs_per_phase=epochs_per_phase, patience=args.patience, epochs=args.epochs,
                         max_minutes=args.max_minutes, batch_size=args.batch_size, lr=args.lr,
                         decay_factor=args.decay_factor, loss_weighting=args.loss_weighting, seed=args.seed,
                         max_length=args.max_length, eval_every=args.eval_every, cache_frozen=args.feature_cache,
                         lr_schedule=args.lr_schedule, warmup=args.warmup, boxes=args.boxes)
    train_docs = load_training_documents(args.train, args.format, args.workspace, quiet=not is_main)
    eval_docs = load_documents(args.eval, args.format, args.workspace, role="--eval", quiet=not is_main)
    if is_main:
        print(f"train: {len(train_docs)} documents, eval: {len(eval_docs)} documents; backbone {config.backbone}, "
              f"scenario {config.scenario}" + (f", {accelerator.num_processes} processes"
                                               if accelerator.num_processes > 1 else ""),
              file=sys.stderr, flush=True)
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
    job.start()
    try:
        while not job.join(timeout=0.5):
            pass
    except KeyboardInterrupt:
        print("interrupted: stopping after the current step (press Ctrl-C again to abort)", file=sys.stderr)
        job.stop()
        job.join()
    result = job.result
    if isinstance(result, FailedEvent):
        raise CommandError(f"training failed at step {result.step}: {result.error}")
    return 0


def _accelerator():
    """``accelerate.Accelerator``: a no-op wrapper in one process (on a GPU when there is one), data-parallel when
    launched with several processes. Without CUDA it is asked for CPU mode, which makes a multi-process launch
    use gloo (``accelerate launch --multi_gpu --num_processes 2`` on a CPU-only machine gives 2 CPU processes)."""
    import torch
    from accelerate import Accelerator

    return Accelerator(cpu=not torch.cuda.is_available())
