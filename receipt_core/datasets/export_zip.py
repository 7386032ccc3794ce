"""A dataset of the workspace exported in any export format: into a folder (the ``export`` command,
:func:`export_folder`) or as one zip (what Data → Export downloads, :func:`export_zip_bytes`).

The zip holds one folder named as the zip, ``<dataset>-<format>`` (``workspace-<format>`` for every document),
written by :func:`receipt_core.datasets.export_documents` in the chosen format — native files, CORD-style JSON, or
a Label Studio ``tasks.json`` with its labeling configuration — plus the receipts' images. Unzipped, the folder imports
back with ``import`` / Data → Import in the same format (native and Label Studio; CORD-style keeps labels, boxes and
items but not provenance).
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..data.document import Document
from ..data.review import with_reviewed_meta
from ..workspace.names import check_dataset_name, path_inside
from ..workspace.database import WorkspaceError
from ..workspace.images import DamagedImageError
from . import EXPORT_FORMATS, export_documents

if TYPE_CHECKING:
    from ..workspace.store import Workspace


def export_zip_name(dataset: str | None, format: str) -> str:
    """The download's file name: ``<dataset>-<format>.zip``."""
    return f"{_folder_name(dataset)}-{format}.zip"


def export_zip_bytes(workspace: "Workspace", dataset: str | None, format: str) -> bytes:
    """``dataset`` (None: every document) in ``format`` (one of ``EXPORT_FORMATS``) as zip bytes."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    docs = workspace.load_documents(dataset)
    if not docs:
        raise WorkspaceError(f"dataset {dataset!r} has no documents to export")
    with tempfile.TemporaryDirectory() as tmp:
        # named as the zip (``<dataset>-<format>``), not the dataset alone: a dataset named ``json`` or ``__MACOSX``
        # gave a folder that the zip import reads as CORD's json/ or as archive clutter (a probe)
        folder = path_inside(Path(tmp), export_zip_name(dataset, format).removesuffix(".zip"))
        export_folder(workspace, docs, folder, format)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(folder.parent))
    return buffer.getvalue()


def export_folder(workspace: "Workspace", documents: Sequence[Document], folder: Path, format: str,
                  folder_name: str | None = None) -> tuple[int, int]:
    """Write ``documents`` with the images the workspace holds for them into ``folder`` in ``format``
    (:func:`receipt_core.datasets.export_documents`); returns how many documents and how many images. Native and
    Label Studio keep a person's done mark in each document's ``meta["reviewed"]``, which an import sets again."""
    reviewed = workspace.reviewed_ids()
    documents = [with_reviewed_meta(doc, doc.id in reviewed) for doc in documents]
    images = {}
    for doc in documents:
        try:  # every format: Label Studio and CORD copied a stored image's link to /etc/passwd (a probe)
            path = workspace.checked_image_path(doc.image_sha256) if doc.image_sha256 else None
        except DamagedImageError as error:
            raise DamagedImageError(f"receipt {doc.id!r}: {error}") from None
        if path is not None:
            images[doc.id] = path
    return export_documents(documents, folder, format, images=images, folder_name=folder_name), len(images)


def empty_receipts_note(empty: Sequence[str], format: str) -> str | None:
    """A note naming the receipts without words (``empty``, their ids) that a CORD or Label Studio export writes but
    no import reads back (a receipt's words are its records there; native keeps them). A probe deleted every word
    of a receipt marked done, and its exports said "exported 1 document" but imported as nothing."""
    if not empty or format == "native":
        return None
    shown = ", ".join(repr(i) for i in empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
    return (f"{len(empty)} receipt{'' if len(empty) == 1 else 's'} without words ({shown}): the {format} export "
            "writes them, but an import reads a receipt from its words and will skip them; the native format keeps "
            "them")


def _folder_name(dataset: str | None) -> str:
    """The dataset's name when it is a valid one (names stored before names were checked may not be)."""
    if dataset is None:
        return "workspace"
    try:
        return check_dataset_name(dataset)
    except WorkspaceError:
        return "dataset"
