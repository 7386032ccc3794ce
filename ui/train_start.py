"""Train's Start and Runs' Resume, apart from their widgets: the receipts a run trains and is scored on, how its
header names it, and the call that launches it in the training slot."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from receipt_core.data.document import Document
from receipt_core.data.review import DONE, mostly_unlabelled
from receipt_core.datasets.splits import split_labelled
from receipt_core.training.run_documents import document_ids, eval_ids, train_ids
from receipt_core.training.config import PretrainConfig, ReferenceConfig, TrainConfig
from receipt_core.training.runs import (default_run_name, own_evaluation_documents, own_training_documents, resume_run,
                                        saved_train_config, start_pretrain_run, start_reference_run, start_run)
from receipt_core.wording import counted
from receipt_core.workspace.store import Workspace

RunConfig = TrainConfig | ReferenceConfig | PretrainConfig


@dataclass(frozen=True)
class StartRequest:
    """What Start was pressed with: the run's config (``watch`` is filled in here) and its data."""

    config: RunConfig
    train_sets: tuple[str, ...]  # the training dataset, then the "also train on" ones
    evaluation: str | None  # an evaluation dataset; None: a held-out share of the training receipts
    hold_out: float
    watch: str | None = None  # the receipt picked for live predictions


@dataclass(frozen=True)
class PreparedStart:
    """A run ready for ``JobSlot.start``: nothing is created until ``launch`` is called."""

    launch: Callable[[], tuple[str, Any]]
    description: str  # the run's header while it trains
    left_out_note: str | None = None  # training receipts left out for want of labels, or mostly unlabelled


def prepare_start(workspace: Workspace, request: StartRequest) -> PreparedStart:
    """Load and split the receipts of ``request`` as a run would (pre-training reads every receipt; the others
    only those labelled by a person or an import, ``data/review.py``); ValueError with a message for the user when
    there is nothing to train or score on."""
    config = request.config
    training_data = " + ".join(request.train_sets)
    if isinstance(config, PretrainConfig):  # masked words need no labels: every receipt serves
        docs = workspace.load_documents_of(request.train_sets)
        return PreparedStart(
            launch=lambda: _started(start_pretrain_run(workspace, config, docs)),
            description=f"{config.backbone} · layout pre-training · {len(docs)} receipts of {training_data}")
    train_docs, eval_docs, left_out = chosen_documents(workspace, request.train_sets, request.evaluation,
                                                       request.hold_out)
    data = described_data(train_docs, eval_docs, training_data, request.evaluation)
    if isinstance(config, ReferenceConfig):
        return PreparedStart(launch=lambda: _started(start_reference_run(workspace, config, train_docs, eval_docs)),
                             description=f"{config.backbone} · reference tagger · {data}", left_out_note=left_out)
    eval_ids = [d.id for d in eval_docs]
    watch = request.watch if request.watch in eval_ids else eval_ids[0] if eval_ids else None
    config = dataclasses.replace(config, watch=(watch,) if watch else ())
    # its hand toggles too, as the run's name on Runs has them (a walkthrough)
    return PreparedStart(launch=lambda: _started(start_run(workspace, config, train_docs, eval_docs)),
                         description=f"{default_run_name(config)} · {data}", left_out_note=left_out)


def prepare_resume(workspace: Workspace, run, train_sets: tuple[str, ...] | None, evaluation: str | None,
                   hold_out: float, max_minutes: float | None) -> PreparedStart:
    """Runs' Resume of ``run`` (a workspace RunRecord): on its own receipts (``train_sets`` None: read back by id
    now, those that lost every label left out and named) or on the datasets chosen, with the time budget given for
    all of it (its clock goes on from where it stopped: with its old budget a walkthrough's run stopped at 54 s of 60
    resumed for one step, and a run without one could not be given one)."""
    config = dataclasses.replace(saved_train_config(run.config), max_minutes=max_minutes)
    if train_sets is None:  # read here, so that receipts whose labels went since are named before it starts
        training = own_training_documents(workspace, run.id, run.config)
        evaluation = own_evaluation_documents(workspace, run.id, run.config)
        train_docs, eval_docs = list(training.documents), list(evaluation.documents)
        left_out = "; ".join(note for note in (training.note("train"), evaluation.note("eval")) if note) or None
        data = own_data(workspace, {**run.config, **document_ids(train_docs, eval_docs)})
    else:
        train_docs, eval_docs, left_out = chosen_documents(workspace, train_sets, evaluation, hold_out)
        data = described_data(train_docs, eval_docs, " + ".join(train_sets), evaluation)
    # the header puts the Runs name before this: the label again read as the name twice, and the backbone,
    # scenario and datasets a Start's header names were gone (a walkthrough)
    return PreparedStart(launch=lambda: (run.id, resume_run(workspace, run.id, train_docs, eval_docs, config=config)),
                         description=f"resumed · {default_run_name(config)} · {data}", left_out_note=left_out)


def own_data(workspace: Workspace, run_config) -> str:
    """How a resume on a run's own receipts names its data: the counts its config records and the datasets that
    hold those receipts now (a run older than the record of its receipts' ids: "its own receipts")."""
    counts = f"{run_config.get('train_documents', '?')} train", f"{run_config.get('eval_documents', '?')} eval"
    if not train_ids(run_config):
        return f"{counts[0]} / {counts[1]}, its own receipts"

    def held_in(ids: list[str]) -> str:
        names = Counter(workspace.datasets_of(ids).values())
        return " + ".join(name for name, _ in names.most_common()) or "receipts no longer in the workspace"

    return f"{counts[0]} of {held_in(train_ids(run_config))} / {counts[1]} of {held_in(eval_ids(run_config))}"


def described_data(train_docs: Sequence, eval_docs: Sequence, training_data: str, evaluation: str | None) -> str:
    """How a run's header names its data, the datasets by name: a finished run's header under another dataset's
    picker read as trained on that one (a walkthrough)."""
    return (f"{len(train_docs)} train of {training_data} / {len(eval_docs)} eval "
            + (f"of {evaluation}" if evaluation is not None else "held out of it"))


@dataclass(frozen=True)
class TrainingLabels:
    """What Train says of its training receipts' labels before Start (``training_labels``)."""

    warning: str | None  # some have no label from a person or an import: Start leaves them out
    none_labelled: bool  # not one has: Start is off, as it could only be refused


def training_labels(summaries: Sequence, train_sets: Sequence[str]) -> TrainingLabels:
    """The labels of the training receipts (workspace DocumentSummary) as Start takes them: the names quoted as
    Python does (for ``notice_markdown``). A walkthrough's dataset of three fresh photos, picked by the sidebar,
    was found out only by Start's refusal, and then a Start that could only fail was still offered."""
    unlabelled = sum(1 for summary in summaries if summary.labelled_words == 0)
    # receipts left midway (not done): their unlabelled words would train as OTHER (a probe)
    partly = sum(1 for summary in summaries if summary.status != DONE
                 and mostly_unlabelled(summary.words, summary.labelled_words))
    warnings = [text for text in (_unlabelled_warning(unlabelled, len(summaries), train_sets),
                                  _partly_labelled_warning(partly)) if text]
    return TrainingLabels(warning=" ".join(warnings) or None,
                          none_labelled=bool(summaries) and unlabelled == len(summaries))


def _unlabelled_warning(unlabelled: int, receipts: int, train_sets: Sequence[str]) -> str | None:
    if not unlabelled:
        return None
    names = " + ".join(repr(name) for name in train_sets)
    left = "all of them" if unlabelled == receipts else "them"
    return (f"{unlabelled} of the {counted(receipts, 'receipt')} of {names} "
            f"{'has' if unlabelled == 1 else 'have'} no label from a person or an import, so a run leaves {left} "
            "out: label them on Annotate, or choose a labelled dataset (Home loads the CORD sample).")


def _partly_labelled_warning(partly: int) -> str | None:
    if not partly:
        return None
    one = partly == 1
    return (f"{partly} {'receipt is' if one else 'receipts are'} in progress with most words unlabelled: a run "
            "trains those words as OTHER. Finish labelling them on Annotate if some are fields or quantities.")


def chosen_documents(workspace: Workspace, train_sets: Sequence[str], evaluation: str | None,
                     hold_out: float) -> tuple[list[Document], list[Document], str | None]:
    """The training and evaluation receipts of datasets picked on a page (Train's Start, Runs' Resume): the
    labelled receipts of ``train_sets``, scored on ``evaluation``'s, else on a ``hold_out`` share of them; and a
    note of the receipts left out for want of labels, if any."""
    labelled = workspace.training_documents_of(train_sets)
    chosen_eval = None if evaluation is None else workspace.evaluation_documents(evaluation).documents
    train_docs, eval_docs = split_labelled(labelled, chosen_eval, hold_out)
    return train_docs, eval_docs, labelled.note("train")


def _started(job) -> tuple[str, Any]:
    return job.run_id, job
