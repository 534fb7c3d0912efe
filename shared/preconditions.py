"""Optimistic concurrency for staff's changes to a record: ``ETag`` on what the services answer, ``If-Match`` on a change.

Two staff members correcting the same OSV at once both succeeded, the later silently undoing the earlier. A client that
sends the ``ETag`` it read (``If-Match: "7"``) has its change refused, 412 ``current_version`` naming ``If-Match``, when
the record changed since (RFC 9110 §13.1.1, strong comparison: a weak tag ``W/"7"`` never matches). Without the header
the change is taken as before. The tag is the aggregate's version, the number of events it recorded (``version`` in the
answer's body), quoted.

The 412 carries the record's ``ETag`` now (:func:`shared.problems.install_error_handlers`), as RFC 9110 allows.

The check runs inside the command, against the record as the store holds it when the change is saved: a command rerun
on a collision with another worker's save (:func:`shared.store.retried_on_collision`) checks it again. A route that
does not take :data:`IfMatch` refuses the header, 422 ``if_match_not_checked`` (:func:`shared.listing.known_parameters`).
"""

from __future__ import annotations

from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Header, Request, Response

from shared.errors import PreconditionFailedError, RuleViolationError

MAX_IF_MATCH = 1024
"""The longest ``If-Match`` taken (characters): a few tags; one longer is 422 ``string_too_long``."""

ANY = -1
"""``If-Match: *``: any version of a record that exists."""


def etag_of(version: int) -> str:
    """The strong entity tag of a record at ``version`` (events recorded): ``"7"``."""
    return f'"{version}"'


def tagged(response: Response, version: int) -> None:
    """Put the record's ``ETag`` (:func:`etag_of` ``version``) on ``response``."""
    response.headers["ETag"] = etag_of(version)


class Versioned(Protocol):
    version: int


V = TypeVar("V", bound=Versioned)


def answered(response: Response, public: V) -> V:
    """``public`` (an answer's body, with the record's ``version``), its ``ETag`` put on ``response``: a front end that
    created or changed a record may send its next change with ``If-Match`` without reading it again."""
    tagged(response, public.version)
    return public


def versions_matched(header: str | None) -> frozenset[int] | None:
    """The versions an ``If-Match`` header names (``"7"``, ``"7", "8"``; :data:`ANY` for ``*``), None without one.

    Raises :class:`~shared.errors.RuleViolationError` (422 ``entity_tag`` on ``If-Match``) for a header that is no list
    of quoted tags, or that names no version this service gives (a tag of digits). A weak tag (``W/"7"``) matches no
    version, as RFC 9110 has it for ``If-Match``. Empty list elements are ignored, as RFC 9110 (§5.6.1.2) has a
    recipient do (``"7",`` and ``, "7"`` name 7); a header of nothing else (empty, or commas alone) names no tag: 422.
    """
    if header is None:
        return None
    tags = [part.strip() for part in header.split(",") if part.strip()]  # empty elements ignored, RFC 9110 §5.6.1.2
    if tags == ["*"]:
        return frozenset({ANY})
    if not tags:
        raise _no_tag(header)
    versions: set[int] = set()
    for tag in tags:
        weak = tag.startswith("W/")
        opaque = tag.removeprefix("W/")
        digits = opaque[1:-1]
        if (
            len(opaque) < 3 or not (opaque.startswith('"') and opaque.endswith('"')) or not digits.isdigit()
            or not digits.isascii() or digits != str(int(digits))  # "04" is no tag given: the comparison is of the bytes
        ):
            raise _no_tag(header)
        if not weak:
            versions.add(int(opaque[1:-1]))
    return frozenset(versions)


def _no_tag(header: str) -> RuleViolationError:
    """422 ``entity_tag``: ``header`` (shown when it reads as it was sent) is no list of this service's tags."""
    shown = f" {header[:80]!r}" if header.isascii() and header.isprintable() else ""
    return RuleViolationError(
        f"If-Match{shown} is not the ETag this service answered: send it as given, such as \"7\"",
        field="If-Match", rule="entity_tag",
    )


def if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=MAX_IF_MATCH,
            description=(
                'The record\'s `ETag` as read (`"7"`): the change is refused, 412 `current_version`, if the record changed '
                "since. Without it the change is taken whatever came in between."
            ),
        ),
    ] = None,
    *,
    request: Request,
) -> frozenset[int] | None:
    """FastAPI dependency: the versions ``If-Match`` names (:func:`versions_matched`), over every ``If-Match`` line the
    request sent, one list as RFC 9110 (§5.3) has them (``If-Match: "1"`` and ``If-Match: "6"`` is ``"1", "6"``)."""
    lines = request.headers.getlist("if-match")
    if len(lines) > 1:
        if_match = ", ".join(lines)
        if len(if_match) > MAX_IF_MATCH:
            raise RuleViolationError(
                f"If-Match is {len(if_match)} characters over its {len(lines)} lines: at most {MAX_IF_MATCH}",
                field="If-Match", rule="string_too_long",
            )
    return versions_matched(if_match)


def check_version(record: str, current: int, expected: frozenset[int] | None) -> None:
    """Refuse a change to ``record`` (its name in the message: "the OSV") at ``current`` version unless ``expected``
    (an ``If-Match``'s versions; None: no precondition) names it.

    Raises :class:`~shared.errors.PreconditionFailedError` (412 ``current_version``, the version it is at in
    ``current_version``).
    """
    if expected is None or ANY in expected or current in expected:
        return
    named = ", ".join(etag_of(v) for v in sorted(expected)) or "only weak tags"
    raise PreconditionFailedError(
        f"{record} changed since it was read: it is at {etag_of(current)}, If-Match named {named}; read it again and "
        "send the change with its new ETag",
        current_version=current,
    )


IfMatch = Annotated[frozenset[int] | None, Depends(if_match)]
"""A change's ``If-Match`` versions (None without the header), for a route's parameters."""

PRECONDITION_FAILED = {
    412: {
        "description": "The record changed since the `ETag` sent in `If-Match` (rule `current_version`; `current_version` "
        "gives its version now, and the `ETag` header its tag now).",
        "headers": {"ETag": {"description": 'The record\'s tag now (`"8"`), as `GET` would answer it.', "schema": {"type": "string"}}},
    }
}
"""The 412 a route taking :data:`IfMatch` documents in OpenAPI."""
