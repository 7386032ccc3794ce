"""Frozen-prefix activation cache: compute a frozen bottom of the network once, reuse it every epoch.

When both embedding groups and the bottom ``k`` encoder layers are frozen (``FreezePlan.frozen_prefix_layers``
gives ``k``; ``freeze-backbone`` is ``k = N``, phase 2 of ``phased`` is ``k = N - top_k``), their output for a
window never changes: frozen units run in eval mode (no dropout) and their weights do not move. The cache
runs them once per window (no gradient) and stores the hidden states after layer ``k``, or, when the model's
heads read a mix of every layer (``model.reads_all_layers``), every output up to it (the embeddings' and each
of the k layers'); a training step then runs only the trainable top::

    cache = PrefixFeatureCache.build(model, windows, k, pad_token_id)
    batch = cache.batch(indices)   # hidden (B, T, H) or (k + 1, B, T, H), mask, labels, boxes, word starts
                                   # (T: the words' rows only, when the prefix is the whole backbone)
    output = cached_forward(model, cache, indices)   # the same, through model(...)

The training windows and the evaluation windows each get a cache: an evaluation then also runs only the top.

Memory is bounded: states are stored as float16 by default (a float32 cache reproduces the uncached losses
to float rounding; float16 to about 1e-3), and past ``max_memory_bytes`` they live in a file under
``folder`` (a numpy memmap) instead of RAM. ``is_valid_for`` says whether the cache still matches a model,
windows and prefix depth: it changes when the prefix depth changes (a phase change, a toggle), when the
data changes, or when any prefix weight changes.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .encoding import IGNORE_INDEX, EncodedWindow, collate, length_grouped_batches
from .heads import scatter_words, word_starts


def windows_fingerprint(windows: Sequence[EncodedWindow]) -> str:
    """A digest of the windows' tokens and boxes (what the prefix sees), in order."""
    digest = hashlib.sha256()
    for window in windows:
        digest.update(window.doc_id.encode())
        digest.update(np.asarray(window.input_ids, dtype=np.int64).tobytes())
        digest.update(np.asarray(window.bbox, dtype=np.int64).tobytes())
    return digest.hexdigest()


def prefix_parameters(model, prefix_layers: int) -> list[torch.nn.Parameter]:
    params = list(model.backbone.embeddings.parameters())
    for layer in model.backbone.encoder.layer[:prefix_layers]:
        params.extend(layer.parameters())
    return params


def prefix_fingerprint(model, prefix_layers: int) -> tuple[float, ...]:
    """Per-tensor sums of the prefix weights (float64): any optimizer step or edit on them shows up here."""
    with torch.no_grad():
        return tuple(float(p.detach().double().sum()) + float(p.detach().double().abs().sum())
                     for p in prefix_parameters(model, prefix_layers))


class PrefixFeatureCache:
    """Hidden states after the first ``prefix_layers`` encoder layers (or every state up to there, when
    ``all_layers``), one block of rows per window."""

    def __init__(self, windows: Sequence[EncodedWindow], prefix_layers: int, hidden_size: int, storage,
                 offsets: np.ndarray, data_fingerprint: str, weights_fingerprint: tuple[float, ...],
                 path: Path | None = None, all_layers: bool = False, words_only: bool = False):
        self.windows = list(windows)
        self.prefix_layers = prefix_layers
        self.hidden_size = hidden_size
        self.all_layers = all_layers
        self.words_only = words_only  # rows only at each word's first sub-token (see build)
        self._storage = storage  # (total_tokens, S, H) torch tensor in RAM, or np.memmap on disk
        self._offsets = offsets  # row where each window's block starts; offsets[-1] = total tokens
        self.data_fingerprint = data_fingerprint
        self.weights_fingerprint = weights_fingerprint
        self.path = path
        # labels as tensors once, so a batch is a few pads rather than a collate of Python tuples
        self._field_labels = [torch.tensor(w.field_labels, dtype=torch.long) for w in self.windows]
        self._quantity_labels = [torch.tensor(w.quantity_labels, dtype=torch.long) for w in self.windows]
        self._boxes = [torch.tensor(w.bbox, dtype=torch.long).reshape(-1, 4) for w in self.windows]
        self._word_starts = [word_starts([w])[0] for w in self.windows]
        self._positions = [torch.tensor(sorted(w.first_token_positions().values()), dtype=torch.long)
                           for w in self.windows]  # each window's word rows, as token positions
        if words_only:
            self._field_labels = [labels[at] for labels, at in zip(self._field_labels, self._positions)]
            self._quantity_labels = [labels[at] for labels, at in zip(self._quantity_labels, self._positions)]
            self._boxes = [boxes[at] for boxes, at in zip(self._boxes, self._positions)]

    @property
    def states_per_token(self) -> int:
        """How many hidden states each token keeps: ``prefix_layers + 1`` with ``all_layers``, else 1."""
        return self.prefix_layers + 1 if self.all_layers else 1

    @classmethod
    @torch.no_grad()
    def build(cls, model, windows: Sequence[EncodedWindow], prefix_layers: int, pad_token_id: int,
              batch_size: int = 32, dtype: torch.dtype = torch.float16, max_memory_bytes: int = 1 << 30,
              folder: Path | None = None, all_layers: bool | None = None,
              words_only: bool | None = None) -> "PrefixFeatureCache":
        """Run the frozen prefix over every window once (prefix in eval mode) and store its output; with
        ``all_layers`` (default: whether the model's heads mix layers) the output of every unit of the prefix.

        ``words_only`` (default: when the prefix is the whole backbone) keeps only the rows of each word's first
        sub-token: with nothing trainable between the cache and the heads, those are all the heads ever read
        (labels sit on first sub-tokens; predictions are merged from them), so a batch is a third of the size and
        gives the same losses and the same word predictions.

        Refuses a prefix with a trainable parameter: its output would go stale after the first step.
        """
        if all_layers is None:
            all_layers = bool(getattr(model, "reads_all_layers", False))
        if words_only is None:
            words_only = prefix_layers == model.num_layers
        states = prefix_layers + 1 if all_layers else 1
        if not 0 <= prefix_layers <= model.num_layers:
            raise ValueError(f"prefix_layers {prefix_layers} is outside 0..{model.num_layers}")
        if any(p.requires_grad for p in prefix_parameters(model, prefix_layers)):
            raise ValueError(f"the embeddings and encoder layers 0..{prefix_layers - 1} must all be frozen to cache "
                             "their output (FreezePlan.frozen_prefix_layers() says how deep the frozen prefix is)")
        hidden_size = int(model.backbone.config.hidden_size)
        kept = [torch.tensor(sorted(w.first_token_positions().values()), dtype=torch.long) if words_only
                else None for w in windows]  # the token rows stored per window (None: all of them)
        lengths = np.array([len(k) if words_only else len(w) for k, w in zip(kept, windows)], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        total = int(offsets[-1])
        itemsize = torch.empty((), dtype=dtype).element_size()
        path = None
        if total * states * hidden_size * itemsize > max_memory_bytes:
            folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="prefix-cache-"))
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"prefix-{prefix_layers}.{str(dtype).removeprefix('torch.')}.bin"
            np_dtype = np.float16 if dtype == torch.float16 else np.float32
            storage = np.memmap(path, dtype=np_dtype, mode="w+", shape=(max(total, 1), states, hidden_size))
        else:
            storage = torch.empty((total, states, hidden_size), dtype=dtype)
        units = [model.backbone.embeddings, *model.backbone.encoder.layer[:prefix_layers]]
        modes = [u.training for u in units]
        for unit in units:
            unit.eval()
        device = next(model.parameters()).device
        try:
            for indices in length_grouped_batches(windows, batch_size, seed=0):
                batch = collate([windows[i] for i in indices], pad_token_id)
                mask = batch["attention_mask"].to(device)
                embedded = model.embed(batch["input_ids"].to(device), batch["bbox"].to(device))
                if all_layers:  # (B, T, S, H): every output from the embeddings' to layer k - 1's
                    outputs = [embedded, *model.run_layers_all(embedded, mask, 0, prefix_layers)]
                    hidden = torch.stack(outputs, dim=2).float().cpu()
                else:
                    hidden = model.run_layers(embedded, mask, 0, prefix_layers).float().cpu()[:, :, None]
                for row, i in enumerate(indices):
                    block = hidden[row, kept[i]] if words_only else hidden[row, :lengths[i]]
                    if isinstance(storage, np.memmap):
                        storage[offsets[i]:offsets[i + 1]] = block.numpy().astype(storage.dtype)
                    else:
                        storage[offsets[i]:offsets[i + 1]] = block.to(dtype)
        finally:
            for unit, mode in zip(units, modes):
                unit.train(mode)
        if isinstance(storage, np.memmap):
            storage.flush()
        return cls(windows, prefix_layers, hidden_size, storage, offsets, windows_fingerprint(windows),
                   prefix_fingerprint(model, prefix_layers), path, all_layers, words_only)

    @property
    def nbytes(self) -> int:
        return int(self._storage.nbytes)

    @property
    def on_disk(self) -> bool:
        return isinstance(self._storage, np.memmap)

    def is_valid_for(self, model, windows: Sequence[EncodedWindow], prefix_layers: int) -> bool:
        """True when the cache still holds what the prefix of ``model`` computes for ``windows`` (and every
        layer's output, if the model's heads mix layers)."""
        return (prefix_layers == self.prefix_layers
                and (self.all_layers or not getattr(model, "reads_all_layers", False))
                and (windows is self.windows or windows_fingerprint(windows) == self.data_fingerprint)
                and prefix_fingerprint(model, prefix_layers) == self.weights_fingerprint)

    def _block(self, index: int) -> torch.Tensor:
        start, end = int(self._offsets[index]), int(self._offsets[index + 1])
        block = self._storage[start:end]
        return torch.from_numpy(np.asarray(block)) if isinstance(block, np.ndarray) else block

    def labelled_tokens(self, indices: Sequence[int]) -> int:
        """How many tokens of windows ``indices`` carry a field label (what a mean loss is taken over)."""
        return sum(int((self._field_labels[i] != IGNORE_INDEX).sum()) for i in indices)

    def batch(self, indices: Sequence[int], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Cached states of ``indices`` padded to the longest: hidden float32 — (B, T, H), or (S, B, T, H) when
        the cache keeps every layer —, attention_mask, field_labels, quantity_labels (labels -100 on padding),
        bbox (B, T, 4) and word_starts (B, T)."""
        pad = torch.nn.utils.rnn.pad_sequence
        hidden = pad([self._block(i) for i in indices], batch_first=True).float()  # (B, T, S, H)
        hidden = hidden.permute(2, 0, 1, 3) if self.all_layers else hidden[:, :, 0]
        fields = pad([self._field_labels[i] for i in indices], batch_first=True, padding_value=IGNORE_INDEX)
        quantities = pad([self._quantity_labels[i] for i in indices], batch_first=True, padding_value=IGNORE_INDEX)
        rows = torch.tensor([len(self._field_labels[i]) for i in indices])
        mask = (torch.arange(fields.shape[1])[None, :] < rows[:, None]).long()
        boxes = pad([self._boxes[i] for i in indices], batch_first=True)
        if self.words_only:  # every stored row is a word's first sub-token
            starts = mask.bool()
        else:
            starts = pad([self._word_starts[i] for i in indices], batch_first=True)
        batch = {"hidden": hidden.to(device), "attention_mask": mask.to(device), "field_labels": fields.to(device),
                 "quantity_labels": quantities.to(device), "bbox": boxes.to(device), "word_starts": starts.to(device)}
        if self.words_only:  # where each row goes back to in its window, for token-shaped logits
            batch["positions"] = pad([self._positions[i] for i in indices], batch_first=True).to(device)
            batch["length"] = max(len(self.windows[i]) for i in indices)
        return batch

    def close(self) -> None:
        """Release the storage (and delete the file of a disk-backed cache)."""
        if self.path is not None:
            self._storage = torch.empty((0, self.states_per_token, self.hidden_size))  # drops the file's mapping
            self.path.unlink(missing_ok=True)
            self.path = None


def cached_forward(model, cache: PrefixFeatureCache, indices: Sequence[int], device: torch.device | str = "cpu"):
    """The model's output (with losses) for windows ``indices``, running only the layers above the cache.

    Calls ``model(...)`` (not a method), so a DistributedDataParallel-wrapped model works too."""
    batch = cache.batch(indices, device)
    output = model(None, batch["bbox"], batch["attention_mask"], batch["field_labels"], batch["quantity_labels"],
                   hidden=batch["hidden"], start_layer=cache.prefix_layers, word_starts=batch["word_starts"])
    if cache.words_only:  # word rows back to token positions: (B, W, C) → (B, T, C), zeros off the words
        rows = batch["attention_mask"].bool()
        output.field_logits = scatter_words(output.field_logits, batch["positions"], rows, batch["length"])
        output.quantity_logits = scatter_words(output.quantity_logits, batch["positions"], rows, batch["length"])
    return output

