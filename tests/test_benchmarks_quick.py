"""The benchmark suite's smoke run: `python benchmarks/run.py --quick` executes every benchmark on tiny sizes
(real CORD receipts, real Tesseract, a real browser against a live server) and writes its Markdown report.
Nothing here is a timing: quick sizes say nothing about speed, so no target is judged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_shared_data

REPO = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.ocr, pytest.mark.browser]

FIGURES = ("Scenario 2 (freeze-backbone) epoch after the first: cached vs uncached",
           "Phased, phase 2 (top 2 layers trainable): step time vs full fine-tuning",
           "Full fine-tuning throughput vs HF Trainer + LayoutLMForTokenClassification (Trainer defaults",
           "Full fine-tuning throughput vs HF Trainer + LayoutLMForTokenClassification (same + group_by_length",
           "OCR of 2 receipts: all cores vs one process",
           "Cached re-OCR per receipt",
           "Peak RSS of training (tiny, full fine-tuning)",
           "Dashboard: click Start → first loss point on the chart",
           "Dashboard: page response to a click while training runs",
           "Dashboard vs CLI: one run watched live in the browser, time per run",
           *(f"Start → CORD dev field micro-F1 ≥ 0.00: {scenario}" for scenario in ("freeze-backbone", "phased", "full")))


def test_quick_run_executes_every_benchmark_and_writes_the_report(tmp_path):
    require_shared_data("cord", "train")
    report = tmp_path / "BENCHMARKS.md"
    done = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--out", str(report)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    assert "python benchmarks/run.py --quick" in text
    for key in ("cpu:", "cores:", "ram:", "python:", "torch:", "load average"):
        assert key in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    for name in FIGURES:
        matching = [row for row in rows if row.startswith(f"| {name}")]
        assert len(matching) == 1, (name, rows)
        cells = [cell.strip() for cell in matching[0].strip("|").split("|")]
        assert cells[1] not in ("failed", "not measured", ""), matching[0]
        assert cells[3] == "—"  # quick runs judge no target
    assert not (REPO / "BENCHMARKS.md").exists() or "--quick" not in (REPO / "BENCHMARKS.md").read_text()
