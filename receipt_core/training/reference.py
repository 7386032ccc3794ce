"""The plain reference a user would write instead of the two-head model.

``transformers.LayoutLMForTokenClassification`` over the same backbone weights, one combined tagger whose
classes are the schema's fields plus ``QUANTITY`` (a quantity word is tagged ``QUANTITY`` and is ``OTHER`` for
the fields), trained with plain AdamW (one learning rate for every parameter, constant, gradient clipping at 1)
on the same windows, batches, seed and time budget as the multi-task runs. No freezing, no phases, no task
weighting: the baseline the study's table must beat.

Its predictions come back as ``predict.DocumentPrediction`` objects, so ``metrics.evaluate_predictions``
scores both models with the same code.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..data.document import Document
from ..model.encoding import IGNORE_INDEX, DocumentEncoder, EncodedWindow, collate, length_grouped_batches, merge_word_scores
from ..model.predict import DocumentPrediction, document_prediction
from ..data.schema import DEFAULT_SCHEMA, OTHER, QUANTITY, LabelSchema
from .schedules import lr_multiplier


@dataclass(frozen=True)
class ReferenceConfig:
    backbone: str = "layout-minilm"
    epochs: int = 50
    max_minutes: float | None = None  # training-time budget, evaluations included (as in the trainer)
    batch_size: int = 8
    lr: float = 5e-5
    weight_decay: float = 0.01
    seed: int = 0
    max_length: int = 512
    stride: int = 128
    eval_every_epoch: bool = True
    lr_schedule: str = "constant"  # or "linear" (warm-up, then to 0 at the end), as the multi-task runs get
    warmup: float = 0.06
    boxes: str = "word"  # encoding.BOX_MODES


@dataclass(frozen=True)
class ReferenceResult:
    metrics: dict[str, Any]  # metrics.evaluate_predictions() of the final model
    train_s: float  # training time (evaluations included), as the trainer's elapsed_s
    steps: int
    epochs: float  # epochs done (fractional when the budget stopped mid-epoch)
    trainable_parameters: int
    total_parameters: int
    finished: str  # "completed" or "time budget"
    losses: tuple[tuple[int, float, float], ...] = ()  # (step, elapsed_s, loss)
    evaluations: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # {"step", "epoch", "elapsed_s", metrics}


def tag_names(schema: LabelSchema = DEFAULT_SCHEMA) -> tuple[str, ...]:
    """The combined tagger's classes: every field, then QUANTITY."""
    return (*schema.fields, QUANTITY)


def combined_labels(window: EncodedWindow, schema: LabelSchema = DEFAULT_SCHEMA) -> tuple[int, ...]:
    """One tag per token: the QUANTITY class where the quantity label is 1, else the field label (-100 stays)."""
    quantity_class = schema.num_fields
    return tuple(quantity_class if q == 1 else f for f, q in zip(window.field_labels, window.quantity_labels))


def build_reference_model(backbone_name: str, schema: LabelSchema = DEFAULT_SCHEMA, seed: int = 0):
    """``(LayoutLMForTokenClassification, tokenizer, uses_layout)`` carrying the named backbone's weights.

    The classifier on top is initialised from ``seed``; the encoder weights are copied from
    ``backbones.load_backbone`` so both models start from identical encoders.
    """
    from transformers import LayoutLMForTokenClassification

    from ..model.backbones import load_backbone

    backbone = load_backbone(backbone_name, seed=seed)
    config = backbone.model.config
    config.num_labels = len(tag_names(schema))
    config._attn_implementation = "eager"  # the class refuses "sdpa" at construction; switched after (below)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LayoutLMForTokenClassification(config)
    model.layoutlm.pooler = torch.nn.Identity()
    missing, unexpected = model.layoutlm.load_state_dict(backbone.model.state_dict(), strict=False)
    if unexpected or [k for k in missing if not k.startswith("pooler.")]:
        raise RuntimeError(f"backbone weights do not fit LayoutLMForTokenClassification: missing {missing}, "
                           f"unexpected {unexpected}")
    # the same fused attention as the backbones (see backbones.py): the comparison is about the design, not kernels
    model.config._attn_implementation = "sdpa"
    return model, backbone.tokenizer, backbone.uses_layout


def _batch(windows: Sequence[EncodedWindow], pad_token_id: int, schema: LabelSchema, uses_layout: bool
           ) -> dict[str, torch.Tensor]:
    tensors = collate(windows, pad_token_id)
    labels = torch.full_like(tensors["field_labels"], IGNORE_INDEX)
    for row, window in enumerate(windows):
        labels[row, :len(window)] = torch.tensor(combined_labels(window, schema), dtype=torch.long)
    bbox = tensors["bbox"] if uses_layout else torch.zeros_like(tensors["bbox"])
    return {"input_ids": tensors["input_ids"], "bbox": bbox, "attention_mask": tensors["attention_mask"],
            "labels": labels}


@torch.no_grad()
def predict_reference(model, encoder: DocumentEncoder, docs: Sequence[Document], schema: LabelSchema = DEFAULT_SCHEMA,
                      uses_layout: bool = True, batch_size: int = 16, reconcile: bool = True
                      ) -> list[DocumentPrediction]:
    """The combined tagger's predictions in the two-head model's shape (field + quantity flag per word), with
    self-contradictory lines settled as the two-head model's are (``reconcile.reconcile_quantities``) unless
    ``reconcile`` is False."""
    was_training = model.training
    model.eval()
    tags = tag_names(schema)
    quantity_class = schema.num_fields
    try:
        results = []
        for doc in docs:
            windows = encoder.encode(doc)
            scores = []
            for begin in range(0, len(windows), batch_size):
                chunk = windows[begin:begin + batch_size]
                batch = _batch(chunk, encoder.pad_token_id, schema, uses_layout)
                logits = model(input_ids=batch["input_ids"], bbox=batch["bbox"],
                               attention_mask=batch["attention_mask"]).logits
                scores.extend(logits.float().softmax(-1))
            merged = merge_word_scores(windows, scores, len(doc.words))
            flags = [int(np.argmax(row)) == quantity_class for row in merged]
            names = [OTHER if flag else tags[int(np.argmax(row))] for row, flag in zip(merged, flags)]
            best = [tags[int(np.argmax(row[:quantity_class]))] for row in merged]
            results.append(document_prediction(
                doc, names, flags, best,
                lambda i, field, is_quantity: merged[i][quantity_class if is_quantity else tags.index(field)],
                [row[quantity_class] for row in merged], reconcile=reconcile))
        return results
    finally:
        model.train(was_training)


def train_reference(config: ReferenceConfig, train_docs: Sequence[Document], eval_docs: Sequence[Document],
                    schema: LabelSchema = DEFAULT_SCHEMA, on_log: Callable[[str], None] | None = None
                    ) -> ReferenceResult:
    """Fine-tune the plain tagger until ``config.epochs`` or the time budget; evaluate after each epoch and at
    the end. Seeded: the same config and data give the same run. The caller's torch RNG is left untouched."""
    from ..evaluation.metrics import evaluate_predictions

    if not train_docs:
        raise ValueError("the reference needs training documents")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model, tokenizer, uses_layout = build_reference_model(config.backbone, schema, config.seed)
        encoder = DocumentEncoder(tokenizer, schema, max_length=config.max_length, stride=config.stride,
                                  uses_layout=uses_layout, boxes=config.boxes)
        windows = encoder.encode_many(train_docs)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        total = sum(p.numel() for p in model.parameters())
        start = time.monotonic()
        elapsed = lambda: time.monotonic() - start  # noqa: E731
        budget = None if config.max_minutes is None else config.max_minutes * 60
        losses: list[tuple[int, float, float]] = []
        evaluations: list[dict[str, Any]] = []
        step, epochs_done, finished = 0, 0.0, "completed"

        def evaluate(epoch: float) -> dict[str, Any]:
            metrics = evaluate_predictions(eval_docs, predict_reference(model, encoder, eval_docs, schema, uses_layout))
            evaluations.append({"step": step, "epoch": epoch, "elapsed_s": elapsed(), **_headline(metrics)})
            if on_log is not None:
                on_log(f"reference eval step {step} (epoch {epoch:.2f}): fields.micro_f1 "
                       f"{metrics['fields.micro_f1']:.4f}, quantity.item_accuracy {metrics['quantity.item_accuracy']:.4f}")
            return metrics

        metrics: dict[str, Any] = {}
        for epoch in range(config.epochs):
            batches = length_grouped_batches(windows, config.batch_size, seed=config.seed * 100_003 + epoch)
            model.train()
            for index, indices in enumerate(batches):
                if budget is not None and elapsed() >= budget:
                    finished = "time budget"
                    epochs_done = epoch + index / len(batches)
                    break
                batch = _batch([windows[i] for i in indices], encoder.pad_token_id, schema, uses_layout)
                optimizer.zero_grad(set_to_none=True)
                loss = model(**batch).loss
                if not math.isfinite(float(loss.detach())):
                    raise FloatingPointError(f"the reference's loss became {float(loss.detach())} at step {step + 1}; "
                                             "lower the learning rate")
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                by_steps = (step + 1) / (config.epochs * len(batches))
                by_time = elapsed() / budget if budget else 0.0
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * lr_multiplier(config.lr_schedule, max(by_steps, by_time), config.warmup)
                optimizer.step()
                step += 1
                losses.append((step, elapsed(), float(loss.detach())))
            else:
                epochs_done = epoch + 1.0
                if config.eval_every_epoch and eval_docs:
                    metrics = evaluate(epochs_done)
                continue
            break
        if eval_docs and (not evaluations or evaluations[-1]["step"] != step):
            metrics = evaluate(epochs_done)
        train_s = elapsed()
        if eval_docs and on_log is not None:  # what reconciling buys the reference (see reconcile.py)
            plain = evaluate_predictions(eval_docs, predict_reference(model, encoder, eval_docs, schema, uses_layout,
                                                                      reconcile=False))
            on_log(f"reference without reconciling: fields.micro_f1 {plain['fields.micro_f1']:.4f}, "
                   f"quantity.item_accuracy {plain['quantity.item_accuracy']:.4f}")
    return ReferenceResult(metrics=metrics, train_s=train_s, steps=step, epochs=epochs_done,
                           trainable_parameters=total, total_parameters=total, finished=finished,
                           losses=tuple(losses), evaluations=tuple(evaluations))


HEADLINE = ("fields.micro_f1", "quantity.word_f1", "quantity.item_accuracy", "quantity.item_accuracy_not_one")


def _headline(metrics: dict[str, Any]) -> dict[str, float]:
    return {key: float(metrics[key]) for key in HEADLINE if key in metrics}
