"""Issue 17, defects 1 and 2 against a real server in real Chromium: a dataset name typed into the Data page cannot
write outside the workspace, and a stored dataset name is shown as text, never as Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.live_app import chromium_page, open_page, wait_idle
from receipt_core.data.document import Document, Word
from receipt_core.workspace.store import Workspace
from tests.browser_fixtures import browser_server

pytestmark = pytest.mark.browser

NAME = "__bold__ receipts"  # a name the workspace accepts that Markdown would render bold


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_server(tmp_path_factory, "security", seed=_seed) as served:
        yield served


def _seed(home: Path) -> None:
    doc = Document(id="r1", width=400, height=600, words=(Word(text="TOTAL", box=(10, 10, 60, 30)),))
    Workspace.open(home).save_documents(NAME, [doc])


def test_a_dataset_name_is_shown_as_text_not_markdown(server):
    url, _ = server
    with chromium_page() as page:
        open_page(page, url, "data")
        page.get_by_role("tab", name="Receipts").click()
        wait_idle(page)
        body = page.locator('[data-testid="stMain"]')
        assert NAME in body.inner_text()  # the underscores are still there: not turned into bold
        assert body.locator("strong", has_text="bold").count() == 0


def test_a_dataset_name_that_leads_outside_is_refused_and_writes_nothing(server, tmp_path):
    url, home = server
    escape = tmp_path / "x" / "escape"
    image = tmp_path / "receipt.png"
    from PIL import Image

    Image.new("RGB", (300, 400), "white").save(image)
    with chromium_page() as page:
        open_page(page, url, "data")
        box = page.get_by_label("Store into dataset")
        box.fill(f"../../../../..{escape}")
        box.press("Enter")
        wait_idle(page)
        page.locator('.st-key-upload_files input[type="file"]').set_input_files(str(image))
        wait_idle(page)
        # said under the field as it is typed, and the button stays disabled: no OCR, nothing stored
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert page.get_by_role("button", name="OCR and store").is_disabled()
    assert "dataset name" in text.lower() and "contains '/'" in text, text[-600:]
    assert not escape.exists() and not (tmp_path / "x").exists()
    assert [d.name for d in Workspace(home).datasets()] == [NAME]


def test_every_page_loads_without_asking_any_other_host(server):
    """No internet at run time: a page load must not fetch from a CDN (a Material tab icon made every load ask
    fonts.gstatic.com, which fails offline)."""
    url, _ = server
    elsewhere: list[str] = []
    with chromium_page() as page:
        page.on("request", lambda request: elsewhere.append(request.url)
                if not request.url.startswith((url, "data:", "blob:")) else None)
        for path in ("", "data", "annotate", "train", "race", "runs", "predict"):
            open_page(page, url, path)
        icon = page.locator('link[rel="shortcut icon"], link[rel="icon"]').first.get_attribute("href")
    assert elsewhere == [], elsewhere
    assert icon and (icon.startswith(url) or not icon.startswith("http")), icon
