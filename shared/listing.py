"""What every list endpoint shares: cursor pagination, name search, and refusing query parameters no route declares.

- :class:`Page` (the ``cursor`` and ``limit`` query parameters) cuts a list
  the route computed into pages. The body stays a JSON array; when more
  items follow, the answer carries ``Link: <path?...&cursor=…>; rel="next"``
  (RFC 8288, a reference relative to the service). A cursor is opaque: it
  names the last item of the page before (base64url of its key), and the next
  page starts right after that item in the list's own order, so items added
  later at the end are not missed and no item is given twice.
- :func:`matches_name` is the free-text search on names: accent-, case- and
  punctuation-insensitive, every word of the query a part of the name.
  Only names that are not personal data (OSVs, municipalities, rounds…) are
  searched; members' names never are.
- :func:`refuse_unknown_query_parameters` makes :func:`known_parameters`
  the last dependency of every route of every service: it answers 422
  problem+json, rule ``known_parameter``, naming a query parameter the route
  does not declare, as unknown body fields already are. Being last, it
  answers after the route's own checks of the caller: 401 and 403 first.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from shared.districts import fold
from shared.lastdependency import append_last

T = TypeVar("T")

DEFAULT_LIMIT = 100
"""Items per page when ``limit`` is not given."""
MAX_LIMIT = 1000
"""The most items a page may ask for (as ``GET /events``)."""
MAX_CURSOR_LENGTH = 200
MAX_SEARCH_LENGTH = 200
"""The longest free-text ``name`` query."""


def searchable(query: str | None) -> str | None:
    """``query`` (None: no search) if it holds a word to search for (a letter or digit); else 422 ``searchable_name``.

    Punctuation and spaces are not searched (names are compared folded), so
    ``name=-`` would have matched every name: a list of everything, read as
    what the search found.
    """
    if query is not None and not fold(query):
        raise PydanticCustomError("searchable_name", "must hold a letter or digit to search for (punctuation and spaces are not searched)")
    return query


NameQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_SEARCH_LENGTH,
        description="Free-text search on the name: every word must appear in it, ignoring case, accents and punctuation; "
        "422 `searchable_name` for a query with no letter or digit.",
    ),
    AfterValidator(searchable),
]


def matches_name(query: str | None, name: str) -> bool:
    """True when ``query`` is None or each of its words (folded) is part of ``name`` (folded)."""
    if query is None:
        return True
    folded = fold(name)
    return all(word in folded for word in fold(query).split())


def query_refused(name: str, rule: str, message: str, value: Any = None) -> RequestValidationError:
    """A 422 naming the query parameter ``name`` and its ``rule`` (raise it from a route or a dependency)."""
    return RequestValidationError([{"type": rule, "loc": ("query", name), "msg": message, "input": value}])


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        after = ""
    if not after:  # an empty one (``?cursor=``) too: no item's, not one that left the list (tester 136 F5)
        raise query_refused("cursor", "cursor", "not a cursor this service gave; use the Link header's next URL", cursor)
    return after


@dataclass
class Page:
    """One page of a list: the route passes its whole list, in its order, to :meth:`of`."""

    request: Request
    response: Response
    cursor: str | None
    limit: int

    def of(self, items: Sequence[T], key: Callable[[T], object]) -> list[T]:
        """The items after the cursor's, at most ``limit``; sets ``Link: <…>; rel="next"`` when more follow.

        ``key`` gives each item's unique id (its ``str()`` goes in the cursor). A cursor whose item is no longer
        in the list (it left the filter meanwhile) raises 422, rule ``cursor``: start again from the first page.
        """
        start = 0
        if self.cursor is not None:
            after = _decode(self.cursor)
            keys = [str(key(item)) for item in items]
            if after not in keys:
                raise query_refused("cursor", "cursor", "the cursor's item is no longer in this list; start again without a cursor", self.cursor)
            start = keys.index(after) + 1
        chosen = list(items[start : start + self.limit])
        if start + self.limit < len(items) and chosen:
            query = [(k, v) for k, v in self.request.query_params.multi_items() if k not in ("cursor", "limit")]
            query += [("limit", str(self.limit)), ("cursor", _encode(str(key(chosen[-1]))))]
            self.response.headers["Link"] = f'<{self.request.url.path}?{urlencode(query)}>; rel="next"'
        return chosen


async def page_query(  # no I/O: answered on the event loop, no thread-pool hop
    request: Request,
    response: Response,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            description="Where the page starts: the `cursor` of the previous answer's `Link: <…>; rel=\"next\"` header (opaque).",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many items (default {DEFAULT_LIMIT}); more follow when a `Link` header names the next page.")
    ] = DEFAULT_LIMIT,
) -> Page:
    return Page(request=request, response=response, cursor=cursor, limit=limit)


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


IF_MATCH_NOT_CHECKED = (
    "this request does not check If-Match: it would be carried out whatever came in between; send it without the header "
    "(the changes that check it say so in their descriptions)"
)


UNCHECKED_PRECONDITIONS = frozenset({"if-none-match", "if-unmodified-since", "if-modified-since", "if-range"})
"""The conditional headers of RFC 9110 §13 no change checks: on a write, refused (a GET may ignore them, answering 200)."""
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _header_names(dependant: Dependant) -> set[str]:
    names = {p.alias.lower() for p in dependant.header_params}
    for sub in dependant.dependencies:
        names |= _header_names(sub)
    return names


def known_parameters(declared: frozenset[str], checks_if_match: bool = False) -> Callable[[Request], None]:
    """A dependency refusing, 422 rule ``known_parameter``, any query parameter not in ``declared``, and, rule
    ``parameter_given_twice``, one of them given more than once: no route takes a list in its query, and FastAPI reads
    the last of two (``purpose=bogus&purpose=contact`` was served, and logged, as the last; tester 36c F7).

    An ``If-Match`` header on a route that does not check it (``checks_if_match`` False) is 422 rule
    ``if_match_not_checked``: RFC 9110 has a server evaluate it before acting, and a client sending it to a change
    that ignored it believed itself protected from a concurrent change (:mod:`shared.preconditions`). Likewise, on a
    write, ``If-None-Match``, ``If-Unmodified-Since``, ``If-Modified-Since`` and ``If-Range``, which no change checks:
    422 rule ``precondition_not_checked`` naming the header (tester 158 F8: ``If-None-Match: "65"`` was ignored).

    ``dry_run`` is taken off the query before routing (:mod:`shared.dryrun`), so it never reaches this.
    """

    async def refuse_unknown(request: Request) -> None:  # no I/O: answered on the event loop, no thread-pool hop
        given = [name for name, _ in request.query_params.multi_items()]
        unknown = sorted({name for name in given if name not in declared})
        twice = sorted({name for name in given if name in declared and given.count(name) > 1})
        unchecked = not checks_if_match and "if-match" in request.headers
        preconditions = sorted({
            name.title() for name in request.headers if name in UNCHECKED_PRECONDITIONS
        }) if request.method in WRITE_METHODS else []
        if unknown or twice or unchecked or preconditions:
            raise RequestValidationError(
                [
                    {"type": "known_parameter", "loc": ("query", name), "msg": "this route takes no such query parameter", "input": None}
                    for name in unknown
                ]
                + [
                    {"type": "parameter_given_twice", "loc": ("query", name), "input": None,
                     "msg": "this query parameter is given more than once: give it once (which one counts would be left to each reader)"}
                    for name in twice
                ]
                + ([{"type": "if_match_not_checked", "loc": ("header", "If-Match"), "msg": IF_MATCH_NOT_CHECKED, "input": None}]
                   if unchecked else [])
                + [
                    {"type": "precondition_not_checked", "loc": ("header", name), "input": None,
                     "msg": f"no change checks {name}: what it records is taken whatever the record is; send it without the header"}
                    for name in preconditions
                ]
            )

    refuse_unknown.declared = declared  # type: ignore[attr-defined]
    return refuse_unknown


def route_contexts(api: FastAPI) -> list[Any]:
    """Every route of ``api`` as it is served, those of included routers too (as :func:`shared.auth._api_routes`)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily
        return list(api.routes)
    return list(iter_route_contexts(api.routes))


def refuse_unknown_query_parameters(api: FastAPI) -> None:
    """Make :func:`known_parameters` the last dependency of each of ``api``'s routes; call it once the routers are included.

    Last, so that a caller without a token still gets 401 and one without the permission 403, as for a bad body.
    Routes left out of the OpenAPI document are not checked: the dashboard's sign-in callback takes whatever the
    identity provider adds (``iss``, ``session_state``). Appended as FastAPI builds each route
    (:func:`shared.lastdependency.append_last`).
    """
    append_last(api, _known_parameters_of)


def _known_parameters_of(route: Any, dependant: Dependant) -> Callable[[Request], None] | None:
    """:func:`known_parameters` for ``route`` as served; None for a route left out of the OpenAPI document."""
    if not getattr(route, "include_in_schema", True):
        return None
    return known_parameters(frozenset(_query_names(dependant)), checks_if_match="if-match" in _header_names(dependant))


LINK_HEADER = {
    "description": 'The next page, when more items follow: `<path?…&cursor=…>; rel="next"` (RFC 8288); absent on the last page.',
    "schema": {"type": "string"},
}


def document_pages(schema: dict[str, Any]) -> dict[str, Any]:
    """Write the ``Link`` header into the 200 answer of every operation that takes a ``cursor`` (an OpenAPI document, changed in place)."""
    for methods in schema.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict) or not any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                continue
            answer = operation.get("responses", {}).get("200")
            if answer is not None:
                answer.setdefault("headers", {})["Link"] = LINK_HEADER
    return schema
