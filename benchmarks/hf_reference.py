"""Full fine-tuning throughput against the reference most people would use: ``transformers``'
``LayoutLMForTokenClassification`` under the Hugging Face ``Trainer`` on the CPU.

Same model size (the layout-minilm weights loaded into both), same receipts and windows (our encoder's
tokens, boxes and field labels), same batch size, learning rate, weight decay, gradient clipping and thread
count. The reference runs the Trainer's defaults with a collator that pads each batch to its own longest
window (kinder than the usual padding to 512: the same sequence lengths as ours); a second reference row adds
``group_by_length=True``, the Trainer's own length grouping, so our length-grouped batches are no longer an
advantage. What differs then is ours: fused SDPA attention (LayoutLM declares only eager attention), no
pooler, heads and losses only at labelled positions, a lighter loop. Ours also trains a second (quantity)
head, which the reference does not have.

Throughput is documents per second over an epoch after the first (batch collation included, evaluation and
checkpoints excluded), both sides in this process, runs alternating.
"""

from __future__ import annotations

import tempfile
import time

import torch

from common import Figure, Sizes, cord_documents, median, train_epochs


def _reference_model(backbone, num_labels: int):
    from transformers import LayoutLMConfig, LayoutLMForTokenClassification

    settings = {k: v for k, v in backbone.model.config.to_dict().items() if k not in ("id2label", "label2id")}
    config = LayoutLMConfig(**settings, num_labels=num_labels)
    config._attn_implementation = "eager"  # what LayoutLM gives a user (it declares no SDPA support)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LayoutLMForTokenClassification(config)
    state = {k: v for k, v in backbone.model.state_dict().items() if not k.startswith("pooler.")}
    missing, unexpected = model.layoutlm.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise RuntimeError(f"weights do not map onto the reference: missing {missing}, unexpected {unexpected}")
    return model


class _Padding:
    """Pads a batch to its longest window (input_ids, bbox, attention_mask, labels = field labels)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, features):
        length = max(len(f["input_ids"]) for f in features)
        batch = {"input_ids": torch.full((len(features), length), self.pad_token_id, dtype=torch.long),
                 "bbox": torch.zeros((len(features), length, 4), dtype=torch.long),
                 "attention_mask": torch.zeros((len(features), length), dtype=torch.long),
                 "labels": torch.full((len(features), length), -100, dtype=torch.long)}
        for row, f in enumerate(features):
            n = len(f["input_ids"])
            batch["input_ids"][row, :n] = torch.tensor(f["input_ids"])
            batch["bbox"][row, :n] = torch.tensor(f["bbox"])
            batch["attention_mask"][row, :n] = 1
            batch["labels"][row, :n] = torch.tensor(f["labels"])
        return batch


def _reference_epochs(model, windows, pad_token_id: int, sizes: Sizes, epochs: int,
                      group_by_length: bool) -> list[float]:
    """Epoch seconds of the HF Trainer (on_epoch_begin → on_epoch_end)."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    marks: list[tuple[str, float]] = []

    class _Clock(TrainerCallback):
        def on_epoch_begin(self, args, state, control, **kwargs):
            marks.append(("begin", time.perf_counter()))

        def on_epoch_end(self, args, state, control, **kwargs):
            marks.append(("end", time.perf_counter()))

    dataset = [{"input_ids": list(w.input_ids), "bbox": [list(b) for b in w.bbox], "labels": list(w.field_labels)}
               for w in windows]
    with tempfile.TemporaryDirectory(prefix="bench-hf-") as out:
        args = TrainingArguments(output_dir=out, use_cpu=True, report_to=[], per_device_train_batch_size=sizes.batch_size,
                                 num_train_epochs=epochs, learning_rate=1e-4, weight_decay=0.01, max_grad_norm=1.0,
                                 group_by_length=group_by_length, save_strategy="no", eval_strategy="no", logging_strategy="no",
                                 disable_tqdm=True, dataloader_num_workers=0, seed=0)
        threads = torch.get_num_threads()
        Trainer(model=model, args=args, train_dataset=dataset, data_collator=_Padding(pad_token_id),
                callbacks=[_Clock()]).train()
        torch.set_num_threads(threads)  # in case the Trainer touched it; both sides run on the same threads
    begins = [t for kind, t in marks if kind == "begin"]
    ends = [t for kind, t in marks if kind == "end"]
    return [end - begin for begin, end in zip(begins, ends)]


def throughput_vs_hf(sizes: Sizes) -> list[Figure]:
    from receipt_core.model.backbones import load_backbone
    from receipt_core.model.encoding import DocumentEncoder
    from receipt_core.data.schema import DEFAULT_SCHEMA
    from receipt_core.training.config import TrainConfig

    documents = cord_documents(sizes.compare_docs)
    backbone = load_backbone(sizes.backbone)
    encoder = DocumentEncoder(backbone.tokenizer, DEFAULT_SCHEMA, max_length=512, stride=128)
    windows = encoder.encode_many(documents)
    epochs = 1 + sizes.timed_epochs
    config = TrainConfig(backbone=sizes.backbone, scenario="full", epochs=epochs, batch_size=sizes.batch_size,
                         lr=1e-4, weight_decay=0.01, grad_clip=1.0, seed=0)
    ours, plain, grouped = [], [], []
    for _ in range(sizes.repeats):
        ours.extend(len(documents) / s for s in train_epochs(config, documents).epoch_seconds[1:])
        for group_by_length, into in ((False, plain), (True, grouped)):
            model = _reference_model(load_backbone(sizes.backbone), DEFAULT_SCHEMA.num_fields)
            into.extend(len(documents) / s for s in
                        _reference_epochs(model, windows, encoder.pad_token_id, sizes, epochs, group_by_length)[1:])
    ours_rate = median(ours)
    setting = (f"{sizes.backbone}, {len(documents)} CORD receipts ({len(windows)} windows), batch {sizes.batch_size}, "
               f"{torch.get_num_threads()} threads, {len(ours)} epochs per side (after a first one per run)")
    figures = []
    for label, rates, target in (("Trainer defaults, batches padded to their longest window", plain,
                                  "≥ 1.0× (aim 1.3×)"),
                                 ("same + group_by_length=True", grouped, "")):
        rate = median(rates)
        speedup = ours_rate / rate
        figures.append(Figure(f"Full fine-tuning throughput vs HF Trainer + LayoutLMForTokenClassification "
                              f"({label})", f"{speedup:.2f}× ({ours_rate:.1f} vs {rate:.1f} docs/s)", target,
                              speedup >= 1.0 if target else None,
                              f"{setting}; median {ours_rate:.1f} docs/s ours vs {rate:.1f} docs/s reference"))
    return figures
