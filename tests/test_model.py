"""MultiTaskModel on the tiny backbone: shapes, losses, staged forward, loss weighting, frozen units' mode."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from receipt_core.model.backbones import load_backbone
from receipt_core.data.document import Document, Word
from receipt_core.model.encoding import DocumentEncoder, collate
from receipt_core.model.head_settings import HeadSettings
from receipt_core.model.multitask import MultiTaskModel, _token_cross_entropy, build_model
from receipt_core.data.schema import DEFAULT_SCHEMA


def _docs() -> list[Document]:
    a = Document(id="a", width=300, height=100, words=(
        Word("ICE", (10, 10, 40, 20), field="ITEM_NAME"), Word("TEA", (45, 10, 80, 20), field="ITEM_NAME"),
        Word("2x", (90, 10, 110, 20), is_quantity=True, quantity_value=2.0),
        Word("20.000", (200, 10, 260, 20), field="ITEM_PRICE")))
    b = Document(id="b", width=300, height=100, words=(
        Word("TOTAL", (10, 50, 60, 60), field="TOTAL"), Word("Rp20.000", (200, 50, 280, 60), field="TOTAL"),
        Word("thank", (10, 80, 50, 90)), Word("you", (55, 80, 80, 90))))
    return [a, b]


@pytest.fixture(scope="module")
def tiny():
    return load_backbone("tiny")


def _batch(tiny):
    encoder = DocumentEncoder(tiny.tokenizer)
    return collate(encoder.encode_many(_docs()), encoder.pad_token_id)


def test_forward_shapes_and_losses_are_masked_cross_entropy(tiny):
    model = build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields).eval()
    batch = _batch(tiny)
    out = model(**batch)
    b, t = batch["input_ids"].shape
    assert out.field_logits.shape == (b, t, DEFAULT_SCHEMA.num_fields) and out.quantity_logits.shape == (b, t, 2)
    keep = batch["field_labels"] != -100
    assert keep.sum().item() == 8  # one labelled position per word
    expected_fields = F.cross_entropy(out.field_logits[keep], batch["field_labels"][keep])
    expected_qty = F.cross_entropy(out.quantity_logits[keep], batch["quantity_labels"][keep])
    assert torch.allclose(out.task_losses["fields"], expected_fields)
    assert torch.allclose(out.task_losses["quantity"], expected_qty)
    assert torch.allclose(out.loss, expected_fields + expected_qty)
    no_labels = model(batch["input_ids"], batch["bbox"], batch["attention_mask"])
    assert no_labels.loss is None and no_labels.task_losses == {}
    assert torch.allclose(no_labels.field_logits, out.field_logits)


def test_fixed_task_weights(tiny):
    model = build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields, task_weights=(0.3, 2.0)).eval()
    out = model(**_batch(tiny))
    assert torch.allclose(out.loss, 0.3 * out.task_losses["fields"] + 2.0 * out.task_losses["quantity"])
    with pytest.raises(ValueError, match="loss_weighting"):
        MultiTaskModel(load_backbone("tiny").model, 11, loss_weighting="dynamic")


def test_uncertainty_weighting_learns_log_variances(tiny):
    model = build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields, loss_weighting="uncertainty").eval()
    with torch.no_grad():
        model.field_head.log_variance.fill_(0.5)
        model.quantity_head.log_variance.fill_(-1.0)
    out = model(**_batch(tiny))
    expected = (math.exp(-0.5) * out.task_losses["fields"] + 0.5
                + math.exp(1.0) * out.task_losses["quantity"] - 1.0)
    assert torch.allclose(out.loss, expected)
    out.loss.backward()
    assert model.field_head.log_variance.grad is not None and model.quantity_head.log_variance.grad is not None
    assert model.task_weight_values()["fields"] == pytest.approx(math.exp(-0.5))


def test_staged_forward_equals_forward_at_every_split(tiny):
    model = build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields).eval()
    batch = _batch(tiny)
    full = model(**batch)
    for k in range(model.num_layers + 1):
        prefix = model.run_layers(model.embed(batch["input_ids"], batch["bbox"]), batch["attention_mask"], 0, k)
        out = model.forward_from(prefix, batch["attention_mask"], k, batch["field_labels"], batch["quantity_labels"])
        assert torch.allclose(out.field_logits, full.field_logits, atol=1e-6)
        assert torch.allclose(out.loss, full.loss, atol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        model.run_layers(prefix, batch["attention_mask"], 1, 5)


def test_text_only_model_ignores_boxes(tiny):
    backbone = load_backbone("tiny")
    batch = _batch(tiny)
    moved = dict(batch, bbox=(batch["bbox"] // 2))
    text = MultiTaskModel(backbone.model, 11, uses_layout=False).eval()
    assert torch.equal(text(**batch).field_logits, text(**moved).field_logits)
    layout = MultiTaskModel(backbone.model, 11, uses_layout=True).eval()
    assert not torch.allclose(layout(**batch).field_logits, layout(**moved).field_logits)


def test_padding_does_not_change_a_window_s_output(tiny):
    model = build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields).eval()
    encoder = DocumentEncoder(tiny.tokenizer)
    windows = encoder.encode_many(_docs())
    alone = model(**collate(windows[:1], encoder.pad_token_id))
    padded = model(**collate(windows[:1], encoder.pad_token_id, pad_to_multiple_of=64))
    n = len(windows[0])
    assert torch.allclose(alone.field_logits[0, :n], padded.field_logits[0, :n], atol=1e-5)


def test_train_keeps_fully_frozen_units_in_eval_mode(tiny):
    model = build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields)
    for p in model.backbone.encoder.layer[0].parameters():
        p.requires_grad_(False)
    for p in model.field_head.parameters():
        p.requires_grad_(False)
    model.train()
    assert model.training and model.backbone.encoder.layer[1].training and model.quantity_head.training
    assert not model.backbone.encoder.layer[0].training
    assert not any(m.training for m in model.backbone.encoder.layer[0].modules())
    assert not any(m.training for m in model.field_head.modules())
    # a frozen unit is deterministic in training mode: dropout is really off there
    x = torch.randn(2, 5, 64)
    assert torch.equal(model.field_head(x), model.field_head(x))
    assert not torch.equal(model.quantity_head(x), model.quantity_head(x))
    model.eval()
    assert not any(m.training for m in model.modules())


def test_training_mode_heads_on_labelled_positions_give_the_same_loss(tiny):
    model = build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields, head_dropout=0.0)
    for p in model.backbone.parameters():
        p.requires_grad_(False)  # frozen backbone: eval mode (no dropout) even in model.train()
    batch = _batch(tiny)
    model.eval()
    reference = model(**batch)
    model.train()
    trained = model(**batch)
    assert torch.allclose(trained.loss, reference.loss, atol=1e-6)
    for task in ("fields", "quantity"):
        assert torch.allclose(trained.task_losses[task], reference.task_losses[task], atol=1e-6)
    keep = batch["field_labels"] != -100
    assert torch.allclose(trained.field_logits[keep], reference.field_logits[keep], atol=1e-6)
    assert (trained.field_logits[~keep] == 0).all()


@pytest.mark.parametrize("head", [None, HeadSettings(kind="contextual", layer_mix="top", size=32, depth=1)])
def test_label_smoothing_changes_the_training_loss_only(tiny, head):
    """Smoothed targets raise a confident model's training loss; evaluation (and so every validation loss a run
    reports) stays plain cross-entropy, for the linear and the contextual heads alike."""
    torch.manual_seed(0)
    model = build_model(tiny, DEFAULT_SCHEMA.num_fields, head=head)
    batch = _batch(tiny)
    if head is not None:
        batch["word_starts"] = batch["field_labels"] != -100
    model.set_attention_dropout(0.0)
    for module in model.modules():  # no dropout: the two passes must differ by the targets alone
        if hasattr(module, "p"):
            module.p = 0.0
    losses = {}
    for smoothing, mode in ((0.0, True), (0.2, True), (0.0, False), (0.2, False)):
        model.set_label_smoothing(smoothing)
        model.train(mode)
        with torch.no_grad():
            output = model(**batch)
        losses[smoothing, mode] = {task: float(loss) for task, loss in output.task_losses.items()}
    assert losses[0.0, True] == pytest.approx(losses[0.0, False], abs=1e-5)
    assert losses[0.2, False] == losses[0.0, False]
    for task in ("fields", "quantity"):
        assert losses[0.2, True][task] != pytest.approx(losses[0.0, True][task], abs=1e-4)
    expected = F.cross_entropy(torch.zeros(3, 5), torch.tensor([0, 1, 2]), label_smoothing=0.2)
    assert _token_cross_entropy(torch.zeros(1, 3, 5), torch.tensor([[0, 1, 2]]), 0.2) == pytest.approx(float(expected))
    with pytest.raises(ValueError, match="label smoothing"):
        model.set_label_smoothing(1.0)


def test_attention_dropout_reaches_the_fused_attention_only_while_training(tiny, monkeypatch):
    """``set_attention_dropout`` is what the backbone's attention asks PyTorch for: at 0 the fused CPU kernel
    runs (no per-weight mask), above 0 the weights are dropped, and eval mode never drops."""
    seen: list[float] = []
    real = F.scaled_dot_product_attention

    def recording(*args, **kwargs):
        seen.append(kwargs.get("dropout_p", 0.0))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", recording)
    model = build_model(tiny, DEFAULT_SCHEMA.num_fields)
    batch = _batch(tiny)
    layers = model.num_layers
    for p, mode, expected in ((0.0, True, 0.0), (0.3, True, 0.3), (0.3, False, 0.0)):
        model.set_attention_dropout(p)
        model.train(mode)
        seen.clear()
        model(**batch)
        assert seen == [expected] * layers, (p, mode)
    with pytest.raises(ValueError, match="attention dropout"):
        model.set_attention_dropout(1.0)
