"""Layout pre-training: masked-word prediction over boxes on unlabelled receipts, before fine-tuning.

``layout-minilm`` starts with its 2-D position tables at zero: MiniLM never saw a box, so at the start of
fine-tuning the layout tables learn from a few hundred labelled receipts only. LayoutLM's own answer is its
pre-training task, the masked visual-language model: hide 15 % of the tokens (80 % become ``[MASK]``, 10 % a
random token, 10 % stay) but keep every token's box, and predict the hidden words from their context *and
their position*. A word at the bottom right of a receipt is a total's digits; a word left of a price is an item
name. The same task on receipt text also adapts the word weights to receipts (Indonesian menu words, price
formats), which labelled data alone teaches slowly.

The prediction head is BERT's (dense → GELU → LayerNorm → a decoder tied to the word embeddings), new here
(MiniLM ships none) and dropped afterwards: only the backbone is saved, as a transformers LayoutLM directory
that ``backbones.load_backbone(path)`` (``--backbone DIR``) loads like any local checkpoint.

Nothing here needs labels: any document set serves (generated receipts, the words of CORD or WildReceipt).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..model.backbones import load_backbone
from ..data.document import Document
from ..model.encoding import DocumentEncoder, check_box_mode, collate, length_grouped_batches
from .schedules import LR_SCHEDULES, lr_multiplier

PRETRAIN_INFO = "pretrain.json"


@dataclass(frozen=True)
class PretrainConfig:
    backbone: str = "layout-minilm"
    epochs: int = 10
    max_minutes: float | None = None  # training-time budget; the schedule ends with it
    batch_size: int = 16
    lr: float = 1e-4
    lr_schedule: str = "linear"
    warmup: float = 0.06
    weight_decay: float = 0.01
    mask_probability: float = 0.15
    seed: int = 0
    max_length: int = 512
    boxes: str = "word"  # encoding.BOX_MODES

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must be a finite number above 0, got {self.lr}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max minutes must be above 0 when given, got {self.max_minutes}")
        if not 0 < self.mask_probability < 1:
            raise ValueError(f"mask probability must be in (0, 1), got {self.mask_probability}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"learning-rate schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        check_box_mode(self.boxes)


@dataclass(frozen=True)
class PretrainResult:
    out_dir: Path
    documents: int
    windows: int
    steps: int
    epochs: float
    train_s: float
    first_loss: float  # mean masked-word loss of the first epoch's first tenth …
    last_loss: float  # … and of the last tenth of the steps: the drop is what was learnt
    masked_accuracy: float  # share of masked tokens predicted exactly, over the last tenth of the steps
    finished: str  # "completed" or "time budget"


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


def pretrain_layout(config: PretrainConfig, documents: Sequence[Document], out_dir: Path,
                    on_log: Callable[[str], None] | None = None) -> PretrainResult:
    """Masked-word pre-training of ``config.backbone`` on ``documents``; saves the backbone in ``out_dir``."""
    out_dir = Path(out_dir)
    if not documents:
        raise ValueError("layout pre-training needs documents; give it generated receipts or a dataset")
    if (out_dir / "config.json").exists():
        raise ValueError(f"{out_dir} already holds a checkpoint; choose an empty output folder")
    backbone = load_backbone(config.backbone, seed=config.seed)
    if not backbone.uses_layout:
        raise ValueError(f"backbone {config.backbone!r} reads no boxes; layout pre-training needs a layout backbone")
    tokenizer, model = backbone.tokenizer, backbone.model
    encoder = DocumentEncoder(tokenizer, max_length=config.max_length, uses_layout=True,
                              boxes=config.boxes)
    windows = encoder.encode_many(documents)
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)))
    head = MaskedWordHead(model.embeddings.word_embeddings, backbone.hidden_size, model.config.layer_norm_eps)
    parameters = [*model.parameters(), *(p for name, p in head.named_parameters() if not name.startswith("word_"))]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    budget = None if config.max_minutes is None else config.max_minutes * 60
    log = on_log or (lambda line: None)
    losses: list[float] = []
    hits: list[tuple[int, int]] = []
    step, epochs_done, finished = 0, 0.0, "completed"
    started = time.monotonic()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model.train()
        head.train()
        total_steps = None
        for epoch in range(config.epochs):
            batches = length_grouped_batches(windows, config.batch_size, seed=config.seed * 100_003 + epoch)
            total_steps = total_steps or config.epochs * len(batches)
            for index, indices in enumerate(batches):
                elapsed = time.monotonic() - started
                if budget is not None and elapsed >= budget:
                    finished, epochs_done = "time budget", epoch + index / len(batches)
                    break
                batch = collate([windows[i] for i in indices], encoder.pad_token_id)
                maskable = (batch["attention_mask"] == 1) & ~torch.isin(batch["input_ids"], special)
                inputs, labels = mask_tokens(batch["input_ids"], maskable, config.mask_probability,
                                             tokenizer.mask_token_id, tokenizer.vocab_size, generator)
                hidden = model(input_ids=inputs, bbox=batch["bbox"],
                               attention_mask=batch["attention_mask"]).last_hidden_state
                positions = labels != -100
                logits = head(hidden[positions])  # the vocabulary projection only where a word was hidden
                targets = labels[positions]
                loss = F.cross_entropy(logits, targets)
                if not math.isfinite(float(loss.detach())):
                    raise FloatingPointError(f"the masked-word loss became {float(loss.detach())} at step "
                                             f"{step + 1}; lower the learning rate")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, 1.0)
                progress = max((step + 1) / total_steps, (elapsed / budget) if budget else 0.0)
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * lr_multiplier(config.lr_schedule, progress, config.warmup)
                optimizer.step()
                step += 1
                losses.append(float(loss.detach()))
                hits.append((int((logits.detach().argmax(-1) == targets).sum()), int(targets.numel())))
            else:
                epochs_done = epoch + 1.0
                tenth = max(1, len(losses) // 10)
                log(f"pretrain epoch {epoch + 1}/{config.epochs}: step {step}, masked-word loss "
                    f"{sum(losses[-tenth:]) / tenth:.3f}, {time.monotonic() - started:.0f}s")
                continue
            break
    train_s = time.monotonic() - started
    if not losses:
        raise ValueError("the time budget ended before the first step; give the pre-training more minutes")
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    tenth = max(1, len(losses) // 10)
    last_hits = hits[-tenth:]
    result = PretrainResult(out_dir=out_dir, documents=len(documents), windows=len(windows), steps=step,
                            epochs=epochs_done, train_s=train_s, first_loss=sum(losses[:tenth]) / tenth,
                            last_loss=sum(losses[-tenth:]) / tenth,
                            masked_accuracy=sum(h for h, _ in last_hits) / max(1, sum(n for _, n in last_hits)),
                            finished=finished)
    info = {"format": "receipt-mtl/pretrain", "version": 1, "config": asdict(config),
            "result": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result).items()}}
    (out_dir / PRETRAIN_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return result
