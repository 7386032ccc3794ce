"""LayoutLM's masked visual-language task: BERT's masking of tokens and the head that predicts the hidden words.

Used by layout pre-training (:mod:`receipt_core.training.pretrain`): the boxes of masked tokens stay, so the
hidden words are predicted from their context *and their position*.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedWordHead(nn.Module):
    """BERT's masked-language-model head over a backbone's hidden states; the decoder shares the word
    embedding matrix (so it adds only a dense layer, a LayerNorm and a bias)."""

    def __init__(self, word_embeddings: nn.Embedding, hidden_size: int, layer_norm_eps: float = 1e-12):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.word_embeddings = word_embeddings
        self.bias = nn.Parameter(torch.zeros(word_embeddings.num_embeddings))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.linear(self.norm(F.gelu(self.dense(hidden))), self.word_embeddings.weight, self.bias)


def mask_tokens(input_ids: torch.Tensor, maskable: torch.Tensor, probability: float, mask_id: int,
                vocab_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: each maskable token is chosen with ``probability``; a chosen token becomes ``[MASK]``
    (80 %), a random token (10 %) or stays (10 %). Returns (inputs, labels) with labels -100 where not chosen.
    At least one token per batch is chosen, so every step has a loss."""
    chosen = (torch.rand(input_ids.shape, generator=generator) < probability) & maskable
    if not bool(chosen.any()):
        candidates = maskable.nonzero()
        pick = candidates[int(torch.randint(len(candidates), (1,), generator=generator))]
        chosen[pick[0], pick[1]] = True
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    roll = torch.rand(input_ids.shape, generator=generator)
    inputs = input_ids.clone()
    inputs[chosen & (roll < 0.8)] = mask_id
    random_slots = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[random_slots] = torch.randint(vocab_size, (int(random_slots.sum()),), generator=generator)
    return inputs, labels
