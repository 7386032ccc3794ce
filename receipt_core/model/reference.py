"""The plain reference model a user would write instead of the two-head model, and its predictions.

``transformers.LayoutLMForTokenClassification`` over the same backbone weights, one combined tagger whose
classes are the schema's fields plus ``QUANTITY`` (a quantity word is tagged ``QUANTITY`` and is ``OTHER`` for
the fields). Its predictions come back as ``predict.DocumentPrediction`` objects, so
``evaluation.metrics.evaluate_predictions`` scores both models with the same code. Training it is a task of the
one loop: :mod:`receipt_core.training.reference`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..data.document import Document
from ..data.schema import DEFAULT_SCHEMA, OTHER, QUANTITY, LabelSchema
from .encoding import IGNORE_INDEX, DocumentEncoder, EncodedWindow, collate, merge_word_scores
from .predict import DocumentPrediction, document_prediction


def tag_names(schema: LabelSchema = DEFAULT_SCHEMA) -> tuple[str, ...]:
    """The combined tagger's classes: every field, then QUANTITY."""
    return (*schema.fields, QUANTITY)


def combined_labels(window: EncodedWindow, schema: LabelSchema = DEFAULT_SCHEMA) -> tuple[int, ...]:
    """One tag per token: the QUANTITY class where the quantity label is 1, else the field label (-100 stays)."""
    quantity_class = schema.num_fields
    return tuple(quantity_class if q == 1 else f for f, q in zip(window.field_labels, window.quantity_labels))


def build_reference_model(backbone_name: str, schema: LabelSchema = DEFAULT_SCHEMA, seed: int = 0,
                          max_length: int | None = None):
    """``(LayoutLMForTokenClassification, tokenizer, uses_layout)`` carrying the named backbone's weights (refused
    when windows of ``max_length`` tokens need more positions than it has).

    The classifier on top is initialised from ``seed``; the encoder weights are copied from
    ``backbones.load_backbone`` so both models start from identical encoders, with the same fused attention
    (``backbones.layoutlm_tagger``): the comparison is about the design, not kernels.
    """
    from .backbones import layoutlm_tagger, load_backbone

    backbone = load_backbone(backbone_name, seed=seed, max_length=max_length)
    return layoutlm_tagger(backbone, len(tag_names(schema)), seed=seed), backbone.tokenizer, backbone.uses_layout


def reference_batch(windows: Sequence[EncodedWindow], pad_token_id: int, schema: LabelSchema, uses_layout: bool
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
                batch = reference_batch(chunk, encoder.pad_token_id, schema, uses_layout)
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
