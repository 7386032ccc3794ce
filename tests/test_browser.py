"""End to end in a real headless Chromium against a live `streamlit run app.py` server.

Generate demo data on Home, annotate a word and see it persist after a reload, start a `tiny` run and watch the
loss chart gain points, stop it, find it on Runs, predict on an uploaded image. Screenshots of every page go to
test-artifacts/ (gitignored); with UPDATE_SCREENSHOT=1 the default-backbone demo's Train page also replaces
assets/screenshot.png (the README's), which a plain test run leaves alone.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from benchmarks.live_app import POINTS_JS, chart_points, choose, open_expander, open_page, set_number, wait_idle
from receipt_core.training.config import TrainConfig
from receipt_core.workspace.store import Workspace
from receipt_core.datasets.synth import generate_dataset
from tests.browser_fixtures import ARTIFACTS, browser_page, browser_server

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A live server on a free loopback port with its own empty workspace; yields (url, workspace home)."""
    with browser_server(tmp_path_factory, "browser") as served:
        yield served


@pytest.fixture(scope="module")
def page(server):
    with browser_page() as page:
        yield page


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_full_flow_in_a_real_browser(server, page):
    url, home = server

    # Home: generate demo data with the one button
    open_page(page, url, "")
    set_number(page, "Receipts", 4)
    page.get_by_role("button", name="Generate demo receipts").click()
    page.get_by_text("Generated 4 receipts").wait_for(timeout=180_000)
    wait_idle(page)
    shot(page, "home")
    ws = Workspace(home)
    assert len(ws.load_documents("demo")) == 4

    # Data: the receipt with its boxes
    open_page(page, url, "data")
    page.get_by_role("tab", name="Receipts").click()
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "data")

    # Annotate: relabel word #1 as TOTAL, reload, still TOTAL
    open_page(page, url, "annotate")
    doc_id = ws.load_documents("demo")[0].id
    choose(page, "Word", "#1 ", exact=False)
    expect(page.get_by_role("combobox", name="Word", exact=True).first).to_have_value(re.compile(r"^#1 "))
    # The label saves as soon as it is chosen, before the reload. On a loaded machine the label can be picked in the
    # panel of the word shown before the rerun that selects #1 has redrawn it (seen with three test workers): then
    # that word got it, so each try picks the label again until word #1 has it.
    for _ in range(3):
        choose(page, "Label", "TOTAL (key 8)")
        wait_idle(page)
        deadline = time.monotonic() + 10
        while ws.get_document(doc_id).words[1].field != "TOTAL" and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        if ws.get_document(doc_id).words[1].field == "TOTAL":
            break
    assert ws.get_document(doc_id).words[1].field == "TOTAL"
    page.reload()
    page.wait_for_selector("h1")
    wait_idle(page)
    choose(page, "Word", "#1 ", exact=False)
    # The panel of the word shown before (#0, OTHER) can still be on screen for a moment after the choice on a
    # loaded machine (seen in CI), so wait for word #1's own panel rather than read it once.
    expect(page.get_by_role("combobox", name="Word", exact=True).first).to_have_value(re.compile(r"^#1 "))
    expect(page.get_by_role("combobox", name="Label", exact=True).first).to_have_value("TOTAL (key 8)",
                                                                                    timeout=15_000)
    assert ws.get_document(doc_id).words[1].field == "TOTAL"
    shot(page, "annotate")

    # Train: a tiny run; the loss chart gains points; stop it
    open_page(page, url, "train")
    open_expander(page, "Run settings")  # open on a server that has shown no run (a no-op then)
    choose(page, "Backbone", "tiny")
    set_number(page, "Epochs", 200)
    set_number(page, "Batch size", 1)
    started = time.monotonic()
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_function(f"() => ({POINTS_JS})().some(n => n >= 2)", timeout=120_000)
    first_points = time.monotonic() - started
    before = max(chart_points(page))
    page.wait_for_function(f"() => ({POINTS_JS})().some(n => n > {before})", timeout=60_000)
    after = max(chart_points(page))
    assert after > before >= 2
    shot(page, "train")
    page.locator(".st-key-train_stop button").click()
    page.get_by_text(re.compile(r"^Stopped after")).wait_for(timeout=90_000)
    runs = ws.list_runs()
    assert runs and runs[0].status == "stopped"
    (ARTIFACTS / "timings.txt").write_text(f"tiny: Start to a loss chart with 2 points: {first_points:.1f}s\n")

    # Runs: the stopped run is listed
    open_page(page, url, "runs")
    page.get_by_text(runs[0].id).first.wait_for()
    page.get_by_text("stopped").first.wait_for()
    shot(page, "runs")

    # Predict: upload an image, see boxes and items
    open_page(page, url, "predict")
    receipt = generate_dataset(1, seed=21, workers=1)[0]
    upload = ARTIFACTS / "upload receipt.jpg"
    upload.write_bytes(receipt.image_bytes)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(upload))
    page.get_by_text("Labelled words").wait_for(timeout=120_000)
    page.locator(".js-plotly-plot").first.wait_for()
    wait_idle(page)
    assert page.get_by_role("button", name="Download everything (JSON)").is_visible()
    shot(page, "predict")


@pytest.mark.slow
def test_demo_path_on_the_default_backbone_reaches_a_loss_point(server, page):
    """The newcomer's path: a dozen demo receipts on Home (the full flow's are kept, the rest generated), then Start
    on Train with every default.

    Measures, in the browser, the seconds from clicking Start to the first point on a loss chart (the figure
    quoted in the README), and checks that the default backbone is TrainConfig's (`text-minilm`: the study's best).
    """
    url, home = server
    open_page(page, url, "")
    shot(page, "home-before-demo")
    set_number(page, "Receipts", 12)
    ws = Workspace(home)
    stored = {doc.id: doc for doc in ws.load_documents("demo")}  # the full flow's 4, one relabelled, when it ran
    started = time.monotonic()
    page.get_by_role("button", name="Generate demo receipts").click()
    page.get_by_text(f"Generated {12 - len(stored)} receipts").wait_for(timeout=300_000)
    demo_seconds = time.monotonic() - started
    wait_idle(page)
    docs = ws.load_documents("demo")
    assert len(docs) == 12
    assert all(doc == stored[doc.id] for doc in docs if doc.id in stored)  # kept as they were, labels and all

    open_page(page, url, "train")
    open_expander(page, "Run settings")  # folded: the full flow's run is this server's last
    default_backbone = TrainConfig().backbone
    assert page.get_by_role("combobox", name="Backbone", exact=True).first.input_value() == default_backbone
    wait_idle(page, timeout=120_000)  # the first visit counts the backbone's parameters once per server
    previous = {run.id for run in ws.list_runs()}
    clicked = time.monotonic()
    page.get_by_role("button", name="Start", exact=True).click()
    deadline = time.monotonic() + 60
    while not (new := [run.id for run in ws.list_runs() if run.id not in previous]):
        assert time.monotonic() < deadline, "Start created no run"
        time.sleep(0.1)
    page.get_by_text(new[0]).first.wait_for(timeout=60_000)  # the live view now draws the new run
    page.wait_for_function(f"() => ({POINTS_JS})().some(n => n >= 1)", timeout=300_000)
    first_point = time.monotonic() - clicked
    run_id = new[0]
    with open(ARTIFACTS / "timings.txt", "a") as out:
        out.write(f"demo: generate {12 - len(stored)} receipts (12 with those stored): {demo_seconds:.1f}s\n"
                  f"{default_backbone}: Start to the first loss point on the chart: {first_point:.1f}s\n")
    deadline = time.monotonic() + 600
    while not ws.run_events(run_id, kinds=["prediction"]):  # the first evaluation: a screenshot with predictions
        assert time.monotonic() < deadline, "no evaluation within 10 minutes"
        time.sleep(1)
    page.get_by_text("Live predictions", exact=True).wait_for(timeout=30_000)
    page.wait_for_timeout(2500)  # one more live refresh
    shot(page, "train-default")
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(ARTIFACTS / "train-default.png", REPO / "assets" / "screenshot.png")
    page.locator(".st-key-train_stop button").click()
    page.get_by_text(re.compile(r"^Stopped after")).wait_for(timeout=300_000)
    assert Workspace(home).list_runs()[0].config["backbone"] == default_backbone


def test_the_app_follows_the_systems_light_or_dark_scheme(server, page):
    """Walkthrough 56: a dark-theme user found no way to a dark theme (the theme was fixed light). The app follows
    the system's scheme now. (A menu to choose it brought a header "Stop" of the page's script, beside the run's.)"""
    url = server[0]
    browser = page.context.browser  # the module's browser (a second Playwright cannot run beside it)
    light = browser.new_context(viewport={"width": 1366, "height": 768}, color_scheme="light").new_page()
    dark = browser.new_context(viewport={"width": 1366, "height": 768}, color_scheme="dark").new_page()
    try:
        for shown in (light, dark):
            shown.set_default_timeout(30_000)
            open_page(shown, url, "")
        background = "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"

        def brightness(shown) -> int:
            return sum(int(v) for v in re.findall(r"\d+", shown.evaluate(background))[:3])

        assert brightness(light) > 600 and brightness(dark) < 150
        # no menu, so no second "Stop" in the header beside the run's own while the live view reruns
        assert light.get_by_test_id("stMainMenu").count() == 0
    finally:
        light.context.close()
        dark.context.close()


def test_under_forced_colours_the_chosen_option_and_a_sliders_place_still_show(server, page):
    """Walkthrough 56, with forced colours (Windows High Contrast): the browser drops backgrounds, and Streamlit draws
    a radio's choice, a toggle's state, a slider's track and thumb and a progress bar by backgrounds alone, so none
    showed. The page's style sheet draws them in system colours there (ui/components/style/forced_colors.css)."""
    url = server[0]
    forced = page.context.browser.new_context(viewport={"width": 1366, "height": 768},
                                              forced_colors="active").new_page()
    try:
        forced.set_default_timeout(30_000)
        open_page(forced, url, "train")
        open_expander(forced, "Run settings")  # folded once a run has been shown
        ring = '(el) => getComputedStyle(el.querySelector(":scope > div > div:first-child")).backgroundColor'
        options = forced.get_by_role("radiogroup", name="What to train").get_by_test_id("stRadioOption")
        chosen = [options.nth(i).evaluate(ring) for i in range(options.count())]
        assert len(chosen) == 3 and chosen[0] != chosen[1] == chosen[2], chosen  # the chosen one stands out
        slider = forced.get_by_role("group", name="Held-out share")
        track, thumb = (slider.evaluate("(el, sel) => getComputedStyle(el.querySelector(sel)).backgroundColor", sel)
                        for sel in (":scope > div > div:first-child", ':scope > div > div[style*="absolute"]'))
        canvas = forced.evaluate("getComputedStyle(document.body).backgroundColor")
        assert len({track, thumb, canvas}) == 3, (track, thumb, canvas)  # both drawn, apart from the page
    finally:
        forced.context.close()
