"""Which receipts a workspace run reads: the ids its config records when it starts, and the live runs that read a
dataset's receipts (the Data page warns before such a dataset is deleted); and whether the command line started
it. Light: no model code is imported."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..data.document import Document
from ..wording import counted
from ..workspace.run_labels import display_name, run_labels
from ..workspace.runs import LIVE_STATUSES

TRAIN_IDS_KEY, EVAL_IDS_KEY = "train_ids", "eval_ids"  # keys of a run's config: its training and evaluation receipts
DOCUMENT_ID_KEYS = (TRAIN_IDS_KEY, EVAL_IDS_KEY)
STARTED_FROM_KEY = "started_from"  # key of a run's config: "command line" for a run `train` keeps in the workspace
COMMAND_LINE = "command line"
RESUMED_FROM = "resumed_from_steps"  # key of a run's config: the checkpoint step each of its resumes went on from


MAX_RESUMES_KEPT = 100  # resumes a run's record keeps (each one step number)


def resumed_from_steps(run_config: Mapping[str, Any]) -> list[int]:
    """The checkpoint step each resume of a run went on from, in order ([] for a run never resumed). What is not
    a whole step from 0 to 2**31 is left out, and the last :data:`MAX_RESUMES_KEPT` at most are read (a probe's tampered
    record of 20,001 steps, one of 41 digits, filled the Runs page's caption)."""
    steps = run_config.get(RESUMED_FROM)
    if not isinstance(steps, list):
        return []
    return [step for step in steps[-MAX_RESUMES_KEPT:]
            if isinstance(step, int) and not isinstance(step, bool) and 0 <= step < 2 ** 31]


def started_on_command_line(config) -> bool:
    """Whether the run was started by ``train``/``reference``/``pretrain`` without ``--out``."""
    return config.get(STARTED_FROM_KEY) == COMMAND_LINE


def train_ids(config) -> list[str]:
    """The ids of the receipts a run trained on, as its config records them ([] for runs older than the record)."""
    return list(config.get(TRAIN_IDS_KEY) or ())


def eval_ids(config) -> list[str]:
    """The ids of the receipts a run evaluated on, as its config records them ([] when none or not recorded)."""
    return list(config.get(EVAL_IDS_KEY) or ())


def scored_on_own_training(config) -> bool:
    """Whether a run evaluated only on receipts it also trained on (Annotate's retraining of the suggestion heads):
    its scores say how it fits them, not how it reads new receipts."""
    evaluated_on = eval_ids(config)
    return bool(evaluated_on) and set(evaluated_on) <= set(train_ids(config))


def trained_datasets(config, dataset_of: Mapping[str, str]) -> list[str]:
    """The datasets (of ``dataset_of``, receipt id → its dataset now) that hold the receipts a run trained on, most
    receipts first; [] when none of them is in the workspace any more (or the run recorded none)."""
    counts = Counter(dataset_of[doc_id] for doc_id in train_ids(config) if doc_id in dataset_of)
    return [name for name, _ in counts.most_common()]


def trained_datasets_of_runs(workspace, runs) -> dict[str, list[str]]:
    """:func:`trained_datasets` of each run (``RunRecord``s) by run id, from one look-up of the receipts they
    trained on (not every summary of the workspace)."""
    dataset_of = workspace.datasets_of({doc_id for run in runs for doc_id in train_ids(run.config)})
    return {run.id: trained_datasets(run.config, dataset_of) for run in runs}


def document_ids(train_docs: Sequence[Document], eval_docs: Sequence[Document]) -> dict[str, Any]:
    """What a run's config records of its receipts: their counts and ids (a resume reads them back by id)."""
    return {"train_documents": len(train_docs), "eval_documents": len(eval_docs),
            TRAIN_IDS_KEY: [doc.id for doc in train_docs], EVAL_IDS_KEY: [doc.id for doc in eval_docs]}


def missing_run_documents(workspace, config) -> list[str]:
    """The ids a run's config records (:data:`DOCUMENT_ID_KEYS`) that the workspace no longer holds: deleted since
    the run started, so a resume on its own receipts cannot find them."""
    ids = train_ids(config) + eval_ids(config)
    held = workspace.datasets_of(ids)
    return [doc_id for doc_id in ids if doc_id not in held]


def trained_on_photos(workspace, config) -> bool | None:
    """Whether any of a run's training receipts came with an image (an OCR'd upload or photo dataset) rather than
    words typed by annotators (CORD's); None when the run does not record its receipts or none is left."""
    held = workspace.datasets_of(train_ids(config))
    return bool(workspace.with_images(held)) if held else None


PHOTO_GAP_NOTE = ("This run trained only on receipts without photos (words typed by annotators, as CORD's), so its "
                  "validation scores do not carry over to a photo. CORD's receipts hold only their item and total "
                  "lines: a run trained on them has never seen a shop's name, address, phone number or card details, "
                  "and reads such lines as items and prices, its confidence high all the same (an address line can "
                  "come out as an item at 0.99, its street number as the price). The OCR's misreadings and a photo's "
                  "tilt come on top. For photos, train on OCR'd photos too: upload them through Data → Upload & OCR "
                  "and label them on Annotate, or import a labelled dataset of photos with Data → Import's *Read the "
                  "images with OCR*.")


def photo_gap_note(workspace, config, reads_photo: bool) -> str | None:
    """:data:`PHOTO_GAP_NOTE` when a run that never trained on a photo (``trained_on_photos`` False) is about to read
    one (``reads_photo``); None otherwise. Predict and Annotate's suggestions say it alike (a walkthrough accepted a
    CORD run's confident suggestions on a photo's wood-grain background, warned on Predict only)."""
    return PHOTO_GAP_NOTE if reads_photo and trained_on_photos(workspace, config) is False else None


@dataclass(frozen=True)
class RunReadingDataset:
    """A run whose training or evaluation receipts include some of a dataset's."""
    run_id: str
    name: str
    training: int  # how many of the dataset's receipts it trains on
    evaluating: int  # and evaluates on
    live: bool = True  # training or paused now

    def reads(self) -> str:
        """What it does with them: "is training on 2 receipts of this dataset and evaluating on 1" (a walkthrough
        read "training on 50 receipts" of the dataset the run only evaluated on)."""
        if self.training and self.evaluating:
            return (f"is training on {counted(self.training, 'receipt')} of this dataset and evaluating on "
                    f"{self.evaluating:,}")
        if self.training:
            return f"is training on {counted(self.training, 'receipt')} of this dataset"
        return f"is evaluating on {counted(self.evaluating, 'receipt')} of this dataset"


def runs_reading(workspace, dataset: str) -> list[RunReadingDataset]:
    """Every run that reads receipts of ``dataset``, live or not (its dataset's receipts read once). Deleting the
    dataset leaves a live run training on the receipts it loaded, but no run can then be resumed on its own
    receipts, and Runs no longer finds them (a walkthrough deleted a dataset five ended runs had trained on, and was
    told nothing)."""
    return _runs_reading(workspace, [summary.id for summary in workspace.list_documents(dataset)])


def live_runs_reading_receipts(workspace, doc_ids: Iterable[str]) -> list[RunReadingDataset]:
    """The live runs whose training or evaluation receipts include any of ``doc_ids`` (the Data page asks before
    one receipt is deleted)."""
    return [reader for reader in _runs_reading(workspace, doc_ids) if reader.live]


def _runs_reading(workspace, doc_ids: Iterable[str]) -> list[RunReadingDataset]:
    ids = set(doc_ids)
    readers = []
    labels = run_labels(workspace)  # the name given on Runs, as the pickers show it (a probe found the old one here)
    for run in workspace.list_runs():
        training, evaluating = ids.intersection(train_ids(run.config)), ids.intersection(eval_ids(run.config))
        if training or evaluating:
            readers.append(RunReadingDataset(run.id, display_name(run, labels), len(training), len(evaluating),
                                             live=run.status in LIVE_STATUSES))
    return readers
