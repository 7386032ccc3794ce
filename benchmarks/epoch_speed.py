"""One epoch of scenario 2 as a user times it: ``train --scenario freeze-backbone`` from the command line, whole
epochs (training pass, evaluation, checkpoint) measured from outside, with the frozen-prefix cache and with
``--no-feature-cache`` (issue 16).

Each side runs ``train`` twice, for ``short`` and ``long`` epochs, on the same receipts as train and eval set;
(time of the long run − time of the short run) / (long − short) is the cost of one epoch, with the start-up
(imports, backbone, encoding, the cache fill) cancelled out. Runs of the two sides alternate, so a change in the
machine's load hits both.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO_ROOT, SHARED_DATA, Figure, Sizes, median, ratio_figure

SHORT, LONG = 2, 12
QUICK_RECEIPTS = 12  # the smoke run's receipts: enough to run every path, not to time anything


def _train_seconds(data: Path, epochs: int, cache: bool, sizes: Sizes, out: Path) -> float:
    command = [sys.executable, "-m", "receipt_core", "train", "--train", str(data), "--eval", str(data),
               "--format", "cord", "--backbone", sizes.backbone, "--scenario", "freeze-backbone",
               "--batch-size", "8", "--epochs", str(epochs), "--out", str(out)]
    if not cache:
        command.append("--no-feature-cache")
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def _first_receipts(folder: Path, count: int, into: Path) -> Path:
    """A folder holding copies of the first ``count`` CORD JSON files of ``folder``."""
    into.mkdir()
    for path in sorted(folder.glob("*.json"))[:count]:
        shutil.copy(path, into / path.name)
    return into


def epoch_cost(sizes: Sizes) -> Figure:
    data = SHARED_DATA / "cord" / "dev" / "json"
    short, long = (1, 3) if sizes.quick else (SHORT, LONG)
    costs: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="epoch-speed-") as folder:
        if sizes.quick:
            data = _first_receipts(data, QUICK_RECEIPTS, Path(folder) / "receipts")
        for repeat in range(sizes.repeats):
            for cache in (True, False):
                runs = [_train_seconds(data, epochs, cache, sizes, Path(folder) / f"{cache}-{repeat}-{epochs}")
                        for epochs in (short, long)]
                costs[cache].append((runs[1] - runs[0]) / (long - short))
    slow, fast = median(costs[False]), median(costs[True])
    detail = (f"`train --scenario freeze-backbone --batch-size 8 --backbone {sizes.backbone}` on the "
              f"{QUICK_RECEIPTS if sizes.quick else 100} first CORD dev receipts as train and eval set; one epoch = (time of {long} epochs − time of {short}) / {long - short}: "
              f"{slow:.2f} s with --no-feature-cache vs {fast:.3f} s with the cache (median of {sizes.repeats} per "
              "side; training pass, evaluation and checkpoint included)")
    return ratio_figure("Scenario 2 epoch as a user times it (train + evaluate + save): cached vs uncached", slow,
                        fast, 20, detail)
