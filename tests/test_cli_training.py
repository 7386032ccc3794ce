"""The training commands' options come from the config dataclasses, and every kind of run (two-head, reference,
pre-training) runs in the terminal through the one loop, pausable with Ctrl-Z and stoppable with Ctrl-C."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from conftest import REPO_ROOT, require_shared_data
from receipt_core.cli.main import build_parser
from receipt_core.training.config import TrainConfig
from receipt_core.training.config import PretrainConfig, ReferenceConfig


def _help(command: str) -> str:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[command].format_help()


@pytest.mark.parametrize(("command", "config_class"),
                         [("train", TrainConfig), ("reference", ReferenceConfig), ("pretrain", PretrainConfig)])
def test_every_option_and_its_default_come_from_the_config_dataclass(command, config_class):
    text = " ".join(_help(command).split())
    offered = [f for f in dataclasses.fields(config_class) if "help" in f.metadata]
    assert offered, "the config offers no options"
    # train shows its default scenario's values, which a run with no flags gets (a third walkthrough found
    # --boxes "(default: line)" while train with no flags used row)
    defaults = TrainConfig.for_scenario(TrainConfig().scenario) if config_class is TrainConfig else config_class()
    for item in offered:
        flag = "--" + item.name.replace("_", "-")
        assert flag in text, flag
        default = getattr(defaults, item.name)
        shown = ("none" if default in (None, ()) else ("on" if default else "off") if isinstance(default, bool)
                 else default)
        assert f"(default: {shown})" in text, (flag, shown)


def test_options_left_out_keep_the_dataclass_default_and_given_ones_reach_the_config():
    from receipt_core.cli.arguments import config_from_args

    parser = build_parser()
    args = parser.parse_args(["train", "--train", "x", "--eval", "y", "--out", "z", "--lr", "3e-4",
                              "--freeze", "embeddings", "encoder.0", "--boxes", "row"])
    config = config_from_args(TrainConfig, args)
    assert config == dataclasses.replace(TrainConfig(), lr=3e-4, freeze=("embeddings", "encoder.0"), boxes="row")


def test_train_with_no_flags_runs_the_phased_plan_with_its_capable_heads():
    """The product's default (README "Command line"): phased, level with full fine-tuning on CORD and ahead of it
    on photos, phase 2's depth decided for the run; `train` with no flags builds exactly `train --scenario
    phased`'s config."""
    from receipt_core.cli.arguments import config_from_args
    from receipt_core.cli.train_command import _scenario_config

    parser = build_parser()
    no_flags = config_from_args(TrainConfig, parser.parse_args(["train", "--train", "x", "--eval", "y", "--out", "z"]),
                                build=_scenario_config)
    assert no_flags == TrainConfig.for_scenario("phased") == TrainConfig.for_scenario(TrainConfig().scenario)
    assert (no_flags.scenario, no_flags.backbone, no_flags.head, no_flags.epochs_per_phase, no_flags.phased_top_k) == \
        ("phased", "text-minilm", "contextual", 2, None)
    # phase 2's depth is decided for the run: 3 layers when the plan fits its budget, 2 when the budget cuts it
    assert no_flags.for_training_set(600).phased_top_k == 3  # CORD train, no budget
    budget = config_from_args(TrainConfig, parser.parse_args(["train", "--train", "x", "--eval", "y", "--out", "z",
                                                              "--max-minutes", "10"]), build=_scenario_config)
    assert budget.for_training_set(700).phased_top_k == 3  # CORD train + dev: 12 x 700 receipt-epochs fit 10 min
    assert budget.for_training_set(1242).phased_top_k == 2  # WildReceipt gold + OCR + CORD train does not
    assert dataclasses.replace(budget, phased_top_k=1).for_training_set(1242).phased_top_k == 1  # asked: kept
    # never deeper than the backbone: tiny has 2 encoder layers (a probe's run recorded 3)
    assert dataclasses.replace(no_flags, backbone="tiny").for_training_set(600).phased_top_k == 2


@pytest.fixture(scope="module")
def cord_folders(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cord")
    for split, count in (("train", 6), ("dev", 2)):
        target = root / split / "json"
        target.mkdir(parents=True)
        for file in sorted(require_shared_data("cord", split, "json").glob("*.json"))[:count]:
            shutil.copy(file, target / file.name)
    return root / "train", root / "dev"


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "receipt_core", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_reference_command_trains_evaluates_and_saves_the_tagger(cord_folders, tmp_path):
    train, dev = cord_folders
    out = tmp_path / "ref"
    result = _run("reference", "--train", str(train), "--eval", str(dev), "--format", "cord", "--backbone", "tiny",
                  "--epochs", "2", "--batch-size", "2", "--lr", "1e-3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "reference tagger: every parameter trains" in result.stderr
    assert result.stderr.count("eval  step") == 2 and "finished (completed)" in result.stderr
    assert (out / "reference" / "config.json").is_file()
    again = _run("reference", "--train", str(train), "--eval", str(dev), "--backbone", "tiny", "--out", str(out))
    assert again.returncode == 2 and again.stderr.startswith("error: ") and "already holds" in again.stderr


def test_pretrain_pauses_on_ctrl_z_and_stops_on_ctrl_c(cord_folders, tmp_path):
    """A real process: SIGTSTP toggles the pause (no step while paused), SIGINT stops and the backbone is saved."""
    train, _ = cord_folders
    out = tmp_path / "pt"
    process = subprocess.Popen(
        [sys.executable, "-m", "receipt_core", "pretrain", "--data", str(train), "--format", "cord", "--backbone",
         "tiny", "--epochs", "100000", "--batch-size", "1", "--out", str(out)],  # never ends by itself
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # as in a terminal: a test run started in the background (`make test &`) hands its children SIGINT
        # ignored, and Python then never turns Ctrl-C into KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()

    def wait_for(text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in lines):
            assert time.monotonic() < deadline, f"no {text!r} in {lines[-5:]}"
            assert process.poll() is None, "".join(lines)
            time.sleep(0.1)

    try:
        wait_for("step ")
        process.send_signal(signal.SIGTSTP)
        wait_for("status: paused")
        held = sum(line.startswith("step ") for line in lines)
        time.sleep(3)
        assert sum(line.startswith("step ") for line in lines) == held, "steps ran while paused"
        process.send_signal(signal.SIGTSTP)
        wait_for("status: running")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 130  # saved, and said stopped: a script's `&&` does not go on
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=5)
    assert "finished (stopped)" in "".join(lines)
    assert "saved the pre-trained backbone" in process.stdout.read()  # the result line goes to stdout
    assert (out / "config.json").is_file() and (out / "pretrain.json").is_file()
    from receipt_core.model.backbone_names import unfinished_pretraining

    assert unfinished_pretraining(str(out)) is None  # stopped, with its summary: finished


def test_a_killed_pretraining_is_named_unfinished_when_train_uses_it(tmp_path, capsys):
    """A probe: a pretrain killed with kill -9 left config.json and weights that train --backbone took without a
    word. Its epoch saves mark it unfinished until the summary is written; train warns."""
    from receipt_core.cli.arguments import check_backbone_source

    folder = tmp_path / "pt"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pretrain.json").write_text('{"format": "receipt-mtl/pretrain", "result": null, '
                                          '"unfinished_at_epoch": 84}')
    check_backbone_source(str(folder))
    assert capsys.readouterr().err.strip() == (f"warning: --backbone: {folder} holds an unfinished pre-training (it "
                                               "ended without its summary, after epoch 84): its weights are those "
                                               "of its last save")


@contextmanager
def _stderr_lines(process: subprocess.Popen) -> Iterator[list[str]]:
    """The lines ``process`` writes to stderr, read as they come; the process is killed if the block leaves it
    running."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(timeout=5)


@pytest.mark.slow
def test_a_second_ctrl_c_aborts_at_once_without_a_crash(cord_folders, tmp_path):
    """A probe: two Ctrl-Cs 50 ms apart ended 3 times in 4 in "terminate called without an active exception" and
    SIGABRT, the interpreter shutting down around the training thread. The second press now ends the process at
    once with exit 130 and says what is left (or, when the stop had already saved, the run exits as stopped)."""
    train, dev = cord_folders
    process = subprocess.Popen(
        [sys.executable, "-m", "receipt_core", "train", "--train", str(train), "--eval", str(dev), "--format", "cord",
         "--backbone", "tiny", "--scenario", "full", "--epochs", "100000", "--out", str(tmp_path / "run")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    with _stderr_lines(process) as lines:
        deadline = time.monotonic() + 120
        while sum(line.startswith("eval ") for line in lines) < 2:  # a checkpoint is on disk
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines[-5:])
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=120)
    err = "".join(lines)
    assert "terminate called" not in err and "Traceback" not in err, err[-2000:]
    # aborted, or stopped after its save when the second press came late: either way not completed
    assert code == 130 and ("aborted: training stopped without saving" in err or "finished (stopped)" in err), (
        code, err[-500:])


@pytest.mark.slow
def test_sigterm_and_an_inherited_ignored_sigint_still_stop_a_workspace_run_after_its_save(cord_folders, tmp_path):
    """A walkthrough started ``train … &`` from a script: SIGINT came in ignored, so ``kill -INT`` did nothing, and
    ``kill`` (SIGTERM) ended the run without its save. Both now stop it as Ctrl-C does: evaluated, saved, "stopped"
    on the Runs page."""
    from receipt_core.workspace.store import Workspace

    train, dev = cord_folders
    workspace = tmp_path / "ws"
    for number in (signal.SIGINT, signal.SIGTERM):
        process = subprocess.Popen(
            [sys.executable, "-m", "receipt_core", "train", "--train", str(train), "--eval", str(dev), "--format",
             "cord", "--backbone", "tiny", "--scenario", "full", "--epochs", "100000", "--workspace", str(workspace)],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # as `cmd &` in a script leaves it
        with _stderr_lines(process) as lines:
            deadline = time.monotonic() + 120
            while not any(line.startswith("eval ") for line in lines):
                assert time.monotonic() < deadline and process.poll() is None, "".join(lines[-5:])
                time.sleep(0.05)
            process.send_signal(number)
            while not any(line.startswith("finished (stopped)") for line in lines):  # saved: a late signal now
                assert time.monotonic() < deadline + 60 and process.poll() is None, "".join(lines[-5:])
                time.sleep(0.01)
            process.send_signal(number)  # must not turn the saved run's exit into "killed" (a probe: 143)
            code = process.wait(timeout=120)
        err = "".join(lines)
        # saved and stopped, not completed: 130, as a stopped study (a probe: 0, and `train … && evaluate …` went on)
        said = ("terminated (SIGTERM): stopping training after the current step (a second SIGTERM or Ctrl-C aborts)"
                if number == signal.SIGTERM else "interrupted: stopping training after the current step")
        assert code == 130 and said in err, (number, err[-800:])  # said as what it was (probe 50)
        assert "finished (stopped)" in err and "Traceback" not in err
        run = Workspace(workspace).list_runs()[0]
        assert run.status == "stopped" and (workspace / "runs" / run.id / "run.json").is_file()


def test_a_second_run_into_a_folder_another_run_holds_is_refused(cord_folders, tmp_path, capsys):
    """A probe: two trains started together on one new --out both found it empty and wrote their checkpoints over
    each other's. A run holds its folder (an exclusive lock) while it runs; the other is refused."""
    from receipt_core.cli.main import main
    from receipt_core.cli.run_folder import run_folder_held

    train, dev = cord_folders
    out = tmp_path / "new" / "run"
    with run_folder_held(out, resume=False):
        code = main(["train", "--train", str(train), "--eval", str(dev), "--format", "cord", "--backbone", "tiny",
                     "--epochs", "1", "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: --out {out} is in use by another run (a train, reference or pretrain writing there now); wait for "
        "it to end, or choose another folder")
    assert not (tmp_path / "new").exists()  # the holder saved nothing: the folders made for it are gone


@pytest.mark.parametrize("command", ["reference", "pretrain"])
def test_reference_and_pretrain_refuse_an_out_folder_holding_other_files(command, tmp_path, capsys):
    """Like train: a run's checkpoint files would mix with (and replace) a user's files of the same names."""
    from receipt_core.cli.main import main

    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    data = ["--data", str(tmp_path)] if command == "pretrain" else ["--train", str(tmp_path), "--eval", str(tmp_path)]
    assert main([command, *data, "--backbone", "tiny", "--out", str(out)]) == 2
    assert f"--out {out} is not empty" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "precious" and [p.name for p in out.iterdir()] == ["notes.txt"]


def test_pretrain_may_write_its_backbone_into_the_workspace_models_folder(tmp_path, capsys):
    """Train's "local folder…" backbone reads folders inside the workspace, so ``pretrain --out WORKSPACE/models/X``
    passes the check that keeps every --out out of runs/, images/ and ocr-cache/ (a twelfth probe)."""
    from receipt_core.cli.arguments import check_out_outside_workspace
    from receipt_core.cli.errors import CommandError
    from receipt_core.workspace.database import MODELS_FOLDER
    from receipt_core.workspace.store import Workspace

    home = tmp_path / "ws"
    Workspace.open(home)
    check_out_outside_workspace(home / MODELS_FOLDER / "mine", home, allowed=MODELS_FOLDER)
    for inside in (home / "runs" / "x", home / "images" / "x", home / "ocr-cache" / "x", home / MODELS_FOLDER):
        with pytest.raises(CommandError, match="inside the workspace|is the workspace"):
            check_out_outside_workspace(inside, home, allowed=MODELS_FOLDER)


def test_a_budget_that_ends_before_the_first_step_is_said_to_have_trained_nothing():
    """A probe: --max-minutes 1e-7 finished at step 0 and saved an untrained model with exit 0, saying only
    "finished (time budget) at step 0"."""
    import io

    from receipt_core.cli.progress import ProgressPrinter
    from receipt_core.training.events import FinishedEvent

    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    printer(FinishedEvent(step=0, epoch=0, reason="time budget", elapsed_s=0.1, metrics={}, checkpoint="/tmp/run"))
    assert stream.getvalue().splitlines()[-1] == ("warning: the time budget ended before the first step, so the "
                                                  "checkpoint holds an untrained model; give --max-minutes more time")
    printer(FinishedEvent(step=3, epoch=0, reason="time budget", elapsed_s=9.0, metrics={}, checkpoint="/tmp/run"))
    assert "warning" not in stream.getvalue().splitlines()[-1]


def test_train_says_when_another_process_trains_in_the_same_workspace(tmp_path, monkeypatch, capsys):
    """A probe ran `train` beside a dashboard run in the same workspace: it fell from 23 to 3.6 samples a second
    with nothing said on the command line (the Train page says it the other way round)."""
    from types import SimpleNamespace

    from receipt_core.cli.workspace_run import open_run_workspace
    from receipt_core.workspace.store import Workspace

    other = SimpleNamespace(id="20261205-070000-abcdef", status="running", pid=4242)
    monkeypatch.setattr(Workspace, "runs_in_other_processes", lambda self: [other])
    open_run_workspace(tmp_path / "ws")
    assert ("warning: run 20261205-070000-abcdef is running in another process (pid 4242) in this workspace: this run "
            "shares the CPU cores with it, and both go slower than alone") in capsys.readouterr().err
    monkeypatch.setattr(Workspace, "runs_in_other_processes", lambda self: [])
    open_run_workspace(tmp_path / "ws")
    assert "warning" not in capsys.readouterr().err


def test_train_explains_a_head_frozen_by_hand_while_backbone_layers_train(cord_folders, tmp_path, capsys):
    """The Train page said why a head frozen by hand still gains; `train --freeze head.quantity` said nothing."""
    from receipt_core.cli.main import main

    train, dev = cord_folders
    common = ["train", "--train", str(train), "--eval", str(dev), "--format", "cord", "--backbone", "tiny",
              "--epochs", "1"]
    assert main([*common, "--freeze", "head.quantity", "--scenario", "full", "--out", str(tmp_path / "a")]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: ")]
    assert notes == ["note: head.quantity keeps the weights it starts with (random, in a new run), but its task's "
                     "loss still trains the backbone layers that train, so its scores can still rise: the backbone "
                     "learns to feed the fixed head (as in scenarios 3a and 3b)."]
    # the backbone frozen too: nothing feeds the fixed head, nothing to explain
    assert main([*common, "--freeze", "head.quantity", "--scenario", "freeze-backbone", "--out",
                 str(tmp_path / "b")]) == 0
    assert "note: " not in capsys.readouterr().err


def test_a_stored_label_of_no_schema_is_refused_before_a_run_is_made(tmp_path, monkeypatch, capsys):
    """A probe's tampered workspace held a Cyrillic lookalike of ITEM_NAME: `train` created a run and failed in it
    with "unknown field label 'ІTEM_NAME'", naming no receipt, the two names alike. It is refused before the run,
    naming the receipt, the word and the label escaped."""
    from receipt_core.cli.main import main
    from receipt_core.data.document import Document, Word
    from receipt_core.workspace.store import Workspace

    ws = Workspace(tmp_path / "ws")
    words = (Word(text="TEA", box=(1, 1, 9, 9), field="\u0406TEM_NAME", label_source="person"),
             Word(text="3.50", box=(10, 1, 19, 9), field="ITEM_PRICE", label_source="person"))
    ws.save_documents("bad", [Document(id=f"b{i}", width=50, height=50, words=words) for i in range(3)])
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
    assert main(["train", "--train", "bad", "--eval", "bad", "--backbone", "tiny", "--max-minutes", "1"]) == 2
    err = capsys.readouterr().err
    assert "receipt 'b0', word #0 ('TEA'): its label '\\u0406TEM_NAME' is not one of the labels" in err, err
    assert ws.list_runs() == []
    # every command that reads the dataset says it before loading a model (a second probe: `train --out`,
    # `reference`, `study` and `evaluate` failed later, naming no receipt)
    for command in (["train", "--train", "bad", "--eval", "bad", "--backbone", "tiny", "--out", str(tmp_path / "o")],
                    ["reference", "--train", "bad", "--eval", "bad", "--backbone", "tiny", "--out",
                     str(tmp_path / "r")]):
        assert main(command) == 2
        assert "its label '\\u0406TEM_NAME' is not one of the labels" in capsys.readouterr().err, command
    # and the encoder, which every path reaches, names the receipt too
    from receipt_core.data.schema import DEFAULT_SCHEMA
    from receipt_core.model.encoding import DocumentEncoder
    from receipt_core.model.backbones import load_backbone

    encoder = DocumentEncoder(load_backbone("tiny").tokenizer, DEFAULT_SCHEMA)
    with pytest.raises(ValueError, match="receipt 'b0', word #0"):
        encoder.encode(ws.get_document("b0"))


def test_a_ctrl_c_the_setup_swallowed_still_stops_the_run_before_it_trains():
    """Probe 27: Python drops a KeyboardInterrupt raised inside a ``__del__`` (a tokenizer's regex cache freed while
    loading), so 2 of 7 early Ctrl-Cs vanished: the run trained its whole budget and exited 0. The command line's
    SIGINT handler records the press, and the run, once started, stops at once as after a press then."""
    from receipt_core.cli.errors import CommandError
    from receipt_core.cli.foreground import record_interrupts, run_in_foreground
    from receipt_core.training.events import FinishedEvent

    class Job:  # the TrainingJob surface run_in_foreground uses
        status, result, control = "running", None, None

        def __init__(self):
            self.steps = 0

        def start(self):
            return self

        def join(self, timeout=None):
            self.steps += self.status == "running"  # trains while nobody stops it
            return self.status != "running" or self.steps > 20

        def stop(self):
            self.status = "stopped"
            self.result = FinishedEvent(step=0, epoch=0, reason="stopped", elapsed_s=0.0, metrics={},
                                        checkpoint=None)

    kept = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGTSTP)}
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        undo = record_interrupts()
        try:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # as Ctrl-C calls it
        except KeyboardInterrupt:
            pass  # swallowed, as inside a __del__
        job = Job()
        finished = run_in_foreground(job, "training")
        assert finished.reason == "stopped" and job.steps == 0  # stopped before any wait let it train
        undo()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        record_interrupts()  # a fresh command: no press recorded, so the run trains until it ends
        fresh = Job()
        with pytest.raises(CommandError, match="ended without a result"):
            run_in_foreground(fresh, "training")
        assert fresh.steps > 20 and fresh.status == "running"
    finally:
        for number, handler in kept.items():
            signal.signal(number, handler)
