"""Corrections of what the OCR read: a word's text, a word too many, two words read as one or one read as two, a
word it missed, a region read again. Each function takes a document and returns a :class:`Correction`: the new
document (never the old one changed) and one line saying what changed, which the workspace keeps in its undo
history.

Rules every correction follows:

- a corrected word keeps its label, its provenance, its line and its item (``group_id``); a quantity word's value
  is read again from its new text (when the text holds no number the old value stays, for the person to fix);
- text a person typed has no OCR confidence (``confidence`` None: it is not Tesseract's reading any more), and a
  word whose text changed (edited, split, merged) has no suggestion waiting: the model labelled the old text
  (walkthrough 53 split "TABLE 5" and both parts kept the score of "TABLE", for Accept all to take);
- boxes stay inside the page and are never empty; a split divides the box by the parts' lengths;
- a word added by hand joins the receipt line its box overlaps most (else a new line) and sits in reading order;
- words read again in a region (:func:`replace_region`) replace the words whose box centre lies in it, and are
  placed as added words are, with no suggestion; a word read where a labelled word was (their boxes overlap over
  most of the smaller, :data:`SAME_PLACE_OVERLAP`) keeps that word's label, provenance and item, as a corrected
  word does; the others are unlabelled. They keep Tesseract's confidence (they are its reading), so the overlay
  can still flag a doubtful one.

Every refusal is a :class:`CorrectionError` (a ValueError) whose message says what to do instead.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Sequence

from .boxes import contains, overlap, union
from .markup import holds_control_character
from .document import MAX_DOCUMENT_WORDS, MAX_WORD_CHARS, Box, Document, Word
from .quantity import parse_quantity
from .schema import OTHER
from ..wording import counted



SAME_PLACE_OVERLAP = 0.5  # a word read again at least this much over a labelled word (of the smaller box) is it


def region_text(box: Sequence[float]) -> str:
    """A region of the page in words (``x 15–250, y 15–40``, whole pixels): a list in brackets made the page set
    the whole message in code font, as it does a sentence holding markup (a walkthrough)."""
    x0, y0, x1, y1 = (round(v) for v in box)
    return f"x {x0}–{x1}, y {y0}–{y1}"


class CorrectionError(ValueError):
    """A correction that cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Correction:
    document: Document
    summary: str  # "word 4: text '2x' -> '2 x'"; shown to the person and kept in the history
    focus: int | None = None  # the word to select after the change (a word added: the others move past it)


def edit_text(doc: Document, index: int, text: str) -> Correction:
    """Word ``index`` with ``text`` (stripped; not empty) as a person typed it."""
    word = _word(doc, index)
    new_text = _text(text)
    if new_text == word.text:
        return Correction(doc, f"word #{index}: text unchanged")
    retyped = _retyped(word, new_text)
    note = _value_change(word, retyped)
    if word.is_quantity and parse_quantity(new_text) is None:  # "TEA" stayed a quantity worth 1 (a probe)
        retyped = _without_label(retyped)
        note = f"; {new_text!r} prints no number, so it is left without the quantity label"
    if " " in new_text and " " not in word.text:  # probe 42 pasted "A\tB\nC" and got one word "A B C", unsaid
        note += "; it holds spaces, so it stays one word: Split at spaces makes each part a word of its own"
    return Correction(_replace(doc, index, [retyped]), f"word #{index}: text {word.text!r} -> {new_text!r}{note}")


def delete_word(doc: Document, index: int) -> Correction:
    """The document without word ``index`` (a smudge or a stamp the OCR read as text)."""
    word = _word(doc, index)
    return Correction(_replace(doc, index, []), f"word #{index} {word.text!r} deleted")


def split_word(doc: Document, index: int, parts: Sequence[str] | None = None) -> Correction:
    """Word ``index`` as several words: ``parts`` (None: its text split at spaces), left to right, each with its
    share of the box by length. Every part keeps the word's label and item."""
    word = _word(doc, index)
    pieces = [_text(p) for p in (word.text.split() if parts is None else parts)]
    if len(pieces) < 2:
        raise CorrectionError(f"word #{index} {word.text!r}: a split needs at least two parts; type them separated "
                              "by spaces")
    x0, y0, x1, y1 = word.box
    total = sum(len(p) for p in pieces)
    words, left = [], x0
    for piece in pieces:
        right = left + (x1 - x0) * len(piece) / total
        words.append(_retyped(dataclasses.replace(word, box=(left, y0, right, y1)), piece))
        left = right
    # a quantity split into "2x" and "TEA": the part that prints no number is no quantity (a probe got two
    # quantity words in one item, "TEA" worth 2); it is left for a label of its own
    numbered = [parse_quantity(piece) is not None for piece in pieces]
    unlabelled = [i for i, has in enumerate(numbered) if word.is_quantity and not has and any(numbered)]
    for i in unlabelled:
        words[i] = _without_label(words[i])
    note = (f"; {', '.join(repr(pieces[i]) for i in unlabelled)}, which print{'s' if len(unlabelled) == 1 else ''} no "
            "number, left without the quantity label" if unlabelled else "")
    return Correction(_replace(doc, index, words),
                      f"word #{index} {word.text!r} split into {', '.join(repr(p) for p in pieces)}{note}")


def merge_with_next(doc: Document, index: int) -> Correction:
    """Word ``index`` and the next one as one word: texts joined by a space (none before closing punctuation such as
    ``,000`` or ``%``, nor after an opening one), boxes united. The merged word keeps the first word's label when it
    has one, else the second's; its item likewise."""
    first = _word(doc, index)
    if index + 1 >= len(doc.words):
        raise CorrectionError(f"word #{index} {first.text!r} is the last word; there is no next word to merge with")
    second = doc.words[index + 1]
    if second.line_id != first.line_id:  # one box over two printed rows (a walkthrough's 'ICE' + 'AAG' spanned three)
        raise CorrectionError(f"word #{index} {first.text!r} ends its line: the next word, #{index + 1} "
                              f"{second.text!r}, is on the line below; only words of one line merge, nothing was "
                              "merged")
    labelled = first if first.is_labelled or not second.is_labelled else second
    merged = dataclasses.replace(labelled, box=union((first.box, second.box)), line_id=first.line_id,
                                 group_id=first.group_id if first.group_id is not None else second.group_id,
                                 suggestion=first.suggestion or second.suggestion)
    joined = _joined(first.text, second.text)
    if len(joined) > MAX_WORD_CHARS:  # a merged word over the limit did not import again after an export (a probe)
        raise CorrectionError(f"words #{index} and #{index + 1} together have {len(joined)} characters, over the "
                              f"limit of {MAX_WORD_CHARS} for one word; nothing was merged")
    retyped = _retyped(merged, joined)
    words = list(doc.words)
    words[index:index + 2] = [retyped]
    return Correction(doc.with_words(words), f"words {index} {first.text!r} and {index + 1} {second.text!r} merged"
                      f"{_merge_losses(first, second, labelled, merged)}{_value_change(merged, retyped)}")


def _merge_losses(first: Word, second: Word, kept: Word, merged: Word) -> str:
    """What a merge left behind, said: the other word's label, and its item, when they differ from the merged
    word's (a probe's "3.50", ITEM_PRICE in item 5, merged into "TEA" was said as "merged" only)."""
    dropped = second if kept is first else first
    lost = []
    if dropped.is_labelled and dropped.label_state[:2] != kept.label_state[:2]:
        lost.append(f"its label {dropped.annotation_label}")
    if dropped.group_id is not None and dropped.group_id != merged.group_id:
        lost.append("its item")
    if not lost:
        return ""
    keeps = f"{kept.annotation_label}" if kept.is_labelled else "no label"
    return (f"; {dropped.text!r} lost {' and '.join(lost)}: the merged word keeps {keeps}"
            + (" and its item" if merged.group_id is not None else "") + " (Undo takes the merge back)")


def _without_label(word: Word) -> Word:
    """``word`` as nobody labelled it (its item stays)."""
    return dataclasses.replace(word, field=OTHER, is_quantity=False, quantity_value=None, label_source=None,
                               label_run=None, label_score=None)


def _value_change(before: Word, after: Word) -> str:
    """A quantity value the new text changed, said (a probe's typed 3 became 2 when "2x" was retyped "2x TEA")."""
    if before.is_quantity and after.is_quantity and before.quantity_value != after.quantity_value:
        shown = "none" if before.quantity_value is None else f"{before.quantity_value:g}"
        return f"; its quantity {shown} -> {after.quantity_value:g}, read from the new text"
    return ""


def _joined(first: str, second: str) -> str:
    """Two OCR tokens as one text: '100' and ',000' are '100,000' (a walkthrough got '100 ,000'), '43.' and '99'
    are '43.99' (walkthrough 47 got '43. 99'), 'Bintang' and 'Bremer' are 'Bintang Bremer'."""
    glued = second.startswith(tuple(",.:;%)]}")) or first.endswith(tuple("([{$#@"))
    split_number = first[-1:] in (".", ",") and first[-2:-1].isdigit() and second[:1].isdigit()
    return f"{first}{second}" if glued or split_number else f"{first} {second}"


def add_word(doc: Document, text: str, box: Sequence[float]) -> Correction:
    """A word the OCR missed: ``text`` in ``box`` (x0, y0, x1, y1 in page pixels, clamped to the page), unlabelled,
    placed on the line its box overlaps most (else a new line) in reading order."""
    new_text = _text(text)
    placed = _page_box(doc, box)
    line_id = _line_of(doc, placed)
    word = Word(text=new_text, box=placed, confidence=None, line_id=line_id)
    words = list(doc.words)
    position = _position(words, word)
    words.insert(position, word)
    # a box past the page's edge is cut to it, and said (probe 42's word was stored 64 px narrower, unsaid)
    x0, y0, x1, y1 = (float(v) for v in box)
    asked = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    cut = "" if asked == tuple(placed) else f", its box cut to the page's edge ({region_text(placed)})"
    return Correction(doc.with_words(_within_limit(words, doc)), f"word {new_text!r} added as word #{position}{cut}",
                      focus=position)


def replace_region(doc: Document, box: Sequence[float], words: Sequence[Word]) -> Correction:
    """The words whose box centre lies in ``box`` (x0, y0, x1, y1 in page pixels, clamped to the page) replaced by
    ``words``, read again there (``receipt_core.ocr.region.read_region``; boxes in page pixels). Every word outside
    keeps its place, label and item. Each new word is placed as :func:`add_word` places one (its line, reading
    order), with its OCR confidence kept; one read where a labelled word was keeps that word's label and item
    (:func:`_same_place`; an annotator's re-read of a labelled line wiped six labels when Tesseract read the same
    six words again), the others unlabelled. Refused when ``words`` is empty: nothing was read, so nothing is
    replaced."""
    region = _page_box(doc, box)
    shown = region_text(region)
    if not words:
        raise CorrectionError(f"nothing was read in the region {shown}; nothing changed. Draw the box a little "
                              "larger around the words, or add them one by one")
    kept = [w for w in doc.words if not contains(region, w.center)]
    removed = len(doc.words) - len(kept)
    labelled = [w for w in doc.words if w.is_labelled and contains(region, w.center)]
    carried = 0
    _within_limit([*kept, *words], doc)
    placed, texts = doc.with_words(kept), []
    for read in sorted(words, key=lambda w: (w.line_id, w.box[0])):
        new_box = _page_box(doc, read.box)
        word = Word(text=_text(read.text), box=new_box, confidence=read.confidence, line_id=_line_of(placed, new_box))
        if (old := _same_place(word, labelled)) is not None:
            labelled.remove(old)  # one old word's label goes to one new word
            word = _labelled_like(word, old)
            carried += 1
        listed = list(placed.words)
        listed.insert(_position(listed, word), word)
        placed = placed.with_words(listed)
        texts.append(word.text)
    read_as = " ".join(texts)
    read_as = read_as if len(read_as) <= 80 else read_as[:79] + "…"
    # perhaps labelled in another session since the box was drawn: said (Undo puts the old words back)
    kept_labels = (f"; the labels of {counted(carried, 'word')} went to the words read at their places"
                   if carried else "")
    lost = (f"; {counted(len(labelled), 'labelled word')} lost {'its label' if len(labelled) == 1 else 'their labels'}"
            if labelled else "")
    return Correction(placed, f"region {shown} read again: {counted(removed, 'word')} replaced by {len(texts)}: "
                              f"{read_as!r}{kept_labels}{lost}{_less_sure(doc, region, words)}")


LESS_SURE_BY = 20.0  # mean OCR confidence points (0–100) under the words replaced that make a re-read worth doubting


def _less_sure(doc: Document, region: Box, words: Sequence[Word]) -> str:
    """A note when Tesseract read the region again with clearly less confidence than the words it replaces (a
    walkthrough's "SALE" at 94 became three words at 0, unsaid), else ""."""
    before = [w.confidence for w in doc.words if contains(region, w.center) and w.confidence is not None]
    after = [w.confidence for w in words if w.confidence is not None]
    if not before or not after:
        return ""
    old, new = sum(before) / len(before), sum(after) / len(after)
    return (f"; read with less confidence than the words it replaced (mean {new:.0f} against {old:.0f}), so check it"
            if new < old - LESS_SURE_BY else "")


def _same_place(word: Word, labelled: Sequence[Word]) -> Word | None:
    """The labelled word ``word`` was read in place of: the one its box overlaps most, over
    :data:`SAME_PLACE_OVERLAP` of the smaller box; None when none does."""
    best = max(labelled, key=lambda old: overlap(old.box, word.box), default=None)
    return best if best is not None and overlap(best.box, word.box) >= SAME_PLACE_OVERLAP else None


def _labelled_like(word: Word, old: Word) -> Word:
    """``word`` (read again) with ``old``'s label, provenance and item; a quantity's value read from the new text
    when it holds a number (else the old value stays, as a corrected word keeps it)."""
    value = old.quantity_value
    if old.is_quantity:
        parsed = parse_quantity(word.text)
        value = parsed if parsed is not None else value
    return dataclasses.replace(word, field=old.field, is_quantity=old.is_quantity, quantity_value=value,
                               group_id=old.group_id, label_source=old.label_source, label_run=old.label_run,
                               label_score=old.label_score)


def _word(doc: Document, index: int) -> Word:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(doc.words):
        raise CorrectionError(f"document {doc.id!r} has {len(doc.words)} words; there is no word {index!r}")
    return doc.words[index]


def _text(text: str) -> str:
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise CorrectionError("a word needs some text; to remove a word, delete it")
    if holds_control_character(cleaned):
        raise CorrectionError("a word's text cannot hold a control character (such as NUL); type it without")
    if len(cleaned) > MAX_WORD_CHARS:
        raise CorrectionError(f"a word of {len(cleaned)} characters is too long (at most {MAX_WORD_CHARS}); "
                              "split it into words")
    return cleaned


def _retyped(word: Word, text: str) -> Word:
    """``word`` with ``text`` typed by a person: no OCR confidence; a quantity's value read from the new text; no
    suggestion once the text is another (a model's label of the old text: Accept took it as the model's)."""
    value = word.quantity_value
    if word.is_quantity:
        parsed = parse_quantity(text)
        value = parsed if parsed is not None else value
    return dataclasses.replace(word, text=text, confidence=None, quantity_value=value,
                               suggestion=word.suggestion if text == word.text else None)


def _replace(doc: Document, index: int, replacement: list[Word]) -> Document:
    words = list(doc.words)
    words[index:index + 1] = replacement
    return doc.with_words(_within_limit(words, doc))


def _within_limit(words: list[Word], doc: Document) -> list[Word]:
    """``words`` when a receipt may hold that many (:data:`MAX_DOCUMENT_WORDS`, what an import takes by default, or
    as many as ``doc`` holds already: an import given a higher ``--max-words``): a probe split one word into 20,000
    and trained on a receipt no import would have let in."""
    limit = max(MAX_DOCUMENT_WORDS, len(doc.words))
    if len(words) > limit:
        raise CorrectionError(f"that would give the receipt {len(words):,} words, over the {limit:,} a "
                              "receipt may hold; nothing changed")
    return words


def _page_box(doc: Document, box: Sequence[float]) -> Box:
    if len(box) != 4:
        raise CorrectionError(f"a box is four numbers x0, y0, x1, y1; got {len(box)}")
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise CorrectionError(f"a box is four numbers x0, y0, x1, y1; got {list(box)!r}") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):  # NaN passed min/max unclamped and failed as JSON
        raise CorrectionError(f"a box is four finite numbers x0, y0, x1, y1; got {[x0, y0, x1, y1]!r}")
    x0, x1 = sorted((min(max(x0, 0.0), doc.width), min(max(x1, 0.0), doc.width)))
    y0, y1 = sorted((min(max(y0, 0.0), doc.height), min(max(y1, 0.0), doc.height)))
    if x1 - x0 < 1 or y1 - y0 < 1:
        shown = [f"{v:.6g}" for v in (float(v) for v in box)]  # 1e308 as itself, not 309 digits (a probe)
        raise CorrectionError(f"the box [{', '.join(shown)}] covers no area of the {doc.width}x{doc.height} page; "
                              "draw it over the word")
    return (x0, y0, x1, y1)


def _line_of(doc: Document, box: Box) -> int:
    """The line of the word whose vertical extent matches ``box``'s best (overlap over union; the overlap at least
    half the box's height), else a new line. By the overlap alone, a tall junk word above a row took a word drawn
    a little high over that row (a walkthrough's "Dal" went to the line above "1 Yellow … -60.00")."""
    height = box[3] - box[1]
    best, best_match = None, 0.0
    for word in doc.words:
        overlap = min(box[3], word.box[3]) - max(box[1], word.box[1])
        union = max(box[3], word.box[3]) - min(box[1], word.box[1])
        if overlap >= 0.5 * height and union > 0 and overlap / union > best_match:
            best, best_match = word.line_id, overlap / union
    if best is not None:
        return best
    return max((w.line_id for w in doc.words), default=-1) + 1


def _position(words: list[Word], new: Word) -> int:
    """Where ``new`` goes: after the last word of its line left of it; on a new line, before the first word below."""
    same_line = [i for i, w in enumerate(words) if w.line_id == new.line_id]
    if same_line:
        left = [i for i in same_line if words[i].center[0] <= new.center[0]]
        return (left[-1] + 1) if left else same_line[0]
    below = [i for i, w in enumerate(words) if w.center[1] > new.center[1]]
    return below[0] if below else len(words)
