"""Shared fixtures: where the real receipts live, and an isolated workspace per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RECEIPT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def require_shared_data(*parts: str) -> Path:
    """Path into ../shared/data, failing (not skipping) with a clear message when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"real receipt data not found at {path}. Tests read CORD and WildReceipt from ../shared/data "
            "beside the repo (CI provides it); set RECEIPT_SHARED_DATA to point elsewhere.",
            pytrace=False,
        )
    return path


@pytest.fixture
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture
def workspace_home(tmp_path, monkeypatch) -> Path:
    """An empty workspace folder, also exported as RECEIPT_STUDIO_HOME for code that reads the env."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(home))
    return home
