"""Styles every page carries, kept as CSS files under ``ui/components/style/`` (read once, served with the page;
nothing is fetched from the network)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

_STYLE = Path(__file__).parent / "components" / "style"
FORCED_COLORS_CSS = (_STYLE / "forced_colors.css").read_text(encoding="utf-8")


def apply_page_style() -> None:
    """The page's own style sheet: widgets' states drawn in system colours under forced colours
    (``forced_colors.css`` says why). A ``<style>``-only ``st.html`` takes no room on the page."""
    st.html(f"<style>{FORCED_COLORS_CSS}</style>")
