"""A live ``streamlit run app.py`` server and a headless Chromium page on it.

Shared by the browser tests (``tests/test_browser.py``, which import ``benchmarks.live_app``; pytest runs from the
repo root) and the dashboard benchmark (``benchmarks/dashboard.py``, which imports ``live_app`` beside it when
``python benchmarks/run.py`` runs). Only the standard library is imported here; playwright is imported by
:func:`chromium_page` when a page is wanted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium: `make setup-test` installs it (never `playwright install`)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1500, "height": 1100}

# Points per Plotly chart on the page (the longest trace of each), from plotly.js's decoded data.
POINTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(
    el => Math.max(0, ...(el._fullData || el.data || []).map(t => (t.x && t.x.length) || 0)))"""


class LiveServerError(RuntimeError):
    """The server exited or did not answer its health check in time."""


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:PORT
    home: Path  # its workspace (RECEIPT_STUDIO_HOME)
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LiveServerError(f"streamlit exited with {process.returncode} before becoming healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise LiveServerError(f"{url}/_stcore/health did not answer within {timeout}s")


def stop_server(process: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM to the server's process group, SIGKILL if it is still there after ``grace`` seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def live_server(home: Path, log_path: Path, timeout: float = 90.0, stop_grace: float = 30.0,
                options: Sequence[str] = ()) -> Iterator[LiveServer]:
    """``streamlit run app.py`` on a free loopback port with ``home`` as its workspace, in its own process group
    (so stopping it also stops the trainer threads' children); its output goes to ``log_path``. ``options``:
    more ``streamlit run`` flags over ``.streamlit/config.toml``."""
    port = free_port()
    env = dict(os.environ, RECEIPT_STUDIO_HOME=str(home), PYTHONUNBUFFERED="1")
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "streamlit"), "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", *options],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, timeout)
        yield LiveServer(url, Path(home), process)
    finally:
        stop_server(process, stop_grace)


@contextmanager
def chromium_page(default_timeout_ms: float = 30_000) -> Iterator:
    """A page in a fresh headless Debian Chromium (a playwright ``Page``), closed with the browser on exit."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: install Debian's chromium (make setup-test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(default_timeout_ms)
            yield page
        finally:
            browser.close()


def open_page(page, url: str, path: str, timeout: float = 60_000) -> None:
    """Go to ``url/path`` and wait until it is drawn and idle (``timeout`` ms for the idle wait: a first visit
    may load a backbone)."""
    page.goto(f"{url}/{path}")
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_selector("h1", timeout=60_000)
    wait_idle(page, timeout=timeout)


RERUN_START_MS = 400  # how long an action's rerun may take to start; wait_idle waits that long when none starts


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the app has drawn its sidebar and the script stopped running (no status widget, no skeleton).

    An action's rerun starts a moment after it: first wait up to :data:`RERUN_START_MS` for the app's script state
    (``data-test-script-state`` on ``stApp``, what Streamlit's own browser tests read) to leave ``notRunning``, then
    for it to return. A fixed 400 ms pause before every check cost the browser tests about a minute in all."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function(
            """() => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState !== 'notRunning'""",
            timeout=RERUN_START_MS, polling=20)
    except PlaywrightTimeoutError:
        pass  # no rerun started: the page was idle already
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            const sidebar = document.querySelector('[data-testid="stSidebarUserContent"]');
            return app && app.dataset.testScriptState === 'notRunning'
                && sidebar && sidebar.innerText.includes('Workspace:')
                && !document.querySelector('[data-testid="stStatusWidget"]')
                && !document.querySelector('[data-testid="stSkeleton"]');
        }""", timeout=timeout)


def choose(page, label: str, option: str, exact: bool = True, tries: int = 5) -> None:
    """Pick ``option`` (its whole text, or with ``exact=False`` a part of it) in the selectbox labelled ``label``,
    opening the list again when a rerun closed it before the option could be clicked (a component that reports
    back after a rerun, or a busy machine, reruns the page a moment after it looked idle)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    wanted = (page.get_by_role("option", name=option, exact=True) if exact
              else page.get_by_role("option").filter(has_text=option)).first
    for attempt in range(tries):
        wait_idle(page)
        page.get_by_role("combobox", name=label, exact=True).first.click()
        try:
            wanted.wait_for(timeout=5_000)
            wanted.click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
    wait_idle(page)


def open_expander(page, label: str) -> None:
    """Open the expander whose title holds ``label`` and wait until it has finished opening: its content slides
    open over a few hundred milliseconds, and a click on a button that is still sliding can be lost (seen on the
    Runs page's Resume, one try in three to six). Waits until the expander's box keeps the same size for 300 ms."""
    expander = page.locator('[data-testid="stExpander"]').filter(has=page.locator("summary", has_text=label)).first
    if expander.evaluate("element => Boolean(element.querySelector('details')?.open)"):
        return  # open already (Train's Run settings is, until a run has been shown): a click would fold it
    expander.locator("summary", has_text=label).first.click()
    page.wait_for_function(
        """element => new Promise(resolve => {
            const height = element.getBoundingClientRect().height;
            setTimeout(() => resolve(element.querySelector('details')?.open
                                     && element.getBoundingClientRect().height === height), 300);
        })""", arg=expander.element_handle(), polling=100)


def set_number(page, label: str, value) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page)


def chart_points(page) -> list[int]:
    return page.evaluate(POINTS_JS)


def sidebar_text(page) -> str:
    """The sidebar's text: the workspace, the dataset, and "Training: … run `ID` — STATUS" as of the last rerun."""
    return page.locator('[data-testid="stSidebarUserContent"]').inner_text()
