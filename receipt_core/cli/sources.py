"""Where a command's DATA comes from: a dataset folder or file (its format given or recognised), else a
workspace dataset of that name. Problems in the data are warnings on stderr; no documents at all is an error.

Training and evaluation see only receipts with labels from people or imports
(:func:`receipt_core.data.review.labelled_documents`); an ``--eval`` set without any is refused, never scored."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

from .errors import CommandError
from ..data.document import Document
from ..data.review import NoLabelsError, evaluation_documents, labelled_documents
from ..data.schema import DEFAULT_SCHEMA, unknown_label_problem
from ..datasets import load_dataset
from ..datasets.detect import AUTO, resolve_format
from ..wording import counted

MAX_WARNINGS_SHOWN = 10
LABEL_RULES = ("any", "train", "eval")  # what load_documents keeps: everything, labelled receipts, or refuses none


def _is_bare_name(data: str) -> bool:
    """Whether ``data`` could name a workspace dataset: no folder part (``./d``, ``d/``, ``~/d`` name a path)."""
    return "/" not in data and "\\" not in data and not data.startswith(("~", "."))


def _names_a_dataset(name: str, workspace: Path | None) -> bool:
    """Whether the workspace (if there is one) holds a dataset ``name``: a folder of the same name in the current
    folder took its place without a word, and `evaluate RUN --data tests` from the repository root read the
    tests folder (a probe)."""
    from ..workspace.store import Workspace, WorkspaceError

    try:
        return any(summary.name == name for summary in Workspace.open_existing(workspace).datasets())
    except WorkspaceError:
        return False


def load_documents(data: str, format: str, workspace: Path | None, role: str = "data",
                   quiet: bool = False, labels: str | None = None, use_suggestions: bool = False) -> list[Document]:
    """Documents from a dataset folder/file, else from the workspace dataset of that name; a bare name (no folder
    part) that names a workspace dataset is that dataset, even beside a folder of the same name (``./NAME`` is it).

    ``labels`` (default: ``"eval"`` for the role ``--eval``, ``"train"`` for ``--train``, else ``"any"``): ``"train"``
    keeps the receipts with a label from a person or an import (a note on stderr says how many were left out),
    ``"eval"`` does the same and refuses a set with none; ``use_suggestions`` lets model suggestions count first.
    """
    rule = labels or {"--eval": "eval", "--train": "train"}.get(role, "any")
    if rule not in LABEL_RULES:
        raise ValueError(f"labels must be one of {', '.join(LABEL_RULES)}, got {rule!r}")
    if not data.strip():  # Path("") is the current folder: "cannot tell the format of ." said nothing (a probe)
        raise CommandError(f"{role} is empty: give a dataset folder or file, or the name of a workspace dataset")
    path = Path(data).expanduser()
    if path.exists() and not (_is_bare_name(data) and _names_a_dataset(data, workspace)):
        fmt = resolve_format(path, format)
        report = load_dataset(path, fmt)
        for problem in [] if quiet else report.problems[:MAX_WARNINGS_SHOWN]:
            print(f"warning: {problem}", file=sys.stderr)
        if len(report.problems) > MAX_WARNINGS_SHOWN and not quiet:
            print(f"warning: … and {counted(len(report.problems) - MAX_WARNINGS_SHOWN, 'more problem')} in {path}",
                  file=sys.stderr)
        documents = list(report.documents)
    else:
        from ..workspace.names import other_datasets
        from ..workspace.store import Workspace, WorkspaceError

        try:
            ws = Workspace.open_existing(workspace)
        except WorkspaceError as error:  # a mistyped path, or a mistyped --workspace: say both, make nothing
            raise CommandError(f"{role} {data!r} is neither a folder nor a dataset: {error}") from None
        names = [summary.name for summary in ws.datasets()]
        if data not in names:
            raise CommandError(f"{role} {data!r} is neither a folder nor a dataset of the workspace {ws.home} "
                               f"({other_datasets(data, names)})")
        if path.exists() and not quiet:
            print(f"note: {role} {data!r} is the workspace dataset of that name; write ./{data} for the "
                  f"{'folder' if path.is_dir() else 'file'} of that name here", file=sys.stderr)
        if format != AUTO and not quiet:  # a probe's --format cord on a dataset name was dropped unsaid
            print(f"note: --format {format} is not used for {role} {data!r}: a workspace dataset is read as stored",
                  file=sys.stderr)
        documents = ws.load_documents(data)
    if not documents:
        raise CommandError(f"{role} {data!r} holds no documents")
    if rule == "any":  # read as they are (pretraining, prediction): their labels are not read
        return documents
    # a tampered workspace's label of no schema: refused before any model loads, the receipt named (a probe's
    # `train --out`, `reference`, `study` and `evaluate` each failed later with "unknown field label", naming none)
    if (problem := unknown_label_problem(documents, DEFAULT_SCHEMA)) is not None:
        raise CommandError(f"{role} {data!r}: {problem}")
    try:
        chosen = (evaluation_documents(documents, f"{role} {data!r}", use_suggestions) if rule == "eval"
                  else labelled_documents(documents, use_suggestions))
    except NoLabelsError as error:
        raise CommandError(str(error)) from None
    if not chosen.documents:
        raise CommandError(f"{role} {data!r} has no labels from a person or an import in any of its "
                           f"{len(documents)} receipts; label some receipts first")
    note = chosen.note(f"{role} {data!r}")
    if note and not quiet:
        print(f"warning: {note}", file=sys.stderr)
    return list(chosen.documents)


def load_training_documents(sources: Sequence[str], format: str, workspace: Path | None,
                            quiet: bool = False) -> list[Document]:
    """The documents of every ``--train`` source, in the order given; a document id in two sources is refused
    (the same data given twice, or two datasets that overlap) rather than trained on twice."""
    documents: list[Document] = []
    origin: dict[str, str] = {}
    for source in sources:
        for doc in load_documents(source, format, workspace, role="--train", quiet=quiet):
            if doc.id in origin:
                where = "twice in" if origin[doc.id] == source else f"in both {origin[doc.id]!r} and"
                raise CommandError(f"--train: document {doc.id!r} is {where} {source!r}; give each dataset once "
                                   "and datasets that do not overlap")
            origin[doc.id] = source
            documents.append(doc)
    if len(sources) > 1 and not quiet:
        counts = Counter(origin.values())
        print("train mix: " + ", ".join(f"{source} {counts[source]}" for source in sources), file=sys.stderr)
    return documents
