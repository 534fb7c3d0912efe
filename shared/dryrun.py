"""A dry run of any command: ``?dry_run=true`` (or a ``Dry-Run: true`` header) on a POST, PUT or PATCH runs it and
answers, and writes nothing.

Whoever fills a spreadsheet for the programme wants to know, before anything
is recorded, what each row would get: the same 201 and body (but for the
record's ``version``, see below), or the same 422
naming the field and the rule, or the 404 or 409. A dry run is that request
carried out by the service's real code (the body's validation, the domain's
rules, what the application reads from the store and its local views) up to
the store, and no further:

- :meth:`shared.store.ServiceApplication.save` takes the aggregates' new
  events as a save would (their versions move on), keeps the aggregates in
  the dry run's :class:`Overlay` and stores nothing; reads later in the same
  request (the route loads what it saved to answer) see them through
  :class:`OverlaidRepository`;
- the adapters that write elsewhere than the store (the key rings and kept
  answers, which erasure and redaction delete) do nothing while one runs;
  a key the dry run would delete reads as gone until it ends, so a
  redaction's dry run answers ``[redacted]`` as the real one would;
- nothing reaches the notification log, so nothing is relayed or published,
  and no ``Idempotency-Key`` is recorded nor any answer kept.

The answer carries ``Dry-Run: true``. Its ids name things that do not exist:
only what a real request would answer, not something to read back. It
carries no ``ETag``, and its body's ``version`` is the record's as stored (0
for one it would create; :func:`version_shown`): the version the dry run
reached was never stored, and sent back in ``If-Match`` it would match the
next change someone else made, whose record the dry run's author never read.
A 412 (``If-Match`` names a version the record is no longer at) carries the
``ETag`` of the record as stored, as the real request's does. A dry
run sent with an ``Idempotency-Key`` that was already carried out gets that
request's first answer (``Idempotent-Replayed: true``): that is what sending
it for real would answer. ``dry_run`` is not part of the request's
fingerprint, so the real request may follow with the same key.

What a dry run does not hold back: the record of what its answer disclosed. An engagement registration or correction
refused because its document is a registered person's names that person, as a lookup by document would, and the
lookup's entry on their access log is recorded all the same (:func:`suspended`,
:meth:`shared.store.ServiceApplication.save_apart`): a dry run promises that the command's facts are not written, not
that a read it made is not logged. A dry run of the lookup itself (``POST /members/lookup``, a read sent as a POST) is
that lookup, logged.

Who may ask for one: whoever may send the command, but for a command whose route asks for more
(:func:`needs_to_read`): a meeting's or an activity's dry run checks the members it names (a member of that OSV on that
day, erased or not), and answers it with nothing left behind, so it is for a caller who may read members
(``members:read``). The Kobo webhook's machine account (``importer``, which reads nobody) was told, one silent dry run
after another, which OSV a person belongs to and since when (tester 218 F1): such a dry run is 403 ``dry_run_reads``
naming ``Dry-Run``, before the command runs. A registration's dry run stays the webhook's (it checks a submission's
people so): its one disclosure, a document's holder, is logged on the holder's access log.

What a dry run cannot promise: that the real request, sent later, gets the
same answer. Someone else's command in between (an OSV dissolved, a document
registered) may change it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from eventsourcing.application import Repository
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from shared.auth import CallerDep
from shared.errors import ForbiddenError
from shared.guards import problem
from shared.lastdependency import append_last
from shared.roles import Permission

PARAMETER = "dry_run"
HEADER = "Dry-Run"
_HEADER_NAME = HEADER.lower().encode()
METHODS = ("POST", "PUT", "PATCH")
"""The methods a dry run applies to: every write the services take."""
TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})
"""No empty value: ``?dry_run`` or ``?dry_run=`` written to mean "try it" was a real write (tester 136 F1); it is 422."""


@dataclass
class Overlay:
    """What a dry run would have saved: each aggregate as it stands after the command, by id."""

    aggregates: dict[Any, Any] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    forgotten: set[Any] = field(default_factory=set)
    """The data keys the dry run would have deleted (a redaction, an erasure): read as gone for the rest of it."""
    stored: dict[Any, int] = field(default_factory=dict)
    """Each aggregate the dry run saved, by id: its version in the store (0: one the dry run would create)."""

    def took(self, events: list[Any]) -> None:
        """Note the version each aggregate of ``events`` (a save's, in order) is at in the store, unless an earlier
        save of this dry run noted it."""
        for event in events:
            self.stored.setdefault(event.originator_id, event.originator_version - 1)


_current: ContextVar[Overlay | None] = ContextVar("dry_run", default=None)


def current() -> Overlay | None:
    """The overlay of the dry run being served, or None when this is a real request."""
    return _current.get()


def active() -> bool:
    """Whether the command being served is a dry run (nothing may be written)."""
    return _current.get() is not None


def version_shown(aggregate: Any) -> int:
    """The ``version`` an answer's body gives of ``aggregate``: its own, or in a dry run the one the store holds (0 for a
    record it would create). The version a dry run reached was never stored: built into an ``If-Match``, it would
    match the next change someone else made (tester F4)."""
    overlay = _current.get()
    if overlay is None:
        return aggregate.version
    return overlay.stored.get(aggregate.id, aggregate.version)


@contextlib.contextmanager
def dry_running() -> Iterator[Overlay]:
    """Run the block as a dry run: saves inside it are kept in the returned overlay, never stored."""
    overlay = Overlay()
    token = _current.set(overlay)
    try:
        yield overlay
    finally:
        _current.reset(token)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Run the block as a real request's, inside a dry run too: reads see the store, not the dry run's overlay, and saves
    store. Only for what a command's run does whatever its answer and whether or not it is carried out, a record of
    what it disclosed (engagement's access log: a dry run promises that the command's facts are not written, not that
    a read it made is not logged), never for the command's own facts."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


class OverlaidRepository(Repository):
    """The library's repository; during a dry run, an aggregate the dry run saved is read as it saved it."""

    def get(self, aggregate_id: Any, *, version: int | None = None, **kwargs: Any) -> Any:
        overlay = _current.get()
        if overlay is not None and version is None and aggregate_id in overlay.aggregates:
            return deepcopy(overlay.aggregates[aggregate_id])
        return super().get(aggregate_id, version=version, **kwargs)


# HTTP -------------------------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def parse_flag(value: str) -> bool | None:
    """``true``/``1``/``yes``/``on`` -> True, ``false``/``0``/``no``/``off`` -> False, else None (an empty value too)."""
    folded = value.strip().lower()
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    return None


class DryRunMiddleware:
    """ASGI middleware: a write with ``?dry_run=true``, or a ``Dry-Run: true`` header, runs as a dry run and is answered
    with ``Dry-Run: true``.

    The parameter and the header are taken out of the request before it goes
    on, so the idempotency layer's fingerprint and the routes never see them. A
    value that is not a boolean gets 422 naming ``dry_run`` or ``Dry-Run``
    (rule ``bool_parsing``), and so do a parameter and a header that say
    different things: nothing runs, for real or not. That 422 comes once the
    route has let the caller in (:func:`refuse_once_let_in`): a caller without
    a token gets 401, and one without the permission 403, as for any write.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        pairs = parse_qsl(query, keep_blank_values=True)
        headers = scope.get("headers") or []
        # The header too: front ends were told they may send it (CORS), and a `Dry-Run: true` the services left unread
        # was a real write (tester 165 F8).
        given = [(PARAMETER, value) for name, value in pairs if name == PARAMETER] + [
            (HEADER, each)  # a list, as RFC 9110 §5.3 reads a header sent twice: "true, true" is two headers' "true"s
            for name, value in headers if name.lower() == _HEADER_NAME for each in value.decode("latin-1").split(",")
        ]
        if not given:
            await self.app(scope, receive, send)
            return
        rest = urlencode([(name, value) for name, value in pairs if name != PARAMETER]).encode("latin-1")
        scope = {**scope, "query_string": rest, "headers": [(name, value) for name, value in headers if name.lower() != _HEADER_NAME]}
        flags = {parse_flag(value) for _, value in given}
        if None in flags or len(flags) > 1:
            unread = [field for field, value in given if parse_flag(value) is None]
            said_by = {field for field, _ in given}
            field = unread[0] if unread else (HEADER if HEADER in said_by else PARAMETER)
            refusal = _refusal(field, empty=any(not value.strip() for _, value in given), disagree=not unread, both=len(said_by) > 1)
            await _refused_once_let_in(self.app, {**scope, REFUSAL: refusal}, receive, send)
            return
        if flags == {False}:
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # A success's tag names a version never stored (tester 158 F3); a 412's is the stored one, kept.
                if message["status"] < 300 and (b"idempotent-replayed", b"true") not in headers:
                    headers = [(name, value) for name, value in headers if name.lower() != b"etag"]
                message = {**message, "headers": [*headers, (HEADER.lower().encode(), b"true")]}
            await send(message)

        with dry_running():
            await self.app(scope, receive, marked)


REFUSAL = "osv.dry_run_refusal"
"""The request scope's key holding a dry-run value's refusal, ``(field, message)``, for :func:`refuse_bad_value`."""


async def _refused_once_let_in(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve a write whose dry-run value is refused so that its route's access checks answer first: it was refused
    before them, and a caller without a token got 422 where any other write gets 401 (tester 166 observation).

    The route's last dependency (:func:`refuse_bad_value`) raises the 422 once the caller is let in. Meanwhile the request
    runs as a dry run, and any answer under 400 is replaced by the 422 (a route without that dependency, an answer the
    idempotency layer gives again): nothing runs for real, and a value that is not a boolean is never answered a success.
    """
    field, message = scope[REFUSAL]
    replaced = False

    async def refused(answer: Message) -> None:
        nonlocal replaced
        if answer["type"] == "http.response.start" and answer["status"] < 400:
            replaced = True
            await _refuse(scope, receive, send, field, message)
        if not replaced:
            await send(answer)

    with dry_running():
        await app(scope, receive, refused)


def _refusal(field: str, *, empty: bool = False, disagree: bool = False, both: bool = False) -> tuple[str, str]:
    if disagree and both:
        return field, f"{PARAMETER} and {HEADER} must say the same, true or false: nothing was run, for real or not"
    if disagree:
        return field, f"{field} is given more than once, saying true and false: nothing was run, for real or not"
    return field, f"{field} must be true or false" + (": given without a value, nothing was run, for real or not" if empty else "")


async def _refuse(scope: Scope, receive: Receive, send: Send, field: str, detail: str) -> None:
    """The 422 :func:`refuse_bad_value` raises, as the services' problem handler answers it (tester 168 F3: it was
    written here with JSON's spaced separators, the one problem+json in another shape)."""
    errors = [{"field": field, "rule": "bool_parsing", "message": detail}]
    await problem(422, "Unprocessable Content", f"{field}: {detail}", errors)(scope, receive, send)


async def refuse_bad_value(request: Request) -> None:  # no I/O: answered on the event loop, no thread-pool hop
    """422 ``bool_parsing`` naming ``dry_run`` or ``Dry-Run`` for a dry-run value the middleware could not read; a
    route's last dependency, so that its access checks answer first (401, 403)."""
    refusal = request.scope.get(REFUSAL)
    if refusal is not None:
        field, message = refusal
        raise RequestValidationError([{"type": "bool_parsing", "loc": (field,), "msg": message, "input": None}])


def refuse_once_let_in(api: FastAPI) -> None:
    """Make :func:`refuse_bad_value` the last dependency of each of ``api``'s writes; call it once the routers are
    included (appended as FastAPI builds each route, :func:`shared.lastdependency.append_last`)."""
    append_last(api, _refusal_of)


def _refusal_of(route: Any, dependant: Any) -> Callable[[Request], Awaitable[None]] | None:
    """:func:`refuse_bad_value` for a write (POST, PUT, PATCH); None for any other route."""
    return refuse_bad_value if set(getattr(route, "methods", None) or ()) & set(METHODS) else None


class DryRunReadsError(ForbiddenError):
    """403 ``dry_run_reads`` on ``Dry-Run``: a dry run of a command whose checks read what the caller may not (see
    :func:`needs_to_read`)."""

    def __init__(self, permission: Permission, what: str) -> None:
        super().__init__(
            f"a dry run (Dry-Run or ?dry_run=) of this command answers what its checks read of {what}, and leaves nothing "
            f"behind: it needs the permission {permission.value!r}, which your roles do not give. Nothing was run; send the "
            "command without it",
            field=HEADER,
            rule="dry_run_reads",
        )


def needs_to_read(permission: Permission, what: str) -> Callable[[Any], Awaitable[None]]:
    """A route's dependency: a dry run of it is 403 :class:`DryRunReadsError` for a caller without ``permission``, the
    reading of ``what`` its checks answer (``"the members it names"``), before the command runs; a real request goes on.

    A dry run is only for a caller who could read what it reveals: refused for real, a command writes nothing either, but
    carried out it leaves its record for staff to see, where its dry run leaves none (tester 218 F1)."""

    async def dependency(caller: CallerDep) -> None:  # no I/O: answered on the event loop
        if active() and not caller.may(permission):
            raise DryRunReadsError(permission, what)

    dependency.__name__ = f"dry_run_needs_{permission.name.lower()}"
    return dependency


# OpenAPI ----------------------------------------------------------------------------------------------

QUERY_PARAMETER = {
    "name": PARAMETER,
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False},
    "description": (
        "`true`: a dry run. The command is checked by the service's real validation and business rules against "
        "what the service holds now, and answered as it would be (the same status and body but for its `version`, "
        "or the same 422, 404 or 409), with `Dry-Run: true`; nothing is recorded, published or kept (but for engagement's "
        "access-log entry of a person a 409 names as a document's holder, or `POST /members/lookup` finds: a read is logged, "
        "dry run or not), and the ids in "
        "the answer name nothing. A success carries no `ETag`, and its body's `version` is the record's as stored (0 "
        "for one the command would create), not the version the command would reach: that one was never stored, and "
        "an `If-Match` built from it could match someone else's next change. A 412 carries the stored record's `ETag`, "
        "as the real request's does. With an `Idempotency-Key` already carried out, the first answer is given again, "
        "as for a retry. `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`; any other value, the parameter without one "
        "included (`?dry_run`, `?dry_run=`), is 422 `bool_parsing` and runs nothing, once the caller is let in: without a "
        "valid token it is 401, without the permission 403, as for any write. A command whose checks read what the caller "
        "may not (a meeting's attendees, an activity's participants, to a caller without `members:read`) takes no dry run: "
        "403 `dry_run_reads` on `Dry-Run`, nothing run."
    ),
}


HEADER_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "boolean", "default": False},
    "description": "The same as `?dry_run=`, as a header: `true` is a dry run. Given with the parameter, both must say the "
    "same; a value that is not a boolean, or the two disagreeing, is 422 `bool_parsing` and runs nothing (401 or 403 first, "
    "as for any write, for a caller the route does not let in).",
}


def document_in_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the ``dry_run`` parameter and the ``Dry-Run`` header to every POST, PUT and PATCH operation of an OpenAPI document."""
    for operations in schema.get("paths", {}).values():
        for method in METHODS:
            operation = operations.get(method.lower())
            if operation is None:
                continue
            parameters = operation.setdefault("parameters", [])
            for documented in (QUERY_PARAMETER, HEADER_PARAMETER):
                if not any(p.get("name") == documented["name"] and p.get("in") == documented["in"] for p in parameters):
                    parameters.append(documented)
    return schema


def install(api: Any) -> None:
    """Honour ``?dry_run=true`` on every write of ``api`` (a FastAPI app), documented in its OpenAPI.

    Add it after :func:`shared.idempotency.install`: it must run outside the
    idempotency layer, so that layer fingerprints the query without it. Once
    the routers are included, call :func:`refuse_once_let_in` too.
    """
    api.add_middleware(DryRunMiddleware)
    plain_openapi = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = document_in_openapi(plain_openapi())
        return api.openapi_schema

    api.openapi = openapi

