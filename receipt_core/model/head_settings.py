"""The shape of the task heads (:class:`HeadSettings`): which head, what it reads, how big. A checkpoint stores it
(``to_json``); an old checkpoint without it rebuilds the original head (``linear`` on the last layer). The heads
themselves are in ``heads.py``; this module is pure Python, so the CLI and the pages read the choices without
loading torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping


HEAD_KINDS = ("linear", "contextual")
LAYER_MIXES = ("off", "top", "uniform")
# as Train names them: "top" alone read as the top layer only (a walkthrough)
LAYER_MIX_LABELS = {"off": "the last layer only", "top": "a mix of all layers, from the top",
                    "uniform": "a mix of all layers, even"}
MAX_SIZE, MAX_DEPTH = 1024, 4  # a contextual head stays small (and a run.json cannot ask for a huge one)


@dataclass(frozen=True)
class HeadSettings:
    """The shape of both task heads (what each kind is: ``heads.py``)."""

    kind: str = "linear"
    layer_mix: str = "off"
    size: int = 256  # contextual: width of its encoder
    depth: int = 1  # contextual: transformer encoder layers
    boxes: bool = True  # contextual: add box features to each word
    hidden: int = 0  # linear: an MLP hidden layer of this width (0: a single Linear)
    dropout: float = 0.1

    def describe(self) -> str:
        """The heads in a few words, for a page: "contextual heads (1 layer, width 256, with word boxes) over a
        learned mix of every layer" or "linear heads on the last layer"."""
        reads = "on the last layer" if self.layer_mix == "off" else "over a learned mix of every layer"
        if self.kind == "linear":
            return f"linear heads{f' (an MLP of width {self.hidden})' if self.hidden else ''} {reads}"
        layers = f"{self.depth} layer{'s' if self.depth != 1 else ''}"
        return f"contextual heads ({layers}, width {self.size}{', with word boxes' if self.boxes else ''}) {reads}"

    def __post_init__(self) -> None:
        if self.kind not in HEAD_KINDS:
            raise ValueError(f"head must be one of {', '.join(HEAD_KINDS)}, got {self.kind!r}")
        if self.layer_mix not in LAYER_MIXES:
            raise ValueError(f"layer mix must be one of {', '.join(LAYER_MIXES)}, got {self.layer_mix!r}")
        if not 8 <= self.size <= MAX_SIZE:
            raise ValueError(f"head size must be a whole number from 8 to {MAX_SIZE}, got {self.size}")
        if self.size % attention_heads(self.size):
            raise ValueError(f"head size {self.size} must be divisible by its {attention_heads(self.size)} attention "
                             f"heads (one per 64 of width, at most 8)")
        if not 1 <= self.depth <= MAX_DEPTH:
            raise ValueError(f"head depth must be 1 to {MAX_DEPTH} layers, got {self.depth}")
        if not 0 <= self.hidden <= 16_384:
            raise ValueError(f"head hidden width must be 0 to 16384, got {self.hidden}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"head dropout must be in [0, 1), got {self.dropout}")

    @property
    def mixes_layers(self) -> bool:
        return self.layer_mix != "off"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "HeadSettings":
        """Back from ``to_json``; missing keys take the original head's values (old checkpoints)."""
        data = dict(data or {})
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def attention_heads(size: int) -> int:
    """Attention heads of a contextual head of width ``size``: 64-wide heads, at least one, at most 8."""
    return max(1, min(8, size // 64))
