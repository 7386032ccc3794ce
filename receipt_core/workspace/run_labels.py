"""A run's name, tags and notes as the user gave them on the Runs page, stored beside the run in the workspace.

A ``run_labels`` table (created on first use, idempotently, so older workspaces gain it without a migration) holds
one row per labelled run; deleting the run deletes its labels (``ON DELETE CASCADE``). The run's own ``name``
column keeps what it was started as (e.g. ``tiny · full``); :func:`display_name` prefers the user's name.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Mapping

from ..data.files import download_name_part
from ..data.markup import holds_control_character, visible_text
from .database import NotFoundError, WorkspaceError, dumps

MAX_NAME = 80
MAX_TAG = 40
MAX_TAGS = 20
MAX_NOTES = 4000

_TABLE = """
CREATE TABLE IF NOT EXISTS run_labels (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    tags TEXT NOT NULL,
    notes TEXT NOT NULL,
    updated_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class RunLabel:
    run_id: str
    name: str  # "" when the user gave none
    tags: tuple[str, ...]
    notes: str


def _ensure_table(conn) -> None:
    conn.execute(_TABLE)


def _without_controls(text: str, what: str) -> str:
    """``text`` unless it holds a control character (NUL, escape…; newlines in notes are fine), which a probe
    stored in a run name: refused, as an import refuses one in a receipt's text."""
    if holds_control_character(text, allowed="\n\r\t"):
        raise WorkspaceError(f"{what} cannot hold a control character (such as NUL); type it without")
    return text


def _clean_tags(tags) -> tuple[str, ...]:
    if isinstance(tags, str):
        tags = tags.split(",")
    collapsed = (" ".join(_without_controls(str(tag), "a tag").split()) for tag in tags)
    cleaned = tuple(dict.fromkeys(_without_invisible(t, "a tag") for t in collapsed if t))
    if len(cleaned) > MAX_TAGS:
        raise WorkspaceError(f"a run takes at most {MAX_TAGS} tags, got {len(cleaned)}")
    long = [t for t in cleaned if len(t) > MAX_TAG]
    if long:
        raise WorkspaceError(f"a tag is at most {MAX_TAG} characters; shorten {long[0][:MAX_TAG]!r}…")
    return cleaned


def set_run_label(workspace, run_id: str, name: str | None = None, tags=None, notes: str | None = None) -> RunLabel:
    """Set a run's name, tags (a list, or one comma-separated string) and/or notes; what is None stays as it was.

    Names and tags are stripped and their inner whitespace collapsed; tags lose duplicates. Too long a value is
    refused with :class:`WorkspaceError`, an unknown run with :class:`NotFoundError`."""
    typed = _typed_label(run_id, name, tags, notes)
    if name is not None:
        _not_another_runs_tag(workspace, run_id, typed.name)
    with workspace._write() as conn:
        current = _current_label(conn, run_id)
        return _store(conn, RunLabel(run_id, current.name if name is None else typed.name,
                                     current.tags if tags is None else typed.tags,
                                     current.notes if notes is None else typed.notes))


class RunLabelConflictError(WorkspaceError):
    """A form's edit of a run's label that another tab or session changed since the form was drawn."""


def save_label_edit(workspace, run_id: str, drawn: RunLabel, name: str, tags, notes: str) -> RunLabel:
    """Save what a form typed over ``drawn`` (the label as the form showed it): only the fields typed differently
    are written, so a tab opened earlier that changes the name leaves the notes another tab saved since (a probe
    lost an hour's notes so). A field both this form and someone else changed since is not overwritten:
    :class:`RunLabelConflictError` names it and nothing is saved (the caller shows what is stored now)."""
    typed = _typed_label(run_id, name, tags, notes)
    fields = ("name", "tags", "notes")
    edited = [f for f in fields if getattr(typed, f) != getattr(drawn, f)]
    if "name" in edited:
        _not_another_runs_tag(workspace, run_id, typed.name)
    with workspace._write() as conn:
        current = _current_label(conn, run_id)
        clashes = [f for f in edited if getattr(current, f) not in (getattr(drawn, f), getattr(typed, f))]
        if clashes:
            raise RunLabelConflictError(
                f"this run's {' and '.join(clashes)} changed in another tab or session since this form was drawn; "
                "nothing was saved. What is stored now is shown below: copy what you typed, then Save again to "
                "replace it")
        return _store(conn, RunLabel(run_id, *(getattr(typed if f in edited else current, f) for f in fields)))


def _not_another_runs_tag(workspace, run_id: str, name: str) -> None:
    """Refuse a name ending in the tag that tells runs of one name apart (`` · `` and the last 6 characters of a
    run id) of another run: probe 49 named a run "alpha · 1204fd" after run 1204fd's label, and every picker, legend
    and chart then pointed at the wrong run by it."""
    head, dot, tag = name.rpartition(" · ")
    if dot and head and any(other.id.endswith(tag) and other.id != run_id for other in workspace.list_runs()):
        raise WorkspaceError(f"a run name cannot end in \" · {tag}\": that is how the pages tell apart runs of one "
                             f"name, and it is the end of another run's id; name it without")


def _without_invisible(text: str, what: str) -> str:
    """``text`` unless it holds a character that shows as nothing or reorders its neighbours, as the pages' one rule
    (:func:`..data.markup.visible_text`) escapes them (a bidirectional control, a zero-width space; the joiner of an
    emoji stays): probe 49's U+202E reversed the name in its own text box, while every other view showed it
    escaped."""
    shown = visible_text(text)
    if shown != text:
        raise WorkspaceError(f"{what} cannot hold a character that shows as nothing or reorders the text around it "
                             f"(it reads {shown} with each shown as its code); type it without")
    return text


def _typed_label(run_id: str, name, tags, notes) -> RunLabel:
    """The values as they are stored (stripped, whitespace collapsed, tags deduplicated), each checked; a None
    stays "" (unused by the callers)."""
    if name is not None:
        name = _without_invisible(" ".join(_without_controls(str(name), "a run name").split()), "a run name")
        if len(name) > MAX_NAME:
            raise WorkspaceError(f"a run name is at most {MAX_NAME} characters, got {len(name)}")
    clean_tags = () if tags is None else _clean_tags(tags)
    if notes is not None:
        notes = _without_controls(str(notes), "run notes").strip()
        if len(notes) > MAX_NOTES:
            raise WorkspaceError(f"run notes are at most {MAX_NOTES} characters, got {len(notes)}")
    return RunLabel(run_id, name or "", clean_tags, notes or "")


def _current_label(conn, run_id: str) -> RunLabel:
    _ensure_table(conn)
    if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
        raise NotFoundError(f"no run {run_id!r} in the workspace")
    row = conn.execute("SELECT * FROM run_labels WHERE run_id = ?", (run_id,)).fetchone()
    return _label(row) if row is not None else RunLabel(run_id, "", (), "")


def _store(conn, label: RunLabel) -> RunLabel:
    conn.execute("INSERT INTO run_labels (run_id, name, tags, notes, updated_at) VALUES (?, ?, ?, ?, ?) "
                 "ON CONFLICT(run_id) DO UPDATE SET name = excluded.name, tags = excluded.tags, "
                 "notes = excluded.notes, updated_at = excluded.updated_at",
                 (label.run_id, label.name, dumps(list(label.tags), "run tags"), label.notes, time.time()))
    return label


def run_labels(workspace) -> dict[str, RunLabel]:
    """Every labelled run's label, by run id (runs without one are absent)."""
    with workspace._read() as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_labels'").fetchone() is None:
            return {}  # nothing labelled yet in this workspace
        rows = conn.execute("SELECT * FROM run_labels").fetchall()
    return {row["run_id"]: _label(row) for row in rows}


def display_name(run, labels: dict[str, RunLabel]) -> str:
    """The name to show for ``run`` (a RunRecord): the user's name when it has one, else the name it started as."""
    label = labels.get(run.id)
    return label.name if label is not None and label.name else run.name


def run_name(workspace, run_id: str) -> str | None:
    """:func:`display_name` of the run ``run_id`` of ``workspace``; None when the workspace no longer holds it. Train's
    title and the sidebar name a run by it, as Runs does (a walkthrough read three names for one run)."""
    try:
        run = workspace.get_run(run_id)
    except NotFoundError:
        return None
    return display_name(run, run_labels(workspace)) or None


def download_stem(run, labels: dict[str, RunLabel]) -> str:
    """The start of a download's file name for ``run``: its id, after the name a user gave it (letters, digits,
    ``.``, ``_`` and ``-`` of it, at most 40), so a zip of a renamed run says which run it came from (a walkthrough
    could not tell two renamed runs' zips apart)."""
    label = labels.get(run.id)
    given = download_name_part(label.name) if label and label.name else ""
    return f"{given}-{run.id}" if given else run.id


def distinct_labels(names: Mapping[str, str]) -> dict[str, str]:
    """One label per run id, no two alike: a run's name, followed by the end of its id where names repeat, and by
    its whole id where even that repeats (a probe renamed a run to "tiny · phased · 2ea64a", another run's label:
    the table showed two alike and the charts, keyed by label, drew only one of them)."""
    counts = Counter(names.values())
    labels = {run_id: name if counts[name] == 1 else f"{name} · {run_id[-6:]}" for run_id, name in names.items()}
    for attempt in range(3):
        counts = Counter(labels.values())
        if all(n == 1 for n in counts.values()):
            break
        for position, (run_id, label) in enumerate(list(labels.items())):
            if counts[label] > 1:  # a name built to match another run's id: then its place in the list too
                labels[run_id] = f"{names[run_id]} · {run_id}" + (f" #{position + 1}" if attempt else "")
    return labels


def _label(row) -> RunLabel:
    """A stored label; a cell edited by hand into something else reads as no name, tags or notes (a damaged tags
    cell broke every run picker, which all show the runs' names)."""
    try:
        tags = json.loads(row["tags"]) if isinstance(row["tags"], str) else None
    except ValueError:
        tags = None
    return RunLabel(run_id=row["run_id"], name=row["name"] if isinstance(row["name"], str) else "",
                    tags=tuple(tag for tag in tags if isinstance(tag, str)) if isinstance(tags, list) else (),
                    notes=row["notes"] if isinstance(row["notes"], str) else "")
