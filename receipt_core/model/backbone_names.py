"""The backbones known by name (``backbones.py`` builds them), and the first check of a name or folder. Pure
Python, so the CLI and the pages list the choices, and refuse a missing folder, without loading torch or
transformers."""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_BACKBONE = "layout-minilm"
BACKBONE_NAMES = ("layout-minilm", "text-minilm", "tiny")
TEXT_ONLY_BACKBONES = ("text-minilm",)  # every token gets the box [0, 0, 0, 0]: the 2-D tables see no layout


PRETRAINED_BACKBONE_DIR = "backbone"  # where a pre-training run saves its backbone, inside its run folder


def unfinished_pretraining(name_or_path: str) -> str | None:
    """A note when ``name_or_path`` is a ``pretrain`` output whose run never finished (killed: its pretrain.json has
    no result), else None. A probe's killed pre-training left a folder ``train --backbone`` took without a word."""
    info = Path(name_or_path).expanduser() / "pretrain.json"
    try:
        data = json.loads(info.read_text(encoding="utf-8")) if info.is_file() else None
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("result") is None and "unfinished_at_epoch" in data:
        return (f"{name_or_path} holds an unfinished pre-training (it ended without its summary, after epoch "
                f"{data['unfinished_at_epoch']}): its weights are those of its last save")
    return None


def backbone_source_problem(name_or_path: str) -> str | None:
    """Why ``name_or_path`` names no backbone to load, or None: a known name, or a folder holding config.json (the
    folder's contents are checked when it is loaded). Looks at the file system only; reads no file."""
    if name_or_path in BACKBONE_NAMES:
        return None
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            inside = path / PRETRAINED_BACKBONE_DIR  # a pre-training run's folder, given for its backbone (a probe)
            hint = f"; a pre-training run keeps its backbone in {inside}: give that folder" \
                if (inside / "config.json").is_file() else ""
            return f"{path} is not a transformers checkpoint: it has no config.json{hint}"
        return None
    if path.exists() or "/" in name_or_path or "\\" in name_or_path:  # meant as a folder, not as a name
        what = "is a file, not a folder" if path.exists() else "does not exist"
        return (f"the backbone folder {str(path)!r} {what}: give the folder that holds a transformers LayoutLM "
                f"checkpoint (config.json + weights), or one of {', '.join(BACKBONE_NAMES)}")
    return (f"unknown backbone {name_or_path!r}: use one of {', '.join(BACKBONE_NAMES)} or a local directory "
            "holding a transformers LayoutLM checkpoint (config.json + weights)")
