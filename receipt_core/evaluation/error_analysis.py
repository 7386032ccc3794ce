"""Where the end-to-end points go: every field miss and every quantity-segment miss sorted into one cause.

The misses are the ones end-to-end scoring counts (``end_to_end.score_document``): a predicted OCR word counts
for the gold segment its box centre falls in. Causes, checked in this order:

- ``ocr_missed``: the OCR never read the segment — no OCR word's centre lies inside the gold box.
- ``ocr_misread``: the OCR read it with other characters: a field word whose own text is not part of its gold
  segment's text, or a quantity segment whose words there, joined in reading order, differ from the gold text
  (both without spaces, as WildReceipt stores segments, and case-folded, as the uncased tokenizer reads them).
  Each such miss carries its segment's character error rate (edit distance / gold length). For a quantity
  segment, words that still print the gold value (``1x`` read as ``1``) count as read.
- ``label``: the text was read right, but the model gave the wrong label (a field word its wrong field, also
  where another word of its segment was misread or got the right field; a word in no gold segment a field; a
  quantity segment no quantity flag).
- ``grouping``: the quantity flag was right but on the wrong word: the first word flagged as the quantity is not
  the one printing its value (``x`` flagged before ``2``).

The OCR's share is also measured directly: :func:`perfect_labels` gives the run a perfect labeller would have made
on the same OCR words (each word its gold segment's label, quantity values reconciled as the model's are), and its
scores are the ceiling this OCR leaves any model.

Field misses are counted per OCR word, as the F1 counts them: a word whose predicted field differs from its
segment's (``OTHER`` outside every segment) when either is not ``OTHER``, plus one miss per gold field segment
no OCR word reads. A word in no gold segment that the model gave a field is a ``label`` miss. Quantity misses
are gold quantity segments that end-to-end scoring counts wrong; their count is quantity segments minus
correct ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Iterable, Sequence

from ..data.document import Document, Word
from ..data.quantity import parse_quantity
from ..data.schema import OTHER
from ..datasets.from_images import project_segment_labels
from ..model.predict import document_prediction
from .end_to_end import EndToEndRun, gold_quantity, quantity_read_right, segment_members

FIELD = "field"
QUANTITY = "quantity"
NOT_READ = ""  # the read text of a segment no OCR word falls in


class Cause(str, Enum):
    OCR_MISSED = "ocr_missed"
    OCR_MISREAD = "ocr_misread"
    LABEL = "label"
    GROUPING = "grouping"

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    Cause.OCR_MISSED: "the OCR never read the segment (no OCR word centre inside the gold box)",
    Cause.OCR_MISREAD: "the OCR read it with other characters (a field word whose text is not in its segment's; a "
                       "quantity segment whose words do not print its value)",
    Cause.LABEL: "the text was read right (or the word lies in no gold segment), the model gave the wrong label",
    Cause.GROUPING: "the quantity was flagged right but on the wrong word (not the one printing the value)",
}


@dataclass(frozen=True)
class Miss:
    """One miss: which task, why, and the texts that show it."""

    task: str  # FIELD or QUANTITY
    cause: Cause
    doc_id: str
    gold_text: str  # the gold segment's text; "" for a word that lies in no gold segment
    read_text: str  # what the OCR read there: the segment's OCR words joined (the word itself outside segments)
    gold_label: str  # the gold field, or the gold quantity value
    predicted_label: str  # the predicted field, or what the model flagged in the segment
    cer: float | None = None  # with OCR_MISREAD: the segment's character error rate
    word: str = ""  # field misses: the OCR word that got the wrong field

    @property
    def in_segment(self) -> bool:
        """False for a field miss on a word that lies in no gold segment (gold OTHER)."""
        return not (self.task == FIELD and self.gold_text == "" and self.cause is Cause.LABEL)

    def describe(self) -> str:
        read = "nothing" if self.cause is Cause.OCR_MISSED else repr(self.read_text)
        cer = f" (CER {self.cer:.2f})" if self.cer is not None else ""
        word = f"word {self.word!r} " if self.word and self.word != self.read_text else ""
        gold = (f"gold {self.gold_text!r} = {self.gold_label}" if self.in_segment else
                f"in no gold segment (so {self.gold_label})")  # not "gold '' = OTHER" (walkthrough 54)
        return f"{self.doc_id}: {gold}; read {read}{cer}; {word}predicted {self.predicted_label}"

    def to_json(self) -> dict:
        return {"task": self.task, "cause": self.cause.value, "doc_id": self.doc_id, "gold_text": self.gold_text,
                "in_segment": self.in_segment, "read_text": self.read_text, "word": self.word,
                "gold_label": self.gold_label, "predicted_label": self.predicted_label, "cer": self.cer}


@dataclass(frozen=True)
class CauseCount:
    cause: Cause
    count: int
    mean_cer: float | None  # OCR_MISREAD only, None when there is no such miss
    examples: tuple[Miss, ...]


@dataclass(frozen=True)
class TaskBreakdown:
    """The misses of one task by cause; ``causes`` lists every cause, in :class:`Cause` order."""

    task: str
    misses: int
    causes: tuple[CauseCount, ...]

    def count(self, cause: Cause) -> int:
        return next(c.count for c in self.causes if c.cause is cause)

    def to_json(self) -> dict:
        return {"misses": self.misses, "causes": {
            c.cause.value: {"count": c.count, "share": c.count / self.misses if self.misses else 0.0,
                            "mean_cer": c.mean_cer, "examples": [e.to_json() for e in c.examples]}
            for c in self.causes}}


@dataclass(frozen=True)
class ErrorBreakdown:
    fields: TaskBreakdown
    quantities: TaskBreakdown

    def to_json(self) -> dict:
        return {FIELD: self.fields.to_json(), QUANTITY: self.quantities.to_json()}


def normalise(text: str) -> str:
    """Text as segments are compared: without whitespace (WildReceipt stores segments so), case-folded."""
    return "".join(text.split()).casefold()


def character_error_rate(read: str, gold: str) -> float:
    """Levenshtein distance from ``gold`` to ``read`` over ``len(gold)`` (of the normalised texts); 1.0 for any
    read text against an empty gold one."""
    read, gold = normalise(read), normalise(gold)
    if not gold:
        return 0.0 if not read else 1.0
    previous = list(range(len(read) + 1))
    for i, g in enumerate(gold, 1):
        current = [i]
        for j, r in enumerate(read, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (g != r)))
        previous = current
    return previous[-1] / len(gold)


def document_misses(gold: Document, ocr: Document, prediction) -> list[Miss]:
    """Every field and quantity-segment miss of one receipt with its cause. ``ocr`` is the OCR document the
    model read and ``prediction`` (``predict.DocumentPrediction``) its prediction, word for word; ``gold`` holds
    the gold segments in the same pixel frame."""
    if len(ocr.words) != len(prediction.words):
        raise ValueError(f"{gold.id}: the prediction has {len(prediction.words)} words but the OCR document "
                         f"{len(ocr.words)}; analyse the prediction of that very document")
    segments = gold.words
    owner, members = segment_members(segments, ocr.words)
    read = {s: "".join(ocr.words[j].text for j in indices) for s, indices in members.items()}
    return (_field_misses(gold.id, segments, ocr.words, prediction.words, owner, members, read)
            + _quantity_misses(gold.id, segments, prediction.words, members, read))


def unread_document_misses(gold: Document) -> list[Miss]:
    """The misses of a receipt whose image the OCR could not read at all: every segment ``ocr_missed``."""
    return [_missed(gold.id, segment, task) for segment in gold.words
            for task, counts in ((FIELD, segment.field != OTHER), (QUANTITY, segment.is_quantity)) if counts]


def run_misses(run: EndToEndRun) -> list[Miss]:
    """The misses of every receipt of an end-to-end run, in the run's document order."""
    misses: list[Miss] = []
    for gold in run.gold_docs:
        prediction = run.predictions.get(gold.id)
        misses += (document_misses(gold, run.ocr_docs[gold.id], prediction) if prediction is not None
                   else unread_document_misses(gold))
    return misses


def breakdown(misses: Iterable[Miss], examples: int = 3) -> ErrorBreakdown:
    """Counts per task and cause, the mean CER of misreads, and the first ``examples`` misses of each cause
    (from different receipts where there are enough)."""
    misses = list(misses)
    return ErrorBreakdown(fields=_task_breakdown(FIELD, [m for m in misses if m.task == FIELD], examples),
                          quantities=_task_breakdown(QUANTITY, [m for m in misses if m.task == QUANTITY], examples))


def analyse_run(run: EndToEndRun, examples: int = 3) -> ErrorBreakdown:
    return breakdown(run_misses(run), examples)


def perfect_labels(run: EndToEndRun) -> EndToEndRun:
    """``run`` with the predictions a perfect labeller would make on its OCR words: each word the label of the gold
    segment its centre falls in (``datasets.from_images.project_segment_labels``, as training from images labels
    them), its quantity value read from its own text and reconciled as the model's are. What it still misses, the
    OCR lost."""
    predictions = {}
    for gold in run.gold_docs:
        if gold.id not in run.predictions:
            continue
        ocr = run.ocr_docs[gold.id]
        labelled = project_segment_labels(gold, ocr).words
        fields = [w.field for w in labelled]
        predictions[gold.id] = document_prediction(ocr, fields, [w.is_quantity for w in labelled], fields,
                                                   lambda i, field, quantity: 1.0, [1.0] * len(labelled))
    return replace(run, predictions=predictions)


def _task_breakdown(task: str, misses: Sequence[Miss], examples: int) -> TaskBreakdown:
    counts = []
    for cause in Cause:
        of_cause = [m for m in misses if m.cause is cause]
        cers = [m.cer for m in of_cause if m.cer is not None]
        counts.append(CauseCount(cause=cause, count=len(of_cause), mean_cer=sum(cers) / len(cers) if cers else None,
                                 examples=_spread(of_cause, examples)))
    return TaskBreakdown(task=task, misses=len(misses), causes=tuple(counts))


def _spread(misses: Sequence[Miss], count: int) -> tuple[Miss, ...]:
    """The first ``count`` misses, one per receipt first, then the next ones in order."""
    chosen, documents = [], set()
    for miss in misses:
        if len(chosen) < count and miss.doc_id not in documents:
            chosen.append(miss)
            documents.add(miss.doc_id)
    chosen += [m for m in misses if m not in chosen][:count - len(chosen)]
    return tuple(chosen)


def _missed(doc_id: str, segment: Word, task: str) -> Miss:
    return Miss(task=task, cause=Cause.OCR_MISSED, doc_id=doc_id, gold_text=segment.text, read_text=NOT_READ,
                gold_label=segment.field if task == FIELD else _value_text(gold_quantity(segment), segment.text),
                predicted_label="nothing to label")


def _field_misses(doc_id: str, segments: Sequence[Word], words: Sequence[Word], predicted,
                  owner: Sequence[int | None], members: dict[int, list[int]], read: dict[int, str]) -> list[Miss]:
    misses = [_missed(doc_id, segment, FIELD) for s, segment in enumerate(segments)
              if segment.field != OTHER and s not in members]
    for index, (word, guess) in enumerate(zip(words, predicted)):
        s = owner[index]
        gold_field = segments[s].field if s is not None else OTHER
        if guess.field == gold_field:
            continue
        cer = None
        # misread: this word's own text is not in the gold segment's. A word read right in a segment another of
        # its words was misread in is the model's miss (walkthrough 54: '5W30', read right, predicted ITEM_PRICE in
        # a segment whose code was misread, counted as the OCR's, 179 of 367 such), as is a right word of a
        # segment split across OCR words whose other part got the right field (they counted as "grouping")
        if s is not None and normalise(word.text) not in normalise(segments[s].text):
            cause, cer = Cause.OCR_MISREAD, character_error_rate(read[s], segments[s].text)
        else:
            cause = Cause.LABEL
        misses.append(Miss(task=FIELD, cause=cause, doc_id=doc_id, gold_text=segments[s].text if s is not None else "",
                           read_text=read[s] if s is not None else word.text, gold_label=gold_field,
                           predicted_label=guess.field, cer=cer, word=word.text))
    return misses


def _quantity_misses(doc_id: str, segments: Sequence[Word], predicted, members: dict[int, list[int]],
                     read: dict[int, str]) -> list[Miss]:
    misses = []
    for s, segment in enumerate(segments):
        if not segment.is_quantity:
            continue
        if s not in members:
            misses.append(_missed(doc_id, segment, QUANTITY))
            continue
        flagged = [predicted[j] for j in members[s] if predicted[j].quantity]
        if quantity_read_right(segment, flagged):
            continue
        gold_value = gold_quantity(segment)
        cer = None
        if not _quantity_text_read(segment, read[s], [predicted[j].text for j in members[s]], gold_value):
            cause, cer = Cause.OCR_MISREAD, character_error_rate(read[s], segment.text)
        elif not flagged:
            cause = Cause.LABEL
        else:
            cause = Cause.GROUPING
        shown = (", ".join(f"quantity {w.text!r}" for w in flagged) if flagged
                 else "/".join(dict.fromkeys(predicted[j].field for j in members[s])) + ", no quantity")
        misses.append(Miss(task=QUANTITY, cause=cause, doc_id=doc_id, gold_text=segment.text, read_text=read[s],
                           gold_label=_value_text(gold_value, segment.text), predicted_label=shown, cer=cer))
    return misses


def _quantity_text_read(segment: Word, joined: str, texts: Sequence[str], gold_value: float | None) -> bool:
    """Whether the OCR read a quantity segment: the same text, or words that still print the gold value."""
    if normalise(joined) == normalise(segment.text):
        return True
    if gold_value is None:
        return False
    values = [parse_quantity(joined)] + [parse_quantity(t) for t in texts]
    return any(v is not None and abs(v - gold_value) < 1e-6 for v in values)


def _value_text(value: float | None, text: str) -> str:
    if value is None:
        return f"quantity {text!r}"
    return f"quantity {value:g}"
