"""The loop with the model while annotating: retrain the suggestion model's heads on the receipts people reviewed.

When a receipt is marked done, :func:`start_suggestion_retrain` starts a short frozen-backbone run (scenario
``freeze-backbone``: only the heads learn, over cached backbone features, so it takes seconds to a minute) on the
dataset's *done* receipts, through the server's one job slot. When the slot is busy it raises
:class:`~receipt_core.training.slot.JobBusyError` saying what runs, rather than queueing silently. Its checkpoint
then gives the suggestions and the "least confident" ranking of the next receipts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.review import DONE, MIN_REVIEWED, NoLabelsError
from ..wording import counted
from .config import TrainConfig
from .runs import start_run
from .slot import ActiveJob, JobSlot

RETRAIN_MINUTES = 1.0  # the budget of one retraining: a short run the annotator waits for between receipts
RETRAIN_EPOCHS = 8


@dataclass(frozen=True)
class Retraining:
    active: ActiveJob
    receipts: int  # the reviewed receipts it learns from


SUGGESTIONS_PURPOSE = "annotation suggestions"  # a retraining's run config "purpose" (Train says what it is)


def is_suggestion_run(config) -> bool:
    """Whether a run's config is that of Annotate's retraining of its suggestions (started by
    :func:`start_suggestion_retrain`)."""
    return config.get("purpose") == SUGGESTIONS_PURPOSE


def suggestion_config(backbone: str, minutes: float = RETRAIN_MINUTES) -> TrainConfig:
    """The settings of a retraining: heads only on a frozen ``backbone``, a short budget, one checkpoint."""
    return TrainConfig.for_scenario("freeze-backbone", backbone=backbone, epochs=RETRAIN_EPOCHS, max_minutes=minutes,
                                    save_every_epoch=False)


def start_suggestion_retrain(workspace, slot: JobSlot, dataset: str, backbone: str,
                             minutes: float = RETRAIN_MINUTES) -> Retraining:
    """Start retraining the heads on ``dataset``'s done receipts in the background; JobBusyError when a run is in
    progress, NoLabelsError when no receipt is done yet. The run evaluates on the same receipts (it ranks the
    other receipts; its scores say how well it fits what people reviewed, not how it generalises)."""
    done = {s.id for s in workspace.list_documents(dataset, status=DONE)}
    docs = [d for d in workspace.training_documents(dataset).documents if d.id in done]
    if not docs:
        raise NoLabelsError(f"no receipt of {dataset!r} is done yet; mark a labelled receipt done first")
    if len(docs) < MIN_REVIEWED:  # heads trained on one receipt replaced a run that scored 0.94 (a walkthrough)
        # labelled ones: a done receipt with no label teaches nothing, and a walkthrough read "1 receipt is done"
        # beside a status caption of "done 2"
        raise NoLabelsError(f"{counted(len(docs), 'labelled receipt')} of {dataset!r} "
                            f"{'is' if len(docs) == 1 else 'are'} done; retraining starts at {MIN_REVIEWED}, since "
                            "heads learnt from fewer suggest less well than the run you chose, whose suggestions "
                            "stay.")
    config = suggestion_config(backbone, minutes)

    def launch():
        job = start_run(workspace, config, docs, docs, name=f"suggestions · {dataset} · {len(docs)} reviewed",
                        notes={"dataset": dataset, "purpose": SUGGESTIONS_PURPOSE})
        return job.run_id, job

    active = slot.start(launch, description=f"suggestion heads on {len(docs)} reviewed receipts of {dataset}")
    return Retraining(active=active, receipts=len(docs))
