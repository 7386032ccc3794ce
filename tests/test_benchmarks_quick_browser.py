"""The benchmark suite's smoke run, OCR and dashboard half: `python benchmarks/run.py --quick --only ocr dashboard
watched` runs real Tesseract and a real browser against a live server on tiny sizes and writes its Markdown
report. No timing is judged. The training half is ``test_benchmarks_quick.py``."""

from __future__ import annotations

import pytest

from benchmark_smoke import BROWSER_GROUP, check_quick_run

pytestmark = [pytest.mark.slow, pytest.mark.ocr, pytest.mark.browser]


def test_quick_run_executes_the_ocr_and_dashboard_benchmarks_and_writes_the_report(tmp_path):
    check_quick_run(tmp_path, BROWSER_GROUP)
