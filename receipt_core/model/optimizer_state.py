"""An optimizer's state as tensors plus JSON, for a checkpoint's ``training_state.safetensors`` (no pickle): what a
resumed run needs to go on with the same Adam moments and parameter groups."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from .run_manifest import CheckpointError


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's per-parameter state as tensors ``state.<index>.<name>`` plus its groups' JSON."""
    packed = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, values in packed["state"].items():
        for name, value in values.items():
            key = f"state.{index}.{name}"
            if isinstance(value, torch.Tensor):
                tensors[key] = value
            else:
                scalars[key] = value
    groups = [{k: v for k, v in group.items()} for group in packed["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor],
                           meta: Mapping[str, Any]) -> None:
    """Load what :func:`optimizer_to_tensors` produced into an optimizer built over the same parameters."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in meta.get("scalars", {}).items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    current = optimizer.state_dict()
    saved_groups = list(meta.get("param_groups", []))
    if len(saved_groups) != len(current["param_groups"]) or any(
            len(a["params"]) != len(b["params"]) for a, b in zip(saved_groups, current["param_groups"])):
        raise CheckpointError("the saved optimizer state does not match this model's parameter groups")
    optimizer.load_state_dict({"state": state, "param_groups": saved_groups})
