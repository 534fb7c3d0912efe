"""Every error a service answers, as problem+json (RFC 9457) naming the field and the rule.

One table maps error families to statuses; no handler swallows an exception
and answers 200. :func:`install_error_handlers` once per app (the services'
:func:`shared.web.base_api` does it; the imports webhook calls it itself).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import eventsourcing.persistence
import psycopg
import sqlalchemy.exc
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import (
    MAX_COUNT,
    ConflictError,
    DomainError,
    ForbiddenError,
    LagRefusal,
    MisconfiguredError,
    NotFoundError,
    PreconditionFailedError,
    RuleViolationError,
    UnavailableError,
)
from shared.guards import BodyTooLarge, allowed_methods, problem
from shared.preconditions import etag_of
from shared.streamahead import STORE_BEHIND_RETRY_AFTER_SECONDS, StoreBehindStreamError

log = logging.getLogger(__name__)

DATABASE_AWAY: tuple[type[Exception], ...] = (
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,  # psycopg_pool.PoolTimeout too
    psycopg.InterfaceError,
)
"""What the event store (eventsourcing), the views (SQLAlchemy) and the driver (psycopg) raise when the
database cannot be reached, refuses connections, broke one, or holds a lock too long: try again later."""

RETRY_AFTER_SECONDS = 5

STATUS_OF: Mapping[type[Exception], tuple[int, str]] = {
    ForbiddenError: (403, "Forbidden"),
    NotFoundError: (404, "Not Found"),
    AggregateNotFoundError: (404, "Not Found"),
    ConflictError: (409, "Conflict"),
    IntegrityError: (409, "Conflict"),
    RuleViolationError: (422, "Unprocessable Content"),
    PreconditionFailedError: (412, "Precondition Failed"),
    UnavailableError: (503, "Service Unavailable"),
    **{away: (503, "Service Unavailable") for away in DATABASE_AWAY},
}


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    """The field an error of pydantic's or a route's names, dotted (``action_items.0.due_on``); the body as a whole when the
    location names none, and the query itself for a parameter without a name (``?=true``, tester 233 F5: it said ``body``)."""
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    if not any(parts) and len(location) > 1 and location[0] in ("query", "header"):
        return str(location[0])
    return ".".join(parts) or "body"


PLAIN_MESSAGES = {
    "uuid_parsing": "must be an id: 32 hexadecimal digits in groups of 8-4-4-4-12, as the service gave it "
    "(such as 3fa85f64-5717-4562-b3fc-2c963f66afa6)",
    "uuid_type": "must be an id: 32 hexadecimal digits in groups of 8-4-4-4-12, as the service gave it",
    "int_type": "must be a whole number written as a JSON number (1990), not text, a fraction or true/false",
    "int_parsing": "must be a whole number written as a JSON number (1990)",
    "int_from_float": "must be a whole number, without a fractional part",
    "decimal_type": "must be a number, written as a JSON number (12.5) or as text of digits (\"12.50\"), not true/false, a list or an object",
    "decimal_parsing": "must be a number, written as a JSON number (12.5) or as text of digits (\"12.50\")",
    "extra_forbidden": "is no field of this request: leave it out (the request's fields are in its OpenAPI description)",
}
"""pydantic's messages that read as its parser's ("Input should be a valid UUID, invalid group count: expected 5,
found 1"), said as what to send instead; the rule stays pydantic's type (a bound's is the project's: :func:`bound_rule`)."""

PATTERNS_IN_WORDS = {
    r"^[A-Za-z0-9._-]+$": "letters, digits, '.', '_' and '-' only, no spaces (such as F1 or 2021-a)",
    r"^[a-z][a-z0-9_]*$": "a lowercase letter, then lowercase letters, digits and '_' only (such as capacity or budget_2)",
    r"^[A-Z]{2}$": "a country's two capital letters, ISO 3166-1 alpha-2 (such as VE or PE)",
    r"^[A-Za-z0-9][A-Za-z0-9 ._/#-]*$": "a letter or digit first, then letters, digits, spaces and . _ / # - only (such as OC-2021/014)",
    r"^\s*([0-9]{6}|[Mm][Mm][Ll])\s*$": "a district's ubigeo, its six digits (INEI code, such as 150132 for San Juan de Lurigancho), or mml",
}
"""What a field's pattern asks for, in words: pydantic's message shows the regular expression itself ("String should
match pattern '^[a-z][a-z0-9_]*$'"), which a lead typing a criterion's code cannot read (tester 37c F9). The rule stays
``string_pattern_mismatch``; the JSON Schema keeps the pattern for machines."""

PLAIN_MESSAGES_IN_TEXT = {
    "int_type": "must be a whole number, such as 10",
    "int_parsing": "must be a whole number, such as 10",
    "decimal_type": "must be a number, such as 12.5",
    "decimal_parsing": "must be a number, such as 12.5",
}
""":data:`PLAIN_MESSAGES` for a query or path parameter or a header, which is text: "written as a JSON number" told a
caller of ``?limit=abc`` of a JSON that was not there (tester 36, F6)."""


MAX_POSITION = 2**63 - 1
"""The highest position a store can hold (a signed 64-bit integer, on SQLite and PostgreSQL alike); :mod:`shared.web` bounds
positions asked for by it."""

NAMED_BOUNDS: Mapping[int, tuple[str, str]] = {
    MAX_COUNT: ("max_count", ": more than live in Lima"),
    MAX_POSITION: ("max_position", ": no stream holds so many events"),
}
"""A bound a rule names by what it is (``at_most_max_count``), not by its digits, with what the message adds."""


def _bound_name(bound: object) -> str:
    """A bound as a rule writes it: ``0``, ``1000``, ``minus_1000``, ``0_point_5``."""
    if isinstance(bound, int | float | Decimal) and bound == int(bound):
        bound = int(bound)
    return str(bound).replace("-", "minus_").replace(".", "_point_")


def _said(bound: object) -> str:
    """A bound as a message writes it: ``1,000``, ``0``, ``0.5``."""
    if isinstance(bound, int | float | Decimal) and bound == int(bound):
        return f"{int(bound):,}"
    return str(bound)


BOUND_TYPES = frozenset({
    "greater_than", "greater_than_equal", "less_than_equal", "less_than", "too_long", "decimal_max_places",
    "decimal_whole_digits", "decimal_max_digits",
})
"""pydantic's error types of a bound (:func:`bound_rule` names them by the project's rules)."""


def bound_rule(error: Mapping[str, Any]) -> tuple[str, str] | None:
    """The project's rule and message for a bound pydantic checked (``Field(gt=0)``, ``Query(ge=1, le=3650)``, a decimal's
    places), instead of pydantic's type (``greater_than``, ``less_than_equal``…); None for any other error.

    The names are the domain's (:mod:`shared.errors`): ``greater_than_0`` (:class:`~shared.errors.NotPositiveError`),
    ``not_negative`` for ``ge=0`` (:class:`~shared.errors.NegativeError`), ``at_least_<n>`` (``at_least_1``:
    :class:`~shared.errors.BelowOneError`), ``at_most_<n>`` (``at_most_max_count``: :class:`~shared.errors.TooManyError`;
    a negative bound is ``minus_<n>``), ``less_than_<n>``, and ``at_most_<n>_decimal_places``,
    ``at_most_<n>_whole_digits``, ``at_most_<n>_digits`` for a decimal's digits, ``at_most_<n>_items`` for a list's
    length. The message says the bound and what was given."""
    kind, bound_of = error.get("type"), error.get("ctx") or {}
    if kind not in BOUND_TYPES:  # a missing field's input is the whole body: not written out for nothing
        return None
    given = _shown_decimal(error.get("input"))  # a count of 99 digits was repeated whole (tester 36d F5)
    if kind == "greater_than" and "gt" in bound_of:
        bound = bound_of["gt"]
        return f"greater_than_{_bound_name(bound)}", f"must be greater than {_said(bound)}, not {given}"
    if kind == "greater_than_equal" and "ge" in bound_of:
        bound = bound_of["ge"]
        if bound == 0:
            return "not_negative", f"must be 0 or more, not {given}"
        return f"at_least_{_bound_name(bound)}", f"must be at least {_said(bound)}, not {given}"
    if kind == "less_than_equal" and "le" in bound_of:
        bound = bound_of["le"]
        name, why = NAMED_BOUNDS.get(bound, (_bound_name(bound), "")) if isinstance(bound, int) else (_bound_name(bound), "")
        return f"at_most_{name}", f"must be at most {_said(bound)}, not {given}{why}"
    if kind == "less_than" and "lt" in bound_of:
        bound = bound_of["lt"]
        return f"less_than_{_bound_name(bound)}", f"must be less than {_said(bound)}, not {given}"
    if kind == "too_long" and "max_length" in bound_of:  # a list's (or an object's) bound: pydantic said "List should have..."
        bound = bound_of["max_length"]
        held = bound_of.get("actual_length")  # None for an object's entries (tester 133 F4: "not None")
        return f"at_most_{_bound_name(bound)}_items", f"must hold at most {_said(bound)} items" + (f", not {_said(held)}" if held is not None else "")
    if kind == "decimal_max_places" and "decimal_places" in bound_of:
        places = bound_of["decimal_places"]
        return f"at_most_{places}_decimal_places", f"must have at most {places} decimal places, not {given}"
    if kind == "decimal_whole_digits" and "whole_digits" in bound_of:
        digits = bound_of["whole_digits"]
        return f"at_most_{digits}_whole_digits", f"must have at most {digits} digits before the point, not {given}"
    if kind == "decimal_max_digits" and "max_digits" in bound_of:
        digits = bound_of["max_digits"]
        return f"at_most_{digits}_digits", f"must have at most {digits} digits, not {given}"
    return None


SHOWN_DIGITS_MOST = 20
"""The most characters of a refused number a message repeats: past them, how many digits it has (a 201-digit amount was
echoed whole, tester 36b F9)."""


def _shown_decimal(given: object) -> str:
    text = str(given)
    if len(text) <= SHOWN_DIGITS_MOST:
        return text
    return f"a number of {sum(c.isdigit() for c in text)} digits ({text[:8]}…)"


TEXT_LENGTHS = {"string_too_long": ("max_length", "at most"), "string_too_short": ("min_length", "at least")}
"""pydantic's errors of a text's length (their own names kept as the rules: clients read ``string_too_long``), the bound
in their context, and how the message says it."""


def _rule_and_message(error: Mapping[str, Any]) -> tuple[str, str]:
    """An error of pydantic's as the 422 names it: a bound by the project's rule (:func:`bound_rule`), any other by its type."""
    named = bound_rule(error)
    if named is not None:
        return named
    kind = error.get("type", "invalid")
    if kind == "json_invalid":  # "JSON decode error" alone: where, and what the decoder missed (tester 233 F5)
        return kind, json_mistake(error)
    if kind == "string_pattern_mismatch" and (words := PATTERNS_IN_WORDS.get(str((error.get("ctx") or {}).get("pattern")))):
        return kind, f"must be {words}"
    if kind == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:  # "String should have at least 1
        return kind, "must not be empty: spaces alone are no text"  # character" of a name of spaces, trimmed (tester 184 F6)
    if kind in TEXT_LENGTHS and isinstance(length := (error.get("ctx") or {}).get(TEXT_LENGTHS[kind][0]), int):
        # Said as the bounds are (pydantic's "String should have at most 2000 characters", tester 265 F7), with the
        # length sent and never the text itself: it may be a note naming someone.
        given = error.get("input")
        sent = f", not {len(given):,}" if isinstance(given, str) else ""
        return kind, f"must be {TEXT_LENGTHS[kind][1]} {length:,} characters long{sent}"
    if kind in ("enum", "literal_error") and (expected := (error.get("ctx") or {}).get("expected")):  # "Input should be
        # "Input should be 'president'…" read as pydantic's (tester 232 F5); "in English" was said of PASAPORTE and CEDULA_VE
        # too (tester 276): the codes are the API's, in whichever language, and are not translated.
        return kind, f"must be one of {expected}: the API's own codes, written as listed, not translated"
    in_text = tuple(error.get("loc", ()))[:1] in (("query",), ("path",), ("header",))
    plain = PLAIN_MESSAGES_IN_TEXT.get(kind) if in_text else None
    return kind, plain or PLAIN_MESSAGES.get(kind, str(error.get("msg", "")).removeprefix("Value error, "))


def json_mistake(error: Mapping[str, Any]) -> str:
    """A body the JSON decoder stopped on, as its 422 says it: the decoder's own words (``Extra data``: text after the
    value) and the character it stopped at, counted from 1 (FastAPI's ``loc`` holds it from 0: ``("body", 8)``)."""
    reason = str((error.get("ctx") or {}).get("error") or "not JSON")
    where = tuple(error.get("loc", ()))[1:2]
    at = f" at character {where[0] + 1}" if where and isinstance(where[0], int) else ""
    if at and reason.endswith(" at"):  # "Unterminated string starting at", "Invalid control character at" (tester 251 F3)
        at = at.removeprefix(" at")
    if reason == "Extra data":
        reason = "Extra data: text after the JSON value"
    return f"must be one JSON value: {reason}{at}"


def request_errors(found: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors of a request (each ``loc`` starting ``body``, ``query``, ``path`` or ``header``) as its 422 names
    them, in order: ``{"field", "rule", "message"}``, the field dotted (``action_items.0.due_on``), the rule and message
    as :func:`_rule_and_message` says them. The imports webhook reads engagement's bodies with it too
    (:mod:`services.imports.schemachecks`), for its words to be the service's."""
    return [
        {"field": "body" if e.get("type") == "json_invalid" else _field_of(e.get("loc", ())), "rule": rule, "message": message}
        for e in found
        for rule, message in [_rule_and_message(e)]
    ]


MAX_LISTED_ERRORS = 100
"""The most errors a 422 lists; ``detail`` repeats the first :data:`ERRORS_IN_DETAIL` of them."""
ERRORS_IN_DETAIL = 10


def listed_errors(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], dict[str, Any] | None]:
    """A 422's ``detail``, its ``errors`` and its extensions, bounded: a 220 KB body of 2,000 wrong entries answered
    1.85 MB, every error listed and repeated in ``detail`` (tester 33 F12). The first :data:`MAX_LISTED_ERRORS` are
    listed, in order, the first :data:`ERRORS_IN_DETAIL` said in ``detail``; past them ``errors_not_listed`` says how
    many more there were (fix those listed and send again to see the rest)."""
    said = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:ERRORS_IN_DETAIL])
    if len(errors) > ERRORS_IN_DETAIL:
        said += f"; and {len(errors) - ERRORS_IN_DETAIL} more"
    more = len(errors) - MAX_LISTED_ERRORS
    return said, errors[:MAX_LISTED_ERRORS], ({"errors_not_listed": more} if more > 0 else None)


ROUTE_BODY_RULES = "route_body_rules"
"""The attribute of a route's function naming its body rules that need the path: ``(path_params, body) -> errors`` in
pydantic's shape (``{"type", "loc", "msg", "input"}``), for a body valid or not (:func:`with_route_body_rules`)."""


def route_body_rules(rules: Any) -> Any:
    """Decorate a route's function with body rules that depend on its path (which parts of a figure are money depend on
    the indicator the path names) or on the store (a member an id names): the route, or the application, calls them
    itself on a body its schema took, and a body its schema refused gets their errors in the same 422
    (:func:`with_route_body_rules`), not in a second one once the first is put right (tester 126 F2, tester 187 F4c).
    They run in a worker thread, in the request's context (the application serving it: :func:`shared.schemas.serving`)."""

    def decorate(route: Any) -> Any:
        setattr(route, ROUTE_BODY_RULES, rules)
        return route

    return decorate


YIELDING_TYPES = frozenset({"less_than", "less_than_equal", "greater_than", "greater_than_equal", "decimal_type", "decimal_parsing"})
"""pydantic's errors a route's rule at the same place speaks instead of (:func:`with_route_body_rules`): a number's bounds,
and its "no number" (true, an object): a money part given an object was told "a JSON number or text of digits", and the
JSON number was then refused as money (tester 133 F4)."""


def as_body_errors(mistakes: Iterable[RuleViolationError]) -> list[dict[str, Any]]:
    """The application's mistakes as a route's body rules give them (pydantic's shape), each at the body's field it names
    (``participants.2.member_id``, ``amount``); one that may clear up by itself (a :class:`~shared.errors.LagRefusal`)
    with its ``retry_after`` in ``ctx``, for the 422 to carry ``Retry-After`` (:func:`lag_retry_after`)."""
    return [
        {"type": m.rule, "loc": ("body", *(int(part) if part.isdigit() else part for part in (m.field or "").split("."))), "msg": m.message, "input": None}
        | ({"ctx": {RETRY_AFTER_CTX: m.retry_after}} if isinstance(m, LagRefusal) else {})
        for m in mistakes
    ]


RETRY_AFTER_CTX = "retry_after"
"""The ``ctx`` key of a route body rule's error that may clear up by itself (:func:`as_body_errors`)."""


def lag_retry_after(found: Iterable[Mapping[str, Any]]) -> dict[str, str] | None:
    """``Retry-After`` for a refused body's 422 when one of its errors (``found``, pydantic's shape) may clear up by itself,
    as the same refusal of a body the schema took carries it (:func:`_headers_of`): an OSV mapped a moment ago, named in
    a body with a mistake of its own, is known when the client sends it again put right."""
    waits = [ctx[RETRY_AFTER_CTX] for error in found if isinstance(ctx := error.get("ctx"), Mapping) and RETRY_AFTER_CTX in ctx]
    return {"Retry-After": str(max(waits))} if waits else None


def with_route_body_rules(request: Request, exc: RequestValidationError) -> list[Any]:
    """The errors of ``exc``, with those of the route's :func:`route_body_rules` on the body as sent, one a place: where
    the schema refused a value only for its bounds or as no number at all (:data:`YIELDING_TYPES`), the route's rule
    replaces it (a money figure sent as ``1e300`` or an object is told it must be a decimal string, not that it is above
    the bound or should be a JSON number); where the schema refused it otherwise (``"doce"``), the schema's error stands
    alone."""
    errors = list(exc.errors())
    rules = getattr(request.scope.get("endpoint"), ROUTE_BODY_RULES, None)
    if rules is None or not isinstance(exc.body, Mapping):
        return errors
    def said_otherwise(loc: tuple[Any, ...]) -> bool:  # by the schema, at the place or within it (a part's key)
        return any(tuple(e.get("loc", ()))[: len(loc)] == loc and e.get("type") not in YIELDING_TYPES for e in errors)

    more = [error for error in rules(request.path_params, exc.body) if not said_otherwise(tuple(error["loc"]))]
    placed = {tuple(error["loc"]) for error in more}
    return sorted([error for error in errors if tuple(error.get("loc", ())) not in placed] + more, key=_in_body_order(exc.body))


def _in_body_order(body: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], tuple[int, int]]:
    """The sort key of a refused body's errors: errors about the whole body, then about fields not sent (a required one
    missing: in the schema's order), then the others in the order of their fields in the body as sent, each field's by
    row in its list (stable: else in the order found). The schema's came in its fields' order and the route's rules'
    after them all: a meeting's attendees were told apart by its topics (tester 199 F1)."""
    places = {name: place for place, name in enumerate(body)}

    def key(error: Mapping[str, Any]) -> tuple[int, int]:
        loc = tuple(error.get("loc", ()))[1:]  # after "body"
        field = (places.get(loc[0], -1) if isinstance(loc[0], str) else -2) if loc else -2
        row = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1
        return field, row

    return key


def _headers_of(exc: DomainError) -> dict[str, str] | None:
    """The headers a refusal carries: when to ask again, for one that clears up once another service's event arrives
    (or an operator fixes a setting); the record's ``ETag`` now, for a failed ``If-Match`` (RFC 9110 lets a 412 carry
    it), so a client may send its change again on it without reading the record first. A lag among a 422's other
    mistakes (``also``: an OSV not heard of yet, told after a date refused) gives it too."""
    if isinstance(exc, (LagRefusal, UnavailableError)):
        return {"Retry-After": str(exc.retry_after)}
    if lags := [each.retry_after for each in getattr(exc, "also", ()) if isinstance(each, LagRefusal)]:
        return {"Retry-After": str(max(lags))}
    if isinstance(exc, PreconditionFailedError):
        return {"ETag": etag_of(exc.current_version)}
    return None


def install_error_handlers(api: FastAPI) -> None:
    """Every error answers problem+json naming the field and the rule."""

    @api.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = list(exc.errors())
        if hasattr(request.scope.get("endpoint"), ROUTE_BODY_RULES):  # they may read the store: not on the event loop
            try:
                found = await run_in_threadpool(with_route_body_rules, request, exc)
            except DATABASE_AWAY as away:  # the body's own mistakes are still the answer; the store's wait for the next
                log.warning("%s %s: a refused body's rules could not read the store: %s: %s", request.method, request.url.path, type(away).__name__, away)
            except Exception as failed:  # a rule's own fault: the body is refused all the same, by the schema's mistakes; it
                # was a 500, the connection dropped, and the log showed the body's values (tester 233 F2): logged without them
                failed.__context__ = None
                log.error("%s %s: a refused body's rules failed; answered with the schema's mistakes", request.method, request.url.path, exc_info=failed)
        detail, listed, extensions = listed_errors(request_errors(found))
        return problem(422, "Unprocessable Content", detail, listed, headers=lag_retry_after(found), extensions=extensions)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """The server's own layers' errors (no such path, a method not served, an unreadable body) as problem+json."""
        if isinstance(exc, BodyTooLarge):
            return exc.problem()
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(api, request.scope))
        return problem(exc.status_code, str(exc.detail), str(exc.detail), headers=headers or None)

    for family, (status, title) in STATUS_OF.items():

        def handler(request: Request, exc: Exception, status: int = status, title: str = title) -> JSONResponse:
            if isinstance(exc, DomainError):
                errors = [
                    {"field": each.field, "rule": each.rule or title.lower(), "message": each.message} for each in (exc, *getattr(exc, "also", ())) if each.field
                ] or None
                detail, extensions = exc.message, getattr(exc, "extensions", None)
                if errors is not None and len(errors) > 1:  # bounded as a body's are: 2,000 unknown participants were 377 KB (tester 196 F3)
                    detail, errors, more = listed_errors(errors)
                    extensions = {**(extensions or {}), **(more or {})} or None
                headers = _headers_of(exc)
                if isinstance(exc, MisconfiguredError):
                    log.error("%s %s: %s", request.method, request.url.path, exc.message)
                return problem(status, title, detail, errors, headers=headers, extensions=extensions)
            if isinstance(exc, IntegrityError):
                return problem(status, title, "Someone else changed this record at the same time; reload and try again.")
            if status == 503:
                log.warning("%s %s: the database cannot be reached: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
                detail = "The database cannot be reached just now; try again shortly."
                return problem(status, title, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            return problem(status, title, "No such record.")

        api.add_exception_handler(family, handler)

    @api.exception_handler(StoreBehindStreamError)
    async def store_behind_stream(request: Request, exc: StoreBehindStreamError) -> JSONResponse:
        """A command while the store is behind its stream: 503, rule ``store_behind_stream``, nothing written; reads still answer."""
        log.warning("%s %s refused: the store is behind its stream (events up to %s)", request.method, request.url.path, exc.ahead.stream_position)
        return problem(
            503,
            "Service Unavailable",
            exc.ahead.describe(),
            headers={"Retry-After": str(STORE_BEHIND_RETRY_AFTER_SECONDS)},
            extensions={"rule": exc.rule, "stream_position": exc.ahead.stream_position, "store_head": exc.ahead.store_head},
        )

    @api.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "Internal Server Error", "Something went wrong on our side; it has been logged.")
