"""The HTTP side of ``Idempotency-Key``: an ASGI middleware, and the header documented in each OpenAPI document.

What the semantics are, and how a key is recorded with the command's events,
is :mod:`shared.idempotency`.

A key recorded for another request is refused with 422 ``idempotency_key_reused`` (:func:`reused`), whose
``same_request`` tells the two cases a client must handle apart: ``true``, the same request (method, path,
query, body, and its ``If-*`` preconditions) was sent under the key by another caller and carried out for them (their answer is not given
to this one); ``false``, the key was used for a different request. A record kept before the caller-free
fingerprint was (its ``request`` empty) cannot say: the field is left out, as the answer was before. A request that
differs from the key's first only in its body's ``distinct_from`` (the records staff told it apart from) is
``false`` with ``differs_in: ["distinct_from"]``: it was carried out, and stays as first sent (tester 242 F2: an
export imported with ``osv-import --distinct`` and again without was refused as if nothing of it were recorded).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import anyio
from sqlalchemy import exc

from shared.idempotency import (
    HEADER,
    KEPT_HEADERS,
    METHODS,
    REPLAYED_HEADER,
    AnswerBook,
    AnswerToKeep,
    IdempotentCall,
    IdempotentRequest,
    IdempotentRequestInProgressError,
    serving,
)
from shared.idempotency.keys import (
    MAX_KEY_LENGTH,
    TOLD_APART,
    apart_from_told_apart,
    conditions_of,
    fingerprints,
    parse_key,
)
from shared.inplace import StoreBusyError, without_waiting_on_the_loop
from shared.roles import MunicipalScope

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _encoded(body: Mapping[str, Any]) -> bytes:
    """``body`` as every other answer of the services is written (Starlette's ``JSONResponse``): compact, UTF-8."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _problem(status: int, detail: str, rule: str, **extra: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    title = {409: "Conflict", 422: "Unprocessable Content"}[status]
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"field": HEADER, "rule": rule, "message": detail}],
        **extra,
    }
    headers = [(b"content-type", b"application/problem+json")]
    if rule == "idempotent_request_in_progress":
        headers.append((b"retry-after", b"1"))
    return status, headers, _encoded(body)


def _unavailable(retry_after: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """503 problem+json with ``Retry-After``, as the services answer when their database cannot be reached."""
    body = {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The database cannot be reached just now; try again shortly.",
    }
    headers = [(b"content-type", b"application/problem+json"), (b"retry-after", str(retry_after).encode())]
    return 503, headers, _encoded(body)


def reused(same_request: bool | None = None, *, told_apart: bool = False) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """422 ``idempotency_key_reused``: ``same_request`` True (another caller sent this very request, carried out
    for them), False (a different request), None (an old record cannot say: the field is left out). ``told_apart``
    (with False): the request differed only in its ``distinct_from``, so it was carried out, recorded with the
    ``distinct_from`` first sent: ``differs_in: ["distinct_from"]`` (tester 242 F2)."""
    if told_apart:
        detail = (f"This Idempotency-Key was used for this same request with another {TOLD_APART}, and it was carried out "
                  f"then, with the {TOLD_APART} first sent; it is not carried out again.")
        return _problem(422, detail, "idempotency_key_reused", same_request=False, differs_in=[TOLD_APART])
    if same_request:
        detail = ("This Idempotency-Key was used by another caller for this same request, carried out for them; "
                  "their answer is not given to you, and it is not carried out again.")
    else:
        # The record keeps digests of the whole request, not of each part: what differed cannot be told apart.
        detail = ("This Idempotency-Key was used for another request (another method, path, query or body, or other "
                  "If-* headers: another If-Match is another request); use a new key for a new request.")
    extra = {} if same_request is None else {"same_request": same_request}
    return _problem(422, detail, "idempotency_key_reused", **extra)


def _completed(record: IdempotentRequest) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    saved = [{"id": s["id"], "kind": s["kind"], "version": s["version"]} for s in record.saved]
    recorded = ", ".join(f"{s['kind']} {s['id']} (version {s['version']})" for s in saved)
    detail = (
        f"The request with this Idempotency-Key was carried out at {record.created_on.isoformat()}, "
        f"but its answer was not kept; it is not run again. It recorded: {recorded}."
    )
    return _problem(409, detail, "idempotent_request_completed", recorded=saved)


def _forgotten() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """409 ``idempotent_request_completed`` for a key whose request recorded something since forgotten (a person
    erased, a text redacted): the same answer to every caller the route lets in, whatever they send, naming nothing.

    Comparing the request with the record (the first caller's replay or 409 against another body's 422, another
    caller's ``same_request``) would confirm a guess of the forgotten words (tester 33c F2, F3)."""
    detail = (
        "A request with this Idempotency-Key was carried out, and what it recorded has since been erased or redacted: "
        "it is not run again, nor compared with this one. Use a new key for a new request."
    )
    return _problem(409, detail, "idempotent_request_completed", forgotten=True)


@dataclass
class _Captured:
    start: Message | None = None
    body: list[bytes] = field(default_factory=list)
    refused: bool = False
    """The command answered 4xx and recorded nothing: held until the key's record is read again."""


ANSWER_KEPT_WITHIN_SECONDS = 10.0
"""A record younger than this (seconds) without a kept answer may be a request another process is still answering."""
ANSWER_WAIT_SECONDS = 1.0
"""How long a retry waits for such a record's answer to be kept (read every :data:`ANSWER_POLL_SECONDS`) before
it is told "completed": an answer is kept within milliseconds of its commit, unless its process died (the crash window)."""
ANSWER_POLL_SECONDS = 0.05
KEEP_WAIT_SECONDS = 1.0
"""How long a keyed command's answer waits to be kept before it goes out all the same (the view database locked):
its retry then gets 409 ``idempotent_request_completed`` if the answer is never kept."""


def _age_seconds(record: IdempotentRequest) -> float:
    """Seconds since the record was committed (its creation event's timestamp, UTC)."""
    return (datetime.now(timezone.utc) - record.created_on).total_seconds()


class IdempotencyMiddleware:
    """ASGI middleware: keyed POSTs and PATCHes are answered once, replayed after, refused when the key is misused.

    ``application`` returns the running :class:`~shared.store.ServiceApplication`
    (None before the lifespan built it); its ``answers`` is the
    :class:`AnswerBook` and ``find_idempotent_request`` reads the record.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        application: Callable[[], Any],
        caller: Callable[[Scope], str | None] | None = None,
        known_caller: Callable[[Scope], str | None | bool] | None = None,
        reach: Callable[[Scope], MunicipalScope] | None = None,
        away: tuple[type[Exception], ...] = (),
        retry_after: int = 5,
    ) -> None:
        self.app = app
        self.service = service
        self.application = application
        self.caller = caller
        self.known_caller = known_caller
        self.reach = reach
        self.away = away
        self.retry_after = retry_after
        self.in_flight: set[UUID] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == HEADER.lower().encode()), None)
        application = self.application()
        if header is None or application is None:
            await self.app(scope, receive, send)
            return
        subject = ""
        if self.caller is not None:
            # Only a signed-in caller's request is looked up or kept: anyone else gets the route's 401, and an
            # answer kept for one caller is never replayed to another (their fingerprints differ).
            found = self.known_caller(scope) if self.known_caller is not None else False  # no I/O: on the event loop
            if found is False:
                found = await anyio.to_thread.run_sync(self.caller, scope)
            if found is None:
                await self.app(scope, receive, send)
                return
            subject = found
        key = parse_key(header.decode("latin-1"))  # judged once the caller may send the request (tester 33c F7)
        if key is None:
            detail = f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters: a quoted string, or a token without spaces."
            await _send(send, *_problem(422, detail, "idempotency_key_format"))
            return
        body = await _read_body(receive)
        query = scope.get("query_string", b"").decode("latin-1")
        with_caller, without_caller = fingerprints(
            key, scope["method"], scope["path"], query, body, caller=subject, conditions=conditions_of(scope["headers"])
        )
        apart = apart_from_told_apart(key, scope["method"], scope["path"], query, body, conditions=conditions_of(scope["headers"]))
        call = IdempotentCall(
            service=self.service, key=key, fingerprint=with_caller, method=scope["method"], path=scope["path"], request=without_caller,
            apart=apart or "",
        )
        request_id = call.request_id
        if request_id in self.in_flight:
            # Being served by this process: a request that completed is answered again (its replay, served to another
            # retry at this moment, is not the request still running: tester 140 F2); one that has not, 409.
            refusal = await self._earlier_answer_or_unavailable(application, call, scope)
            await _send(send, *(refusal or _problem(409, IdempotentRequestInProgressError().message, "idempotent_request_in_progress")))
            return
        self.in_flight.add(request_id)
        try:
            refusal = await self._earlier_answer_or_unavailable(application, call, scope)
            if refusal is not None:
                await _send(send, *refusal)
                return
            await self._serve(scope, _replaying(body, receive), send, application, call)
        finally:
            self.in_flight.discard(request_id)

    async def _earlier_answer_or_unavailable(
        self, application: Any, call: IdempotentCall, scope: Scope
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """:meth:`_earlier_answer`, or 503 when the database cannot be reached (outside the app's error handlers: answered
        here as they would)."""
        try:
            return await self._earlier_answer(application, call, scope)
        except self.away as error:
            log.warning("%s %s: the database cannot be reached: %s: %s", scope["method"], scope["path"], type(error).__name__, error)
            return _unavailable(self.retry_after)

    async def _earlier_answer(self, application: Any, call: IdempotentCall, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """:meth:`_earlier`, with a new key's lookup (the usual case) on the event loop when the store reads without waiting.

        A worker-thread hop for every keyed request (and two threads of one process taking the GIL in turn) cost
        more than its one indexed read (issue 17). On an SQLite file (:func:`~shared.inplace.run_command`'s
        stores) the loop reads the key's record, waiting for a connection at most
        :data:`~shared.inplace.LOOP_WAIT_SECONDS`; a key with a record, or a busy store, goes to a worker thread as
        before, where an answer in line may be waited for.
        """
        if getattr(application.recorder, "saves_without_waiting", False):
            try:
                with without_waiting_on_the_loop():
                    if application.find_idempotent_request(call.request_id) is None:
                        return None
            except StoreBusyError:
                pass
        return await anyio.to_thread.run_sync(self._earlier, application, call, scope)

    def _earlier(
        self, application: Any, call: IdempotentCall, scope: Scope, route_refused: bytes | None = None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """What to answer without running the command, if the key was used before; None to run it.

        The record is read first: an answer is kept only after the record committed, so a key without one
        (a new request, the usual case) has no answer to look for. A record committed in the last
        :data:`ANSWER_KEPT_WITHIN_SECONDS` whose answer is not kept yet may be another process's request
        still being answered (this process's own are in ``in_flight``): its answer is waited for up to
        :data:`ANSWER_WAIT_SECONDS` before the retry is told "completed".

        Another caller's record outside the municipalities this caller reaches (a focal point's district) is not
        theirs to be told about: the route answers them (404), as without a key; ``route_refused``, the body of the
        route's refusal when asked again after it. A record of something since forgotten gets :func:`_forgotten`.
        """
        record = application.find_idempotent_request(call.request_id)
        if record is None:
            return None
        theirs = hmac.compare_digest(record.fingerprint, call.fingerprint)
        if not theirs and self.reach is not None and not application.saved_within(record.saved, self.reach(scope)):
            if route_refused is not None and b"idempotent_request_in_progress" in route_refused:
                return reused()  # the route took the request (it is theirs to make) but the key is taken: nothing said of it
            return None  # the route's own answer: 404 for a record outside their scope (tester 33c F1)
        if application.forgotten_among(record.saved):
            return _forgotten()
        if not theirs:
            recorded = getattr(record, "request", "")  # "" in a record kept before the caller-free fingerprint was
            if not recorded:
                return reused(None)
            if hmac.compare_digest(recorded, call.request):
                return reused(True)
            # The same request but for its distinct_from (either side may have none): carried out, as first sent.
            return reused(False, told_apart=hmac.compare_digest(getattr(record, "apart", "") or recorded, call.apart or call.request))
        answers: AnswerBook | None = getattr(application, "answers", None)
        if answers is None:
            return _completed(record)
        deadline = time.monotonic() + (ANSWER_WAIT_SECONDS if _age_seconds(record) < ANSWER_KEPT_WITHIN_SECONDS else 0.0)
        while True:
            try:
                answer = answers.find(call.request_id, call.key, wait=deadline - time.monotonic())  # this process's own, if in line
            except exc.SQLAlchemyError:  # the record found keeps the command from running twice: 409 completed
                log.exception("could not read kept answers; going by the event store's record")
                return _completed(record)
            if answer is not None:
                if not hmac.compare_digest(answer.fingerprint, call.fingerprint):
                    return reused()
                headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
                return answer.status, [*headers, (REPLAYED_HEADER.lower().encode(), b"true")], answer.body
            if time.monotonic() >= deadline:
                return _completed(record)
            time.sleep(ANSWER_POLL_SECONDS)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, application: Any, call: IdempotentCall) -> None:
        """Run the request with ``call`` current; if it recorded something, its answer goes out once the answer book kept it.

        So a client that got its answer gets it again when it retries, even after a ``kill -9`` of the service
        right after the answer went out. The answer waits on the event loop, not in a worker thread, for the book's
        thread, which keeps the answers of the commands answered meanwhile in the same transaction
        (:meth:`~shared.idempotency.AnswerBook.keep_later`); at most :data:`KEEP_WAIT_SECONDS`.
        """
        captured = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                refused = call.recorded is None and 400 <= message["status"] < 500
                if call.recorded is None and not refused:  # nothing was recorded: nothing to keep
                    captured.start = None
                    await send(message)
                else:
                    captured.start, captured.refused = message, refused
                return
            if message["type"] == "http.response.body" and captured.start is not None:
                captured.body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    earlier = await self._refusal_of_a_key_taken(application, call, scope, b"".join(captured.body)) if captured.refused else None
                    if earlier is not None:
                        await _send(send, *earlier)
                        return
                    body = b"".join(captured.body)
                    kept = self._keep(application, call, captured, body)
                    if kept is not None:
                        await asyncio.wait((kept,), timeout=KEEP_WAIT_SECONDS)
                    await send(captured.start)
                    await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        with serving(call):
            await self.app(scope, receive, capture)

    async def _refusal_of_a_key_taken(
        self, application: Any, call: IdempotentCall, scope: Scope, refusal: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """For a keyed request its command refused (4xx, nothing recorded): the key's own answer, if another process
        committed the same key meanwhile (:meth:`_earlier`); None to send the refusal.

        Another process's ``in_flight`` is not this one's: the same key sent to two workers at once passes both
        checks, and the second command may be refused *because* of the first (the OSV it just mapped is a
        ``possible_duplicate`` of itself). Its client is owed the first answer, or "in progress", not that refusal.
        """
        try:
            return await anyio.to_thread.run_sync(self._earlier, application, call, scope, refusal)
        except Exception:  # noqa: BLE001 - the refusal stands: nothing was recorded for it
            log.warning("could not read the Idempotency-Key's record after a refusal", exc_info=True)
            return None

    def _keep(self, application: Any, call: IdempotentCall, captured: _Captured, body: bytes) -> asyncio.Future[None] | None:
        """Keep the answer on the loop (:meth:`~shared.idempotency.AnswerBook.keep_now`, an SQLite file that takes it at once),
        else hand it to the answer book's thread; the future is done once the book dealt with it (None: nothing to wait for)."""
        answers: AnswerBook | None = getattr(application, "answers", None)
        if answers is None or captured.start is None or call.recorded is None:
            return None
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in captured.start.get("headers", [])
            if k.decode("latin-1").lower() in KEPT_HEADERS
        ]
        subjects = {s["id"]: s["version"] for s in call.recorded.saved}
        if getattr(application.recorder, "saves_without_waiting", False) and answers.keeps_on_the_loop:
            # Kept here, on the loop, when the view file takes it at once: the book's thread cost more than the
            # keeping (shared.idempotency.onloop); a busy file, or a failure, leaves it to the thread as before.
            try:
                answers.keep_now(AnswerToKeep(call.request_id, call.key, call.fingerprint, captured.start["status"], headers, body, subjects))
            except Exception:  # noqa: BLE001 - StoreBusyError, or the write failed: the book's thread tries, and logs
                pass
            else:
                return None
        loop = asyncio.get_running_loop()
        kept: asyncio.Future[None] = loop.create_future()

        def dealt_with() -> None:  # in the book's thread
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, kept)

        try:  # kept in the book's own thread, with the answers of the commands answered meanwhile
            answers.keep_later(
                call.request_id, call.key, call.fingerprint, captured.start["status"], headers, body, subjects, dealt_with
            )
        except Exception:  # noqa: BLE001 - the answer still goes out; a retry gets 409 completed
            log.exception("could not keep the answer of an idempotent request; a retry will get 409")
            return None
        return kept


def _settle(kept: asyncio.Future[None]) -> None:
    if not kept.done():  # given up on already (KEEP_WAIT_SECONDS)
        kept.set_result(None)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then whatever comes next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# OpenAPI -----------------------------------------------------------------------------------

HEADER_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": (
        "A unique key for this request (a UUID v4 is best); send the same key again to retry it safely. "
        "The same key with the same request gets the first answer again (`Idempotent-Replayed: true`), as it was "
        "first given: a field added to the answers since is absent from it; "
        "at most once carried out, even across a crash; with another request 422 "
        "(rule `idempotency_key_reused`, `same_request: false`; the same request sent by another caller: "
        "`same_request: true`, carried out for them); while the first is still running 409 (`idempotent_request_in_progress`); "
        "once carried out but with its answer no longer kept 409 (`idempotent_request_completed`, naming what it "
        "recorded; `forgotten: true` and naming nothing, whatever the body, once what it recorded was erased or redacted). "
        "Answers are kept for the service's retention (24 hours by default)."
    ),
}


def document_in_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the header, and its 409, to every POST and PATCH operation of an OpenAPI document."""
    for operations in schema.get("paths", {}).values():
        for method in METHODS:
            operation = operations.get(method.lower())
            if operation is None:
                continue
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == HEADER for p in parameters):
                parameters.append(HEADER_PARAMETER)
            operation.setdefault("responses", {}).setdefault(
                "409", {"description": "Conflict, or a request with this Idempotency-Key running or carried out already."}
            )
    return schema


def install(
    api: Any,
    *,
    service: str,
    application: Callable[[], Any],
    caller: Callable[[Scope], str | None] | None = None,
    known_caller: Callable[[Scope], str | None | bool] | None = None,
    reach: Callable[[Scope], MunicipalScope] | None = None,
    away: tuple[type[Exception], ...] = (),
    retry_after: int = 5,
) -> None:
    """Honour ``Idempotency-Key`` on every POST and PATCH of ``api`` (a FastAPI app) and document it in its OpenAPI.

    ``caller`` names who sent a request (the subject of its valid token), or
    None: such a request goes straight to the route, which refuses it. It may
    block (it runs in a thread). ``known_caller``, if given, answers the same
    without I/O on the event loop, or False when ``caller`` must be asked.
    ``reach``, if given, the municipalities the caller reaches with the route's
    permissions (it may block): a key whose record is outside them is not looked up for them.
    ``away``: what the store raises when its database cannot be reached; reading
    a key's record then answers 503 with ``Retry-After: retry_after`` (seconds).
    """
    api.add_middleware(
        IdempotencyMiddleware, service=service, application=application, caller=caller, known_caller=known_caller,
        reach=reach, away=away, retry_after=retry_after,
    )
    plain_openapi = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = document_in_openapi(plain_openapi())
        return api.openapi_schema

    api.openapi = openapi
