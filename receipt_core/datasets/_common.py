"""Helpers the dataset loaders share: bounded JSON and numbers, per-record isolation, boxes clamped to the page,
image suffixes, and files written with the user's umask.

Every number an importer takes from a file is bounded before it is converted or stored (a width of ``10**400``
cannot be a float, and ``10**30`` does not fit an SQLite INTEGER), JSON is refused before parsing when it nests
deeper than :attr:`ImportLimits.max_depth`, and ``NaN``/``Infinity`` are refused while parsing (they are not JSON
and cannot be stored as JSON; see :mod:`.bounded_json`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..data.document import MAX_DOCUMENT_WORDS, MAX_WORD_CHARS, Box, Document, DocumentFormatError
from ..data.files import file_sha256
from ..data.json_values import json_kind
from ..data.markup import holds_control_character
from ..data.quantity import MAX_QUANTITY
from .bounded_json import BoundedJSONError, json_depth, loads_bounded
from ..wording import counted

# a dataset's JSON files, whatever the case of their extension: a probe's receipt_70001.JSON beside a .json was
# left out without a word
JSON_FILES = "*.[jJ][sS][oO][nN]"
MAX_FILES_LOOKED_AT = 100_000  # a folder's JSON files counted for a left-out note, at most
MAX_LISTED_LEFT_OUT = 3  # file names a left-out note gives as examples


def json_files_left_out(path: Path, read: Sequence[Path], ignored: Sequence[str] = ()) -> str | None:
    """How many JSON files under ``path`` (subfolders included) are not among ``read``, with a few of their names
    (``"2 JSON files under x left out (a/b.json, c/d.json)"``); None when none is. ``ignored``: file names, in
    lower case, that no import reads (CORD's manifest.json)."""
    if not path.is_dir():
        return None
    read_already = set(read)
    left_out = []
    for number_, candidate in enumerate(path.rglob(JSON_FILES)):
        if number_ >= MAX_FILES_LOOKED_AT:
            break
        if candidate not in read_already and candidate.name.lower() not in ignored and candidate.is_file():
            left_out.append(candidate.relative_to(path).as_posix())
    if not left_out:
        return None
    examples = ", ".join(sorted(left_out)[:MAX_LISTED_LEFT_OUT]) + (", …" if len(left_out) > MAX_LISTED_LEFT_OUT
                                                                      else "")
    return f"{counted(len(left_out), 'JSON file')} under {path.name} left out ({examples})"


MAX_PAGE_SIDE = 100_000  # pixels; a 600 dpi scan of a 4 m receipt roll is ~95,000
MAX_COORDINATE = 10_000_000.0  # pixels, before clamping to the page
MAX_ID_LENGTH = 300
MAX_SOURCE_LENGTH = 1000  # a file name or path; every picker and search shows it (a probe stored 1,000,000)
_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"), (b"BM", ".bmp"),
          (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"))


class RecordError(ValueError):
    """One bad record (a word, a receipt); the loader reports it and carries on."""


@dataclass(frozen=True)
class ImportLimits:
    """What one imported record may hold; a record over a limit is one problem line, the rest imports."""

    max_words: int = MAX_DOCUMENT_WORDS  # words (CORD words, WildReceipt segments, native words) per document
    max_record_bytes: int = 32 * 1024 * 1024  # one JSON file (CORD, native) or one WildReceipt line
    max_depth: int = 32  # JSON nesting; the formats need 5

    def __post_init__(self) -> None:
        for name in ("max_words", "max_record_bytes", "max_depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ImportLimits.{name} must be a whole number of at least 1, got {value!r}")


DEFAULT_LIMITS = ImportLimits()


def missing_path(given: Path, resolved: Path) -> str:
    """Why a dataset path that is not there is not: a link that leads nowhere (to itself, in a loop, or to nothing)
    said as such, where a probe's link loop read "does not exist" on import and "too many levels of symbolic links"
    from ``ocr``."""
    if given.is_symlink() or resolved.is_symlink():
        return f"{given} is a link that leads nowhere (to itself, in a loop, or to a path that does not exist)"
    return f"{resolved} does not exist"


def regular_file_size(file: Path) -> int:
    """``file``'s size in bytes when it is a regular file (links followed), else RecordError: reading a named pipe
    named ``*.json`` would wait for a writer forever, and a device may never end."""
    info = file.stat()
    if not stat.S_ISREG(info.st_mode):
        raise RecordError("not a regular file (a pipe, device or folder)")
    return info.st_size


def read_record_file(file: Path, limits: ImportLimits, keep_constants: bool = False) -> Any:
    """The JSON in ``file``, or RecordError: too large, unreadable, too deeply nested, NaN/Infinity, not JSON.

    UTF-8 with or without a byte-order mark (Windows editors and Excel write one; RFC 8259 lets a reader ignore
    it); any other encoding is refused with a message saying to save the file as UTF-8."""
    try:
        size = regular_file_size(file)
        if size > limits.max_record_bytes:
            raise RecordError(f"the file is {size:,} bytes, over the limit of {limits.max_record_bytes:,}")
        text = file.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise RecordError(f"not a readable JSON file ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise RecordError(f"not a readable JSON file (not UTF-8 text: {error.reason} at byte {error.start}; "
                          "save it as UTF-8)") from None
    return parse_record(text, limits, invalid="not a readable JSON file", keep_constants=keep_constants)


def parse_record(text: str, limits: ImportLimits, invalid: str = "not valid JSON", keep_constants: bool = False) -> Any:
    """``json.loads`` with the record's size and nesting bounded first and NaN/Infinity refused (``keep_constants``:
    read as :class:`~.bounded_json.NotANumber`, for a file of many records); RecordError."""
    try:
        return loads_bounded(text, limits.max_record_bytes, limits.max_depth, keep_constants)
    except BoundedJSONError as error:
        raise RecordError(f"{invalid} ({error})") from None


def number(value: object, what: str, bound: float = MAX_COORDINATE) -> float:
    """A finite JSON number with ``|value| <= bound``, or RecordError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"{what} must be a number, got {shown(value)}")
    if isinstance(value, int):
        if abs(value) > bound:  # compared as int: 10**400 never becomes a float
            raise RecordError(f"{what} is {shown(value)}, outside ±{bound:,.0f}")
        return float(value)
    if not math.isfinite(value) or abs(value) > bound:
        raise RecordError(f"{what} is {shown(value)}, outside ±{bound:,.0f}")
    return value


def quantity_number(value: object, what: str) -> float:
    """A stored item quantity: a number from 0 to ``MAX_QUANTITY``, or RecordError naming ``what``."""
    quantity = number(value, what, MAX_QUANTITY)
    if quantity < 0:
        raise RecordError(f"{what} is {shown(value)}; a quantity is not negative")
    return quantity


def note_no_count(where: str, text: str, value: float | None, notes: list[str]) -> None:
    """Say when a quantity word prints a number that is no count (``parse_quantity`` refuses "-2", "1e308" and over a
    billion), so it imports without a value; a word with no digit at all (CORD's "x") is not said."""
    if value is None and any(c.isdigit() for c in text):
        notes.append(f"{where} {text!r}: labelled as a quantity but its number is no count (a count is a whole or "
                     "decimal number up to 1,000,000,000, printed plainly: not -2, not 1e5); imported without a value")


def page_size(width: object, height: object, what: str) -> tuple[int, int]:
    """A page size in whole pixels, 1 to ``MAX_PAGE_SIDE`` each, or RecordError."""
    w, h = number(width, f"{what} width", MAX_PAGE_SIDE), number(height, f"{what} height", MAX_PAGE_SIDE)
    if w < 1 or h < 1 or not w.is_integer() or not h.is_integer():
        raise RecordError(f"{what} must be positive whole pixels (at most {MAX_PAGE_SIDE:,}), got "
                          f"{shown(width)}x{shown(height)}")
    return int(w), int(h)


def too_many_words(count: int, limits: ImportLimits) -> RecordError | None:
    """The error for a document with more than ``limits.max_words`` words, else None."""
    if count <= limits.max_words:
        return None
    return RecordError(f"the document has {count:,} words, over the limit of {limits.max_words:,} per document "
                       f"(raise it with --max-words)")


MAX_META_BYTES = 64 * 1024  # a document's free-form meta (Label Studio data.meta, CORD meta) kept per receipt


def _bounded_meta(doc: Document, notes: list[str]) -> Document:
    """``doc`` with its meta dropped (and said) when its JSON is over :data:`MAX_META_BYTES`: a probe's three tasks
    with 25 MB each of ``data.meta`` grew the workspace database to 80 MB, copied into every read of them."""
    try:
        size = len(json.dumps(doc.meta, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError):
        return doc  # the JSON check below names what cannot be stored
    if size <= MAX_META_BYTES:
        return doc
    notes.append(f"its meta holds {size:,} bytes, over the {MAX_META_BYTES:,} kept for a receipt; dropped")
    return dataclasses.replace(doc, meta={})


def _clean_word_texts(doc: Document, notes: list[str]) -> Document:
    """``doc`` with each word's text as a person may type it: whitespace runs (newlines, tabs, line separators) one
    space, control characters (NUL, escape, delete) removed; a word left without text is dropped. A probe imported
    "A\\x00B" and "\\x1b[31mRED" unsaid, which Corrections refuses from a person."""
    words, changed, dropped = [], [], 0
    for index, word in enumerate(doc.words):
        text = " ".join(word.text.split())
        if holds_control_character(text):
            text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
        if not text:  # an empty text was kept, with its TOTAL label, while "   " was dropped (a probe)
            dropped += 1
            continue
        if text != word.text:
            changed.append((index, word.text, text))
        words.append(word if text == word.text else dataclasses.replace(word, text=text))
    if not changed and not dropped:
        return doc
    parts = []
    if changed:
        index, before, after = changed[0]
        parts.append(f"{counted(len(changed), 'word')} held line breaks, tabs or control characters, cleaned as a "
                     f"typed word must be (for example word {index} {before!r} → {after!r})")
    if dropped:  # "   " was named as a word that held control characters (a probe)
        parts.append(f"{counted(dropped, 'word')} without text (empty, or only spaces or control characters) dropped")
    notes.append("; ".join(parts))
    return doc.with_words(words)


def _bounded_confidences(doc: Document, notes: list[str]) -> Document:
    """``doc`` with each OCR confidence outside Tesseract's 0–100 read as none, said: a probe's native word of
    confidence 200 was stored as is, which the Label Studio importer already refused."""
    odd = [i for i, word in enumerate(doc.words) if word.confidence is not None
           and not (math.isfinite(word.confidence) and 0 <= word.confidence <= 100)]
    if not odd:
        return doc
    notes.append(f"{counted(len(odd), 'word')} with a confidence outside 0–100 (word {odd[0]}: "
                 f"{doc.words[odd[0]].confidence:g}) read as having none")
    cleared = set(odd)
    return doc.with_words(dataclasses.replace(word, confidence=None) if i in cleared else word
                          for i, word in enumerate(doc.words))


def record_problem(error: BaseException) -> str:
    """One line saying why a record was skipped: the message of our own errors, the type for anything else."""
    if isinstance(error, (RecordError, DocumentFormatError)):
        return str(error)
    if isinstance(error, OSError):
        return f"cannot read it ({error.strerror or error})"
    message = " ".join(str(error).split())[:300]
    return f"unexpected {type(error).__name__}: {message}" if message else f"unexpected {type(error).__name__}"


def storable(doc: Document, notes: list[str]) -> Document:
    """``doc`` if it can be stored (strict JSON in UTF-8, an id without control characters or spaces at its ends,
    bounded page, word and source texts), else RecordError. Word texts are cleaned as a person's edit must be
    (line breaks and tabs become spaces, other control characters go), said in one note."""
    doc = _bounded_meta(_bounded_confidences(_clean_word_texts(doc, notes), notes), notes)
    if not doc.id.strip() or len(doc.id) > MAX_ID_LENGTH:
        raise RecordError(f"the document id must be 1 to {MAX_ID_LENGTH} characters, got {shown(doc.id)}")
    overlong = [index for index, word in enumerate(doc.words) if len(word.text) > MAX_WORD_CHARS]
    if overlong:  # left out, said: one such word had cost the whole receipt (a probe)
        notes.append(f"{counted(len(overlong), 'word')} over the limit of {MAX_WORD_CHARS} characters for one word "
                     f"left out (word {', '.join(str(i) for i in overlong[:5])}"
                     f"{', …' if len(overlong) > 5 else ''}: {len(doc.words[overlong[0]].text):,} characters)")
        doc = doc.with_words([word for word in doc.words if len(word.text) <= MAX_WORD_CHARS])
    if len(doc.source) > MAX_SOURCE_LENGTH:
        raise RecordError(f"the document's source (its file name) has {len(doc.source):,} characters, over the limit "
                          f"of {MAX_SOURCE_LENGTH:,}")
    if holds_control_character(doc.id):
        raise RecordError(f"the document id {shown(doc.id)} holds a control character (such as a newline, tab, NUL "
                          "or escape)")
    if doc.id != doc.id.strip():  # 'r1 ' beside 'r1' would be two receipts that every picker shows alike
        raise RecordError(f"the document id {shown(doc.id)} starts or ends with a space; remove it")
    composed = unicodedata.normalize("NFC", doc.id)
    if composed != doc.id:  # 'café' typed as e + combining accent beside 'café': two receipts shown alike (a probe)
        notes.append(f"document id {ascii(doc.id)[:80]} stored in composed Unicode (NFC) as {ascii(composed)[:80]}, "
                     "so that ids that look alike are one id")
        doc = dataclasses.replace(doc, id=composed)
    try:
        json.dumps(doc.to_json(), allow_nan=False, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate ("\ud800" in the JSON): no UTF-8 text can hold it
        lone = shown(error.object[error.start:error.end])
        raise RecordError(f"the document holds text that is not valid Unicode ({lone} is half of a surrogate "
                          "pair)") from None
    except (TypeError, ValueError) as error:
        raise RecordError(f"the document cannot be stored as JSON ({error})") from None
    return doc


def box_on_page(xs: Sequence[float], ys: Sequence[float], width: int, height: int) -> tuple[Box, bool]:
    """The axis-aligned box around corner points, clamped to the page, and whether clamping changed it.

    Raises RecordError when the box lies entirely off the page (nothing of the word is on it).
    """
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    if x0 > width or y0 > height or x1 < 0 or y1 < 0:
        raise RecordError(f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) lies entirely outside the {width}x{height} page")
    clamped = (min(max(x0, 0.0), width), min(max(y0, 0.0), height),
               min(max(x1, 0.0), width), min(max(y1, 0.0), height))
    return clamped, clamped != (x0, y0, x1, y1)


def inside(root: Path, path: Path) -> bool:
    """Whether ``path``, with every link followed, lies inside ``root`` (resolved too)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def image_suffix(path: Path, data: bytes) -> str:
    """A plain image extension for stored bytes: the file's own when plain (``.jpg``), else one from the bytes'
    magic number (``x.jpg_backup`` holding a JPEG gives ``.jpg``), else ``.img``."""
    suffix = path.suffix.lower()
    if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        return suffix
    for magic, sniffed in _MAGIC:
        if data.startswith(magic):
            return sniffed
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".img"


def json_subfolders_note(folder: Path) -> str:
    """When ``folder`` holds no .json file at its top but some of its subfolders do: "; its subfolders a/, b/ hold
    .json files: import each on its own", so a refusal says where the files are (a probe's folder of two
    subfolders of native files read "it holds no .json file"); "" otherwise. A ``json/`` subfolder is CORD's
    layout, which format recognition reads as CORD: it is not named."""
    holders = sorted({file.parent.name for file in itertools.islice(folder.glob(f"*/{JSON_FILES}"), 200)} - {"json"})
    if not holders:
        # deeper down: probe 48's zip of json/sub/x.json read "it holds no .json file"
        deeper = next((file for file in itertools.islice(folder.rglob(JSON_FILES), 200)
                       if len(file.relative_to(folder).parts) > 2), None)
        if deeper is None:
            return ""
        where = deeper.parent.relative_to(folder).as_posix()
        return (f"; .json files lie deeper, in {where}/ and perhaps beside it: import that folder, or put CORD's "
                "files directly in json/")
    named = ", ".join(f"{name}/" for name in holders[:3]) + (", …" if len(holders) > 3 else "")
    return (f"; its subfolder {named} holds .json files: import that folder" if len(holders) == 1
            else f"; its subfolders {named} hold .json files: import each of them on its own")


def short_id(value: str) -> str:
    """A record's id for a message, unquoted: whole up to 40 characters, else its first 30 and its length (probe 31's
    200,000-character Label Studio region id was echoed whole into one 200 kB note)."""
    return value if len(value) <= 40 else f"{value[:30]}… ({len(value):,} characters)"


def shown(value: object) -> str:
    """A value for a message, cut short (a 10**400 integer or a megabyte string is not echoed whole); null, true and
    false as JSON spells them (probe 62 read "got True")."""
    if value is None or isinstance(value, bool):
        return json_kind(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {len(str(abs(value))) if value.bit_length() < 14000 else 'over 4,000'} digits"
    text = repr(value)
    if len(text) <= 40:
        return text
    if isinstance(value, str):  # the string's own length, not its quoted form's (a probe counted the quotes)
        return f"{value[:30]!r}… ({len(value):,} characters)"
    if isinstance(value, (list, tuple, dict)):
        kind = "an object of {:,} keys" if isinstance(value, dict) else "a list of {:,} items"
        return f"{kind.format(len(value))} ({text[:30]}…)"
    return f"{text[:30]}… ({len(text):,} characters)"


__all__ = ["MAX_COORDINATE", "MAX_PAGE_SIDE", "MAX_QUANTITY", "DEFAULT_LIMITS", "ImportLimits", "RecordError",
           "box_on_page", "file_sha256", "image_suffix", "inside", "json_depth", "json_subfolders_note", "number",
           "page_size",
           "quantity_number",
           "parse_record", "read_record_file", "record_problem", "shown", "storable", "too_many_words"]
