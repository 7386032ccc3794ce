"""``pretrain``: masked-word pre-training over boxes on unlabelled receipts (see receipt_core/training/pretrain.py).

Writes a LayoutLM backbone directory that ``train --backbone DIR`` (and the Train page's local backbone) loads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .arguments import (add_box_arguments, add_format_argument, add_workspace_argument, fraction, positive_float,
                        positive_int)
from .main import CommandError
from .sources import load_documents
from ..training.schedules import LR_SCHEDULES


def register(subparsers: argparse._SubParsersAction) -> None:
    pretrain = subparsers.add_parser(
        "pretrain", help="teach a backbone's layout tables by masked-word prediction over boxes",
        description="Masked-word pre-training (LayoutLM's task: hide 15% of the tokens, keep every box, predict "
                    "the hidden words) on receipts without labels; saves the backbone as a LayoutLM directory "
                    "for `train --backbone DIR`.")
    pretrain.add_argument("--data", required=True, nargs="+", metavar="DATA",
                          help="one or more folders or workspace datasets (their labels are not used)")
    add_format_argument(pretrain, help="format of DATA folders (default: recognised from each folder's files)")
    pretrain.add_argument("--backbone", default="layout-minilm", metavar="NAME|PATH",
                          help="the backbone to start from (default layout-minilm)")
    pretrain.add_argument("--epochs", type=positive_int, default=10, metavar="N")
    pretrain.add_argument("--max-minutes", type=positive_float, default=None, metavar="M",
                          help="training-time budget; the learning-rate schedule ends with it")
    pretrain.add_argument("--batch-size", type=positive_int, default=16, metavar="B")
    pretrain.add_argument("--lr", type=positive_float, default=1e-4, metavar="LR")
    pretrain.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="linear")
    pretrain.add_argument("--warmup", type=fraction, default=0.06, metavar="FRACTION")
    pretrain.add_argument("--mask-probability", type=fraction, default=0.15, metavar="P")
    add_box_arguments(pretrain)
    pretrain.add_argument("--seed", type=int, default=0, metavar="S")
    pretrain.add_argument("--out", required=True, type=Path, metavar="DIR", help="an empty folder for the backbone")
    add_workspace_argument(pretrain)
    pretrain.set_defaults(handler=run_pretrain_command)


def run_pretrain_command(args: argparse.Namespace) -> int:
    from ..training.pretrain import PretrainConfig, pretrain_layout

    try:
        config = PretrainConfig(backbone=args.backbone, epochs=args.epochs, max_minutes=args.max_minutes,
                                batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
                                warmup=args.warmup, mask_probability=args.mask_probability, seed=args.seed,
                                boxes=args.boxes)
    except ValueError as error:
        raise CommandError(str(error)) from None
    documents = [doc for data in args.data
                 for doc in load_documents(data, args.format, args.workspace, role="--data")]
    print(f"pretrain: {len(documents)} documents from {len(args.data)} source(s); backbone {config.backbone}",
          file=sys.stderr, flush=True)
    try:
        result = pretrain_layout(config, documents, args.out,
                                 on_log=lambda line: print(line, file=sys.stderr, flush=True))
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"saved the pre-trained backbone in {result.out_dir} ({result.steps} steps, {result.epochs:.1f} epochs, "
          f"{result.train_s:.0f}s, {result.finished}); masked-word loss {result.first_loss:.3f} → "
          f"{result.last_loss:.3f}, masked-word accuracy {result.masked_accuracy:.3f}. "
          f"Fine-tune it with: python -m receipt_core train --backbone {result.out_dir} …")
    return 0
