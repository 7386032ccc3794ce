"""The backbones known by name (``backbones.py`` builds them), and the first check of a name or folder. Pure
Python, so the CLI and the pages list the choices, and refuse a missing folder, without loading torch or
transformers."""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_BACKBONE = "layout-minilm"
BACKBONE_NAMES = ("layout-minilm", "text-minilm", "tiny")
# what each is, as the Train and Race pages say it (Race's said only tiny: walkthrough 59)
BACKBONE_NAMES_HELP = ("layout-minilm: MiniLM-L6 with 2-D layout embeddings; text-minilm: the same without layout; "
                       "tiny: small and random, for instant demos")
TEXT_ONLY_BACKBONES = ("text-minilm",)  # every token gets the box [0, 0, 0, 0]: the 2-D tables see no layout
NAMED_ENCODER_LAYERS = {"layout-minilm": 6, "text-minilm": 6, "tiny": 2}  # MiniLM-L6; backbones.tiny_layoutlm
# backbones that are one model computing alike (text-minilm is layout-minilm given zero boxes): a step costs the same
_COST_FAMILY = {"layout-minilm": "minilm", "text-minilm": "minilm"}


def same_cost(backbone: object, other: object) -> bool:
    """Whether runs of two backbones (names or folders) take as long a step: the same one, or two of one family."""
    return backbone == other or (isinstance(backbone, str) and isinstance(other, str)
                                 and _COST_FAMILY.get(backbone, backbone) == _COST_FAMILY.get(other, other))


PRETRAINED_BACKBONE_DIR = "backbone"  # where a pre-training run saves its backbone, inside its run folder
SMALL_JSON_MAX_BYTES = 1 << 20  # a config.json or pretrain.json is a few KB


def _small_json(path: Path) -> object:
    """The JSON of ``path`` when it is a regular file of at most a megabyte, else None (a FIFO or a link to /dev/zero
    is never opened: reading one would block or fill the memory); OSError or ValueError when it cannot be read."""
    if not path.is_file() or path.stat().st_size > SMALL_JSON_MAX_BYTES:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def unfinished_pretraining(name_or_path: str) -> str | None:
    """A note when ``name_or_path`` is a ``pretrain`` output whose run never finished (killed: its pretrain.json has
    no result), else None. A probe's killed pre-training left a folder ``train --backbone`` took without a word."""
    info = Path(name_or_path).expanduser() / "pretrain.json"
    try:
        data = _small_json(info)
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("result") is None and "unfinished_at_epoch" in data:
        return (f"{name_or_path} holds an unfinished pre-training (it ended without its summary, after epoch "
                f"{data['unfinished_at_epoch']}): its weights are those of its last save")
    return None


def backbone_label(name_or_path: str) -> str:
    """A backbone as a run's name says it: a name as it is, a folder by its last two parts
    (``20261207-175849-94f209/backbone``): walkthrough 52's runs were named by the whole path, which wrapped over
    three lines in Train's header and the sidebar (the run's settings keep the whole path)."""
    if name_or_path in BACKBONE_NAMES:
        return name_or_path
    parts = Path(name_or_path).parts
    return "/".join(parts[-2:]) if len(parts) > 2 else name_or_path


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
            if not hint and (path / "run.json").is_file():  # a probe gave a trained run's folder
                # said for both places a run is continued (walkthrough 52 read only the command line's on Train)
                hint = ("; it is a trained run's folder (a checkpoint of the two-head model), not a backbone: "
                        "continue that run (Runs → Resume, or train --resume on the command line), or give a "
                        "backbone name or folder")
            if os.path.lexists(path / "config.json"):  # a link to /dev/zero, a FIFO, a folder (a probe)
                return f"{path} is not a transformers checkpoint: its config.json is not a regular file"
            return f"{path} is not a transformers checkpoint: it has no config.json{hint}"
        return None
    if path.exists() or "/" in name_or_path or "\\" in name_or_path:  # meant as a folder, not as a name
        # a link that loops or leads to nothing was "does not exist" beside the link a probe could list (probe 68)
        what = ("is a file, not a folder" if path.exists() else "is a symbolic link that leads to no folder (it "
                "loops, or what it names is gone)" if path.is_symlink() else "does not exist")
        return (f"the backbone folder {str(path)!r} {what}: give the folder that holds a transformers LayoutLM "
                f"checkpoint (config.json + weights), or one of {', '.join(BACKBONE_NAMES)}")
    return (f"unknown backbone {name_or_path!r}: use one of {', '.join(BACKBONE_NAMES)} or a local directory "
            "holding a transformers LayoutLM checkpoint (config.json + weights)")


def encoder_layers(name_or_path: str) -> int | None:
    """How many encoder layers the backbone has: from the table for a name, from ``num_hidden_layers`` in a
    folder's config.json; None when that cannot be read (loading the backbone then says why)."""
    if name_or_path in NAMED_ENCODER_LAYERS:
        return NAMED_ENCODER_LAYERS[name_or_path]
    try:
        layers = _small_json(Path(name_or_path).expanduser() / "config.json")
        layers = layers.get("num_hidden_layers") if isinstance(layers, dict) else None
    except (OSError, ValueError):
        return None
    return layers if isinstance(layers, int) and not isinstance(layers, bool) and layers > 0 else None
