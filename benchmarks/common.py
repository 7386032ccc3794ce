"""What every benchmark shares: a figure row, medians, the machine, the receipts, and timing hooks on the trainer."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RECEIPT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@dataclass(frozen=True)
class Figure:
    """One row of the table. ``met`` is None when the figure has no target or was not measured."""

    name: str
    value: str  # as shown, e.g. "63.2×" or "1.41 GB"
    target: str  # e.g. "≥ 50×"; "" when there is none
    met: bool | None
    detail: str = ""  # how it was measured: sizes, runs, the raw medians

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "—"}[self.met]


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs: ``full()`` for the real table, ``quick()`` for the CI smoke run."""

    quick: bool
    backbone: str
    train_docs: int  # the frozen-backbone cache figure
    compare_docs: int  # phase 2 vs full, ours vs HF (every epoch of both sides runs the full backward)
    batch_size: int
    repeats: int  # runs per side; each figure is the median over them
    timed_epochs: int  # epochs measured after the first (discarded) one, per run
    ocr_receipts: int
    memory_docs: int

    @classmethod
    def full(cls, repeats: int = 3) -> "Sizes":
        return cls(quick=False, backbone="layout-minilm", train_docs=96, compare_docs=48, batch_size=8,
                   repeats=repeats, timed_epochs=1, ocr_receipts=50, memory_docs=64)

    @classmethod
    def quick_sizes(cls) -> "Sizes":
        return cls(quick=True, backbone="tiny", train_docs=8, compare_docs=8, batch_size=4, repeats=1,
                   timed_epochs=1, ocr_receipts=2, memory_docs=4)


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no measurements")
    return float(statistics.median(values))


def ratio_figure(name: str, slow: float, fast: float, target: float, detail: str) -> Figure:
    """``slow / fast`` against a ``≥ target`` speed-up."""
    speedup = slow / fast if fast > 0 else float("inf")
    return Figure(name, f"{speedup:.1f}×", f"≥ {target:g}×", speedup >= target, detail)


def cord_documents(count: int, split: str = "train"):
    """The first ``count`` real CORD receipts (words + boxes + labels) from ../shared/data."""
    from receipt_core.datasets import load_dataset

    folder = SHARED_DATA / "cord" / split
    if not folder.is_dir():
        raise FileNotFoundError(f"CORD receipts not found at {folder}; set RECEIPT_SHARED_DATA to the shared data "
                                "folder (the one holding cord/ and wildreceipt/)")
    documents = load_dataset(folder, "cord").documents
    return list(documents[:count])


def machine() -> dict[str, str]:
    """CPU model, cores, RAM, Python and library versions, load average."""
    import psutil
    import torch
    import transformers

    from receipt_core.training.threads import physical_cores

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": f"{physical_cores()} physical / {os.cpu_count()} logical",
            "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB", "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__,
            "torch threads": str(torch.get_num_threads()), "os": platform.platform()}


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


class EpochTimer:
    """Wraps a TrainingTask for the real ``Trainer``: times each epoch from the moment the loop asks for its
    batches (collation included) to ``on_epoch_end`` (before evaluation and checkpointing), and each step.

    ``save`` is replaced by a no-op: checkpoints are not what these benchmarks measure.
    """

    def __init__(self, task) -> None:
        self.task = task
        self.epoch_starts: list[float] = []
        self.epoch_ends: list[float] = []
        self.step_ends: list[list[float]] = []

    def __getattr__(self, name):
        return getattr(self.task, name)

    def train_batches(self, epoch: int):
        self.epoch_starts.append(time.perf_counter())
        self.step_ends.append([])
        return self.task.train_batches(epoch)

    def save(self, state) -> str:
        return "(benchmark: not saved)"

    @property
    def epoch_seconds(self) -> list[float]:
        return [end - start for start, end in zip(self.epoch_starts, self.epoch_ends)]

    def callback(self):
        from receipt_core.training.state import Callback

        timer = self

        class _Hook(Callback):
            def on_step_end(self, state, control, event) -> None:
                timer.step_ends[-1].append(time.perf_counter())

            def on_epoch_end(self, state, control) -> None:
                timer.epoch_ends.append(time.perf_counter())

        return _Hook()


def train_epochs(config, documents) -> EpochTimer:
    """Run the real ReceiptTask under the real Trainer for ``config.epochs`` epochs; returns the timings."""
    import tempfile

    from receipt_core.training.loop import Trainer
    from receipt_core.training.receipt_task import build_task

    with tempfile.TemporaryDirectory(prefix="bench-run-") as run_dir:
        task, _ = build_task(config, documents, [], Path(run_dir))
        timer = EpochTimer(task)
        try:
            Trainer(timer, config, emit=lambda event: None, callbacks=[timer.callback()]).train()
        finally:
            task.close()
    return timer
