"""Runs of the workspace: a row per training run, its event log, and its checkpoint folder ``runs/<run id>/``.

A run is owned by the process that made it live (pid plus that process's start time, so a reused pid is not
mistaken for the owner); :meth:`RunStore.mark_interrupted_runs` finds runs whose owner is gone.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from .processes import process_alive, this_process
from .database import DATABASE_NAME, Database, DamagedRecordError, NotFoundError, WorkspaceError, dumps
from ..wording import counted

RUN_STATUSES = ("running", "paused", "finished", "stopped", "failed", "interrupted")
LIVE_STATUSES = ("running", "paused")
SAVED_STATUSES = ("finished", "stopped")  # a run that ended so saved its checkpoint in its folder

MAX_STRAY_LISTED = 3  # stray entries of the runs folder named on the Runs page; the rest counted
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def is_run_id(value: object) -> bool:
    """Whether ``value`` is written as a run id is (``20261203-223135-ff99ab``), whether or not that run exists."""
    return isinstance(value, str) and _RUN_ID.match(value) is not None


def workspace_run_of(folder: Path) -> str | None:
    """The id of the workspace run whose checkpoint folder ``folder`` is (``<workspace>/runs/<run id>``, named as
    given, else where its links lead), else None: a run read by its folder's path is the same run as by its id
    (probe 31 read a run holding another run's checkpoint by its path, where its id was refused)."""
    # the name as given first, not through a link: probe 32 linked runs/B to runs/A, and B's path read as run A's;
    # then where a link outside the workspace leads (probe 33 read runs/B through /tmp/linkB as no run's)
    for candidate in (Path(os.path.normpath(Path(folder).absolute())), Path(folder).resolve()):
        runs = candidate.parent.resolve()
        if is_run_id(candidate.name) and runs.name == "runs" and (runs.parent / DATABASE_NAME).is_file():
            return candidate.name
    return None


@dataclass(frozen=True)
class RunRecord:
    id: str
    name: str
    status: str
    config: Mapping[str, Any]
    summary: Mapping[str, Any]
    created_at: float
    updated_at: float
    pid: int | None
    process_started: float | None = None  # the owning process's start time (a reused pid is not the owner)

    def live_in_another_process(self) -> bool:
        """Running or paused in a process other than this one that still runs (``train`` on the command line, or
        another server on the same workspace): only that process can pause or stop it."""
        return (self.status in LIVE_STATUSES and self.pid is not None and self.pid != os.getpid()
                and process_alive(self.pid, self.process_started))


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    seq: int
    kind: str
    payload: Mapping[str, Any]
    created_at: float


class RunStore(Database):
    """The runs half of :class:`~receipt_core.workspace.store.Workspace`."""

    runs_dir: Path

    def create_run(self, name: str, config: Mapping[str, Any]) -> str:
        """Record a new run as "running", owned by this process; returns its id (also its folder name)."""
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
        now = time.time()
        pid, started = this_process()
        with self._write() as conn:
            conn.execute("INSERT INTO runs (id, name, config, status, summary, pid, process_started, created_at, "
                         "updated_at) VALUES (?, ?, ?, 'running', '{}', ?, ?, ?, ?)",
                         (run_id, str(name), dumps(config, "run config"), pid, started, now, now))
        return run_id

    def run_dir(self, run_id: str, create: bool = True) -> Path:
        """The run's checkpoint folder (created on first use, unless ``create`` is False: a command that only reads
        must not make an empty one). Only a run of this workspace has one."""
        self.get_run(run_id)
        if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
            raise WorkspaceError(f"run id {run_id!r} is not a workspace run id; it has no folder here")
        folder = self.runs_dir / run_id
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def append_run_event(self, run_id: str, kind: str, payload: Mapping[str, Any]) -> int:
        """Append an event to a run's log; returns its sequence number (1, 2, … per run)."""
        text = dumps(payload, f"{kind} event")
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise NotFoundError(f"no run {run_id!r} in the workspace")
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM run_events WHERE run_id = ?",
                               (run_id,)).fetchone()[0]
            conn.execute("INSERT INTO run_events (run_id, seq, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                         (run_id, seq, kind, text, time.time()))
        return seq

    def run_events(self, run_id: str, after_seq: int = 0, kinds: Sequence[str] | None = None) -> list[RunEvent]:
        """A run's events with ``seq > after_seq`` in order, optionally only the given kinds."""
        query, args = "SELECT * FROM run_events WHERE run_id = ? AND seq > ?", [run_id, after_seq]
        if kinds is not None:
            kinds = list(kinds)
            query += f" AND kind IN ({', '.join('?' * len(kinds))})"
            args += kinds
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY seq", args).fetchall()
        # an event whose payload was edited into something else is left out: one such row broke the run's charts
        return [RunEvent(run_id=r["run_id"], seq=r["seq"], kind=r["kind"], payload=MappingProxyType(payload),
                         created_at=r["created_at"])
                for r in rows if (payload := _event_payload(r["payload"])) is not None]

    def drop_run_events_after(self, run_id: str, step: int) -> int:
        """Delete a run's events that carry a ``step`` greater than ``step``; returns how many.

        A resume continues from its checkpoint's step: the steps a crashed process logged after that
        checkpoint are trained (and evaluated, and reported) again, so their old events go, and every step
        keeps one point in the curves and the metrics CSV. ``failed`` events stay (why the earlier attempt
        ended), as do events without a step.
        """
        if isinstance(step, bool) or not isinstance(step, int):
            raise WorkspaceError(f"step must be a whole number, got {step!r}")
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise NotFoundError(f"no run {run_id!r} in the workspace")
            top = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE run_id = ?", (run_id,)).fetchone()[0]
            dropped = conn.execute(
                "DELETE FROM run_events WHERE run_id = ? AND json_type(payload, '$.step') = 'integer' "
                "AND json_extract(payload, '$.step') > ? AND kind != 'failed'", (run_id, step)).rowcount
            left = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE run_id = ?", (run_id,)).fetchone()[0]
            if dropped and left < top:  # sequence numbers are never reused: a reader's cursor may stand at `top`
                note = {"step": step, "status": "running",
                        "message": f"resumed from the checkpoint at step {step}; {counted(dropped, 'event')} logged "
                                   "after it by the earlier attempt were dropped"}
                conn.execute("INSERT INTO run_events (run_id, seq, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                             (run_id, top, "status", dumps(note, "status event"), time.time()))
            return dropped

    def claim_run(self, run_id: str, settings: Mapping[str, Any] | None = None) -> None:
        """Make this process the run's trainer ("running"), in one write transaction; WorkspaceError when a live
        process (this one included) already trains it. Two servers (or a server and ``train``) pressing Resume
        on one run both trained into its folder and its log (a probe: 104 steps logged twice, two "finished").
        ``settings`` (numbers a resume changed, such as ``max_minutes``) are written into the run's config in the
        same transaction: the live status read the old time budget and said "ETA 0s" for 30 s (a walkthrough).
        A value may be any JSON value (the receipts' ids a resume on other receipts records)."""
        settings = dict(settings or {})
        unknown = [key for key in settings if not re.fullmatch(r"[a-z_]+", key)]  # a JSON path is built from it
        if unknown:
            raise WorkspaceError(f"not a run setting: {unknown[0]!r}")
        pid, started = this_process()
        with self._write() as conn:
            row = conn.execute("SELECT status, pid, process_started FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no run {run_id!r} in the workspace")
            if row["status"] in LIVE_STATUSES and process_alive(row["pid"], row["process_started"]):
                where = "this process" if row["pid"] == pid else f"another process (pid {row['pid']})"
                raise WorkspaceError(f"run {run_id!r} is already {row['status']} in {where}; only one trainer may "
                                     "continue a run")
            conn.execute("UPDATE runs SET status = 'running', pid = ?, process_started = ?, updated_at = ? "
                         "WHERE id = ?", (pid, started, time.time(), run_id))
            for key, value in settings.items():
                conn.execute("UPDATE runs SET config = json_set(config, ?, json(?)) WHERE id = ?",
                             (f"$.{key}", dumps(value, f"the run setting {key}"), run_id))

    def set_run_status(self, run_id: str, status: str, summary: Mapping[str, Any] | None = None) -> None:
        """Change a run's status (and replace its summary when given). Going live makes this process the owner."""
        if status not in RUN_STATUSES:
            raise WorkspaceError(f"unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}")
        text = None if summary is None else dumps(summary, "run summary")
        pid, started = this_process() if status in LIVE_STATUSES else (None, None)
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE runs SET status = ?, summary = COALESCE(?, summary), pid = COALESCE(?, pid), "
                "process_started = COALESCE(?, process_started), updated_at = ? WHERE id = ?",
                (status, text, pid, started, time.time(), run_id)).rowcount
        if updated == 0:
            raise NotFoundError(f"no run {run_id!r} in the workspace")

    def get_run(self, run_id: str) -> RunRecord:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no run {run_id!r} in the workspace")
        return _run_record(row)

    def list_runs(self) -> list[RunRecord]:
        """Every run, newest first; a run whose record is damaged is left out (:meth:`damaged_runs` names it): one
        such row broke every page of the dashboard, whose sidebar lists the runs (a probe)."""
        return [read for read in self._read_runs() if isinstance(read, RunRecord)]

    def runs_version(self) -> tuple:
        """What a list of runs changes with: each run's id and status, and how many evaluations a live one has
        logged. One query, for a page that asks every few seconds whether to redraw (a walkthrough's Runs table
        still said "running" a minute after the run had finished, and lacked the run started since)."""
        live = ", ".join("?" for _ in LIVE_STATUSES)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id, status, CASE WHEN status IN ({live}) THEN (SELECT COUNT(*) FROM run_events AS e "
                "WHERE e.run_id = runs.id AND e.kind = 'eval') END FROM runs ORDER BY id", LIVE_STATUSES).fetchall()
        return tuple(tuple(row) for row in rows)

    def has_runs(self) -> bool:
        """Whether the workspace holds any run (one row read, not every record: Train asks every few seconds)."""
        with self._read() as conn:
            return conn.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None

    def damaged_runs(self) -> list[tuple[str, str]]:
        """(run id, what is wrong) for each run whose stored record cannot be read."""
        return [(read.record_id, str(read)) for read in self._read_runs() if isinstance(read, DamagedRunError)]

    def stray_run_folders(self, limit: int = MAX_STRAY_LISTED) -> tuple[list[str], int]:
        """The entries of the runs folder that are no run of this workspace (a run folder copied in from another
        machine, a file dropped there), by name, at most ``limit`` of them, and how many there are in all: the
        pages list only the runs recorded here, and a probe's eight folders copied in went unsaid."""
        try:  # listed before the runs are read: a run created in between is known, not stray
            entries = [entry.name for entry in os.scandir(self.runs_dir) if not entry.name.startswith(".")]
        except OSError:  # no runs folder (yet): nothing stray in it
            return [], 0
        with self._read() as conn:
            known = {row["id"] for row in conn.execute("SELECT id FROM runs")}
        names = sorted(name for name in entries if name not in known)
        return names[:limit], len(names)

    def _read_runs(self) -> list[RunRecord | DamagedRunError]:
        """Every run's record, newest first, or the error its damaged row gives."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM runs ORDER BY created_at DESC, id DESC").fetchall()
        read: list[RunRecord | DamagedRunError] = []
        for row in rows:
            try:
                read.append(_run_record(row))
            except DamagedRunError as error:
                read.append(error)
        return read

    def runs_in_other_processes(self) -> list[RunRecord]:
        """The runs training (or paused) in another live process: ``train`` on the command line, another server."""
        return [run for run in self.list_runs() if run.live_in_another_process()]

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its events and its checkpoint folder. A run still live in some process is refused."""
        with self._write() as conn:
            row = conn.execute("SELECT status, pid, process_started FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no run {run_id!r} in the workspace")
            if row["status"] in LIVE_STATUSES and process_alive(row["pid"], row["process_started"]):
                raise WorkspaceError(f"run {run_id!r} is {row['status']}; stop it before deleting it")
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if _RUN_ID.match(run_id):
            folder = self.runs_dir / run_id
            if folder.is_symlink():  # a folder linked elsewhere: the link goes, not what it points at (rmtree
                folder.unlink()  # refused it, and the link stayed behind)
            else:
                shutil.rmtree(folder, ignore_errors=True)

    def mark_interrupted_runs(self) -> list[str]:
        """Mark runs left "running"/"paused" by a process that no longer exists as "interrupted"; returns their ids.

        The app calls this on start-up: after a crash (SIGKILL, power cut) those runs have no trainer any
        more; the Runs page calls it too, for a run of the command line killed while the app was up. A run owned
        by a live process (this one included) is left alone. Writes only when there is a run to mark.
        """
        with self._read() as conn:
            rows = conn.execute("SELECT pid, process_started FROM runs WHERE status IN ('running', 'paused')")
            if all(process_alive(row["pid"], row["process_started"]) for row in rows.fetchall()):
                return []
        marked = []
        with self._write() as conn:
            rows = conn.execute("SELECT id, pid, process_started FROM runs WHERE status IN ('running', 'paused')")
            for row in rows.fetchall():
                if not process_alive(row["pid"], row["process_started"]):
                    conn.execute("UPDATE runs SET status = 'interrupted', updated_at = ? WHERE id = ?",
                                 (time.time(), row["id"]))
                    marked.append(row["id"])
        return marked


class DamagedRunError(DamagedRecordError):
    """A run's row that does not read back: left out of every run list, and named on Runs to be deleted."""


def _run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(id=row["id"], name=row["name"], status=row["status"],
                     config=MappingProxyType(_stored_object(row, "config")),
                     summary=MappingProxyType(_stored_object(row, "summary")),
                     created_at=row["created_at"], updated_at=row["updated_at"], pid=row["pid"],
                     process_started=row["process_started"])


def _event_payload(raw) -> dict | None:
    """An event row's payload, or None when it is not a JSON object (the database edited by hand)."""
    try:
        payload = json.loads(raw) if isinstance(raw, (str, bytes)) else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _stored_object(row: sqlite3.Row, column: str) -> dict:
    try:
        value = json.loads(row[column])
    except (TypeError, ValueError) as error:
        value, problem = None, str(error)
    else:
        problem = "not a JSON object"
    if not isinstance(value, dict):
        raise DamagedRunError(row["id"], f"run {row['id']!r}: its {column} in the workspace database is damaged "
                              f"({problem}); delete the run (Runs page) or restore the database from a backup")
    return value
