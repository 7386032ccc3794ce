"""Items for words labelled from a model's suggestions: an accepted item word (an item's name, unit price, price or
quantity) that belongs to no item is put into one, by receipt line, as ``items.assemble_items`` groups a
prediction's words (what Predict and the suggestion showed). Without it every accepted quantity was "in no item",
and Mark done asked the annotator to pick each one's item by hand.

- A line holding an item already (a person's group, or an import's) gives its other item words to that item.
- Else a line with an item name (labelled, or suggested and not accepted yet) starts a new item.
- Else a line with a price or quantity but no name joins the item of the line before it (a name printed above
  its price).
"""

from __future__ import annotations

import dataclasses
from typing import Collection, Sequence

from .document import MAX_GROUP_ID, Word
from .schema import ITEM_FIELDS, QUANTITY


def free_group_id(used: Collection[int]) -> int:
    """An item number not in ``used``: one past the largest, or, when that is past ``MAX_GROUP_ID`` (an imported
    receipt numbered its items up to it), the smallest free one. A larger number made a receipt's own export
    unimportable (a probe)."""
    after = max(used, default=-1) + 1
    return after if after <= MAX_GROUP_ID else next(n for n in range(len(used) + 1) if n not in used)


def group_accepted_items(words: Sequence[Word], accepted: Collection[int]) -> list[Word]:
    """``words`` with each accepted item word that has no ``group_id`` put into an item (see the module)."""
    words = list(words)
    used = {w.group_id for w in words if w.group_id is not None}
    lines: dict[int, list[int]] = {}
    for index, word in enumerate(words):
        if _item_label(word) is not None:
            lines.setdefault(word.line_id, []).append(index)
    previous: int | None = None  # the item of the latest line that held one
    for indices in lines.values():
        waiting = [i for i in indices if i in accepted and words[i].group_id is None]
        group = next((words[i].group_id for i in indices if words[i].group_id is not None), None)
        if group is None and waiting:
            if any(_item_label(words[i]) == "ITEM_NAME" for i in indices):
                group = free_group_id(used)
                used.add(group)
            else:
                group = previous
        for i in waiting if group is not None else ():
            words[i] = dataclasses.replace(words[i], group_id=group)
        previous = group if group is not None else previous
    return words


def _item_label(word: Word) -> str | None:
    """The word's item label (a field of an item, or quantity), from its label or, while nobody labelled it, from
    its pending suggestion (a name not accepted yet still starts its line's item); None for any other word."""
    label = word.annotation_label if word.is_labelled else (
        word.suggestion.annotation_label if word.suggestion is not None else None)
    return label if label in (*ITEM_FIELDS, QUANTITY) else None
