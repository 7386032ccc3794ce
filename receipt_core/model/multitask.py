"""The multi-task model: one LayoutLM backbone, a field head and a quantity head, and their losses.

The forward pass is split into public stages so that a frozen prefix can be computed once and cached (a
frozen backbone's output does not change between epochs)::

    hidden = model.embed(input_ids, bbox)                       # (B, T, H)
    hidden = model.run_layers(hidden, attention_mask, 0, k)      # frozen bottom k layers: cacheable
    states = model.top_states(prefix_states, attention_mask, k)  # trainable top → what the heads read
    output = model.heads(states, field_labels, quantity_labels, bbox, word_starts)

The heads (``heads.py``, shaped by ``HeadSettings``) read the last layer's output (B, T, H), or with a layer
mix the stack of every layer's output (L = N + 1, B, T, H): the embeddings' and each encoder layer's. A
contextual head reads only the words' first sub-tokens (``word_starts``) and their boxes. ``forward`` is
exactly those stages with k = 0.

Freezing and train/eval mode: ``train()`` is overridden so that a unit of the model (the embeddings, one
encoder layer, one head) whose parameters are all frozen stays in eval mode (dropout off) even while the
rest trains. It reads ``requires_grad``, so any freeze plan or hand toggle is respected; call
``model.train()`` again after changing ``requires_grad`` (``FreezePlan.apply`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .encoding import IGNORE_INDEX
from .head_settings import HeadSettings
from .heads import LinearHead, build_head, gather_words, scatter_words

LOSS_WEIGHTINGS = ("fixed", "uncertainty")
TASKS = ("fields", "quantity")


@dataclass
class MultiTaskOutput:
    field_logits: torch.Tensor  # (B, T, F)
    quantity_logits: torch.Tensor  # (B, T, 2)
    loss: torch.Tensor | None = None  # weighted sum over tasks, when labels were given
    task_losses: dict[str, torch.Tensor] = field(default_factory=dict)  # "fields", "quantity": unweighted CE


TokenHead = LinearHead  # the per-token head, under the name it had before heads.py


class MultiTaskModel(nn.Module):
    """Backbone + field head + quantity head; computes per-task cross-entropy when labels are given.

    ``loss_weighting="fixed"``: loss = w_f·L_fields + w_q·L_quantity with ``task_weights``.
    ``loss_weighting="uncertainty"`` (Kendall et al., 2018): loss = Σ exp(-s_i)·L_i + s_i with a learned
    log-variance s_i per task, starting at 0. Each s_i lives in its task's head module
    (``field_head.log_variance``, ``quantity_head.log_variance``), so it freezes with that head.
    ``uses_layout=False`` replaces every box by zeros (the text-only baseline).
    ``head`` shapes both heads (``heads.HeadSettings``); without it, ``head_hidden`` and ``head_dropout`` give
    the original linear head on the last layer.
    """

    def __init__(self, backbone_model, num_fields: int, loss_weighting: str = "fixed",
                 task_weights: tuple[float, float] = (1.0, 1.0), uses_layout: bool = True, head_hidden: int = 0,
                 head_dropout: float = 0.1, head: HeadSettings | None = None):
        super().__init__()
        if loss_weighting not in LOSS_WEIGHTINGS:
            raise ValueError(f"loss_weighting must be one of {LOSS_WEIGHTINGS}, got {loss_weighting!r}")
        if len(task_weights) != 2 or any(w < 0 for w in task_weights):
            raise ValueError(f"task_weights must be two non-negative numbers (fields, quantity), got {task_weights}")
        if num_fields < 2:
            raise ValueError(f"num_fields must be at least 2, got {num_fields}")
        self.backbone = backbone_model
        self.num_fields = num_fields
        self.loss_weighting = loss_weighting
        self.task_weights = (float(task_weights[0]), float(task_weights[1]))
        self.uses_layout = uses_layout
        self.head_settings = head or HeadSettings(hidden=head_hidden, dropout=head_dropout)
        self.label_smoothing = 0.0  # a training setting (set_label_smoothing), not part of the saved model
        hidden_size = int(backbone_model.config.hidden_size)
        states = len(backbone_model.encoder.layer) + 1
        self.field_head = build_head(self.head_settings, hidden_size, states, num_fields)
        self.quantity_head = build_head(self.head_settings, hidden_size, states, 2)
        if loss_weighting == "uncertainty":
            self.field_head.log_variance = nn.Parameter(torch.zeros(()))
            self.quantity_head.log_variance = nn.Parameter(torch.zeros(()))

    # --- structure ---------------------------------------------------------------------------------------

    @property
    def num_layers(self) -> int:
        return len(self.backbone.encoder.layer)

    def set_attention_dropout(self, p: float) -> None:
        """Dropout on the backbone's attention weights while training (0 turns it off; eval mode has none).

        Above 0, PyTorch's fused CPU attention cannot drop weights, so each layer falls back to materialising
        the (B, heads, T, T) weights and a ``bernoulli_`` mask over them: about 2.2x the time of a whole
        MiniLM forward and backward pass at 400 tokens. Measured on WildReceipt photos (README "End to end
        from pixels"): more steps in a budget, lower scores, so runs keep the backbone's own rate unless asked."""
        if not 0.0 <= p < 1.0:
            raise ValueError(f"attention dropout must be in [0, 1), got {p}")
        for layer in self.backbone.encoder.layer:
            layer.attention.self.attention_dropout = p

    def set_label_smoothing(self, p: float) -> None:
        """Smooth the training targets of both heads by ``p`` (0: plain cross-entropy). Evaluation and validation
        losses always use the plain targets, so runs with and without it report comparable losses."""
        if not 0.0 <= p < 1.0:
            raise ValueError(f"label smoothing must be in [0, 1), got {p}")
        self.label_smoothing = float(p)

    @property
    def _smoothing(self) -> float:
        return self.label_smoothing if self.training else 0.0

    @property
    def needs_boxes(self) -> bool:
        """Whether the windows must carry the words' boxes: the backbone reads them (layout), or a contextual
        head does (its box features work over a text-only backbone too; ``embed`` zeroes them for that one)."""
        return bool(self.uses_layout) or (self.head_settings.kind == "contextual" and self.head_settings.boxes)

    @property
    def reads_all_layers(self) -> bool:
        """Whether the heads read every layer's output (a layer mix), not only the last."""
        return self.head_settings.mixes_layers

    def units(self) -> list[nn.Module]:
        """The modules that freeze as a whole: embeddings, each encoder layer, each head."""
        return [self.backbone.embeddings, *self.backbone.encoder.layer, self.field_head, self.quantity_head]

    def train(self, mode: bool = True) -> "MultiTaskModel":
        """Set train/eval mode, keeping fully frozen units in eval mode (no dropout) while training."""
        super().train(mode)
        if mode:
            for unit in self.units():
                params = list(unit.parameters())
                if params and not any(p.requires_grad for p in params):
                    unit.eval()
            # a container (encoder, backbone) whose parameter-holding children are all in eval mode follows
            # them, parameterless children (the Identity pooler) included
            for module in reversed(list(self.modules())):
                holders = [c for c in module.children() if any(True for _ in c.parameters())]
                if module is not self and holders and not any(c.training for c in holders) and not any(
                        p.requires_grad for p in module.parameters(recurse=False)):
                    module.eval()
        return self

    # --- forward stages ----------------------------------------------------------------------------------

    def embed(self, input_ids: torch.Tensor, bbox: torch.Tensor) -> torch.Tensor:
        """Token + position + layout embeddings, LayerNorm, dropout: (B, T) ids, (B, T, 4) boxes → (B, T, H)."""
        if not self.uses_layout:
            bbox = torch.zeros_like(bbox)
        return self.backbone.embeddings(input_ids=input_ids, bbox=bbox)

    def attention_bias(self, attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(B, T) 1/0 mask → (B, 1, 1, T) additive bias, as LayoutLMModel builds it."""
        bias = attention_mask[:, None, None, :].to(dtype)
        return (1.0 - bias) * torch.finfo(dtype).min

    def run_layers(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int = 0,
                   end: int | None = None) -> torch.Tensor:
        """Encoder layers ``start`` … ``end - 1`` (``end=None``: to the top) over (B, T, H) hidden states."""
        end = self.num_layers if end is None else end
        if not 0 <= start <= end <= self.num_layers:
            raise ValueError(f"layer range [{start}, {end}) is outside 0..{self.num_layers}")
        if start == end:
            return hidden
        bias = self.attention_bias(attention_mask, hidden.dtype)
        for layer in self.backbone.encoder.layer[start:end]:
            hidden = layer(hidden, attention_mask=bias)[0]
        return hidden

    def run_layers_all(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int = 0,
                       end: int | None = None) -> list[torch.Tensor]:
        """The output of each encoder layer ``start`` … ``end - 1`` (``end=None``: to the top), in order."""
        end = self.num_layers if end is None else end
        if not 0 <= start <= end <= self.num_layers:
            raise ValueError(f"layer range [{start}, {end}) is outside 0..{self.num_layers}")
        bias = self.attention_bias(attention_mask, hidden.dtype)
        outputs = []
        for layer in self.backbone.encoder.layer[start:end]:
            hidden = layer(hidden, attention_mask=bias)[0]
            outputs.append(hidden)
        return outputs

    def top_states(self, prefix: torch.Tensor, attention_mask: torch.Tensor, start: int) -> torch.Tensor:
        """What the heads read, from the output of the layers below ``start``: ``prefix`` is (B, T, H), the output
        of layer ``start - 1`` (the embeddings for 0), or (start + 1, B, T, H), every output up to it. Returns
        (B, T, H) the last layer's output, or with a layer mix (N + 1, B, T, H) every layer's."""
        if not self.reads_all_layers:
            return self.run_layers(prefix[-1] if prefix.dim() == 4 else prefix, attention_mask, start)
        if prefix.dim() != 4 or prefix.shape[0] != start + 1:
            raise ValueError(f"the layer mix needs the output of the embeddings and of each layer below {start} "
                             f"({start + 1} states), got a tensor of shape {tuple(prefix.shape)}")
        if start == self.num_layers:  # nothing above the prefix: the heads read it as it is
            return prefix
        states = list(prefix.unbind(0))
        return torch.stack(states + self.run_layers_all(states[-1], attention_mask, start))

    def heads(self, states: torch.Tensor, field_labels: torch.Tensor | None = None,
              quantity_labels: torch.Tensor | None = None, bbox: torch.Tensor | None = None,
              word_starts: torch.Tensor | None = None) -> MultiTaskOutput:
        """Both heads over ``states`` (``top_states``), plus losses for the tasks whose labels are given.

        Linear heads: in training mode with both tasks' labels, the heads run only at labelled positions (a
        word's first sub-token): the loss needs nothing else, and it saves the heads' dropout and matmuls on the
        other tokens. The returned logits are then zero at unlabelled positions. In eval mode, or without
        labels, every position gets its logits. A contextual head always runs over the words' first sub-tokens
        (``word_starts``, or the labelled positions when not given) with their boxes (``bbox``, (B, T, 4));
        its logits are zero elsewhere.
        """
        if self.head_settings.kind == "contextual":
            return self._contextual_heads(states, field_labels, quantity_labels, bbox, word_starts)
        lead = (slice(None),) * (states.dim() - 3)  # the stacked layers of a mix
        if self.training and field_labels is not None and quantity_labels is not None:
            positions = ((field_labels != IGNORE_INDEX) | (quantity_labels != IGNORE_INDEX)).nonzero(as_tuple=True)
            labelled = states[lead + positions]  # (L?, N, H)
            field_scores = self.field_head(labelled)  # (N, F)
            quantity_scores = self.quantity_head(labelled)  # (N, 2)
            task_losses = {"fields": _token_cross_entropy(field_scores, field_labels[positions], self._smoothing),
                           "quantity": _token_cross_entropy(quantity_scores, quantity_labels[positions],
                                                               self._smoothing)}
            shape = states.shape[-3:-1]
            field_logits = field_scores.new_zeros((*shape, self.num_fields)).index_put(positions, field_scores)
            quantity_logits = quantity_scores.new_zeros((*shape, 2)).index_put(positions, quantity_scores)
        else:
            field_logits = self.field_head(states)  # (B, T, F)
            quantity_logits = self.quantity_head(states)  # (B, T, 2)
            task_losses = self._losses(field_logits, quantity_logits, field_labels, quantity_labels, self._smoothing)
        loss = self.combine_losses(task_losses) if task_losses else None
        return MultiTaskOutput(field_logits=field_logits, quantity_logits=quantity_logits, loss=loss,
                               task_losses=task_losses)

    def _contextual_heads(self, states, field_labels, quantity_labels, bbox, word_starts) -> MultiTaskOutput:
        if word_starts is None:
            given = [labels != IGNORE_INDEX for labels in (field_labels, quantity_labels) if labels is not None]
            if not given:
                raise ValueError("a contextual head needs word_starts (heads.word_starts(windows)) or labels to find "
                                 "the words")
            word_starts = given[0] if len(given) == 1 else given[0] | given[1]
        if bbox is None:
            if self.head_settings.boxes:
                raise ValueError("this contextual head reads the words' boxes: pass bbox")
            bbox = torch.zeros((*word_starts.shape, 4), dtype=torch.long, device=word_starts.device)
        packed, (words, boxes), order = gather_words(word_starts.bool(), states, bbox)
        field_scores = self.field_head(words, boxes, packed)  # (B, W, F)
        quantity_scores = self.quantity_head(words, boxes, packed)  # (B, W, 2)
        length = word_starts.shape[1]
        field_logits = scatter_words(field_scores, order, packed, length)
        quantity_logits = scatter_words(quantity_scores, order, packed, length)
        task_losses = {}
        for task, scores, labels in (("fields", field_scores, field_labels),
                                     ("quantity", quantity_scores, quantity_labels)):
            if labels is not None:
                at_words = torch.where(packed, torch.gather(labels, 1, order), torch.full_like(order, IGNORE_INDEX))
                task_losses[task] = _token_cross_entropy(scores, at_words, self._smoothing)
        loss = self.combine_losses(task_losses) if task_losses else None
        return MultiTaskOutput(field_logits=field_logits, quantity_logits=quantity_logits, loss=loss,
                               task_losses=task_losses)

    @staticmethod
    def _losses(field_logits, quantity_logits, field_labels, quantity_labels,
                smoothing: float) -> dict[str, torch.Tensor]:
        task_losses = {}
        if field_labels is not None:
            task_losses["fields"] = _token_cross_entropy(field_logits, field_labels, smoothing)
        if quantity_labels is not None:
            task_losses["quantity"] = _token_cross_entropy(quantity_logits, quantity_labels, smoothing)
        return task_losses

    def forward(self, input_ids: torch.Tensor | None, bbox: torch.Tensor | None, attention_mask: torch.Tensor,
                field_labels: torch.Tensor | None = None, quantity_labels: torch.Tensor | None = None,
                hidden: torch.Tensor | None = None, start_layer: int = 0,
                word_starts: torch.Tensor | None = None) -> MultiTaskOutput:
        """The whole model; or, given ``hidden`` (cached: the output of layer ``start_layer - 1``, (B, T, H), or
        every output up to it, (start_layer + 1, B, T, H), for a layer mix), only the layers from ``start_layer``
        up. The second form goes through ``forward`` so that wrappers that hook it (DistributedDataParallel under
        Accelerate) see cached batches too. ``bbox`` and ``word_starts`` also feed a contextual head."""
        if hidden is None:
            if input_ids is None or bbox is None:
                raise ValueError("forward needs input_ids and bbox, or cached hidden states")
            if start_layer != 0:
                raise ValueError("start_layer only applies to cached hidden states")
            hidden = self.embed(input_ids, bbox)
            if self.reads_all_layers:
                hidden = hidden[None]
        states = self.top_states(hidden, attention_mask, start_layer)
        return self.heads(states, field_labels, quantity_labels, bbox, word_starts)

    def forward_from(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int,
                     field_labels: torch.Tensor | None = None, quantity_labels: torch.Tensor | None = None,
                     bbox: torch.Tensor | None = None, word_starts: torch.Tensor | None = None) -> MultiTaskOutput:
        """The rest of the forward pass from the output of layer ``start - 1`` (``start=0``: the embeddings)."""
        return self(None, bbox, attention_mask, field_labels, quantity_labels, hidden=hidden, start_layer=start,
                    word_starts=word_starts)

    # --- losses ------------------------------------------------------------------------------------------

    def combine_losses(self, task_losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """Weighted sum of the given tasks' losses (fixed weights or learned uncertainty)."""
        total = None
        for task, loss in task_losses.items():
            if self.loss_weighting == "uncertainty":
                s = self.log_variance(task)
                term = torch.exp(-s) * loss + s
            else:
                term = self.task_weights[TASKS.index(task)] * loss
            total = term if total is None else total + term
        return total

    def log_variance(self, task: str) -> torch.Tensor:
        head = self.field_head if task == "fields" else self.quantity_head
        return head.log_variance

    def task_weight_values(self) -> dict[str, float]:
        """The current weight on each task's loss (exp(-s) under uncertainty weighting), for display."""
        if self.loss_weighting == "uncertainty":
            return {task: float(torch.exp(-self.log_variance(task)).item()) for task in TASKS}
        return dict(zip(TASKS, self.task_weights))


def _token_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy over labelled tokens (against targets smoothed by ``smoothing``); 0 (still attached to
    the graph) when a batch has none."""
    flat_labels = labels.reshape(-1)
    keep = flat_labels != IGNORE_INDEX
    if not bool(keep.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1])[keep], flat_labels[keep], label_smoothing=smoothing)


def build_model(backbone, num_fields: int, **kwargs) -> MultiTaskModel:
    """A MultiTaskModel over a ``backbones.Backbone`` (its ``uses_layout`` carried over)."""
    return MultiTaskModel(backbone.model, num_fields, uses_layout=backbone.uses_layout, **kwargs)
