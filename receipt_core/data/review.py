"""Where a receipt stands with its annotator, and the documents as training and evaluation see them.

A receipt is ``unlabelled`` (no word has a label from a person, an accepted suggestion or an import), ``in
progress`` (some have), or ``done``: a person marked it reviewed, or every word is gold from a dataset. The
workspace stores the "reviewed" mark; the rest is read from the words (:func:`receipt_status`).

Training and evaluation learn from and score against labels people gave or confirmed (``label_source``
``"person"``, ``"model"`` — an accepted suggestion — or ``"import"``). :func:`labelled_documents` leaves out the
receipts without any such label (an unlabelled receipt is not a receipt of ``OTHER`` words); with
``use_suggestions=True`` (the user opts in) a word nobody labelled takes its pending suggestion first.
:func:`evaluation_documents` refuses an evaluation set left with no receipt at all, rather than scoring it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable

from .document import IMPORT, PERSON, Document
from .item_groups import group_accepted_items
from .schema import OTHER
from ..wording import counted

UNLABELLED, IN_PROGRESS, DONE = "unlabelled", "in progress", "done"
STATUSES = (UNLABELLED, IN_PROGRESS, DONE)
REVIEWED_META = "reviewed"  # an exported document's ``meta`` key: true when a person marked the receipt done


def with_reviewed_meta(doc: Document, reviewed: bool) -> Document:
    """``doc`` as an export writes it: ``meta["reviewed"]`` true when a person marked it done, else absent."""
    meta = {k: v for k, v in doc.meta.items() if k != REVIEWED_META}
    if reviewed:
        meta[REVIEWED_META] = True
    return dataclasses.replace(doc, meta=meta)


def without_reviewed_meta(doc: Document) -> tuple[Document, bool]:
    """An imported ``doc`` without its ``meta["reviewed"]`` key, and whether that key said it was marked done
    (only a JSON ``true`` does)."""
    if REVIEWED_META not in doc.meta:
        return doc, False
    reviewed = doc.meta[REVIEWED_META] is True
    return dataclasses.replace(doc, meta={k: v for k, v in doc.meta.items() if k != REVIEWED_META}), reviewed


class NoLabelsError(ValueError):
    """An evaluation (or training) set with no label from a person or an import; the message says what to do."""


def mostly_unlabelled(words: int, labelled: int) -> bool:
    """Whether a receipt of ``words`` words, ``labelled`` of them labelled, is labelled but mostly not: its
    unlabelled words train and score as OTHER, which a receipt left midway does not mean."""
    return 0 < labelled and (words - labelled) * 2 > words


@dataclass(frozen=True)
class LabelledDocuments:
    documents: tuple[Document, ...]  # as training sees them
    left_out: tuple[str, ...]  # ids of the receipts without any label
    mostly_unlabelled: tuple[str, ...] = ()  # ids of kept receipts most of whose words nobody labelled

    def note(self, what: str = "data") -> str | None:
        """One line for the user when receipts were left out or are mostly unlabelled, else None."""
        parts = []
        if self.left_out:
            one = len(self.left_out) == 1  # "1 of 2 receipts have no label" (a walkthrough)
            parts.append(f"{len(self.left_out)} of {len(self.left_out) + len(self.documents)} receipts "
                         f"{'has' if one else 'have'} no label from a person or an import and "
                         f"{'is' if one else 'are'} left out")
        if self.mostly_unlabelled:  # a probe scored 100 receipts with one word labelled each: F1 0.04, no word
            partly = set(self.mostly_unlabelled)
            words = sum(len(doc.words) - doc.labelled_words for doc in self.documents if doc.id in partly)
            one = len(partly) == 1
            parts.append(f"{len(partly)} of {len(self.documents)} receipts {'is' if one else 'are'} mostly "
                         f"unlabelled: {counted(words, 'word')} nobody labelled count as OTHER in training and "
                         "scores; if some are fields or quantities, label them on Annotate first")
        return f"{what}: " + "; ".join(parts) if parts else None


# done receipts before Annotate's retraining of the suggestion heads starts: heads learnt from one receipt replaced a
# run that scored 0.94 as the source of suggestions (a walkthrough)
MIN_REVIEWED = 5


def receipt_status(doc: Document, reviewed: bool = False) -> str:
    """``done`` when ``reviewed`` or the receipt came as gold from an import and every word still has a label from
    it or from a person (a person's correction of imported gold keeps it done, as a text correction did: a second
    walkthrough saw a label change reopen it), else ``in progress`` when some word is labelled, else
    ``unlabelled``."""
    sources = {w.label_source for w in doc.words}
    if reviewed or (doc.words and IMPORT in sources and sources <= {IMPORT, PERSON}):
        return DONE
    return IN_PROGRESS if doc.labelled_words else UNLABELLED


def done_warning(doc: Document) -> str | None:
    """What a person should know when marking ``doc`` done, or None: a done receipt trains every word nobody
    labelled as ``OTHER``, so pending suggestions of a field or quantity, or a receipt mostly unlabelled, are said;
    so are QUANTITY words without a value or outside every item. Each applies in one sentence (a walkthrough's
    mostly unlabelled receipt hid the five valueless quantities it was marked done with)."""
    unlabelled = [w for w in doc.words if not w.is_labelled]
    pending = [w for w in unlabelled if w.suggestion is not None and w.suggestion.annotation_label != OTHER]
    parts = []
    if pending:
        # "of a field or quantity": a walkthrough read 42 here beside 54 suggested, 12 of them OTHER
        parts.append(f"{counted(len(pending), 'word')} with a suggestion of a field or quantity nobody accepted (for "
                     f"example {pending[0].text!r} → {pending[0].suggestion.annotation_label}): as done they train "
                     "as OTHER; accept or label them.")
    elif doc.words and len(unlabelled) * 2 > len(doc.words):  # not mostly_unlabelled: none labelled counts too
        parts.append(f"{len(unlabelled)} of {len(doc.words)} words have no label: as done they train as OTHER; if "
                     "some are fields or quantities, label them.")
    quantities = [w for w in doc.words if w.is_labelled and w.is_quantity]
    valueless = [w for w in quantities if w.quantity_value is None]
    if valueless:  # a walkthrough's "i" (a misread 1), labelled QUANTITY by its key, marked done without a value
        parts.append(f"{len(valueless)} of {len(quantities)} QUANTITY words have no value (for example "
                     f"{valueless[0].text!r}): the quantity scores read them as none; type each one's value (the "
                     "quantity value column).")
    loose = [w for w in quantities if w.group_id is None]
    if loose:  # a walkthrough marked done a receipt where 2 of 3 quantities belonged to no item, and heard nothing
        parts.append(f"{len(loose)} of {len(quantities)} QUANTITY words belong to no item (for example "
                     f"{loose[0].text!r}): the item scores cannot count them; pick each one's item (the Item box).")
    return " ".join(parts) if parts else None


TAKE_BACK = "Or take the done mark back."  # said after the mark (before it, on the button, none is there to take)


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"unknown receipt status {status!r}; choose one of {', '.join(STATUSES)}")
    return status


def with_suggestions(doc: Document) -> Document:
    """``doc`` with each unlabelled word's pending suggestion taken as its label (``label_source="model"``), its
    item words put into items as accepting them would (``item_groups.py``)."""
    words, taken = [], set()
    for index, word in enumerate(doc.words):
        suggestion = word.suggestion
        if word.is_labelled or suggestion is None or (suggestion.is_quantity and suggestion.quantity_value is None):
            words.append(word)
        else:
            words.append(word.with_annotation(suggestion.annotation_label, suggestion.quantity_value, source="model",
                                              run=suggestion.run, score=suggestion.score))
            taken.add(index)
    return doc.with_words(group_accepted_items(words, taken))


def labelled_documents(docs: Iterable[Document], use_suggestions: bool = False) -> LabelledDocuments:
    """The documents as training and evaluation see them: those with at least one label from a person, an accepted
    suggestion or an import (with ``use_suggestions``, pending suggestions count as labels first); the ids of
    the rest in ``left_out``. Words nobody labelled in a kept receipt stay ``OTHER``."""
    kept, left_out = [], []
    for doc in docs:
        if use_suggestions:
            doc = with_suggestions(doc)
        (kept if doc.labelled_words else left_out).append(doc if doc.labelled_words else doc.id)
    partly = tuple(doc.id for doc in kept if mostly_unlabelled(len(doc.words), doc.labelled_words))
    return LabelledDocuments(documents=tuple(kept), left_out=tuple(left_out), mostly_unlabelled=partly)


def evaluation_documents(docs: Iterable[Document], name: str = "the evaluation set",
                         use_suggestions: bool = False) -> LabelledDocuments:
    """:func:`labelled_documents` for evaluation; NoLabelsError when no receipt of ``name`` has a label, so an
    unlabelled set is never scored (every word would count as a correct or wrong ``OTHER``)."""
    docs = list(docs)
    chosen = labelled_documents(docs, use_suggestions)
    if not chosen.documents:
        hint = "" if use_suggestions else " (model suggestions count only when you opt in to them)"
        raise NoLabelsError(f"{name} has no labels from a person or an import in any of its {len(docs)} receipts"
                            f"{hint}; label and review some receipts first, or evaluate on another set")
    return chosen
