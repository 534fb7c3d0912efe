"""JSON bodies read strictly: the first key an object gives twice, the first number the services cannot take as sent, and
the texts holding a control character.

Python's decoder takes what RFC 8259 leaves to the reader or does not allow: the last of a key given twice
(``{"amount": "100.00", "amount": "999.00"}``), ``NaN`` and ``Infinity``, a number past a double's range read as
infinity or zero, and one with more digits than a double carries read as another. The request guard
(:class:`shared.guards.RequestGuard`) refuses such a body with 422 naming the place: these find it. It refuses a text
holding a control character (:data:`CONTROL_CHARACTER`) the same way, naming each (:func:`texts_with_control_characters`).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""A control character other than tab, line feed and carriage return (NUL, a vertical tab, a form feed, an escape…): no
text the services take holds one (PostgreSQL's text columns refuse a NUL; a name is published for good). The request
guard refuses them in every command's body; the import, in every answer it reads (a vertical tab pasted into a name)."""


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class NotJsonNumber(Exception):
    """A number the services cannot take as sent: ``NaN``, ``Infinity`` or ``-Infinity`` (Python's JSON decoder reads
    them, RFC 8259 has no such numbers), or one past a double's range; ``message`` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _no_constant(name: str) -> Any:
    raise NotJsonNumber(f"{name} is no JSON number (RFC 8259): send a number or leave the field out")


_NONZERO_MANTISSA = re.compile(r"^-?[0.]*[1-9]")


def _readable_float(text: str) -> float:
    """``text``, a JSON number with a fraction or an exponent, as Python reads it; :class:`NotJsonNumber` for one past
    a double's range (``1e400`` read as infinity, ``1e-400`` as zero: the field's rules would judge another number)."""
    value = float(text)
    if math.isinf(value):
        raise NotJsonNumber(f"{text} is too large a number to be read (past 1.8e308, a double's range)")
    if value == 0.0 and _NONZERO_MANTISSA.match(text.lower().partition("e")[0]):
        raise NotJsonNumber(f"{text} is too small a number to be read (it would be taken as 0): send it without an exponent")
    if Decimal(repr(value)) != Decimal(text):  # 40.0000000000000000001 read as 40, a whole count (tester 36c, F3)
        raise NotJsonNumber(
            f"{text} has more digits than a number carries exactly (it would be read as {value!r}): send fewer digits, "
            "or the figure as a decimal string"
        )
    return value


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


class _Object(list[tuple[str, Any]]):
    """A JSON object as its pairs, in order, each one kept (a key given twice included)."""


class _Unreadable:
    """Where a number :func:`_readable_float` or ``parse_constant`` refuses stood, and why."""

    def __init__(self, message: str) -> None:
        self.message = message


def _marked_number(text: str) -> Any:
    try:
        return _readable_float(text)
    except NotJsonNumber as unreadable:
        return _Unreadable(unreadable.message)


def _marked_constant(name: str) -> Any:
    try:
        return _no_constant(name)
    except NotJsonNumber as unreadable:
        return _Unreadable(unreadable.message)


def first_unreadable_number(body: bytes) -> tuple[list[str], str] | None:
    """The path (``["count", "1"]``; ``[]`` for the body itself) and the message of the first number of ``body`` the
    services cannot read as sent (:class:`NotJsonNumber`), in the body's order; None if there is none."""
    try:
        tree = json.loads(body, object_pairs_hook=_Object, parse_float=_marked_number, parse_constant=_marked_constant)
    except ValueError:
        return None

    def first(node: Any, path: list[str]) -> tuple[list[str], str] | None:
        if isinstance(node, _Unreadable):
            return path, node.message
        children = node if isinstance(node, _Object) else enumerate(node) if isinstance(node, list) else ()
        for name, child in children:
            found = first(child, [*path, str(name)])
            if found is not None:
                return found
        return None

    return first(tree, [])


def duplicate_key(body: bytes) -> list[str] | None:
    """The path of the first key ``body`` gives twice in one JSON object (``["participants", "1", "sex"]``), or None (also
    for a body that is not JSON: the route's own parsing answers that). RFC 8259 leaves such an object's meaning to the reader: the services took the last
    ``amount`` of ``{"amount": "100.00", "amount": "999.00"}``, while a proxy or a log reader may keep the first.
    Raises :class:`NotJsonNumber` for ``NaN``, ``Infinity`` or a number past a double's range (:func:`_readable_float`)."""
    try:
        json.loads(body, object_pairs_hook=_unique_pairs, parse_constant=_no_constant, parse_float=_readable_float)
    except _DuplicateKey as twice:  # read again, marking where: the key is named by its path (``x.a``, ``items.2.kind``)
        return _first_twice(json.loads(body, object_pairs_hook=_marking_twice, parse_constant=_no_constant), []) or [twice.key]
    except ValueError:
        return None
    return None


class _Twice(dict[str, Any]):
    """An object that gave ``twice`` twice (its pairs up to then)."""

    twice = ""


def _marking_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            marked = _Twice(found)
            marked.twice = key
            return marked
        found[key] = value
    return found


def _first_twice(node: Any, path: list[str]) -> list[str] | None:
    """The path of the first key given twice, in the body's order (the nesting is bounded by :data:`MAX_JSON_DEPTH`)."""
    if isinstance(node, _Twice):
        here = _first_twice(dict(node), path)  # a duplicate inside a value given before the key repeated comes first
        return here or [*path, node.twice]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for name, child in children:
        found = _first_twice(child, [*path, str(name)])
        if found is not None:
            return found
    return None


def texts_with_control_characters(body: bytes, most: int) -> tuple[list[list[str]], int]:
    """The paths of the first ``most`` texts of ``body`` holding a :data:`CONTROL_CHARACTER`, in the body's order (a
    value's, ``["members", "0", "full_name"]``; a key's, the key's own path), and how many there are in all; ``([], 0)``
    for a body that is not JSON (the route's own parsing answers that)."""
    try:
        tree = json.loads(body, object_pairs_hook=_Object, parse_constant=lambda _: None)
    except ValueError:
        return [], 0
    found: list[list[str]] = []
    count = 0
    last: list[str] | None = None

    def walk(node: Any, path: list[str]) -> None:
        nonlocal count, last
        if isinstance(node, str):
            if CONTROL_CHARACTER.search(node) and path != last:  # a key and its text value are one place
                count, last = count + 1, path
                if len(found) < most:
                    found.append(path)
        elif isinstance(node, _Object):
            for key, child in node:
                walk(key, [*path, key])
                walk(child, [*path, key])
        elif isinstance(node, list):
            for place, child in enumerate(node):
                walk(child, [*path, str(place)])

    walk(tree, [])
    return found, count
