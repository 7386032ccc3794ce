"""Argument types and options shared by the command modules (``--format``, ``--workspace``, ``--boxes`` …).

The types raise :class:`argparse.ArgumentTypeError`, so a bad number is argparse's one-line usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import itertools
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from ..datasets import FORMATS
from ..datasets.detect import AUTO
from ..data.boxes import BOX_MODES
from .errors import CommandError

FORMAT_CHOICES = (AUTO, *FORMATS)
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


def whole_number(text: str) -> int:
    """A whole number whose bounds the config checks, with its own message (``--head-size 0`` said "at least 1"
    and ``--head-size 5000`` "from 8 to 1024")."""
    return _number(text, int)


def finite_number(text: str) -> float:
    """A number whose bounds the config checks (``--mask-probability`` said "[0, 1)" for 1.5 and "(0, 1)" for 0)."""
    value = _number(text, float)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a {'whole ' if kind is int else ''}number, got {text!r}") from None


def add_format_argument(parser: argparse.ArgumentParser, help: str = FORMAT_HELP) -> None:
    """``--format auto|cord|wildreceipt|native`` for the DATA folders (read by :func:`.sources.load_documents`)."""
    parser.add_argument("--format", choices=FORMAT_CHOICES, default=AUTO, help=help)


def given_path(text: str) -> Path:
    """A path argument's type: an empty value is refused (``Path("")`` is the current folder: a probe's
    ``import ''`` read the current folder as a dataset)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give a file or folder")
    return Path(text)


def workspace_folder(text: str) -> Path:
    """``--workspace``'s type: a folder; an empty value is refused (``Path("")`` is the current folder, and a
    probe's ``--workspace ''`` wrote the workspace's files straight into it)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give a folder (an empty value would put the workspace's files in the "
                                         "current folder; leave --workspace out for the default)")
    return Path(text)


def add_workspace_argument(parser: argparse.ArgumentParser, help: str = WORKSPACE_HELP) -> None:
    parser.add_argument("--workspace", type=workspace_folder, metavar="DIR", help=help)


_KINDS = {"positive_int": positive_int, "non_negative_int": non_negative_int, "positive_float": positive_float,
          "fraction": fraction, "int": int, "str": str, "names": str, "whole": whole_number,
          "number": finite_number}


def add_config_options(parser: argparse.ArgumentParser, config_class: type, skip: Sequence[str] = (),
                       shown_defaults: Any = None) -> None:
    """One ``--option`` per field of ``config_class`` made with ``training.config.option``: its type, choices and
    help come from the field, and its default is the dataclass's, or ``shown_defaults``' (a config as a run with no
    option gets it: ``train``'s default scenario brings its own heads and boxes), shown in the help. An option left
    out of the command line stays out of ``args``, so :func:`config_from_args` takes the default."""
    for item in dataclasses.fields(config_class):
        meta = item.metadata
        if "help" not in meta or item.name in skip:
            continue
        default = item.default if shown_defaults is None else getattr(shown_defaults, item.name)
        if isinstance(default, bool) and meta["choices"] and "on" in meta["choices"]:
            default = "on" if default else "off"  # --head-boxes on|off said "(default: True)"
        shown = "none" if default in (None, ()) else " ".join(default) if isinstance(default, tuple) else default
        kwargs: dict[str, Any] = {"dest": item.name, "default": argparse.SUPPRESS,
                                  "help": f"{meta['help']} (default: {shown})"}
        if meta["choices"]:
            kwargs["choices"] = tuple(meta["choices"])
        else:
            kwargs["type"] = _KINDS[meta["kind"]]
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        if meta["kind"] == "names":
            kwargs["nargs"] = "+"
        parser.add_argument("--" + item.name.replace("_", "-"), **kwargs)


def config_from_args(config_class: type, args: argparse.Namespace, build: Callable[..., Any] | None = None,
                     **settings: Any) -> Any:
    """``config_class`` from the options given on the command line (the rest keep their defaults) plus
    ``settings``, made by ``build`` when given (e.g. ``TrainConfig.for_scenario``'s per-scenario defaults); a
    value the config refuses is the command's one-line error."""

    given = {item.name: getattr(args, item.name) for item in dataclasses.fields(config_class)
             if hasattr(args, item.name)}
    given = {name: tuple(value) if isinstance(value, list) else value for name, value in given.items()}
    try:
        return (build or config_class)(**{**given, **settings})
    except ValueError as error:
        raise CommandError(str(error)) from None


def add_box_arguments(parser: argparse.ArgumentParser, scope: str = "", default: str | None = "word") -> None:
    """``--boxes word|line|row`` for commands whose settings are not a config dataclass (the study)."""
    parser.add_argument("--boxes", choices=BOX_MODES, default=default,
                        help="the box each word is encoded with: its own (word), its OCR line's, as LayoutLMv3 and "
                             "LiLT do (line), or its own left/right edges with its line's top/bottom (row)" + scope)


def make_out_folder(path: Path, create: bool = True, flag: str = "--out",
                    wanted: str = "a new or empty folder") -> None:
    """``CommandError`` unless ``path`` (an ``--out``, or the option ``flag`` names) is a folder or can be one: a
    file there is refused, a missing folder is made (with ``create`` False, only checked that it could be). Commands
    call it before loading anything, so a mistyped ``--out`` fails in a second, not when the model is saved.
    ``wanted``: what the refusal asks for instead (an OCR cache may be a folder an earlier run filled)."""

    if path.is_symlink() and not path.exists():  # "cannot create the folder …: File exists" said nothing useful
        try:
            path.resolve(strict=True)
            why = "which does not exist"
        except RuntimeError:  # a loop (Python before 3.13)
            why = "which leads round a loop of links to no file or folder"
        except OSError as error:  # ELOOP on 3.13, or ENOENT: the link's target is missing
            why = ("which leads round a loop of links to no file or folder" if error.errno == errno.ELOOP
                   else "which does not exist")
        raise CommandError(f"{flag} {path} is a symbolic link to {os.readlink(path)}, {why}; choose {wanted}")
    if path.exists() and not path.is_dir():
        what = "a file" if path.is_file() else "not a regular file (a pipe, socket or device)"
        raise CommandError(f"{flag} {path} is {what}, not a folder; choose {wanted}")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"cannot create the folder {path}: {error.strerror or error}") from None
    elif not path.exists():  # to be made later: refuse now what mkdir would refuse then
        ancestor = next(parent for parent in path.parents if parent.exists())
        if not ancestor.is_dir():
            raise CommandError(f"cannot create the folder {path}: {ancestor} is not a folder")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise CommandError(f"cannot create the folder {path}: {ancestor} cannot be written")


FORCE_HELP = "write into DIR even when it is not empty (files of the same name are replaced)"


def add_force_argument(parser: argparse.ArgumentParser, help: str = FORCE_HELP) -> None:
    """``--force``: let :func:`check_empty_out_folder` pass a folder that already holds files."""
    parser.add_argument("--force", action="store_true", help=help)


def check_empty_out_folder(path: Path, force: bool) -> None:
    """``CommandError`` unless ``path`` (an ``--out``) is a new or empty folder, or ``force`` is set: a command that
    writes files of fixed names (``export``, ``synth``, ``study``) would otherwise replace the user's files of those
    names without a word. A file at ``path`` is refused as by :func:`make_out_folder`; nothing is created."""

    make_out_folder(path, create=False)
    held = sorted(entry.name for entry in itertools.islice(path.iterdir(), 4)) if not force and path.is_dir() else []
    if held:
        shown = ", ".join(held[:3]) + (", …" if len(held) > 3 else "")
        raise CommandError(f"--out {path} is not empty (it holds {shown}); choose a new or empty folder, or pass "
                           "--force to write into it (files of the same name are replaced)")


def check_out_outside_workspace(path: Path, workspace_home: Path | None = None, allowed: str | None = None) -> None:
    """``CommandError`` when ``path`` (an ``--out``) is ``workspace_home`` or lies inside it, or inside any folder
    holding a workspace's database: files written there would mix with the store's own (``images/`` is
    content-addressed and pruned of what no document names; ``runs/`` holds checkpoints). A folder inside the
    workspace's ``allowed`` folder passes (a study's ``studies/NAME``, where Runs → Studies opens it: a probe's
    ``study --out <workspace>/runs --force`` wrote its runs among the checkpoints). Paths are taken as the writer
    takes them (no ``~`` expansion: a probe's ``--out`` checked as ``$HOME/…`` was written to ``./~/…``)."""
    from ..workspace.database import DATABASE_NAME

    out = path.resolve()
    homes = [Path(workspace_home).resolve()] if workspace_home is not None else []
    homes += [folder for folder in (out, *out.parents) if (folder / DATABASE_NAME).is_file()]
    for home in homes:
        if allowed is not None and home / allowed in out.parents:
            continue
        if out == home or home in out.parents:
            where = f" or a new folder inside {home / allowed}" if allowed is not None else ""
            raise CommandError(f"--out {path} is {'the workspace' if out == home else 'inside the workspace'} "
                               f"{home}, whose files would mix with what is written; choose a folder outside "
                               f"it{where}")


def check_backbone_source(name_or_path: str) -> None:
    """CommandError when ``--backbone`` names no backbone (an unknown name, a missing folder, a folder without
    config.json): said in a second, before any document is read or any folder made."""
    from ..model.backbone_names import backbone_source_problem, unfinished_pretraining

    if not name_or_path.strip():  # "" read the current folder: ". is not a transformers checkpoint" (a probe)
        raise CommandError("--backbone is empty: give a backbone name (see train --help) or a backbone folder")
    problem = backbone_source_problem(name_or_path)
    if problem:
        raise CommandError(f"--backbone: {problem}")
    if note := unfinished_pretraining(name_or_path):
        print(f"warning: --backbone: {note}", file=sys.stderr, flush=True)


def check_phase_two_depth(top_k: int, backbone: str) -> None:
    """CommandError when ``--phased-top-k`` asks phase 2 to unfreeze more encoder layers than the backbone has
    (a probe: 100 on the 2-layer tiny backbone was taken without a word)."""
    from ..model.backbone_names import encoder_layers

    layers = encoder_layers(backbone)
    if layers is not None and top_k > layers:
        raise CommandError(f"--phased-top-k {top_k}: the backbone {backbone} has {layers} encoder layers; give 1 to "
                           f"{layers} (or leave it out: phase 2 then picks its depth)")


def check_toggle_depth(freeze: Sequence[str], unfreeze: Sequence[str], backbone: str) -> None:
    """CommandError when ``--freeze`` or ``--unfreeze`` names an encoder layer the backbone lacks, before any
    document or model loads (``model.freeze.toggle_depth_problem``)."""
    from ..model.backbone_names import encoder_layers
    from ..model.freeze import toggle_depth_problem

    layers = encoder_layers(backbone)
    if layers is None:  # unreadable before it loads: loading it says why
        return
    for option, toggles in (("--freeze", freeze), ("--unfreeze", unfreeze)):
        for toggle in toggles:
            if (problem := toggle_depth_problem(toggle, layers, backbone)) is not None:
                raise CommandError(f"{option} {toggle}: {problem}")


def check_run_folder(run_dir: Path, resume: bool, resumable: bool = True) -> None:
    """CommandError unless ``run_dir`` can take a run: a folder (or one that can be made) without a checkpoint, or
    with one when resuming. Run before anything is loaded, so a bad ``--out`` fails at once, not after an epoch.
    ``resumable``: the command has ``--resume`` to offer (``pretrain`` and ``reference`` have none: a probe was told
    to pass it)."""
    from ..model.checkpoint import has_checkpoint

    make_out_folder(run_dir, create=False)
    if resume and not has_checkpoint(run_dir):
        raise CommandError(f"--resume: {run_dir} holds no checkpoint to continue")
    if not resume and has_checkpoint(run_dir):
        advice = "pass --resume to continue it or choose another --out" if resumable else "choose another --out"
        raise CommandError(f"{run_dir} already holds a checkpoint; {advice}")
    if not resume and run_dir.is_dir() and any(run_dir.iterdir()):
        raise CommandError(f"--out {run_dir} is not empty: a run writes its checkpoint files there and would mix "
                           "them with what it holds; choose a new or empty folder")
    made = [folder for folder in (run_dir, *run_dir.parents) if not folder.exists()]  # deepest first
    make_out_folder(run_dir)  # a folder that cannot be made fails now ...
    for folder in made:  # ... but the run makes it when it saves: one that fails first leaves no empty folders
        folder.rmdir()
