"""Issue 16, "What it must show": scenario 2 in a real headless Chromium against one live server. Home loads the real
receipts (the CORD sample); Train runs freeze-backbone with the page's defaults on cord-sample-train, evaluated on
cord-sample-dev: after picking the scenario the page shows that scenario's own defaults (TrainConfig.for_scenario)
and starts the run with them, and its field micro-F1 chart reaches 0.85 within the first evaluations (the stored
evaluations are what the chart drew); Predict then lists the items of a dev receipt (read through the items table's
own CSV download: the grid is a canvas). The tests run in file order and build on each other.

Timings (Start → each evaluation shown, Start → field F1 ≥ 0.85) are printed and written to
test-artifacts/scenario2-timings.txt; the Train page's screenshot goes to test-artifacts/scenario2-train.png."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from benchmarks.live_app import choose, open_expander, open_page, wait_idle
from receipt_core.datasets.demo import CORD_SAMPLE_DEV, CORD_SAMPLE_TRAIN
from receipt_core.model.head_settings import LAYER_MIX_LABELS
from receipt_core.training.config import TrainConfig
from receipt_core.training.events import METRIC_LABELS, EvalEvent, event_from_json, flatten_metrics
from receipt_core.workspace.store import Workspace
from tests.browser_fixtures import ARTIFACTS, browser_page, browser_server, download_table_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCENARIO = "freeze-backbone"
TARGET_F1 = 0.85
WITHIN_EPOCHS = 8  # the target is reached within the run's first evaluations
REACH_TIMEOUT_S = 360.0  # Start → target: loading MiniLM and filling the frozen cache take ~40 s on 2 cores
FINISH_TIMEOUT_S = 0.0  # after the target Stop ends the run (it evaluates and saves): the suite stays short
METRIC = "fields.micro_f1"  # stored under this key; the chart names it METRIC_LABELS[METRIC]
# The field micro-F1 points of the Train page's "Field labels: validation metrics" chart as plotly drew them
# ([[step, value], …]), and the status line under the run's header.
F1_POINTS_JS = """(series) => {
    for (const el of document.querySelectorAll('.js-plotly-plot')) {
        const title = el.layout && el.layout.title;
        const text = String((title && (title.text !== undefined ? title.text : title)) || '');
        if (!text.includes('validation metrics')) continue;
        for (const trace of (el._fullData || el.data || [])) {
            if (trace.name === series && trace.x) return Array.from(trace.x).map((x, i) => [x, trace.y[i]]);
        }
    }
    return [];
}"""
STATUS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stProgress"]')).map(el => el.innerText)
    .find(text => /step \\d+\\/\\d+/.test(text)) || ''"""
# The settings the page shows, by TrainConfig field: after picking the scenario, its defaults (SCENARIO_DEFAULTS)
SETTING_KEYS = {"backbone": "train_backbone", "epochs": "train_epochs", "batch_size": "train_batch", "lr": "train_lr",
                "lr_schedule": "train_lr_schedule", "boxes": "train_boxes", "head": "train_head",
                "layer_mix": f"train_layer_mix_{SCENARIO}", "head_size": "train_head_size",
                "head_depth": "train_head_depth", "head_boxes": "train_head_boxes",
                "head_lr": f"train_head_lr_{SCENARIO}", "label_smoothing": "train_label_smoothing"}
SHOWN = {}  # what one test read from the page for the next ones (the tests run in file order)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_server(tmp_path_factory, "browser-scenario2") as served:
        yield served


@pytest.fixture(scope="module")
def page(server):
    with browser_page() as page:
        yield page


def no_exception(page) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()
    failed = page.get_by_text("Training failed:")
    assert failed.count() == 0, failed.first.inner_text()


def widget_value(page, key: str) -> str | bool:
    """What the keyed widget shows: a selectbox's choice or a number field's text (as typed), a toggle's state. An
    Advanced setting's key gets a suffix at each scenario change (``ui/train_form.advanced_key``)."""
    widget = page.locator(f".st-key-{key}, [class*='st-key-{key}__g']").first
    widget.wait_for()
    field = widget.locator("input[role=combobox], input[type=number]")
    if field.count():
        return field.first.input_value()
    return widget.locator("input[role=switch]").first.is_checked()


def wait_until(condition, what: str, page, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        page.wait_for_timeout(300)


def same_setting(shown: str | bool, default) -> bool:
    if isinstance(default, bool):
        return shown == default
    if isinstance(default, str):  # a choice the page names in words (Heads read)
        return shown in (default, LAYER_MIX_LABELS.get(default))
    return float(shown) == pytest.approx(default)


def test_the_cord_sample_loads_from_home(server, page):
    url, home = server
    open_page(page, url, "")
    page.get_by_role("button", name="Load the real receipts (CORD sample)").click()
    page.get_by_text(f"Stored 50 receipts as dataset '{CORD_SAMPLE_DEV}'").wait_for(timeout=120_000)
    wait_idle(page)
    no_exception(page)
    assert page.get_by_text(f"Stored 200 receipts as dataset '{CORD_SAMPLE_TRAIN}'").count() == 1
    ws = Workspace(home)
    assert {d.name: d.documents for d in ws.datasets()} == {CORD_SAMPLE_TRAIN: 200, CORD_SAMPLE_DEV: 50}


def test_scenario_2_with_the_page_defaults_reaches_the_target_f1(server, page):
    url, home = server
    ws = Workspace(home)
    open_page(page, url, "train")
    open_expander(page, "Run settings")  # folded once a run has been shown on this server
    page.locator(".st-key-train_epochs").wait_for(timeout=120_000)  # after "Counting the backbone's parameters…"
    wait_idle(page)
    # a value typed in the closed Advanced popover came back after a scenario change and the reruns after it (a
    # walkthrough's label smoothing 0.05, after the toast had said freeze-backbone's 0): typed here, it must not
    page.get_by_role("button", name="Advanced settings", exact=False).first.click()
    typed = page.locator(".st-key-train_label_smoothing input").first
    typed.fill("0.05")
    typed.press("Enter")
    wait_idle(page)
    page.keyboard.press("Escape")
    choose(page, "Scenario", SCENARIO)
    choose(page, "Training dataset", CORD_SAMPLE_TRAIN)
    choose(page, "Evaluation dataset", CORD_SAMPLE_DEV)
    defaults = TrainConfig.for_scenario(SCENARIO)
    page.get_by_role("button", name="Advanced settings", exact=False).first.click()  # boxes and heads are in it
    settings = {name: widget_value(page, key) for name, key in SETTING_KEYS.items()}
    page.keyboard.press("Escape")
    print(f"\nTrain page settings after picking {SCENARIO}: {settings}")
    no_exception(page)
    stale = {name: (shown, getattr(defaults, name)) for name, shown in settings.items()
             if not same_setting(shown, getattr(defaults, name))}
    assert not stale, f"after picking {SCENARIO} the page shows other settings than its defaults: {stale}"

    started = time.monotonic()
    page.get_by_role("button", name="Start", exact=True).click()
    wait_until(lambda: ws.list_runs(), "the run to be stored", page)
    run = ws.list_runs()[0]
    started_with = {name: run.config[name] for name in SETTING_KEYS}  # the page started what it showed
    assert started_with == {name: getattr(defaults, name) for name in SETTING_KEYS}, started_with
    seen: dict[int, tuple[float, float]] = {}  # step -> (F1 shown, seconds after Start when first shown)
    status = ""
    while not any(f1 >= TARGET_F1 for f1, _ in seen.values()):
        assert time.monotonic() - started < REACH_TIMEOUT_S, (
            f"no field F1 ≥ {TARGET_F1} shown within {REACH_TIMEOUT_S:.0f} s of Start: {seen}; status {status!r}")
        page.wait_for_timeout(500)
        no_exception(page)
        status = page.evaluate(STATUS_JS) or status
        for step, f1 in page.evaluate(F1_POINTS_JS, METRIC_LABELS[METRIC]):
            seen.setdefault(int(step), (float(f1), time.monotonic() - started))
    reached_s = min(at for f1, at in seen.values() if f1 >= TARGET_F1)

    stopped = False
    finished = page.get_by_text(re.compile(r"^Finished (its plan|at its time budget) after"))
    deadline = time.monotonic() + FINISH_TIMEOUT_S
    while not finished.count() and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        no_exception(page)
        status = page.evaluate(STATUS_JS) or status
        for step, f1 in page.evaluate(F1_POINTS_JS, METRIC_LABELS[METRIC]):
            seen.setdefault(int(step), (float(f1), time.monotonic() - started))
    if not finished.count():  # a slow machine: stop the run (it saves its checkpoint when it stops)
        page.locator(".st-key-train_stop button").click()
        page.wait_for_function("() => /Stopped after/.test(document.body.innerText)", timeout=120_000)
        stopped = True
    wait_idle(page)
    total_s = time.monotonic() - started
    page.wait_for_timeout(1500)  # the fragment's last redraw
    for step, f1 in page.evaluate(F1_POINTS_JS, METRIC_LABELS[METRIC]):
        seen.setdefault(int(step), (float(f1), total_s))
    page.screenshot(path=str(ARTIFACTS / "scenario2-train.png"), full_page=True)
    status = page.evaluate(STATUS_JS) or status

    # Which epoch each point is: the status line's steps per epoch ("step N/M · epoch E/EPOCHS")
    total = re.search(r"step \d+/(\d+)", status)
    epochs = re.search(r"epoch [\d.]+/(\d+)", status)
    assert total and epochs, status
    per_epoch = int(total[1]) / int(epochs[1])
    evaluations = [(step, round(step / per_epoch, 2), f1, at) for step, (f1, at) in sorted(seen.items())]
    first = next(i for i, (_, _, f1, _) in enumerate(evaluations) if f1 >= TARGET_F1)

    # Cross-check: the stored evaluations are the points the page drew
    stored = [event_from_json(e.kind, e.payload) for e in ws.run_events(run.id) if e.kind == EvalEvent.kind]
    stored_f1 = {e.step: flatten_metrics(e.metrics)[METRIC] for e in stored}
    assert {step: pytest.approx(f1, abs=1e-6) for step, (f1, _) in seen.items()} == stored_f1

    lines = [f"scenario 2 ({SCENARIO}) with the Train page's defaults, {CORD_SAMPLE_TRAIN} → {CORD_SAMPLE_DEV}",
             f"settings shown: {settings}",
             f"run config: {started_with}",
             f"Start → field F1 ≥ {TARGET_F1} shown: {reached_s:.1f} s (evaluation {first + 1}, "
             f"epoch {evaluations[first][1]:g})",
             f"Start → run {'stopped' if stopped else 'finished'}: {total_s:.1f} s; final status: {status}",
             "evaluations (step, epoch, field micro-F1, first shown s after Start):"]
    lines += [f"  {step:5d}  {epoch:5g}  {f1:.4f}  {at:6.1f}" for step, epoch, f1, at in evaluations]
    text = "\n".join(lines)
    print("\n" + text)
    (ARTIFACTS / "scenario2-timings.txt").write_text(text + "\n")
    SHOWN["run"] = run.id

    assert evaluations[first][1] <= WITHIN_EPOCHS, text
    assert run.config["scenario"] == SCENARIO


def test_predict_shows_the_items_of_a_dev_receipt(server, page):
    url, home = server
    run_id = SHOWN.get("run")
    if run_id is None:
        pytest.skip("the scenario 2 run did not get trained")
    try:  # the first visit imports the page's modules and loads the run: slow on a loaded 2-core machine
        open_page(page, url, "predict", timeout=180_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "scenario2-predict-timeout.png"), full_page=True)
        raise
    assert run_id[-6:] in widget_value(page, "predict_run"), "Predict does not offer the scenario 2 run"
    page.locator('[data-testid="stSidebarUserContent"]').get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name=CORD_SAMPLE_DEV, exact=True).click()
    wait_idle(page)
    page.get_by_text("A receipt from the workspace").click()
    wait_idle(page)
    receipt = widget_value(page, "predict_doc")
    page.get_by_text("Items", exact=True).wait_for(timeout=120_000)  # the model ran on the receipt
    table = page.locator('[data-testid="stDataFrame"]').first  # the items, then the uncertain and labelled words
    wait_idle(page)
    no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "scenario2-predict.png"), full_page=True)

    items = pd.read_csv(download_table_csv(page, table), encoding="utf-8-sig")
    print(f"\nPredict, {receipt} ({CORD_SAMPLE_DEV}) with run {run_id}:\n{items.to_string()}")
    with (ARTIFACTS / "scenario2-timings.txt").open("a") as out:
        out.write(f"Predict, {receipt} ({CORD_SAMPLE_DEV}):\n{items.to_string()}\n")
    assert len(items) >= 1, "no items shown"
    assert items["name"].fillna("").str.strip().ne("").all(), items
    quantities = pd.to_numeric(items["quantity"], errors="coerce")  # empty where none was read (the implied 1)
    assert quantities.notna().any() and (quantities.dropna() > 0).all(), items
