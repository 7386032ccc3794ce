"""Training and evaluation documents of a run: an evaluation dataset, or a fixed held-out share of the training one."""

from __future__ import annotations

from typing import Sequence, TypeVar

from ..data.document import Document
from ..data.review import LabelledDocuments
from ..wording import counted
from .cord_twins import same_receipt

T = TypeVar("T")  # a Document, or anything listed in the same order (e.g. a workspace DocumentSummary)


def split_documents(docs: Sequence[T], eval_docs: Sequence[T] | None, hold_out: float) -> tuple[list[T], list[T]]:
    """Training and evaluation documents: ``eval_docs`` when given, else a ``hold_out`` share of ``docs``: the last
    ones once the receipts are ordered by the share of their words that carry a label (stable, so a dataset whose
    receipts are all labelled keeps its order). A walkthrough held out its one receipt with 1 labelled word of
    129, the last uploaded, and read "field micro-F1 0.000" as the run's score, while three fully labelled ones
    trained. ``docs`` are Documents or workspace summaries (``words`` a list or a count, ``labelled_words``).

    The held-out part is always the same for the same dataset and share (a resumed run reads its receipts back by
    id in any case).
    """
    if eval_docs is not None:
        if not docs:
            raise ValueError("the training dataset is empty")
        return list(docs), list(eval_docs)
    if len(docs) < 2:
        raise ValueError(f"the training dataset has {counted(len(docs), 'receipt')}; holding some out for evaluation "
                         "needs at least 2 (or choose an evaluation dataset)")
    n_eval = min(max(1, round(len(docs) * hold_out)), len(docs) - 1)
    ordered = sorted(docs, key=_labelled_share)
    return ordered[:-n_eval], ordered[-n_eval:]


def _labelled_share(doc) -> float:
    words = doc.words if isinstance(doc.words, int) else len(doc.words)
    return doc.labelled_words / words if words else 0.0


def split_labelled(labelled: LabelledDocuments, eval_docs: Sequence[T] | None,
                   hold_out: float) -> tuple[list[Document], list[T]]:
    """:func:`split_documents` of a dataset's labelled receipts (``Workspace.training_documents``), its refusal
    naming the receipts left out for want of a label: a dataset of one unlabelled photo said "the training dataset
    has 0 receipts" (a walkthrough)."""
    try:
        return split_documents(labelled.documents, eval_docs, hold_out)
    except ValueError:
        if not labelled.left_out:
            raise
    # one sentence for the counts, one for what to do: the refusal and the note spliced together read "… dataset).
    # The training dataset: 2 of 3 receipts …" with no full stop (a walkthrough)
    labelled_count, unlabelled = len(labelled.documents), len(labelled.left_out)
    needs = ("holding some out for evaluation needs at least 2 (or choose an evaluation dataset)"
             if eval_docs is None else "a run needs at least 1")
    raise ValueError(f"the training dataset has {counted(labelled_count, 'labelled receipt')} ({unlabelled} of its "
                     f"{labelled_count + unlabelled} {'has' if unlabelled == 1 else 'have'} no label from a person or "
                     f"an import); {needs}. Label receipts on Annotate, or accept a run's suggestions there, first.")


MIN_EVAL_RECEIPTS = 10  # below this, one receipt moves a score by more than the differences runs are told apart by


def evaluation_notes(train_ids: Sequence[str], eval_ids: Sequence[str]) -> tuple[str, ...]:
    """What makes a run's scores misleading before it starts: evaluation receipts that are also training ones,
    or too few of them (warnings for the CLI and the Train page; the run is not refused). A receipt of the CORD
    sample (``cord-sample-receipt_00003``) is the same receipt as CORD's own (``cord-receipt_00003``)."""
    notes = []
    shared = len({same_receipt(i) for i in train_ids} & {same_receipt(i) for i in eval_ids})
    if shared:
        notes.append(f"{shared} of the {len(eval_ids)} evaluation receipts are also training receipts: the scores "
                     "will look better than on receipts the model never saw; evaluate on another dataset")
    if 0 < len(eval_ids) < MIN_EVAL_RECEIPTS:
        notes.append(f"only {counted(len(eval_ids), 'evaluation receipt')}: one receipt moves the scores by a lot, so "
                     f"compare runs on a larger evaluation set (at least {MIN_EVAL_RECEIPTS})")
    return tuple(notes)


def planned_split(summaries: Sequence[T], eval_summaries: Sequence[T] | None, hold_out: float,
                  is_labelled) -> tuple[list[T], tuple[str, ...]]:
    """The evaluation receipts a run on these datasets would score (``split_documents``, less those
    ``is_labelled`` says have no label) and :func:`evaluation_notes` on them, before it starts; ValueError when the
    split itself is refused (too few receipts: starting says why)."""
    # an unlabelled receipt is neither trained nor scored: split the labelled ones, as Start does (split_labelled)
    train_part, eval_part = split_documents([s for s in summaries if is_labelled(s)], eval_summaries, hold_out)
    scored = [s for s in eval_part if is_labelled(s)]
    return scored, evaluation_notes([s.id for s in train_part], [s.id for s in scored])


TRAIN_SUFFIX = "-train"
EVAL_SUFFIXES = ("-dev", "-eval", "-test", "-val")


def first_dataset(names: Sequence[str]) -> str | None:
    """The dataset a new session shows: the first by name, or its training sibling when it is an evaluation set
    (``cord-sample-dev`` sorts before ``cord-sample-train``: showing it would offer to delete the evaluation set);
    an evaluation set without its sibling only when nothing else is left (walkthrough 32 deleted cord-sample-train
    and was shown cord-sample-dev, ready to delete it too, beside its own upload dataset)."""
    if not names:
        return None
    paired = paired_datasets(names, names[0])[0]
    if (parts := _role_parts(paired)) is None or parts[1] == TRAIN_SUFFIX:
        return paired
    return next((name for name in names if (role := _role_parts(name)) is None or role[1] == TRAIN_SUFFIX), paired)


def evaluated_dataset(names: Sequence[str], name: str | None) -> str | None:
    """The training dataset whose evaluation sibling ``name`` is (``cord-sample-dev`` -> ``cord-sample-train``),
    else None."""
    train, evaluation = paired_datasets(names, name) if name in names else (None, None)
    return train if evaluation == name and train != name else None


def paired_datasets(names: Sequence[str], chosen: str | None) -> tuple[str | None, str | None]:
    """The training and evaluation datasets a Train page should start from, given the dataset in view.

    Datasets named as a pair (``cord-sample-train`` / ``cord-sample-dev``, and with a qualifier after the role as
    README's ``wildreceipt-train-ocr`` / ``wildreceipt-dev-ocr``) train on the ``-train`` one and evaluate on its
    sibling, whichever of the two is in view; any other dataset trains on itself with no evaluation set (None: hold
    part of it out)."""
    if chosen not in names:
        chosen = names[0] if names else None
    if chosen is None:
        return None, None
    if (parts := _role_parts(chosen)) is None:
        return chosen, None
    stem, role, rest = parts
    if role != TRAIN_SUFFIX:
        return (stem + TRAIN_SUFFIX + rest, chosen) if stem + TRAIN_SUFFIX + rest in names else (chosen, None)
    return chosen, next((stem + suffix + rest for suffix in EVAL_SUFFIXES if stem + suffix + rest in names), None)


def _role_parts(name: str) -> tuple[str, str, str] | None:
    """(stem, role, qualifier) of a dataset name whose last role token (``-train``, ``-dev``, …) ends it or is
    followed by a ``-`` qualifier: ``wildreceipt-dev-ocr`` is ("wildreceipt", "-dev", "-ocr"), and probe 32 found
    it paired with nothing; None for a name without one (``my-testing`` has none)."""
    found = None
    for role in (TRAIN_SUFFIX, *EVAL_SUFFIXES):
        at = name.rfind(role)
        while at > 0 and not (name[at + len(role):] == "" or name[at + len(role):].startswith("-")):
            at = name.rfind(role, 0, at)
        if at > 0 and (found is None or at > len(found[0])):
            found = (name[:at], role, name[at + len(role):])
    return found
