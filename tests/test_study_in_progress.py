"""A command-line study is said where the dashboard looks while it trains (walkthrough 50: the sidebar said
"Training: idle", Runs → Studies "No study folders … yet", and Train offered Start without a word of the cores in
use): its mark in the workspace, read from another process, and the pages that show it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from receipt_core.study.in_progress import (TRAINING_FOLDER, StudyAnnouncement, elsewhere_said,
                                            studies_in_other_processes)

HOLDER = """
import sys, time
from receipt_core.study.in_progress import StudyAnnouncement
with StudyAnnouncement(sys.argv[1], sys.argv[2], 3) as announced:
    announced.now_training(2, "layout-minilm · full, seed 0")
    print("ready", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def study_elsewhere(tmp_path):
    """A process holding a study's mark in the workspace ``tmp_path / "ws"`` (its folder in the studies folder);
    yields (workspace, process)."""
    home = tmp_path / "ws"
    (home / "studies").mkdir(parents=True)
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(home), str(home / "studies" / "cli1")],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        assert other.stdout.readline().strip() == "ready"
        yield home, other
    finally:
        other.kill()
        other.wait()


def test_a_study_of_another_process_is_read_while_it_lives_and_not_after(study_elsewhere):
    home, other = study_elsewhere
    [study] = studies_in_other_processes(home)
    assert (study.name, study.run, study.runs, study.training, study.pid) == (
        "cli1", 2, 3, "layout-minilm · full, seed 0", other.pid)
    assert elsewhere_said([study]) == (f"study 'cli1' is training in another process (pid {other.pid}): run 2 of 3, "
                                       "'layout-minilm · full, seed 0'")
    assert elsewhere_said([study, study]).endswith("seed 0' (and 1 more study)")
    other.kill()
    other.wait()
    assert studies_in_other_processes(home) == []  # killed: its mark stays on disk, read as nothing


def test_this_process_own_study_and_damaged_marks_are_not_read(tmp_path):
    home = tmp_path / "ws"
    home.mkdir()
    with StudyAnnouncement(home, tmp_path / "out", 2) as announced:
        announced.now_training(1, "tiny · full, seed 0")
        [mark] = (home / TRAINING_FOLDER).glob("*.json")
        assert json.loads(mark.read_text())["training"] == "tiny · full, seed 0"
        assert studies_in_other_processes(home) == []  # this process's own (the dashboard's study shows itself)
    assert not mark.exists()  # gone when the study ends
    for name, text in (("a.json", "not json"), ("b.json", "[1, 2]"), ("c.json", json.dumps({"pid": "x"})),
                       ("d.json", json.dumps({"pid": 1, "folder": "f", "run": 1, "runs": 1, "training": "t",
                                              "process_started": 1.0}))):  # pid 1 started long before 1970 + 1 s
        (home / TRAINING_FOLDER / name).write_text(text)
    (home / TRAINING_FOLDER / "big.json").write_text(" " * 100_000)
    assert studies_in_other_processes(home) == []


def test_hand_made_marks_are_skipped_and_their_texts_shown_as_text(study_elsewhere):
    """Probe 55: a pid of -1 or 1e999, or JSON nested 5,000 deep, broke every page and `train` (a ValueError,
    OverflowError, RecursionError); a FIFO named a.json blocked every page; the run's text drew a link, bold text
    and a remote image; a run of -10**23 of 1e300 was said as it was."""
    import os

    home, other = study_elsewhere
    folder = home / TRAINING_FOLDER
    good = {"pid": other.pid, "folder": "f", "run": 1, "runs": 2, "training": "t"}
    hostile = {"negative-pid": {**good, "pid": -1}, "infinite-pid": {**good, "pid": 1e999},
               "text-pid": {**good, "pid": "1_0"}, "bool-run": {**good, "run": True},
               "run-past-runs": {**good, "run": 3}, "huge-runs": {**good, "runs": 10 ** 300},
               "negative-run": {**good, "run": -10 ** 23}, "no-folder": {**good, "folder": ""},
               "list-training": {**good, "training": ["x"]}}
    for name, mark in hostile.items():
        (folder / f"{name}.json").write_text(json.dumps(mark))
    (folder / "deep.json").write_text("[" * 5000 + "]" * 5000)
    os.mkfifo(folder / "fifo.json")
    assert [study.name for study in studies_in_other_processes(home)] == ["cli1"]  # only the real one, at once
    markup = "**B** [l](https://e.example) ![i](x.png)"
    (folder / "markup.json").write_text(json.dumps({**good, "training": markup}))
    from ui.literal import literal

    [study] = [found for found in studies_in_other_processes(home) if found.training == markup]
    assert study.said(literal).endswith(f"run 1 of 2, {literal(markup)}")  # a code span: shown as typed


def test_a_study_of_data_given_by_path_makes_no_workspace(tmp_path):
    with StudyAnnouncement(tmp_path / "no-workspace", tmp_path / "out", 1) as announced:
        announced.now_training(1, "tiny · full, seed 0")
    assert not (tmp_path / "no-workspace").exists()


def test_the_sidebar_train_and_studies_say_a_study_of_another_process(study_elsewhere, monkeypatch, cord_dev):
    from streamlit.testing.v1 import AppTest

    from receipt_core.workspace.store import Workspace
    from ui.literal import literal

    home, other = study_elsewhere
    Workspace(home).save_documents("receipts", cord_dev[:20])
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(home))
    said = f"study {literal('cli1')} is training in another process (pid {other.pid}): run 2 of 3, "
    run = literal("layout-minilm · full, seed 0")

    def page(name: str) -> AppTest:
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
        at.run()
        at.switch_page(f"app_pages/{name}.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    train = page("train")
    sidebar = [c.value for c in train.sidebar.caption]
    assert f"Training: none here; {said}{run}" in sidebar, sidebar
    assert any(c.value.startswith(f"Also training in this workspace: {said}") and "A run started here shares the "
               "CPU cores with it" in c.value for c in train.caption), [c.value for c in train.caption]
    runs = page("runs")
    assert any(i.value == f"S{said[1:]}{run}. Its report is listed here when it ends."
               for i in runs.info), [i.value for i in runs.info]


def test_the_study_command_marks_each_run_in_its_workspace_and_clears_the_mark(cord_dev, tmp_path, monkeypatch):
    from receipt_core.cli.main import main
    from receipt_core.workspace.store import Workspace

    home = tmp_path / "ws"
    Workspace(home).save_documents("t", cord_dev[:8])
    Workspace(home).save_documents("e", cord_dev[8:12])
    marks = []
    write = StudyAnnouncement.now_training

    def kept(self, run, training):
        write(self, run, training)
        marks.append(json.loads(self.path.read_text()))

    monkeypatch.setattr(StudyAnnouncement, "now_training", kept)
    assert main(["study", "--train", "t", "--eval", "e", "--backbone-scenarios",
                 "tiny:freeze-all", "tiny:freeze-backbone", "--epochs", "1", "--workspace", str(home),
                 "--out", str(home / "studies" / "two")]) == 0
    assert [(m["run"], m["runs"], m["training"]) for m in marks] == [
        (1, 2, "starting"), (1, 2, "tiny · freeze-all, seed 0"), (2, 2, "tiny · freeze-backbone, seed 0")]
    assert marks[0]["folder"] == str((home / "studies" / "two").resolve())
    assert list((home / TRAINING_FOLDER).glob("*")) == []


def test_the_race_form_says_a_study_of_another_process(study_elsewhere, monkeypatch, cord_dev):
    from streamlit.testing.v1 import AppTest

    from receipt_core.workspace.store import Workspace
    from ui.literal import literal

    home, other = study_elsewhere
    Workspace(home).save_documents("receipts", cord_dev[:20])
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(home))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/race.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith(f":material/warning: Also training in this workspace: study {literal('cli1')} is "
                                  f"training in another process (pid {other.pid})") and "A race started now shares "
               "the CPU cores" in c.value for c in at.caption), [c.value for c in at.caption]

