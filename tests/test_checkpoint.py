"""Checkpoints: safetensors + run.json round trip, exact resume, refusal of tampered files, crash-safe saving."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from conftest import REPO_ROOT
from receipt_core.model.checkpoint import (MODEL_FILE, RUN_FILE, TRAINING_STATE_FILE, CheckpointError,
                                           checkpoint_problem, has_checkpoint, load_checkpoint, sha256_file)
from receipt_core.model.run_manifest import signed_run_info
from receipt_core.model.encoding import collate
from receipt_core.training.events import FinishedEvent, StepEvent
from receipt_core.training.config import TrainConfig
from receipt_core.training.job import TrainingJob
from recorded_job import RecordedJob
from receipt_core.training.receipt_task import build_resumed_task, build_task

# a constant rate: a linear schedule ends with the run, so a 1-epoch run would not be the first half of a 2-epoch one
CONFIG = TrainConfig(backbone="tiny", scenario="full", epochs=1, batch_size=4, lr=3e-3, seed=3, lr_schedule="constant")


@pytest.fixture(scope="module")
def cord_docs(cord_train):
    return cord_train[:8]  # conftest.cord_train: CORD train parsed once per session


def train(build, config: TrainConfig) -> TrainingJob:
    job = RecordedJob(build, config)
    job.start()
    assert job.join(timeout=120)
    assert isinstance(job.result, FinishedEvent), getattr(job.result, "traceback", job.result)
    return job


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, cord_docs) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    train(lambda: build_task(CONFIG, cord_docs, (), run_dir), CONFIG)
    return run_dir


def copy_of(checkpoint: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(checkpoint, target)
    return target


def test_checkpoint_holds_safetensors_and_json_only(checkpoint):
    names = sorted(p.name for p in checkpoint.iterdir())
    assert names == [MODEL_FILE, RUN_FILE, "tokenizer", TRAINING_STATE_FILE]
    info = json.loads((checkpoint / RUN_FILE).read_text())
    assert info["backbone"] == "tiny"
    assert info["sha256"] == sha256_file(checkpoint / MODEL_FILE)
    assert info["schema"]["fields"][0] == "OTHER"
    assert info["freeze_plan"]["encoder.0"] is True
    assert info["config"]["lr"] == CONFIG.lr and info["state"]["global_step"] == 2
    for path in checkpoint.rglob("*"):
        assert path.suffix not in (".bin", ".pt", ".pkl", ".pth")


def test_round_trip_gives_the_same_model_and_outputs(checkpoint, cord_docs):
    loaded = load_checkpoint(checkpoint)
    again = load_checkpoint(checkpoint)
    assert loaded.backbone == "tiny" and loaded.schema.fields == again.schema.fields
    assert loaded.config == CONFIG.to_json()
    batch = collate(loaded.encoder().encode(cord_docs[0]), loaded.encoder().pad_token_id)
    with torch.no_grad():
        first = loaded.model(**batch)
        second = again.model(**batch)
    assert torch.equal(first.field_logits, second.field_logits)
    # the loaded weights are the trained ones, not a fresh initialisation
    fresh, _ = build_task(CONFIG, cord_docs, (), checkpoint.parent / "unused")
    assert not torch.equal(fresh.model.field_head.net[-1].weight, loaded.model.field_head.net[-1].weight)


def test_a_loaded_checkpoint_runs_fused_attention(checkpoint):
    loaded = load_checkpoint(checkpoint)
    assert loaded.model.backbone.config._attn_implementation == "sdpa"
    assert has_checkpoint(checkpoint) and not has_checkpoint(checkpoint / "tokenizer")


def test_resume_continues_the_step_count_and_matches_an_uninterrupted_run(tmp_path, cord_docs):
    two_epochs = dataclasses.replace(CONFIG, epochs=2)
    straight_dir, split_dir = tmp_path / "straight", tmp_path / "split"
    straight = train(lambda: build_task(two_epochs, cord_docs, (), straight_dir), two_epochs)
    train(lambda: build_task(CONFIG, cord_docs, (), split_dir), CONFIG)  # epoch 1 only
    resumed = train(lambda: build_resumed_task(split_dir, cord_docs, (), two_epochs), two_epochs)

    steps = [e.step for e in resumed.history() if isinstance(e, StepEvent)]
    assert steps == [3, 4]
    assert resumed.history()[0].reason == "resumed"
    a, b = load_checkpoint(straight_dir), load_checkpoint(split_dir)
    assert b.state["global_step"] == 4 and b.state["epoch"] == 2
    # The optimizer moments and the dropout RNG came back too: the resumed run retraces the uninterrupted one
    # (to float rounding: CPU matmul kernels may sum in a different order from one process to the next).
    straight_losses = [e.loss for e in straight.history() if isinstance(e, StepEvent)][2:]
    resumed_losses = [e.loss for e in resumed.history() if isinstance(e, StepEvent)]
    assert resumed_losses == pytest.approx(straight_losses, abs=1e-6)
    for name, tensor in a.model.state_dict().items():
        assert torch.allclose(tensor, b.model.state_dict()[name], rtol=0, atol=1e-6), name



def test_a_phased_run_resumed_with_more_epochs_enters_the_phase_a_fresh_run_would(tmp_path, cord_docs):
    """A probe: ``train --resume --epochs 3`` of a 2-epoch phased run (a phase every 2 epochs) trained its third
    epoch on the heads alone, where a fresh 3-epoch run enters phase 2; the end of its last epoch had skipped the
    phase change, there being no epoch after it then."""
    from receipt_core.training.events import PhaseEvent

    phased = dataclasses.replace(CONFIG, scenario="phased", epochs=2, epochs_per_phase=2, phased_top_k=1)
    run_dir = tmp_path / "phased"
    first = train(lambda: build_task(phased, cord_docs, (), run_dir), phased)
    assert [e.phase for e in first.history() if isinstance(e, PhaseEvent)] == [1]
    more = dataclasses.replace(phased, epochs=3)
    resumed = train(lambda: build_resumed_task(run_dir, cord_docs, (), more), more)
    phases = [(e.phase, e.reason, e.step) for e in resumed.history() if isinstance(e, PhaseEvent)]
    assert phases == [(1, "resumed", 4), (2, "phase 2: heads + top 1 encoder layer (after 2 epochs of phase 1)", 4)]
    assert load_checkpoint(run_dir).state["phase"] == 2

def test_resume_refuses_changed_model_settings(checkpoint, cord_docs):
    other = dataclasses.replace(CONFIG, scenario="freeze-backbone")
    with pytest.raises(CheckpointError, match="scenario"):
        build_resumed_task(checkpoint, cord_docs, (), other)


def test_a_flipped_byte_is_refused(checkpoint, tmp_path):
    run_dir = copy_of(checkpoint, tmp_path)
    data = bytearray((run_dir / MODEL_FILE).read_bytes())
    data[-100] ^= 0x01
    (run_dir / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256.*modified"):
        load_checkpoint(run_dir)


def test_a_run_copied_without_its_optimizer_state_predicts_but_does_not_resume(checkpoint, tmp_path, cord_docs):
    """The optimizer and RNG state only matter for resuming: a run folder shared without that file (the largest
    one) still loads for predict and evaluate, and resuming names the file and what still works."""
    run_dir = copy_of(checkpoint, tmp_path)
    (run_dir / TRAINING_STATE_FILE).unlink()
    loaded = load_checkpoint(run_dir)
    reference = load_checkpoint(checkpoint)
    for name, tensor in reference.model.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[name]), name
    with pytest.raises(CheckpointError, match="optimizer and random state.*resume.*can still predict") as refused:
        load_checkpoint(run_dir, with_training_state=True)
    # no way that is refused in turn: probe 37 was sent to train --backbone, which refuses a trained run's folder
    assert "--backbone" not in str(refused.value) and "restored from a copy" in str(refused.value)
    (run_dir / TRAINING_STATE_FILE).write_bytes(b"not the saved state")  # present but wrong is still refused
    with pytest.raises(CheckpointError, match="SHA-256"):
        build_resumed_task(run_dir, cord_docs, (), CONFIG)


def test_weights_from_another_run_are_refused(checkpoint, tmp_path, cord_docs):
    other_dir = tmp_path / "other"
    config = dataclasses.replace(CONFIG, seed=9)
    train(lambda: build_task(config, cord_docs, (), other_dir), config)
    run_dir = copy_of(checkpoint, tmp_path)
    shutil.copy(other_dir / MODEL_FILE, run_dir / MODEL_FILE)
    with pytest.raises(CheckpointError, match="another run"):
        load_checkpoint(run_dir)


def test_a_run_json_that_does_not_match_the_weights_is_refused(checkpoint, tmp_path):
    run_dir = copy_of(checkpoint, tmp_path)
    info = json.loads((run_dir / RUN_FILE).read_text())
    info["backbone_config"]["hidden_size"] = 128  # hashes still fine (re-signed), shapes are not
    (run_dir / RUN_FILE).write_text(json.dumps(signed_run_info(info)))
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(run_dir)
    info["schema"]["fields"] = info["schema"]["fields"][:-1]
    (run_dir / RUN_FILE).write_text(json.dumps(signed_run_info(info)))
    with pytest.raises(CheckpointError, match="fields"):
        load_checkpoint(run_dir)


@pytest.mark.parametrize("saved_in", [123, None, ["a"], "", "../x"])
def test_a_saved_in_that_is_no_folder_name_is_refused(checkpoint, tmp_path, saved_in):
    """Probe 31: a re-signed run.json whose saved_in was 123, null or a list read as an old checkpoint's, which
    records none."""
    run_dir = copy_of(checkpoint, tmp_path)
    info = json.loads((run_dir / RUN_FILE).read_text())
    assert info["saved_in"] == run_dir.name or info["saved_in"] == checkpoint.name
    info["saved_in"] = saved_in
    (run_dir / RUN_FILE).write_text(json.dumps(signed_run_info(info)))
    with pytest.raises(CheckpointError, match="'saved_in' must be the name of the folder it was saved in"):
        load_checkpoint(run_dir)
    del info["saved_in"]  # a checkpoint saved before the key: loads
    (run_dir / RUN_FILE).write_text(json.dumps(signed_run_info(info)))
    load_checkpoint(run_dir)


def test_a_tokenizer_or_window_length_the_model_cannot_take_is_refused_at_load(checkpoint, tmp_path):
    """A probe's re-signed checkpoints failed only at the first receipt: a tokenizer with ids past the embedding
    table ("index out of range in self", exit 1) and windows longer than the model's positions ("The size of
    tensor a (4095) must match …"). Both are refused when the run loads, naming what does not fit."""
    from transformers import AutoTokenizer

    from receipt_core.model.checkpoint import TOKENIZER_DIR

    run_dir = copy_of(checkpoint, tmp_path)
    info = json.loads((run_dir / RUN_FILE).read_text())
    info["config"]["max_length"] = 4096
    (run_dir / RUN_FILE).write_text(json.dumps(signed_run_info(info)))
    with pytest.raises(CheckpointError, match="windows of 4,096 tokens .* but the model has 512 token positions"):
        load_checkpoint(run_dir)

    run_dir = copy_of(checkpoint, tmp_path / "tokens")
    tokenizer = AutoTokenizer.from_pretrained(str(run_dir / TOKENIZER_DIR))
    vocab = json.loads((run_dir / RUN_FILE).read_text())["backbone_config"]["vocab_size"]
    tokenizer.add_tokens([f"newtoken{i}" for i in range(len(tokenizer) - vocab + 5)])
    tokenizer.save_pretrained(str(run_dir / TOKENIZER_DIR))
    info = json.loads((run_dir / RUN_FILE).read_text())  # re-signed, as the probe's were: hashes only tell edits
    info["files"] = {name: sha256_file(run_dir / name) for name in info["files"]}
    (run_dir / RUN_FILE).write_text(json.dumps(signed_run_info(info)))
    with pytest.raises(CheckpointError, match=f"tokens but the model has {vocab:,} \\(vocab_size\\)"):
        load_checkpoint(run_dir)


def _resigned(run_dir: Path, edit_info=None, edit_tokenizer_config=None) -> Path:
    """``run_dir`` edited and re-signed, as a probe's forgeries were (the manifest tells edits, it is no signature)."""
    from receipt_core.model.checkpoint import TOKENIZER_DIR

    if edit_tokenizer_config:
        path = run_dir / TOKENIZER_DIR / "tokenizer_config.json"
        config = json.loads(path.read_text())
        edit_tokenizer_config(config)
        path.write_text(json.dumps(config))
    info = json.loads((run_dir / RUN_FILE).read_text())
    if edit_info:
        edit_info(info)
    info["files"] = {name: sha256_file(run_dir / name) for name in info["files"]}
    (run_dir / RUN_FILE).write_text(json.dumps(signed_run_info(info)))
    return run_dir


@pytest.mark.parametrize("key, value, match", [
    ("type_vocab_size", 0, "type_vocab_size' must be a whole number from 1"),
    ("pad_token_id", 10 ** 6, "pad_token_id' must be a whole number from 0 to"),
    ("hidden_dropout_prob", 5.0, "hidden_dropout_prob' must be a number from 0 to 1"),
    ("max_2d_position_embeddings", 10, "is 10, but boxes are page coordinates from 0 to 1000"),
])
def test_a_backbone_config_the_model_cannot_be_built_from_is_refused_before_loading(checkpoint, tmp_path, key,
                                                                                      value, match):
    """A probe's re-signed run.json values that the schema let through failed building the model or at the first
    receipt ("unexpected AssertionError: Padding_idx must be within num_embeddings", "The bbox coordinate values
    should be within 0-1000 range", which blamed the receipt). Now each names run.json, and Predict's pickers
    leave the run out (``checkpoint_problem``)."""
    run_dir = _resigned(copy_of(checkpoint, tmp_path), lambda info: info["backbone_config"].update({key: value}))
    with pytest.raises(CheckpointError, match=f"run.json: .*{match}"):
        load_checkpoint(run_dir)
    assert match.split("'")[0] in checkpoint_problem(run_dir)



def _rename_field(info: dict, old: str, new: str) -> None:
    """``old`` renamed ``new`` in run.json's label schema, its dataset mappings too (a consistent schema)."""
    schema = info["schema"]
    schema["fields"] = [new if name == old else name for name in schema["fields"]]
    for mapping in ("cord_fields", "wildreceipt_fields"):
        schema[mapping] = {source: new if name == old else name for source, name in schema[mapping].items()}


@pytest.mark.parametrize("edit, match", [
    (lambda info: info["schema"].update(fields=["TOTAL"] * 11), "the first field must be 'OTHER'"),
    (lambda info: info["schema"].update(fields=info["schema"]["fields"] + ["EXTRA"]),
     "but its label schema has"),
    (lambda info: info["schema"].update(cord_fields={"menu.nm": "NOT_A_FIELD"}), "maps onto unknown fields"),
    # a lookalike of ITEM_NAME (Cyrillic I), or a field as HTML: Predict stored the one as labels Annotate then
    # failed on, and drew the other as a link in its legend (a probe)
    (lambda info: _rename_field(info, "ITEM_NAME", "\u0406TEM_NAME"), "it names '\\u0406TEM_NAME'"),
    (lambda info: _rename_field(info, "ITEM_NAME", '<a href="https://x">CLICK</a>'), "it names '<a href="),
    (lambda info: info["schema"].update(fields=[info["schema"]["fields"][0], *info["schema"]["fields"][:0:-1]]),
     "they are in another order"),
    # the settings loading and a resume read as they are (a second probe: every prediction failed on them)
    (lambda info: info["config"].update(boxes="diagonal"), "unknown box mode 'diagonal'"),
    (lambda info: info["config"].update(stride=600, max_length=512), "'config.stride' (600) must be under"),
])
def test_a_label_schema_or_setting_that_does_not_fit_the_model_is_refused_before_loading(checkpoint, tmp_path, edit,
                                                                                          match):
    """A probe's re-signed run.json with 11 x "TOTAL" as fields, or 12 names for an 11-row head, passed the check a
    page lists runs by: Predict offered the run, opened on it by default, and every upload failed there."""
    run_dir = _resigned(copy_of(checkpoint, tmp_path), edit)
    with pytest.raises(CheckpointError, match=f"run.json: .*{re.escape(match)}"):
        load_checkpoint(run_dir)
    problem = checkpoint_problem(run_dir)
    assert problem is not None and match in problem, problem


@pytest.mark.parametrize("named", ["/dev/zero", "fifo", "outside.json"])
def test_a_tokenizer_config_naming_a_file_to_read_is_refused_without_reading_it(checkpoint, tmp_path, named):
    """A probe's tokenizer_config.json named /dev/zero (4.5 GB, then "out of memory"), a FIFO (a process that
    ignored SIGTERM) and a tokenizer outside the run folder (loaded, though no hash had checked it)."""
    if named == "fifo":
        named = str(tmp_path / "fifo")
        os.mkfifo(named)
    elif named == "outside.json":
        named = str(tmp_path / "outside.json")
        Path(named).write_text("{not json")
    run_dir = _resigned(copy_of(checkpoint, tmp_path),
                        edit_tokenizer_config=lambda config: config.update(tokenizer_file=named))
    with pytest.raises(CheckpointError, match="tokenizer_config.json names files to read \(tokenizer_file\)"):
        load_checkpoint(run_dir)


def test_a_tokenizer_is_read_only_from_the_files_run_json_lists_and_a_bad_setting_is_a_checkpoint_error(
        checkpoint, tmp_path):
    from receipt_core.model.checkpoint import TOKENIZER_DIR

    run_dir = copy_of(checkpoint, tmp_path)
    os.mkfifo(run_dir / TOKENIZER_DIR / "added_tokens.json")  # not listed: from_pretrained would block on it
    assert len(load_checkpoint(run_dir).tokenizer) > 100
    run_dir = _resigned(copy_of(checkpoint, tmp_path / "typed"),
                        edit_tokenizer_config=lambda config: config.update(do_lower_case="x"))
    with pytest.raises(CheckpointError, match=r"holds a tokenizer that cannot be built \(TypeError: .*restore the run"):
        load_checkpoint(run_dir)
    run_dir = copy_of(checkpoint, tmp_path / "nested")  # json.loads raised RecursionError, not a message
    (run_dir / TOKENIZER_DIR / "tokenizer_config.json").write_text('{"x": ' * 5_000 + "{}" + "}" * 5_000)
    run_dir = _resigned(run_dir)
    with pytest.raises(CheckpointError, match=r"tokenizer_config.json is not a JSON object \(it nests"):
        load_checkpoint(run_dir)


def test_missing_and_foreign_folders_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no run.json"):
        load_checkpoint(tmp_path)
    (tmp_path / RUN_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path)
    (tmp_path / RUN_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="not a Receipt MTL Studio run"):
        load_checkpoint(tmp_path)


def _child(script: str, *args: str, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    preexec = None
    if limit_bytes is not None:
        def preexec():
            import resource
            import signal
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, as on a full disk
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                          env=env, timeout=120, preexec_fn=preexec)


SAVE_AGAIN = """
    import sys, torch
    from pathlib import Path
    from receipt_core.model.checkpoint import load_checkpoint
    from receipt_core.model.checkpoint_save import save_checkpoint
    run_dir = Path(sys.argv[1])
    loaded = load_checkpoint(run_dir)
    with torch.no_grad():
        for p in loaded.model.parameters():
            p.add_(1.0)
    {before_save}
    save_checkpoint(run_dir, loaded.model, dict(loaded.info))
"""


def test_running_out_of_disk_while_saving_keeps_the_previous_checkpoint(checkpoint, tmp_path):
    run_dir = copy_of(checkpoint, tmp_path)
    before = load_checkpoint(run_dir).model.state_dict()
    result = _child(SAVE_AGAIN.format(before_save=""), str(run_dir), limit_bytes=1 << 20)
    assert result.returncode != 0 and "File too large" in result.stderr
    assert not list(run_dir.glob("*.tmp"))
    after = load_checkpoint(run_dir).model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_crash_between_renames_rolls_forward_to_the_new_checkpoint(checkpoint, tmp_path):
    run_dir = copy_of(checkpoint, tmp_path)
    old = load_checkpoint(run_dir).model.state_dict()
    crash_after_first_rename = """
    import os
    real_replace = os.replace
    def replace_then_die(src, dst):
        real_replace(src, dst)
        os._exit(9)
    os.replace = replace_then_die
    """
    result = _child(SAVE_AGAIN.format(before_save=textwrap.indent(textwrap.dedent(crash_after_first_rename),
                                                                  "    ").strip()), str(run_dir))
    assert result.returncode == 9, result.stderr
    assert (run_dir / (RUN_FILE + ".tmp")).exists()  # the new model file landed, run.json did not
    new = load_checkpoint(run_dir).model.state_dict()
    assert not (run_dir / (RUN_FILE + ".tmp")).exists()
    assert all(torch.equal(new[k], old[k] + 1.0) for k in old if old[k].is_floating_point())


def test_a_safetensors_file_that_does_not_parse_is_a_checkpoint_error(tmp_path):
    """A probe truncated model.safetensors and re-signed run.json over it: "unexpected SafetensorError"."""
    from safetensors.torch import save_file

    from receipt_core.model.checkpoint import CheckpointError, _tensors

    path = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(64, 64)}, str(path))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="model.safetensors cannot be read as safetensors .*the file is damaged"):
        _tensors(path)


@pytest.mark.parametrize("failing", ["weights", "tokenizer"])
def test_a_first_save_on_a_full_disk_names_the_file_and_leaves_no_part_of_a_checkpoint(tmp_path, cord_docs,
                                                                                      monkeypatch, failing):
    """A probe's first save on a full disk said "No space left on device (os error 28)" (the Rust libraries name
    no file) and left a tokenizer folder that the next ``train --out`` there refused as not empty."""
    from safetensors import SafetensorError

    import receipt_core.model.checkpoint_save as checkpoint_module

    def full_disk(*args, **kwargs):
        if failing == "weights":
            raise SafetensorError("Error while serializing: No space left on device (os error 28)")
        raise Exception("No space left on device (os error 28)")

    if failing == "weights":
        monkeypatch.setattr(checkpoint_module, "save_file", full_disk)
    else:
        from transformers import PreTrainedTokenizerBase
        monkeypatch.setattr(PreTrainedTokenizerBase, "save_pretrained", full_disk)
    run_dir = tmp_path / "run"
    job = RecordedJob(lambda: build_task(CONFIG, cord_docs, (), run_dir), CONFIG)
    job.start()
    assert job.join(timeout=120)
    where = run_dir / (MODEL_FILE if failing == "weights" else "tokenizer")
    assert job.result.error == (f"saving the checkpoint at step 2 failed: No space left on device ({where}); no "
                                "earlier checkpoint exists"), job.result
    assert not run_dir.exists() or list(run_dir.iterdir()) == []


def test_a_folder_whose_frozen_backbone_is_left_out_says_so(tmp_path):
    """Runs says a checkpoint zip leaves out a frozen backbone (walkthrough 26 read the heads' 2.7 MB as the model):
    run.json names it under "frozen" when save_checkpoint left its tensors out."""
    import json

    from receipt_core.model.checkpoint import frozen_backbone_left_out

    (tmp_path / "run.json").write_text(json.dumps({"frozen": {"backbone": "text-minilm", "tensors": ["a"]}}))
    assert frozen_backbone_left_out(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"format": "receipt-mtl/run"}))
    assert not frozen_backbone_left_out(tmp_path)
    (tmp_path / "run.json").write_text("[not json")
    assert not frozen_backbone_left_out(tmp_path) and not frozen_backbone_left_out(tmp_path / "missing")
