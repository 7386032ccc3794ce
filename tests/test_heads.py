"""Heads with capacity: the layer mix, the contextual head over words and boxes, their settings in the config and in
checkpoints (with the frozen backbone kept out by reference), and the cached path giving the uncached outputs."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from receipt_core.data.schema import DEFAULT_SCHEMA
from receipt_core.model.backbones import load_backbone
from receipt_core.model.checkpoint import MODEL_FILE, RUN_FILE, CheckpointError, load_checkpoint
from receipt_core.model.encoding import DocumentEncoder, collate
from receipt_core.model.feature_cache import PrefixFeatureCache, cached_forward
from receipt_core.model.freeze import FreezePlan, group_names, optimizer_param_groups
from receipt_core.model.head_settings import HeadSettings
from receipt_core.model.heads import LayerMix, word_starts
from receipt_core.model.multitask import build_model
from receipt_core.model.run_manifest import signed_run_info
from receipt_core.training.config import TrainConfig
from receipt_core.training.receipt_task import build_task
from test_checkpoint import train

CONTEXTUAL = HeadSettings(kind="contextual", layer_mix="top", size=64, depth=1)


@pytest.fixture(scope="module")
def docs(cord_train):
    return cord_train[:6]


def _model(head: HeadSettings):
    torch.manual_seed(0)
    return build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields, head=head)


def test_layer_mix_starts_on_the_last_layer_or_evenly():
    top, uniform = LayerMix(7, "top").weights().detach(), LayerMix(7, "uniform").weights().detach()
    assert abs(float(top[-1]) - 0.9) < 1e-6 and torch.allclose(uniform, torch.full((7,), 1 / 7))


def test_head_settings_refuse_bad_values_and_old_json_means_the_linear_head():
    with pytest.raises(ValueError, match="head must be one of"):
        HeadSettings(kind="lstm")
    with pytest.raises(ValueError, match="head size"):
        HeadSettings(kind="contextual", size=100_000)
    with pytest.raises(ValueError) as said:  # a probe read "divisible by 1" for -1
        HeadSettings(kind="contextual", size=-1)
    assert str(said.value) == "head size must be a whole number from 8 to 1024, got -1"
    with pytest.raises(ValueError, match="head size 129 must be divisible by its 2 attention heads"):
        HeadSettings(kind="contextual", size=129)
    assert HeadSettings.from_json(None) == HeadSettings()
    assert TrainConfig(head="contextual", head_boxes="off").head_settings().boxes is False


@pytest.mark.parametrize("head", [HeadSettings(layer_mix="uniform"), CONTEXTUAL,
                                  HeadSettings(kind="contextual", size=64, boxes=False)])
def test_cached_prefix_gives_the_uncached_outputs(head, tiny_tokenizer, docs):
    encoder = DocumentEncoder(tiny_tokenizer, max_length=64, stride=16)
    windows = encoder.encode_many(docs)[:5]
    model = _model(head)
    FreezePlan.preset("freeze-backbone", group_names(model)).apply(model)
    model.eval()
    batch = collate(windows, encoder.pad_token_id)
    starts = word_starts(windows, batch["input_ids"].shape[1])
    with torch.no_grad():
        plain = model(**batch, word_starts=starts)
        cache = PrefixFeatureCache.build(model, windows, model.num_layers, encoder.pad_token_id, dtype=torch.float32)
        assert cache.states_per_token == (model.num_layers + 1 if head.mixes_layers else 1)
        cached = cached_forward(model, cache, list(range(len(windows))))
    # the whole backbone is frozen: the cache keeps the words' first sub-tokens, all the heads and merging read
    assert cache.words_only
    assert torch.allclose(plain.field_logits[starts], cached.field_logits[starts], atol=1e-4)
    assert abs(float(plain.loss) - float(cached.loss)) < 1e-4
    if head.kind == "contextual":  # logits only at the words' first sub-tokens
        assert not plain.field_logits[~starts].any()


def test_head_lr_applies_to_the_heads_only():
    model = _model(CONTEXTUAL)
    groups = {g["name"]: g["lr"] for g in optimizer_param_groups(model, 1e-4, 2.0, head_lr=3e-3)}
    assert groups["head.fields"] == groups["head.quantity"] == 3e-3
    assert groups["encoder.1"] == pytest.approx(1e-4 / 2.0)
    assert any(p is model.field_head.mix.logits for g in optimizer_param_groups(model, 1e-4)
               if g["name"] == "head.fields" for p in g["params"])


@pytest.fixture(scope="module")
def frozen_run(tmp_path_factory, docs):
    config = TrainConfig(backbone="tiny", scenario="freeze-backbone", epochs=1, batch_size=4, head="contextual",
                         layer_mix="top", head_size=64, head_lr=3e-3, seed=1)
    run_dir = tmp_path_factory.mktemp("frozen-run")
    job = train(lambda: build_task(config, docs, docs[:2], run_dir), config)
    return run_dir, job


def test_a_frozen_backbone_checkpoint_holds_the_heads_and_a_reference(frozen_run, docs):
    run_dir, _ = frozen_run
    stored = load_file(str(run_dir / MODEL_FILE))
    info = json.loads((run_dir / RUN_FILE).read_text())
    assert not any(name.startswith("backbone.encoder") for name in stored)
    assert info["frozen"]["backbone"] == "tiny" and len(info["frozen"]["sha256"]) == 64
    assert info["model"]["head"]["kind"] == "contextual"
    loaded = load_checkpoint(run_dir)
    assert loaded.model.head_settings.kind == "contextual" and loaded.model.reads_all_layers
    prediction = loaded.predictor().predict(docs[:1])[0]
    assert len(prediction.words) == len(docs[0].words)


def _resigned(run_dir, tmp_path, edit):
    target = tmp_path / "copy"
    shutil.copytree(run_dir, target)
    info = json.loads((target / RUN_FILE).read_text())
    edit(info)
    (target / RUN_FILE).write_text(json.dumps(signed_run_info(info)))
    return target


def test_a_frozen_reference_that_does_not_match_the_backbone_is_refused(frozen_run, tmp_path):
    def edit(info):
        info["frozen"]["seed"] = 99  # tiny's weights depend on the seed: another backbone
    with pytest.raises(CheckpointError, match="differs from the one the checkpoint was built from"):
        load_checkpoint(_resigned(frozen_run[0], tmp_path, edit))


def test_head_tensors_that_do_not_match_the_head_settings_are_refused(frozen_run, tmp_path):
    def edit(info):
        info["model"]["head"]["kind"] = "linear"
    with pytest.raises(CheckpointError, match="head settings"):
        load_checkpoint(_resigned(frozen_run[0], tmp_path, edit))


def test_a_contextual_head_reads_the_boxes_over_a_text_only_backbone(docs, tmp_path):
    """text-minilm's encoder gets zero boxes (the text-only baseline), but a contextual head's box features still see
    each word's real box: the windows carry them and only the backbone's embedding zeroes them."""
    config = TrainConfig.for_scenario("freeze-backbone", backbone="text-minilm", head="contextual", head_size=64,
                                      epochs=1)
    task, _ = build_task(config, docs[:2], docs[:2], tmp_path / "run")
    assert not task.model.uses_layout and task.model.needs_boxes
    window = task.train_windows[0]
    assert any(box != (0, 0, 0, 0) for box in map(tuple, window.bbox[1:-1]))
    batch = collate([window], task.encoder.pad_token_id)
    with torch.no_grad():  # the backbone's embedding is blind to the boxes
        moved = batch["bbox"] // 2
        assert torch.equal(task.model.embed(batch["input_ids"], batch["bbox"]),
                           task.model.embed(batch["input_ids"], moved))
    linear, _ = build_task(TrainConfig(scenario="full", backbone="text-minilm", epochs=1), docs[:2], docs[:2],
                           tmp_path / "linear")
    assert not linear.model.needs_boxes and all(tuple(b) == (0, 0, 0, 0) for b in linear.train_windows[0].bbox[1:-1])


def test_heads_only_steps_run_on_one_thread_and_the_count_comes_back(docs, tmp_path):
    """While the whole backbone is frozen and cached, a step is only the heads' small kernels: the run trains them on
    one intra-op thread (threads.intra_op_threads); phase 2 of phased gets the entry point's count back, and so
    does the process when the task closes. The cache fill (the backbone's forward) keeps every thread."""
    from receipt_core.model import feature_cache
    from receipt_core.training.loop import Trainer

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        config = TrainConfig.for_scenario("phased", backbone="tiny", epochs=2, epochs_per_phase=1, batch_size=4,
                                          head="contextual", head_size=64)
        task, _ = build_task(config, docs, docs, tmp_path / "run")
        threads_by_phase: dict[int, set[int]] = {}
        step = task.training_step
        task.training_step = lambda batch: (threads_by_phase.setdefault(trainer.state.phase, set()).add(
            torch.get_num_threads()), step(batch))[1]
        fills = []
        build = feature_cache.PrefixFeatureCache.build
        feature_cache.PrefixFeatureCache.build = classmethod(
            lambda cls, *a, **k: (fills.append(torch.get_num_threads()), build(*a, **k))[1])
        try:
            trainer = Trainer(task, config, emit=lambda event: None)
            trainer.train()
        finally:
            feature_cache.PrefixFeatureCache.build = build
            task.close()
        assert threads_by_phase == {1: {1}, 2: {2}}
        assert fills and set(fills) == {2}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
