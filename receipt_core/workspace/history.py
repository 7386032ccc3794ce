"""The undo history's records: one entry of a change, and what an undo (or redo) put back, said for the person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

HISTORY_KINDS = ("label", "suggest", "accept", "reject", "review", "group", "correct")


ANY_ACTION = -1  # Workspace.undo's seen_action when the caller does not say which change it saw


@dataclass(frozen=True)
class HistoryEntry:
    action: int  # the entries of one user action share it
    doc_id: str
    kind: str  # one of HISTORY_KINDS
    word_index: int | None  # None for a review change or a correction
    before: Mapping[str, Any]  # the word's JSON ({"reviewed": bool}, or {"words": [...]}) before the change
    after: Mapping[str, Any]
    undone: bool
    created_at: float


@dataclass(frozen=True)
class Undone:
    """What :meth:`AnnotationStore.undo` put back (or :meth:`AnnotationStore.redo` did again)."""

    action: int
    doc_id: str
    kind: str
    words: int  # how many words it put back (0 for a review change; a correction: the words now)
    summary: str = ""  # a correction's own description ("word 4: text '2x' -> '2 x'")
    first_word: int | None = None  # the first word a change put back (where to look); None for a done mark
    redone: bool = False  # Redo did the change again (Undo took it back)
    marked_done: bool = False  # a review change that left the receipt marked done (Redo of a mark, Undo of its removal)

    def word_to_show(self, words: int) -> int | None:
        """The word the editor should select after this undo (the first it put back, when the receipt of ``words``
        words still has it), so the person sees what came back; None to leave the selection."""
        return self.first_word if self.first_word is not None and self.first_word < words else None

    def describe(self) -> str:
        """One line for the person who pressed Undo: what was undone, on how many words."""
        what = UNDO_NAMES.get(self.kind, self.kind)
        if self.redone:
            done = f"Redid the {what} that Undo had taken back"
            return f"{done}, which was {self.summary}." if self.summary else (
                f"{done}." if self.kind == "review" else f"{done} ({self.words} word{'' if self.words == 1 else 's'}).")
        if self.summary:
            return f"Undid the last {what}, which was {self.summary}; the receipt is as it was before it."
        if self.kind == "review":
            return f"Undid the last {what}."
        return f"Undid the last {what} ({self.words} word{'' if self.words == 1 else 's'})."


UNDO_NAMES = {"label": "label or quantity change", "suggest": "pre-fill", "accept": "acceptance of suggestions",
              "reject": "rejection of suggestions", "review": "done mark", "group": "item change",
              "correct": "correction"}
"""What each history kind is called when it is undone."""
