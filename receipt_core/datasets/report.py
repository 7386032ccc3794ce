"""What an importer returns: the documents, their images and one line per bad record (:class:`ImportReport`),
and the error for a path that holds no dataset at all."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import count
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Mapping, Sequence

from ..data.document import Document
from ..data.markup import one_line
from ..wording import counted


class DatasetImportError(ValueError):
    """The path holds nothing importable in the requested format; the message says what was expected."""


@dataclass(frozen=True)
class MissingImage:
    """An image a record names by its content hash that the import does not hold: a Label Studio or native export
    copied without its images/ folder. The workspace may hold it already (images are stored by content hash), so
    :func:`~receipt_core.datasets.import_into_workspace` keeps it then, and drops ``problem`` from the report."""
    sha256: str
    problem: str  # the report's problem line about it ("<file>: image … is not in images/; imported without pixels")


@dataclass(frozen=True)
class ImportReport:
    documents: tuple[Document, ...]
    images: Mapping[str, Path]  # doc id -> image file, for documents whose dataset has pixels
    problems: tuple[str, ...]  # "<file>: <reason>", one per bad record
    label_counts: Mapping[str, int]  # annotation label (fields + QUANTITY) -> words, over all documents
    # doc id -> the image it names that the import does not hold
    missing_images: Mapping[str, MissingImage] = field(default_factory=lambda: MappingProxyType({}))
    replaced: int = 0  # stored over receipts of the same ids already in the dataset (set by import_into_workspace)
    replaced_unchanged: int = 0  # of those, the ones that came back as they were (words, labels, items, done mark)
    copied_note: str | None = None  # receipts stored as copies with new ids, as asked (``import_copies``): no problem
    twins_note: str | None = None  # CORD receipts stored again under the other naming (``cord_twins``): a warning

    @property
    def nothing_changed(self) -> bool:
        """Whether every document imported was already in the dataset as it came (a round trip): the page then says
        nothing changed, not "Imported 50 documents" beside "left as they were" (a walkthrough)."""
        return bool(self.documents) and self.replaced == self.replaced_unchanged == len(self.documents)

    def replaced_note(self, dataset: str) -> str | None:
        """What an import replaced, else None: a receipt imported again with other words, labels or done mark takes
        the file's and loses its undo history (a probe's zip import did so without a word); one that comes back the
        same is left as it was."""
        if not self.replaced:
            return None
        one = self.replaced == 1  # "1 of these receipts were" (a walkthrough)
        already = f"{self.replaced} of these receipts {'was' if one else 'were'} already in the dataset {dataset!r}"
        if self.replaced_unchanged == self.replaced:  # a faithful round trip read as data loss (a walkthrough)
            return (f"{already}, with the same words, labels, items and done marks: {'it was' if one else 'they were'} "
                    f"left as {'it was' if one else 'they were'}, undo history included")
        changed = self.replaced - self.replaced_unchanged
        # "lost the words, labels or done marks they had there for the file's" read as data loss about a file that
        # had only added a label (a walkthrough)
        holds = "holds" if changed == 1 else "hold"
        return (f"{already}: {changed} of them now {holds} the file's words, labels, items and done marks in place "
                f"of the dataset's, which differed, and {'its' if changed == 1 else 'their'} undo history is cleared "
                f"({self.replaced_unchanged} came back the same and "
                f"{'was left as it was' if self.replaced_unchanged == 1 else 'were left as they were'})")

    @property
    def skipped(self) -> int:
        """How many of the problems left a record out (``…; skipped``); the others are notes on records that were
        imported (a box clamped, an empty segment dropped)."""
        return sum(1 for problem in self.problems if problem.endswith("; skipped"))

    def problems_heading(self) -> str:
        """One line above the problem list: how many records it left out and how many it imported with a note."""
        noted = len(self.problems) - self.skipped
        if not self.skipped:  # every record imported: notes, not problems (a walkthrough read "29 problems")
            return f"{counted(noted, 'note')} on records that were imported:"
        parts = ([f"{counted(self.skipped, 'record')} skipped"] if self.skipped else []) + (
            [f"{counted(noted, 'note')} on records that were imported"] if noted else [])
        return f"{counted(len(self.problems), 'problem')} reported: " + ", ".join(parts) + ":"


def make_report(documents: Iterable[Document], images: Mapping[str, Path], problems: Iterable[str],
                missing_images: Mapping[str, MissingImage] | None = None) -> ImportReport:
    """An ImportReport with label counts summed over the documents' words; each problem line as one printable line
    (its file names hold what a file system allows: escapes, newlines)."""
    documents = tuple(documents)
    counts: dict[str, int] = {}
    for doc in documents:
        for label, n in doc.label_counts().items():
            counts[label] = counts.get(label, 0) + n
    # a missing image's line as the report has it, which import_into_workspace drops by equality (a probe's file
    # name with an escape in it failed the whole import with "list.remove(x): x not in list")
    missing = {doc_id: replace(image, problem=one_line(image.problem))
               for doc_id, image in (missing_images or {}).items()}
    return ImportReport(documents=documents, images=MappingProxyType(dict(images)),
                        problems=tuple(one_line(p) for p in problems),
                        label_counts=MappingProxyType(dict(sorted(counts.items()))),
                        missing_images=MappingProxyType(missing))


MAX_RECORDS = 100_000
"""Records (receipts, tasks, label lines) one import reads: a 10 MB Label Studio file of 3.5 million empty tasks
took a minute and 1.3 GB to list a problem for each (probe 62), and the dashboard's server kept the memory. A real
export within the 512 MB file limit holds about 10,000 receipts (50 CORD receipts export as 2.6 MB)."""


class RecordCollector:
    """The one loop every importer runs over its records: each record is read in isolation — any failure of it
    becomes one ``problem`` line and the next record still imports —, its notes are kept, and a document id seen
    before is skipped. ``report()`` is the ImportReport of what was collected.

    ``ids_from_file_names``: the format has no document ids, so the importer makes them from file names (CORD's
    ``receipt_00000.json``, WildReceipt's image name). Two records from different files can then share one; the
    later one is kept under the id with ``-2`` (``-3``…) added, and a note says so. Before, it was skipped: a folder
    with two splits that number their files alike lost one split's receipts (a probe)."""

    def __init__(self, ids_from_file_names: bool = False) -> None:
        self.documents: list[Document] = []
        self.images: dict[str, Path] = {}
        self.missing_images: dict[str, MissingImage] = {}
        self.problems: list[str] = []
        self._seen: dict[str, str] = {}  # document id -> the source it was read from
        self._first_read: dict[str, str] = {}  # document id -> the record that gave it first (``where``)
        self._ids_from_file_names = ids_from_file_names
        self._records = 0

    def add(self, where: str, read: Callable[[list[str]], tuple[Document, Path | str | None]],
            noted_where: Callable[[Document], str] | None = None) -> None:
        """Read one record with ``read(notes)`` → (document, its image file, or the SHA-256 of an image it names
        that the import does not hold, or None); ``where`` names it in problem lines (``noted_where(doc)`` for the
        notes of a record that was read, when it can say more)."""
        from ._common import record_problem

        self._records += 1
        if self._records > MAX_RECORDS:
            raise DatasetImportError(f"{where}: an import reads at most {MAX_RECORDS:,} records (receipts, tasks or "
                                     "label lines), and this one holds more; nothing was stored: split the data "
                                     "into several imports")
        notes: list[str] = []
        try:
            doc, image = read(notes)
        except Exception as error:  # noqa: BLE001 - isolate the record
            self.problems.extend(f"{where}: {note}" for note in notes)
            self.problems.append(f"{where}: {record_problem(error)}; skipped")
            return
        place = noted_where(doc) if noted_where is not None else where
        self.problems.extend(f"{place}: {note}" for note in notes)
        if doc.id in self._seen and self._ids_from_file_names and self._seen[doc.id] != doc.source:
            first_id, first_source = doc.id, self._seen[doc.id]
            doc = replace(doc, id=next(f"{first_id}-{n}" for n in count(2) if f"{first_id}-{n}" not in self._seen))
            self.problems.append(f"{place}: its file name gives the id {first_id!r} of another receipt "
                                 f"({first_source}); stored as {doc.id!r}")
        if doc.id in self._seen:
            # named, with the record that gave it first: "was already imported" read as an earlier import's receipt
            # when two tasks of one file shared a Label Studio id (a probe)
            self.problems.append(f"{where}: document id {doc.id!r} was already imported from "
                                 f"{self._first_read[doc.id]} in this import; skipped (each receipt needs its own id)")
            return
        self._seen[doc.id] = doc.source
        self._first_read[doc.id] = where
        if isinstance(image, str):
            line = (f"{place}: image {image[:12]}… is not in the import's images/ folder (or its bytes do not match "
                    "its name); imported without pixels")
            self.problems.append(line)
            self.missing_images[doc.id] = MissingImage(image, line)
        elif image is not None:
            self.images[doc.id] = image
        self.documents.append(doc)

    def problem(self, line: str) -> None:
        self.problems.append(line)

    def note_merged_splits(self, folder: str, splits: str, read_from: Sequence[tuple[str, int]],
                           keep_apart: str) -> None:
        """Say first, above the records' own notes, when a folder's splits were read into one dataset (``splits``:
        "split files", "split folders"; ``read_from``: each split's name and receipts), so dev is not trained on
        unawares; ``keep_apart`` says how to import one on its own. Nothing for one split."""
        if len(read_from) > 1:
            given = ", ".join(f"{name} {counted(count_, 'receipt')}" for name, count_ in read_from)
            self.problems.insert(0, f"{folder}: {len(read_from)} {splits} read into one dataset ({given}); to keep a "
                                    f"split apart for evaluation, import it on its own: {keep_apart}")

    def report(self) -> ImportReport:
        return make_report(self.documents, self.images, self.problems, self.missing_images)
