"""Frozen-prefix cache: same losses as the uncached path, invalidation, disk-backed storage, speed."""

from __future__ import annotations

import random
import time

import pytest
import torch

from receipt_core.model.backbones import load_backbone
from receipt_core.data.document import Document, Word
from receipt_core.model.encoding import DocumentEncoder, collate, length_grouped_batches
from receipt_core.model.feature_cache import PrefixFeatureCache, cached_forward
from receipt_core.model.freeze import FreezePlan, PhasedSchedule, group_names, optimizer_param_groups
from receipt_core.model.multitask import build_model
from receipt_core.data.schema import DEFAULT_SCHEMA, OTHER


def _docs(count=12):
    rng = random.Random(0)
    names = ["NASI", "GORENG", "ES", "TEH", "AYAM", "BAKAR", "KOPI", "SUSU", "ROTI", "BAKAR"]
    docs = []
    for d in range(count):
        words = []
        for line in range(rng.randint(2, 9)):
            y = 20 * line
            for i in range(rng.randint(1, 3)):
                words.append(Word(rng.choice(names), (10 + 50 * i, y, 55 + 50 * i, y + 15), line_id=line,
                                  field="ITEM_NAME"))
            q = rng.randint(1, 4)
            words.append(Word(f"{q}x", (200, y, 220, y + 15), line_id=line, is_quantity=True, quantity_value=q))
            words.append(Word(f"{rng.randint(5, 90)}.000", (300, y, 360, y + 15), line_id=line, field="ITEM_PRICE"))
        words.append(Word("TOTAL", (10, 400, 60, 415), line_id=99, field="TOTAL"))
        words.append(Word("thanks", (10, 430, 60, 445), line_id=100, field=OTHER))
        docs.append(Document(id=f"d{d}", width=400, height=460, words=tuple(words)))
    return docs


@pytest.fixture(scope="module")
def setup(tiny_tokenizer):
    encoder = DocumentEncoder(tiny_tokenizer, max_length=48, stride=8)
    windows = encoder.encode_many(_docs())
    return encoder, windows


def _fresh_model(**kwargs):
    torch.manual_seed(0)
    return build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields, loss_weighting="uncertainty", **kwargs)


def _run(model, plan, windows, encoder, cache=None, steps=6):
    plan.apply(model)
    optimizer = torch.optim.AdamW(optimizer_param_groups(model, 3e-3))
    model.train()
    torch.manual_seed(1)  # the same dropout stream for both paths
    losses = []
    batches = length_grouped_batches(windows, 4, seed=3)
    for step in range(steps):
        indices = batches[step % len(batches)]
        optimizer.zero_grad(set_to_none=True)
        if cache is None:
            out = model(**collate([windows[i] for i in indices], encoder.pad_token_id))
        else:
            out = cached_forward(model, cache, indices)
        out.loss.backward()
        optimizer.step()
        losses.append((out.loss.item(), out.task_losses["fields"].item(), out.task_losses["quantity"].item()))
    return losses


@pytest.mark.parametrize("preset, dtype, tolerance", [("freeze-backbone", torch.float32, 1e-5),
                                                     ("freeze-backbone", torch.float16, 5e-3),
                                                     ("phase-2", torch.float32, 1e-5)])
def test_cached_training_gives_the_same_losses(setup, preset, dtype, tolerance):
    encoder, windows = setup
    model = _fresh_model()
    names = group_names(model)
    plan = PhasedSchedule(top_k=1).plan(2, names) if preset == "phase-2" else FreezePlan.preset(preset, names)
    k = plan.frozen_prefix_layers()
    assert k == (1 if preset == "phase-2" else 2)
    uncached = _run(model, plan, windows, encoder)
    model = _fresh_model()
    plan.apply(model)
    cache = PrefixFeatureCache.build(model, windows, k, encoder.pad_token_id, dtype=dtype)
    cached = _run(model, plan, windows, encoder, cache)
    for a, b in zip(uncached, cached):
        assert a == pytest.approx(b, abs=tolerance, rel=tolerance)
    assert cache.is_valid_for(model, windows, k)  # training the top did not touch the prefix


def test_cache_refuses_trainable_prefix_and_detects_changes(setup):
    encoder, windows = setup
    model = _fresh_model()
    names = group_names(model)
    FreezePlan.preset("full", names).apply(model)
    with pytest.raises(ValueError, match="must all be frozen"):
        PrefixFeatureCache.build(model, windows, 1, encoder.pad_token_id)
    FreezePlan.preset("freeze-backbone", names).apply(model)
    cache = PrefixFeatureCache.build(model, windows, 2, encoder.pad_token_id)
    assert cache.is_valid_for(model, windows, 2)
    assert not cache.is_valid_for(model, windows, 1)  # a phase change or toggle moves the prefix
    assert not cache.is_valid_for(model, windows[:-1], 2)  # the data changed
    with torch.no_grad():
        model.backbone.encoder.layer[1].output.dense.bias[0] += 0.01  # a prefix weight changed
    assert not cache.is_valid_for(model, windows, 2)


def test_disk_backed_cache_matches_memory(setup, tmp_path):
    encoder, windows = setup
    model = _fresh_model()
    FreezePlan.preset("freeze-backbone", group_names(model)).apply(model)
    memory = PrefixFeatureCache.build(model, windows, 2, encoder.pad_token_id)
    disk = PrefixFeatureCache.build(model, windows, 2, encoder.pad_token_id, max_memory_bytes=1000, folder=tmp_path)
    assert disk.on_disk and not memory.on_disk and disk.path.exists()
    # the whole backbone is frozen: one float16 row per word (first sub-token), not per token
    assert memory.words_only and memory.nbytes == sum(len(w.first_token_positions()) for w in windows) * 64 * 2
    indices = [0, 3, 5]
    assert torch.equal(memory.batch(indices)["hidden"], disk.batch(indices)["hidden"])
    disk.close()
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_cached_epoch_is_much_faster_with_minilm():
    backbone = load_backbone("layout-minilm")
    encoder = DocumentEncoder(backbone.tokenizer)
    windows = encoder.encode_many(_docs(16))
    model = build_model(backbone, DEFAULT_SCHEMA.num_fields)
    plan = FreezePlan.preset("freeze-backbone", group_names(model))
    plan.apply(model)
    cache = PrefixFeatureCache.build(model, windows, plan.frozen_prefix_layers(), encoder.pad_token_id)
    optimizer = torch.optim.AdamW(optimizer_param_groups(model, 1e-3))
    model.train()
    batches = length_grouped_batches(windows, 8, seed=0)

    def epoch(use_cache):
        start = time.perf_counter()
        for indices in batches:
            optimizer.zero_grad(set_to_none=True)
            if use_cache:
                out = cached_forward(model, cache, indices)
            else:
                out = model(**collate([windows[i] for i in indices], encoder.pad_token_id))
            out.loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    uncached = min(epoch(False) for _ in range(2))
    cached = min(epoch(True) for _ in range(5))  # cheap; the minimum shrugs off scheduler noise
    assert uncached / cached > 10, (uncached, cached)


def test_a_whole_backbone_cache_keeps_word_rows_and_gives_the_token_cache_s_losses_and_logits(setup):
    """Freeze-backbone: the word-row cache (a third of the rows) gives the same loss and the same logits at every
    word's first sub-token as a cache of every token, for linear and contextual heads, in train and eval mode."""
    from receipt_core.model.head_settings import HeadSettings

    encoder, windows = setup
    for head in (HeadSettings(), HeadSettings(kind="contextual", layer_mix="top", size=64, depth=1)):
        model = _fresh_model(head=head)
        FreezePlan.preset("freeze-backbone", group_names(model)).apply(model)
        prefix = model.num_layers
        words = PrefixFeatureCache.build(model, windows, prefix, encoder.pad_token_id, dtype=torch.float32)
        tokens = PrefixFeatureCache.build(model, windows, prefix, encoder.pad_token_id, dtype=torch.float32,
                                          words_only=False)
        assert words.words_only and not tokens.words_only and words.nbytes < tokens.nbytes
        indices = [0, 3, 5]
        starts = tokens.batch(indices)["word_starts"]
        for mode in (True, False):
            model.train(mode)
            torch.manual_seed(0)
            from_words = cached_forward(model, words, indices)
            torch.manual_seed(0)
            from_tokens = cached_forward(model, tokens, indices)
            if not mode:  # dropout draws differ in order between the two layouts: compare in eval mode
                assert torch.allclose(from_words.loss, from_tokens.loss, atol=1e-5)
                assert torch.allclose(from_words.field_logits[starts], from_tokens.field_logits[starts], atol=1e-4)
                assert torch.allclose(from_words.quantity_logits[starts], from_tokens.quantity_logits[starts],
                                      atol=1e-4)
            assert from_words.field_logits.shape == from_tokens.field_logits.shape
