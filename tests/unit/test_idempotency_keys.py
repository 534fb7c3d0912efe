"""An Idempotency-Key as the draft writes it, and the fingerprint that tells one request from another."""

from __future__ import annotations

import pytest

from shared.idempotency.keys import MAX_KEY_LENGTH, conditions_of, fingerprint, fingerprints, parse_key

BODY = b'{"name": "Mujeres de Comas", "district": "Comas", "mapped_on": "2021-03-15"}'


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),  # a structured-field string
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),  # bare, as many clients send it
        ('"with space and \\"quote\\""', 'with space and "quote"'),
        ('  "padded"  ', "padded"),
        ('"' + "k" * MAX_KEY_LENGTH + '"', "k" * MAX_KEY_LENGTH),
    ],
)
def test_a_key_is_read_from_a_quoted_string_or_a_bare_token(header: str, key: str) -> None:
    assert parse_key(header) == key


@pytest.mark.parametrize(
    "header",
    ['""', "", '"' + "k" * (MAX_KEY_LENGTH + 1) + '"', '"unterminated', 'a"b', "two words", '"bad \\n escape"', '"tab\there"', '"ñandú"'],
)
def test_anything_else_is_not_a_key(header: str) -> None:
    assert parse_key(header) is None


def test_the_same_request_written_otherwise_has_the_same_fingerprint() -> None:
    reordered = b'{"mapped_on":"2021-03-15","district":"Comas",\n "name":"Mujeres de Comas"}'
    assert fingerprint("k1", "POST", "/osvs", "", BODY) == fingerprint("k1", "post", "/osvs", "", reordered)


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("PATCH", "/osvs", "", BODY),
        ("POST", "/osvs/1/dissolution", "", BODY),
        ("POST", "/osvs", "dry=1", BODY),
        ("POST", "/osvs", "", BODY.replace(b"\"district\": \"Comas\"", b"\"district\": \"Ate\"")),
        ("POST", "/osvs", "", b"not json"),
    ],
)
def test_another_method_path_query_or_body_has_another_fingerprint(method: str, path: str, query: str, body: bytes) -> None:
    assert fingerprint("k1", method, path, query, body) != fingerprint("k1", "POST", "/osvs", "", BODY)


def test_the_fingerprint_is_keyed_so_it_is_no_digest_of_the_body_alone() -> None:
    assert fingerprint("k1", "POST", "/osvs", "", BODY) != fingerprint("k2", "POST", "/osvs", "", BODY)


@pytest.mark.parametrize("caller", ["lead-1", ""])
def test_both_fingerprints_made_at_once_are_those_made_one_by_one(caller: str) -> None:
    """The record keeps the request's fingerprint with its caller and without: made together, each is what
    :func:`fingerprint` gives (records kept before are compared with them)."""
    assert fingerprints("k1", "POST", "/osvs", "?x=1", BODY, caller=caller) == (
        fingerprint("k1", "POST", "/osvs", "?x=1", BODY, caller=caller),
        fingerprint("k1", "POST", "/osvs", "?x=1", BODY),
    )


def test_a_requests_preconditions_are_part_of_its_fingerprint_and_none_leaves_it_as_before() -> None:
    """A retry with another `If-Match` is another request (tester 158 F6); one without keeps the digest records
    kept before preconditions counted were made with."""
    headers = [(b"content-type", b"application/json"), (b"If-Match", b'"3"'), (b"if-none-match", b"*")]
    conditions = conditions_of(headers)
    assert conditions == 'if-match: "3"\nif-none-match: *'
    assert conditions_of([(b"content-type", b"application/json")]) == ""
    assert fingerprint("k1", "POST", "/osvs", "", BODY, conditions="") == fingerprint("k1", "POST", "/osvs", "", BODY)
    assert fingerprint("k1", "POST", "/osvs", "", BODY, conditions=conditions) != fingerprint("k1", "POST", "/osvs", "", BODY)
    assert fingerprints("k1", "POST", "/osvs", "", BODY, caller="lead-1", conditions=conditions)[1] == fingerprint(
        "k1", "POST", "/osvs", "", BODY, conditions=conditions
    )
