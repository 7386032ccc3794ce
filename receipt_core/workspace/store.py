"""The workspace: one folder with an SQLite database (documents, annotations, runs, run events) and images.

Layout::

    <home>/workspace.sqlite3     documents (with receipt status), annotation history, runs, run events (WAL mode)
    <home>/images/<sha256>.<ext> uploaded/imported images, named by the SHA-256 of their bytes
    <home>/runs/<run id>/        a run's checkpoint folder
    <home>/uploads-in-progress/  one journal per upload being read, kept when it stopped part-way (upload_journal)

:class:`Workspace` is the one object callers use. Its parts live beside this module: the database and its
crash-safety rules in :mod:`.database`, documents in :mod:`.documents`, their image files in :mod:`.images`,
labels, suggestions, the "reviewed" mark and the undo history in :mod:`.annotations`, runs and their events in
:mod:`.runs`, and what a user-typed dataset name may be in :mod:`.names`. Their public names are re-exported
here, so ``from receipt_core.workspace.store import …`` keeps working.
"""

from __future__ import annotations

import os
from pathlib import Path

from .annotations import AnnotationStore, ReceiptChangedError
from .history import ANY_ACTION, HISTORY_KINDS, HistoryEntry, Undone
from .database import BUSY_TIMEOUT_MS, DATABASE_NAME, OCR_CACHE_FOLDER, SCHEMA_VERSION, NotFoundError, WorkspaceError
from .documents import DocumentStore
from .summaries import DatasetSummary, DocumentSummary
from .images import IMAGE_GRACE_S
from .names import MAX_DATASET_NAME, check_dataset_name, path_inside
from .runs import LIVE_STATUSES, RUN_STATUSES, RunEvent, RunRecord, RunStore

HOME_ENV = "RECEIPT_STUDIO_HOME"

__all__ = ["ANY_ACTION", "BUSY_TIMEOUT_MS", "DATABASE_NAME", "HISTORY_KINDS", "HOME_ENV", "HistoryEntry",
           "IMAGE_GRACE_S", "Undone", "LIVE_STATUSES", "MAX_DATASET_NAME",
           "RUN_STATUSES", "SCHEMA_VERSION", "DatasetSummary", "DocumentSummary", "NotFoundError", "RunEvent",
           "ReceiptChangedError", "RunRecord", "Workspace", "WorkspaceError", "check_dataset_name", "path_inside"]


class Workspace(AnnotationStore, DocumentStore, RunStore):
    """A workspace folder; cheap to construct, safe to share between threads (it holds no connection)."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.database = self.home / DATABASE_NAME
        self.images_dir = self.home / "images"
        self.runs_dir = self.home / "runs"
        self.ocr_cache_dir = self.home / OCR_CACHE_FOLDER  # made when first used
        for folder in (self.home, self.images_dir, self.runs_dir):
            if folder.exists() and not folder.is_dir():
                raise WorkspaceError(f"the workspace folder {folder} is a file, not a folder; point "
                                     f"{HOME_ENV} (or --workspace) at a folder")
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:  # /proc exists but its images/ cannot be made: not "cannot create /proc"
                raise WorkspaceError(f"cannot use {self.home} as the workspace folder: making {folder} failed "
                                     f"({error.strerror or error}); point {HOME_ENV} (or --workspace) at a folder "
                                     "you can write to") from None
        self._create_schema()

    @classmethod
    def open(cls, home: Path | None = None) -> "Workspace":
        """The workspace at ``home``, else ``$RECEIPT_STUDIO_HOME``, else ``./workspace``."""
        return cls(home_folder(home))

    @classmethod
    def open_existing(cls, home: Path | None = None) -> "Workspace":
        """As :meth:`open`, for a command that reads a workspace: one that was never made (a mistyped
        ``--workspace``) is refused instead of created empty."""
        workspace_home = home_folder(home)
        if not (workspace_home / DATABASE_NAME).is_file():
            where = "--workspace" if home is not None else (f"{HOME_ENV}" if os.environ.get(HOME_ENV) else
                                                            f"the default ./workspace ({HOME_ENV} is not set)")
            if workspace_home.exists() and not workspace_home.is_dir():  # probe 48's /etc/passwd read "no workspace"
                raise WorkspaceError(f"{workspace_home} is a file, not a folder, so it holds no workspace; check "
                                     f"{where}")
            raise WorkspaceError(f"there is no workspace at {workspace_home} (no {DATABASE_NAME} in it); check "
                                 f"{where}, or import a dataset there first")
        return cls(workspace_home)


def home_folder(home: Path | None) -> Path:
    """``home``, else ``$RECEIPT_STUDIO_HOME``, else ``./workspace``."""
    return Path(home) if home is not None else Path(os.environ.get(HOME_ENV) or "workspace")
