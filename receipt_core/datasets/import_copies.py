"""An import's receipts that another dataset holds, given new ids so they are stored as copies.

A receipt belongs to one dataset, so importing one whose id another dataset holds is refused
(``DocumentsInAnotherDatasetError``). A Label Studio or native export imported into a new dataset, to try other
labels on the same receipts as Label Studio's new project would, is such an import: each receipt held elsewhere
then takes a new id, ``<id>-copy`` (``-copy2``, … when that one is held by any dataset), and its meta names the
receipt it copies (:data:`COPY_OF`). Imported again into the same dataset, a receipt goes to the copy of it stored
there before, which it replaces as any import does; never to another receipt that happens to hold such an id.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ._common import MAX_ID_LENGTH
from .report import ImportReport

if TYPE_CHECKING:
    from ..workspace.store import Workspace

SUFFIX = "-copy"
COPY_OF = "copy_of"  # a copy's meta: the id of the receipt it was imported as a copy of
ATTEMPTS = 3  # choices of ids, when another import takes them first


def as_copies(workspace: "Workspace", dataset: str, report: ImportReport) -> ImportReport:
    """``report`` with each document whose id a dataset other than ``dataset`` holds given a new id (its images and
    missing images moved to it, its meta naming the original), and one note saying how many and which."""
    ids = [doc.id for doc in report.documents]
    held = workspace.datasets_of(ids)
    elsewhere = {doc_id for doc_id, holder in held.items() if holder != dataset}
    if not elsewhere:
        return report
    earlier = workspace.copies_in(dataset, COPY_OF)  # original id -> its copies stored here before
    origins = {doc.id: _origin(doc) for doc in report.documents}
    taken = set(ids)  # the import's own ids stay as they are
    # the first copy id of each original that a dataset holds: one query for them all, not one per receipt (a later
    # number is asked for only past a held one)
    held_first = set(workspace.datasets_of({_stem(origins[doc_id]) + SUFFIX for doc_id in elsewhere}))
    new_ids: dict[str, str] = {}
    for doc_id in ids:
        if doc_id in elsewhere and doc_id not in new_ids:
            # an earlier copy of the same original, one per receipt of the file (a file holding a receipt and a copy
            # of it took a new copy at every import: a probe); only by the id this module gave it, as a file's
            # copy_of naming another receipt would point an import at a receipt of the dataset's own (a probe's
            # "mine" was replaced)
            stem = _stem(origins[doc_id]) + SUFFIX
            before = next((copy for copy in earlier.get(origins[doc_id], ()) if copy.startswith(stem)
                           and copy not in taken), None)
            new_ids[doc_id] = before if before is not None else _free_id(workspace, origins[doc_id], taken,
                                                                                  held_first)
            taken.add(new_ids[doc_id])
    documents = tuple(dataclasses.replace(doc, id=new_ids[doc.id], meta={**doc.meta, COPY_OF: origins[doc.id]})
                      if doc.id in new_ids else doc for doc in report.documents)
    holders = sorted({held[doc_id] for doc_id in elsewhere})
    example = min(new_ids)
    note = (f"{len(new_ids)} of these receipts {'is' if len(new_ids) == 1 else 'are'} already in dataset "
            f"{', '.join(map(repr, holders[:3]))}{' and others' if len(holders) > 3 else ''}: imported as copies with "
            f"new ids ({example!r} as {new_ids[example]!r}), as asked; the receipts there are left as they are")
    return dataclasses.replace(
        report, documents=documents,
        images={new_ids.get(doc_id, doc_id): path for doc_id, path in report.images.items()},
        missing_images={new_ids.get(doc_id, doc_id): missing for doc_id, missing in report.missing_images.items()},
        copied_note=note)


def _origin(doc) -> str:
    """The receipt ``doc`` goes back to: the one a copy's meta names, so a copy of a copy is a copy of the original
    (a probe's export of copies, imported as copies where the originals' copies were, stored each receipt twice);
    else its own id."""
    named = doc.meta.get(COPY_OF)
    return named if isinstance(named, str) and 0 < len(named) <= MAX_ID_LENGTH else doc.id


def _stem(doc_id: str) -> str:
    return doc_id[:MAX_ID_LENGTH - len(SUFFIX) - 6]


def _free_id(workspace: "Workspace", doc_id: str, taken: set[str], held_first: set[str]) -> str:
    """The first of ``<id>-copy``, ``<id>-copy2``, … that no dataset holds and the import does not use (a probe's
    dataset held a receipt of its own under the id a copy would take: it was replaced). ``held_first``: the
    ``<id>-copy`` ids a dataset holds, read for the whole import at once."""
    stem = _stem(doc_id)
    first = stem + SUFFIX
    if first not in taken and first not in held_first:
        return first
    number = 2
    while (candidate := f"{first}{number}") in taken or workspace.datasets_of([candidate]):
        number += 1
    return candidate
