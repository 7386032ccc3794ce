"""The workspace: one folder with an SQLite database (documents, annotations, runs, run events) and images.

Layout::

    <home>/workspace.sqlite3     documents, runs, run events (WAL mode)
    <home>/images/<sha256>.<ext> uploaded/imported images, named by the SHA-256 of their bytes
    <home>/runs/<run id>/        a run's checkpoint folder

Safety rules, because Streamlit calls in from many threads and a demo server can be killed at any moment:

* every call opens its own connection and closes it, so no connection is shared between threads;
* every write is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock up front, so concurrent writers
  queue on ``busy_timeout`` instead of failing with "database is locked" when a read lock cannot be upgraded;
  a crash mid-write leaves the previous state, never half a document;
* WAL with ``synchronous=NORMAL``: a committed write survives the process being killed (SIGKILL); only an OS
  crash or power cut can lose the last commits, never corrupt the database;
* images are written to a temporary file, fsynced and renamed, and named by content hash, never by the
  uploaded name;
* deleting documents removes the images no document refers to any more, once they are older than
  ``IMAGE_GRACE_S``: an upload stores its image before OCR saves its document, and storing an image that is
  already there refreshes its age, so an image whose document is still on its way is never taken.
"""

from __future__ import annotations

import contextlib
import hashlib
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
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..data.document import Document
from ..data.files import atomic_write
from ..data.schema import DEFAULT_SCHEMA, LabelSchema

HOME_ENV = "RECEIPT_STUDIO_HOME"
DATABASE_NAME = "workspace.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
RUN_STATUSES = ("running", "paused", "finished", "stopped", "failed", "interrupted")
LIVE_STATUSES = ("running", "paused")
IMAGE_GRACE_S = 3600.0  # an unreferenced image younger than this may belong to a document not saved yet

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")

_TABLES = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    dataset TEXT NOT NULL,
    json TEXT NOT NULL,
    words INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    image_sha256 TEXT,
    source TEXT NOT NULL,
    label_counts TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_dataset ON documents(dataset);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    pid INTEGER,
    process_started REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS run_events (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""


class WorkspaceError(RuntimeError):
    """A workspace request that cannot be served; the message says which and why."""


class NotFoundError(WorkspaceError, LookupError):
    """A document, dataset or run id that is not in the workspace."""


@dataclass(frozen=True)
class DocumentSummary:
    id: str
    dataset: str
    words: int
    width: int
    height: int
    image_sha256: str | None
    source: str
    label_counts: Mapping[str, int]


@dataclass(frozen=True)
class DatasetSummary:
    name: str
    documents: int
    words: int
    label_counts: Mapping[str, int]


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


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    seq: int
    kind: str
    payload: Mapping[str, Any]
    created_at: float


class Workspace:
    """A workspace folder; cheap to construct, safe to share between threads (it holds no connection)."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.database = self.home / DATABASE_NAME
        self.images_dir = self.home / "images"
        self.runs_dir = self.home / "runs"
        try:
            for folder in (self.home, self.images_dir, self.runs_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WorkspaceError(f"cannot create the workspace folder {self.home}: {error.strerror}") from None
        self._create_schema()

    @classmethod
    def open(cls, home: Path | None = None) -> "Workspace":
        """The workspace at ``home``, else ``$RECEIPT_STUDIO_HOME``, else ``./workspace``."""
        if home is None:
            home = Path(os.environ.get(HOME_ENV) or "workspace")
        return cls(home)

    # --- connections ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on a fresh connection: committed on success, rolled back on any error."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.OperationalError as error:
            raise WorkspaceError(f"cannot open the workspace database {self.database}: {error}") from None
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _create_schema(self) -> None:
        conn = self._connect()
        try:
            mode = self._switch_to_wal(conn)
            if mode.lower() != "wal":
                raise WorkspaceError(f"the workspace database {self.database} cannot use WAL mode (got {mode}); "
                                     f"put the workspace on a local disk")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise WorkspaceError(f"the workspace {self.home} was written by a newer version (schema {version}, "
                                     f"this code knows {SCHEMA_VERSION}); upgrade or use another workspace")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _TABLES.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.commit()
        finally:
            conn.close()

    def _switch_to_wal(self, conn: sqlite3.Connection) -> str:
        """``PRAGMA journal_mode = WAL``, retried while another connection holds the lock.

        On a brand-new database the switch needs an exclusive lock and SQLite answers "database is locked" at once,
        without waiting on ``busy_timeout``, when another thread or process is opening the same fresh workspace.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay = 0.005
        while True:
            try:
                return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as error:
                busy = getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise WorkspaceError(f"cannot open the workspace database {self.database}: {error}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"``, or the problems it found, one per line."""
        with self._read() as conn:
            return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))

    # --- images -----------------------------------------------------------------------------------------

    def put_image(self, data: bytes, suffix: str) -> str:
        """Store image bytes under their SHA-256 (atomically, once); returns the hash."""
        if not data:
            raise WorkspaceError("refusing to store an empty image (0 bytes)")
        suffix = suffix.lower() if suffix.startswith(".") else f".{suffix.lower()}"
        if not _SUFFIX.match(suffix):
            raise WorkspaceError(f"image suffix {suffix!r} is not a plain extension such as .png or .jpg")
        sha = hashlib.sha256(data).hexdigest()
        existing = self.image_path(sha)
        if existing is not None:
            with contextlib.suppress(FileNotFoundError):  # pruned just now: the file is written again below
                os.utime(existing)  # young again: a prune running before its document is saved leaves it
                return sha
        atomic_write(self.images_dir / f"{sha}{suffix}", data)
        return sha

    def image_path(self, sha: str) -> Path | None:
        """The stored image file for a hash, or None. Anything but a 64-hex hash is simply not found."""
        if not isinstance(sha, str) or not _SHA256.match(sha):
            return None
        for candidate in self.images_dir.glob(f"{sha}.*"):
            if candidate.is_file():
                return candidate
        return None

    def prune_images(self, grace_s: float = IMAGE_GRACE_S) -> list[str]:
        """Delete the stored images no document refers to, and the temporary files of interrupted image
        writes, that are older than ``grace_s`` seconds; returns the file names deleted."""
        with self._read() as conn:
            referenced = {row[0] for row in conn.execute(
                "SELECT DISTINCT image_sha256 FROM documents WHERE image_sha256 IS NOT NULL")}
        cutoff = time.time() - grace_s
        deleted = []
        for path in sorted(self.images_dir.iterdir()):
            name = path.name
            sha = name.split(".", 1)[0]
            interrupted_write = name.startswith(".") and name.endswith(".tmp")
            orphan = _SHA256.match(sha) is not None and sha not in referenced
            if not (interrupted_write or orphan) or not path.is_file():
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    deleted.append(name)
        return deleted

    # --- documents --------------------------------------------------------------------------------------

    def save_documents(self, dataset: str, docs: Iterable[Document]) -> int:
        """Insert or replace documents into ``dataset`` in one transaction; returns how many."""
        dataset = _check_dataset_name(dataset)
        now = time.time()
        rows = [_document_row(doc, dataset, now) for doc in docs]  # serialise before taking the write lock
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO documents (id, dataset, json, words, width, height, image_sha256, source, label_counts,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "dataset = excluded.dataset, json = excluded.json, words = excluded.words, width = excluded.width, "
                "height = excluded.height, image_sha256 = excluded.image_sha256, source = excluded.source, "
                "label_counts = excluded.label_counts, updated_at = excluded.updated_at", rows)
        return len(rows)

    def get_document(self, doc_id: str) -> Document:
        with self._read() as conn:
            row = conn.execute("SELECT json FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no document {doc_id!r} in the workspace")
        return Document.from_json(json.loads(row["json"]))

    def load_documents(self, dataset: str | None = None) -> list[Document]:
        """Documents in insertion order, of one dataset or all."""
        query, args = "SELECT json FROM documents", ()
        if dataset is not None:
            query, args = query + " WHERE dataset = ?", (dataset,)
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY rowid", args).fetchall()
        return [Document.from_json(json.loads(row["json"])) for row in rows]

    def list_documents(self, dataset: str | None = None) -> list[DocumentSummary]:
        query, args = ("SELECT id, dataset, words, width, height, image_sha256, source, label_counts "
                       "FROM documents"), ()
        if dataset is not None:
            query, args = query + " WHERE dataset = ?", (dataset,)
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY rowid", args).fetchall()
        return [DocumentSummary(id=r["id"], dataset=r["dataset"], words=r["words"], width=r["width"],
                                height=r["height"], image_sha256=r["image_sha256"], source=r["source"],
                                label_counts=MappingProxyType(json.loads(r["label_counts"]))) for r in rows]

    def update_word(self, doc_id: str, index: int, label: str, quantity_value: float | None = None,
                    schema: LabelSchema = DEFAULT_SCHEMA) -> Document:
        """Relabel one word (a field, or ``QUANTITY``) in one transaction; returns the saved document.

        Read, change and write happen under one write lock, so two annotators editing different words of
        the same document never overwrite each other's change.
        """
        if label not in schema.annotation_labels:
            raise WorkspaceError(f"unknown label {label!r}; choose one of {', '.join(schema.annotation_labels)}")
        with self._write() as conn:
            row = conn.execute("SELECT dataset, json FROM documents WHERE id = ?", (doc_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no document {doc_id!r} in the workspace")
            doc = Document.from_json(json.loads(row["json"]))
            if not 0 <= index < len(doc.words):
                raise WorkspaceError(f"document {doc_id!r} has {len(doc.words)} words; there is no word {index}")
            doc = doc.relabel(index, label, quantity_value)
            values = _document_row(doc, row["dataset"], time.time())
            conn.execute("UPDATE documents SET json = ?, label_counts = ?, updated_at = ? WHERE id = ?",
                         (values[2], values[8], values[9], doc_id))
        return doc

    def replace_document(self, doc: Document) -> None:
        """Overwrite an existing document (same id), keeping its dataset."""
        with self._write() as conn:
            row = conn.execute("SELECT dataset FROM documents WHERE id = ?", (doc.id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no document {doc.id!r} in the workspace")
            values = _document_row(doc, row["dataset"], time.time())
            conn.execute("UPDATE documents SET json = ?, words = ?, width = ?, height = ?, image_sha256 = ?, "
                         "source = ?, label_counts = ?, updated_at = ? WHERE id = ?", values[2:] + (doc.id,))

    def delete_document(self, doc_id: str) -> None:
        """Delete a document, and the images nothing refers to any more (see ``prune_images``)."""
        with self._write() as conn:
            if conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount == 0:
                raise NotFoundError(f"no document {doc_id!r} in the workspace")
        self.prune_images()

    def delete_dataset(self, name: str) -> int:
        """Delete every document of a dataset, and the images nothing refers to any more (an image another
        document shares stays; see ``prune_images``); returns how many documents."""
        with self._write() as conn:
            deleted = conn.execute("DELETE FROM documents WHERE dataset = ?", (name,)).rowcount
        if deleted == 0:
            raise NotFoundError(f"no dataset {name!r} in the workspace")
        self.prune_images()
        return deleted

    def datasets(self) -> list[DatasetSummary]:
        with self._read() as conn:
            rows = conn.execute("SELECT dataset, words, label_counts FROM documents ORDER BY rowid").fetchall()
        summaries: dict[str, tuple[int, int, dict[str, int]]] = {}
        for row in rows:
            documents, words, counts = summaries.get(row["dataset"], (0, 0, {}))
            for label, n in json.loads(row["label_counts"]).items():
                counts[label] = counts.get(label, 0) + n
            summaries[row["dataset"]] = (documents + 1, words + row["words"], counts)
        return [DatasetSummary(name=name, documents=d, words=w, label_counts=MappingProxyType(dict(sorted(c.items()))))
                for name, (d, w, c) in sorted(summaries.items())]

    # --- runs -------------------------------------------------------------------------------------------

    def create_run(self, name: str, config: Mapping[str, Any]) -> str:
        """Record a new run as "running", owned by this process; returns its id (also its folder name)."""
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
        now = time.time()
        pid, started = _this_process()
        with self._write() as conn:
            conn.execute("INSERT INTO runs (id, name, config, status, summary, pid, process_started, created_at, "
                         "updated_at) VALUES (?, ?, ?, 'running', '{}', ?, ?, ?, ?)",
                         (run_id, str(name), _dumps(config, "run config"), pid, started, now, now))
        return run_id

    def run_dir(self, run_id: str) -> Path:
        """The run's checkpoint folder (created on first use)."""
        self.get_run(run_id)
        folder = self.runs_dir / run_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def append_run_event(self, run_id: str, kind: str, payload: Mapping[str, Any]) -> int:
        """Append an event to a run's log; returns its sequence number (1, 2, … per run)."""
        text = _dumps(payload, f"{kind} event")
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
        return [RunEvent(run_id=r["run_id"], seq=r["seq"], kind=r["kind"],
                         payload=MappingProxyType(json.loads(r["payload"])), created_at=r["created_at"])
                for r in rows]

    def set_run_status(self, run_id: str, status: str, summary: Mapping[str, Any] | None = None) -> None:
        """Change a run's status (and replace its summary when given). Going live makes this process the owner."""
        if status not in RUN_STATUSES:
            raise WorkspaceError(f"unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}")
        text = None if summary is None else _dumps(summary, "run summary")
        pid, started = _this_process() if status in LIVE_STATUSES else (None, None)
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
        """Every run, newest first."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM runs ORDER BY created_at DESC, id DESC").fetchall()
        return [_run_record(row) for row in rows]

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its events and its checkpoint folder. A run still live in some process is refused."""
        with self._write() as conn:
            row = conn.execute("SELECT status, pid, process_started FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no run {run_id!r} in the workspace")
            if row["status"] in LIVE_STATUSES and _process_alive(row["pid"], row["process_started"]):
                raise WorkspaceError(f"run {run_id!r} is {row['status']}; stop it before deleting it")
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if _RUN_ID.match(run_id):
            shutil.rmtree(self.runs_dir / run_id, ignore_errors=True)

    def mark_interrupted_runs(self) -> list[str]:
        """Mark runs left "running"/"paused" by a process that no longer exists as "interrupted"; returns their ids.

        The app calls this on start-up: after a crash (SIGKILL, power cut) those runs have no trainer any
        more. A run owned by a live process (this one included) is left alone.
        """
        marked = []
        with self._write() as conn:
            rows = conn.execute("SELECT id, pid, process_started FROM runs WHERE status IN ('running', 'paused')")
            for row in rows.fetchall():
                if not _process_alive(row["pid"], row["process_started"]):
                    conn.execute("UPDATE runs SET status = 'interrupted', updated_at = ? WHERE id = ?",
                                 (time.time(), row["id"]))
                    marked.append(row["id"])
        return marked


def _check_dataset_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise WorkspaceError(f"dataset name must be 1-100 characters, got {name!r}")
    return name.strip()


def _document_row(doc: Document, dataset: str, now: float) -> tuple:
    return (doc.id, dataset, _dumps(doc.to_json(), f"document {doc.id!r}"), len(doc.words), doc.width, doc.height,
            doc.image_sha256, doc.source, json.dumps(doc.label_counts(), sort_keys=True), now)


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise WorkspaceError(f"{what} cannot be stored as JSON: {error}") from None


def _run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(id=row["id"], name=row["name"], status=row["status"],
                     config=MappingProxyType(json.loads(row["config"])),
                     summary=MappingProxyType(json.loads(row["summary"])),
                     created_at=row["created_at"], updated_at=row["updated_at"], pid=row["pid"])


def _this_process() -> tuple[int, float | None]:
    return os.getpid(), _process_start_time(os.getpid())


def _process_start_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def _process_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process that owned a run still runs; the start time guards against a reused pid."""
    if pid is None:
        return False
    now_started = _process_start_time(pid)
    if now_started is None:
        return False
    return started is None or abs(now_started - started) < 1.0
