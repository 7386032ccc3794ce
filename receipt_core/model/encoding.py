"""Documents → model windows: word-aligned tokens, 0–1000 boxes, both heads' labels, overlapping windows.

A document's words are tokenized once with the fast tokenizer (``is_split_into_words=True``). Each word's
label sits on its first sub-token; its other sub-tokens (and CLS/SEP/padding) carry -100, which the
losses ignore. Boxes become LayoutLM's 0–1000 page coordinates; CLS gets ``[0, 0, 0, 0]`` and SEP
``[1000, 1000, 1000, 1000]``, as LayoutLM was pre-trained.

A document longer than the window is cut at word boundaries into windows that overlap by about
``stride`` tokens. Every word appears whole in at least one window; ``merge_word_scores`` brings the
windows' per-token scores back to one row per word, taking each word from the window where it sits
furthest from an edge (where it sees the most context on both sides).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..data.boxes import BOX_SCALE, check_box_mode, layout_boxes
from ..data.document import Document
from ..data.schema import DEFAULT_SCHEMA, LabelSchema, unknown_label_problem

IGNORE_INDEX = -100
CLS_BOX = (0, 0, 0, 0)
SEP_BOX = (BOX_SCALE, BOX_SCALE, BOX_SCALE, BOX_SCALE)
PAD_BOX = (0, 0, 0, 0)

Box4 = tuple[int, int, int, int]


@dataclass(frozen=True)
class EncodedWindow:
    """One model input: ``[CLS] tokens [SEP]`` with per-token boxes, labels and word indices."""

    doc_id: str
    input_ids: tuple[int, ...]
    bbox: tuple[Box4, ...]
    field_labels: tuple[int, ...]  # field id on a word's first sub-token, -100 elsewhere
    quantity_labels: tuple[int, ...]  # 1/0 on a word's first sub-token, -100 elsewhere
    word_ids: tuple[int | None, ...]  # index into doc.words, None for CLS/SEP
    window_index: int = 0
    num_windows: int = 1

    def __len__(self) -> int:
        return len(self.input_ids)

    def first_token_positions(self) -> dict[int, int]:
        """word index → position of its first sub-token in this window."""
        positions: dict[int, int] = {}
        for position, word in enumerate(self.word_ids):
            if word is not None and word not in positions:
                positions[word] = position
        return positions


def normalize_box(box: Sequence[float], width: float, height: float) -> Box4:
    """Pixel box → integer 0–1000 page coordinates, clamped to the page and ordered (x0<=x1, y0<=y1)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"page size {width}x{height} is degenerate: boxes are normalised by the page size, "
                         "which must be positive")
    x0, y0, x1, y1 = (float(v) for v in box)
    xs = sorted((_scale(x0, width), _scale(x1, width)))
    ys = sorted((_scale(y0, height), _scale(y1, height)))
    return (xs[0], ys[0], xs[1], ys[1])


def _scale(value: float, size: float) -> int:
    return min(BOX_SCALE, max(0, int(round(BOX_SCALE * value / size))))


class DocumentEncoder:
    """Turns documents into EncodedWindows for one tokenizer and label schema.

    ``uses_layout=False`` gives every token the box ``[0, 0, 0, 0]`` (the text-only baseline).
    ``boxes`` is one of ``BOX_MODES``: each word's own box, its OCR line's box, or its row (own x, line's y).
    """

    def __init__(self, tokenizer, schema: LabelSchema = DEFAULT_SCHEMA, max_length: int = 512, stride: int = 128,
                 uses_layout: bool = True, boxes: str = "word"):
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("DocumentEncoder needs a fast tokenizer (word_ids() alignment)")
        if max_length < 8:
            raise ValueError(f"max_length {max_length} is too small for a window (at least 8 tokens)")
        if not 0 <= stride < max_length - 2 - 1:
            raise ValueError(f"stride {stride} must be in [0, {max_length - 4}] for max_length {max_length}: it is "
                             "the overlap between consecutive windows and must leave room to advance")
        self.tokenizer = tokenizer
        self.schema = schema
        self.max_length = max_length
        self.stride = stride
        self.uses_layout = uses_layout
        self.boxes = check_box_mode(boxes)

    @property
    def pad_token_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    def word_tokens(self, doc: Document) -> list[list[int]]:
        """Token ids per word. A word the tokenizer drops entirely (control characters, empty) becomes [UNK],
        so every word gets a label position and a prediction."""
        texts = [word.text for word in doc.words]
        per_word = self._tokenize(texts)
        empty = [i for i, ids in enumerate(per_word) if not ids]
        if empty:
            for i in empty:
                texts[i] = self.tokenizer.unk_token
            per_word = self._tokenize(texts)
        return per_word

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        per_word: list[list[int]] = [[] for _ in texts]
        if not texts:
            return per_word
        # a whole receipt, cut into windows afterwards: verbose=False keeps transformers from warning that it is
        # longer than the model's 512 positions ("… will result in indexing errors"), which no window is
        encoding = self.tokenizer(texts, is_split_into_words=True, add_special_tokens=False, truncation=False,
                                  verbose=False)
        for token_id, word in zip(encoding["input_ids"], encoding.word_ids()):
            if word is not None:
                per_word[word].append(token_id)
        return per_word

    def word_boxes(self, doc: Document) -> list[Box4]:
        """Each word's normalised box (as ``boxes`` says; zeros without layout)."""
        if doc.width <= 0 or doc.height <= 0:
            raise ValueError(f"document {doc.id!r}: page size {doc.width}x{doc.height} is degenerate; boxes are "
                             "normalised by the page size, which must be positive")
        if not self.uses_layout:
            return [PAD_BOX] * len(doc.words)
        return [normalize_box(box, doc.width, doc.height) for box in layout_boxes(doc, self.boxes)]

    def encode(self, doc: Document) -> list[EncodedWindow]:
        """The document as one or more windows (one when it fits in ``max_length`` tokens)."""
        per_word = self.word_tokens(doc)
        boxes = self.word_boxes(doc)
        if (problem := unknown_label_problem([doc], self.schema)) is not None:  # every path that encodes labels
            raise ValueError(problem)  # (train --out, a study, evaluate): the receipt named, the label escaped
        fields = [self.schema.field_id(word.field) for word in doc.words]
        quantities = [int(word.is_quantity) for word in doc.words]
        spans = _window_spans([len(ids) for ids in per_word], self.max_length - 2, self.stride)
        windows = []
        for index, (start, end) in enumerate(spans):
            ids: list[int] = [self.tokenizer.cls_token_id]
            bbox: list[Box4] = [CLS_BOX]
            field_labels, quantity_labels = [IGNORE_INDEX], [IGNORE_INDEX]
            word_ids: list[int | None] = [None]
            for w in range(start, end):
                tokens = per_word[w][: self.max_length - 2]  # a single word longer than a window is cut
                ids.extend(tokens)
                bbox.extend([boxes[w]] * len(tokens))
                field_labels.extend([fields[w]] + [IGNORE_INDEX] * (len(tokens) - 1))
                quantity_labels.extend([quantities[w]] + [IGNORE_INDEX] * (len(tokens) - 1))
                word_ids.extend([w] * len(tokens))
            ids.append(self.tokenizer.sep_token_id)
            bbox.append(SEP_BOX)
            field_labels.append(IGNORE_INDEX)
            quantity_labels.append(IGNORE_INDEX)
            word_ids.append(None)
            windows.append(EncodedWindow(doc_id=doc.id, input_ids=tuple(ids), bbox=tuple(bbox),
                                         field_labels=tuple(field_labels), quantity_labels=tuple(quantity_labels),
                                         word_ids=tuple(word_ids), window_index=index, num_windows=len(spans)))
        return windows

    def encode_many(self, docs: Sequence[Document]) -> list[EncodedWindow]:
        return [window for doc in docs for window in self.encode(doc)]


def _window_spans(lengths: Sequence[int], capacity: int, stride: int) -> list[tuple[int, int]]:
    """Word ranges [start, end) whose token counts fit ``capacity``, consecutive ranges sharing about
    ``stride`` tokens. Each range starts at a word boundary; every word lies whole in some range."""
    lengths = [min(n, capacity) for n in lengths]
    if not lengths:
        return [(0, 0)]
    spans = []
    start = 0
    while True:
        end, used = start, 0
        while end < len(lengths) and used + lengths[end] <= capacity:
            used += lengths[end]
            end += 1
        spans.append((start, end))
        if end >= len(lengths):
            return spans
        # step back from `end` while the overlap stays within `stride` tokens, but always advance
        next_start, overlap = end, 0
        while next_start - 1 > start and overlap + lengths[next_start - 1] <= stride:
            next_start -= 1
            overlap += lengths[next_start]
        start = next_start


def merge_word_scores(windows: Sequence[EncodedWindow], scores: Sequence, num_words: int) -> np.ndarray:
    """Per-token scores of a document's windows → one row per word, shape (num_words, C).

    ``scores[i]`` is an array (len(windows[i]) or longer when padded, C). A word seen in several windows
    takes its row from the window where its first sub-token is furthest from the window's edges.
    Raises ValueError if some word appears in no window.
    """
    merged: np.ndarray | None = None
    best_margin = np.full(num_words, -1, dtype=np.int64)
    for window, window_scores in zip(windows, scores):
        array = window_scores.detach().float().cpu().numpy() if isinstance(window_scores, torch.Tensor) \
            else np.asarray(window_scores, dtype=np.float32)
        if merged is None:
            merged = np.zeros((num_words, array.shape[-1]), dtype=np.float32)
        length = len(window)
        for word, position in window.first_token_positions().items():
            margin = min(position, length - 1 - position)
            if margin > best_margin[word]:
                best_margin[word] = margin
                merged[word] = array[position]
    if num_words and (merged is None or (best_margin < 0).any()):
        missing = np.flatnonzero(best_margin < 0)[:10].tolist()
        raise ValueError(f"words {missing} appear in no window; pass every window of the document")
    return merged if merged is not None else np.zeros((0, 0), dtype=np.float32)


def merge_word_labels(windows: Sequence[EncodedWindow], token_labels: Sequence[Sequence[int]],
                      num_words: int) -> list[int]:
    """Per-token label ids of a document's windows → one label per word (same rule as merge_word_scores)."""
    best_margin = [-1] * num_words
    labels = [IGNORE_INDEX] * num_words
    for window, window_labels in zip(windows, token_labels):
        length = len(window)
        for word, position in window.first_token_positions().items():
            margin = min(position, length - 1 - position)
            if margin > best_margin[word]:
                best_margin[word], labels[word] = margin, int(window_labels[position])
    return labels


def collate(windows: Sequence[EncodedWindow], pad_token_id: int, pad_to_multiple_of: int | None = None
            ) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest window (dynamic padding): input_ids, bbox, attention_mask, field_labels,
    quantity_labels. Labels pad with -100, boxes with zeros."""
    if not windows:
        raise ValueError("collate needs at least one window")
    length = max(len(w) for w in windows)
    if pad_to_multiple_of:
        length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
    batch = len(windows)
    input_ids = torch.full((batch, length), pad_token_id, dtype=torch.long)
    bbox = torch.zeros((batch, length, 4), dtype=torch.long)
    attention_mask = torch.zeros((batch, length), dtype=torch.long)
    field_labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
    quantity_labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
    for row, window in enumerate(windows):
        n = len(window)
        input_ids[row, :n] = torch.tensor(window.input_ids, dtype=torch.long)
        bbox[row, :n] = torch.tensor(window.bbox, dtype=torch.long)
        attention_mask[row, :n] = 1
        field_labels[row, :n] = torch.tensor(window.field_labels, dtype=torch.long)
        quantity_labels[row, :n] = torch.tensor(window.quantity_labels, dtype=torch.long)
    return {"input_ids": input_ids, "bbox": bbox, "attention_mask": attention_mask,
            "field_labels": field_labels, "quantity_labels": quantity_labels}


def length_grouped_batches(windows: Sequence[EncodedWindow], batch_size: int, seed: int,
                           mega_batch_factor: int = 50) -> list[list[int]]:
    """Batches of window indices in which lengths are similar (little padding), in a seeded random order.

    Indices are shuffled, cut into mega-batches of ``batch_size * mega_batch_factor``, each sorted by
    length and cut into batches; the batch order is shuffled again. Every index appears exactly once.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    rng = random.Random(seed)
    order = list(range(len(windows)))
    rng.shuffle(order)
    mega = batch_size * max(1, mega_batch_factor)
    batches: list[list[int]] = []
    for begin in range(0, len(order), mega):
        chunk = sorted(order[begin:begin + mega], key=lambda i: len(windows[i]), reverse=True)
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches
