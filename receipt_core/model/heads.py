"""The task heads over the backbone: what each head reads (the last layer, or a learned mix of every layer's
output) and what it is (a per-token classifier, or a small contextual encoder over the words and their boxes).

:class:`HeadSettings` (``head_settings.py``) is the head part of a model's shape; a checkpoint stores it
(``to_json``) and an old checkpoint without it rebuilds the original head (``linear`` on the last layer)::

    linear       dropout → Linear (→ GELU → dropout → Linear with ``hidden``), one position at a time
    contextual   project the word's features to ``size``, add an MLP of its box (x0, y0, x1, y1, w, h, 0…1)
                 when ``boxes``, then ``depth`` transformer encoder layers over the document window's words
                 (their first sub-tokens), then Linear

``layer_mix`` (ELMo's scalar mix): each head reads Σ softmax(w)_l · h_l over the embeddings' output and every
encoder layer's output. ``"top"`` starts w with most of the weight on the last layer, ``"uniform"`` with equal
weights, ``"off"`` reads only the last layer. A frozen backbone's middle layers carry much of what a receipt's
fields need; a mix lets the heads find it, and costs one weight per layer.

Each task has its own head (mix included), so freezing one head leaves the other's input untouched.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .dropout import FastDropout
from .head_settings import HeadSettings, attention_heads

TOP_WEIGHT = 0.9  # layer_mix="top": the last layer's starting share of the mix
BOX_FEATURES = 6  # x0, y0, x1, y1, width, height of the word's 0–1000 box, scaled to 0–1


class LayerMix(nn.Module):
    """Σ softmax(w)_l · states[l] over a stack of layer outputs (L, …, H) → (…, H)."""

    def __init__(self, num_states: int, init: str = "top"):
        super().__init__()
        logits = torch.zeros(num_states)
        if init == "top" and num_states > 1:  # the last layer starts with TOP_WEIGHT of the mix
            logits[-1] = math.log(TOP_WEIGHT * (num_states - 1) / (1 - TOP_WEIGHT))
        self.logits = nn.Parameter(logits)

    def weights(self) -> torch.Tensor:
        return self.logits.softmax(0)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        if states.shape[0] != self.logits.shape[0]:
            raise ValueError(f"the layer mix weighs {self.logits.shape[0]} layer outputs, got {states.shape[0]}")
        weights = self.weights().to(states.dtype)
        return torch.einsum("l,l...->...", weights, states)


class LinearHead(nn.Module):
    """Per-token classifier over the last layer (``(…, H)``) or, with a mix, a stack of layers (``(L, …, H)``).

    The dropout is ``FastDropout``: over cached features a training step is little more than the heads, and
    ``nn.Dropout``'s per-element mask would be most of its time (see dropout.py)."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 0, dropout: float = 0.1,
                 mix: LayerMix | None = None):
        super().__init__()
        if hidden:
            self.net = nn.Sequential(FastDropout(dropout), nn.Linear(in_features, hidden), nn.GELU(),
                                     FastDropout(dropout), nn.Linear(hidden, num_classes))
        else:
            self.net = nn.Sequential(FastDropout(dropout), nn.Linear(in_features, num_classes))
        if mix is not None:
            self.mix = mix

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "mix"):
            hidden = self.mix(hidden)
        return self.net(hidden)


class ContextualHead(nn.Module):
    """A small transformer encoder over the words of a window: (L?, B, W, H) features + (B, W, 4) boxes +
    (B, W) word mask → (B, W, C) scores (see the module docstring)."""

    def __init__(self, in_features: int, num_classes: int, settings: HeadSettings, mix: LayerMix | None = None):
        super().__init__()
        size = settings.size
        if mix is not None:
            self.mix = mix
        self.project = nn.Sequential(nn.Linear(in_features, size), FastDropout(settings.dropout))
        if settings.boxes:
            self.boxes = nn.Sequential(nn.Linear(BOX_FEATURES, size), nn.GELU(), nn.Linear(size, size))
        self.norm = nn.LayerNorm(size)
        layer = nn.TransformerEncoderLayer(size, attention_heads(size), dim_feedforward=2 * size,
                                           dropout=settings.dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        layer.dropout, layer.dropout1, layer.dropout2 = (FastDropout(settings.dropout) for _ in range(3))
        layer.self_attn.dropout = 0.0  # attention-weight dropout draws a bernoulli mask per weight: dropped
        self.encoder = nn.TransformerEncoder(layer, settings.depth, enable_nested_tensor=False)
        self.classify = nn.Sequential(nn.LayerNorm(size), nn.Linear(size, num_classes))

    def forward(self, words: torch.Tensor, boxes: torch.Tensor, word_mask: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "mix"):
            words = self.mix(words)
        x = self.project(words)
        if hasattr(self, "boxes"):
            x = x + self.boxes(box_features(boxes).to(x.dtype))
        x = self.encoder(self.norm(x), src_key_padding_mask=~word_mask)
        return self.classify(x)


def box_features(bbox: torch.Tensor) -> torch.Tensor:
    """(…, 4) integer 0–1000 boxes → (…, 6) floats: x0, y0, x1, y1, width, height, each scaled to 0–1."""
    b = bbox.float() / 1000.0
    return torch.cat([b, b[..., 2:3] - b[..., 0:1], b[..., 3:4] - b[..., 1:2]], dim=-1)


def build_head(settings: HeadSettings, in_features: int, num_states: int, num_classes: int) -> nn.Module:
    """One task's head as ``settings`` describe it; ``num_states`` layer outputs feed its mix."""
    mix = LayerMix(num_states, settings.layer_mix) if settings.mixes_layers else None
    if settings.kind == "contextual":
        return ContextualHead(in_features, num_classes, settings, mix)
    return LinearHead(in_features, num_classes, settings.hidden, settings.dropout, mix)


def word_starts(windows: Sequence, length: int | None = None) -> torch.Tensor:
    """(B, T) True at each window's words' first sub-tokens (what a contextual head reads), padded to ``length``."""
    length = length or max(len(w) for w in windows)
    mask = torch.zeros((len(windows), length), dtype=torch.bool)
    for row, window in enumerate(windows):
        positions = list(window.first_token_positions().values())
        if positions:
            mask[row, positions] = True
    return mask


def gather_words(word_mask: torch.Tensor, *tensors: torch.Tensor
                 ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """The word positions of each row packed to the left: the (B, W) mask of real words, each (…, B, T, D)
    tensor gathered to (…, B, W, D), and the (B, W) token position of each word (W = the most words of any row;
    padding repeats position 0)."""
    counts = word_mask.sum(1)
    width = max(int(counts.max()) if counts.numel() else 0, 1)
    # stable sort puts each row's word positions first, in order
    order = torch.sort((~word_mask).to(torch.int8), dim=1, stable=True).indices[:, :width]  # (B, W)
    packed = torch.arange(width, device=word_mask.device)[None, :] < counts[:, None]
    order = torch.where(packed, order, torch.zeros_like(order))
    gathered = []
    for tensor in tensors:
        lead = tensor.dim() - 3  # stacked layers in front
        index = order.reshape(*([1] * lead), *order.shape, 1).expand(*tensor.shape[:lead], *order.shape,
                                                                      tensor.shape[-1])
        gathered.append(torch.gather(tensor, lead + 1, index))
    return packed, gathered, order


def scatter_words(scores: torch.Tensor, order: torch.Tensor, packed: torch.Tensor, length: int) -> torch.Tensor:
    """(B, W, C) word scores back to (B, T, C) token positions (zeros where no word starts)."""
    out = scores.new_zeros((scores.shape[0], length, scores.shape[-1]))
    rows = torch.arange(scores.shape[0], device=scores.device)[:, None].expand_as(order)
    return out.index_put((rows[packed], order[packed]), scores[packed])
