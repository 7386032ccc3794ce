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
that ``backbones.load_backbone(path)`` (``--backbone DIR``) loads like any local checkpoint. Pre-training is a
task of the one loop (:class:`PretrainTask`), so it gets the loop's budget, schedule, NaN guard, pause/stop and
events, and the dashboard and the CLI watch it like any run.

Nothing here needs labels: any document set serves (generated receipts, the words of CORD or WildReceipt).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.document import Document
from ..data.files import with_user_umask
from ..model.backbones import load_backbone
from ..model.encoding import DocumentEncoder, collate
from ..model.masked_words import MaskedWordHead, mask_tokens
from .events import EvalEvent, Event, FinishedEvent
from .config import PretrainConfig
from .loop import Trainer
from .state import TrainerState
from .task import StepOutput, WholeModelTask

PRETRAIN_INFO = "pretrain.json"


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
    finished: str  # "completed", "time budget" or "stopped"


class _Pretraining(nn.Module):
    """The backbone and its masked-word head as one module, so the loop sees one model."""

    def __init__(self, backbone: nn.Module, head: MaskedWordHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head


class PretrainTask(WholeModelTask):
    """Layout pre-training's side of the loop: masked batches, the masked-word loss, its saves (the backbone only)."""

    phase_reason = "layout pre-training: masked words over boxes"

    def __init__(self, config: PretrainConfig, documents: Sequence[Document], out_dir: Path) -> None:
        out_dir = Path(out_dir)
        if not documents:
            raise ValueError("layout pre-training needs documents; give it generated receipts or a dataset")
        if (out_dir / "config.json").exists():
            raise ValueError(f"{out_dir} already holds a checkpoint; choose an empty output folder")
        self.config = config
        self.out_dir = out_dir
        self.documents = len(documents)
        backbone = load_backbone(config.backbone, seed=config.seed, max_length=config.max_length)
        if not backbone.uses_layout:
            raise ValueError(f"backbone {config.backbone!r} reads no boxes; layout pre-training needs a layout "
                             "backbone")
        self.tokenizer, self.backbone = backbone.tokenizer, backbone.model
        self.encoder = DocumentEncoder(self.tokenizer, max_length=config.max_length, uses_layout=True,
                                       boxes=config.boxes)
        self.windows = self.encoder.encode_many(documents)
        self.special = torch.tensor(sorted(set(self.tokenizer.all_special_ids)))
        head = MaskedWordHead(self.backbone.embeddings.word_embeddings, backbone.hidden_size,
                              self.backbone.config.layer_norm_eps)
        self.model = _Pretraining(self.backbone, head)
        parameters = [*self.backbone.parameters(),
                      *(p for name, p in head.named_parameters() if not name.startswith("word_"))]
        self.optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.losses: list[float] = []
        self.hits: list[tuple[int, int]] = []  # (masked tokens predicted exactly, masked tokens) per step

    def counted_module(self) -> nn.Module:
        return self.backbone

    def training_step(self, batch: tuple[int, ...]) -> StepOutput:
        self.model.train()
        tensors = collate([self.windows[i] for i in batch], self.encoder.pad_token_id)
        maskable = (tensors["attention_mask"] == 1) & ~torch.isin(tensors["input_ids"], self.special)
        inputs, labels = mask_tokens(tensors["input_ids"], maskable, self.config.mask_probability,
                                     self.tokenizer.mask_token_id, self.tokenizer.vocab_size, self.generator)
        hidden = self.backbone(input_ids=inputs, bbox=tensors["bbox"],
                               attention_mask=tensors["attention_mask"]).last_hidden_state
        positions = labels != -100
        logits = self.model.head(hidden[positions])  # the vocabulary projection only where a word was hidden
        targets = labels[positions]
        loss = F.cross_entropy(logits, targets)
        self.losses.append(float(loss.detach()))
        self.hits.append((int((logits.detach().argmax(-1) == targets).sum()), int(targets.numel())))
        return StepOutput(loss=loss, task_losses={"masked_words": loss}, items=len(batch))

    def recent(self) -> tuple[float | None, float | None]:
        """Mean masked-word loss and accuracy over the last tenth of the steps so far."""
        if not self.losses:
            return None, None
        tenth = max(1, len(self.losses) // 10)
        last_hits = self.hits[-tenth:]
        return (sum(self.losses[-tenth:]) / tenth,
                sum(h for h, _ in last_hits) / max(1, sum(n for _, n in last_hits)))

    def evaluate(self, state: TrainerState) -> tuple[EvalEvent, list[Event]]:
        loss, accuracy = self.recent()
        metrics = {} if loss is None else {"masked_words.loss": loss, "masked_words.accuracy": accuracy}
        return EvalEvent(step=state.global_step, epoch=state.epoch, val_loss=None, task_val_losses={},
                         metrics=metrics, phase=state.phase), []

    def save(self, state: TrainerState) -> str:
        """The backbone alone, as a transformers LayoutLM directory (the head is dropped)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # with a pooler, as a LayoutLM checkpoint has one (the backbone's was dropped: unused): transformers said of
        # a folder without it "Some weights … are newly initialized … You should probably TRAIN this model" at each
        # fine-tuning (walkthrough 52), and other tools expect it
        from transformers.models.layoutlm.modeling_layoutlm import LayoutLMPooler

        pooler = {f"pooler.{key}": value for key, value in LayoutLMPooler(self.backbone.config).state_dict().items()}
        self.backbone.save_pretrained(str(self.out_dir), safe_serialization=True,
                                      state_dict={**self.backbone.state_dict(), **pooler})
        self.tokenizer.save_pretrained(str(self.out_dir))
        if not (self.out_dir / PRETRAIN_INFO).is_file():  # until result() writes the summary: unfinished
            (self.out_dir / PRETRAIN_INFO).write_text(json.dumps(
                {"format": "receipt-mtl/pretrain", "version": 1, "config": asdict(self.config), "result": None,
                 "unfinished_at_epoch": state.epoch}, indent=2), encoding="utf-8")
        with_user_umask(self.out_dir)  # safetensors writes its weights 0600
        return str(self.out_dir)

    def result(self, finished: FinishedEvent, state: TrainerState) -> PretrainResult:
        """The run's summary, also written to ``out_dir/pretrain.json``."""
        if not self.losses:
            raise ValueError("the time budget ended before the first step; give the pre-training more minutes")
        tenth = max(1, len(self.losses) // 10)
        last_loss, accuracy = self.recent()
        epochs = state.epoch + (state.step_in_epoch / state.steps_per_epoch if state.steps_per_epoch else 0.0)
        result = PretrainResult(out_dir=self.out_dir, documents=self.documents, windows=len(self.windows),
                                steps=finished.step, epochs=epochs, train_s=finished.elapsed_s,
                                first_loss=sum(self.losses[:tenth]) / tenth, last_loss=last_loss,
                                masked_accuracy=accuracy, finished=finished.reason)
        info = {"format": "receipt-mtl/pretrain", "version": 1, "config": asdict(self.config),
                "result": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result).items()}}
        (self.out_dir / PRETRAIN_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
        return result


def pretrain_layout(config: PretrainConfig, documents: Sequence[Document], out_dir: Path,
                    on_log: Callable[[str], None] | None = None) -> PretrainResult:
    """Masked-word pre-training of ``config.backbone`` on ``documents`` in this thread; saves the backbone in
    ``out_dir`` after each epoch and at the end. The caller's torch RNG is left untouched."""
    log = on_log or (lambda line: None)

    def report(event: Event) -> None:
        if isinstance(event, EvalEvent) and event.metrics:
            log(f"pretrain epoch {event.epoch}/{config.epochs}: step {event.step}, masked-word loss "
                f"{event.metrics['masked_words.loss']:.3f}, accuracy {event.metrics['masked_words.accuracy']:.3f}")

    with torch.random.fork_rng(devices=[]):
        task = PretrainTask(config, documents, out_dir)
        trainer = Trainer(task, config, emit=report)
        finished = trainer.train()
    return task.result(finished, trainer.state)
