"""The benchmark suite's smoke run, training half: `python benchmarks/run.py --quick --only cache epoch quality
phased attention precision hf memory` executes those benchmarks on tiny sizes (real CORD receipts, the real CLI in
subprocesses) and writes its Markdown report. Nothing here is a timing: quick sizes say nothing about speed, so no
target is judged.
The OCR and dashboard half is ``test_benchmarks_quick_browser.py``; together they run every benchmark."""

from __future__ import annotations

import pytest

from benchmark_smoke import BROWSER_GROUP, TRAINING_GROUP, benchmark_names, check_quick_run
from conftest import require_shared_data

pytestmark = [pytest.mark.slow]


def test_the_two_smoke_groups_run_every_benchmark_once():
    assert not set(TRAINING_GROUP) & set(BROWSER_GROUP)
    assert sorted({**TRAINING_GROUP, **BROWSER_GROUP}) == sorted(benchmark_names())


def test_quick_run_executes_every_training_benchmark_and_writes_the_report(tmp_path):
    require_shared_data("cord", "train")
    check_quick_run(tmp_path, TRAINING_GROUP)
