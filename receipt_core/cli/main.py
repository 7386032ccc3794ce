"""``python -m receipt_core``: an argparse router over the command modules.

Each command module has ``register(subparsers)``, which adds its subcommands and sets ``handler`` (a function
``args -> int``) as a default. A user-facing failure prints one line ``error: …`` on stderr and exits 2; no
traceback reaches the user unless ``RECEIPT_DEBUG=1`` is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import Sequence

from ..data.markup import one_line
from ..errors import is_library_panic, is_user_error
from .arguments import given_path
from .foreground import record_interrupts
from .errors import stopped_by

# Command modules in help order (imported by name).
COMMAND_MODULES = ("receipt_core.cli.data_commands", "receipt_core.cli.train_command",
                   "receipt_core.cli.evaluate_command", "receipt_core.cli.study_command",
                   "receipt_core.cli.pretrain_command")
EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse's parser whose usage errors are one line, as every other error (not the whole usage block first);
    the subcommands' parsers are of the same class, so ``train --epochs -1`` answers in one line too."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(EXIT_USER_ERROR, f"error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m receipt_core",
                                     description="Receipt MTL Studio: receipts in, multi-task model out.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def parse_command_line(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, except that image files given after an option still count: argparse stops filling a
    list of positionals at the first option, so ``predict RUN --data X a.png`` and ``ocr a.png --json b.png`` were
    refused as "unrecognized arguments: a.png" (a probe); they join the command's images, whose checks (``predict``
    takes images or ``--data``, not both) then answer."""
    args, extras = parser.parse_known_args(argv)
    if not extras:
        return args
    images = getattr(args, "images", None)
    if not isinstance(images, list) or any(text.startswith("-") for text in extras):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    for text in extras:
        try:
            images.append(given_path(text))
        except argparse.ArgumentTypeError as error:
            parser.error(f"argument IMAGE: {error}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    restore = record_interrupts()  # a Ctrl-C the setup's code swallows is still seen by the run (a probe)
    try:
        return _run(argv)
    finally:
        restore()


def _run(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        args = parse_command_line(parser, argv)
    except SystemExit as exit_:  # argparse's usage errors and --help
        return exit_.code if isinstance(exit_.code, int) else EXIT_USER_ERROR
    except KeyboardInterrupt as stopped:  # Ctrl-C while the commands' modules load (a probe's traceback at 1.6 s)
        return _stopped(stopped)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt as stopped:
        return _stopped(stopped)
    except BrokenPipeError:  # `ocr IMG | head`: the reader stopped reading, as it meant to; no "error: Broken pipe"
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nor another one when Python flushes stdout at exit
        return 141  # 128 + SIGPIPE, what a Unix tool cut off by a pipe exits with
    except BaseException as error:  # noqa: BLE001 - the one place that turns every failure into a message
        if os.environ.get("RECEIPT_DEBUG") == "1" or not (isinstance(error, Exception) or is_library_panic(error)):
            raise
        print(f"error: {one_line(describe_error(error))}", file=sys.stderr)  # a path's escapes shown, not run
        return EXIT_USER_ERROR if is_user_error(error) else EXIT_INTERNAL_ERROR


def describe_error(error: BaseException) -> str:
    """One line for the user: the message, with file errors phrased as ``<path>: <reason>``."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    message = re.sub(r"\s*[\r\n]+\s*", " ", str(error)).strip() or type(error).__name__  # one line; '  ' kept
    if is_library_panic(error):
        return f"a compiled library (such as the model's tokenizer) failed on this input: {message}"
    if is_user_error(error):
        return message
    return f"unexpected {type(error).__name__}: {message} (set RECEIPT_DEBUG=1 to see the traceback)"


def _stopped(signalled: KeyboardInterrupt) -> int:
    """A command stopped by Ctrl-C or SIGTERM: said as which (probe 59's ``kill -TERM`` of an export read
    "interrupted"), exit status 130 either way, as a stopped training's."""
    print(f"error: {stopped_by(signalled)}", file=sys.stderr)
    return 130
