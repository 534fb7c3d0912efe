"""The ``Idempotency-Key`` header's value and the request's fingerprint (the IETF httpapi draft "The Idempotency-Key HTTP
Header Field"; :mod:`shared.idempotency` keeps the record and the answers)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable

MAX_KEY_LENGTH = 255


def parse_key(value: str) -> str | None:
    """The key in an ``Idempotency-Key`` header, or None if it is not one.

    The draft makes the value a Structured Field string (``"…"``, RFC 8941);
    a bare token without quotes is taken too, as many clients send one. 1 to
    255 visible ASCII characters.
    """
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner, key, escaped = value[1:-1], [], False
        for char in inner:
            if escaped:
                if char not in '"\\':
                    return None
                key.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                return None
            else:
                key.append(char)
        if escaped:
            return None
        text = "".join(key)
    else:
        text = value
        if any(c in text for c in ' "\\'):
            return None
    if not 1 <= len(text) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in text):
        return None
    return text


def header_value(key: str) -> str:
    """``key`` as an ``Idempotency-Key`` header sends it: a Structured Field string (RFC 8941, as the draft writes it),
    ``"`` and ``\\`` escaped, so that any key of 1 to 255 visible ASCII characters reaches :func:`parse_key` whole."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def canonical_body(body: bytes) -> bytes:
    """The body as the command reads it: JSON with sorted keys and no spacing; other bytes as they are."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return body
    # A lone surrogate ("\\ud83d", half an emoji) is valid JSON text but no UTF-8: kept as its code unit, so the same
    # body gives the same bytes, and the route refuses it (422) as it would without a key.
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def fingerprint(key: str, method: str, path: str, query: str, body: bytes, caller: str = "", conditions: str = "") -> str:
    """An HMAC-SHA256 (hex) of the request under its own key: equal for the same request, and no digest of the body alone.

    ``caller`` is who sent it (the token's subject): the same key and body from
    someone else is another request, so an answer is never replayed to another caller;
    without it, the fingerprint of the request alone (the record keeps both).
    ``conditions``: the request's preconditions (:func:`conditions_of`), part of
    what it asks: a retry with another ``If-Match`` is another request, never
    answered with the first one's answer unchecked (tester 158 F6).
    """
    mac = _request_mac(key, method, path, query, body, conditions)
    if caller:
        mac.update(b"\ncaller=" + caller.encode())
    return mac.hexdigest()


def _request_mac(key: str, method: str, path: str, query: str, body: bytes, conditions: str = "") -> hmac.HMAC:
    """The HMAC of the request's method, path, query and canonical body under its key, one line each, and its
    conditions when it has any (a request without keeps the digest it had before they counted), not yet finished."""
    mac = hmac.new(key.encode(), b"\n".join([method.upper().encode(), path.encode(), query.encode(), canonical_body(body)]), hashlib.sha256)
    if conditions:
        mac.update(b"\nconditions=" + conditions.encode("latin-1", "replace"))
    return mac


def conditions_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """A request's preconditions as its fingerprint counts them: every ``If-*`` header line (``If-Match``,
    ``If-None-Match``…), name and value, in the order sent, one per line; ``""`` for none."""
    return "\n".join(f"{name.decode('latin-1').lower()}: {value.decode('latin-1')}" for name, value in headers if name.lower().startswith(b"if-"))


def fingerprints(key: str, method: str, path: str, query: str, body: bytes, caller: str, conditions: str = "") -> tuple[str, str]:
    """:func:`fingerprint` with ``caller`` and without, as a keyed request's record keeps both: the body read and
    written again once, and the caller's part added to a copy of the HMAC of the rest (the same digests)."""
    mac = _request_mac(key, method, path, query, body, conditions)
    if not caller:
        alone = mac.hexdigest()
        return alone, alone
    without = mac.copy()
    mac.update(b"\ncaller=" + caller.encode())
    return mac.hexdigest(), without.hexdigest()


TOLD_APART = "distinct_from"
"""A body's field that only tells its record apart from others like it (staff said it is another, not a duplicate):
:func:`apart_from_told_apart` leaves it out."""


def apart_from_told_apart(key: str, method: str, path: str, query: str, body: bytes, conditions: str = "") -> str | None:
    """:func:`fingerprint` (without the caller) of the request with its JSON body's top-level :data:`TOLD_APART` left
    out; None when the body has none (its fingerprint is then the request's own). The record keeps it, so that a key's
    request sent again with another ``distinct_from`` (an export imported again without ``osv-import --distinct``) is
    told from another request: it was carried out, recorded as first sent (tester 242 F2)."""
    if TOLD_APART.encode() not in body:  # the usual body: no parse
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or TOLD_APART not in parsed:
        return None
    rest = {name: value for name, value in parsed.items() if name != TOLD_APART}
    rest_body = json.dumps(rest, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return _request_mac(key, method, path, query, rest_body, conditions).hexdigest()
