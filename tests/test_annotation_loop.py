"""The loop with the model: marking a receipt done retrains the suggestion heads (frozen `tiny` backbone, a short
budget) on the reviewed receipts through the server's job slot; a busy slot or no reviewed receipt is said, never
queued; the Annotate page starts it when the annotator opted in."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from receipt_core.data.document import Document
from receipt_core.data.review import NoLabelsError
from receipt_core.model.checkpoint import has_checkpoint
from receipt_core.training.slot import JobBusyError, JobSlot
from receipt_core.training.suggestion_heads import start_suggestion_retrain, suggestion_config
from receipt_core.workspace.store import Workspace

REPO = Path(__file__).resolve().parent.parent


class _Running:
    """A job that stays alive until released: the slot is busy meanwhile."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.status = "running"
        self.control = SimpleNamespace(should_pause=False, should_stop=False)  # what the sidebar's status line reads

    @property
    def is_alive(self) -> bool:
        return not self.release.is_set()


def _unlabelled(doc: Document) -> Document:
    return doc.with_words(dataclasses.replace(w, field="OTHER", is_quantity=False, quantity_value=None,
                                              label_source=None) for w in doc.words)


@pytest.fixture
def reviewed(cord_dev, workspace_home) -> Workspace:
    """Dataset "loop": seven receipts nobody labelled, the first six then given labels by a person (not done)."""
    ws = Workspace(workspace_home)
    ws.save_documents("loop", [_unlabelled(d) for d in cord_dev[:7]])
    for doc in cord_dev[:6]:
        for index, word in enumerate(doc.words[:6]):
            ws.update_word(doc.id, index, word.annotation_label)
    return ws


def test_retraining_learns_on_the_done_receipts_only(reviewed):
    slot = JobSlot()
    with pytest.raises(NoLabelsError, match="mark a labelled receipt done"):
        start_suggestion_retrain(reviewed, slot, "loop", "tiny")
    for doc in reviewed.load_documents("loop")[:4]:
        reviewed.set_reviewed(doc.id)
    # heads learnt from fewer than five receipts would replace the run chosen for suggestions (a walkthrough: one)
    with pytest.raises(NoLabelsError, match="4 labelled receipts of 'loop' are done; retraining starts at 5"):
        start_suggestion_retrain(reviewed, slot, "loop", "tiny")
    reviewed.set_reviewed(reviewed.load_documents("loop")[4].id)
    reviewed.update_word(reviewed.load_documents("loop")[5].id, 0, "TOTAL")  # labelled, not done: left out
    retraining = start_suggestion_retrain(reviewed, slot, "loop", "tiny", minutes=0.05)
    assert retraining.receipts == 5
    job = retraining.active.job
    assert job.join(120) and job.status == "finished", job.status
    run = reviewed.get_run(retraining.active.run_id)
    assert run.config["scenario"] == "freeze-backbone" and run.config["head_lr"] == suggestion_config("tiny").head_lr
    assert sorted(run.config["train_ids"]) == sorted(d.id for d in reviewed.load_documents("loop")[:5])
    assert has_checkpoint(reviewed.run_dir(run.id))

    busy = _Running()
    slot.start(lambda: ("run-busy", busy), description="another run")
    try:
        runs_before = len(reviewed.list_runs())
        with pytest.raises(JobBusyError, match="run-busy"):
            start_suggestion_retrain(reviewed, slot, "loop", "tiny")
        assert len(reviewed.list_runs()) == runs_before  # refused, not queued
    finally:
        busy.release.set()


def test_marking_done_on_the_page_retrains_or_says_the_slot_is_busy(reviewed):
    from ui.shared import job_slot

    doc = reviewed.load_documents("loop")[0]
    for other in reviewed.load_documents("loop")[1:6]:
        reviewed.set_reviewed(other.id)
    job_slot.clear()
    first = start_suggestion_retrain(reviewed, job_slot(), "loop", "tiny", minutes=0.05)  # a run to pick
    assert first.active.job.join(120)
    busy = _Running()
    job_slot().start(lambda: ("run-busy", busy))
    try:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.session_state["dataset"] = "loop"
        at.query_params["receipt"] = doc.id
        at.run()
        at.switch_page("app_pages/annotate.py").run()
        at.checkbox(key="annotate_retrain").check().run()
        at.button(key="annotate_done").click().run()
        assert reviewed.is_reviewed(doc.id)
        assert any("Not retrained" in i.value and "run-busy" in i.value for i in at.info), [i.value for i in at.info]
        busy.release.set()
        at.button(key="annotate_undone").click().run()
        at.button(key="annotate_done").click().run()
        assert any("Retraining the suggestion heads on 6 reviewed" in i.value for i in at.info), [
            i.value for i in at.info]
        active = job_slot().current()
        assert active.run_id != first.active.run_id and active.job.join(120)
        # Train shows it as what it is (a walkthrough's demo headline fell from 0.948 to this run's own-receipt score)
        at.switch_page("app_pages/train.py").run()
        assert any("This is Annotate's retraining of its suggestions" in i.value for i in at.info), [
            i.value for i in at.info]
        # the opt-in kept while not drawn (another page; a filter's empty list: a walkthrough found it unticked)
        at.switch_page("app_pages/annotate.py").run()
        assert at.checkbox(key="annotate_retrain").value
        # Runs lists the retrainings but overlays none of them unasked (a walkthrough's two took over its charts)
        at.switch_page("app_pages/runs.py").run()
        assert not at.exception and at.session_state["runs_compare"] == []
        # nor plotted against real runs in cost vs quality (a walkthrough's two at F1 0.000 squashed the others)
        assert not [c for c in at.get("plotly_chart") if c.key == "runs_cost_quality"]
        assert "No finished evaluation yet. Left out: 2 runs scored on its own training receipts." in [
            c.value for c in at.caption]
        assert len(at.selectbox(key="runs_one").options) == 2  # listed, to open by hand
    finally:
        busy.release.set()
        active = job_slot().busy()
        if active is not None:
            active.job.stop()
            active.job.join(60)
        job_slot.clear()


@pytest.mark.parametrize("own", [True, False])
def test_a_poor_runs_doubt_names_the_receipts_it_was_scored_on(monkeypatch, own):
    """A retraining is scored on the receipts it trained on; Annotate's doubt says so, not "validation receipts"
    (a walkthrough)."""
    import ui.annotate_model as annotate_model

    evaluation = SimpleNamespace(metrics={"fields.micro_f1": 0.12, "items.quantity_accuracy": 0.3})
    monkeypatch.setattr(annotate_model, "workspace", lambda: None)
    monkeypatch.setattr(annotate_model, "last_evaluation", lambda _ws, _run_id: evaluation)
    run = SimpleNamespace(id="r1", config={"train_ids": ["a", "b", "c"], "eval_ids": ["a", "b"] if own else ["x"]})
    scored_on = "the receipts it trained on" if own else "its validation receipts"
    assert annotate_model._suggestions_doubt(run) == (
        f"This run's field micro-F1 on {scored_on} was 0.12: most of its suggestions will be wrong. Check each one "
        "before accepting (Accept all and Accept ≥ take them as labels), or train a better run first.")
