"""The CORD sample that ships in assets/cord-sample/: its files parse, Home's loader stores them as two datasets
without losing anything, and the Home button does it in the app.

Everything here reads the repository's own copy, not ../shared (except the one byte-for-byte comparison).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from receipt_core.datasets import import_into_workspace, load_dataset
from receipt_core.datasets.demo import (CORD_SAMPLE_DEV, CORD_SAMPLE_TRAIN, CordSampleError, add_cord_sample,
                                        cord_sample_path)
from receipt_core.workspace.documents import DocumentsInAnotherDatasetError
from receipt_core.workspace.store import Workspace
from tests.conftest import require_shared_data

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "assets" / "cord-sample"


def _sample_files() -> list[Path]:
    return sorted(p for p in SAMPLE.rglob("*") if p.is_file())


# --- the vendored files -----------------------------------------------------------------------------------


def test_the_sample_parses_as_250_cord_receipts_without_problems():
    report = load_dataset(SAMPLE, "cord")
    assert report.problems == (f"cord-sample: 2 split folders read into one dataset (dev 50 receipts, train 200 "
                               f"receipts); to keep a split apart for evaluation, import it on its own: its folder "
                               f"alone (for example {SAMPLE / 'train'})",)  # the note of a merge, no problem
    assert len(report.documents) == 250 and not report.images
    files = [doc.meta["file"] for doc in report.documents]
    assert sum(f.startswith("train/json/") for f in files) == 200
    assert sum(f.startswith("dev/json/") for f in files) == 50
    assert all(doc.words for doc in report.documents)
    assert report.label_counts.get("QUANTITY", 0) > 200  # real item quantities for the quantity head
    for split, count in (("train", 200), ("dev", 50)):  # each split folder reads on its own, as Home reads it
        split_report = load_dataset(SAMPLE / split, "cord")
        assert len(split_report.documents) == count and split_report.problems == ()


def test_the_sample_is_small_json_only_and_matches_its_checksums():
    files = _sample_files()
    names = {p.relative_to(SAMPLE).as_posix() for p in files}
    assert names - {"ATTRIBUTION.md", "SHA256SUMS"} == {n for n in names if n.endswith(".json")}
    assert {"ATTRIBUTION.md", "SHA256SUMS"} <= names
    assert all(n.startswith(("train/json/receipt_", "dev/json/receipt_")) for n in names if n.endswith(".json"))
    assert sum(p.stat().st_size for p in files) < 5 * 1024 * 1024
    sums = dict(reversed(line.split("  ", 1)) for line in (SAMPLE / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {n for n in names if n.endswith(".json")}
    for name, digest in sums.items():
        assert hashlib.sha256((SAMPLE / name).read_bytes()).hexdigest() == digest, name
    attribution = (SAMPLE / "ATTRIBUTION.md").read_text()
    for needed in ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/", "Park", "openreview.net",
                   "no file was edited"):
        assert needed in attribution


def test_the_sample_files_are_byte_identical_to_the_shared_cord():
    shared = require_shared_data("cord")
    for file in SAMPLE.glob("*/json/*.json"):
        relative = file.relative_to(SAMPLE)
        assert file.read_bytes() == (shared / relative).read_bytes(), relative


def test_the_sample_is_found_from_the_package_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cord_sample_path() == SAMPLE
    assert (cord_sample_path() / "train" / "json").is_dir()


# --- the loader -------------------------------------------------------------------------------------------


def test_add_cord_sample_stores_two_datasets_and_a_second_call_keeps_them(workspace_home):
    ws = Workspace(workspace_home)
    first = add_cord_sample(ws)
    assert [(s.name, s.documents, s.added, s.problems) for s in first] == [
        (CORD_SAMPLE_TRAIN, 200, True, ()), (CORD_SAMPLE_DEV, 50, True, ())]
    assert {d.name: d.documents for d in ws.datasets()} == {CORD_SAMPLE_TRAIN: 200, CORD_SAMPLE_DEV: 50}
    train_ids = {d.id for d in ws.list_documents(CORD_SAMPLE_TRAIN)}
    assert all(i.startswith("cord-sample-receipt_") for i in train_ids)
    assert not train_ids & {d.id for d in ws.list_documents(CORD_SAMPLE_DEV)}

    doc = ws.load_documents(CORD_SAMPLE_DEV)[0]  # a correction made after loading survives a second load
    corrected = ws.update_word(doc.id, 0, "CHANGE" if doc.words[0].field != "CHANGE" else "TAX")
    assert corrected != doc
    second = add_cord_sample(ws)
    assert [(s.name, s.documents, s.added) for s in second] == [(CORD_SAMPLE_TRAIN, 200, False),
                                                                 (CORD_SAMPLE_DEV, 50, False)]
    assert ws.get_document(doc.id) == corrected

    ws.delete_dataset(CORD_SAMPLE_DEV)  # a deleted half comes back; the other half is left alone
    third = add_cord_sample(ws)
    assert [(s.name, s.added) for s in third] == [(CORD_SAMPLE_TRAIN, False), (CORD_SAMPLE_DEV, True)]
    assert {d.name: d.documents for d in ws.datasets()} == {CORD_SAMPLE_TRAIN: 200, CORD_SAMPLE_DEV: 50}


def test_add_cord_sample_leaves_a_full_cord_import_where_it_is(workspace_home):
    ws = Workspace(workspace_home)
    first = import_into_workspace(ws, "cord-train", load_dataset(SAMPLE / "train", "cord"))  # ids cord-receipt_…
    assert first.twins_note is None
    train, dev = add_cord_sample(ws)
    assert {d.name: d.documents for d in ws.datasets()} == {
        "cord-train": 200, CORD_SAMPLE_TRAIN: 200, CORD_SAMPLE_DEV: 50}
    # stored twice under the two namings: said, both ways (walkthrough 51 loaded the sample on Home, then imported
    # its folder as the README shows, and had 200 receipts twice with no word)
    assert train.twins_note.startswith("200 of these receipts are already in the workspace under other ids "
                                       "(200 in 'cord-train'): the CORD sample names a receipt cord-sample-…")
    assert dev.twins_note is None
    again = import_into_workspace(ws, "again", load_dataset(SAMPLE / "dev", "cord"))
    assert again.twins_note.startswith(f"50 of these receipts are already in the workspace under other ids (50 in "
                                       f"{CORD_SAMPLE_DEV!r})")
    assert "training on one dataset while evaluating on the other scores the model on receipts it trained on" in \
        again.twins_note


def test_the_import_command_says_the_cord_sample_is_stored_twice(workspace_home, capsys):
    from receipt_core.cli.main import main

    add_cord_sample(Workspace(workspace_home))
    assert main(["import", str(SAMPLE / "dev"), "--dataset", "walk-cord-dev"]) == 0
    err = capsys.readouterr().err
    assert f"warning: 50 of these receipts are already in the workspace under other ids (50 in {CORD_SAMPLE_DEV!r})" \
        in err, err


def test_add_cord_sample_refuses_to_move_documents_of_another_dataset(workspace_home):
    ws = Workspace(workspace_home)
    add_cord_sample(ws)
    exported = ws.load_documents(CORD_SAMPLE_DEV)
    ws.delete_dataset(CORD_SAMPLE_DEV)
    ws.save_documents("mine", exported)  # e.g. an export imported as 'mine' after the sample was deleted: same ids
    with pytest.raises(DocumentsInAnotherDatasetError, match="50 of these receipts .* already in dataset 'mine'"):
        add_cord_sample(ws)
    assert {d.name: d.documents for d in ws.datasets()} == {CORD_SAMPLE_TRAIN: 200, "mine": 50}


def test_add_cord_sample_says_when_the_sample_is_missing(workspace_home, tmp_path):
    with pytest.raises(CordSampleError, match="assets/cord-sample"):
        add_cord_sample(Workspace(workspace_home), root=tmp_path / "nowhere")
    assert Workspace(workspace_home).datasets() == []


# --- Home -------------------------------------------------------------------------------------------------


def _app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_button_loads_the_sample_and_the_pages_offer_it(workspace_home):
    at = _app()
    assert any("CC BY 4.0" in c.value for c in at.caption)
    at.button(key="load_cord_sample").click().run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert [s.value for s in at.success] == [f"Stored 200 receipts as dataset '{CORD_SAMPLE_TRAIN}'.",
                                             f"Stored 50 receipts as dataset '{CORD_SAMPLE_DEV}'."]
    assert {d.name: d.documents for d in Workspace(workspace_home).datasets()} == {
        CORD_SAMPLE_TRAIN: 200, CORD_SAMPLE_DEV: 50}
    assert at.sidebar.selectbox(key="dataset").value == CORD_SAMPLE_TRAIN  # the sidebar shows it at once

    at.button(key="load_cord_sample").click().run()  # again: says they are there, stores nothing
    assert not at.error and not at.success
    assert len([i for i in at.info if "left as it is" in i.value]) == 2

    fresh = _app()  # a new session offers both
    picker = fresh.sidebar.selectbox(key="dataset")
    assert set(picker.options) == {CORD_SAMPLE_TRAIN, CORD_SAMPLE_DEV}
    picker.set_value(CORD_SAMPLE_TRAIN)
    fresh.switch_page("app_pages/train.py").run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert fresh.selectbox(key="train_dataset").value == CORD_SAMPLE_TRAIN
    assert CORD_SAMPLE_DEV in fresh.selectbox(key="train_eval").options
