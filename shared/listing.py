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
- :func:`known_parameters` (a dependency of every route of every service)
  answers 422 problem+json, rule ``known_parameter``, naming a query
  parameter the route does not declare, as unknown body fields already are.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from shared.districts import fold

T = TypeVar("T")

DEFAULT_LIMIT = 100
"""Items per page when ``limit`` is not given."""
MAX_LIMIT = 1000
"""The most items a page may ask for (as ``GET /events``)."""
MAX_CURSOR_LENGTH = 200
MAX_SEARCH_LENGTH = 200
"""The longest free-text ``name`` query."""

NameQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_SEARCH_LENGTH,
        description="Free-text search on the name: every word must appear in it, ignoring case, accents and punctuation.",
    ),
]


def matches_name(query: str | None, name: str) -> bool:
    """True when ``query`` is None or each of its words (folded) is part of ``name`` (folded)."""
    if query is None:
        return True
    folded = fold(name)
    return all(word in folded for word in fold(query).split())


def _refuse(name: str, rule: str, message: str, value: Any = None) -> RequestValidationError:
    return RequestValidationError([{"type": rule, "loc": ("query", name), "msg": message, "input": value}])


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        raise _refuse("cursor", "cursor", "not a cursor this service gave; use the Link header's next URL", cursor) from None


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
                raise _refuse("cursor", "cursor", "the cursor's item is no longer in this list; start again without a cursor", self.cursor)
            start = keys.index(after) + 1
        chosen = list(items[start : start + self.limit])
        if start + self.limit < len(items) and chosen:
            query = [(k, v) for k, v in self.request.query_params.multi_items() if k not in ("cursor", "limit")]
            query += [("limit", str(self.limit)), ("cursor", _encode(str(key(chosen[-1]))))]
            self.response.headers["Link"] = f'<{self.request.url.path}?{urlencode(query)}>; rel="next"'
        return chosen


def page_query(
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


_declared: dict[int, frozenset[str]] = {}


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameters a route (with its dependencies) declares, by the name a client sends."""
    found = _declared.get(id(route))
    if found is None:
        found = frozenset(_query_names(route.dependant))
        _declared[id(route)] = found
    return found


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def known_parameters(request: Request) -> None:
    """Refuse, 422 rule ``known_parameter``, a query parameter the route does not declare.

    Routes left out of the OpenAPI document (the dashboard's sign-in callback, which takes what the identity
    provider adds) are not checked. ``dry_run`` is taken off the query before routing (:mod:`shared.dryrun`).
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    declared = declared_query_parameters(route)
    unknown = sorted({name for name in request.query_params if name not in declared})
    if unknown:
        raise RequestValidationError(
            [
                {"type": "known_parameter", "loc": ("query", name), "msg": "this route takes no such query parameter", "input": None}
                for name in unknown
            ]
        )
