"""Home's demo data (``datasets.demo.add_demo_receipts``): generating again keeps the receipts that are there and
generates only the missing ones; ids held by another dataset stop it before any work. The generator is patched
with the session's real generated receipts (renamed to the asked-for ids); the real one runs in
test_app_pages.py's slow test and the browser tests."""

from __future__ import annotations

import dataclasses

import pytest

from receipt_core.datasets import demo
from receipt_core.datasets.synth import synth_id
from receipt_core.workspace.documents import DocumentsInAnotherDatasetError
from receipt_core.workspace.store import Workspace


@pytest.fixture
def generation(monkeypatch, synth_receipts):
    calls: list[tuple[int, ...]] = []

    def generate_receipts(seed, indexes, progress=None, workers=None):
        calls.append(tuple(indexes))
        return [dataclasses.replace(synth_receipts[i % len(synth_receipts)],
                                    document=dataclasses.replace(synth_receipts[i % len(synth_receipts)].document,
                                                                 id=synth_id(seed, i)))
                for i in indexes]

    monkeypatch.setattr(demo, "generate_receipts", generate_receipts)
    return calls


def test_a_second_call_generates_only_the_missing_receipts_and_keeps_label_changes(workspace_home, generation):
    ws = Workspace(workspace_home)
    first = demo.add_demo_receipts(ws, 2, seed=3)
    assert (first.generated, first.kept) == (2, 0)
    assert [d.id for d in first.documents] == ["synth-3-00000", "synth-3-00001"]
    ws.update_word("synth-3-00001", 0, "TOTAL")

    second = demo.add_demo_receipts(ws, 5, seed=3)
    assert generation == [(0, 1), (2, 3, 4)]
    assert (second.generated, second.kept) == (3, 2)
    assert [d.id for d in second.documents] == [synth_id(3, i) for i in range(5)]
    assert second.documents[1].words[0].field == "TOTAL"  # returned as stored, the change kept
    assert ws.get_document("synth-3-00001").words[0].field == "TOTAL"
    assert len(ws.load_documents(demo.DEMO_DATASET)) == 5
    assert all(ws.image_path(d.image_sha256) is not None for d in second.documents)


def test_ids_held_by_another_dataset_stop_it_before_anything_is_generated(workspace_home, generation):
    ws = Workspace(workspace_home)
    demo.add_demo_receipts(ws, 2, seed=0, dataset="mine")
    with pytest.raises(DocumentsInAnotherDatasetError, match="'mine'"):
        demo.add_demo_receipts(ws, 3, seed=0)
    assert generation == [(0, 1)]  # nothing generated for the refused call
    assert ws.load_documents(demo.DEMO_DATASET) == []


def test_a_count_out_of_range_is_refused(workspace_home, generation):
    with pytest.raises(ValueError, match="count must be 0 to 10,000"):
        demo.add_demo_receipts(Workspace(workspace_home), 10_001)
    assert generation == []


def test_an_interrupted_generation_keeps_the_receipts_it_made_and_the_next_call_makes_the_rest(
        workspace_home, generation, monkeypatch):
    ws = Workspace(workspace_home)

    class Reloaded(Exception):
        """What Streamlit raises into a script whose page was reloaded (its progress callback is the next call)."""

    def progress(done: int, total: int) -> None:
        if done == 3:
            raise Reloaded

    patched = demo.generate_receipts  # the fixture's: the session's receipts, renamed

    def generate_with_progress(seed, indexes, progress=None, workers=None):
        for done, receipt in enumerate(patched(seed, indexes), start=1):
            yield receipt
            progress(done, len(indexes))

    with monkeypatch.context() as patch:
        patch.setattr(demo, "generate_receipts", generate_with_progress)
        with pytest.raises(Reloaded):
            demo.add_demo_receipts(ws, 5, seed=1, progress=progress)
    assert sorted(d.id for d in ws.load_documents(demo.DEMO_DATASET)) == [synth_id(1, i) for i in range(3)]

    again = demo.add_demo_receipts(ws, 5, seed=1)
    assert generation[-1] == (3, 4)
    assert (again.generated, again.kept) == (2, 3)
    assert [d.id for d in again.documents] == [synth_id(1, i) for i in range(5)]


def test_a_receipt_another_tab_stored_and_someone_labelled_meanwhile_is_kept(workspace_home, generation,
                                                                                monkeypatch):
    """A probe pressed Generate in two tabs at once while a receipt was labelled and marked done: the slower tab
    stored its own copy over it, the label lost. A receipt is stored only if still missing, in the same
    transaction."""
    ws = Workspace(workspace_home)
    patched = demo.generate_receipts

    def another_tab_first(seed, indexes, progress=None, workers=None):
        for receipt in patched(seed, indexes):
            if receipt.document.id == synth_id(5, 1):  # the other tab stored it, and a person labelled it
                ws.save_documents(demo.DEMO_DATASET, [receipt.document])
                ws.update_word(receipt.document.id, 0, "TOTAL")
            yield receipt

    monkeypatch.setattr(demo, "generate_receipts", another_tab_first)
    result = demo.add_demo_receipts(ws, 3, seed=5)
    assert (result.generated, result.kept) == (2, 1)  # the other tab's receipt counted as kept, not generated
    assert ws.get_document(synth_id(5, 1)).words[0].field == "TOTAL"
    assert result.documents[1].words[0].field == "TOTAL"
