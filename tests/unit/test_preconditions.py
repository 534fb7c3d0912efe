"""Reading If-Match and checking a record's version against it (RFC 9110 §13.1.1), without I/O."""

from __future__ import annotations

import pytest

from shared.errors import PreconditionFailedError, RuleViolationError
from shared.preconditions import ANY, check_version, versions_matched


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        (None, None),
        ('"7"', {7}),
        (' "7" , "12"', {7, 12}),
        ("*", {ANY}),
        ('W/"7"', set()),  # a weak tag matches nothing under If-Match's strong comparison
        ('W/"7", "8"', {8}),
        # empty list elements are ignored (RFC 9110 §5.6.1.2: a recipient must accept them): tester F8 had them 422
        ('"7",', {7}),
        (', "7"', {7}),
        ('"7",, "8" ,', {7, 8}),
        ("*,", {ANY}),
    ],
)
def test_if_match_names_the_versions_of_its_strong_tags(header: str | None, versions: set[int] | None) -> None:
    assert versions_matched(header) == (None if versions is None else frozenset(versions))


@pytest.mark.parametrize("header", ["7", '"v7"', '"7', "", " ", ",", " , ,", '""', '"²"', '*, "7"', 'w/"7"', '"07"', '"00"', 'W/"07"'])
def test_a_header_that_is_no_tag_this_service_gives_is_refused_naming_it(header: str) -> None:
    with pytest.raises(RuleViolationError) as refused:
        versions_matched(header)
    assert (refused.value.field, refused.value.rule) == ("If-Match", "entity_tag")


def test_a_version_the_header_does_not_name_is_a_failed_precondition_saying_the_current_one() -> None:
    check_version("the OSV", 3, None)
    check_version("the OSV", 3, frozenset({ANY}))
    check_version("the OSV", 3, frozenset({2, 3}))
    with pytest.raises(PreconditionFailedError) as failed:
        check_version("the OSV", 4, frozenset({3}))
    assert failed.value.extensions == {"current_version": 4}
    assert (failed.value.field, failed.value.rule) == ("If-Match", "current_version")
    assert failed.value.message.startswith('the OSV changed since it was read: it is at "4", If-Match named "3"')
    with pytest.raises(PreconditionFailedError, match="only weak tags"):
        check_version("the member", 4, frozenset())


def test_a_refusal_echoes_the_header_only_when_it_is_plain_ascii() -> None:
    """Starlette reads header bytes as Latin-1: a UTF-8 `"ñ"` echoed back read `"Ã±"` (tester 158)."""
    with pytest.raises(RuleViolationError) as plain:
        versions_matched('"v7"')
    assert "'\"v7\"'" in plain.value.message
    with pytest.raises(RuleViolationError) as mangled:
        versions_matched('"Ã±"')
    assert "Ã" not in mangled.value.message
