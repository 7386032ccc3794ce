"""Peak memory (RSS) of a training run: ``python -m receipt_core train`` with the default backbone, full
fine-tuning (every group trainable: the most optimizer state), evaluation included, in a fresh subprocess
that reports its own ``ru_maxrss`` when the command returns."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO_ROOT, Figure, Sizes, cord_documents

_CHILD = """
import json, resource, sys
from receipt_core.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"exit": code, "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

LIMIT_GB = 2.5


def peak_training_rss(sizes: Sizes) -> Figure:
    from receipt_core.datasets.native import save_native

    train = cord_documents(sizes.memory_docs)
    evaluation = cord_documents(max(2, sizes.memory_docs // 4), split="dev")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        root = Path(folder)
        save_native(train, root / "train")
        save_native(evaluation, root / "eval")
        command = [sys.executable, "-c", _CHILD, "train", "--train", str(root / "train"), "--eval",
                   str(root / "eval"), "--backbone", sizes.backbone, "--scenario", "full", "--epochs", "1",
                   "--batch-size", str(sizes.batch_size), "--out", str(root / "run")]
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the training subprocess failed (exit {done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(lines[-1])
    if report["exit"] != 0:
        raise RuntimeError(f"train exited with {report['exit']}: {done.stderr[-2000:]}")
    gigabytes = report["max_rss_kib"] * 1024 / 1e9
    return Figure(f"Peak RSS of training ({sizes.backbone}, full fine-tuning)", f"{gigabytes:.2f} GB",
                  f"≤ {LIMIT_GB} GB", gigabytes <= LIMIT_GB,
                  f"`python -m receipt_core train` in a subprocess, {len(train)} CORD train + {len(evaluation)} "
                  f"dev receipts, 1 epoch, batch {sizes.batch_size}, evaluation and checkpoint included; "
                  "ru_maxrss of that process")
