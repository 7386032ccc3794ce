"""What a name typed by a user may be, and where a path built from one may lead: the one home of both checks.

A dataset name ends up in SQL parameters (harmless), on pages (shown as text) and in file names (export
folders, zip entries, download names), so it is held to a file-name-safe alphabet here, once, for every
entry point (CLI, pages, importers).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path

from ..data.files import portable_name_problem
from .database import WorkspaceError

MAX_DATASET_NAME = 100
_DATASET_NAME = re.compile(r"[A-Za-z0-9 _.\-]+")


def check_dataset_name(name: object) -> str:
    """``name`` if it is a valid dataset name, else WorkspaceError saying what is wrong with it.

    Valid: 1–100 of ASCII letters, digits, space, ``-``, ``_`` and ``.``, not starting with ``.``, ``-`` or a space,
    not ending with a space or ``.``, without two spaces in a row, not a Windows device name (``CON``, ``NUL``…).
    So no path separator, no control character (newline, tab), no Markdown or HTML.
    """
    if not isinstance(name, str):
        raise WorkspaceError(f"a dataset name must be text, got {type(name).__name__}")
    if not name:
        raise WorkspaceError("the dataset name is empty; give it a name such as 'uploads' or 'cord-train'")
    if len(name) > MAX_DATASET_NAME:
        raise WorkspaceError(f"the dataset name is {len(name)} characters long; at most {MAX_DATASET_NAME} are "
                             f"allowed")
    if (refused := refused_characters(name, "the dataset name")) is not None:
        raise WorkspaceError(refused)
    if name.startswith(".") or name != name.strip():
        raise WorkspaceError(f"the dataset name {name!r} must not start with '.' nor start or end with a space")
    if "  " in name:  # a page shows two spaces as one: 'cord  dev' would look like 'cord dev'
        raise WorkspaceError(f"the dataset name {name!r} holds two spaces in a row, which show as one; use one")
    if (problem := portable_name_problem(name)) is not None:  # it names export folders and zip entries
        raise WorkspaceError(f"the dataset name {name!r} cannot name a folder everywhere: {problem}; choose another")
    return name


MAX_NAMES_LISTED = 10


def other_datasets(name: str, names: list[str]) -> str:
    """What to say after "no dataset NAME": why NAME can be no dataset (a look-alike letter such as Cyrillic 'і'
    in 'bіg', which printed exactly as the 'big' listed beside it), else the closest names, and at most
    :data:`MAX_NAMES_LISTED` of the workspace's names (a probe's 302 datasets made a 4 KB error line)."""
    try:
        check_dataset_name(name)
    except WorkspaceError as error:
        return f"{error}"
    by_folded = {}  # compared in one letter case: "CDEV" named no "cdev" beside it (probe 37)
    for known in names:
        by_folded.setdefault(known.casefold(), known)
    close = [by_folded[match] for match in difflib.get_close_matches(name.casefold(), list(by_folded), n=3,
                                                                     cutoff=0.6)]
    listed = ", ".join(names[:MAX_NAMES_LISTED]) + (f" and {len(names) - MAX_NAMES_LISTED} more"
                                                      if len(names) > MAX_NAMES_LISTED else "")
    return (f"closest: {', '.join(close)}; " if close else "") + f"datasets: {listed or 'none'}"


def refused_characters(name: str, what: str) -> str | None:
    """"<what> '<name>' contains 'é', U+200B; use only …" when ``name`` holds a character a name may not (ASCII
    letters, digits, space, ``-``, ``_``, ``.`` are allowed), else None: the one wording of dataset and study folder
    names (probe 60 could not see the zero-width space a study name was refused for)."""
    bad = sorted({ch for ch in name if not _DATASET_NAME.fullmatch(ch)})
    if not bad:
        return None
    # every one, up to 12 (a walkthrough fixed the five shown and was refused again for the rest)
    shown = ", ".join(_shown_char(ch) for ch in bad[:12]) + (f" and {len(bad) - 12} more" if len(bad) > 12 else "")
    return (f"{what} {_shown_name(name)} contains {shown}; use only ASCII letters (A-Z, a-z), digits, spaces, '-', "
            "'_' and '.'")


def _shown_char(ch: str) -> str:
    """A refused character as a reader can see it: ``'é'``, or ``U+0301`` for a combining mark or an invisible one
    (which would sit on the quote or show as nothing)."""
    if unicodedata.category(ch)[0] in "MC" or not ch.isprintable():
        return f"U+{ord(ch):04X}"
    return repr(ch)


def _shown_name(name: str) -> str:
    """``name`` quoted, its combining and invisible characters as ``\\u`` escapes."""
    return "'" + "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch)[0] in "MC" or not ch.isprintable()
                         else ch for ch in name) + "'"


def path_inside(folder: Path, *parts: str) -> Path:
    """``folder/parts…`` resolved, refused with WorkspaceError unless it stays inside ``folder`` (resolved too)."""
    root = Path(folder).resolve()
    target = root.joinpath(*parts).resolve()
    if target != root and not target.is_relative_to(root):
        raise WorkspaceError(f"{'/'.join(parts)!r} would lead outside {root}; refusing it")
    return target
