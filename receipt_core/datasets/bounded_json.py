"""JSON from outside the process, parsed with bounds: size and nesting checked before parsing, NaN/Infinity refused.

``json.loads`` recurses once per nesting level, so a file nested 100,000 deep raises RecursionError; and it
accepts ``NaN``/``Infinity``, which are not JSON and cannot be stored as JSON again. :func:`loads_bounded`
measures the nesting first, in linear time without recursing, and raises :class:`BoundedJSONError` (a
ValueError) with a message for the user instead. Dataset files and checkpoint ``run.json`` files both go through it.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from typing import Any

# A JSON string: never fails once at a quote (an unterminated one runs to the end), so the scan stays linear.
_STRING = re.compile(r'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class BoundedJSONError(ValueError):
    """JSON text over a bound (size, nesting), with a non-JSON constant, or not JSON at all."""


class NotANumber(str):
    """Where ``loads_bounded(..., keep_constants=True)`` read ``NaN``, ``Infinity`` or ``-Infinity``: the
    constant's name, for a file of many records to refuse only the records that hold one (:func:`first_constant`)."""


def first_constant(value: Any) -> NotANumber | None:
    """The first :class:`NotANumber` anywhere in ``value`` (nested lists and objects), else None; no recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, NotANumber):
            return item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text, without parsing it (strings skipped); linear time."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(1 if char in "[{" else -1 for char in brackets), default=0)


def loads_bounded(text: str, max_chars: int, max_depth: int, keep_constants: bool = False) -> Any:
    """``json.loads(text)`` when ``text`` has at most ``max_chars`` characters and ``max_depth`` nesting levels and
    no ``NaN``/``Infinity`` (with ``keep_constants``, each is read as a :class:`NotANumber` for the caller to refuse
    what holds it); BoundedJSONError saying which bound or what syntax failed otherwise."""
    if len(text) > max_chars:
        raise BoundedJSONError(f"it is {len(text):,} characters long, over the limit of {max_chars:,}")
    depth = json_depth(text)
    if depth > max_depth:
        raise BoundedJSONError(f"it nests {depth:,} levels deep, over the limit of {max_depth}")
    try:
        return json.loads(text, parse_constant=NotANumber if keep_constants else _refuse_constant,
                          object_pairs_hook=_object_with_distinct_keys)
    except BoundedJSONError:
        raise
    except json.JSONDecodeError as error:
        # a one-line record (a WildReceipt line) is placed by its column: "line 2: … line 2 column 1" read as the
        # file's line 2 where the record had stopped early (probe 62)
        body = text.rstrip()
        if "BOM" in error.msg:  # Python's "(decode using utf-8-sig)" is no advice for a person (probe 65)
            raise BoundedJSONError("a byte-order mark (U+FEFF) opens it: save the file as UTF-8 without one") from None
        if error.pos >= len(body):
            raise BoundedJSONError(f"the record stops early ({error.msg[:1].lower()}{error.msg[1:]})") from None
        where = f"line {error.lineno} column {error.colno}" if "\n" in body else f"column {error.colno}"
        raise BoundedJSONError(f"{error.msg} at {where}") from None
    except RecursionError:  # not reached after json_depth; kept so no parse can escape as a crash
        raise BoundedJSONError("it nests too deeply") from None
    except ValueError as error:
        if "integer string conversion" in str(error):  # Python's own advice was sys.set_int_max_str_digits (a probe)
            raise BoundedJSONError(f"it holds a number of more than {sys.get_int_max_str_digits():,} digits, which "
                                   "no receipt value needs") from None
        raise BoundedJSONError(" ".join(str(error).split())[:200]) from None


def _object_with_distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict, refused when it names a key twice: ``json.loads`` keeps the last silently, so a
    file with two ``"text"`` keys (or two ids) imported one reading of it unsaid (a probe)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        shown = ascii(twice) if len(twice) <= 60 else ascii(twice[:60]) + "…"
        raise BoundedJSONError(f"an object names the key {shown} twice; which one is meant cannot be known, so "
                               "remove one")
    return data


def _refuse_constant(name: str) -> Any:
    raise BoundedJSONError(f"{name} is not a JSON number")
