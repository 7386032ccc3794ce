"""The reference tagger and layout pre-training run through the one loop: started as workspace runs, watched
through the stored events, paused, resumed and stopped like a two-head run (tiny backbone, real CORD receipts)."""

from __future__ import annotations

import os
import threading

import pytest

from conftest import require_shared_data
from receipt_core.datasets import load_dataset
from receipt_core.training.events import (EvalEvent, FinishedEvent, PhaseEvent, StatusEvent, StepEvent,
                                          event_from_json)
from receipt_core.training.config import PretrainConfig, ReferenceConfig
from receipt_core.training.run_feed import RunFeed
from receipt_core.training.runs import (PRETRAINED_BACKBONE_DIR, RUN_KIND, resume_run, start_pretrain_run,
                                        start_reference_run)
from receipt_core.workspace.store import Workspace


@pytest.fixture(scope="module")
def receipts():
    train = load_dataset(require_shared_data("cord", "train"), "cord").documents
    dev = load_dataset(require_shared_data("cord", "dev"), "cord").documents
    return train[:12], dev[:3]


def _pause_then_resume(job, seen: list, at_step: int = 2) -> None:
    """Pause the job once it reaches ``at_step``, check it holds, then resume it (from another thread)."""
    paused = threading.Event()

    def watch(event):
        if isinstance(event, StepEvent) and event.step == at_step:
            job.pause()
        if isinstance(event, StatusEvent) and event.status == "paused":
            paused.set()

    job.add_listener(watch)
    assert paused.wait(timeout=120), "the job never paused"
    steps_when_paused = sum(isinstance(e, StepEvent) for e in seen)
    threading.Event().wait(0.5)
    assert sum(isinstance(e, StepEvent) for e in seen) == steps_when_paused, "a step ran while paused"
    job.resume()


def test_reference_tagger_runs_pauses_and_finishes_as_a_workspace_run(receipts, workspace_home):
    train, dev = receipts
    ws = Workspace.open(workspace_home)
    seen: list = []
    config = ReferenceConfig(backbone="tiny", epochs=2, batch_size=4, lr=1e-3)
    job = start_reference_run(ws, config, train, dev, listeners=[seen.append])
    _pause_then_resume(job, seen)
    assert job.join(timeout=300)
    assert isinstance(job.result, FinishedEvent) and job.result.reason == "completed", job.result
    run = ws.get_run(job.run_id)
    assert run.status == "finished" and run.config[RUN_KIND] == "reference"
    stored = [event_from_json(e.kind, e.payload) for e in ws.run_events(job.run_id)]
    assert stored == seen
    assert [e.status for e in stored if isinstance(e, StatusEvent)] == ["paused", "running"]
    evals = [e for e in stored if isinstance(e, EvalEvent)]
    assert len(evals) == 2 and 0 <= evals[-1].metrics["fields.micro_f1"] <= 1
    assert (ws.run_dir(job.run_id) / "reference" / "config.json").is_file()
    feed = RunFeed(job.run_id)
    feed.poll(ws)
    curves = feed.curves()
    assert set(curves.train_loss["series"]) == {"total", "tags"} and curves.status == "finished"
    phase = next(e for e in stored if isinstance(e, PhaseEvent))
    assert phase.trainable_parameters == phase.total_parameters > 0
    with pytest.raises(ValueError, match="reference run"):
        resume_run(ws, job.run_id)


def test_pretraining_runs_stops_and_saves_a_backbone_as_a_workspace_run(receipts, workspace_home):
    train, _ = receipts
    ws = Workspace.open(workspace_home)
    seen: list = []
    config = PretrainConfig(backbone="tiny", epochs=50, batch_size=2, lr=1e-3)
    job = start_pretrain_run(ws, config, train, listeners=[seen.append])
    stopped = threading.Event()

    def stop_at_step_three(event):
        if isinstance(event, StepEvent) and event.step == 3:
            job.stop()
            stopped.set()

    job.add_listener(stop_at_step_three)
    assert job.join(timeout=300)
    assert stopped.is_set()
    assert isinstance(job.result, FinishedEvent) and job.result.reason == "stopped"
    assert job.result.step <= 4  # the stop takes effect within one step
    run = ws.get_run(job.run_id)
    assert run.status == "stopped" and run.config[RUN_KIND] == "pretrain"
    assert (ws.run_dir(job.run_id) / PRETRAINED_BACKBONE_DIR / "config.json").is_file()
    steps = [e for e in seen if isinstance(e, StepEvent)]
    assert steps and set(steps[0].task_losses) == {"masked_words"}
    evals = [e for e in seen if isinstance(e, EvalEvent)]
    assert evals and 0 <= evals[-1].metrics["masked_words.accuracy"] <= 1


def test_a_run_whose_receipts_were_deleted_says_to_resume_it_on_a_dataset(workspace_home):
    """Found by a probe: Resume after the run's dataset was deleted said "pass the documents to resume_run"."""
    from receipt_core.data.document import Document, Word
    from receipt_core.training.run_documents import missing_run_documents

    ws = Workspace.open(workspace_home)
    ws.save_documents("kept", [Document(id="k1", width=50, height=50, words=(Word(text="x", box=(1, 1, 9, 9)),))])
    run_id = ws.create_run("tiny · full", {"train_ids": ["k1", "gone-1", "gone-2"], "eval_ids": ["gone-3"]})
    ws.set_run_status(run_id, "stopped")
    (ws.run_dir(run_id) / "run.json").write_text("{}")  # a checkpoint as far as resume_run first looks
    assert missing_run_documents(ws, ws.get_run(run_id).config) == ["gone-1", "gone-2", "gone-3"]
    with pytest.raises(ValueError) as refused:
        resume_run(ws, run_id)
    assert str(refused.value) == (f"2 receipts of run {run_id!r} are not in the workspace (for example "
                                  "'gone-1': deleted since it started, or read from a folder by `train` on the command "
                                  "line): resume it on a dataset instead (Runs: choose a training dataset)")


def test_a_run_says_whether_it_trained_on_photos(workspace_home):
    """A second walkthrough: a run trained on CORD's typed words showed 'field micro-F1 0.937' beside confident
    nonsense on a phone photo; Predict now says when the run never saw an OCR'd photo."""
    from receipt_core.data.document import Document, Word
    from receipt_core.training.run_documents import trained_on_photos

    ws = Workspace.open(workspace_home)
    word = (Word(text="x", box=(1, 1, 9, 9)),)
    ws.save_documents("typed", [Document(id="t1", width=50, height=50, words=word)])
    ws.save_documents("photos", [Document(id="p1", width=50, height=50, words=word, image_sha256="ab" * 32)])
    assert trained_on_photos(ws, {"train_ids": ["t1"]}) is False
    assert trained_on_photos(ws, {"train_ids": ["t1", "p1"]}) is True
    assert trained_on_photos(ws, {}) is None and trained_on_photos(ws, {"train_ids": ["gone"]}) is None


def test_a_run_with_hand_toggles_is_named_with_them():
    """A walkthrough: a freeze-backbone run with encoder.5 switched on was named "text-minilm · freeze-backbone",
    like a plain one with a third of its trainable parameters."""
    from receipt_core.training.config import TrainConfig
    from receipt_core.training.runs import default_run_name

    assert default_run_name(TrainConfig(backbone="tiny", scenario="full")) == "tiny · full"
    toggled = TrainConfig(backbone="text-minilm", scenario="freeze-backbone", unfreeze=("encoder.5",),
                          freeze=("head.quantity",))
    assert default_run_name(toggled) == "text-minilm · freeze-backbone +encoder.5 −head.quantity"
    # a folder by its last two parts: walkthrough 52's runs were named by the whole path, over three lines in the
    # sidebar (the settings keep it whole)
    folder = TrainConfig(backbone="/tmp/walk52-home/runs/20261207-175849-94f209/backbone", scenario="phased")
    assert default_run_name(folder) == "20261207-175849-94f209/backbone · phased"


def test_a_run_a_live_process_trains_cannot_be_resumed_a_second_time(workspace_home):
    """A probe: a second process resumed a run another was already resuming; both trained into one folder and one
    log (104 steps twice, two "finished" events). Claiming the run is one transaction, refused while its trainer
    lives, and the refused resume changes nothing."""
    import subprocess
    import sys

    import psutil

    from receipt_core.workspace.store import WorkspaceError

    ws = Workspace.open(workspace_home)
    run_id = ws.create_run("tiny · full", {"train_ids": [], "eval_ids": []})
    ws.append_run_event(run_id, "step", {"step": 9})
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with ws._write() as conn:
            conn.execute("UPDATE runs SET status = 'running', pid = ?, process_started = ? WHERE id = ?",
                         (other.pid, psutil.Process(other.pid).create_time(), run_id))
        with pytest.raises(WorkspaceError, match=f"run '{run_id}' is already running in another process "
                                                 f"\\(pid {other.pid}\\); only one trainer may continue a run"):
            ws.claim_run(run_id)
        assert ws.get_run(run_id).pid == other.pid and len(ws.run_events(run_id)) == 1
    finally:
        other.kill()
        other.wait()
    ws.claim_run(run_id)  # its trainer is gone: this process takes it
    assert ws.get_run(run_id).status == "running" and ws.get_run(run_id).pid == os.getpid()
    with pytest.raises(WorkspaceError, match="is already running in this process"):
        ws.claim_run(run_id)


def test_a_study_names_a_backbone_folder_as_a_run_does():
    """Study names kept a backbone folder's whole path (runs named it by its last two parts), over three lines in the
    Runs → Studies table; two configurations are still told apart by their whole folders."""
    from receipt_core.study.race_record import RacePlan
    from receipt_core.study.settings import StudyConfig, StudySettings

    folder = "/tmp/home/runs/20261207-175849-94f209/backbone"
    assert StudyConfig(folder, "phased").name == "20261207-175849-94f209/backbone · phased"
    assert StudyConfig(folder, "reference").name == "reference (20261207-175849-94f209/backbone)"
    assert StudyConfig(folder, "phased").slug.startswith("-tmp-home-runs-")  # its folder still says it all
    assert StudyConfig("tiny", "full").name == "tiny · full"
    twins = (StudyConfig(f"/a{folder}", "full"), StudyConfig(f"/b{folder}", "full"))
    RacePlan(train_data="t", configs=twins, settings=StudySettings())  # told apart, though named alike
    with pytest.raises(ValueError, match="configurations repeat"):
        RacePlan(train_data="t", configs=(twins[0], twins[0]), settings=StudySettings())
