"""Freezing made cheap: frozen-backbone epochs and phase-2 steps with the frozen-prefix cache, through the real
``ReceiptTask`` under the real ``Trainer`` (events, NaN checks, gradient clipping, optimizer included).

- Scenario 2 (``freeze-backbone``): epoch time after the first epoch, cache on vs ``cache_frozen=False``
  (which runs the frozen encoder every step, as a framework without a cache does).
- Phased, phase 2 (embeddings + all but the top 2 layers frozen): mean step time of an epoch after the first
  vs full fine-tuning on the same batches (same seed, so the same length-grouped batch order).
- Attention dropout: full fine-tuning's mean step time with the backbone's own attention dropout (MiniLM's 0.1)
  vs ``attention_dropout=0`` (PyTorch's fused attention), same batches. No target: runs keep the backbone's rate,
  which scored higher on WildReceipt photos (README); this says what the faster setting buys.

- Precision: full fine-tuning's mean step time in float32 vs bfloat16 autocast (``precision``), same batches;
  on a machine without hardware bfloat16 the figure says so instead of timing an emulation.

Runs of the two sides alternate, so a change in the machine's load hits both.
"""

from __future__ import annotations

from common import Figure, Sizes, cord_documents, median, ratio_figure, train_epochs


def _config(sizes: Sizes, **settings):
    from receipt_core.training.config import TrainConfig

    return TrainConfig(backbone=sizes.backbone, batch_size=sizes.batch_size, lr=1e-4, seed=0, **settings)


def frozen_backbone_epochs(sizes: Sizes) -> Figure:
    documents = cord_documents(sizes.train_docs)
    epochs = 1 + sizes.timed_epochs
    cached, uncached = [], []
    first_cached = []
    for _ in range(sizes.repeats):
        for use_cache, into in ((True, cached), (False, uncached)):
            timer = train_epochs(_config(sizes, scenario="freeze-backbone", epochs=epochs, cache_frozen=use_cache),
                                 documents)
            seconds = timer.epoch_seconds
            into.extend(seconds[1:])  # the first epoch builds the cache (or warms up): not counted
            if use_cache:
                first_cached.append(seconds[0])
    slow, fast = median(uncached), median(cached)
    detail = (f"{sizes.backbone}, {len(documents)} CORD receipts, batch {sizes.batch_size}; median epoch "
              f"{slow * 1000:.0f} ms uncached vs {fast * 1000:.1f} ms cached over {len(cached)} epochs each "
              f"(epochs 2–{epochs} of {sizes.repeats} runs per side); the first cached epoch, which fills the "
              f"cache, took {median(first_cached) * 1000:.0f} ms")
    return ratio_figure("Scenario 2 (freeze-backbone) epoch after the first: cached vs uncached", slow, fast, 50,
                        detail)


def phase_two_steps(sizes: Sizes) -> Figure:
    from receipt_core.model.backbones import load_backbone

    documents = cord_documents(sizes.compare_docs)
    layers = load_backbone(sizes.backbone).num_layers
    top_k = min(2, layers)
    frozen = ("embeddings.text", "embeddings.layout", *(f"encoder.{i}" for i in range(layers - top_k)))
    epochs = 1 + sizes.timed_epochs
    full_steps, phased_steps = [], []
    for _ in range(sizes.repeats):
        for settings, into in ((dict(scenario="full"), full_steps),
                               (dict(scenario="full", freeze=frozen), phased_steps)):
            timer = train_epochs(_config(sizes, epochs=epochs, **settings), documents)
            for seconds, ends in zip(timer.epoch_seconds[1:], timer.step_ends[1:]):
                into.append(seconds / len(ends))  # mean step time of that epoch
    slow, fast = median(full_steps), median(phased_steps)
    detail = (f"{sizes.backbone} ({layers} layers), top {top_k} layers + heads trainable (phased phase 2 under a "
              f"budget that ends its plan early) with the prefix cache, {len(documents)} CORD receipts, batch "
              f"{sizes.batch_size}; median step {slow * 1000:.0f} ms full vs {fast * 1000:.0f} ms phase 2 ({len(full_steps)} epochs each)")
    return ratio_figure("Phased, phase 2 (top 2 layers trainable): step time vs full fine-tuning", slow, fast, 2.5,
                        detail)


def attention_dropout_steps(sizes: Sizes) -> Figure:
    documents = cord_documents(sizes.compare_docs)
    epochs = 1 + sizes.timed_epochs
    own, none = [], []
    for _ in range(sizes.repeats):
        for settings, into in ((dict(), own), (dict(attention_dropout=0.0), none)):
            timer = train_epochs(_config(sizes, scenario="full", epochs=epochs, **settings), documents)
            for seconds, ends in zip(timer.epoch_seconds[1:], timer.step_ends[1:]):
                into.append(seconds / len(ends))  # mean step time of that epoch
    slow, fast = median(own), median(none)
    detail = (f"{sizes.backbone}, full fine-tuning, {len(documents)} CORD receipts (short windows: the attention's "
              f"share of a step grows with the window's length), batch {sizes.batch_size}; median step "
              f"{slow * 1000:.0f} ms with the backbone's own attention dropout vs {fast * 1000:.0f} ms with "
              f"--attention-dropout 0 ({len(own)} epochs each)")
    return Figure("Full fine-tuning step: the backbone's attention dropout vs --attention-dropout 0",
                  f"{slow / fast:.2f}×" if fast > 0 else "—", "", None, detail)


def precision_steps(sizes: Sizes) -> Figure:
    import torch

    from receipt_core.training.precision import fast_bf16

    title = "Full fine-tuning step: fp32 (the default) vs --precision bf16 (bfloat16 autocast)"
    if not fast_bf16(torch.device("cpu")):
        return Figure(title, "—", "", None, "this CPU has neither AVX-512 BF16 nor AMX: bf16 would be emulated, "
                                            "slower than fp32, so it is not timed")
    documents = cord_documents(sizes.compare_docs)
    epochs = 1 + sizes.timed_epochs
    fp32, bf16 = [], []
    for _ in range(sizes.repeats):
        for precision, into in (("fp32", fp32), ("bf16", bf16)):
            timer = train_epochs(_config(sizes, scenario="full", epochs=epochs, precision=precision), documents)
            for seconds, ends in zip(timer.epoch_seconds[1:], timer.step_ends[1:]):
                into.append(seconds / len(ends))  # mean step time of that epoch
    slow, fast = median(fp32), median(bf16)
    detail = (f"{sizes.backbone}, full fine-tuning, {len(documents)} CORD receipts, batch {sizes.batch_size}; median "
              f"step {slow * 1000:.0f} ms in fp32 vs {fast * 1000:.0f} ms in bf16 ({len(fp32)} epochs each)")
    return Figure(title, f"{slow / fast:.2f}×" if fast > 0 else "—", "", None, detail)
