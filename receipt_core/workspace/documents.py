"""Documents of the workspace, in the database (their images are files: :mod:`.images`).

* each document row carries its receipt status (see :mod:`receipt_core.data.review`): the "reviewed" mark a
  person sets, and the status read from its words, kept up to date on every write; summaries, counts and
  filters read them without parsing documents. A search matches the id or the source (an upload's file name);
* deleting documents removes the images no document refers to any more (:meth:`.images.ImageStore.prune_images`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Collection, Iterable, Iterator, Mapping, Sequence

from ..data.document import Document
from ..data.review import DONE, STATUSES, check_status, receipt_status
from .database import DamagedRecordError, NotFoundError, WorkspaceError, dumps
from .images import ImageStore
from .names import check_dataset_name
from .summaries import DatasetSummary, DocumentSummary, stored_count, stored_label_counts

_STATUS_SQL = f"CASE WHEN reviewed THEN '{DONE}' ELSE label_status END"
_IDS_PER_QUERY = 500  # below SQLite's limit on bound parameters


class DocumentsInAnotherDatasetError(WorkspaceError):
    """Documents asked to be stored in one dataset while their ids are in another. A document belongs to one
    dataset, so storing them would move them out of it and replace their labels: nothing is stored.
    ``elsewhere`` maps each such id to the dataset that holds it."""

    def __init__(self, dataset: str, elsewhere: Mapping[str, str]):
        self.dataset = dataset
        self.elsewhere = MappingProxyType(dict(elsewhere))
        holders = sorted(set(self.elsewhere.values()))
        example = min(self.elsewhere)
        where = ", ".join(repr(name) for name in holders[:5]) + (f" and {len(holders) - 5} more" if len(holders) > 5
                                                                 else "")
        super().__init__(
            f"{len(self.elsewhere)} of these receipts (for example {example!r}) "
            f"{'is' if len(self.elsewhere) == 1 else 'are'} already in dataset {where}; a receipt belongs to one "
            f"dataset, and storing it as {dataset!r} would move it out and replace its labels, so nothing was "
            f"stored. Store them into {holders[0]!r} to update them there, delete them from it first, or import "
            "them as copies with new ids (Data → Import's 'as copies', or `import --copies`).")


class DamagedDocumentError(DamagedRecordError):
    """A receipt's row that does not read back; it names the receipt, so the one row can be deleted and the rest of
    its dataset used (before, the error named none)."""


def stored_document(doc_id: str, text: str) -> Document:
    """A document row's JSON as a :class:`Document`; :class:`DamagedDocumentError` naming it when it does not
    parse or does not follow the native format."""
    try:
        return Document.from_json(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise DamagedDocumentError(doc_id, f"receipt {doc_id!r} in the workspace database is damaged ({reason}): "
                                           "delete it (Data and Annotate offer to), or restore the database "
                                           "from a backup") from None


class DocumentStore(ImageStore):
    """The documents half of :class:`~receipt_core.workspace.store.Workspace` (its images: :class:`ImageStore`)."""

    # --- documents --------------------------------------------------------------------------------------

    def check_dataset_name(self, name: object) -> str:
        """``name`` if this workspace can store a dataset under it: a valid name (:func:`.names.check_dataset_name`)
        that is not another stored dataset's name in other letter case. WorkspaceError otherwise. Callers check
        before any work (OCR, an import); :meth:`save_documents` checks again when it stores."""
        with self._read() as conn:
            return _checked_dataset_name(conn, name)

    def save_documents(self, dataset: str, docs: Iterable[Document]) -> int:
        """Insert or replace documents into ``dataset`` in one transaction; returns how many.

        The name must pass :func:`~receipt_core.workspace.names.check_dataset_name`, and every document an id.
        A document whose id is in another dataset is never moved: :class:`DocumentsInAnotherDatasetError` is
        raised and nothing is stored.
        """
        dataset = check_dataset_name(dataset)
        now = time.time()
        rows = [_document_row(doc, dataset, now) for doc in docs]  # serialise before taking the write lock
        with self._write() as conn:
            _upsert(conn, dataset, rows)
        return len(rows)

    def import_documents(self, dataset: str, docs: Iterable[Document], reviewed: Collection[str]) -> ReplacedReceipts:
        """:meth:`save_documents` for an import, in the same transaction: each document is done as its file says
        (its id in ``reviewed``) and its annotation history goes, since an import replaces a receipt whole (a
        probe's export, imported back over a receipt marked done since, kept the mark; Undo then took back the
        history of the receipt it replaced). Returns how many were already in ``dataset``, and how many of those the
        import left as they were, counted in that transaction: two imports of the same file at once each said they
        replaced none (a probe)."""
        dataset = check_dataset_name(dataset)
        now = time.time()
        docs = list(docs)
        rows = [_document_row(doc, dataset, now) for doc in docs]
        ids = [row[0] for row in rows]
        with self._write() as conn:
            before = _stored_contents(conn, dataset, ids)
            # a receipt that comes back as it is stays as it is, its undo history too (a walkthrough's faithful
            # Label Studio round trip cleared every receipt's history)
            same = {doc.id for doc in docs if before.get(doc.id) == (_content(doc), doc.id in reviewed)}
            changed = [row for row in rows if row[0] not in same]
            replaced = _upsert(conn, dataset, changed) + len(same)
            conn.executemany("UPDATE documents SET reviewed = ? WHERE id = ?",
                             [(int(i in reviewed), i) for i in ids if i not in same])
            conn.executemany("DELETE FROM annotation_history WHERE doc_id = ?", [(i,) for i in ids if i not in same])
        return ReplacedReceipts(replaced, len(same))

    def add_new_documents(self, dataset: str, docs: Iterable[Document]) -> dict[str, str]:
        """Store into ``dataset`` those of ``docs`` whose id the workspace does not hold, in one transaction; returns
        the others (id -> the dataset holding it), left as they are. For uploads, which checked before their OCR:
        the same photo uploaded in a second tab meanwhile must not replace the receipt (and labels) stored since."""
        dataset = check_dataset_name(dataset)
        now = time.time()
        rows = [_document_row(doc, dataset, now) for doc in docs]
        with self._write() as conn:
            held = _datasets_of(conn, [row[0] for row in rows])
            _upsert(conn, dataset, [row for row in rows if row[0] not in held])
        return held

    def datasets_of(self, ids: Iterable[str]) -> dict[str, str]:
        """The dataset of each of ``ids`` that is in the workspace (id -> dataset); ids not stored are left out."""
        with self._read() as conn:
            return _datasets_of(conn, list(ids))

    def holds_id_prefix(self, dataset: str, prefix: str) -> bool:
        """Whether ``dataset`` holds a document whose id starts with ``prefix`` (an OCR'd upload's ``ocr-``), in one
        query that stops at the first: Data asks it on every render, and listing a 10,000-receipt dataset did not."""
        with self._read() as conn:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM documents WHERE dataset = ? AND substr(id, 1, ?) = ?)",
                               (dataset, len(prefix), prefix)).fetchone()
        return bool(row[0])

    def receipts_with_image(self, image_sha256: str) -> dict[str, str]:
        """The receipts stored with this image (id -> dataset): Predict knows an uploaded photo the workspace holds
        under another id (a generated or imported receipt's)."""
        with self._read() as conn:
            rows = conn.execute("SELECT id, dataset FROM documents WHERE image_sha256 = ? ORDER BY id",
                                (image_sha256,))
            return {row[0]: row[1] for row in rows}

    def with_images(self, ids: Iterable[str]) -> set[str]:
        """The ids among ``ids`` stored with an image (an OCR'd upload or a photo dataset's receipt)."""
        ids = list(ids)
        found: set[str] = set()
        with self._read() as conn:
            for start in range(0, len(ids), _IDS_PER_QUERY):
                chunk = ids[start:start + _IDS_PER_QUERY]
                query = (f"SELECT id FROM documents WHERE image_sha256 IS NOT NULL AND image_sha256 != '' "
                         f"AND id IN ({','.join('?' * len(chunk))})")
                found.update(row[0] for row in conn.execute(query, chunk))
        return found

    def get_document(self, doc_id: str) -> Document:
        with self._read() as conn:
            row = conn.execute("SELECT json FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no document {doc_id!r} in the workspace")
        return stored_document(doc_id, row["json"])

    def load_documents(self, dataset: str | None = None) -> list[Document]:
        """Documents in insertion order, of one dataset or all."""
        query, args = "SELECT id, json FROM documents", ()
        if dataset is not None:
            query, args = query + " WHERE dataset = ?", (dataset,)
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY rowid", args).fetchall()
        return [stored_document(row["id"], row["json"]) for row in rows]

    def load_documents_of(self, datasets: Iterable[str]) -> list[Document]:
        """:meth:`load_documents` of several datasets, one after another (Train's "Also train on", as ``train
        --train A B``); a receipt id is the workspace's, so no receipt comes twice."""
        return [doc for name in datasets for doc in self.load_documents(name)]

    def list_documents_of(self, datasets: Iterable[str]) -> list[DocumentSummary]:
        """:meth:`list_documents` of several datasets, one after another."""
        return [summary for name in datasets for summary in self.list_documents(name)]

    def list_documents(self, dataset: str | None = None, status: str | None = None,
                       search: str | None = None) -> list[DocumentSummary]:
        """Summaries in insertion order, of one dataset or all; only those of ``status`` (one of
        ``receipt_core.data.review.STATUSES``) when given, and only those whose id or source (an upload's file
        name) contains ``search`` (case-insensitive) when given."""
        query, conditions, args = (f"SELECT id, dataset, words, width, height, image_sha256, source, label_counts, "
                                   f"{_STATUS_SQL} AS status, labelled_words, suggested_words FROM documents"), [], []
        if dataset is not None:
            conditions.append("dataset = ?")
            args.append(dataset)
        if status is not None:
            conditions.append(f"{_STATUS_SQL} = ?")
            args.append(check_status(status))
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY rowid", args).fetchall()
        needle = search.strip().casefold() if isinstance(search, str) else ""
        return [DocumentSummary(id=r["id"], dataset=r["dataset"], words=stored_count(r["words"]), width=r["width"],
                                height=r["height"], image_sha256=r["image_sha256"], source=r["source"],
                                label_counts=MappingProxyType(stored_label_counts(r["label_counts"])),
                                status=r["status"], labelled_words=stored_count(r["labelled_words"]),
                                suggested_words=stored_count(r["suggested_words"]))
                for r in rows if not needle or needle in r["id"].casefold() or needle in r["source"].casefold()]

    def status_counts(self, dataset: str | None = None) -> dict[str, int]:
        """Receipts per status (every status, 0 included), of one dataset or all."""
        query, args = f"SELECT {_STATUS_SQL} AS status, COUNT(*) AS n FROM documents", ()
        if dataset is not None:
            query, args = query + " WHERE dataset = ?", (dataset,)
        with self._read() as conn:
            rows = conn.execute(query + " GROUP BY status", args).fetchall()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    def replace_document(self, doc: Document) -> None:
        """Overwrite an existing document (same id), keeping its dataset."""
        with self._write() as conn:
            row = conn.execute("SELECT dataset FROM documents WHERE id = ?", (doc.id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no document {doc.id!r} in the workspace")
            write_document(conn, doc, row["dataset"])

    def delete_document(self, doc_id: str) -> None:
        """Delete a document, its OCR results unless another document shares its image, and the images nothing
        refers to any more (see ``prune_images``)."""
        with self._write() as conn:
            images = _image_hashes(conn, "id = ?", doc_id)
            if conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount == 0:
                raise NotFoundError(f"no document {doc_id!r} in the workspace")
        self.prune_images(forget=images)

    def dataset_state(self, name: str) -> tuple:
        """A value that changes whenever a receipt of dataset ``name`` is added, deleted, edited (words, labels,
        suggestions) or marked done or not: what an export prepared earlier is checked against."""
        with self._read() as conn:
            row = conn.execute("SELECT COUNT(*), MAX(updated_at), SUM(reviewed), SUM(LENGTH(json)) FROM documents "
                               "WHERE dataset = ?", (name,)).fetchone()
        return tuple(row)

    def copies_in(self, dataset: str, meta_key: str) -> dict[str, list[str]]:
        """The receipts of ``dataset`` whose meta names, under ``meta_key``, the receipt they are a copy of:
        original id -> the copies' ids, oldest first (``datasets.import_copies``)."""
        with self._read() as conn:
            rows = conn.execute("SELECT id, json_extract(json, ?) FROM documents WHERE dataset = ? AND "
                                "json_type(json, ?) = 'text' ORDER BY rowid",
                                (f"$.meta.{meta_key}", dataset, f"$.meta.{meta_key}")).fetchall()
        copies: dict[str, list[str]] = {}
        for doc_id, original in rows:
            copies.setdefault(str(original), []).append(doc_id)
        return copies

    def first_document_ids(self, dataset: str, count: int = 3) -> tuple[str, ...]:
        """The ids of the dataset's first ``count`` stored receipts (none: no such dataset). Where they are later
        says what the dataset was renamed to (the sidebar follows a rename made in another tab): all of them in one
        other dataset, as one id deleted and imported elsewhere is no rename (a probe)."""
        with self._read() as conn:
            rows = conn.execute("SELECT id FROM documents WHERE dataset = ? ORDER BY rowid LIMIT ?",
                                (dataset, count)).fetchall()
        return tuple(row[0] for row in rows)

    def rename_dataset(self, name: str, new_name: str) -> int:
        """Give dataset ``name`` the name ``new_name`` (checked as any dataset name; a change of letter case only is
        allowed); returns how many documents moved. Refused when ``new_name`` is another dataset's: datasets are not
        merged by a rename. Runs keep the name they recorded, as they keep their receipts' ids."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM documents WHERE dataset = ? LIMIT 1", (name,)).fetchone() is None:
                raise NotFoundError(f"no dataset {name!r} in the workspace")
            new_name = check_dataset_name(new_name)
            if (problem := _rename_problem(conn, name, new_name)) is not None:
                raise WorkspaceError(problem)
            return conn.execute("UPDATE documents SET dataset = ? WHERE dataset = ?", (new_name, name)).rowcount

    def rename_problem(self, name: str, new_name: str) -> str | None:
        """Why :meth:`rename_dataset` would refuse ``new_name`` (a valid dataset name) for dataset ``name``: the
        same name, or another dataset's; None when it would not. The Data page says it under the field, before the
        button (a walkthrough's rename to an existing name failed only after the click)."""
        with self._read() as conn:
            return _rename_problem(conn, name, new_name)

    def delete_dataset(self, name: str) -> int:
        """Delete every document of a dataset, their OCR results, and the images nothing refers to any more (an
        image another document shares stays, and its OCR; see ``prune_images``); returns how many documents."""
        with self._write() as conn:
            images = _image_hashes(conn, "dataset = ?", name)
            deleted = conn.execute("DELETE FROM documents WHERE dataset = ?", (name,)).rowcount
        if deleted == 0:
            raise NotFoundError(f"no dataset {name!r} in the workspace")
        self.prune_images(forget=images)
        return deleted

    def datasets(self) -> list[DatasetSummary]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT dataset, words, label_counts, {_STATUS_SQL} AS status FROM documents "
                                "ORDER BY rowid").fetchall()
        summaries: dict[str, tuple[int, int, dict[str, int], dict[str, int]]] = {}
        for row in rows:
            documents, words, counts, statuses = summaries.get(row["dataset"], (0, 0, {}, dict.fromkeys(STATUSES, 0)))
            for label, n in stored_label_counts(row["label_counts"]).items():
                counts[label] = counts.get(label, 0) + n
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
            summaries[row["dataset"]] = (documents + 1, words + stored_count(row["words"]), counts, statuses)
        return [DatasetSummary(name=name, documents=d, words=w, label_counts=MappingProxyType(dict(sorted(c.items()))),
                               status_counts=MappingProxyType(s))
                for name, (d, w, c, s) in sorted(summaries.items())]


def _image_hashes(conn, where: str, value: str) -> set[str]:
    """The image hashes of the documents ``where`` (an SQL condition with one parameter, ``value``) selects."""
    return {row[0] for row in conn.execute(
        f"SELECT DISTINCT image_sha256 FROM documents WHERE image_sha256 IS NOT NULL AND {where}", (value,))}


def _document_row(doc: Document, dataset: str, now: float) -> tuple:
    if not isinstance(doc.id, str) or not doc.id.strip():
        raise WorkspaceError(f"a document needs a non-empty id, got {doc.id!r}")
    for side in (doc.width, doc.height):
        if isinstance(side, bool) or not isinstance(side, int) or not 0 < side < 2 ** 31:
            raise WorkspaceError(f"document {doc.id!r}: page size {doc.width!r}x{doc.height!r} is not a pixel size")
    return (doc.id, dataset, dumps(doc.to_json(), f"document {doc.id!r}"), len(doc.words), doc.width, doc.height,
            doc.image_sha256, doc.source, json.dumps(doc.label_counts(), sort_keys=True), now, receipt_status(doc),
            doc.labelled_words, doc.suggested_words)


@dataclass(frozen=True)
class ReplacedReceipts:
    """What an import did to receipts the dataset already held: how many it replaced, and how many of those came
    back as they were (the same words, boxes, labels, items and done mark)."""
    receipts: int = 0
    unchanged: int = 0


def _content(doc: Document) -> tuple:
    """What a person reads of a receipt: its page (size, image) and each word's text, box, label, value, item and who
    labelled it. The page too: a probe's rescanned photo, same words, was "left as it was", unsaid. Not the source
    file's name, which names the same file by the folder given: CORD's train split imported as ``cord-sample`` and
    then as ``cord-sample/train`` read as 200 receipts whose words and labels differed, their undo history cleared
    (probe 36)."""
    return ((doc.width, doc.height, doc.image_sha256),
            tuple((w.text, tuple(w.box), w.label_state, w.group_id) for w in doc.words))


def _stored_contents(conn, dataset: str, ids: Sequence[str]) -> dict[str, tuple]:
    """The :func:`_content` and done mark of each of ``ids`` that ``dataset`` holds now (a damaged row: none)."""
    found: dict[str, tuple] = {}
    for row in _rows_by_id(conn, "id, json, reviewed", ids, "dataset = ? AND ", (dataset,)):
        try:
            found[row[0]] = (_content(stored_document(row[0], row[1])), bool(row[2]))
        except DamagedDocumentError:
            continue
    return found


def _upsert(conn, dataset: str, rows: list[tuple]) -> int:
    """Insert or replace document rows into ``dataset`` inside the caller's transaction; returns how many were
    already there. DocumentsInAnotherDatasetError (nothing written) when an id is held by another dataset."""
    _checked_dataset_name(conn, dataset)
    held = _datasets_of(conn, [row[0] for row in rows])
    elsewhere = {doc_id: name for doc_id, name in held.items() if name != dataset}
    if elsewhere:
        raise DocumentsInAnotherDatasetError(dataset, elsewhere)
    conn.executemany(
        "INSERT INTO documents (id, dataset, json, words, width, height, image_sha256, source, label_counts,"
        " updated_at, label_status, labelled_words, suggested_words) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
        "dataset = excluded.dataset, json = excluded.json, words = excluded.words, width = excluded.width, "
        "height = excluded.height, image_sha256 = excluded.image_sha256, source = excluded.source, "
        "label_counts = excluded.label_counts, updated_at = excluded.updated_at, "
        "label_status = excluded.label_status, labelled_words = excluded.labelled_words, "
        "suggested_words = excluded.suggested_words", rows)
    return len(held)


def write_document(conn, doc: Document, dataset: str) -> None:
    """Overwrite the stored row of ``doc`` (same id) inside the caller's write transaction, status columns too."""
    values = _document_row(doc, dataset, time.time())
    conn.execute("UPDATE documents SET json = ?, words = ?, width = ?, height = ?, image_sha256 = ?, source = ?, "
                 "label_counts = ?, updated_at = ?, label_status = ?, labelled_words = ?, suggested_words = ? "
                 "WHERE id = ?", values[2:] + (doc.id,))


def _checked_dataset_name(conn, name: object) -> str:
    name = check_dataset_name(name)
    twin = conn.execute("SELECT dataset FROM documents WHERE dataset != ? AND lower(dataset) = lower(?) LIMIT 1",
                        (name, name)).fetchone()
    if twin is not None:
        raise WorkspaceError(f"the workspace already has a dataset {twin[0]!r}, and {name!r} differs from it only in "
                             f"letter case: the two would read as one name (and be one folder on macOS and "
                             f"Windows); use {twin[0]!r} to add to it, or another name")
    return name


def _datasets_of(conn, ids: list[str]) -> dict[str, str]:
    return {row[0]: row[1] for row in _rows_by_id(conn, "id, dataset", ids)}


def _rows_by_id(conn, columns: str, ids: Sequence[str], condition: str = "", values: tuple = ()) -> Iterator:
    """``columns`` of the document rows whose id is one of ``ids`` (and that meet ``condition``, ``"… AND "`` with
    its ``values``), :data:`_IDS_PER_QUERY` ids a query."""
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start:start + _IDS_PER_QUERY]
        yield from conn.execute(f"SELECT {columns} FROM documents WHERE {condition}id IN ({','.join('?' * len(chunk))})",
                                [*values, *chunk])


def _rename_problem(conn, name: str, new_name: str) -> str | None:
    if new_name == name:
        return f"dataset {name!r} already has that name; type another one"
    taken = conn.execute("SELECT dataset FROM documents WHERE dataset != ? AND lower(dataset) = lower(?) LIMIT 1",
                         (name, new_name)).fetchone()
    if taken is not None:
        return (f"the workspace already has a dataset {taken[0]!r}; a rename does not merge two datasets, so choose "
                "another name")
    return None
