"""Argument types and options shared by the command modules (``--format``, ``--workspace``, ``--boxes`` …).

The types raise :class:`argparse.ArgumentTypeError`, so a bad number is argparse's one-line usage error.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..datasets import FORMATS
from ..model.encoding import BOX_MODES

FORMAT_CHOICES = ("auto", *FORMATS)
FORMAT_HELP = "format of DATA folders (default: recognised from the files)"
WORKSPACE_HELP = "workspace for dataset names (default: $RECEIPT_STUDIO_HOME, else ./workspace)"


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text!r}")
    return value


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a {'whole ' if kind is int else ''}number, got {text!r}") from None


def add_format_argument(parser: argparse.ArgumentParser, help: str = FORMAT_HELP) -> None:
    """``--format auto|cord|wildreceipt|native`` for the DATA folders (read by :func:`.sources.load_documents`)."""
    parser.add_argument("--format", choices=FORMAT_CHOICES, default="auto", help=help)


def add_workspace_argument(parser: argparse.ArgumentParser, help: str = WORKSPACE_HELP) -> None:
    parser.add_argument("--workspace", type=Path, metavar="DIR", help=help)


def add_box_arguments(parser: argparse.ArgumentParser, scope: str = "") -> None:
    """``--boxes word|line|row`` and its older spelling ``--line-boxes`` (= ``--boxes line``)."""
    parser.add_argument("--boxes", choices=BOX_MODES, default="word",
                        help="the box each word is encoded with: its own (word), its OCR line's, as LayoutLMv3 and "
                             "LiLT do (line), or its own left/right edges with its line's top/bottom (row)" + scope)
    parser.add_argument("--line-boxes", action="store_const", const="line", dest="boxes", help="same as --boxes line")
