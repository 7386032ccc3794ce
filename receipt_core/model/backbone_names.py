"""The backbones known by name (``backbones.py`` builds them), and the first check of a name or folder. Pure
Python, so the CLI and the pages list the choices, and refuse a missing folder, without loading torch or
transformers."""

from __future__ import annotations

from pathlib import Path

DEFAULT_BACKBONE = "layout-minilm"
BACKBONE_NAMES = ("layout-minilm", "text-minilm", "tiny")
TEXT_ONLY_BACKBONES = ("text-minilm",)  # every token gets the box [0, 0, 0, 0]: the 2-D tables see no layout


def backbone_source_problem(name_or_path: str) -> str | None:
    """Why ``name_or_path`` names no backbone to load, or None: a known name, or a folder holding config.json (the
    folder's contents are checked when it is loaded). Looks at the file system only; reads no file."""
    if name_or_path in BACKBONE_NAMES:
        return None
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            return f"{path} is not a transformers checkpoint: it has no config.json"
        return None
    if path.exists() or "/" in name_or_path or "\\" in name_or_path:  # meant as a folder, not as a name
        what = "is a file, not a folder" if path.exists() else "does not exist"
        return (f"the backbone folder {str(path)!r} {what}: give the folder that holds a transformers LayoutLM "
                f"checkpoint (config.json + weights), or one of {', '.join(BACKBONE_NAMES)}")
    return (f"unknown backbone {name_or_path!r}: use one of {', '.join(BACKBONE_NAMES)} or a local directory "
            "holding a transformers LayoutLM checkpoint (config.json + weights)")
