"""``pretrain``: masked-word pre-training over boxes on unlabelled receipts (see receipt_core/training/pretrain.py).

Writes a LayoutLM backbone directory that ``train --backbone DIR`` (and the Train page's local backbone) loads.
It runs as a job of the one loop: progress on stderr, Ctrl-Z pauses, Ctrl-C stops (the backbone is saved first).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from ..training.config import PretrainConfig
from .arguments import (add_config_options, add_format_argument, add_workspace_argument, check_backbone_source,
                        check_out_outside_workspace, check_run_folder, config_from_args, given_path)
from .foreground import exit_code, run_in_foreground
from .run_folder import run_folder_held
from .errors import CommandError
from .progress import ProgressPrinter
from .sources import load_documents
from .workspace_run import (RUN_WORKSPACE_HELP, WORKSPACE_RUN_HELP, command_line_notes, open_run_workspace,
                            run_in_workspace)
from ..wording import counted


def register(subparsers: argparse._SubParsersAction) -> None:
    pretrain = subparsers.add_parser(
        "pretrain", help="teach a backbone's layout tables by masked-word prediction over boxes",
        description="Masked-word pre-training (LayoutLM's task: hide 15% of the tokens, keep every box, predict "
                    "the hidden words) on receipts without labels; saves the backbone as a LayoutLM directory "
                    "for `train --backbone DIR`. Ctrl-Z pauses, Ctrl-C stops.")
    pretrain.add_argument("--data", required=True, nargs="+", metavar="DATA",
                          help="one or more folders or workspace datasets (their labels are not used)")
    add_format_argument(pretrain, help="format of DATA folders (default: recognised from each folder's files)")
    add_config_options(pretrain, PretrainConfig)
    pretrain.add_argument("--out", type=given_path, metavar="DIR", help="an empty folder for the backbone. "
                          + WORKSPACE_RUN_HELP + " (its backbone is in the run's folder, backbone/)")
    add_workspace_argument(pretrain, help=RUN_WORKSPACE_HELP)
    pretrain.set_defaults(handler=run_pretrain_command)


def run_pretrain_command(args: argparse.Namespace) -> int:
    from ..training.job import TrainingJob
    from ..workspace.database import MODELS_FOLDER
    from ..workspace.store import home_folder
    from ..training.pretrain import PretrainTask
    from ..training.threads import configure_torch_threads

    configure_torch_threads()
    config = config_from_args(PretrainConfig, args)
    check_backbone_source(config.backbone)
    if args.out is not None and (args.out / "config.json").exists():
        raise CommandError(f"{args.out} already holds a checkpoint; choose an empty output folder")
    if args.out is not None:
        # not among the workspace's own files (a probe wrote a backbone into runs/ and images/), but models/ is
        # where the Train page's "local folder…" backbone looks
        check_out_outside_workspace(args.out, home_folder(args.workspace), allowed=MODELS_FOLDER)
        check_run_folder(args.out, resume=False, resumable=False)  # nor a user's other files: they would mix
    documents = [doc for data in args.data
                 for doc in load_documents(data, args.format, args.workspace, role="--data")]
    print(f"pretrain: {counted(len(documents), 'document')} from {counted(len(args.data), 'source')}; "
          f"backbone {config.backbone}",
          file=sys.stderr, flush=True)
    if args.out is None:
        from ..training.runs import new_pretrain_run

        job = new_pretrain_run(open_run_workspace(args.workspace), config, documents, listeners=[ProgressPrinter()],
                               notes=command_line_notes(args.data))
        finished = run_in_workspace(job, "pre-training", reads_it="train --backbone reads the backbone it saves "
                                                                  "(its folder is printed at the end)")
    else:
        before = set(args.out.iterdir()) if args.out.is_dir() else set()  # empty but for what check_run_folder allows
        job = TrainingJob(lambda: (PretrainTask(config, documents, args.out), None), config, name=str(args.out))
        job.add_listener(ProgressPrinter())
        with run_folder_held(args.out, resume=False):
            finished = run_in_foreground(job, "pre-training")
    try:
        result = job.trainer.task.result(finished, job.trainer.state)
    except ValueError as error:
        if args.out is not None and job.trainer.state.global_step == 0:  # an untrained copy of the backbone, which
            # train --backbone took without a word beside this error (probe 37): what it wrote goes
            for written in set(args.out.iterdir()) - before:
                if written.is_file() and not written.is_symlink():
                    written.unlink()
            raise CommandError(f"{error}; the untrained backbone it saved in {args.out} was removed") from None
        raise CommandError(str(error)) from None
    print(f"saved the pre-trained backbone in {result.out_dir} ({result.steps} steps, {result.epochs:.1f} epochs, "
          f"{result.train_s:.0f}s, {result.finished}); masked-word loss {result.first_loss:.3f} → "
          f"{result.last_loss:.3f} and accuracy {result.masked_accuracy:.3f} (means over the first and the last "
          "tenth of its steps, on the receipts it trained on: pre-training holds none out). "
          f"Fine-tune it with: python -m receipt_core train --backbone {shlex.quote(str(result.out_dir))} …")
    return exit_code(finished)
