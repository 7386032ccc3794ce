"""How a message names a JSON value a file held where another kind belongs: in JSON's words ("null", "a string",
"an object"), not Python's ("NoneType", "str", "dict"), which probe 62 read in the importers' messages."""

from __future__ import annotations

from typing import Mapping


def json_kind(value: object) -> str:
    """The kind of a value read from JSON, as its file spells it: ``null``, ``true``, ``the number 12``, ``a
    string``, ``a list``, ``an object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(value)
        return f"the number {text}" if len(text) <= 20 else "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
