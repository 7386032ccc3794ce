"""Data → Upload & OCR in a real headless Chromium against a live server, with the real Tesseract."""

from __future__ import annotations

import time

import pytest

from benchmarks.live_app import open_page, wait_idle
from receipt_core.datasets.synth import generate_dataset
from receipt_core.workspace.store import Workspace
from receipt_core.workspace.upload_journal import stopped_uploads
from tests.browser_fixtures import ARTIFACTS, browser_page, browser_server

pytestmark = [pytest.mark.browser, pytest.mark.ocr]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_server(tmp_path_factory, "browser-data") as served:
        yield served


@pytest.fixture(scope="module")
def page(server):
    with browser_page() as page:
        yield page


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_an_upload_left_part_way_names_the_photos_never_read_on_the_next_visit(server, page, tmp_path):
    """Probe 46 left Data while it read 25 photos ("OCR 6/25"): 6 were stored, and nothing ever said that the other
    19 were never read. Leaving by the sidebar now leaves the upload's journal stopped, and the next visit to Data
    names the files to upload again, stored ones left out; Dismiss forgets it."""
    url, home = server
    names = []
    for number, receipt in enumerate(generate_dataset(8, seed=46, workers=1)):
        path = tmp_path / f"photo {number}.png"
        path.write_bytes(receipt.image_bytes)
        names.append(path)
    open_page(page, url, "data")
    page.get_by_label("Receipt images, or zips of them").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        [str(p) for p in names])
    wait_idle(page)
    page.get_by_role("button", name="OCR and store").click()
    page.get_by_text("OCR 2/8").wait_for(timeout=120_000)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Runs", exact=True).click()
    page.wait_for_function("() => document.querySelector('h1')?.innerText.includes('Runs')")
    wait_idle(page)
    # the upload stops at its next photo (Streamlit ends a script at its next call to it): until then it is live,
    # and the page rightly says nothing of it
    wait_until(lambda: stopped_uploads(home), timeout=60)
    open_page(page, url, "data")
    warning = page.get_by_text("stopped after reading")
    warning.wait_for()
    page.screenshot(path=str(ARTIFACTS / "data-stopped-upload.png"), full_page=True)
    stored = {doc.source for doc in Workspace(home).load_documents("uploads")}
    assert 2 <= len(stored) < 8, stored
    unread = page.locator('[data-testid="stCode"]').first.inner_text().splitlines()
    assert sorted(unread) == sorted({p.name for p in names} - stored)
    assert f"stopped after reading {len(stored)} of its 8 files" in warning.inner_text()
    page.get_by_role("button", name="Dismiss").click()
    wait_idle(page)
    assert page.get_by_text("stopped after reading").count() == 0
