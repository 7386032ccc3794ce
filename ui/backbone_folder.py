"""Train's LayoutLM folder: the box a local backbone is typed in, with this workspace's pre-trained backbones
offered beside it (walkthrough 52 found its pre-trained backbone's folder only in the command line's last line)."""

from __future__ import annotations

from streamlit.delta_generator import DeltaGenerator

from receipt_core.training.pretrained_backbones import pretrained_backbones
from receipt_core.workspace.store import Workspace
from ui.literal import literal
from ui.shared import server_folders, user_errors

SHOWN = 3  # pre-trained backbones named under the box; the rest counted


def backbone_folder_input(column: DeltaGenerator, ws: Workspace) -> str:
    """The typed folder, resolved inside the server folders with its files' links checked (probe 48); "" when none
    is typed or it is refused (the refusal is said)."""
    pretrained = pretrained_backbones(ws)
    typed = column.text_input("LayoutLM folder on the server", persist_state="session", key="train_backbone_dir",
                              placeholder=pretrained[0].typed if pretrained else "runs/<pre-training run id>/backbone",
                              help="A folder holding a transformers LayoutLM checkpoint (config.json, weights, "
                                   "tokenizer), inside the server's data folders (the workspace, assets/, the shared "
                                   "data); a relative path is read from the workspace")
    if pretrained:
        column.caption("Pre-trained in this workspace (type one above): " + "; ".join(
            f"{literal(found.typed)} ({literal(found.run_name)})" for found in pretrained[:SHOWN])
            + (f" and {len(pretrained) - SHOWN} more" if len(pretrained) > SHOWN else "") + ".")
    if not typed.strip():
        return ""
    with user_errors("Reading the backbone"):
        return str(server_folders().folder_inside(typed))
    return ""
