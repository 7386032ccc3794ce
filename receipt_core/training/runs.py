"""Workspace runs: a run record, a run folder, a store listener and a started background job, for each kind of
run the dashboard and the CLI start — the two-head receipt model (:func:`start_run`, :func:`resume_run`), the plain
reference tagger (:func:`start_reference_run`) and layout pre-training (:func:`start_pretrain_run`). Every kind
runs through the one loop, so every kind is watched, paused and stopped the same way. The ``new_*`` functions make
the same run without starting its job: the CLI runs it in the foreground, and the dashboard lists it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..data.document import Document
from ..data.review import LabelledDocuments, NoLabelsError, evaluation_documents, labelled_documents
from ..data.schema import DEFAULT_SCHEMA, LabelSchema, unknown_label_problem
from ..model.backbone_names import PRETRAINED_BACKBONE_DIR, backbone_label
from ..model.checkpoint import (CheckpointError, checkpoint_step, has_checkpoint, read_run_info, saved_by_another_run,
                                verify_files)
from .config import PretrainConfig, ReferenceConfig, TrainConfig
from .events import Event
from .job import StoreListener, TrainingJob
from .pretrain import PretrainTask
from .run_documents import RESUMED_FROM, document_ids, eval_ids, resumed_from_steps, train_ids
from .receipt_task import build_resumed_task, build_task
from .reference import ReferenceTask
from ..wording import counted
from ..workspace.database import WorkspaceError

RUN_KIND = "run_kind"  # key in a workspace run's config: "receipt" (absent in older runs), "reference", "pretrain"




def new_run(workspace, config: TrainConfig, train_docs: Sequence[Document], eval_docs: Sequence[Document],
            name: str | None = None, schema: LabelSchema = DEFAULT_SCHEMA,
            listeners: Sequence[Callable[[Event], None]] = (), notes: Mapping[str, Any] | None = None) -> TrainingJob:
    """Create a workspace run, and the job whose events are stored under it, not started yet (the CLI runs it in
    the foreground: ``train`` without ``--out``).

    The run's config records the hyperparameters, the documents' ids (so :func:`resume_run` can find them
    again) and any ``notes`` (e.g. dataset names); ``job.run_id`` names the run.
    """
    _refuse_unknown_labels([*train_docs, *eval_docs], schema)
    name = name or default_run_name(config)
    config = config.for_training_set(len(train_docs))
    run_config = {**config.to_json(), RUN_KIND: "receipt", **document_ids(train_docs, eval_docs),
                  **dict(notes or {})}
    run_id, run_dir = _recorded_run(workspace, name, run_config)
    job = TrainingJob(lambda: build_task(config, train_docs, eval_docs, run_dir, schema), config, name=name,
                      run_id=run_id)
    return _stored(workspace, run_id, job, listeners)


def _refuse_unknown_labels(documents: Sequence[Document], schema: LabelSchema) -> None:
    """Before a run is recorded: a word labelled with no field of ``schema`` (``unknown_label_problem``)."""
    if (problem := unknown_label_problem(documents, schema)) is not None:
        raise ValueError(problem)


def _recorded_run(workspace, name: str, run_config: Mapping[str, Any]) -> tuple[str, Path]:
    """A new run's record and its folder. When the folder cannot be made, the record goes too and the error says
    why: nothing started (a probe's read-only runs/ left a "running" row, later called "interrupted")."""
    run_id = workspace.create_run(name, run_config)
    try:
        return run_id, workspace.run_dir(run_id)
    except OSError as error:
        workspace.set_run_status(run_id, "failed")  # no longer live, so it can be deleted
        workspace.delete_run(run_id)
        raise WorkspaceError(f"cannot make the run's folder in {workspace.runs_dir}: {error.strerror or error}; "
                             "check that the workspace folder can be written") from None


def default_run_name(config: TrainConfig) -> str:
    """``backbone · scenario``, with the hand toggles after it (``+encoder.5 −head.quantity``): a toggled run kept
    its scenario's name and could not be told from a plain one on Runs (a walkthrough)."""
    toggles = [f"+{group}" for group in config.unfreeze] + [f"−{group}" for group in config.freeze]
    return " ".join([f"{backbone_label(config.backbone)} · {config.scenario}", *toggles])


def start_run(workspace, config: TrainConfig, train_docs: Sequence[Document], eval_docs: Sequence[Document],
              name: str | None = None, schema: LabelSchema = DEFAULT_SCHEMA,
              listeners: Sequence[Callable[[Event], None]] = (), notes: Mapping[str, Any] | None = None
              ) -> TrainingJob:
    """:func:`new_run`, started in the background; the caller (one job per server) keeps it."""
    return new_run(workspace, config, train_docs, eval_docs, name, schema, listeners, notes).start()


RESUMABLE_SETTINGS = ("max_minutes", "epochs")  # what a resume may change of a run's config


def resume_run(workspace, run_id: str, train_docs: Sequence[Document] | None = None,
               eval_docs: Sequence[Document] | None = None, config: TrainConfig | None = None,
               listeners: Sequence[Callable[[Event], None]] = ()) -> TrainingJob:
    """Continue a stopped, failed or interrupted run from its last checkpoint, under the same run id.

    Without documents, the run's own training and evaluation documents are read back from the workspace by
    the ids recorded at the start (with their current labels). ``config`` may extend the epochs or the budget.
    """
    run = workspace.get_run(run_id)
    run_dir = workspace.run_dir(run_id)
    if run.config.get(RUN_KIND, "receipt") != "receipt":
        raise CheckpointError(f"run {run_id!r} is a {run.config[RUN_KIND]} run; only two-head receipt runs resume")
    if not has_checkpoint(run_dir):
        raise CheckpointError(f"run {run_id!r} has no checkpoint yet; start a new run instead")
    if train_docs is None:
        train_docs = list(own_training_documents(workspace, run_id, run.config).documents)
    if eval_docs is None:
        eval_docs = list(own_evaluation_documents(workspace, run_id, run.config).documents)
    _refuse_unknown_labels([*train_docs, *eval_docs], DEFAULT_SCHEMA)
    # every file's hash before anything changes: a damaged model file found by the job's thread turned a stopped run
    # into a failed one and replaced its summary (a probe); refused here, the run stays as it was
    info = read_run_info(run_dir)
    if (foreign := saved_by_another_run(info, run_id)) is not None:  # probe 30: another run's folder in its place
        raise CheckpointError(f"cannot resume run {run_id!r}: {foreign}")
    verify_files(run_dir, info)
    if config is None:
        config = saved_train_config(run.config)
    job = TrainingJob(lambda: build_resumed_task(run_dir, train_docs, eval_docs, config), config, name=run.name,
                      run_id=run_id)
    # refused when a live process trains it already, before anything changes; a budget or epochs changed for
    # the resume are the run's from now on (Train's live status reads them)
    # so are the receipts of a resume on a dataset: Predict said "scored on 5 receipts" of the run's first dataset
    # after its final evaluation scored 2 of the one it was resumed on (a probe)
    # and the step it resumes from: Runs says it was resumed there (a walkthrough's run stopped by hand read
    # "finished (time budget)" after its resume, the stop gone from its record)
    step = checkpoint_step(run_dir)
    changes = {**{key: getattr(config, key) for key in RESUMABLE_SETTINGS},
               **document_ids(train_docs, eval_docs), RESUMED_FROM: [*resumed_from_steps(run.config), step]}
    workspace.claim_run(run_id, {key: value for key, value in changes.items() if run.config.get(key) != value})
    # the steps logged after the checkpoint are trained again: their old events go (one point per step)
    workspace.drop_run_events_after(run_id, step)
    return _stored(workspace, run_id, job, listeners).start()


def saved_train_config(run_config: Mapping[str, Any]) -> TrainConfig:
    """The TrainConfig a two-head run was started with, from its stored config (which also holds other keys)."""
    return TrainConfig.from_json({k: v for k, v in run_config.items()
                                  if k in {f.name for f in dataclasses.fields(TrainConfig)}})


def own_training_documents(workspace, run_id: str, run_config: Mapping[str, Any]) -> LabelledDocuments:
    """The receipts a run trained on, read back by id with their labels now, as a start takes a dataset's: those
    with no label from a person or an import any more are left out (``left_out``). NoLabelsError when none has
    one: a probe re-imported a run's receipts unlabelled, and its resume trained and scored on them all as OTHER."""
    labelled = labelled_documents(_documents_by_id(workspace, run_id, train_ids(run_config) or None))
    if not labelled.documents:
        raise NoLabelsError(f"run {run_id!r} trained on {counted(len(labelled.left_out), 'receipt')}, and none has a "
                            "label from a person or an import now (cleared, or imported again without labels, since "
                            "it started): resume it on a dataset instead (Runs: choose a training dataset)")
    return labelled


def own_evaluation_documents(workspace, run_id: str, run_config: Mapping[str, Any]) -> LabelledDocuments:
    """The receipts a run evaluated on, read back by id, as :func:`own_training_documents` reads its training ones;
    NoLabelsError when it had some and none has a label now (an unlabelled set is never scored)."""
    ids = eval_ids(run_config)
    if not ids:
        return LabelledDocuments(documents=(), left_out=())
    return evaluation_documents(_documents_by_id(workspace, run_id, ids), f"run {run_id!r}'s evaluation set")


def _documents_by_id(workspace, run_id: str, ids: Sequence[str] | None) -> list[Document]:
    if ids is None:
        raise ValueError(f"run {run_id!r} does not record which receipts it trained on (an older run): resume it on "
                         "a dataset (Runs: choose a training dataset; CLI: train --resume with --train and --eval)")
    by_id = {doc.id: doc for doc in workspace.load_documents()}
    missing = [doc_id for doc_id in ids if doc_id not in by_id]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ValueError(f"{counted(len(missing), 'receipt')} of run {run_id!r} {verb} not in the workspace "
                         f"(for example {missing[0]!r}: deleted since it started, or read from a folder by `train` "
                         "on the command line): resume it on a dataset instead "
                         "(Runs: choose a training dataset)")
    return [by_id[doc_id] for doc_id in ids]


def _stored(workspace, run_id: str, job: TrainingJob, listeners: Sequence[Callable[[Event], None]]) -> TrainingJob:
    """``job`` with its events stored under the workspace run, then handed to ``listeners``."""
    job.add_listener(StoreListener(workspace, run_id))
    for listener in listeners:
        job.add_listener(listener)
    return job


def new_reference_run(workspace, config: ReferenceConfig, train_docs: Sequence[Document],
                      eval_docs: Sequence[Document], name: str | None = None, schema: LabelSchema = DEFAULT_SCHEMA,
                      listeners: Sequence[Callable[[Event], None]] = (),
                      notes: Mapping[str, Any] | None = None) -> TrainingJob:
    """A workspace run of the plain reference tagger, not started (its model goes to ``run_dir/reference``)."""
    _refuse_unknown_labels([*train_docs, *eval_docs], schema)
    name = name or f"reference ({config.backbone})"
    run_config = {**dataclasses.asdict(config), RUN_KIND: "reference", **document_ids(train_docs, eval_docs),
                  **dict(notes or {})}
    run_id, run_dir = _recorded_run(workspace, name, run_config)
    job = TrainingJob(lambda: (ReferenceTask(config, train_docs, eval_docs, run_dir, schema), None), config,
                      name=name, run_id=run_id)
    return _stored(workspace, run_id, job, listeners)


def start_reference_run(workspace, config: ReferenceConfig, train_docs: Sequence[Document],
                        eval_docs: Sequence[Document], name: str | None = None, schema: LabelSchema = DEFAULT_SCHEMA,
                        listeners: Sequence[Callable[[Event], None]] = (),
                        notes: Mapping[str, Any] | None = None) -> TrainingJob:
    """:func:`new_reference_run`, started in the background."""
    return new_reference_run(workspace, config, train_docs, eval_docs, name, schema, listeners, notes).start()


def new_pretrain_run(workspace, config: PretrainConfig, documents: Sequence[Document], name: str | None = None,
                     listeners: Sequence[Callable[[Event], None]] = (),
                     notes: Mapping[str, Any] | None = None) -> TrainingJob:
    """A workspace run of layout pre-training, not started; the backbone goes to ``run_dir/backbone``, which
    ``--backbone DIR`` and the Train page's local backbone load."""
    name = name or f"pre-training ({config.backbone})"
    run_config = {**dataclasses.asdict(config), RUN_KIND: "pretrain", "train_documents": len(documents),
                  **dict(notes or {})}
    run_id, run_dir = _recorded_run(workspace, name, run_config)
    out_dir = Path(run_dir) / PRETRAINED_BACKBONE_DIR
    job = TrainingJob(lambda: (PretrainTask(config, documents, out_dir), None), config, name=name, run_id=run_id)
    return _stored(workspace, run_id, job, listeners)


def start_pretrain_run(workspace, config: PretrainConfig, documents: Sequence[Document], name: str | None = None,
                       listeners: Sequence[Callable[[Event], None]] = (),
                       notes: Mapping[str, Any] | None = None) -> TrainingJob:
    """:func:`new_pretrain_run`, started in the background."""
    return new_pretrain_run(workspace, config, documents, name, listeners, notes).start()
