"""Documents and images of the workspace: documents in the database, images as files named by content hash.

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
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

from ..data.document import Document
from ..data.files import atomic_write
from ..data.schema import DEFAULT_SCHEMA, LabelSchema
from .database import Database, NotFoundError, WorkspaceError, dumps
from .names import check_dataset_name

IMAGE_GRACE_S = 3600.0  # an unreferenced image younger than this may belong to a document not saved yet

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


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


class DocumentStore(Database):
    """The documents and images half of :class:`~receipt_core.workspace.store.Workspace`."""

    images_dir: Path

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
        """Insert or replace documents into ``dataset`` in one transaction; returns how many.

        The name must pass :func:`~receipt_core.workspace.names.check_dataset_name`, and every document an id.
        """
        dataset = check_dataset_name(dataset)
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


def _document_row(doc: Document, dataset: str, now: float) -> tuple:
    if not isinstance(doc.id, str) or not doc.id.strip():
        raise WorkspaceError(f"a document needs a non-empty id, got {doc.id!r}")
    for side in (doc.width, doc.height):
        if isinstance(side, bool) or not isinstance(side, int) or not 0 < side < 2 ** 31:
            raise WorkspaceError(f"document {doc.id!r}: page size {doc.width!r}x{doc.height!r} is not a pixel size")
    return (doc.id, dataset, dumps(doc.to_json(), f"document {doc.id!r}"), len(doc.words), doc.width, doc.height,
            doc.image_sha256, doc.source, json.dumps(doc.label_counts(), sort_keys=True), now)
