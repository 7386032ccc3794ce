"""``python -m receipt_core train | evaluate | predict`` on a few real CORD receipts with the tiny backbone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, require_shared_data
from receipt_core.cli.main import main
from receipt_core.datasets import load_dataset
from receipt_core.workspace.store import Workspace
from receipt_core.model.checkpoint import SAVED_IN_KEY, CheckpointError, checkpoint_problem
from receipt_core.training.runs import resume_run
from receipt_core.wording import counted

TRAIN_FILES = 6


@pytest.fixture(scope="module")
def cord_folders(tmp_path_factory) -> tuple[Path, Path]:
    """Small CORD split folders (copies of a few files from ../shared, in CORD's own layout)."""
    root = tmp_path_factory.mktemp("cord")
    for split, count in (("train", TRAIN_FILES), ("dev", 2)):
        target = root / split / "json"
        target.mkdir(parents=True)
        for file in sorted((require_shared_data("cord", split, "json")).glob("*.json"))[:count]:
            shutil.copy(file, target / file.name)
    return root / "train", root / "dev"


@pytest.fixture(scope="module")
def trained(cord_folders, tmp_path_factory) -> tuple[Path, str]:
    train, dev = cord_folders
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    result = subprocess.run(
        [sys.executable, "-m", "receipt_core", "train", "--train", str(train), "--eval", str(dev), "--format", "cord",
         "--backbone", "tiny", "--scenario", "full", "--epochs", "2", "--batch-size", "2", "--lr", "3e-3",
         "--seed", "5", "--out", str(run_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return run_dir, result.stdout + "\0" + result.stderr


def test_train_writes_the_checkpoint_and_reports_progress_on_stderr(trained):
    run_dir, output = trained
    stdout, stderr = output.split("\0")
    assert stdout == ""
    assert (run_dir / "model.safetensors").is_file() and (run_dir / "run.json").is_file()
    assert "train: 6 documents, eval: 2 documents; backbone tiny, scenario full" in stderr
    assert "step  6/6 epoch 2/2 loss" in stderr and "steps/s" in stderr
    assert "eval  step 3 (after 1.0 epochs): fields.micro_f1" in stderr
    assert "finished (completed) at step 6" in stderr
    info = json.loads((run_dir / "run.json").read_text())
    assert info["config"]["epochs"] == 2 and info["config"]["seed"] == 5
    assert "fields.micro_f1" in info["metrics"]
    # the saved model's scores close the output (a walkthrough scrolled back through the eval lines for them)
    from receipt_core.training.events import HEADLINE_METRICS

    scores = [f"{k} {info['metrics'][k]:.4f}" for k in HEADLINE_METRICS if info["metrics"].get(k) is not None]
    assert scores[0].startswith("fields.micro_f1 ")
    assert stderr.strip().splitlines()[-1] == "the saved model's scores (its last evaluation): " + ", ".join(scores)


def test_evaluate_prints_both_tasks_metrics_as_json(trained, cord_folders, capsys):
    run_dir, _ = trained
    assert main(["evaluate", str(run_dir), "--data", str(cord_folders[1]), "--format", "cord", "--json"]) == 0
    said = capsys.readouterr()
    metrics = json.loads(said.out)
    # which model, on stderr (walkthrough 52: the output named neither the run nor its backbone)
    assert said.err.startswith(f"model: {run_dir} (backbone tiny, full, step 6)\n"), said.err
    assert metrics["documents"] == 2
    for key in ("fields.micro_f1", "fields.micro_precision", "fields.micro_recall", "fields.per_label",
                "quantity.word_f1", "quantity.item_accuracy", "quantity.item_accuracy_not_one"):
        assert key in metrics, key
    assert "OTHER" not in metrics["fields.per_label"]
    assert 0.0 <= metrics["fields.micro_f1"] <= 1.0
    # the same numbers as the run's own last evaluation on that data
    info = json.loads((run_dir / "run.json").read_text())
    assert metrics["fields.micro_f1"] == pytest.approx(info["metrics"]["fields.micro_f1"])


def test_evaluate_lists_the_items_it_counts_wrong(trained, cord_folders, capsys):
    run_dir, _ = trained
    args = ["evaluate", str(run_dir), "--data", str(cord_folders[1]), "--format", "cord", "--item-errors"]
    assert main(args + ["--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    wrong = round(metrics["quantity.items"] * (1 - metrics["quantity.item_accuracy"]))
    assert len(metrics["item_errors"]) == wrong
    for error in metrics["item_errors"]:
        assert set(error) == {"doc_id", "gold", "predicted", "words"} and error["gold"] != error["predicted"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert f"{counted(wrong, 'item')} with a wrong quantity" in text
    assert main(args + ["--from-images"]) == 2
    assert "does not apply with --from-images" in capsys.readouterr().err


def test_evaluate_can_erase_the_layout_to_measure_what_it_contributes(trained, cord_folders, capsys, monkeypatch):
    from receipt_core.model.predict import Predictor

    run_dir, _ = trained
    seen = []  # the documents the model was given: with the flag, every word's box is the whole page
    real_predict = Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, docs: seen.extend(docs) or real_predict(self, docs))
    args = ["evaluate", str(run_dir), "--data", str(cord_folders[1]), "--format", "cord", "--json"]
    assert main(args + ["--erase-layout"]) == 0
    erased = json.loads(capsys.readouterr().out)
    assert erased["documents"] == 2 and 0.0 <= erased["fields.micro_f1"] <= 1.0
    gold = load_dataset(cord_folders[1], "cord").documents
    assert [[w.text for w in d.words] for d in seen] == [[w.text for w in d.words] for d in gold]
    assert all(w.box == (0.0, 0.0, d.width, d.height) for d in seen for w in d.words)
    assert main(args + ["--erase-layout", "--from-images"]) == 2
    assert "does not apply with --from-images" in capsys.readouterr().err


def test_evaluate_can_score_the_words_as_decoded_one_by_one(trained, cord_folders, capsys, monkeypatch):
    from receipt_core.model.predict import Predictor

    run_dir, _ = trained
    modes = []  # whether each predictor the command made settles self-contradictory lines
    real_predict = Predictor.predict
    monkeypatch.setattr(Predictor, "predict",
                        lambda self, docs: modes.append(self.reconcile) or real_predict(self, docs))
    args = ["evaluate", str(run_dir), "--data", str(cord_folders[1]), "--format", "cord", "--json"]
    assert main(args) == 0 and main(args + ["--no-reconcile"]) == 0
    assert modes == [True, False]
    out = capsys.readouterr().out
    decoder = json.JSONDecoder()
    reconciled, end = decoder.raw_decode(out)
    plain, _ = decoder.raw_decode(out[end:].lstrip())
    for metrics in (reconciled, plain):
        assert metrics["documents"] == 2 and 0.0 <= metrics["quantity.item_accuracy"] <= 1.0


def test_predict_on_a_dataset_keeps_the_input_words_in_order(trained, cord_folders, capsys):
    run_dir, _ = trained
    assert main(["predict", str(run_dir), "--data", str(cord_folders[1]), "--json"]) == 0  # format recognised
    said = capsys.readouterr()
    out = json.loads(said.out)
    assert f"model: {run_dir} (backbone tiny, full, step 6)" in said.err
    gold = load_dataset(cord_folders[1], "cord").documents
    assert [d["id"] for d in out["documents"]] == [d.id for d in gold]
    for predicted, doc in zip(out["documents"], gold):
        assert [w["text"] for w in predicted["words"]] == [w.text for w in doc.words]
        word = predicted["words"][0]
        assert set(word) >= {"text", "box", "field", "field_score", "quantity", "quantity_value"}
        assert word["box"] == list(doc.words[0].box)
        for item in predicted["items"]:
            assert set(item) == {"name", "quantity", "unit_price", "price", "quantity_read"}
    # the text output never prints Python's None for a price not read (probe 50: "unit None  price None")
    assert main(["predict", str(run_dir), "--data", str(cord_folders[1])]) == 0
    text = capsys.readouterr().out
    assert " × " in text and "None" not in text


@pytest.fixture(scope="module")
def receipt_image(tmp_path_factory, synth_receipts):
    """A generated receipt photo (JPEG) and the document Tesseract read from it when it was generated
    (conftest.generated: made once per session)."""
    receipt = synth_receipts[0]
    path = tmp_path_factory.mktemp("images") / "receipt 1 (scan).jpg"
    path.write_bytes(receipt.image_bytes)
    return path, receipt.document


def test_predict_ocrs_images(trained, receipt_image, capsys, tmp_path):
    run_dir, _ = trained
    path, document = receipt_image
    assert main(["predict", str(run_dir), str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (doc,) = out["documents"]
    assert [w["text"] for w in doc["words"]] == [w.text for w in document.words]
    assert [w["box"] for w in doc["words"]] == [list(w.box) for w in document.words]
    assert "TOTAL" in {w["text"].upper() for w in doc["words"]}
    # a 2-page TIFF: that only page 1 was read is said, as Data's upload says it (probe 34: page 2 lost unsaid)
    from PIL import Image

    pages = tmp_path / "two pages.tiff"
    first = Image.open(path).convert("RGB")
    first.save(pages, save_all=True, append_images=[first.copy()])
    assert main(["predict", str(run_dir), str(pages), "--json"]) == 0
    assert f"note: {pages}: multi-page TIFF: only the first page was read" in capsys.readouterr().err


def test_predict_reports_a_bad_image_and_keeps_the_good_ones(trained, receipt_image, tmp_path, capsys):
    run_dir, _ = trained
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    copy = tmp_path / "copy\nof it.png"  # the same image under another name, listed after the bad file
    copy.write_bytes(receipt_image[0].read_bytes())
    assert main(["predict", str(run_dir), str(receipt_image[0]), str(bad), str(copy), "--json"]) == 2
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    # each prediction names its file (a probe: copies shared one id, and a failed file shifted the order)
    assert [d["file"] for d in printed["documents"]] == [str(receipt_image[0]), str(copy)]
    assert main(["predict", str(run_dir), str(copy)]) == 0
    assert capsys.readouterr().out.startswith(f"== {printed['documents'][1]['id']} ({json.dumps(str(copy))}): ")
    assert f"error: '{bad}' is not an image" in captured.err
    # a script reading stdout alone sees the failure too (a probe: it saw {"documents": []} when all failed)
    (error,) = printed["errors"]  # an object naming its file, as ocr --json gives them (a probe)
    assert error["name"] == str(bad) and error["error"].startswith(f"'{bad}' is not an image")


def test_train_warns_of_a_phased_plan_its_settings_cut_short_as_the_train_page_does(cord_folders, tmp_path, capsys):
    """Probe 33: `train --scenario phased --epochs 2` trained phase 1 alone, and a phase 2 toggled on from the
    start added nothing, without a word on the command line; the Train page warns of both before Start."""
    data = ["--train", str(cord_folders[0]), "--eval", str(cord_folders[0]), "--backbone", "tiny", "--batch-size", "3"]
    assert main(["train", *data, "--scenario", "phased", "--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "warning: With 2 epochs and 2 per phase this run ends in phase 1: phase 2 (the top layers) and phase 3 " \
           "(everything) never start." in err, err
    assert main(["train", *data, "--scenario", "phased", "--epochs", "5", "--unfreeze", "encoder.1", "--phased-top-k",
                 "1", "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "warning: Phase 2 trains the top 1 encoder layer (encoder.1), which are toggled on from the start" in err
    assert "phase 2: nothing new to train (toggled on from the start)" in err
    assert "ends in phase" not in err


def test_workspace_dataset_names_work_as_data_and_resume_continues(cord_folders, tmp_path, capsys):
    workspace = tmp_path / "ws"
    Workspace.open(workspace).save_documents("cord-small", load_dataset(cord_folders[0], "cord").documents)
    run_dir = tmp_path / "run"
    args = ["train", "--train", "cord-small", "--eval", "cord-small", "--workspace", str(workspace),
            "--backbone", "tiny", "--scenario", "freeze-backbone", "--batch-size", "3", "--lr", "3e-3",
            "--out", str(run_dir)]
    assert main(args + ["--epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert "train: 6 documents" in err and "phase 1: start; trainable" in err
    assert main(args + ["--epochs", "1"]) == 2
    assert "already holds a checkpoint; pass --resume" in capsys.readouterr().err
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    err = capsys.readouterr().err
    assert "step  4/4 epoch 2/2" in err and "phase 1: resumed" in err
    assert json.loads((run_dir / "run.json").read_text())["state"]["global_step"] == 4
    # the run's own settings stand unless given again: a probe resumed a tiny run without --backbone and was told
    # it had not been trained with text-minilm
    resumed = ["train", "--train", "cord-small", "--eval", "cord-small", "--workspace", str(workspace),
               "--out", str(run_dir), "--epochs", "3", "--resume"]
    assert main(resumed) == 0, capsys.readouterr().err
    assert json.loads((run_dir / "run.json").read_text())["state"]["global_step"] == 6
    assert main(resumed[:-3] + ["--epochs", "4", "--backbone", "text-minilm", "--resume"]) == 2
    assert "with backbone='text-minilm': the checkpoint was trained with backbone='tiny'" in capsys.readouterr().err
    # said before any document or model loads (an audit waited for both, then read "training failed before a step
    # completed"): the data named here does not even exist
    early = ["train", "--train", "nowhere-dataset", "--eval", "nowhere-dataset", "--workspace", str(workspace),
             "--out", str(run_dir), "--lr", "1e-3", "--resume"]
    assert main(early) == 2
    assert capsys.readouterr().err == (f"error: cannot resume {run_dir} with lr=0.001: the checkpoint was trained with "
                                       "lr=0.003; leave that option out to keep the run's own\n")


def test_a_resume_without_max_minutes_says_the_runs_budget_is_dropped(cord_folders, tmp_path, capsys):
    """Probe 37 resumed a run limited by --max-minutes: it trained on without its budget, and run.json recorded
    none, unsaid."""
    run_dir = tmp_path / "run"
    args = ["train", "--train", str(cord_folders[0]), "--eval", str(cord_folders[1]), "--format", "cord",
            "--backbone", "tiny", "--scenario", "freeze-backbone", "--batch-size", "3", "--out", str(run_dir)]
    assert main(args + ["--epochs", "1", "--max-minutes", "100"]) == 0
    capsys.readouterr()
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    assert ("note: resumed without a time budget (the run had 1 h 40 min of training in all); give --max-minutes to "
            "keep one") in capsys.readouterr().err
    assert main(args + ["--epochs", "3", "--resume", "--max-minutes", "100"]) == 0
    assert "resumed without a time budget" not in capsys.readouterr().err


def test_train_reference_and_pretrain_without_out_keep_their_run_in_the_workspace(cord_folders, tmp_path, capsys):
    """Without ``--out`` a run is a workspace run, as the dashboard starts them: the Runs page lists it, and
    ``evaluate`` reads it by its id (before, a run trained on the command line never reached the dashboard)."""
    workspace = tmp_path / "ws"
    common = ["--backbone", "tiny", "--epochs", "1", "--workspace", str(workspace)]
    data = ["--train", str(cord_folders[0]), "--eval", str(cord_folders[0])]
    assert main(["train", *data, *common, "--batch-size", "3"]) == 0
    out, err = capsys.readouterr()
    ws = Workspace.open(workspace)
    (run,) = ws.list_runs()
    assert out == f"{run.id}\n"  # alone on stdout, for RUN=$(…) in a script (walkthrough 60 captured nothing)
    assert f"run {run.id} is kept in the workspace: the dashboard's Runs page lists it" in err
    assert run.status == "finished" and run.name == "tiny · phased" and not run.live_in_another_process()
    assert run.config["started_from"] == "command line" and run.config["train_data"] == [str(cord_folders[0])]
    assert run.config["train_ids"] and run.summary["reason"] == "completed"
    assert [e.kind for e in ws.run_events(run.id)].count("eval") == 1  # its curves, as the Runs page reads them
    assert main(["evaluate", run.id, "--data", str(cord_folders[0]), "--json", "--workspace", str(workspace)]) == 0
    scored = json.loads(capsys.readouterr().out)
    last_eval = ws.run_events(run.id, kinds=["eval"])[-1].payload["metrics"]
    assert scored["documents"] == 6 and scored["fields.micro_f1"] == pytest.approx(last_eval["fields.micro_f1"])
    assert main(["reference", *data, *common]) == 0
    err = capsys.readouterr().err
    assert "Runs page lists it, and its scores on --eval are printed after each epoch" in err
    assert "warning: 6 of the 6 evaluation receipts are also training receipts" in err  # as train says it
    assert main(["pretrain", "--data", str(cord_folders[0]), *common]) == 0
    assert "Runs page lists it, and train --backbone reads the backbone it saves" in capsys.readouterr().err
    kinds = {r.config["run_kind"]: r for r in ws.list_runs()}
    assert set(kinds) == {"receipt", "reference", "pretrain"} and {r.status for r in kinds.values()} == {"finished"}
    assert (ws.run_dir(kinds["pretrain"].id) / "backbone" / "config.json").is_file()
    pretrain_folder = ws.run_dir(kinds["pretrain"].id)  # given for its backbone: the folder to give is named
    assert main(["train", *data, "--backbone", str(pretrain_folder), "--workspace", str(workspace)]) == 2
    assert (f"it has no config.json; a pre-training run keeps its backbone in {pretrain_folder / 'backbone'}: give "
            "that folder") in capsys.readouterr().err
    fresh = ws.create_run("tiny · full", {"run_kind": "receipt"})  # started, not saved yet
    assert main(["predict", fresh, "--data", str(cord_folders[0]), "--workspace", str(workspace)]) == 2
    assert f"run {fresh} has no checkpoint yet: it saves after each epoch" in capsys.readouterr().err
    with ws._write() as conn:  # its process died before the first save (a probe was told to try again)
        conn.execute("UPDATE runs SET pid = 999999999 WHERE id = ?", (fresh,))
    assert main(["evaluate", fresh, "--data", str(cord_folders[0]), "--workspace", str(workspace)]) == 2
    assert f"run {fresh} ended (interrupted) before its first save: it has no checkpoint" in capsys.readouterr().err
    # a finished run's folder moved away is named so, and not made again empty (a probe)
    moved = tmp_path / "moved-run"
    ws.run_dir(run.id).rename(moved)
    assert main(["evaluate", run.id, "--data", str(cord_folders[0]), "--workspace", str(workspace)]) == 2
    assert "is gone (moved or deleted); give the folder where its checkpoint is now" in capsys.readouterr().err
    assert not (workspace / "runs" / run.id).exists()
    moved.rename(workspace / "runs" / run.id)
    # its run.json gone or replaced, the weights in place: a damaged checkpoint, not "ended before its first save"
    run_file = ws.run_dir(run.id) / "run.json"
    kept = run_file.read_bytes()
    for damage, said in ((lambda: None, "its run.json is missing (its weights, model.safetensors, are"),
                         (lambda: run_file.symlink_to("/dev/null"), "its run.json is not a regular file")):
        run_file.unlink(missing_ok=True)
        damage()
        assert main(["evaluate", run.id, "--data", str(cord_folders[0]), "--workspace", str(workspace)]) == 2
        err = capsys.readouterr().err
        assert "checkpoint in" in err and "is damaged: " + said in err and "before its first save" not in err, err
    run_file.unlink(missing_ok=True)
    run_file.write_bytes(kept)
    # a folder holding other files is no workspace to keep a run in (a probe built one inside a checkpoint)
    run_folder = ws.run_dir(run.id)
    assert main(["train", *data, "--backbone", "tiny", "--epochs", "1", "--workspace", str(run_folder)]) == 2
    assert "holds other files but no workspace (workspace.sqlite3)" in capsys.readouterr().err
    assert not (run_folder / "workspace.sqlite3").exists()
    for kind, said in (("reference", "the reference tagger"), ("pretrain", "layout pre-training")):
        assert main(["evaluate", kinds[kind].id, "--data", str(cord_folders[0]), "--workspace", str(workspace)]) == 2
        assert (f"run {kinds[kind].id} is a run of {said}, whose" in capsys.readouterr().err)
    assert main(["train", *data, *common, "--resume"]) == 2
    assert "--resume continues the run in --out RUN_DIR: give it" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "--train", "nowhere-dataset", "--eval", "x", "--backbone", "tiny", "--out", "{tmp}/r"],
     "--train 'nowhere-dataset' is neither a folder nor a dataset: there is no workspace at {tmp}/ws"),
    # a layer the backbone lacks is refused before any data is read (walkthrough 60: after the model loaded, a
    # failed run left in the workspace); --train names nothing here
    (["train", "--train", "nowhere-dataset", "--eval", "x", "--backbone", "tiny", "--freeze", "encoder.9"],
     "--freeze encoder.9: the backbone tiny has 2 encoder layers, encoder.0 to encoder.1 (or give 'encoder' for all "
     "of them)"),
    (["train", "--train", "nowhere-dataset", "--eval", "x", "--scenario", "freeze-all", "--unfreeze", "encoder.6"],
     "--unfreeze encoder.6: the backbone text-minilm has 6 encoder layers, encoder.0 to encoder.5"),
    (["study", "--train", "nowhere-dataset", "--eval", "x", "--backbone-scenarios", "tiny:full", "--freeze",
      "encoder.2", "--out", "{tmp}/r"], "--freeze encoder.2: the backbone tiny has 2 encoder layers"),
    # a name no model has is refused before any data is read (--train names nothing here)
    (["train", "--train", "nowhere-dataset", "--eval", "x", "--backbone", "tiny", "--freeze", "encodr",
      "--out", "{tmp}/r"], "unknown freeze group 'encodr': give a group (embeddings.text, embeddings.layout"),
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "gpt-17", "--out", "{tmp}/r"],
     "unknown backbone 'gpt-17'"),
    # a probe: 1e200 overflowed the rates ("(34, 'Numerical result out of range')"), study took NaN and crashed
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--decay-factor", "1e200", "--out",
      "{tmp}/r"], "discriminative decay factor must be a number from 1 to 100, got 1e+200"),
    (["study", "--train", "{train}", "--eval", "{train}", "--decay-factor", "nan", "--out", "{tmp}/r"],
     "--decay-factor must be a number from 1 to 100, got nan"),
    # a missing backbone folder is said before any data is read (--train names nothing here) or folder made
    (["train", "--train", "nowhere-dataset", "--eval", "x", "--backbone", "{tmp}/no-such-model", "--out",
      "{tmp}/r"], "--backbone: the backbone folder '{tmp}/no-such-model' does not exist"),
    (["pretrain", "--data", "nowhere-dataset", "--backbone", "{tmp}", "--out", "{tmp}/r"],
     "--backbone: {tmp} is not a transformers checkpoint: it has no config.json"),
    (["study", "--train", "nowhere-dataset", "--eval", "x", "--backbone-scenarios", "{tmp}/gone:full", "--out",
      "{tmp}/r"], "configuration '{tmp}/gone:full': the backbone folder '{tmp}/gone' does not exist"),
    (["evaluate", "{tmp}", "--data", "{train}", "--json"], "is not a checkpoint folder: it has no run.json"),
    (["predict", "{tmp}"], "give either --data DATA or one or more IMAGE files"),
    # a probe: the image after --data was "unrecognized arguments", which did not say what was wrong
    (["predict", "{tmp}", "--data", "{train}", "{tmp}/a.png"],
     "give either --data DATA or IMAGE files, not both (--data {train} and 1 image file)"),
    # found by a probe: trained to the end, then its checkpoint could never be loaded (run.json allows 8-8,192)
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--max-length", "99999999",
      "--out", "{tmp}/r"], "max length must be at most 8,192, got 99,999,999"),
    (["reference", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--max-length", "4",
      "--out", "{tmp}/r"], "max length must be at least 8, got 4"),
    # a probe: 8-131 passed, then failed after loading on the windows' overlap, which no option sets
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--max-length", "100",
      "--out", "{tmp}/r"], "max length must be at least 132 tokens, as consecutive windows overlap by 128, got 100"),
    # found by a second probe: a 1e308-minute study trained to the end, then overflowed writing its report
    (["study", "--train", "{train}", "--eval", "{train}", "--budget-minutes", "1e308", "--backbone-scenarios",
      "tiny:full", "--out", "{tmp}/r"], "the budget in minutes must be above 0 and at most 10,000 (about a week)"),
    (["study", "--train", "{train}", "--eval", "{train}", "--repeats", "99999999", "--out", "{tmp}/r"],
     "repeats must be from 1 to 20, got 99,999,999"),
    # a third probe: a misspelt --freeze group failed every configuration after the data had loaded, then wrote a
    # report of failed rows into the folder (said now before any document loads: the data is not even there)
    (["study", "--train", "nowhere-dataset", "--eval", "x", "--freeze", "nonexistent.group", "--out", "{tmp}/r"],
     "unknown freeze group 'nonexistent.group'"),
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--max-minutes", "1e308", "--out",
      "{tmp}/r"], "max minutes must be above 0 and at most 10,000"),
    # found by a probe: a rate of 1e30 overflowed the weights, and the first save failed on the NaN it evaluated
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--head-lr", "1e30", "--out",
      "{tmp}/r"], "head learning rate must be a number above 0 and at most 1, got 1e+30"),
    (["reference", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--lr", "2", "--out", "{tmp}/r"],
     "learning rate must be a number from 0 to 1, got 2.0"),
    # found by a probe: 0 epochs trained, evaluated and saved nothing, then said "completed; checkpoint None"
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--epochs", "0", "--out", "{tmp}/r"],
     "argument --epochs: must be at least 1, got 0"),
    # found by a probe: phase 2 of 100 layers on a 2-layer backbone was taken without a word
    (["train", "--train", "nowhere-dataset", "--eval", "x", "--backbone", "tiny", "--phased-top-k", "100", "--out",
      "{tmp}/r"], "--phased-top-k 100: the backbone tiny has 2 encoder layers; give 1 to 2 (or leave it out: phase 2 "
                  "then picks its depth)"),
    # a second probe: a phased-only setting with another scenario was taken without a word (said before the error)
    (["train", "--train", "nowhere-dataset", "--eval", "x", "--backbone", "tiny", "--scenario", "full",
      "--phased-top-k", "1", "--patience", "2", "--out", "{tmp}/r"],
     "warning: --phased-top-k, --patience apply only to --scenario phased; full ignores them"),
    # a probe: a contextual-only setting with a linear head was taken without a word
    (["train", "--train", "nowhere-dataset", "--eval", "x", "--backbone", "tiny", "--head", "linear",
      "--head-size", "64", "--out", "{tmp}/r"],
     "warning: --head-size applies only to --head contextual; a linear head ignores it"),
    # the same probe: "at least 1" from the parser for 0, "from 8 to 1024" from the config for 5000; one range now
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--head-size", "0", "--out",
      "{tmp}/r"], "head size must be a whole number from 8 to 1024, got 0"),
    (["train", "--train", "{train}", "--eval", "{train}", "--backbone", "tiny", "--head-depth", "0", "--out",
      "{tmp}/r"], "head depth must be 1 to 4 layers, got 0"),
    # and "[0, 1)" from the parser for 1.5 beside "(0, 1)" from the config for 0
    (["pretrain", "--data", "{train}", "--backbone", "tiny", "--mask-probability", "1.5", "--out", "{tmp}/r"],
     "mask probability must be above 0 and below 1, got 1.5"),
    (["pretrain", "--data", "{train}", "--backbone", "tiny", "--mask-probability", "0", "--out", "{tmp}/r"],
     "mask probability must be above 0 and below 1, got 0.0"),
])
def test_user_errors_are_one_line_messages(argv, message, cord_folders, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, train=cord_folders[0]) for a in argv]
    assert main(argv + ["--workspace", str(tmp_path / "ws")] if argv[0] != "predict" else argv) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path, train=cord_folders[0]) in err and "Traceback" not in err
    # nothing is left behind: a run makes its folder when it first saves (before, a run that failed left it empty)
    assert not (tmp_path / "r").exists()


def test_images_given_after_an_option_still_count(capsys):
    """argparse stops filling a list of positionals at the first option; the images after it join the list."""
    from receipt_core.cli.main import build_parser, parse_command_line

    args = parse_command_line(build_parser(), ["ocr", "a.png", "--json", "b.png", "c.png"])
    assert args.images == [Path("a.png"), Path("b.png"), Path("c.png")] and args.json
    args = parse_command_line(build_parser(), ["predict", "run", "--json", "a.png"])
    assert args.images == [Path("a.png")]
    for argv, said in ((["ocr", "a.png", "--jsn", "b.png"], "unrecognized arguments: --jsn b.png"),
                       (["evaluate", "run", "--data", "d", "extra"], "unrecognized arguments: extra"),
                       (["ocr", "a.png", "--json", " "], "argument IMAGE: is empty")):
        with pytest.raises(SystemExit):
            parse_command_line(build_parser(), argv)
        assert said in capsys.readouterr().err


def test_a_mistyped_workspace_is_refused_and_not_made(cord_folders, tmp_path, capsys):
    """Commands that read a workspace refuse one that was never made, and leave nothing behind; before, a mistyped
    ``--workspace`` made an empty one and said only "datasets: none"."""
    missing = tmp_path / "wrokspace"
    for argv in (["export", "--out", str(tmp_path / "out")],
                 ["evaluate", "abc123", "--data", str(cord_folders[0])],
                 ["train", "--train", "cord-small", "--eval", "cord-small", "--backbone", "tiny", "--out",
                  str(tmp_path / "run")]):
        assert main([*argv, "--workspace", str(missing)]) == 2
        err = capsys.readouterr().err
        assert f"there is no workspace at {missing} (no workspace.sqlite3 in it); check --workspace" in err, err
    assert not missing.exists() and not (tmp_path / "out").exists() and not (tmp_path / "run").exists()
    # a file given as the workspace is said to be a file (probe 48's /etc/passwd read "there is no workspace at")
    (tmp_path / "a-file").write_text("x")
    assert main(["export", "--out", str(tmp_path / "out"), "--workspace", str(tmp_path / "a-file")]) == 2
    assert f"{tmp_path / 'a-file'} is a file, not a folder, so it holds no workspace; check --workspace" in \
        capsys.readouterr().err
    # a workspace that exists but lacks the dataset still lists what it holds
    Workspace.open(missing).save_documents("cord-small", load_dataset(cord_folders[0], "cord").documents)
    assert main(["train", "--train", "cord-smal", "--eval", "cord-small", "--backbone", "tiny", "--workspace",
                 str(missing), "--out", str(tmp_path / "run")]) == 2
    assert "is neither a folder nor a dataset of the workspace" in capsys.readouterr().err


def test_an_ocr_cache_that_is_a_file_is_said_to_be_a_file(cord_folders, tmp_path, capsys):
    """Found by a probe: it said "error: …/afile: File exists"."""
    (tmp_path / "afile").write_text("x")
    argv = ["evaluate", str(tmp_path), "--data", str(cord_folders[1]), "--from-images", "--ocr-cache",
            str(tmp_path / "afile")]
    assert main(argv) == 2
    assert f"--ocr-cache {tmp_path / 'afile'} is a file, not a folder; choose a new folder, or one an earlier " \
        "--ocr-cache filled" in capsys.readouterr().err


def test_an_ocr_cache_folder_holding_other_files_is_refused_and_left_alone(cord_folders, tmp_path, capsys):
    """Found by a probe: ``--ocr-cache /etc`` would have scattered cache files among the system's."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "passwd").write_text("root:x:0:0")
    argv = ["evaluate", str(tmp_path), "--data", str(cord_folders[1]), "--from-images", "--ocr-cache", str(theirs)]
    assert main(argv) == 2
    assert (f"--ocr-cache {theirs} already holds 1 entry that --ocr-cache did not write (such as 'passwd'); give "
            "a new or empty folder, or one an earlier --ocr-cache filled") in capsys.readouterr().err
    assert [p.name for p in theirs.iterdir()] == ["passwd"]
    # a second probe: these failed only once OCR had started, with "Is a directory" or "Not a directory"
    named_like_an_entry = tmp_path / "cache"
    (named_like_an_entry / f"{'a' * 64}-{'b' * 16}.json").mkdir(parents=True)
    assert main(argv[:-1] + [str(named_like_an_entry)]) == 2
    assert "already holds 1 entry that --ocr-cache did not write" in capsys.readouterr().err
    assert main(argv[:-1] + [str(theirs / "passwd" / "x")]) == 2
    assert (f"cannot create the folder {theirs / 'passwd' / 'x'}: {theirs / 'passwd'} is not a folder"
            in capsys.readouterr().err)
    # a command refused for another reason (no checkpoint there) leaves no empty cache folder behind
    assert main(argv[:-1] + [str(tmp_path / "new-cache")]) == 2
    assert "is not a checkpoint folder: it has no run.json" in capsys.readouterr().err
    assert not (tmp_path / "new-cache").exists()


def test_evaluate_names_the_path_of_a_copied_run_folder_given_by_its_name(trained, cord_folders, tmp_path, capsys):
    """Probe 35: a run folder copied inside the workspace's runs/ and named by its folder name read "neither a
    checkpoint folder nor a workspace run id", though the folder was there."""
    from receipt_core.workspace.store import Workspace

    run_dir, _ = trained
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(run_dir, ws.runs_dir / "copy-of-run")
    assert main(["evaluate", "copy-of-run", "--data", str(cord_folders[1]), "--format", "cord",
                 "--workspace", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err
    assert ("copy-of-run is no run this workspace recorded, though its runs folder holds a folder of that name (a "
            f"copy?): give the folder's path, {ws.runs_dir / 'copy-of-run'}") in err
    assert main(["evaluate", "no-such-run", "--data", str(cord_folders[1]), "--format", "cord",
                 "--workspace", str(tmp_path / "ws")]) == 2
    assert "no-such-run is neither a checkpoint folder nor a workspace run id" in capsys.readouterr().err


def test_a_tampered_checkpoint_is_refused_by_evaluate(trained, cord_folders, tmp_path, capsys):
    run_dir, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(data))
    assert main(["evaluate", str(copy), "--data", str(cord_folders[1]), "--json"]) == 2
    err = capsys.readouterr().err
    assert "SHA-256" in err and "refusing to load it" in err


def test_study_refuses_one_recipe_when_only_the_reference_runs(cord_folders, tmp_path, capsys):
    """Probe 35: --same-recipe with only the reference was recorded in study.json, then ignored."""
    train, dev = (str(folder) for folder in cord_folders)
    out = tmp_path / "study"
    assert main(["study", "--train", train, "--eval", dev, "--format", "cord", "--backbone-scenarios",
                 "reference:tiny", "--epochs", "1", "--workspace", str(tmp_path / "ws"), "--out", str(out),
                 "--same-recipe"]) == 2
    err = capsys.readouterr().err
    assert "--same-recipe gives the two-head scenarios one recipe, and this study runs only the reference" in err
    assert not out.exists()


def test_study_trains_on_several_datasets_as_train_does(cord_folders, tmp_path, capsys):
    """`train --train A B` trains on both; `study --train` took one (the dashboard's study now takes several)."""
    from receipt_core.study.files import load_study

    train, dev = (str(folder) for folder in cord_folders)
    out = tmp_path / "study"
    assert main(["study", "--train", train, dev, "--eval", dev, "--format", "cord", "--backbone-scenarios",
                 "tiny:freeze-all", "--epochs", "1", "--workspace", str(tmp_path / "ws"), "--out", str(out),
                 "--same-recipe"]) == 0
    err = capsys.readouterr().err
    assert f"train mix: {train} {TRAIN_FILES}, {dev} 2" in err
    assert load_study(out)["settings"]["same_recipe"] is True  # every scenario on one recipe (walkthrough 28)
    assert "Every scenario trains with one recipe, so only what it freezes differs" in (out / "report.md").read_text()
    # scored on its own training receipts: said as train says it, and kept in the report (a probe)
    overlap = "2 of the 2 evaluation receipts are also training receipts"
    assert f"warning: {overlap}" in err and overlap in (out / "report.md").read_text()
    data = load_study(out)["data"]
    assert (data["train"], data["train_documents"]) == (f"{train} + {dev}", TRAIN_FILES + 2)
    assert main(["study", "--train", train, train, "--eval", dev, "--format", "cord", "--backbone-scenarios",
                 "tiny:freeze-all", "--out", str(tmp_path / "twice")]) == 2
    assert "is twice in" in capsys.readouterr().err


def test_study_out_refuses_other_files_unless_forced_and_never_reuses_a_study(cord_folders, tmp_path, capsys,
                                                                               monkeypatch):
    import receipt_core.cli.study_command as study_command

    train = str(cord_folders[0])
    argv = ["study", "--train", train, "--eval", train, "--format", "cord", "--backbone-scenarios", "tiny:freeze-all",
            "--epochs", "1", "--workspace", str(tmp_path / "ws"), "--out"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("my report")
    with monkeypatch.context() as patch:
        patch.setattr(study_command, "load_documents", lambda *a, **k: pytest.fail("documents were loaded"))
        patch.setattr(study_command, "load_training_documents", lambda *a, **k: pytest.fail("documents were loaded"))
        assert main(argv + [str(mine)]) == 2
    err = capsys.readouterr().err
    assert f"error: --out {mine} is not empty (it holds report.html); choose a new or empty folder, or pass --force" \
        in err
    assert [p.name for p in mine.iterdir()] == ["report.html"] and (mine / "report.html").read_text() == "my report"

    (tmp_path / "empty").mkdir()
    assert main(argv + [str(tmp_path / "empty")]) == 0, capsys.readouterr().err
    (mine / "notes.txt").write_text("mine")
    assert main(argv + [str(mine), "--force"]) == 0, capsys.readouterr().err
    assert "<!DOCTYPE html>" in (mine / "report.html").read_text() and (mine / "notes.txt").read_text() == "mine"
    assert (mine / "study.json").is_file()
    capsys.readouterr()
    assert main(argv + [str(mine)]) == 2  # a study's own runs are never mixed with another's
    assert "already holds a study; choose an empty --out folder, or pass --force to replace it" in \
        capsys.readouterr().err
    linked = tmp_path / "linked"  # a runs/ that is a link elsewhere is said as one, not as an old study's (probe 43)
    linked.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (linked / "runs").symlink_to(tmp_path / "elsewhere")
    assert main(argv + [str(linked)]) == 2
    assert f"holds runs/, a link to {tmp_path / 'elsewhere'}" in capsys.readouterr().err
    # with --force the study there is replaced, not mixed: its files and runs/ deleted first (probe 41 could not
    # rewrite a study stopped with Ctrl-C); the folder's other files stay
    (mine / "runs" / "stale-run").mkdir()
    assert main(argv + [str(mine), "--force"]) == 0
    assert f"--force: replacing the study in {mine} (deleted study.json, report.md, report.html, runs/)" in \
        capsys.readouterr().err
    assert not (mine / "runs" / "stale-run").exists() and (mine / "notes.txt").read_text() == "mine"


def test_synth_refuses_an_out_folder_it_cannot_make_before_it_renders(tmp_path, capsys, monkeypatch):
    """Found by a probe: synth rendered and OCR'd every receipt, then failed on --out below a file."""
    import receipt_core.datasets.synth as synth

    (tmp_path / "a-file").write_text("x")
    monkeypatch.setattr(synth, "generate_dataset", lambda *a, **k: pytest.fail("rendered before --out was checked"))
    assert main(["synth", "--out", str(tmp_path / "a-file" / "sub"), "--count", "3"]) == 2
    assert (f"cannot create the folder {tmp_path / 'a-file' / 'sub'}: {tmp_path / 'a-file'} is not a folder"
            in capsys.readouterr().err)


def test_an_error_line_keeps_the_spaces_inside_a_quoted_name():
    """Found by a probe: 'cord  dev' was printed as 'cord dev' (every whitespace run squeezed)."""
    from receipt_core.cli.main import describe_error

    error = ValueError("already in dataset 'cord  dev';\n  storing it as 'cord dev' would move it")
    assert describe_error(error) == "already in dataset 'cord  dev'; storing it as 'cord dev' would move it"


def test_evaluate_from_images_on_a_dataset_name_says_what_to_do(trained, capsys):
    run_dir, _ = trained
    assert main(["evaluate", str(run_dir), "--data", "small", "--from-images"]) == 2
    assert ("--from-images needs a dataset folder or file with images; small is neither (a workspace dataset's "
            "receipts are already read: evaluate them without --from-images)") in capsys.readouterr().err


def test_evaluate_refused_for_data_without_images_leaves_no_ocr_cache_folder(trained, cord_folders, tmp_path,
                                                                            capsys):
    """Probe 43: DATA whose images could not be used was refused, and the --ocr-cache folder made for it stayed,
    empty. A folder that was there already stays."""
    run_dir, _ = trained
    no_images = cord_folders[1]  # CORD json, no image/ folder
    cache = tmp_path / "cache with space"
    argv = ["evaluate", str(run_dir), "--data", str(no_images), "--format", "cord", "--from-images", "--ocr-cache",
            str(cache)]
    assert main(argv) == 2
    assert "has no usable images" in capsys.readouterr().err and not cache.exists()
    cache.mkdir()
    assert main(argv) == 2
    assert cache.is_dir()


def test_a_reference_or_pretrained_model_folder_is_named_not_called_damaged(tmp_path, capsys):
    """A probe gave evaluate a reference run's `reference` folder (a Hugging Face model: config.json and
    model.safetensors, no run.json) and was told its checkpoint was damaged and to delete the run."""
    from receipt_core.model.checkpoint import checkpoint_problem, damaged_checkpoint

    tagger, backbone = tmp_path / "run-a" / "reference", tmp_path / "run-b" / "backbone"
    for folder in (tagger, backbone):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        (folder / "model.safetensors").write_bytes(b"weights")
    (backbone / "pretrain.json").write_text("{}")
    assert damaged_checkpoint(tagger) is None and checkpoint_problem(tagger) is None
    for folder, what in ((tagger, "a Hugging Face model folder, such as a reference run's tagger"),
                         (backbone, "a layout pre-training run's backbone, which `train --backbone` reads")):
        for command in (["evaluate", str(folder), "--data", str(tmp_path)], ["predict", str(folder), "--json",
                                                                              "--data", str(tmp_path)]):
            assert main(command) == 2
            err = capsys.readouterr().err
            assert f"{folder} is {what}" in err and "not a two-head run" in err and "damaged" not in err, err
    # the run's own --out, one folder up (a second probe was told only "it has no run.json")
    for folder, child in ((tmp_path / "run-a", "reference"), (tmp_path / "run-b", "backbone")):
        assert main(["evaluate", str(folder), "--data", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert f"{folder} is a run folder whose model is in {child}/: " in err and "not a two-head run" in err, err


def test_a_workspace_run_whose_folder_holds_another_runs_checkpoint_is_refused(cord_folders, tmp_path, capsys):
    """Probe 30 replaced run B's folder by a copy of run A's: evaluate printed A's scores under B's id, exit 0, and
    the pages served A's weights under B's name beside B's recorded scores."""
    workspace = tmp_path / "ws"
    common = ["train", "--train", str(cord_folders[0]), "--eval", str(cord_folders[0]), "--backbone", "tiny",
              "--epochs", "1", "--batch-size", "3", "--workspace", str(workspace)]
    assert main([*common, "--seed", "1"]) == 0 and main([*common, "--seed", "2"]) == 0
    capsys.readouterr()
    ws = Workspace.open(workspace)
    second, first = [run.id for run in ws.list_runs()]  # newest first
    assert json.loads((ws.run_dir(first) / "run.json").read_text())[SAVED_IN_KEY] == first
    shutil.rmtree(ws.runs_dir / second)
    shutil.copytree(ws.runs_dir / first, ws.runs_dir / second)
    assert main(["evaluate", second, "--data", str(cord_folders[0]), "--workspace", str(workspace)]) == 2
    err = capsys.readouterr().err
    assert f"its checkpoint was saved by run '{first}', not by this run: a folder copied or moved into its place" \
        in err, err
    assert "put the run's own folder back, or delete the run" in err
    problem = checkpoint_problem(ws.run_dir(second), run_id=second)
    assert problem.startswith(f"its checkpoint was saved by run '{first}'")
    assert checkpoint_problem(ws.run_dir(first), run_id=first) is None
    assert checkpoint_problem(ws.run_dir(second)) is None  # a folder read by its path, not as a run: renaming is fine
    with pytest.raises(CheckpointError, match=f"cannot resume run '{second}': its checkpoint was saved by run"):
        resume_run(ws, second, train_docs=load_dataset(cord_folders[0], "cord").documents,
                   eval_docs=load_dataset(cord_folders[0], "cord").documents)
    # by its folder's path too, as predict reads it (probe 31: refused by id, A's scores by path)
    for command in ("evaluate", "predict"):
        assert main([command, str(ws.runs_dir / second), "--data", str(cord_folders[0])]) == 2
        assert "its checkpoint was saved by run" in capsys.readouterr().err
    assert main(["evaluate", first, "--data", str(cord_folders[0]), "--workspace", str(workspace)]) == 0
    assert main(["evaluate", str(ws.runs_dir / first), "--data", str(cord_folders[0])]) == 0
    # nor through a link in its place (probe 32), by its path or with a trailing "."
    shutil.rmtree(ws.runs_dir / second)
    (ws.runs_dir / second).symlink_to(ws.runs_dir / first, target_is_directory=True)
    for path in (ws.runs_dir / second, ws.runs_dir / second / "."):
        assert main(["evaluate", str(path), "--data", str(cord_folders[0])]) == 2
        assert "its checkpoint was saved by run" in capsys.readouterr().err
    # nor through a link from outside the workspace to B's folder holding A's checkpoint (probe 33)
    (ws.runs_dir / second).unlink()
    shutil.copytree(ws.runs_dir / first, ws.runs_dir / second)
    (tmp_path / "link").symlink_to(ws.runs_dir / second, target_is_directory=True)
    assert main(["evaluate", str(tmp_path / "link"), "--data", str(cord_folders[0])]) == 2
    assert "its checkpoint was saved by run" in capsys.readouterr().err
