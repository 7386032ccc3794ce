"""Uploads being read, one small JSON file each under ``<home>/uploads-in-progress/``: Streamlit ends a page's script
when its visitor leaves the page or closes the tab, and an upload of 25 photos left at "OCR 6/25" stored 6 and never
said that 19 were not read (a probe). The journal names the files of an upload and those read; an upload that
stopped part-way is listed on the next visit, with the files to upload again, until dismissed.

An upload stopped when its page said so (:meth:`UploadJournal.stop`), or when its file was not touched for
:data:`STALE_S` (the server was stopped or killed); one that finished leaves no file.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..data.files import atomic_write

JOURNAL_FOLDER = "uploads-in-progress"
STALE_S = 300.0  # a live upload touches its file after every photo, each a few seconds of OCR
_SUFFIX = ".json"


@dataclass(frozen=True)
class JournalledUpload:
    """An upload with files left to read: stopped part-way, or still being read."""

    key: str  # its journal's name, for :func:`dismiss_upload`
    dataset: str
    names: tuple[str, ...]  # every file of the upload, as the uploader named them
    read: tuple[str, ...]  # those read (stored, or refused with a reason) before it stopped
    started_at: float  # time.time()
    refused: Mapping[str, str] = field(default_factory=dict)  # of those read, the ones not stored: name -> why
    stopped: bool = True  # False: still being read (its file touched within STALE_S, and not marked stopped)

    @property
    def unread(self) -> tuple[str, ...]:
        done = set(self.read)
        return tuple(name for name in self.names if name not in done)


def _record(dataset: str, names: Sequence[str], read: Sequence[str], refused: Mapping[str, str], started_at: float,
            stopped: bool) -> dict:
    """A journal file's JSON: the one shape :class:`UploadJournal` writes and :func:`journalled_uploads` reads."""
    return {"dataset": dataset, "names": list(names), "read": list(read), "refused": dict(refused),
            "started_at": started_at, "stopped": stopped}


class UploadJournal:
    """The journal of one upload: :meth:`begin` it, :meth:`read` each file as it is read, then :meth:`finish` (the
    file goes) or :meth:`stop` (the file stays, marked stopped)."""

    def __init__(self, path: Path, dataset: str, names: Sequence[str]) -> None:
        self.path = path
        self._record = _record(dataset, names, [], {}, time.time(), stopped=False)

    @classmethod
    def begin(cls, home: Path, dataset: str, names: Sequence[str]) -> "UploadJournal":
        journal = cls(Path(home) / JOURNAL_FOLDER / f"{secrets.token_hex(8)}{_SUFFIX}", dataset, names)
        journal._write()
        return journal

    def read(self, name: str, refused: str | None = None) -> None:
        """File ``name`` read: stored, or ``refused`` with that reason (probe 51's stopped upload counted two refused
        files as stored)."""
        self._record["read"].append(name)
        if refused is not None:
            self._record["refused"][name] = refused
        self._write()

    @property
    def read_names(self) -> tuple[str, ...]:
        return tuple(self._record["read"])

    def stop(self) -> None:
        self._record["stopped"] = True
        self._write()

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        atomic_write(self.path, json.dumps(self._record, ensure_ascii=False).encode("utf-8"))


def journalled_uploads(home: Path, now: float | None = None) -> list[JournalledUpload]:
    """Every upload of the workspace at ``home`` with files left to read, stopped or still being read, oldest
    first; a journal that cannot be read is left out (it is the app's own file, and the page must open whatever it
    holds)."""
    now = time.time() if now is None else now
    found = []
    for path in sorted((Path(home) / JOURNAL_FOLDER).glob(f"*{_SUFFIX}")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            refused = record.get("refused") or {}
            upload = JournalledUpload(path.stem, str(record["dataset"]), tuple(map(str, record["names"])),
                                   tuple(map(str, record["read"])), float(record["started_at"]),
                                   {str(k): str(v) for k, v in dict(refused).items()},
                                   record.get("stopped") is True or now - path.stat().st_mtime > STALE_S)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if upload.unread:
            found.append(upload)
    return sorted(found, key=lambda upload: upload.started_at)


def stopped_uploads(home: Path, now: float | None = None) -> list[JournalledUpload]:
    """The uploads of the workspace at ``home`` that stopped part-way, oldest first."""
    return [upload for upload in journalled_uploads(home, now) if upload.stopped]


def uploads_being_read(home: Path, dataset: str | None = None) -> list[JournalledUpload]:
    """The uploads still being read now (in another tab, or in one just left whose script stops at its next photo),
    into ``dataset`` or any: probe 51 came back to Data mid-upload and saw no trace of it, and deleted the dataset
    another tab was uploading into, unwarned."""
    return [upload for upload in journalled_uploads(home) if not upload.stopped
            and (dataset is None or upload.dataset == dataset)]


def settle_stopped_uploads(home: Path, dataset: str, names: Sequence[str]) -> None:
    """Files ``names`` read into ``dataset`` since (stored, or refused with their reasons) are no longer files a
    stopped upload into that dataset left unread; a journal left with none goes. Walkthrough 45 uploaded the one file
    a stopped upload named, and the warning still asked for it."""
    for upload in stopped_uploads(home):
        now_read = [name for name in upload.unread if name in set(names)]
        if upload.dataset != dataset or not now_read:
            continue
        path = Path(home) / JOURNAL_FOLDER / f"{upload.key}{_SUFFIX}"
        if len(now_read) == len(upload.unread):
            path.unlink(missing_ok=True)
            continue
        # still stopped, though touched now
        record = _record(upload.dataset, upload.names, [*upload.read, *now_read], upload.refused, upload.started_at,
                         stopped=True)
        atomic_write(path, json.dumps(record, ensure_ascii=False).encode("utf-8"))


def dismiss_upload(home: Path, key: str) -> None:
    """Forget a stopped upload (``key``: :attr:`JournalledUpload.key`, the app's own token, never a typed name)."""
    if key.isalnum():
        (Path(home) / JOURNAL_FOLDER / f"{key}{_SUFFIX}").unlink(missing_ok=True)
