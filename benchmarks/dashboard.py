"""Dashboard figures in a real headless Chromium against a live ``streamlit run app.py`` (the server and browser
helpers are ``live_app.py``'s, shared with ``tests/test_browser.py``).

- Start → first loss point: a workspace holding the CORD sample (loaded as Home's "Load the real receipts" does,
  README's quick start), the Train page with every default, seconds from clicking Start to the first point on a
  loss chart (until 2026-12-07 it held 12 demo receipts, which the quick start no longer uses).
- Response to a click while training runs: the run continues in the server while the user moves between pages;
  seconds from clicking a page link in the sidebar to that page drawn and idle (Runs, then back to Train with its
  live charts), median over several clicks. Each click is checked to land while the run still trains.

The quick (smoke) variant picks the ``tiny`` backbone, whose run on the Train page's default 6 epochs would finish
within seconds, before the clicks are measured and the Stop button pressed (it is disabled once a run has ended);
so it also asks for 200 epochs of batch 1, which the benchmark stops itself.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from common import Figure, Sizes, median
from live_app import CHROMIUM, POINTS_JS, choose, chromium_page, live_server, open_page, set_number, sidebar_text, \
    wait_idle

FIRST_POINT = "Dashboard: click Start → first loss point on the chart"
CLICK = "Dashboard: page response to a click while training runs"
QUICK_EPOCHS = 200  # the Train page's maximum: a tiny run outlasts the measurement, and is stopped at its end


def not_measured(reason: str) -> list[Figure]:
    return [Figure(FIRST_POINT, "not measured", "", None, reason), Figure(CLICK, "not measured", "", None, reason)]


def _seed_demo(home: Path, count: int) -> None:
    """The workspace state after Home's "Generate demo receipts" (same calls, without the browser)."""
    from receipt_core.datasets.demo import add_demo_receipts
    from receipt_core.workspace.store import Workspace

    add_demo_receipts(Workspace.open(home), count, seed=0)


def _seed_cord_sample(home: Path) -> int:
    """The workspace state after Home's "Load the real receipts (CORD sample)"; the training receipts' count."""
    from receipt_core.datasets.demo import add_cord_sample
    from receipt_core.workspace.store import Workspace

    return add_cord_sample(Workspace.open(home))[0].documents


def _page_drawn_js(title: str, needs_chart: bool) -> str:
    chart = "&& document.querySelector('.js-plotly-plot')" if needs_chart else ""
    return f"""() => {{
        const h1 = document.querySelector('h1');
        return h1 && h1.innerText.trim().startsWith({title!r}) {chart}
            && !document.querySelector('[data-testid="stSkeleton"]');
    }}"""


def dashboard_figures(sizes: Sizes, clicks: int = 3) -> list[Figure]:
    if not Path(CHROMIUM).exists():
        return not_measured(f"{CHROMIUM} is missing (install Debian's chromium: make setup-test)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return not_measured(f"playwright is not installed: {error}")

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        home = Path(folder) / "workspace"
        if sizes.quick:  # the Train page holds some receipts out for evaluation
            _seed_demo(home, 4)
            data = "4 demo receipts"
        else:
            data = f"the CORD sample ({_seed_cord_sample(home)} training receipts, as the quick start loads it)"
        with live_server(home, Path(folder) / "streamlit.log") as server, \
                chromium_page(default_timeout_ms=120_000) as page:
            first_point, responses = _measure(page, server.url, sizes, clicks)
    settings = ("Train page defaults (text-minilm · phased, its heads first on cached features)" if not sizes.quick else
                f"Train page defaults but the tiny backbone and {QUICK_EPOCHS} epochs of batch 1, so the run outlasts "
                "the clicks (quick run)")
    return [Figure(FIRST_POINT, f"{first_point:.1f} s", "", None,
                   f"{data}, {settings}; one measurement (a second Start would reuse the loaded "
                   "backbone and be faster)"),
            Figure(CLICK, f"{median(responses):.2f} s", "", None,
                   f"sidebar link → page drawn, alternating Runs and Train (live charts) while the run trains; "
                   f"median of {len(responses)} clicks (min {min(responses):.2f} s, max {max(responses):.2f} s)")]


def _measure(page, url: str, sizes: Sizes, clicks: int) -> tuple[float, list[float]]:
    # the first visit counts the default backbone's parameters once per server: allow for loading it
    open_page(page, url, "train", timeout=180_000)
    if sizes.quick:
        choose(page, "Backbone", "tiny")
        set_number(page, "Epochs", QUICK_EPOCHS)
        set_number(page, "Batch size", 1)
    clicked = time.monotonic()
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_function(f"() => ({POINTS_JS})().some(n => n >= 1)", timeout=600_000)
    first_point = time.monotonic() - clicked
    responses = []
    for _ in range(clicks):
        for title, chart in (("Runs", False), ("Train", True)):
            link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first
            start = time.monotonic()
            link.click()
            page.wait_for_function(_page_drawn_js(title, chart), timeout=120_000)
            responses.append(time.monotonic() - start)
            wait_idle(page, timeout=120_000)
            _require_training(page, len(responses))
    page.locator(".st-key-train_stop button").click()
    page.get_by_text(re.compile(r"^Stopped after")).wait_for(timeout=300_000)
    return first_point, responses


def _require_training(page, clicks_done: int) -> None:
    """The sidebar, drawn by the click's rerun, must still say the run is running: a click measured after the run
    ended would not be "while training runs" (and Stop would be disabled)."""
    text = sidebar_text(page)
    if "— running" not in text:
        status = next((line for line in text.splitlines() if line.startswith("Training:")), text)
        raise RuntimeError(f"the run was no longer training after click {clicks_done} ({status!r}); give it more "
                           "epochs so it outlasts the click measurements")
