"""Which words of a Label Studio task make one item: its ``item`` relations, as Label Studio edits them, or the
``group`` numbers this project's export writes beside them (:func:`item_numbers`)."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Mapping

from ..data.document import MAX_GROUP_ID
from ._common import short_id, shown
from .label_studio_template import GROUP, ITEM_RELATION


def item_numbers(results: list[Mapping], regions: Mapping[str, Mapping], notes: list[str]) -> dict[str, int]:
    """Region id -> item number. Items joined by ``item`` relations decide (numbered from 0), with a one-word item
    kept from its ``group`` Number tag (no relation can join one word); without relations, the ``group`` numbers.
    This project's export writes both, and an item edited in Label Studio's own way (a region drawn and linked, a
    relation deleted) changes only the relations: a probe's edits came back ignored, the numbers winning. When the
    two disagree the import says so. A group number that is no whole number from 0 to 10**9 is noted and leaves
    its word out of any item (unless a relation puts it in one)."""
    explicit = {rid: int(r[GROUP]) for rid, r in regions.items()
                if isinstance(r.get(GROUP), (int, float)) and not isinstance(r.get(GROUP), bool)
                # in range first: float(10**400) fails
                and 0 <= r[GROUP] <= MAX_GROUP_ID and float(r[GROUP]).is_integer()}
    unreadable = [rid for rid, region in regions.items() if region.get(GROUP) is not None and rid not in explicit]
    linked = _linked_items(results, regions, notes)
    if not linked:
        notes.extend(f"region {short_id(rid)}: item number {shown(regions[rid][GROUP])} is not a whole number from "
                     "0; in no item" for rid in unreadable)
        return explicit
    groups = dict(linked)
    sizes = Counter(explicit.values())
    numbers = itertools.count(len(set(linked.values())))  # after the linked items' numbers
    for rid, number in explicit.items():  # a one-word item: no relation can say it
        if rid not in groups and sizes[number] == 1:
            groups[rid] = next(numbers)
    if not explicit:
        return groups
    if _partition(explicit) == _partition(groups):
        return explicit  # the two agree: the numbers as they were
    notes.append("the item relations and the item numbers (group) disagree: items follow the relations, as "
                 "Label Studio edits them")
    return groups


def _linked_items(results: list[Mapping], regions: Mapping[str, Mapping], notes: list[str]) -> dict[str, int]:
    """Region id -> item number of the words that ``item`` relations join (numbered from 0); {} without any. An
    ``item`` relation whose ends are no region of the task is noted (a probe's ``"nope"`` and ``{"a": 1}`` were
    dropped without a word)."""
    parent = {rid: rid for rid in regions}

    def root(rid: str) -> str:
        while parent[rid] != rid:
            parent[rid] = parent[parent[rid]]
            rid = parent[rid]
        return rid
    loose: list[str] = []
    for result in results:
        if result.get("type") != "relation" or not _is_item_link(result):
            continue
        a, b = result.get("from_id"), result.get("to_id")
        if isinstance(a, str) and isinstance(b, str) and a in parent and b in parent:
            parent[root(a)] = root(b)
        else:
            loose.append(f"{shown(a)} → {shown(b)}")
    if loose:
        notes.append(f"{len(loose)} item relation{'s join' if len(loose) != 1 else ' joins'} no two words of the task "
                     f"({', '.join(loose[:3])}{', …' if len(loose) > 3 else ''}): left out")
    members: dict[str, list[str]] = {}
    for rid in regions:
        members.setdefault(root(rid), []).append(rid)
    roots: dict[str, int] = {}
    return {rid: roots.setdefault(r, len(roots)) for r, rids in members.items() if len(rids) > 1 for rid in rids}


def _partition(groups: Mapping[str, int]) -> set[frozenset[str]]:
    """Items as sets of region ids, whatever their numbers."""
    items: dict[int, set[str]] = {}
    for rid, number in groups.items():
        items.setdefault(number, set()).add(rid)
    return {frozenset(rids) for rids in items.values()}


def _is_item_link(relation: Mapping) -> bool:
    """A relation of the ``item`` kind this project's label config declares (other projects link keys to values,
    for example: such a relation made its two words one item)."""
    labels = relation.get("labels")
    return isinstance(labels, list) and ITEM_RELATION in labels
