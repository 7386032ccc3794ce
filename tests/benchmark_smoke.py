"""What the benchmark smoke tests share: ``python benchmarks/run.py --quick --only NAMES`` in a subprocess, its
report checked for each expected figure. The benchmarks are split into two groups, each run by its own test module,
so that the two pytest workers of ``make test`` run them side by side rather than one after the other."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# benchmark name (benchmarks/run.py) → the figures its quick run must report
TRAINING_GROUP = {
    "cache": ("Scenario 2 (freeze-backbone) epoch after the first: cached vs uncached",),
    "epoch": ("Scenario 2 epoch as a user times it (train + evaluate + save): cached vs uncached",),
    "quality": tuple(f"Start → CORD dev field micro-F1 ≥ 0.00: {scenario}"
                     for scenario in ("freeze-backbone", "phased", "full")),
    "phased": ("Phased, phase 2 (top 2 layers trainable): step time vs full fine-tuning",),
    "attention": ("Full fine-tuning step: the backbone's attention dropout vs --attention-dropout 0",),
    "precision": ("Full fine-tuning step: fp32 (the default) vs --precision bf16 (bfloat16 autocast)",),
    "hf": ("Full fine-tuning throughput vs HF Trainer + LayoutLMForTokenClassification (Trainer defaults",
           "Full fine-tuning throughput vs HF Trainer + LayoutLMForTokenClassification (same + group_by_length"),
    "memory": ("Peak RSS of training (tiny, full fine-tuning)",),
}
BROWSER_GROUP = {
    "ocr": ("OCR of 2 receipts: all cores vs one process", "Cached re-OCR per receipt"),
    "dashboard": ("Dashboard: click Start → first loss point on the chart",
                  "Dashboard: page response to a click while training runs"),
    "watched": ("Dashboard vs CLI: one run watched live in the browser, time per run",),
}


def benchmark_names() -> tuple[str, ...]:
    """``BENCHMARKS`` of benchmarks/run.py, read from its source (importing it needs its folder on the path)."""
    tree = ast.parse((REPO / "benchmarks" / "run.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "BENCHMARKS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("benchmarks/run.py defines no BENCHMARKS")


def check_quick_run(tmp_path: Path, group: dict[str, tuple[str, ...]]) -> None:
    """Run the group's benchmarks on quick sizes; every expected figure is in the report once, measured, unjudged."""
    report = tmp_path / "BENCHMARKS.md"
    done = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--only", *group, "--out", str(report)],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    assert "python benchmarks/run.py --quick" in text
    for key in ("cpu:", "cores:", "ram:", "python:", "torch:", "load average"):
        assert key in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    expected = [name for names in group.values() for name in names]
    assert len(rows) == len(expected), rows
    for name in expected:
        matching = [row for row in rows if row.startswith(f"| {name}")]
        assert len(matching) == 1, (name, rows)
        cells = [cell.strip() for cell in matching[0].strip("|").split("|")]
        assert cells[1] not in ("failed", "not measured", ""), matching[0]
        assert cells[3] == "—"  # quick runs judge no target
    assert not (REPO / "BENCHMARKS.md").exists() or "--quick" not in (REPO / "BENCHMARKS.md").read_text()
