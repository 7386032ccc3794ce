"""What an importer returns: the documents, their images and one line per bad record (:class:`ImportReport`),
and the error for a path that holds no dataset at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

from ..data.document import Document


class DatasetImportError(ValueError):
    """The path holds nothing importable in the requested format; the message says what was expected."""


@dataclass(frozen=True)
class ImportReport:
    documents: tuple[Document, ...]
    images: Mapping[str, Path]  # doc id -> image file, for documents whose dataset has pixels
    problems: tuple[str, ...]  # "<file>: <reason>", one per bad record
    label_counts: Mapping[str, int]  # annotation label (fields + QUANTITY) -> words, over all documents


def make_report(documents: Iterable[Document], images: Mapping[str, Path], problems: Iterable[str]) -> ImportReport:
    """An ImportReport with label counts summed over the documents' words."""
    documents = tuple(documents)
    counts: dict[str, int] = {}
    for doc in documents:
        for label, n in doc.label_counts().items():
            counts[label] = counts.get(label, 0) + n
    return ImportReport(documents=documents, images=MappingProxyType(dict(images)), problems=tuple(problems),
                        label_counts=MappingProxyType(dict(sorted(counts.items()))))
