"""Annotation in the workspace: labels, model suggestions, the "reviewed" mark, and an undo history.

Every change is one write transaction that reads the document, applies a rule of
:mod:`receipt_core.data.annotation` and writes the document back together with one ``annotation_history`` row per
changed word (its JSON before and after) under one *action* number. :meth:`AnnotationStore.undo` takes the latest
action not yet undone (of one document, or of the whole workspace) and puts every word back — refusing, and
changing nothing, when a word has changed since (an import replaced the document, or an edit without history),
so an undo never clobbers later work. Marking a receipt done (or not) is an action too, with ``word_index`` null.

Corrections of the OCR (:mod:`receipt_core.data.corrections`: text, delete, split, merge, add, a region read
again) change which words there are, so their history row holds the whole word list before and after
(``word_index`` null, kind ``correct``); undoing one puts the list back when nothing changed since.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Collection, Mapping, Sequence

from ..data import corrections
from ..data.annotation import (AnnotationError, AnnotationResult, accept_suggestions, label_word, label_words,
                               reject_suggestions, set_group, suggest_from_prediction)
from ..data.corrections import Correction, CorrectionError
from ..data.document import Document, Word, WordLabel, WordLayout, word_from_json, word_to_json
from ..data.review import LabelledDocuments, evaluation_documents, labelled_documents
from ..data.schema import DEFAULT_SCHEMA, LabelSchema
from .database import Database, NotFoundError, WorkspaceError, dumps
from .documents import stored_document, write_document
from .history import ANY_ACTION, HistoryEntry, Undone


class AnnotationStore(Database):
    """The annotation half of :class:`~receipt_core.workspace.store.Workspace`."""

    def update_word(self, doc_id: str, index: int, label: str, quantity_value: float | None = None,
                    schema: LabelSchema = DEFAULT_SCHEMA, seen: WordLayout | None = None,
                    seen_labels: Sequence[WordLabel] | None = None) -> Document:
        """A person's label for one word (a field, or ``QUANTITY``: its value typed, else read from its text), in
        one transaction with its history entry; returns the saved document. Read, change and write happen under
        one write lock, so two annotators editing different words of one document never lose each other's change.

        ``seen`` (every index-addressed change takes it): the receipt's ``word_layout`` as the person saw it; when
        another session has since added, deleted or re-read words, so that ``index`` may name another word,
        :class:`ReceiptChangedError` is raised and nothing is saved. ``seen_labels``: the words' labels as the person
        saw them (``Document.word_labels``); when another session has since labelled this word otherwise, the same
        (two annotators on one word: the later label replaced the first unseen)."""
        return self._change(doc_id, "label", lambda doc: label_word(as_labelled(doc, index, seen_labels), index,
                                                                    label, quantity_value, schema), seen).document

    def update_words(self, doc_id: str, indices: Sequence[int], label: str, schema: LabelSchema = DEFAULT_SCHEMA,
                     seen: WordLayout | None = None,
                     seen_labels: Sequence[WordLabel] | None = None) -> AnnotationResult:
        """A person's label for several words at once (``annotation.label_words``), one undoable action; ``seen``
        and ``seen_labels`` as for :meth:`update_word`, every word checked."""
        def rule(doc: Document) -> AnnotationResult:
            for index in indices:
                doc = as_labelled(doc, index, seen_labels)
            return label_words(doc, indices, label, schema)

        return self._change(doc_id, "label", rule, seen)

    def store_suggestions(self, doc_id: str, prediction: Mapping[str, Any], run_id: str) -> AnnotationResult:
        """Run ``run_id``'s prediction (``DocumentPrediction.to_json()``) kept as suggestions on the words nobody
        labelled; labels are never touched."""
        return self._change(doc_id, "suggest", lambda doc: suggest_from_prediction(doc, prediction, run_id))

    def accept_suggestions(self, doc_id: str, indices: Collection[int] | None = None,
                           min_score: float = 0.0, seen: WordLayout | None = None) -> AnnotationResult:
        """Suggestions of words ``indices`` (None: the whole receipt) scoring at least ``min_score`` become labels
        (``label_source="model"``); ``skipped`` says which were not and why. ``seen``: as for :meth:`update_word`."""
        return self._change(doc_id, "accept", lambda doc: accept_suggestions(doc, indices, min_score), seen)

    def accept_dataset_suggestions(self, dataset: str, min_score: float) -> tuple[int, int]:
        """Every suggestion scoring at least ``min_score`` in ``dataset`` accepted, one undoable action per receipt;
        returns (receipts changed, words accepted)."""
        with self._read() as conn:
            ids = [row["id"] for row in conn.execute(
                "SELECT id FROM documents WHERE dataset = ? AND suggested_words > 0 ORDER BY rowid", (dataset,))]
        receipts = words = 0
        for doc_id in ids:
            result = self.accept_suggestions(doc_id, None, min_score)
            receipts += bool(result.changes)
            words += len(result.changes)
        return receipts, words

    def reject_suggestions(self, doc_id: str, indices: Collection[int] | None = None,
                           seen: WordLayout | None = None) -> AnnotationResult:
        """Suggestions of words ``indices`` (None: the whole receipt) dropped. ``seen``: as for :meth:`update_word`."""
        return self._change(doc_id, "reject", lambda doc: reject_suggestions(doc, indices), seen)

    def set_group(self, doc_id: str, index: int, group_id: int | None,
                  seen: WordLayout | None = None) -> AnnotationResult:
        """Word ``index`` put into item ``group_id`` (None: out of any item); undoable. ``seen``: as for
        :meth:`update_word`."""
        return self._change(doc_id, "group", lambda doc: set_group(doc, index, group_id), seen)

    def edit_word_text(self, doc_id: str, index: int, text: str, seen: WordLayout | None = None) -> Correction:
        """The OCR's text of word ``index`` corrected to ``text``; undoable. ``seen``: as for :meth:`update_word`."""
        return self._correct(doc_id, lambda doc: corrections.edit_text(doc, index, text), seen)

    def delete_word(self, doc_id: str, index: int, seen: WordLayout | None = None) -> Correction:
        """Word ``index`` removed (the OCR read something that is not a word); undoable. ``seen``: as for
        :meth:`update_word`."""
        return self._correct(doc_id, lambda doc: corrections.delete_word(doc, index), seen)

    def split_word(self, doc_id: str, index: int, parts: list[str] | None = None,
                   seen: WordLayout | None = None) -> Correction:
        """Word ``index`` split into ``parts`` (None: at its spaces); undoable. ``seen``: as for :meth:`update_word`."""
        return self._correct(doc_id, lambda doc: corrections.split_word(doc, index, parts), seen)

    def merge_with_next(self, doc_id: str, index: int, seen: WordLayout | None = None) -> Correction:
        """Word ``index`` and the next merged into one; undoable. ``seen``: as for :meth:`update_word`."""
        return self._correct(doc_id, lambda doc: corrections.merge_with_next(doc, index), seen)

    def add_word(self, doc_id: str, text: str, box: list[float]) -> Correction:
        """A word the OCR missed, with its box in page pixels; undoable."""
        return self._correct(doc_id, lambda doc: corrections.add_word(doc, text, box))

    def replace_region(self, doc_id: str, box: list[float], words: Sequence[Word]) -> Correction:
        """The words whose centre lies in ``box`` (page pixels) replaced by ``words`` read again there; undoable.
        The OCR (``receipt_core.ocr.region.read_region``) runs before this call, never under the write lock."""
        return self._correct(doc_id, lambda doc: corrections.replace_region(doc, box, words))

    def set_reviewed(self, doc_id: str, reviewed: bool = True) -> None:
        """Mark a receipt done (reviewed by a person), or take the mark back; undoable."""
        with self._write() as conn:
            row = conn.execute("SELECT reviewed FROM documents WHERE id = ?", (doc_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no document {doc_id!r} in the workspace")
            if bool(row["reviewed"]) == reviewed:
                return
            conn.execute("UPDATE documents SET reviewed = ?, updated_at = ? WHERE id = ?",
                         (int(reviewed), time.time(), doc_id))
            _record(conn, doc_id, "review", [(None, {"reviewed": not reviewed}, {"reviewed": reviewed})])

    def reviewed_ids(self, dataset: str | None = None) -> set[str]:
        """The ids of the receipts a person marked done, of one dataset or all."""
        query, args = "SELECT id FROM documents WHERE reviewed", ()
        if dataset is not None:
            query, args = query + " AND dataset = ?", (dataset,)
        with self._read() as conn:
            return {row["id"] for row in conn.execute(query, args)}

    def is_reviewed(self, doc_id: str) -> bool:
        with self._read() as conn:
            row = conn.execute("SELECT reviewed FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no document {doc_id!r} in the workspace")
        return bool(row["reviewed"])

    def training_documents(self, dataset: str | None, use_suggestions: bool = False) -> LabelledDocuments:
        """A dataset's documents (None: all) as training sees them: the receipts with a label from a person or an
        import (with ``use_suggestions``, pending suggestions count first); ``left_out`` names the rest."""
        return labelled_documents(self.load_documents(dataset), use_suggestions)

    def training_documents_of(self, datasets: Sequence[str], use_suggestions: bool = False) -> LabelledDocuments:
        """:meth:`training_documents` of several datasets together (``load_documents_of``)."""
        return labelled_documents(self.load_documents_of(datasets), use_suggestions)

    def evaluation_documents(self, dataset: str, use_suggestions: bool = False) -> LabelledDocuments:
        """:meth:`training_documents` for an evaluation set; ``receipt_core.data.review.NoLabelsError`` (a
        ValueError, with a message for the user) when none of its receipts has a label, so it is never scored."""
        return evaluation_documents(self.load_documents(dataset), f"the evaluation set {dataset!r}", use_suggestions)

    def history(self, doc_id: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        """The latest history entries, newest first, of one document or all."""
        query, args = "SELECT * FROM annotation_history", []
        if doc_id is not None:
            query, args = query + " WHERE doc_id = ?", [doc_id]
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY id DESC LIMIT ?", args + [int(limit)]).fetchall()
        return [HistoryEntry(action=r["action"], doc_id=r["doc_id"], kind=r["kind"], word_index=r["word_index"],
                             before=json.loads(r["before"]), after=json.loads(r["after"]), undone=bool(r["undone"]),
                             created_at=r["created_at"]) for r in rows]

    def latest_action(self, doc_id: str) -> int | None:
        """The number of the receipt's latest change not yet undone (None: none): what a page that offers Undo
        passes back as ``seen_action``."""
        with self._read() as conn:
            return _latest_action(conn, doc_id)

    def can_redo(self, doc_id: str) -> bool:
        """Whether :meth:`redo` has a change of the receipt to do again (the page's Redo is greyed out if not)."""
        with self._read() as conn:
            return _redoable_action(conn, doc_id) is not None

    def undo(self, doc_id: str | None = None, seen_action: int | None = ANY_ACTION) -> Undone | None:
        """Undo the latest action not yet undone, of ``doc_id`` or of the whole workspace; None when there is none.
        WorkspaceError, changing nothing, when a word has changed since that action. ``seen_action``: the receipt's
        latest action as the page showed it (:meth:`latest_action`); when another came since, ReceiptChangedError
        and nothing is undone (a probe: Undo in one session took back another session's change it never saw)."""
        with self._write() as conn:
            action = _latest_action(conn, doc_id)
            _check_seen(doc_id, action, seen_action, "Undo would take back a change you have not seen; nothing was "
                        "undone")
            if action is None:
                return None
            return _replay(conn, action, forward=False)

    def redo(self, doc_id: str, seen_action: int | None = ANY_ACTION) -> Undone | None:
        """Do again the receipt's change that the last Undo took back (the undone changes are redone in the order
        they were undone, latest undone first); None when there is none: nothing was undone, or a new change came
        after the undo (as in any editor, it clears what could be redone). ``seen_action`` as for :meth:`undo`.
        Annotators missed it after an Undo one step too far (a walkthrough)."""
        with self._write() as conn:
            _check_seen(doc_id, _latest_action(conn, doc_id), seen_action, "Redo would be applied over a change you "
                        "have not seen; nothing was redone")
            action = _redoable_action(conn, doc_id)
            if action is None:
                return None
            return _replay(conn, action, forward=True)

    def _change(self, doc_id: str, kind: str, rule: Callable[[Document], AnnotationResult],
                seen: WordLayout | None = None) -> AnnotationResult:
        """Read ``doc_id``, apply ``rule`` and store the document and its history, all in one write transaction;
        AnnotationError from the rule becomes WorkspaceError; ReceiptChangedError when ``seen`` is given and the
        receipt's words are no longer those."""
        with self._write() as conn:
            row = _stored_row(conn, doc_id)
            doc = as_seen(stored_document(doc_id, row["json"]), seen)
            try:
                result = rule(doc)
            except AnnotationError as error:
                raise WorkspaceError(str(error)) from None
            if result.changes:
                write_document(conn, result.document, row["dataset"])
                _record(conn, doc_id, kind, [(c.index, word_to_json(c.before), word_to_json(c.after))
                                             for c in result.changes])
        return result


    def _correct(self, doc_id: str, rule: Callable[[Document], Correction],
                 seen: WordLayout | None = None) -> Correction:
        """:meth:`_change` for a correction: the whole word list goes to the history (CorrectionError becomes
        WorkspaceError)."""
        with self._write() as conn:
            row = _stored_row(conn, doc_id)
            doc = as_seen(stored_document(doc_id, row["json"]), seen)
            try:
                result = rule(doc)
            except CorrectionError as error:
                raise WorkspaceError(str(error)) from None
            if result.document.words != doc.words:
                write_document(conn, result.document, row["dataset"])
                _record(conn, doc_id, "correct", [(None, {"words": [word_to_json(w) for w in doc.words]},
                                                   {"words": [word_to_json(w) for w in result.document.words],
                                                    "summary": result.summary})])
        return result


class ReceiptChangedError(WorkspaceError):
    """An index-addressed change to a receipt whose words another session has changed since the person saw them:
    the index may name another word now, so nothing was saved."""


def as_seen(doc: Document, seen: WordLayout | None) -> Document:
    """``doc`` when its words are those ``seen`` (or nothing was said), else ReceiptChangedError naming the first
    word that differs."""
    now = doc.word_layout
    if seen is None or now == tuple(seen):
        return doc
    first = next((i for i, (a, b) in enumerate(zip(seen, now)) if a != b), None)
    what = (f"word #{first} is now {now[first][0]!r}, not {seen[first][0]!r}" if first is not None
            else f"it has {len(now)} words, not {len(seen)}")
    # "another session" alone misled a walkthrough: a click that lands while the page is still redrawing after the
    # person's own last change carries the words from before it, and is refused the same way
    raise ReceiptChangedError(f"receipt {doc.id!r} was changed since this page showed it ({what}), in another "
                              "session or by your own last change before the page had redrawn; nothing was saved. "
                              "The page now shows it as it is: make the change again.")


def as_labelled(doc: Document, index: int, seen_labels: Sequence[WordLabel] | None) -> Document:
    """``doc`` when word ``index`` still has the label ``seen_labels`` gave it (or nothing was said), else
    ReceiptChangedError saying what it is now."""
    if seen_labels is None or not 0 <= index < min(len(doc.words), len(seen_labels)):
        return doc
    word, was = doc.words[index], tuple(seen_labels[index])
    if word.label_state == was:
        return doc
    now = _label_words(word.label_state)
    raise ReceiptChangedError(f"word #{index} {word.text!r} of receipt {doc.id!r} is now {now}, not "
                              f"{_label_words(was)} as this page showed it: another session labelled it, or your own "
                              "last change landed before the page had redrawn; nothing was saved. The page now shows "
                              "its label: change it again if you still want to.")


def _label_words(state: WordLabel) -> str:
    """A word's label state in words: "unlabelled", "'TOTAL' (person)", "'QUANTITY' 2 (import)"."""
    label, value, source = state
    if source is None:
        return "unlabelled"
    # the label quoted: a page shows a quote as code and the rest as prose; ITEM_NAME's "_" unquoted put the whole
    # warning in code font (a walkthrough)
    return f"{label!r}{f' {value:g}' if value is not None else ''} ({source})"


def _check_seen(doc_id: str | None, action: int | None, seen_action: int | None, refusal: str) -> None:
    if seen_action != ANY_ACTION and action != seen_action:
        raise ReceiptChangedError(f"receipt {doc_id!r} was changed since this page showed it, in another session or "
                                  f"by your own last change before the page had redrawn: {refusal}. The page now "
                                  "shows it as it is.")


def _stored_row(conn, doc_id: str):
    """The ``dataset`` and ``json`` row of ``doc_id``, read inside the caller's transaction; NotFoundError when the
    workspace has no such document."""
    row = conn.execute("SELECT dataset, json FROM documents WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no document {doc_id!r} in the workspace")
    return row


def _replay(conn, action: int, forward: bool) -> Undone:
    """Undo (``forward`` False: each word back to its ``before``) or redo (to its ``after``) the history rows of
    ``action``, inside the caller's write transaction, and mark them; WorkspaceError, changing nothing, when a word
    is no longer as the action left it (undo) or found it (redo)."""
    now_key, then_key = ("before", "after") if forward else ("after", "before")
    verb = "redo" if forward else "undo"
    entries = conn.execute("SELECT * FROM annotation_history WHERE action = ? ORDER BY id DESC", (action,)).fetchall()
    target, kind = entries[0]["doc_id"], entries[0]["kind"]
    try:
        summary = ""
        marked_done = False
        corrected: int | None = None  # a correction's first word changed back
        row = _stored_row(conn, target)
        if kind == "review":
            marked_done = bool(json.loads(entries[0][then_key])["reviewed"])
            conn.execute("UPDATE documents SET reviewed = ?, updated_at = ? WHERE id = ?",
                         (int(marked_done), time.time(), target))
            words = 0
        elif kind == "correct":
            doc = stored_document(target, row["json"])
            entry = entries[0]
            if [word_to_json(w) for w in doc.words] != json.loads(entry[now_key])["words"]:
                raise WorkspaceError(f"cannot {verb} the last correction on {target!r}: its words have changed "
                                     f"since; nothing was {verb}ne")
            restored = [word_from_json(w, f"history of {target!r}") for w in json.loads(entry[then_key])["words"]]
            write_document(conn, doc.with_words(restored), row["dataset"])
            words = len(restored)
            summary = str(json.loads(entry["after"]).get("summary") or "")
            # the first word it changed back, shown as a label's undo shows its word (walkthrough 57's undone text
            # fix left the selection twelve words on)
            corrected = next((i for i, (a, b) in enumerate(zip(restored, doc.words)) if a != b),
                             min(len(restored), len(doc.words)))
        else:
            doc = stored_document(target, row["json"])
            restored = list(doc.words)
            for entry in entries:
                index = entry["word_index"]
                if not 0 <= index < len(restored) or word_to_json(restored[index]) != json.loads(entry[now_key]):
                    raise WorkspaceError(f"cannot {verb} the last {kind} on {target!r}: word {index} has changed "
                                         f"since; nothing was {verb}ne")
                restored[index] = word_from_json(json.loads(entry[then_key]), f"history of word {index}")
            write_document(conn, doc.with_words(restored), row["dataset"])
            words = len(entries)
            if words <= 3:  # which words, so an undo of a change made in another session is recognised
                summary = ", ".join(f"word #{e['word_index']} {restored[e['word_index']].text!r}" for e in entries)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        if isinstance(error, WorkspaceError):
            raise
        # the history table edited by hand: a JSON error out of Undo named neither the receipt nor a fix
        raise WorkspaceError(f"the history of the last change on {target!r} is damaged ({error}); nothing "
                             f"was {verb}ne") from None
    conn.execute("UPDATE annotation_history SET undone = ? WHERE action = ?", (0 if forward else 1, action))
    first = corrected if kind == "correct" else min(
        (e["word_index"] for e in entries if e["word_index"] is not None), default=None)
    return Undone(action=action, doc_id=target, kind=kind, words=words, summary=summary,
                  first_word=first if kind != "review" else None, redone=forward,
                  marked_done=marked_done)


def _redoable_action(conn, doc_id: str) -> int | None:
    """The receipt's change that Redo would do again: the first of those undone since its latest standing change
    (a new change marks what was undone before it as undone for good, ``undone = 2``)."""
    return conn.execute("SELECT MIN(action) FROM annotation_history WHERE undone = 1 AND doc_id = ? AND action > "
                        "COALESCE((SELECT MAX(action) FROM annotation_history WHERE undone = 0 AND doc_id = ?), 0)",
                        (doc_id, doc_id)).fetchone()[0]


def _latest_action(conn, doc_id: str | None) -> int | None:
    """The latest action not yet undone, of ``doc_id`` or (None) of the whole workspace."""
    query, args = "SELECT MAX(action) FROM annotation_history WHERE undone = 0", ()
    if doc_id is not None:
        query, args = query + " AND doc_id = ?", (doc_id,)
    return conn.execute(query, args).fetchone()[0]


def _record(conn, doc_id: str, kind: str, entries: list[tuple[int | None, Mapping, Mapping]]) -> None:
    """History rows for one action (the next action number), inside the caller's write transaction."""
    action = (conn.execute("SELECT MAX(action) FROM annotation_history").fetchone()[0] or 0) + 1
    now = time.time()
    # a new change ends what Redo could do again (undone = 2: undone for good)
    conn.execute("UPDATE annotation_history SET undone = 2 WHERE doc_id = ? AND undone = 1", (doc_id,))
    conn.executemany(
        "INSERT INTO annotation_history (action, doc_id, kind, word_index, before, after, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(action, doc_id, kind, index, dumps(before, "a history entry"), dumps(after, "a history entry"), now)
         for index, before, after in entries])
