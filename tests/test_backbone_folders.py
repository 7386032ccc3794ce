"""A local backbone folder that does not fit the project is refused before training, naming the problem
(model/backbones.py): a tokenizer larger than the vocabulary, too few positions for the windows, 2-D tables too
short for boxes 0–1000, an unknown activation, a damaged tokenizer.json or model.safetensors. Before the fix each
failed at the first step with "index out of range in self", "The size of tensor a (235) must match…", "The `bbox`
coordinate values should be within 0-1000 range", "'nonexistent'", or a parse error naming no file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import LayoutLMConfig, LayoutLMModel

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.datasets.native import save_native
from receipt_core.model.backbones import BackboneError, load_backbone

TINY = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)


@pytest.fixture(scope="module")
def tokenizer():
    return load_backbone("tiny").tokenizer  # the MiniLM tokenizer: 30,522 tokens


def folder(root: Path, tokenizer, **config) -> Path:
    """A LayoutLM folder as save_pretrained writes it, of a tiny config with ``config``'s changes."""
    LayoutLMModel(LayoutLMConfig(**{**TINY, **config})).save_pretrained(root)
    tokenizer.save_pretrained(root)
    return root


def edit_config(root: Path, **changes) -> None:
    config = json.loads((root / "config.json").read_text())
    (root / "config.json").write_text(json.dumps({**config, **changes}))


def test_a_fitting_folder_loads(tmp_path, tokenizer):
    backbone = load_backbone(str(folder(tmp_path, tokenizer)), max_length=512)
    assert backbone.uses_layout and backbone.hidden_size == 32


def test_a_tokenizer_larger_than_the_vocabulary_is_refused(tmp_path, tokenizer):
    with pytest.raises(BackboneError, match=r"its tokenizer \(tokenizer.json\) has 30,522 tokens but config.json's "
                                            r"vocab_size is 100"):
        load_backbone(str(folder(tmp_path, tokenizer, vocab_size=100)))


def test_too_few_positions_for_the_windows_are_refused_and_a_shorter_window_fits(tmp_path, tokenizer):
    path = str(folder(tmp_path, tokenizer, max_position_embeddings=8))
    with pytest.raises(BackboneError, match=r"has 8 token positions .* holds up to 512 tokens \(max_length\): lower "
                                            r"max_length \(--max-length\) to at most 8"):
        load_backbone(path, max_length=512)
    assert load_backbone(path, max_length=8).model.config.max_position_embeddings == 8


def test_named_backbones_are_held_to_the_window_too():
    with pytest.raises(BackboneError, match="backbone 'tiny' has 512 token positions"):
        load_backbone("tiny", max_length=1024)


def test_layout_tables_too_short_for_boxes_are_refused(tmp_path, tokenizer):
    with pytest.raises(BackboneError, match=r"max_2d_position_embeddings is 10, but boxes are page coordinates from "
                                            r"0 to 1000, which need at least 1,001"):
        load_backbone(str(folder(tmp_path, tokenizer, max_2d_position_embeddings=10)))


def test_an_unknown_activation_is_refused(tmp_path, tokenizer):
    path = folder(tmp_path, tokenizer)
    edit_config(path, hidden_act="nonexistent")
    with pytest.raises(BackboneError, match=r"hidden_act' 'nonexistent' is not an activation transformers knows"):
        load_backbone(str(path))


@pytest.mark.parametrize("name", ["tokenizer.json", "tokenizer_config.json"])
def test_a_truncated_tokenizer_file_is_named(name, tmp_path, tokenizer):
    path = folder(tmp_path, tokenizer)
    (path / name).write_text((path / name).read_text()[:10])
    with pytest.raises(BackboneError, match=rf"cannot read the tokenizer in .*: {name} is damaged or not a "
                                            r"tokenizer file \(.* line 2 column .*\); copy it again"):
        load_backbone(str(path))


@pytest.mark.parametrize("damage, error", [
    (lambda data: data[:5], "header too small"),  # cut off inside the header's length
    (lambda data: b"\xff" * 8 + data[8:], "header too large"),  # a header length of 2**64 - 1
    (lambda data: data[:len(data) // 2], "incomplete metadata"),  # cut off inside the tensors
])
def test_a_damaged_weights_file_is_named(damage, error, tmp_path, tokenizer):
    path = folder(tmp_path, tokenizer)
    weights = path / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(BackboneError, match=rf"cannot load the LayoutLM checkpoint in .*: model.safetensors: .*{error}"
                                            r".*save the model there with model.save_pretrained"):
        load_backbone(str(path))


def test_the_cli_says_what_is_wrong_in_one_line(tmp_path, tokenizer, capsys):
    data = tmp_path / "data"
    words = (Word(text="TOTAL", box=(10, 10, 60, 20), field="TOTAL"), Word(text="9.99", box=(70, 10, 99, 20)))
    save_native([Document(id=f"r{n}", width=200, height=100, words=words) for n in range(2)], data)
    path = folder(tmp_path / "backbone", tokenizer, vocab_size=100)

    code = main(["train", "--train", str(data), "--eval", str(data), "--backbone", str(path), "--epochs", "1",
                 "--out", str(tmp_path / "run"), "--workspace", str(tmp_path / "ws")])

    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert "has 30,522 tokens but config.json's vocab_size is 100" in err.splitlines()[-1]


@pytest.mark.parametrize("kind", ["dev_zero", "fifo"])
def test_a_config_json_that_is_no_regular_file_is_named_and_never_opened(kind, tmp_path):
    """A probe gave a backbone folder whose config.json was a link to /dev/zero, or a FIFO: refused, but as "it has
    no config.json". The layer count that a phased run's depth reads from it must not open it either: a FIFO
    would block the page or the command, /dev/zero would fill the memory."""
    import os

    from receipt_core.model.backbone_names import backbone_source_problem, encoder_layers

    config = tmp_path / "config.json"
    if kind == "fifo":
        os.mkfifo(config)
    else:
        config.symlink_to("/dev/zero")
    assert backbone_source_problem(str(tmp_path)) == (f"{tmp_path} is not a transformers checkpoint: its config.json "
                                                      "is not a regular file")
    assert encoder_layers(str(tmp_path)) is None  # returns at once: the test would hang here otherwise


def test_a_config_json_far_too_large_is_not_read_for_its_layer_count(tmp_path):
    from receipt_core.model.backbone_names import SMALL_JSON_MAX_BYTES, encoder_layers

    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 4, "pad": "x" * SMALL_JSON_MAX_BYTES}))
    assert encoder_layers(str(tmp_path)) is None
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 4}))
    assert encoder_layers(str(tmp_path)) == 4


def test_a_trained_runs_folder_given_as_backbone_says_how_to_continue_it_on_both_paths(tmp_path):
    """Walkthrough 52 typed a trained run's folder on Train and read only the command line's way to continue it."""
    from receipt_core.model.backbone_names import backbone_source_problem

    (tmp_path / "run.json").write_text("{}")
    assert backbone_source_problem(str(tmp_path)).endswith(
        "it is a trained run's folder (a checkpoint of the two-head model), not a backbone: continue that run (Runs → "
        "Resume, or train --resume on the command line), or give a backbone name or folder")
