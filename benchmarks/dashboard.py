"""Dashboard figures in a real headless Chromium against a live ``streamlit run app.py``, reusing the browser
helpers of ``tests/test_browser.py`` (server health check, page opening, idle wait, chart point count).

- Start → first loss point: a workspace holding the demo receipts (generated as Home's button does), the Train
  page with every default (the default backbone), seconds from clicking Start to the first point on a loss chart.
- Response to a click while training runs: the run continues in the server while the user moves between pages;
  seconds from clicking a page link in the sidebar to that page drawn and idle (Runs, then back to Train with its
  live charts), median over several clicks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO_ROOT, Figure, Sizes, median

FIRST_POINT = "Dashboard: click Start → first loss point on the chart"
CLICK = "Dashboard: page response to a click while training runs"


def _helpers():
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    try:
        import test_browser
    finally:
        sys.path.pop(0)
    needed = ("free_port", "wait_healthy", "open_page", "wait_idle", "choose", "POINTS_JS", "CHROMIUM",
              "CHROMIUM_ARGS")
    missing = [name for name in needed if not hasattr(test_browser, name)]
    if missing:
        raise ImportError(f"tests/test_browser.py lacks {missing}")
    return test_browser


def not_measured(reason: str) -> list[Figure]:
    return [Figure(FIRST_POINT, "not measured", "", None, reason), Figure(CLICK, "not measured", "", None, reason)]


def _seed_demo(home: Path, count: int) -> None:
    """The workspace state after Home's "Generate demo receipts" (same calls, without the browser)."""
    from receipt_core.storage import Workspace
    from receipt_core.synth import generate_dataset

    ws = Workspace.open(home)
    docs = []
    for receipt in generate_dataset(count, seed=0):
        ws.put_image(receipt.image_bytes, "." + receipt.image_format.lower().replace("jpeg", "jpg"))
        docs.append(receipt.document)
    ws.save_documents("demo", docs)


def _page_drawn_js(title: str, needs_chart: bool) -> str:
    chart = "&& document.querySelector('.js-plotly-plot')" if needs_chart else ""
    return f"""() => {{
        const h1 = document.querySelector('h1');
        return h1 && h1.innerText.trim().startsWith({title!r}) {chart}
            && !document.querySelector('[data-testid="stSkeleton"]');
    }}"""


def dashboard_figures(sizes: Sizes, clicks: int = 3) -> list[Figure]:
    try:
        browser = _helpers()
    except ImportError as error:
        return not_measured(f"the browser helpers are not available: {error}")
    if not Path(browser.CHROMIUM).exists():
        return not_measured(f"{browser.CHROMIUM} is missing (install Debian's chromium: make setup-test)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        home = Path(folder) / "workspace"
        demo_count = 4 if sizes.quick else 12  # the Train page holds some receipts out for evaluation
        _seed_demo(home, demo_count)
        port = browser.free_port()
        env = dict(os.environ, RECEIPT_STUDIO_HOME=str(home), PYTHONUNBUFFERED="1")
        log = open(Path(folder) / "streamlit.log", "w")
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "streamlit"), "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            browser.wait_healthy(url, server)
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=browser.CHROMIUM, args=browser.CHROMIUM_ARGS,
                                                      headless=True)
                page = chromium.new_context(viewport={"width": 1500, "height": 1100}).new_page()
                page.set_default_timeout(120_000)
                try:
                    first_point, responses = _measure(page, browser, url, sizes, clicks)
                finally:
                    chromium.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            log.close()
    backbone = "default backbone (layout-minilm)" if not sizes.quick else "tiny backbone (quick run)"
    return [Figure(FIRST_POINT, f"{first_point:.1f} s", "", None,
                   f"{demo_count} demo receipts, Train page defaults, {backbone}; one measurement (a second Start "
                   "would reuse the loaded backbone and be faster)"),
            Figure(CLICK, f"{median(responses):.2f} s", "", None,
                   f"sidebar link → page drawn, alternating Runs and Train (live charts) while the run trains; "
                   f"median of {len(responses)} clicks (min {min(responses):.2f} s, max {max(responses):.2f} s)")]


def _measure(page, browser, url: str, sizes: Sizes, clicks: int) -> tuple[float, list[float]]:
    browser.open_page(page, url, "train")
    if sizes.quick:
        browser.choose(page, "Backbone", "tiny")
    browser.wait_idle(page, timeout=180_000)  # the first visit counts the backbone's parameters once per server
    clicked = time.monotonic()
    page.get_by_role("button", name="Start").click()
    page.wait_for_function(f"() => ({browser.POINTS_JS})().some(n => n >= 1)", timeout=600_000)
    first_point = time.monotonic() - clicked
    responses = []
    for _ in range(clicks):
        for title, chart in (("Runs", False), ("Train", True)):
            link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first
            start = time.monotonic()
            link.click()
            page.wait_for_function(_page_drawn_js(title, chart), timeout=120_000)
            responses.append(time.monotonic() - start)
            browser.wait_idle(page, timeout=120_000)
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Finished (stopped)").wait_for(timeout=300_000)
    return first_point, responses
