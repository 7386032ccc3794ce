"""The backbones this workspace's pre-training runs saved, where Train's LayoutLM folder and ``train --backbone``
read them: ``runs/<run id>/backbone``. Walkthrough 52 found its pre-trained backbone's folder only in the command
line's last line: Runs named no folder, and Train's folder box offered no path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..model.backbone_names import PRETRAINED_BACKBONE_DIR
from ..workspace.runs import SAVED_STATUSES, RunRecord
from ..workspace.store import Workspace
from .run_settings import is_pretraining


@dataclass(frozen=True)
class PretrainedBackbone:
    run_id: str
    run_name: str  # as the run was started (Runs may show a name given since)
    folder: Path  # absolute, as the workspace names it (its links not followed)
    typed: str  # the folder as Train's box takes it: relative to the workspace


def pretrained_backbone(workspace: Workspace, run: RunRecord) -> PretrainedBackbone | None:
    """The backbone ``run`` saved, when it is a pre-training run that ended with one; else None."""
    if not is_pretraining(run.config) or run.status not in SAVED_STATUSES:
        return None
    folder = workspace.runs_dir / run.id / PRETRAINED_BACKBONE_DIR
    try:  # a folder that leads out of the workspace is none of its runs' (probe 55 linked one out: the page said
        # where the link led, and offered a path Train then refused)
        inside = folder.resolve().is_relative_to(Path(workspace.home).resolve())
        held = inside and (folder / "config.json").is_file()
    except (OSError, RuntimeError):
        return None
    if not held:
        return None
    return PretrainedBackbone(run.id, run.name, folder.absolute(), str(folder.relative_to(workspace.home)))


def pretrained_backbones(workspace: Workspace) -> list[PretrainedBackbone]:
    """Every backbone the workspace's pre-training runs saved, newest first."""
    return [found for run in workspace.list_runs() if (found := pretrained_backbone(workspace, run)) is not None]
