"""Labelled receipt datasets in and out: one loader per format, one report shape for all, one writer per export
format (:func:`export_documents`: native, CORD v1 style, Label Studio).

:func:`load_dataset` never crashes on a bad record: a file that is not JSON, nests too deeply or is too large, a
receipt that lacks a required key, has a wrong type, a number out of range (page sizes, coordinates, counts),
NaN, or more words than :attr:`ImportLimits.max_words`, an empty word or a box off the page — any failure of one
record — is listed in :attr:`ImportReport.problems` (file and reason) and the rest of the dataset still imports.
Only a path that holds no dataset at all raises :class:`DatasetImportError`.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from ..data.document import Document
from ..data.schema import DEFAULT_SCHEMA, LabelSchema, unknown_label_problem
from ._common import DEFAULT_LIMITS, ImportLimits, missing_path
from .report import DatasetImportError, ImportReport, make_report

if TYPE_CHECKING:
    from ..workspace.store import Workspace

FORMATS = ("cord", "wildreceipt", "native", "label-studio")
EXPORT_FORMATS = ("native", "cord", "label-studio")
EXPORT_LOSSES = {"cord": "CORD keeps the labels only: a word nobody labelled becomes gold OTHER, an item's quantity "
                         "words become one line whose value is read back from its text (a typed value is lost), and "
                         "suggestions, OCR confidences, who gave each label and done marks are not kept (native and "
                         "label-studio keep them)"}
"""What an export format leaves out, said before a user relies on the files."""


def load_dataset(path: Path, format: str, schema: LabelSchema = DEFAULT_SCHEMA,
                 limits: ImportLimits = DEFAULT_LIMITS) -> ImportReport:
    """Read a dataset folder or file in ``format`` ("cord", "wildreceipt", "native" or "label-studio"), each
    record within ``limits``."""
    given = Path(path)
    try:
        path = given.resolve()
    except (RuntimeError, OSError):  # a link loop (Python 3.11 says "Symlink loop")
        raise DatasetImportError(missing_path(given, given)) from None
    if not path.exists():
        raise DatasetImportError(missing_path(given, path))
    if not (path.is_dir() or path.is_file()):
        raise DatasetImportError(f"{path} is not a folder or a regular file; give a dataset folder or file")
    if format == "cord":
        from .cord import load_cord
        return load_cord(path, schema, limits)
    if format == "wildreceipt":
        from .wildreceipt import load_wildreceipt
        return load_wildreceipt(path, schema, limits)
    if format == "native":
        from .native import load_native
        return load_native(path, schema, limits)
    if format == "label-studio":
        from .label_studio import load_label_studio
        return load_label_studio(path, schema, limits)
    raise DatasetImportError(f"unknown dataset format {format!r}; choose one of {', '.join(FORMATS)}")


def export_documents(documents: Iterable[Document], folder: Path, format: str,
                     images: Mapping[str, Path] | None = None, schema: LabelSchema = DEFAULT_SCHEMA,
                     folder_name: str | None = None) -> int:
    """Write ``documents`` (and their images, per doc id) into ``folder`` in ``format`` (one of
    ``EXPORT_FORMATS``); returns how many documents. Every format keeps the document's source (an upload's file
    name); native and Label Studio keep each label's provenance and the model suggestions. ``folder_name``: the
    name the export's folder ends up with, when ``folder`` is a staging folder (Label Studio's README names it)."""
    documents = list(documents)
    # a tampered workspace's label of no schema: named, not written to a file that imports back without the receipt
    # (a probe's native round trip lost it; the CORD export said "maps no CORD category", naming no receipt)
    if (problem := unknown_label_problem(documents, schema)) is not None:
        raise ValueError(f"nothing exported: {problem}")
    if format == "native":
        from .native import save_native
        save_native(documents, folder, images=images)
    elif format == "cord":
        from .cord_export import save_cord
        save_cord(documents, folder, schema, images)
    elif format == "label-studio":
        from .label_studio_export import save_label_studio
        save_label_studio(documents, folder, schema, images, folder_name)
    else:
        raise ValueError(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    return len(documents)


def default_dataset_name(path: Path, format: str) -> str:
    """A workspace dataset name for an import: ``cord/train/json`` -> ``cord-train``, ``dev.txt`` -> ``wildreceipt-dev``."""
    path = Path(path).resolve()
    stem = path.stem if path.is_file() else path.name
    if stem == "json":
        stem = path.parent.name
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip(".-")[:80]  # a valid dataset name whatever the folder
    return format if stem in ("", format) else f"{format}-{stem}"


def import_into_workspace(workspace: "Workspace", dataset: str, report: ImportReport,
                          copies: bool = False) -> ImportReport:
    """Store a report's images (by content hash) and then its documents as ``dataset``; returns the report of what
    was stored: the documents as saved, the images kept, and the report's problems plus one per image refused or
    noted.

    Each image is checked as an upload is (:mod:`.imported_images`): one that is not a decodable raster image
    within the upload limits is not stored and its document is saved without pixels, with a problem line naming
    the file and why. Images go first so a stored document never points at an image that is not there yet; the
    documents are written in one transaction, so an interrupted import leaves either all of them or none.
    A document whose ``meta["reviewed"]`` is true (an export's done mark) is stored without that key and marked done;
    every other is not marked done, and a receipt replaced loses its annotation history (``import_documents``, in the
    transaction that stores them); the returned report's ``replaced`` counts those.
    A document naming an image the import does not hold (``report.missing_images``: a Label Studio export of ours
    without its images/ folder) keeps it when the workspace already stores that image, and its problem line goes.
    ``dataset`` is checked (``workspace.check_dataset_name``) before anything is stored. ``copies``: receipts another
    dataset holds are stored as copies with new ids (:mod:`.import_copies`), not refused.
    """
    workspace.check_dataset_name(dataset)
    if not copies:
        return _store(workspace, dataset, report)
    from ..workspace.documents import DocumentsInAnotherDatasetError
    from .import_copies import ATTEMPTS, as_copies

    # the ids are chosen before the transaction that stores them: another import of copies at once may take them
    # first (a probe's two imports of 3,000 receipts: one refused), so they are chosen again
    for _ in range(ATTEMPTS - 1):
        try:
            return _store(workspace, dataset, as_copies(workspace, dataset, report))
        except DocumentsInAnotherDatasetError:
            continue
    return _store(workspace, dataset, as_copies(workspace, dataset, report))


def _store(workspace: "Workspace", dataset: str, report: ImportReport) -> ImportReport:
    """:func:`import_into_workspace`'s work, with ``report`` as it is stored."""
    from ..data.images import ImageLoadError
    from ..data.review import REVIEWED_META, without_reviewed_meta
    from ._common import shown
    from .cord_twins import twins_note
    from .imported_images import read_imported_image, size_mismatch

    documents, images, problems, reviewed = [], {}, list(report.problems), []
    for doc in report.documents:
        mark = doc.meta.get(REVIEWED_META, False)
        if not isinstance(mark, bool):  # "yes" imported as not done, unsaid (a probe)
            problems.append(f"document {doc.id!r}: its done mark (meta {REVIEWED_META!r}) is {shown(mark)}, not true "
                            "or false; imported as not done")
        doc, marked = without_reviewed_meta(doc)
        if marked:
            reviewed.append(doc.id)
        path, missing = report.images.get(doc.id), report.missing_images.get(doc.id)
        held = workspace.image_path(missing.sha256) if missing is not None else None
        if held is not None:
            doc = dataclasses.replace(doc, image_sha256=missing.sha256)  # stored by content hash: the same bytes
            problems.remove(missing.problem)
            images[doc.id] = held  # counted among the receipts imported with images
        elif path is not None:
            try:
                image = read_imported_image(path)
            except ImageLoadError as error:
                problems.append(f"document {doc.id!r}: {str(error).rstrip('.')}; imported without pixels")
                doc = dataclasses.replace(doc, image_sha256=None)
            else:
                note = size_mismatch(doc, image, path.name)
                if note:
                    problems.append(f"document {doc.id!r}: {note}")
                sha = workspace.put_image(image.data, image.suffix)
                if doc.image_sha256 != sha:
                    doc = dataclasses.replace(doc, image_sha256=sha)
                images[doc.id] = path
        documents.append(doc)
    replaced = workspace.import_documents(dataset, documents, set(reviewed))
    return dataclasses.replace(make_report(documents, images, problems), replaced=replaced.receipts,
                               replaced_unchanged=replaced.unchanged, copied_note=report.copied_note,
                               twins_note=twins_note(workspace, dataset, [doc.id for doc in documents]))
