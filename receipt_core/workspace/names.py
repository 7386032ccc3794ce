"""What a name typed by a user may be, and where a path built from one may lead: the one home of both checks.

A dataset name ends up in SQL parameters (harmless), on pages (shown as text) and in file names (export
folders, zip entries, download names), so it is held to a file-name-safe alphabet here, once, for every
entry point (CLI, pages, importers).
"""

from __future__ import annotations

import re
from pathlib import Path

from .database import WorkspaceError

MAX_DATASET_NAME = 100
_DATASET_NAME = re.compile(r"[A-Za-z0-9 _.\-]+")


def check_dataset_name(name: object) -> str:
    """``name`` if it is a valid dataset name, else WorkspaceError saying what is wrong with it.

    Valid: 1–100 of letters, digits, space, ``-``, ``_`` and ``.``, not starting with ``.`` or a space and not
    ending with a space. So no path separator, no control character (newline, tab), no Markdown or HTML.
    """
    if not isinstance(name, str):
        raise WorkspaceError(f"a dataset name must be text, got {type(name).__name__}")
    if not name:
        raise WorkspaceError("the dataset name is empty; give it a name such as 'uploads' or 'cord-train'")
    if len(name) > MAX_DATASET_NAME:
        raise WorkspaceError(f"the dataset name is {len(name)} characters long; at most {MAX_DATASET_NAME} are "
                             f"allowed")
    bad = sorted({ch for ch in name if not _DATASET_NAME.fullmatch(ch)})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        raise WorkspaceError(f"the dataset name {name!r} contains {shown}; use only letters, digits, spaces, "
                             f"'-', '_' and '.'")
    if name.startswith(".") or name != name.strip():
        raise WorkspaceError(f"the dataset name {name!r} must not start with '.' nor start or end with a space")
    return name


def path_inside(folder: Path, *parts: str) -> Path:
    """``folder/parts…`` resolved, refused with WorkspaceError unless it stays inside ``folder`` (resolved too)."""
    root = Path(folder).resolve()
    target = root.joinpath(*parts).resolve()
    if target != root and not target.is_relative_to(root):
        raise WorkspaceError(f"{'/'.join(parts)!r} would lead outside {root}; refusing it")
    return target
