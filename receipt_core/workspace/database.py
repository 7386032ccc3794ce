"""The workspace database: one SQLite file, a fresh connection per call, one ``BEGIN IMMEDIATE`` per write.

Safety rules, because Streamlit calls in from many threads and a demo server can be killed at any moment:

* every call opens its own connection and closes it, so no connection is shared between threads;
* every write is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock up front, so concurrent writers
  queue on ``busy_timeout`` instead of failing with "database is locked" when a read lock cannot be upgraded;
  a crash mid-write leaves the previous state, never half a document;
* WAL with ``synchronous=NORMAL``: a committed write survives the process being killed (SIGKILL); only an OS
  crash or power cut can lose the last commits, never corrupt the database.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

DATABASE_NAME = "workspace.sqlite3"
OCR_CACHE_FOLDER = "ocr-cache"  # the workspace's OCR results by image hash and settings (ocr/cache.py)
MODELS_FOLDER = "models"  # a user's backbone folders (a downloaded LayoutLM, `pretrain --out`), read by Train
# 2: receipt status columns and the annotation history (added to a version-1 file on open); 3: label_counts keep
# the words nobody labelled apart (they were counted as OTHER), recounted on open
SCHEMA_VERSION = 3
BUSY_TIMEOUT_MS = 30_000

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
    updated_at REAL NOT NULL,
    reviewed INTEGER NOT NULL DEFAULT 0,
    label_status TEXT NOT NULL DEFAULT 'unlabelled',
    labelled_words INTEGER NOT NULL DEFAULT 0,
    suggested_words INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS documents_dataset ON documents(dataset);
CREATE TABLE IF NOT EXISTS annotation_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action INTEGER NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    word_index INTEGER,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS annotation_history_action ON annotation_history(action);
CREATE INDEX IF NOT EXISTS annotation_history_doc ON annotation_history(doc_id, action);
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

# Columns of ``documents`` added after schema version 1: a version-1 database gets them when it is opened, and
# :func:`_backfill_status` fills them from each document's words.
_ADDED_DOCUMENT_COLUMNS = {
    "reviewed": "INTEGER NOT NULL DEFAULT 0",
    "label_status": "TEXT NOT NULL DEFAULT 'unlabelled'",
    "labelled_words": "INTEGER NOT NULL DEFAULT 0",
    "suggested_words": "INTEGER NOT NULL DEFAULT 0",
}


class WorkspaceError(RuntimeError):
    """A workspace request that cannot be served; the message says which and why."""


class NotFoundError(WorkspaceError, LookupError):
    """A document, dataset or run id that is not in the workspace."""


class DamagedRecordError(WorkspaceError):
    """A row of the workspace database that does not read back (edited by hand, a disk fault); ``record_id`` names
    it, so that one row can be deleted while the others are used."""

    def __init__(self, record_id: str, message: str) -> None:
        super().__init__(message)
        self.record_id = record_id


class Database:
    """The SQLite file at ``database``; holds no connection, so one instance is safe to share between threads."""

    database: Path
    home: Path

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            with self._said_plainly():
                yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on a fresh connection: committed on success, rolled back on any error."""
        conn = self._connect()
        try:
            with self._said_plainly():
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
        finally:
            conn.close()

    @contextlib.contextmanager
    def _said_plainly(self) -> Iterator[None]:
        """A database file that is damaged, or that this process may not write, as a WorkspaceError saying what
        to do; before, the CLI said "unexpected DatabaseError: file is not a database" (exit 1) and every page of
        the app showed Streamlit's redacted error (a probe)."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            text, code = str(error), (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF  # primary of extended
            if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT) or "not a database" in text \
                    or "malformed" in text:
                raise WorkspaceError(f"the workspace database {self.database} is damaged ({text}): restore it from "
                                     "a backup, or move it aside to start an empty workspace in that folder") from None
            # CANTOPEN: a read-only mount, where SQLite cannot make its WAL files (a probe: "unexpected
            # OperationalError: unable to open database file" on a read-only tmpfs)
            if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN) or "readonly" in text:
                raise WorkspaceError(f"the workspace {self.home} cannot be written ({text}): every command and the "
                                     "app write to its database, even to read it; make the folder and "
                                     f"{DATABASE_NAME} writable (a read-only disk or mount cannot hold a workspace), "
                                     "or copy the workspace somewhere writable") from None
            # BUSY after busy_timeout: another process held a write lock all along (a probe's open transaction
            # made every command say "unexpected OperationalError: database is locked", exit 1, as for a bug)
            if code == sqlite3.SQLITE_BUSY or "database is locked" in text:
                raise WorkspaceError(f"the workspace database {self.database} stayed locked by another process for "
                                     f"{BUSY_TIMEOUT_MS / 1000:g} s ({text}): wait for it (a long import or a run "
                                     "saving), or stop the process that holds it, then try again") from None
            raise

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.OperationalError as error:
            raise WorkspaceError(f"cannot open the workspace database {self.database}: {error}") from None
        conn.row_factory = sqlite3.Row
        try:
            with self._said_plainly():
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self) -> None:
        conn = self._connect()
        try:
            with self._said_plainly():
                self._create_tables(conn)
        finally:
            conn.close()

    def _create_tables(self, conn: sqlite3.Connection) -> None:
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
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(documents)")}
        missing = [name for name in _ADDED_DOCUMENT_COLUMNS if name not in columns]
        for name in missing:
            conn.execute(f"ALTER TABLE documents ADD COLUMN {name} {_ADDED_DOCUMENT_COLUMNS[name]}")
        if missing:
            _backfill_status(conn)
        if version < 3:
            _recount_labels(conn)
        conn.execute("CREATE INDEX IF NOT EXISTS documents_status ON documents(dataset, reviewed, label_status)")
        # Predict finds a photo's workspace receipts by its hash, and the image store's sweep lists the hashes in use
        conn.execute("CREATE INDEX IF NOT EXISTS documents_image ON documents(image_sha256)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.commit()

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
                code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
                if code == sqlite3.SQLITE_READONLY:
                    raise  # said plainly by the caller
                if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or time.monotonic() > deadline:
                    raise WorkspaceError(f"cannot open the workspace database {self.database}: {error}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"``, or the problems it found, one per line."""
        with self._read() as conn:
            return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))


def _backfill_status(conn: sqlite3.Connection) -> None:
    """Fill the status columns of documents stored before they existed, from each document's words (files
    written before provenance load with the rule in :mod:`receipt_core.data.document`)."""
    from ..data.document import Document
    from ..data.review import receipt_status

    rows = conn.execute("SELECT id, json FROM documents").fetchall()
    for row in rows:
        try:
            doc = Document.from_json(json.loads(row["json"]))
        except ValueError:
            continue  # left unlabelled; get_document reports the problem when the document is opened
        conn.execute("UPDATE documents SET label_status = ?, labelled_words = ?, suggested_words = ? WHERE id = ?",
                     (receipt_status(doc), doc.labelled_words, doc.suggested_words, row["id"]))


def _recount_labels(conn: sqlite3.Connection) -> None:
    """The label_counts of documents stored before schema 3, counted again from their words."""
    from ..data.document import Document

    for row in conn.execute("SELECT id, json FROM documents").fetchall():
        try:
            doc = Document.from_json(json.loads(row["json"]))
        except ValueError:
            continue  # get_document reports the problem when the document is opened
        conn.execute("UPDATE documents SET label_counts = ? WHERE id = ?",
                     (json.dumps(doc.label_counts(), sort_keys=True), row["id"]))


def dumps(value: Any, what: str) -> str:
    """Strict JSON for a database column (no NaN or Infinity); WorkspaceError naming ``what`` otherwise."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise WorkspaceError(f"{what} cannot be stored as JSON: {error}") from None
