"""What stands between the network and a service's routes: bounds on requests, browser headers, and errors documented.

Every answer, the server's own layers' included, is ``application/problem+json``
with a 4xx for anything the client sent wrong:

- :class:`RequestGuard` reads a command's body before any route does: over
  the service's limit it answers 413; a body that is not UTF-8, or JSON
  nested deeper than :data:`MAX_JSON_DEPTH`, gets 422 naming ``body`` and the
  rule, where the JSON decoder would otherwise answer a bare 400.
- :class:`SecureHeaders` adds the headers a browser needs to every answer:
  ``X-Content-Type-Options: nosniff``, a frame policy (``X-Frame-Options:
  DENY`` and CSP ``frame-ancestors 'none'``), ``Referrer-Policy``, a CSP that
  allows nothing for anything but HTML, a page's own CSP where one is given
  (reporting's dashboard), and ``Cache-Control: no-store`` unless a route
  says otherwise: answers carry personal data and staff's free text, and no
  cache along the way may keep them.
- :func:`document_errors` writes the problem+json answers (400, 404, 409,
  413, 422, and 503) into every operation of an OpenAPI document, with the
  request bounds, so that clients know them without trying.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from email.message import Message as MimeHeaders
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.errors import LAG_RETRY_AFTER_SECONDS, MISCONFIGURED_RETRY_AFTER_SECONDS, RuleViolationError
from shared.listing import document_pages
from shared.strictjson import NotJsonNumber, duplicate_key, first_unreadable_number, texts_with_control_characters

PROBLEM_JSON = "application/problem+json"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_JSON_DEPTH = 16
"""The deepest nesting of arrays and objects a request body may have; the deepest command needs 4."""

MAX_NUMBER_DIGITS = 100
"""The most digits a JSON number in a request body may have: every count is under 10**8 and money is a string.

Up to this, a number too large for its field is refused naming the field and its bound (``at_most_max_count``,
``at_most_<n>``: :func:`shared.problems.bound_rule`).

Python's JSON decoder refuses an integer of over 4,300 digits with a bare 400 (and spends quadratic time
on one just under); such a body gets 422, rule ``max_number_digits``, before it is decoded."""

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""The content security policy of every answer that is not a web page: nothing may be loaded, run or framed."""

PAGE_FRAME_POLICY = "frame-ancestors 'none'"
"""For web pages with no policy of their own (the OpenAPI pages): never framed."""


def problem_body(
    status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None, extensions: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem: ``type``, ``title``, ``status``, ``detail``, ``errors[]`` naming each field and rule, and
    ``extensions``, members of its own (the OSVs a possible duplicate names…)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail, **(extensions or {})}
    if errors:
        body["errors"] = errors
    return body


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` answer."""
    body = problem_body(status, title, detail, errors, extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# Requests: size, encoding, nesting ----------------------------------------------------------


class BodyTooLarge(StarletteHTTPException):
    """A request body over the service's limit: 413 problem+json naming the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body is over {limit} bytes, the most a command may carry")

    def problem(self) -> JSONResponse:
        return problem(413, "Content Too Large", self.detail, [{"field": "body", "rule": "max_body_bytes", "message": self.detail}])


def _unprocessable_body(rule: str, message: str) -> JSONResponse:
    return problem(422, "Unprocessable Content", f"body: {message}", [{"field": "body", "rule": rule, "message": message}])


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb"[\[\]{}]")
_LONG_NUMBER = re.compile(rb"[0-9]{%d,}" % (MAX_NUMBER_DIGITS + 1))
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\(?:u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F])|[bf])")
"""A JSON escape of a control character other than tab, line feed and carriage return (``\\u0000``, ``\\b``…),
not preceded by an escaped backslash (``\\\\u0000`` is the text "\\u0000")."""


def json_depth(body: bytes, limit: int) -> int:
    """How deep ``body``'s arrays and objects nest, counting no further than ``limit + 1``; strings are skipped."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        else:
            depth -= 1
    return deepest


async def answered_as_get(app: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """A ``HEAD`` request answered as the ``GET`` of the same URL, without the body (RFC 9110 §9.3.2): the same status
    and headers, ``Content-Length`` the body's, and the same checks (a token, a permission, a municipality's scope).

    FastAPI's routes take GET alone, so every HEAD got 405 while its GET worked: an uptime monitor's or a link
    checker's HEAD on ``/health`` or the dashboard failed (tester 136 F3). A route's GET that records something (a
    personal-data read is logged with its purpose) records it for a HEAD too: nothing is told, but it was asked.
    """

    async def without_body(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    await app({**scope, "method": "GET"}, receive, without_body)


async def takes_no_body(request: Request) -> None:
    """A command whose record is named in its path and that takes no body (a redaction): a body other than none or
    ``{}`` is 422 ``no_body`` on ``body``. Such a route read none, so a front end's wrong payload, or bytes that are no
    JSON, were taken without a word (tester 265 F4)."""
    body = (await request.body()).strip()
    if not body:
        return
    try:
        if json.loads(body) == {}:
            return
    except ValueError:
        pass
    raise RuleViolationError("this request takes no body (what it acts on is named in its path): send none, or {}", field="body", rule="no_body")


TAKES_NO_BODY = Depends(takes_no_body)
""":func:`takes_no_body` as a route's dependency, after its permission's (a caller not signed in is told 401 first)."""


UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
"""The ``charset`` values a JSON body may be sent with: UTF-8, and ASCII, which UTF-8 reads as it is (tester 265 F3)."""


def charset_of(content_type: bytes) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` (lower-cased bytes), lower case and unquoted, as the standard
    library's MIME parser reads it (a quoted ``"utf-8; x"`` is one value: tester 266 F4); None when none is given;
    several, joined by ``, `` (``utf-8, latin-1``: each reader would take its own, tester 265 F3)."""
    header = MimeHeaders()
    header["content-type"] = content_type.decode("latin-1")
    found = [str(value).strip() for name, value in header.get_params() or [] if name == "charset"]
    return ", ".join(found) if found else None


class RequestGuard:
    """ASGI middleware: a command's body is read whole, within bounds, before any route or middleware parses it.

    - A body over ``limit`` bytes gets 413 problem+json, read no further: a
      too large ``Content-Length`` at once, a body without one as it arrives.
      A command's event goes out on NATS, whose messages are at most 1 MB
      by default: a body under this limit (256 KiB unless configured)
      always makes an event the stream can take.
    - A JSON body (or one that does not say what it is) that is not UTF-8
      (RFC 8259 requires it of JSON) gets 422,
      rule ``utf8``; arrays and objects nested deeper than ``max_depth`` get
      422, rule ``max_json_depth``; a number of more than
      :data:`MAX_NUMBER_DIGITS` digits gets 422, rule ``max_number_digits``; a
      string holding a control character other than tab and line breaks
      (NUL among them, which PostgreSQL's text columns refuse, in a name
      that is published and never redactable) gets 422, rule
      ``control_characters``, field each such text's path (a key's own; the
      Kobo webhook checks its answers itself: ``control_characters``); an object giving one key twice gets 422, rule
      ``duplicate_key``, naming it (the last would win, unseen); ``NaN`` or
      ``Infinity`` (no JSON numbers, which Python's decoder reads), or a
      number past a double's range (``1e400``, ``1e-400``: read as infinity
      or zero, the field's own rules would judge another number) gets 422,
      rule ``json_number``, field the number's path (``count.1``).
      The JSON decoder would otherwise answer a bare 400, or spend its stack
      (or quadratic time) on it.
    - A body sent as other than JSON (``application/json`` or ``application/…+json``; none said is read as JSON) gets
      415 problem+json, rule ``json_content_type``, field ``Content-Type``: every command takes JSON. One sent with a
      ``Content-Encoding`` (``gzip``…; ``identity`` is none) gets 415, rule ``no_content_encoding``, field
      ``Content-Encoding``: its bytes were read as the JSON itself, and a gzipped body was told 422 ``utf8`` at offset 1
      (tester 192 F7). One whose ``Content-Type`` names a ``charset`` other than UTF-8 (``charset=latin-1``) gets 415,
      rule ``json_charset``, field ``Content-Type``: JSON is UTF-8 (RFC 8259), and its bytes would be read as UTF-8 all
      the same (tester 262 F5).
    - A request giving ``Content-Type``, ``Authorization`` or
      ``Idempotency-Key`` more than once gets 422, rule
      ``header_given_twice``, field the header (:func:`header_given_twice`).
    - A ``HEAD`` is answered as the ``GET`` of the same URL, without its body (:func:`answered_as_get`).
    """

    def __init__(
        self,
        app: Any,
        limit: int,
        max_depth: int = MAX_JSON_DEPTH,
        path_of: Callable[[Sequence[str]], str] | None = None,
        *,
        control_characters: bool = True,
    ) -> None:
        self.app = app
        self.limit = limit
        self.max_depth = max_depth
        self.path_of = path_of or dotted_path
        """How an error names a place in the body from its keys and indexes: ``participants.1.sex``; the Kobo webhook
        names it as Kobo does (``miembros[2]/sexo``)."""
        self.control_characters = control_characters
        """Whether a text holding a control character is refused here: True but for the Kobo webhook, which sends no text
        as posted and refuses each answer holding one itself, on its question, with the submission's other mistakes."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        twice = header_given_twice(scope.get("headers") or [])
        if twice is not None:
            await twice(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await BodyTooLarge(self.limit).problem()(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            await answered_as_get(self.app, scope, receive, send)
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        ended: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                ended = message  # the client went away: the app sees it after the body
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.limit:
                await BodyTooLarge(self.limit).problem()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = dict(scope.get("headers") or [])
        coding = headers.get(b"content-encoding", b"").strip().lower()
        if body and coding not in (b"", b"identity"):
            detail = f"the body must be sent as it is, with no Content-Encoding, not {coding.decode('latin-1')!r}"
            await problem(415, "Unsupported Media Type", detail, [{"field": "Content-Encoding", "rule": "no_content_encoding", "message": detail}])(
                scope, receive, send
            )
            return
        content_type = headers.get(b"content-type", b"").lower()
        media_type = content_type.split(b";")[0].strip()
        if body and content_type and not (media_type == b"application/json" or (media_type.startswith(b"application/") and media_type.endswith(b"+json"))):
            # Every command takes JSON: a form's or a text's body got pydantic's 'a valid dictionary' for the whole body
            # (tester 136 F2); the Kobo webhook says 415 the same way.
            detail = f"the body must be sent as application/json, not {media_type.decode('latin-1')!r}"
            await problem(415, "Unsupported Media Type", detail, [{"field": "Content-Type", "rule": "json_content_type", "message": detail}])(
                scope, receive, send
            )
            return
        if body and (charset := charset_of(content_type)) is not None and charset not in UTF8_CHARSETS:
            # JSON is UTF-8 (RFC 8259, section 8.1): a body said to be latin-1 was read as UTF-8 all the same, an 'ñ' of
            # latin-1 told 422 `utf8`, a UTF-8 'ñ' taken as the client meant 'Ã±' (tester 262 F5).
            detail = (
                f"the body must be UTF-8 JSON (charset=utf-8 once, or none), not charset={charset!r}: send its text encoded as UTF-8"
            )
            await problem(415, "Unsupported Media Type", detail, [{"field": "Content-Type", "rule": "json_charset", "message": detail}])(
                scope, receive, send
            )
            return
        refusal = self.refusal(body)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive, ended), send)

    def refusal(self, body: bytes) -> JSONResponse | None:
        """The 422 a body gets for its encoding or its nesting, or None when it may go on."""
        if not body:
            return None
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            return _unprocessable_body("utf8", f"the body is not UTF-8 (invalid byte at offset {error.start})")
        if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
            # Valid UTF-8 bytes all the same, which the checks below read as such, while Python's JSON decoder reads
            # them as UTF-16 or UTF-32 (a NUL among the first four bytes): a NUL or an escape code went into a note
            # past the control character check (tester 36c, F2).
            return _unprocessable_body("utf8", "the body is not UTF-8: it reads as UTF-16 or UTF-32, which RFC 8259 does not allow")
        if json_depth(body, self.max_depth) > self.max_depth:
            return _unprocessable_body("max_json_depth", f"arrays and objects nest deeper than {self.max_depth} levels")
        if _LONG_NUMBER.search(_STRING.sub(b'""', body)):
            return _unprocessable_body("max_number_digits", f"a number has more than {MAX_NUMBER_DIGITS} digits")
        if self.control_characters and _CONTROL_ESCAPE.search(body):
            return self.holding_control_characters(body)
        try:
            twice = duplicate_key(body)
        except RecursionError:  # the depth check above stops this first; never a 500 if it did not
            return _unprocessable_body("max_json_depth", f"arrays and objects nest deeper than {self.max_depth} levels")
        except NotJsonNumber as unreadable:
            parts, message = first_unreadable_number(body) or ([], unreadable.message)
            field = self.path_of(parts)
            return problem(422, "Unprocessable Content", f"{field}: {message}", [{"field": field, "rule": "json_number", "message": message}])
        if twice is not None:
            field, key, where = self.path_of(twice), twice[-1], twice[:-1]
            at = f" (in {self.path_of(where)})" if where else ""
            message = f"the key '{key}' is given twice in one object{at}: say each field once"
            return problem(422, "Unprocessable Content", f"{field}: {message}", [{"field": field, "rule": "duplicate_key", "message": message}])
        return None


    def holding_control_characters(self, body: bytes) -> JSONResponse:
        """422 ``control_characters`` naming each text that holds one by its path (``members.0.full_name``; the Kobo
        webhook's ``miembros[1]/nombre_completo``), the first :data:`MOST_NAMED_TEXTS`, ``errors_not_listed`` counting
        the rest; ``body`` when the body is no JSON to find them in. They were all one ``body`` (tester 226 F4)."""
        message = "this text holds a control character (only tab and line breaks may appear in texts)"
        paths, count = texts_with_control_characters(body, MOST_NAMED_TEXTS)
        fields = [self.path_of(path) for path in paths] or ["body"]
        errors = [{"field": field, "rule": "control_characters", "message": message} for field in fields]
        more = {"errors_not_listed": count - len(paths)} if count > len(paths) else None
        return problem(422, "Unprocessable Content", f"{', '.join(fields[:5])}: {message}", errors, extensions=more)


MOST_NAMED_TEXTS = 100
"""The most texts holding a control character a refusal names (as many as a 422 lists errors)."""


SINGLE_HEADERS = {
    b"content-type": "Content-Type",
    b"authorization": "Authorization",
    b"idempotency-key": "Idempotency-Key",
}
"""Headers a request gives once (RFC 9110 allows no list in them), by their name on the wire and as the errors name them
(uvicorn answers a ``Content-Length`` given twice itself, 400).
Given twice, each reader would take its own: this guard the last ``Content-Type``, the route the first, so a JSON body
sent with ``text/plain`` after ``application/json`` went unchecked into the route (tester 36, F1)."""


def header_given_twice(headers: Sequence[tuple[bytes, bytes]]) -> JSONResponse | None:
    """422 ``header_given_twice``, field the header's name, for a request giving one of :data:`SINGLE_HEADERS` more
    than once; else None."""
    seen: set[bytes] = set()
    for name, _ in headers:
        name = name.lower()
        if name in SINGLE_HEADERS:
            if name in seen:
                field = SINGLE_HEADERS[name]
                message = f"the header {field} is given more than once: send it once (which one counts would be left to each reader)"
                return problem(422, "Unprocessable Content", f"{field}: {message}", [{"field": field, "rule": "header_given_twice", "message": message}])
            seen.add(name)
    return None


def dotted_path(parts: Sequence[str]) -> str:
    """A place in a body as the services' errors name it: its keys and indexes joined by dots (``participants.1.sex``),
    ``body`` for the body itself."""
    return ".".join(parts) or "body"


def _replaying(body: bytes, receive: Receive, ended: Message | None) -> Receive:
    """A ``receive`` that gives the body read already, then what came after it (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        if ended is not None:
            return ended
        return await receive()

    return replay


# Answers: the headers a browser needs --------------------------------------------------------


class SecureHeaders:
    """ASGI middleware: every answer gets ``nosniff``, a frame policy, a referrer policy, a CSP and ``no-store``.

    ``page_policies`` maps a path to the content security policy of the web
    page served there; other web pages (the OpenAPI pages) are only kept
    out of frames, and everything else gets :data:`API_POLICY`. A route that
    sets its own ``Cache-Control`` (a stylesheet) keeps it.
    """

    def __init__(self, app: Any, page_policies: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.page_policies = dict(page_policies or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page_policy = self.page_policies.get(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                html = any(name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers)
                policy = (page_policy or PAGE_FRAME_POLICY) if html else API_POLICY
                for name, value in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", policy.encode()),
                    (b"cache-control", b"no-store"),
                ):
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(api: FastAPI, scope: Scope) -> list[str]:
    """Every method some route fully matches at the request's path, HEAD wherever GET (:func:`answered_as_get`): a 405's ``Allow``."""
    matched = {
        method
        for method in STANDARD_METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in api.router.routes)
    }
    if "GET" in matched:
        matched.add("HEAD")
    return [method for method in STANDARD_METHODS if method in matched]


# OpenAPI: the errors and the bounds, documented ------------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem, served as `application/problem+json`.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "`about:blank`: the status says what kind of problem it is."},
        "title": {"type": "string", "description": "The status's name, e.g. `Unprocessable Content`."},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "errors": {
            "type": "array",
            "description": "Each input at fault: the field (a dotted path, `body`, or a header's name) and the rule it breaks.",
            "items": {
                "type": "object",
                "required": ["field", "rule", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "rule": {"type": "string", "description": "A stable code, e.g. `not_in_future`, `max_body_bytes`, `utf8`."},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def error_responses(limit: int, max_depth: int = MAX_JSON_DEPTH) -> dict[str, dict[str, Any]]:
    """The problem+json answers every operation may give, keyed by status."""
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        "400": {"description": "Bad Request: the request could not be read at all (a malformed header or URL).", "content": content},
        "404": {"description": "Not Found: no such path, or no such record.", "content": content},
        "409": {"description": "Conflict: the request contradicts what is recorded (twice, too late, already done).", "content": content},
        "413": {"description": f"Content Too Large: the body is over {limit} bytes.", "content": content},
        "415": {
            "description": "Unsupported Media Type: a body sent as other than JSON (`application/json`), rule `json_content_type`; "
            "as JSON in a charset other than UTF-8 (`charset=latin-1`), rule `json_charset`; "
            "or with a `Content-Encoding` such as gzip, rule `no_content_encoding`.",
            "content": content,
        },
        "422": {
            "description": (
                "Unprocessable Content: a field breaks a rule, named with the field in `errors[]`: a shape, a bound, "
                f"a business rule; or the body is not UTF-8 JSON (rule `utf8`, `json_invalid`), or nests deeper than "
                f"{max_depth} levels (rule `max_json_depth`), or has a number of more than {MAX_NUMBER_DIGITS} digits "
                "(rule `max_number_digits`)."
            ),
            "content": content,
        },
    }


def osv_district_in_table(service: str) -> dict[int | str, dict[str, Any]]:
    """A command's ``responses=``: its 503 ``osv_district_in_table``, with ``Retry-After``, for an OSV of a district the
    service's districts table lacks (:class:`shared.districts.DistrictNotInTableError`)."""
    return {
        503: {
            "description": (
                "A 503 `osv_district_in_table` names an OSV whose district this service's districts table lacks (its "
                f"`{service.upper()}_DISTRICTS_FILE` setting was not given the file the district was added to): it records "
                "nothing about that OSV, whose events would name no municipality, until an operator fixes the setting and "
                f"restarts it; the request is fine as it is: send it again after `Retry-After` ({MISCONFIGURED_RETRY_AFTER_SECONDS} s), "
                "with the same `Idempotency-Key`."
            ),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before sending the request again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        }
    }


LOST_IN_RESTORE = {
    "osv_lost_in_registry_restore": (
        "A 409 `osv_lost_in_registry_restore` (field `osv_id`: the OSV named, or the one the grant or proposal is for) names "
        "an OSV registry mapped and then lost with its stream's tail in a restore an operator accepted (`osv-restore "
        "accept-tail`: registry answers 404 for it); it carries no `Retry-After`, the OSV will not come back, and the "
        "problem's `accepted_loss` names the loss (`accepted_at`, `record_position`, `shared_position`, `stream_position`): "
        "map the organisation again in registry and send the request with its new id. A service whose directory of OSVs "
        "was built from registry's feed never saw the lost OSV: its 422 `osv_mapped_in_registry` then names the restore, "
        "for it cannot tell a lost OSV from a wrong id or one mapped a moment ago."
    ),
    "grant_lost_in_funding_restore": (
        "A 409 `grant_lost_in_funding_restore` (field `grant_id`) names a grant funding made and then lost with its "
        "stream's tail in a restore an operator accepted (`osv-restore accept-tail`: funding answers 404 for it, and "
        "nothing, a closing included, can be recorded for it there); it carries no `Retry-After`, the grant will not come "
        "back, and the problem's `accepted_loss` names the loss as above: record the grant again in funding and send the "
        "request with its new id. A directory of grants built from funding's feed never saw the lost grant: its 422 "
        "`grant_made_in_funding` then names the restore, for it cannot tell a lost grant from a wrong id or one made a "
        "moment ago."
    ),
}
"""What a 409 of a record another service lost in an accepted restore says, by rule (:func:`lost_in_restore`)."""


def lost_in_restore(*rules: str) -> dict[int | str, dict[str, Any]]:
    """A command's ``responses=``: its 409 with ``rules`` (:data:`LOST_IN_RESTORE`: ``osv_lost_in_registry_restore``,
    ``grant_lost_in_funding_restore``), without ``Retry-After``, beside the other 409s: a record the command names, made in
    another service, which that service lost with its stream's tail
    (:class:`shared.views.osvdirectory.OSVLostInRegistryError`, :class:`services.engagement.views.grants.GrantLostInFundingError`)."""
    said = " ".join(LOST_IN_RESTORE[rule] for rule in rules)
    return {409: {"description": f"Conflict: the request contradicts what is recorded (twice, too late, already done). {said}"}}


def osv_lost_in_registry() -> dict[int | str, dict[str, Any]]:
    """:func:`lost_in_restore` of ``osv_lost_in_registry_restore``: a command naming an OSV."""
    return lost_in_restore("osv_lost_in_registry_restore")


def not_heard_of_yet(*rules: str, status: int = 422) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: its 422 (a command's) or 404 (a read's) with ``rules`` (``osv_mapped_in_registry``…) carries ``Retry-After``.

    For a request naming a record another service made, which this one knows
    from that service's events (:class:`shared.errors.LagRefusal`);
    :func:`document_errors` adds this to the generic answer's description.
    A read's 404 is the same for a record outside the municipalities the caller reads.
    """
    named = " or ".join(f"`{rule}`" for rule in rules)
    again = (
        "send the same request, with the same `Idempotency-Key`, again after it" if status == 422
        else "ask again after it (a record outside the municipalities you read is answered alike)"
    )
    return {
        status: {
            "description": (
                f"A {status} {named} names a record made in another service that this one has not heard of yet (its event "
                f"arrives within about a second), or a wrong id: it carries `Retry-After` ({LAG_RETRY_AFTER_SECONDS} s); "
                f"{again}, a few times at most."
            ),
            "headers": {
                "Retry-After": {
                    "description": f"Seconds to wait before sending the request again ({LAG_RETRY_AFTER_SECONDS}), on {named} only.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        }
    }


def document_errors(schema: dict[str, Any], limit: int, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """Document the problem+json answers (400, 404, 409, 413, 415, 422, and 503 where given) on every operation of ``schema``.

    FastAPI's own 422 (``HTTPValidationError``, as ``application/json``) is
    replaced: every error is a :data:`PROBLEM_SCHEMA`.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    errors = error_responses(limit, max_depth)
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                continue
            responses = operation.setdefault("responses", {})
            for status, answer in errors.items():
                own = responses.get(status, {})
                if status in ("404", "422") and "headers" in own:  # a route's own (:func:`not_heard_of_yet`): its words and header kept
                    responses[status] = {**answer, "description": f"{answer['description']} {own['description']}", "headers": own["headers"]}
                elif status == "422" or status not in responses:
                    responses[status] = answer
                else:
                    responses[status] = {**responses[status], "content": content}
            if "503" in responses:
                responses["503"] = {**responses["503"], "content": content}
    return schema


def install_documentation(api: FastAPI, limit: int, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Make ``api``'s OpenAPI document carry :func:`document_errors` and the lists' ``Link`` header (:func:`~shared.listing.document_pages`)."""
    plain_openapi = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = document_pages(document_errors(plain_openapi(), limit, max_depth))
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
