"""Keyboard labelling on the Annotate page: the key map, the listener component, and what a key press does.

The listener is a Streamlit custom component (``st.components.v2``, inline JavaScript read from
``ui/components/keyboard/keys.js``; nothing is fetched from the network). It is not sandboxed in an iframe, so it
hears key presses anywhere on the page, and it lives inside the word editor's fragment, so a key press reruns only
that fragment. :func:`apply_keys` is plain Python (no Streamlit): what a sequence of presses does to the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import streamlit as st

from receipt_core.data.annotation import new_group_id
from receipt_core.data.document import WordLabel, WordLayout
from receipt_core.data.review import DONE, receipt_status
from receipt_core.data.schema import DEFAULT_SCHEMA, OTHER, QUANTITY, LabelSchema
from receipt_core.wording import counted
from receipt_core.workspace.database import NotFoundError
from receipt_core.workspace.store import ANY_ACTION, ReceiptChangedError, Workspace, WorkspaceError
from ui.annotate_state import gone_message

NEXT_WORD, PREVIOUS_WORD, NEXT_RECEIPT, ACCEPT, UNDO, REDO = ("next word", "previous word", "next receipt", "accept",
                                                               "undo", "redo")
NEW_ITEM, PREVIOUS_ITEM = "new item", "item of the word before"
MARK_DONE, PREVIOUS_RECEIPT, SUGGEST = "mark done", "previous receipt", "suggest labels"
# d and b: a walkthrough had to reach for the mouse to finish every receipt (Label Studio submits from the keyboard)
ACTION_KEYS = {"ArrowDown": NEXT_WORD, "j": NEXT_WORD, "ArrowUp": PREVIOUS_WORD, "k": PREVIOUS_WORD,
               "n": NEXT_RECEIPT, "b": PREVIOUS_RECEIPT, "a": ACCEPT, "z": UNDO, "y": REDO, "i": NEW_ITEM,
               "p": PREVIOUS_ITEM, "d": MARK_DONE, "s": SUGGEST}
COMPONENT_NAME = "receipt_annotate_keys"
MAX_PRESSES_PER_RUN = 50  # key presses handled per rerun (a probe: the component took a list of any length)
_JS = (Path(__file__).parent / "components" / "keyboard" / "keys.js").read_text(encoding="utf-8")


def label_keys(schema: LabelSchema = DEFAULT_SCHEMA) -> dict[str, str]:
    """A key per annotation label: ``0`` for OTHER, ``1``–``9`` for the next nine fields, then each remaining
    field's first free letter of its name, and ``q`` for QUANTITY (keys of actions are never used)."""
    keys = {"0": schema.fields[0], "q": QUANTITY}
    for digit, label in zip("123456789", schema.fields[1:10]):
        keys[digit] = label
    taken = set(keys) | set(ACTION_KEYS)
    for label in schema.fields[10:]:
        letter = next((c for c in label.lower() if c.isalpha() and c not in taken), None)
        if letter is not None:
            keys[letter] = label
            taken.add(letter)
    return keys


def key_help(schema: LabelSchema = DEFAULT_SCHEMA) -> str:
    """The key map in one line, for a caption."""
    labels = " · ".join(f"{key} {label}" for key, label in label_keys(schema).items())
    return (f"Keys: {labels} — ↓/j next word · ↑/k previous word · a accept the suggestion · i new item · "
            "p the item of the word before (past unlabelled and OTHER words) · s suggest labels from the chosen run "
            "· z undo · y redo · d mark done · n next receipt · b previous receipt. A label key saves and moves to "
            "the next word; i and p stay on it (the line's labelled item words join the item too).")


@dataclass(frozen=True)
class KeysView:
    """A receipt as this session's key presses know it: its words' labels and its latest change as the page drew
    them, brought up to date by the presses' own changes. A key callback registered by an earlier draw (one whose
    rerun a faster press cut short) still holds that draw's receipt; judged by it, the session's own label of a
    moment before read as another session's, and the press was refused ("nothing was saved", a probe)."""

    doc_id: str
    labels: tuple[WordLabel, ...]
    action: int | None


@dataclass
class KeyOutcome:
    index: int  # the selected word after the presses
    receipt_step: int = 0  # 1: on to the next receipt ("n"), -1: back to the previous one ("b")
    after_next: list[str] = field(default_factory=list)  # presses after "n", "b" or "d": for the receipt drawn next
    marked_done: bool = False  # "d" marked the receipt done (or an undo or redo put the done mark back)
    changed: bool = False  # something was saved or undone
    messages: list[str] = field(default_factory=list)  # what went wrong or was left alone (warnings)
    notice: str | None = None  # what an undo took back (information, not a warning)
    stale: bool = False  # refused: another session changed the receipt's words since the page showed them
    seen_labels: tuple[WordLabel, ...] | None = None  # the labels as known after the presses (their own included)
    seen_action: int | None = None  # the latest change as known after the presses


def apply_keys(ws: Workspace, doc_id: str, index: int, words: int, keys: Sequence[str],
               schema: LabelSchema = DEFAULT_SCHEMA, seen: WordLayout | None = None,
               seen_action: int | None = ANY_ACTION, seen_labels: Sequence[WordLabel] | None = None,
               suggest: Callable[[], str] | None = None) -> KeyOutcome:
    """Apply key presses in order to word ``index`` of ``doc_id`` (``words`` words): a label key labels the word
    and moves on, accept takes its suggestion and moves on, new item / item of the word before put the word in an item
    and stay, undo takes back the last change of the receipt, redo does again what undo took back. ``seen``: the
    receipt's words as the page showed them; a label or accept after another session changed them is refused
    (``ReceiptChangedError``, said in ``messages``) rather than put on another word. ``seen_action``: the
    receipt's latest change as the page showed it; an undo (or redo) of a change made since elsewhere is refused
    too (a change these presses made is theirs to undo). ``seen_labels``: the words' labels as shown; a label key
    on a word another session labelled since is refused the same way (these presses' own labels are theirs to
    change). ``suggest``: stores the chosen run's suggestions on the receipt and says how many (``s``); None when
    no run is chosen."""
    by_key = label_keys(schema)
    outcome = KeyOutcome(index=index)
    for position, key in enumerate(keys):
        action = ACTION_KEYS.get(key)
        try:
            if key in by_key and words:
                saved = ws.update_word(doc_id, outcome.index, by_key[key], schema=schema, seen=seen,
                                       seen_labels=seen_labels)
                seen_labels = None if seen_labels is None else saved.word_labels
                labelled = saved.words[outcome.index]
                if by_key[key] == QUANTITY and labelled.quantity_value is None:  # as accepting such a suggestion
                    # says (a walkthrough), naming where: the next word is selected now, so its
                    # Quantity box is another's (walkthrough 65 looked for "the table" in the word panel)
                    outcome.messages.append(f"word {outcome.index} ({labelled.text!r}) is now {QUANTITY} but holds "
                                            "no number: type its value in the word table's \"quantity value\" "
                                            "column, under the receipt, or "
                                            + ("press k and type it" if outcome.index + 1 < words else "type it")
                                            + " in the Quantity box")
                outcome.changed = True
                seen_action = _own_change(ws, doc_id, seen_action)
                outcome.index = min(outcome.index + 1, words - 1)
            elif action == NEXT_WORD and words:
                outcome.index = min(outcome.index + 1, words - 1)
            elif action == PREVIOUS_WORD:
                outcome.index = max(outcome.index - 1, 0)
            elif action == ACCEPT and words:
                result = ws.accept_suggestions(doc_id, [outcome.index], seen=seen)
                outcome.messages.extend(result.skipped)
                if not result.changes and not result.skipped:
                    outcome.messages.append(f"word {outcome.index} has no suggestion to accept")
                outcome.changed = outcome.changed or bool(result.changes)
                if seen_labels is not None and result.changes:
                    seen_labels = result.document.word_labels
                outcome.index = min(outcome.index + 1, words - 1)
                seen_action = _own_change(ws, doc_id, seen_action)
            elif action in (NEW_ITEM, PREVIOUS_ITEM) and words:
                if _put_in_item(ws, doc_id, outcome, action == NEW_ITEM, seen):
                    outcome.changed = True
                    seen_action = _own_change(ws, doc_id, seen_action)
            elif action in (UNDO, REDO):
                undone = (ws.redo if action == REDO else ws.undo)(doc_id, seen_action=seen_action)
                if undone is not None:  # this session's own undo: its words and labels are the ones now
                    now = ws.get_document(doc_id)
                    seen = None if seen is None else now.word_layout
                    seen_labels = None if seen_labels is None else now.word_labels
                seen_action = _own_change(ws, doc_id, seen_action)
                outcome.notice = f"Nothing to {action} on this receipt." if undone is None else undone.describe()
                if undone is not None and (shown := undone.word_to_show(words)) is not None:
                    outcome.index = shown  # the word put back is the one shown (a walkthrough)
                outcome.changed = outcome.changed or undone is not None
                if undone is not None and undone.marked_done:  # the done mark back (y after z, z after "Back to in
                    outcome.marked_done = True  # progress"): its warning and retraining as d's, and the presses
                    outcome.after_next = list(keys[position + 1:])  # after it wait for the redraw as d's do
                    break
            elif action == MARK_DONE:  # as the Mark done button: not offered on a receipt done already
                if receipt_status(ws.get_document(doc_id), ws.is_reviewed(doc_id)) == DONE:
                    outcome.notice = "This receipt is done already: nothing to mark."  # said, as z's no-op is
                    continue
                ws.set_reviewed(doc_id, True)
                # in a toast where the eye is: the page's line above the receipt was out of sight (walkthrough 34)
                outcome.notice = "Marked done: what it still lacks, if anything, is said above the receipt."
                outcome.marked_done = outcome.changed = True
                seen_action = _own_change(ws, doc_id, seen_action)
                # the page redraws with the new status, and a status filter may show another receipt then: the
                # presses after d wait for the redraw (a probe's "d1" labelled a receipt never shown)
                outcome.after_next = list(keys[position + 1:])
                break
            elif action == SUGGEST:  # a keyboard user's way to suggestions: the button was the 54th Tab stop
                if suggest is None:
                    outcome.messages.append("No run to suggest from: choose one under Use a trained run (train one "
                                            "first if there is none)")
                else:
                    outcome.notice = suggest()
                    outcome.changed = True
                    seen_action = _own_change(ws, doc_id, seen_action)
            elif action in (NEXT_RECEIPT, PREVIOUS_RECEIPT):
                outcome.receipt_step = 1 if action == NEXT_RECEIPT else -1
                outcome.after_next = list(keys[position + 1:])  # typed for the next receipt (a probe lost them)
                break
        except ReceiptChangedError as error:
            outcome.messages.append(str(error))
            outcome.stale = True
            break  # the presses after it were meant for the words as shown
        except NotFoundError:  # the receipt, deleted in another session: said as the page says it, nothing more
            outcome.messages.append(gone_message(doc_id))
            break
        except WorkspaceError as error:
            outcome.messages.append(str(error))
    outcome.seen_labels = None if seen_labels is None else tuple(seen_labels)
    outcome.seen_action = seen_action
    return outcome


# The key list, drawn by the script once it listens: a key pressed before the component has loaded (seconds after the
# page is drawn, on a busy server) cannot be heard, and a list shown before then read as keys that work (a probe's
# first press was lost and every later label landed one word early). Caption-like, in the page's own text colour.
# (one rule a line: Streamlit reads a one-line string with "[" in it as a file's path)
_CSS = (".keys-help, .keys-state { font-size: 14px; line-height: 1.6; font-family: inherit; color: inherit; }\n"
        ".keys-help { opacity: 0.6; }\n"
        ".keys-state { height: 1.6em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }\n"
        ".keys-state[data-paused='yes'] { font-weight: 600; }\n"
        ".keys-fold summary { font-size: 14px; cursor: pointer; }\n"
        ".keys-always summary { display: none; }\n")
_component = st.components.v2.component(COMPONENT_NAME, css=_CSS, js=_JS)


def keyboard_listener(key: str, acknowledged: Mapping[str, Any] | None, schema: LabelSchema = DEFAULT_SCHEMA,
                      on_keys=None, view: str | None = None) -> None:
    """Mount the listener (one per page), which shows the key list once it hears keys. ``acknowledged``
    ({"token", "seq"}) tells it which presses Python has handled; ``on_keys`` runs (a callback, before the fragment
    redraws) when keys arrive; ``view``: the receipt shown, which each press typed while it is on screen carries."""
    ack = acknowledged or {}
    _component(key=key, data={"keys": sorted(set(label_keys(schema)) | set(ACTION_KEYS)), "help": key_help(schema),
                              "ack_token": ack.get("token"), "ack": ack.get("seq", 0), "view": view},
               on_keys_change=on_keys or (lambda: None))


def _put_in_item(ws: Workspace, doc_id: str, outcome: KeyOutcome, new: bool, seen: WordLayout | None) -> bool:
    """The selected word put into a new item (``new``) or into the item of the word before it, as the Item picker
    does (the labelled item words of its line in no item join it too); False, with the reason in ``outcome``, when
    there is no such item. A walkthrough labelled a receipt by keys, then grouped every item with the mouse."""
    index = outcome.index
    doc = ws.get_document(doc_id)  # the items as they are now, these presses' own changes included
    if new:
        group, joined = new_group_id(doc), "a new item"
    else:
        before = _word_before_in_item(doc.words, index)
        if isinstance(before, str):
            outcome.messages.append(f"word {index} was left out of any item: {before} (press i on an item's first "
                                    "word to start one)")
            return False
        group, joined = doc.words[before].group_id, f"the item of word #{before} {doc.words[before].text!r}"
    result = ws.set_group(doc_id, index, group, seen=seen)
    # said, as every other key's outcome is: i and p changed only the Item box (walkthrough 26); with the line's
    # words that joined it too (walkthrough 34 read "Word #29 put into a new item" as six words joined)
    others = sum(1 for change in result.changes if change.index != index)
    along = f", and {counted(others, 'labelled item word')} of its line with it" if others else ""
    outcome.notice = f"Word #{index} {doc.words[index].text!r} put into {joined}{along}."
    return True


def _word_before_in_item(words, index: int) -> int | str:
    """The nearest word before ``index`` that is in an item, passing over the words nobody labelled and the OTHER
    words in no item: on "2 x Coffee", p on Coffee joins the item of 2 (it stopped at the "x" between, a
    walkthrough). A word of any other label in no item stops the search; the reason, when there is no item."""
    for before in range(index - 1, -1, -1):
        word = words[before]
        if word.group_id is not None:
            return before
        if word.is_labelled and word.annotation_label != OTHER:
            return f"word {before} before it ({word.annotation_label}) is in no item"
    return "no word before it is in an item"


def _own_change(ws: Workspace, doc_id: str, seen_action: int | None) -> int | None:
    """After a press changed the receipt (or undid a change), the latest change is one these presses may undo."""
    return seen_action if seen_action == ANY_ACTION else ws.latest_action(doc_id)


@dataclass(frozen=True)
class Press:
    """One key press, and the receipt on screen when it was typed (None: not said, as by an older page)."""

    key: str
    view: str | None = None


def fresh_presses(trigger: Any, acknowledged: Mapping[str, Any] | None) -> tuple[list[Press], dict[str, Any] | None]:
    """The presses in a trigger value ({"token", "pressed": [{"seq", "key", "view"}]}) not handled yet, each with the
    receipt it was typed on, and the new acknowledgement; ([], the old one) for anything else."""
    if not isinstance(trigger, Mapping) or not isinstance(trigger.get("pressed"), list):
        return [], dict(acknowledged) if acknowledged else None
    token = str(trigger.get("token", ""))
    done = int(acknowledged["seq"]) if acknowledged and acknowledged.get("token") == token else 0
    fresh = [p for p in trigger["pressed"] if isinstance(p, Mapping) and isinstance(p.get("seq"), int)
             and p["seq"] > done and isinstance(p.get("key"), str)]
    fresh.sort(key=lambda p: p["seq"])
    last = fresh[-1]["seq"] if fresh else done
    # no person presses more between two reruns; a crafted message of a million presses would be a million writes
    return ([Press(p["key"], p["view"] if isinstance(p.get("view"), str) else None)
             for p in fresh[:MAX_PRESSES_PER_RUN]], {"token": token, "seq": last})


def typed_here(presses: Sequence[Press], shown: str, came_from: str | None) -> tuple[list[str], list[Press]]:
    """The keys of ``presses`` meant for receipt ``shown``, and the presses that were not: those typed while the
    page still showed another receipt, unless the page left that one for this by n, b or z (``came_from``), whose
    keys typed ahead are this receipt's. A probe's "d 7 7" under a status filter labelled the receipt shown next,
    which had not reached the screen when the 7s were typed. The receipt steps ``n`` and ``b`` are always this
    receipt's: they move on from the receipt shown."""
    # n and b move from the receipt shown, wherever they were typed: six quick n's typed on one receipt are six
    # moves (probe 66 lost up to five of them, unsaid)
    ours = [p.view in (None, shown, came_from) or ACTION_KEYS.get(p.key) in (NEXT_RECEIPT, PREVIOUS_RECEIPT)
            for p in presses]
    return [p.key for p, mine in zip(presses, ours) if mine], [p for p, mine in zip(presses, ours) if not mine]
