"""An import's receipts that another dataset holds, given new ids so they are stored as copies.

A receipt belongs to one dataset, so importing one whose id another dataset holds is refused
(``DocumentsInAnotherDatasetError``). A Label Studio or native export imported into a new dataset, to try other
labels on the same receipts as Label Studio's new project would, is such an import: each receipt held elsewhere
then takes the id ``<id>-copy`` (``-copy2``, … when that one is taken). Imported again into the same dataset, the
copies get the same ids, and replace the copies stored before, as any import does.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ._common import MAX_ID_LENGTH
from .report import ImportReport

if TYPE_CHECKING:
    from ..workspace.store import Workspace

SUFFIX = "-copy"


def as_copies(workspace: "Workspace", dataset: str, report: ImportReport) -> ImportReport:
    """``report`` with each document whose id a dataset other than ``dataset`` holds given a new id (its images and
    missing images moved to it), and one note saying how many and which."""
    ids = [doc.id for doc in report.documents]
    held = workspace.datasets_of(ids)
    elsewhere = {doc_id for doc_id, holder in held.items() if holder != dataset}
    if not elsewhere:
        return report
    taken = set(ids)  # the import's own ids stay as they are
    new_ids: dict[str, str] = {}
    for doc_id in ids:
        if doc_id in elsewhere and doc_id not in new_ids:
            new_ids[doc_id] = _free_id(workspace, dataset, doc_id, taken)
            taken.add(new_ids[doc_id])
    documents = tuple(dataclasses.replace(doc, id=new_ids.get(doc.id, doc.id)) for doc in report.documents)
    holders = sorted({held[doc_id] for doc_id in elsewhere})
    example = min(new_ids)
    note = (f"{len(new_ids)} of these receipts {'is' if len(new_ids) == 1 else 'are'} already in dataset "
            f"{', '.join(map(repr, holders[:3]))}{' and others' if len(holders) > 3 else ''}: imported as copies with "
            f"new ids ({example!r} as {new_ids[example]!r}); the receipts there are left as they are")
    return dataclasses.replace(
        report, documents=documents,
        images={new_ids.get(doc_id, doc_id): path for doc_id, path in report.images.items()},
        missing_images={new_ids.get(doc_id, doc_id): missing for doc_id, missing in report.missing_images.items()},
        problems=(*report.problems, note))


def _free_id(workspace: "Workspace", dataset: str, doc_id: str, taken: set[str]) -> str:
    """The first of ``<id>-copy``, ``<id>-copy2``, … that no other dataset holds and the import does not use: free,
    or held by ``dataset`` itself (a copy imported before, which this one replaces)."""
    stem = doc_id[:MAX_ID_LENGTH - len(SUFFIX) - 6]
    number = 1
    while True:
        candidate = f"{stem}{SUFFIX}{number if number > 1 else ''}"
        if candidate not in taken and workspace.datasets_of([candidate]).get(candidate, dataset) == dataset:
            return candidate
        number += 1
