"""Predictions per word and per item for whole documents, in the CLI's JSON shape.

Each document is encoded into windows, run through the model in eval mode without gradients, and the
windows' per-token probabilities merged back to one row per word (``encoding.merge_word_scores``).
``Predictor.decode`` does the second half alone, for probabilities computed elsewhere (a training run's
evaluation reads them off the same pass that gives its validation losses).

The two heads are decoded jointly (``decode_word``): the schema makes a quantity word's field ``OTHER``, so
the answers that can be true together are "field f, not a quantity" for every f and "OTHER, quantity". The
word gets the more probable of the best such pair, scoring each pair by the product of the heads'
probabilities. A word both heads claim (the field head says ITEM_NAME, the quantity head says quantity)
thus goes to the more confident head instead of being both. ``field_score`` is the chosen field's
probability; a quantity word's ``quantity_value`` is parsed from its text.

Lines whose words, decoded one by one, contradict each other (two different quantities, or a quantity that does
not multiply the unit price into the price) are then settled by ``reconcile.reconcile_quantities``, and a product
code left ``OTHER`` before an item name joins the name (``item_codes.join_leading_codes``), unless the predictor is
made with ``reconcile=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from ..data.document import Document
from .encoding import DocumentEncoder, collate, merge_word_scores
from .heads import word_starts
from ..data.items import Item, assemble_items
from .quantity_column import parsed_values
from .item_codes import SETTLED_BY as PRODUCT_CODE, join_leading_codes
from .reconcile import SETTLED_BY as LINE_RULES, reconcile_quantities
from ..data.schema import DEFAULT_SCHEMA, OTHER, LabelSchema


@dataclass(frozen=True)
class WordPrediction:
    text: str
    box: tuple[float, float, float, float]
    field: str
    field_score: float
    quantity: bool
    quantity_value: float | None
    quantity_score: float = 0.0
    # the rule that set its answer against the heads' decoding: reconcile.SETTLED_BY ("line arithmetic": its line's
    # quantity and prices) or item_codes.SETTLED_BY ("product code"); "" where the answer is the heads' own
    settled_by: str = ""

    @property
    def reconciled(self) -> bool:
        """Whether a rule, not the heads' decoding, gave the answer."""
        return bool(self.settled_by)

    def to_json(self) -> dict:
        return {"text": self.text, "box": [round(v, 2) for v in self.box], "field": self.field,
                "field_score": round(self.field_score, 4), "quantity": self.quantity,
                "quantity_score": round(self.quantity_score, 4), "quantity_value": self.quantity_value,
                "reconciled": self.reconciled, "settled_by": self.settled_by or None}


@dataclass(frozen=True)
class DocumentPrediction:
    doc_id: str
    words: tuple[WordPrediction, ...]  # in the document's word order
    items: tuple[Item, ...]

    def to_json(self) -> dict:
        return {"id": self.doc_id, "words": [w.to_json() for w in self.words],
                "items": [i.to_json() for i in self.items]}


def decode_word(field_probs: Sequence[float], quantity_prob: float, other_index: int = 0) -> tuple[int, bool]:
    """The field index and quantity flag of one word from its field distribution and the quantity head's
    probability, decoded jointly: "OTHER and a quantity" (``P(OTHER)·q``) against "the best field and not a
    quantity" (``max P(f)·(1−q)``).

    >>> decode_word([0.1, 0.8, 0.1], 0.7)   # ITEM_NAME 0.8·0.3 beats OTHER+quantity 0.1·0.7
    (1, False)
    >>> decode_word([0.3, 0.6, 0.1], 0.9)   # OTHER+quantity 0.3·0.9 beats ITEM_NAME 0.6·0.1
    (0, True)
    """
    best = max(range(len(field_probs)), key=lambda k: field_probs[k])
    if field_probs[other_index] * quantity_prob > field_probs[best] * (1.0 - quantity_prob):
        return other_index, True
    return best, False


def document_prediction(doc: Document, fields: Sequence[str], flags: Sequence[bool], best_fields: Sequence[str],
                        field_score: Callable[[int, str, bool], float], quantity_scores: Sequence[float],
                        reconcile: bool = True) -> DocumentPrediction:
    """A document's prediction from its words decoded one by one — ``fields[i]`` and ``flags[i]``, and
    ``best_fields[i]``, word i's likeliest field were it not a quantity — after reconciling self-contradictory
    lines (unless ``reconcile`` is False). ``field_score(i, field, is_quantity)`` is the probability shown for
    word i's final answer, ``quantity_scores[i]`` its quantity probability. The two-head predictor and the
    reference tagger both finish here."""
    decoded = list(zip(fields, flags))
    settled_by = [""] * len(doc.words)
    if reconcile:
        fields, flags, values = reconcile_quantities(doc.words, fields, flags, best_fields)
        settled_by = [LINE_RULES if answer != before else "" for answer, before in zip(zip(fields, flags), decoded)]
        joined = join_leading_codes(doc.words, fields, flags)
        settled_by = [PRODUCT_CODE if new != old else rule for new, old, rule in zip(joined, fields, settled_by)]
        fields = joined
    else:
        values = parsed_values(doc.words, flags)
    words = tuple(WordPrediction(
        text=word.text, box=tuple(float(v) for v in word.box), field=fields[i],
        field_score=float(field_score(i, fields[i], flags[i])), quantity=bool(flags[i]),
        quantity_value=values[i], quantity_score=float(quantity_scores[i]), settled_by=settled_by[i])
        for i, word in enumerate(doc.words))
    items = assemble_items(doc.words, [w.field for w in words], [w.quantity for w in words],
                           [w.quantity_value for w in words])
    return DocumentPrediction(doc_id=doc.id, words=words, items=tuple(items))


class Predictor:
    """Runs a MultiTaskModel over documents. ``batch_size`` windows go through the model at a time;
    ``reconcile`` settles self-contradictory lines (module docstring)."""

    def __init__(self, model, encoder: DocumentEncoder, schema: LabelSchema = DEFAULT_SCHEMA, batch_size: int = 16,
                 reconcile: bool = True):
        if model.num_fields != schema.num_fields:
            raise ValueError(f"the model predicts {model.num_fields} fields but schema {schema.name!r} has "
                             f"{schema.num_fields}")
        self.model = model
        self.encoder = encoder
        self.schema = schema
        self.batch_size = batch_size
        self.reconcile = reconcile

    @torch.no_grad()
    def predict(self, docs: Sequence[Document]) -> list[DocumentPrediction]:
        """Predictions for ``docs``, in order. Windows of all documents are batched together, sorted by
        length so that batches carry little padding, and merged back per document."""
        was_training = self.model.training
        self.model.eval()
        try:
            windows = [self.encoder.encode(doc) for doc in docs]
            flat = [(d, w) for d, doc_windows in enumerate(windows) for w in range(len(doc_windows))]
            flat.sort(key=lambda dw: len(windows[dw[0]][dw[1]]))
            field_probs = [[None] * len(w) for w in windows]
            quantity_probs = [[None] * len(w) for w in windows]
            device = next(self.model.parameters()).device
            for begin in range(0, len(flat), self.batch_size):
                chunk = flat[begin:begin + self.batch_size]
                chunk_windows = [windows[d][w] for d, w in chunk]
                batch = collate(chunk_windows, self.encoder.pad_token_id)
                starts = word_starts(chunk_windows, batch["input_ids"].shape[1])
                out = self.model(batch["input_ids"].to(device), batch["bbox"].to(device),
                                 batch["attention_mask"].to(device), word_starts=starts.to(device))
                fields = out.field_logits.float().softmax(-1).cpu()
                quantities = out.quantity_logits.float().softmax(-1).cpu()
                for row, (d, w) in enumerate(chunk):
                    field_probs[d][w], quantity_probs[d][w] = fields[row], quantities[row]
            return [self.decode(doc, windows[d], field_probs[d], quantity_probs[d]) for d, doc in enumerate(docs)]
        finally:
            self.model.train(was_training)

    def decode(self, doc: Document, windows, field_probs, quantity_probs) -> DocumentPrediction:
        """``doc``'s prediction from its windows' per-token probabilities (each (len(window), C); softmaxed)."""
        n = len(doc.words)
        fields = merge_word_scores(windows, field_probs, n)
        quantities = merge_word_scores(windows, quantity_probs, n)
        other = self.schema.field_id(OTHER)
        decoded = [decode_word(fields[i].tolist(), float(quantities[i][1]), other) for i in range(n)]
        return document_prediction(
            doc, [self.schema.field_name(field_id) for field_id, _ in decoded],
            [is_quantity for _, is_quantity in decoded],
            [self.schema.field_name(int(fields[i].argmax())) for i in range(n)],
            lambda i, field, _: fields[i][self.schema.field_id(field)], [quantities[i][1] for i in range(n)],
            reconcile=self.reconcile)
