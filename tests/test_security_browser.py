"""Issue 17, defects 1 and 2 against a real server in real Chromium: a dataset name typed into the Data page cannot
write outside the workspace, and a stored dataset name is shown as text, never as Markdown."""

from __future__ import annotations

import json
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


# A study folder copied from someone else (Runs → Studies tells people to copy studies there): every text in it is
# shown as text. Found by a probe: its claim, verdict and evidence rendered as live links, colour and bold.
HOSTILE_STUDY = {
    "format": "receipt-mtl/study", "version": 1,
    "settings": {"seed": 1, "repeats": 1, "budget_minutes": 1.0},
    "configurations": [{"backbone": "tiny", "scenario": "full", "runs": [
        {"seed": 0, "metrics": {"fields.micro_f1": 0.5}, "train_s": 1, "trainable_parameters": 10, "epochs": 1}]}],
    "data": {"train": "a", "eval": "b", "train_documents": 1, "eval_documents": 1},
    "command": "x", "started": "now", "finished": "later",
    "claims": [{"claim": "**claim** [claimlink](https://evil.example/c) www.evil.example",
                "verdict": "held :red[red] :material/home:",
                "evidence": "![img](http://127.0.0.1:9/ev.png) http://127.0.0.1:9/bare.png me@evil.example :smile:"}],
    "notes": ["[notelink](https://evil.example/n)"],
}


def _seed(home: Path) -> None:
    doc = Document(id="r1", width=400, height=600, words=(Word(text="TOTAL", box=(10, 10, 60, 30)),))
    Workspace.open(home).save_documents(NAME, [doc])
    folder = home / "studies" / "copied"
    folder.mkdir(parents=True)
    (folder / "study.json").write_text(json.dumps(HOSTILE_STUDY))


def test_a_dataset_name_is_shown_as_text_not_markdown(server):
    url, _ = server
    with chromium_page() as page:
        open_page(page, url, "data")
        page.get_by_role("tab", name="Receipts").click()
        wait_idle(page)
        body = page.locator('[data-testid="stMain"]')
        assert NAME in body.inner_text()  # the underscores are still there: not turned into bold
        assert body.locator("strong", has_text="bold").count() == 0


def test_a_copied_study_shows_its_claims_as_text_without_links_images_or_colour(server):
    url, _ = server
    fetched: list[str] = []
    with chromium_page() as page:
        page.on("request", lambda request: fetched.append(request.url))
        open_page(page, url, "runs")
        page.get_by_role("tab", name="Studies").click()
        page.get_by_role("button", name="copied", exact=True).click()
        page.get_by_text("claimlink").first.wait_for(timeout=60_000)
        wait_idle(page)
        main = page.locator('[data-testid="stMain"]')
        text = main.inner_text()
        hrefs = [a.get_attribute("href") or "" for a in main.locator("a").all()]
        assert not [h for h in hrefs if "evil" in h or "127.0.0.1:9" in h or h.startswith("mailto")], hrefs
        assert main.locator("img").count() == 0
        assert main.locator('[role="img"]').count() == 0  # no Material icon
        assert main.locator("strong", has_text="claimlink").count() == 0 or "**claim**" in text
        for shown in ("**claim** [claimlink](https://evil.example/c)", "Held :red[red] :material/home:", ":smile:",
                      "![img](http://127.0.0.1:9/ev.png)", "[notelink](https://evil.example/n)"):
            assert shown in text.replace("\u2060", ""), (shown, text[-1500:])
    assert not [u for u in fetched if "127.0.0.1:9" in u or "evil" in u], fetched


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
    # the name and the character as code (their quotes gone), the rest as prose
    assert "dataset name" in text.lower() and "contains /;" in text, text[-600:]
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
