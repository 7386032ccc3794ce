"""Layout pre-training: BERT masking, the loss falls and the layout tables learn on real receipts, the saved
backbone loads as a local checkpoint and fine-tunes, and the CLI refuses bad input with clear messages."""

from __future__ import annotations

import re

import pytest
import torch

from conftest import require_shared_data
from receipt_core.model.backbones import load_backbone
from receipt_core.cli.main import main as cli_main
from receipt_core.model.masked_words import mask_tokens
from receipt_core.training.config import PretrainConfig
from receipt_core.training.pretrain import PRETRAIN_INFO, pretrain_layout


@pytest.fixture(scope="module")
def cord_docs(cord_train):
    return cord_train[:24]  # conftest.cord_train: CORD train parsed once per session


def test_masking_follows_bert_and_spares_special_tokens():
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 2000, (64, 200), generator=generator)
    maskable = torch.ones_like(ids, dtype=torch.bool)
    maskable[:, 0] = False  # [CLS]
    inputs, labels = mask_tokens(ids, maskable, 0.15, mask_id=103, vocab_size=30522, generator=generator)
    chosen = labels != -100
    assert not chosen[:, 0].any() and torch.equal(inputs[:, 0], ids[:, 0])
    assert abs(chosen.float().mean().item() * 200 / 199 - 0.15) < 0.01
    assert torch.equal(labels[chosen], ids[chosen])
    as_mask = (inputs[chosen] == 103).float().mean().item()
    kept = (inputs[chosen] == ids[chosen]).float().mean().item()
    assert abs(as_mask - 0.8) < 0.03 and abs(kept - 0.1) < 0.03
    assert torch.equal(inputs[~chosen], ids[~chosen])


def test_a_batch_always_gets_one_masked_token():
    ids = torch.tensor([[101, 2000, 102]])
    maskable = torch.tensor([[False, True, False]])
    _, labels = mask_tokens(ids, maskable, 1e-9, mask_id=103, vocab_size=30522,
                            generator=torch.Generator().manual_seed(1))
    assert labels.tolist() == [[-100, 2000, -100]]


@pytest.mark.slow
def test_pretraining_lowers_the_loss_teaches_layout_and_saves_a_loadable_backbone(cord_docs, tmp_path):
    config = PretrainConfig(backbone="tiny", epochs=8, batch_size=4, lr=2e-3, seed=3)
    result = pretrain_layout(config, cord_docs, tmp_path / "pretrained")
    assert result.steps == 8 * 6 and result.finished == "completed"
    assert result.last_loss < result.first_loss - 0.5, (result.first_loss, result.last_loss)
    assert (tmp_path / "pretrained" / PRETRAIN_INFO).is_file()

    before = load_backbone("tiny", seed=3).model
    after = load_backbone(str(tmp_path / "pretrained"))
    # saved as a LayoutLM checkpoint, pooler and all: transformers said "Some weights … newly initialized … You
    # should probably TRAIN this model" of each fine-tuning on it (walkthrough 52)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "pretrained" / "model.safetensors"), "pt") as saved:
        assert {"pooler.dense.weight", "pooler.dense.bias"} <= set(saved.keys())
    assert after.uses_layout and after.num_layers == before.config.num_hidden_layers
    moved = after.model.embeddings.x_position_embeddings.weight - before.embeddings.x_position_embeddings.weight
    assert moved.abs().max() > 0  # the layout tables learnt something
    # and it fine-tunes like any local backbone
    from receipt_core.training.events import FinishedEvent
    from receipt_core.training.config import TrainConfig
    from receipt_core.training.job import TrainingJob
    from receipt_core.training.receipt_task import build_task

    train_config = TrainConfig(scenario="full", backbone=str(tmp_path / "pretrained"), epochs=1, batch_size=4, lr=1e-3)
    job = TrainingJob(lambda: build_task(train_config, cord_docs[:8], cord_docs[8:10], tmp_path / "run"),
                      train_config)
    job.start()
    assert job.join(120) and isinstance(job.result, FinishedEvent)


def test_pretraining_refuses_a_used_folder_and_a_text_only_backbone(cord_docs, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="already holds"):
        pretrain_layout(PretrainConfig(backbone="tiny", epochs=1), cord_docs[:2], tmp_path / "used")
    with pytest.raises(ValueError, match="reads no boxes"):
        pretrain_layout(PretrainConfig(backbone="text-minilm", epochs=1), cord_docs[:2], tmp_path / "text")
    with pytest.raises(ValueError, match="mask probability"):
        PretrainConfig(mask_probability=0.0)


def test_the_cli_pretrains_from_several_sources_and_explains_bad_input(cord_docs, tmp_path, capsys):
    cord = str(require_shared_data("cord", "train"))
    dev = str(require_shared_data("cord", "dev"))
    assert cli_main(["pretrain", "--data", dev, "--format", "cord", "--backbone", "tiny", "--epochs", "1",
                     "--batch-size", "8", "--out", str(tmp_path / "bb")]) == 0
    said = capsys.readouterr()
    assert "saved the pre-trained backbone" in said.out
    # what its accuracy is measured on, at the end and at each evaluation (walkthrough 50 read "no eval data" at
    # each, then an accuracy with no word of where it came from)
    assert ("and accuracy 0." in said.out and "(means over the first and the last tenth of its steps, on the "
            "receipts it trained on: pre-training holds none out)" in said.out), said.out
    assert "no eval data" not in said.err
    assert re.search(r"eval  step \d+ \(after 1.0 epochs\): masked_words.loss [0-9.]+, masked_words.accuracy "
                     r"[0-9.]+ \(over the recent training steps: pre-training holds no receipts out\)", said.err), \
        said.err
    assert cli_main(["pretrain", "--data", str(tmp_path / "nope"), cord, "--format", "cord", "--backbone", "tiny",
                     "--out", str(tmp_path / "bb2")]) == 2
    assert "nope" in capsys.readouterr().err


def test_a_folder_holding_a_checkpoint_is_refused_without_offering_a_resume_pretrain_lacks(tmp_path, monkeypatch):
    """A probe gave `pretrain --out` a train run's folder: "pass --resume to continue it", which pretrain refuses."""
    import receipt_core.model.checkpoint as checkpoint
    from receipt_core.cli.arguments import CommandError, check_run_folder

    monkeypatch.setattr(checkpoint, "has_checkpoint", lambda folder: True)
    with pytest.raises(CommandError, match=r"already holds a checkpoint; choose another --out$"):
        check_run_folder(tmp_path, resume=False, resumable=False)
    with pytest.raises(CommandError, match=r"already holds a checkpoint; pass --resume to continue it or choose "
                                           r"another --out$"):
        check_run_folder(tmp_path, resume=False)


def test_a_pretraining_that_ended_before_its_first_step_leaves_no_backbone(tmp_path, capsys):
    """Probe 37: `--max-minutes 1e-9` failed with "the time budget ended before the first step", yet left a whole
    untrained backbone in --out, which `train --backbone` took without a word."""
    dev = str(require_shared_data("cord", "dev"))
    out = tmp_path / "bb"
    assert cli_main(["pretrain", "--data", dev, "--format", "cord", "--backbone", "tiny", "--epochs", "1",
                     "--max-minutes", "1e-9", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (f"error: the time budget ended before the first step; give the pre-training more minutes; the untrained "
            f"backbone it saved in {out} was removed") in err
    assert not (out / "config.json").exists() and not (out / "model.safetensors").exists()
    assert not (out / PRETRAIN_INFO).exists()


def test_train_and_runs_offer_the_backbone_a_pre_training_run_saved(workspace_home, cord_docs):
    """Walkthrough 52 found its pre-trained backbone's folder only in the command line's last line: Runs named no
    folder, Train's box offered no path, and a relative path inside the workspace was refused."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from receipt_core.workspace.store import Workspace
    from ui.literal import literal

    ws = Workspace(workspace_home)
    ws.save_documents("receipts", cord_docs[:12])
    run_id = ws.create_run("pre-training (tiny)", {"backbone": "tiny", "run_kind": "pretrain", "epochs": 1})
    ws.set_run_status(run_id, "finished")
    backbone = ws.run_dir(run_id) / "backbone"
    load_backbone("tiny").model.save_pretrained(str(backbone))
    load_backbone("tiny").tokenizer.save_pretrained(str(backbone))
    typed = f"runs/{run_id}/backbone"

    def page(name: str) -> AppTest:
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
        at.run()
        at.switch_page(f"app_pages/{name}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    runs = page("runs")
    runs.selectbox(key="runs_one").set_value(run_id).run()
    assert any(c.value.startswith(f"Its backbone: {literal(typed)} in the workspace. Fine-tune on it: Train → "
                                  "Backbone → local folder…") for c in runs.caption), [c.value for c in runs.caption]
    train = page("train")
    train.selectbox(key="train_backbone").set_value("local folder…").run()
    box = train.text_input(key="train_backbone_dir")
    assert box.placeholder == typed
    offered = f"Pre-trained in this workspace (type one above): {literal(typed)} ({literal('pre-training (tiny)')})."
    assert offered in [c.value for c in train.caption], [c.value for c in train.caption]
    box.set_value(typed).run()  # relative: read from the workspace
    assert not train.exception and not [e.value for e in train.error], [e.value for e in train.error]
    assert any(t.label.startswith("embeddings") or "encoder" in t.label for t in train.toggle), \
        [t.label for t in train.toggle]


def test_a_pre_training_runs_backbone_linked_out_of_the_workspace_is_not_offered(workspace_home, tmp_path):
    """Probe 55 replaced a pre-training run's backbone folder by a link to a folder outside the workspace: Runs
    said where it led ("train --backbone /tmp/…/secret-dir"), and Train offered a path it then refused."""
    from receipt_core.training.pretrained_backbones import pretrained_backbone, pretrained_backbones
    from receipt_core.workspace.store import Workspace

    ws = Workspace(workspace_home)
    run_id = ws.create_run("pre-training (tiny)", {"backbone": "tiny", "run_kind": "pretrain", "epochs": 1})
    ws.set_run_status(run_id, "finished")
    outside = tmp_path / "secret-dir"
    outside.mkdir()
    (outside / "config.json").write_text("{}")
    (ws.run_dir(run_id) / "backbone").symlink_to(outside)
    assert pretrained_backbone(ws, ws.get_run(run_id)) is None and pretrained_backbones(ws) == []
    (ws.run_dir(run_id) / "backbone").unlink()
    (ws.run_dir(run_id) / "backbone").mkdir()
    (ws.run_dir(run_id) / "backbone" / "config.json").write_text("{}")
    [found] = pretrained_backbones(ws)
    assert found.typed == f"runs/{run_id}/backbone" and "secret" not in str(found.folder)

