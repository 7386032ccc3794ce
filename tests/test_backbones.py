"""Backbones: MiniLM weights inside LayoutLM compute MiniLM's output; names, directories and errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from transformers import BertModel, LayoutLMModel

from receipt_core.model import backbones
from receipt_core.model.backbone_names import encoder_layers
from receipt_core.model.backbones import (BackboneError, layoutlm_from_config, layoutlm_tagger, load_backbone,
                                            minilm_path)


def _batch(tokenizer):
    texts = [["ICE", "TEA", "2x", "10,000"], ["TOTAL", "Rp", "25.000", "cash", "50.000", "change", "25.000"]]
    enc = tokenizer(texts, is_split_into_words=True, padding=True, return_tensors="pt")
    gen = torch.Generator().manual_seed(0)
    corners = torch.randint(0, 1001, (2, enc.input_ids.shape[1], 4), generator=gen)
    x0, x1 = corners[..., 0].minimum(corners[..., 2]), corners[..., 0].maximum(corners[..., 2])
    y0, y1 = corners[..., 1].minimum(corners[..., 3]), corners[..., 1].maximum(corners[..., 3])
    return enc, torch.stack([x0, y0, x1, y1], dim=-1)


@pytest.mark.slow
def test_untrained_layout_minilm_equals_minilm_bert_output():
    backbone = load_backbone("layout-minilm")
    assert backbone.uses_layout and isinstance(backbone.model, LayoutLMModel)
    bert = BertModel.from_pretrained(str(minilm_path()), local_files_only=True).eval()
    enc, bbox = _batch(backbone.tokenizer)
    with torch.no_grad():
        ours = backbone.model(input_ids=enc.input_ids, attention_mask=enc.attention_mask, bbox=bbox).last_hidden_state
        reference = bert(input_ids=enc.input_ids, attention_mask=enc.attention_mask).last_hidden_state
    mask = enc.attention_mask.bool()
    assert (ours[mask] - reference[mask]).abs().max().item() < 1e-5
    # every text weight came from the checkpoint; the four layout tables start at zero
    bert_state = bert.state_dict()
    for name, tensor in backbone.model.state_dict().items():
        if any(t in name for t in ("x_position", "y_position", "h_position", "w_position")):
            assert torch.count_nonzero(tensor) == 0, name
        else:
            assert torch.equal(tensor, bert_state[name]), name
    # the unused pooler is gone, so no parameter lacks a gradient in data-parallel training
    assert not any(name.startswith("pooler.") for name, _ in backbone.model.named_parameters())


@pytest.mark.slow
def test_text_minilm_same_weights_layout_off():
    backbone = load_backbone("text-minilm")
    assert not backbone.uses_layout
    assert backbone.num_layers == 6 == encoder_layers("text-minilm") == encoder_layers("layout-minilm")
    assert backbone.hidden_size == 384


def test_tiny_is_small_deterministic_and_uses_real_tokenizer():
    first, second, other = load_backbone("tiny"), load_backbone("tiny"), load_backbone("tiny", seed=1)
    assert first.num_layers == 2 == encoder_layers("tiny") and first.hidden_size == 64
    assert first.tokenizer.is_fast and first.tokenizer.vocab_size == 30522
    assert first.tokenizer.tokenize("cappuccino") == ["cap", "##pu", "##cci", "##no"]
    for (name, a), b in zip(first.model.state_dict().items(), second.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(first.model.embeddings.word_embeddings.weight, other.model.embeddings.word_embeddings.weight)
    # building a tiny model does not disturb the caller's random stream
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_backbone("tiny")
    assert torch.equal(torch.rand(3), expected)


def test_tiny_weights_do_not_depend_on_other_threads_drawing_random_numbers():
    """A page building the backbone while a run trains (dropout draws from the global generator) used to get other
    tiny weights than the seed's, and the resume of a frozen-backbone run then refused them (hash mismatch)."""
    import threading

    expected = load_backbone("tiny").model.state_dict()
    done = threading.Event()

    def draw():
        while not done.is_set():
            torch.rand(1000)

    other = threading.Thread(target=draw)
    other.start()
    try:
        built = [load_backbone("tiny").model.state_dict() for _ in range(3)]
    finally:
        done.set()
        other.join()
    for state in built:
        for name, tensor in expected.items():
            assert torch.equal(state[name], tensor), name


def test_local_directory_round_trip(tmp_path):
    tiny = load_backbone("tiny")
    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    loaded = load_backbone(str(tmp_path))
    assert loaded.uses_layout and loaded.num_layers == 2 == encoder_layers(str(tmp_path))
    original = tiny.model.state_dict()
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, original[name]), name


def test_a_folder_whose_config_names_more_layers_than_its_weights_hold_is_refused(tmp_path):
    """A probe: config.json of 6 layers over 2 layers' weights trained 4 layers that started from random values."""
    tiny = load_backbone("tiny")
    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 6}))
    with pytest.raises(BackboneError, match=r"its weights lack 64 tensor\(s\) config.json asks for \(such as "
                                            r"'encoder.layer.2.*which would start from random values"):
        load_backbone(str(tmp_path))


def test_a_checkpoint_folder_without_a_usable_tokenizer_says_so(tmp_path):
    """Found by a probe: config.json and weights without tokenizer files failed with "stat: path should be
    string … not NoneType"; a tokenizer.json that is a named pipe would have hung."""
    import os

    tiny = load_backbone("tiny")
    tiny.model.save_pretrained(tmp_path)
    with pytest.raises(BackboneError, match=r"has no usable tokenizer: it needs tokenizer\.json or vocab\.txt"):
        load_backbone(str(tmp_path))
    os.mkfifo(tmp_path / "tokenizer.json")
    with pytest.raises(BackboneError, match="has no usable tokenizer"):
        load_backbone(str(tmp_path))


def test_errors_are_specific(tmp_path):
    with pytest.raises(BackboneError, match="unknown backbone 'nope'"):
        load_backbone("nope")
    # a path is a folder that is missing, not an unknown name (found by a walkthrough)
    with pytest.raises(BackboneError, match="the backbone folder .*nope' does not exist"):
        load_backbone(str(tmp_path / "models" / "nope"))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(BackboneError, match="is a file, not a folder"):
        load_backbone(str(tmp_path / "weights.bin"))
    # a link that loops, or whose folder is gone, is said to be one (probe 68 read "does not exist" of a listed link)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "gone").symlink_to(tmp_path / "deleted")
    for link in ("loop", "gone"):
        with pytest.raises(BackboneError, match=f"the backbone folder '{tmp_path}/{link}' is a symbolic link that "
                                                "leads to no folder"):
            load_backbone(str(tmp_path / link))
    with pytest.raises(BackboneError, match="no config.json"):
        load_backbone(str(tmp_path))
    (tmp_path / "config.json").write_text('{}')  # said as such, not as "holds a None checkpoint"
    with pytest.raises(BackboneError, match="config.json names no model_type; only LayoutLM"):
        load_backbone(str(tmp_path))
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(BackboneError, match="holds a 'bert' checkpoint; only LayoutLM"):
        load_backbone(str(tmp_path))


def test_sha256_mismatch_is_refused(tmp_path):
    copy = tmp_path / "model.safetensors"
    shutil.copy(minilm_path() / "model.safetensors", copy)
    backbones.verify_sha256(copy)  # the shipped file passes
    with copy.open("r+b") as handle:
        handle.seek(5000)
        byte = handle.read(1)
        handle.seek(5000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(BackboneError, match="SHA-256 .* expected 53aa5117"):
        backbones.verify_sha256(copy)
    shutil.copy(minilm_path() / "config.json", tmp_path / "config.json")
    with pytest.raises(BackboneError, match="corrupted"):
        backbones.layoutlm_from_bert(tmp_path)


def test_every_built_layoutlm_runs_fused_attention_without_a_pooler():
    tiny = load_backbone("tiny")
    assert tiny.model.config._attn_implementation == "sdpa"
    rebuilt = layoutlm_from_config(type(tiny.model.config).from_dict(tiny.model.config.to_dict()))
    assert rebuilt.config._attn_implementation == "sdpa" and not rebuilt.training
    assert not any(name.startswith("pooler.") for name, _ in rebuilt.named_parameters())


def test_tagger_carries_the_backbone_weights_and_a_seeded_classifier():
    tiny = load_backbone("tiny")
    tagger, again, other = (layoutlm_tagger(tiny, num_labels=5, seed=s) for s in (0, 0, 1))
    assert tagger.config._attn_implementation == "sdpa" and tagger.num_labels == 5
    assert tiny.model.config.num_labels != 5  # the backbone's own config is left alone
    encoder = tiny.model.state_dict()
    for name, tensor in tagger.layoutlm.state_dict().items():
        assert torch.equal(tensor, encoder[name]), name
    assert torch.equal(tagger.classifier.weight, again.classifier.weight)
    assert not torch.equal(tagger.classifier.weight, other.classifier.weight)
    enc, bbox = _batch(tiny.tokenizer)
    with torch.no_grad():
        fused = tagger.eval()(input_ids=enc.input_ids, attention_mask=enc.attention_mask, bbox=bbox).logits
        tagger.config._attn_implementation = "eager"
        eager = tagger(input_ids=enc.input_ids, attention_mask=enc.attention_mask, bbox=bbox).logits
    assert (fused - eager).abs().max().item() < 1e-5
