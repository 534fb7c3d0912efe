"""A dependency made the last of each route an app serves, added as FastAPI builds the route, not when the app is made.

The services refuse an undeclared query parameter (:func:`shared.listing.refuse_unknown_query_parameters`) and a bad
dry-run value (:func:`shared.dryrun.refuse_once_let_in`) in a dependency each route runs after its own, so that a
caller without a token gets 401 and one without the permission 403 before any 422. The dependency must be appended to
the route's dependant as the app serves it: an included router's routes carry the app's prefix and the router's own
dependencies.

FastAPI 0.120 and later builds an included router's routes for an app lazily, the first time the app routes a request
into the router or writes its OpenAPI document. Asking for every route at the app's creation to append the
dependency built them all: 60-95 ms of a service app's 70-120 ms creation, paid again by each of the ~1,500 apps the
test suite makes, most of which serve a route or two. :func:`append_last` asks FastAPI for nothing: it is told of
each route as FastAPI builds its handler (the route's ``get_route_handler``, FastAPI's hook for route integrations,
called with the route as served in ``fastapi.routing._effective_route_context_var``), and appends the dependency then.
On a FastAPI without those internals it builds every route at once, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fastapi.routing
from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_parameterless_sub_dependant
from fastapi.routing import APIRoute

Maker = Callable[[Any, Dependant], Callable[..., Any] | None]
"""Given a route as served (its ``path_format``, ``methods``, ``include_in_schema``) and its dependant, the call to
append as its last dependency, or None to leave the route as it is. A module-level function: an app made again
(the tests make hundreds) finds it already installed."""

_MAKERS = "_osv_last_dependencies"
"""The attribute of a router's route holding the makers whose dependency it gets, in the order they were added."""


def append_last(api: FastAPI, maker: Maker) -> None:
    """Make ``maker``'s dependency the last of each of ``api``'s routes (those of included routers too); call it
    once the routers are included. Makers added one after the other append in that order."""
    context = getattr(fastapi.routing, "_effective_route_context_var", None)
    included = getattr(fastapi.routing, "_IncludedRouter", None)
    if context is None or included is None:  # a FastAPI that builds included routes at once: they are all there
        from shared.listing import route_contexts

        for route in route_contexts(api):
            _append(route, maker)
        return
    for route in api.router.routes:
        if isinstance(route, included):
            _defer(route.original_router, maker, context, included)
        else:  # the app's own route: built with the app
            _append(route, maker)


def _defer(router: Any, maker: Maker, context: Any, included: type) -> None:
    """Have each route of ``router`` (and of the routers it includes) take ``maker``'s dependency when it is built."""
    for route in [*router.routes, *getattr(router, "_low_priority_routes", ())]:
        if isinstance(route, included):
            _defer(route.original_router, maker, context, included)
            continue
        if not isinstance(route, APIRoute):
            continue
        makers: list[Maker] = route.__dict__.setdefault(_MAKERS, [])
        if maker not in makers:
            makers.append(maker)
        if "get_route_handler" not in route.__dict__:
            route.get_route_handler = _building(route, route.get_route_handler, context)  # type: ignore[method-assign]


def _building(route: APIRoute, build: Callable[[], Any], context: Any) -> Callable[[], Any]:
    def get_route_handler() -> Any:
        served = context.get()  # the route as the app being routed serves it, while FastAPI builds its handler
        if served is None or served.original_route is not route:
            served = route
        for maker in route.__dict__[_MAKERS]:
            _append(served, maker)
        return build()

    return get_route_handler


def _append(route: Any, maker: Maker) -> None:
    dependant = getattr(route, "dependant", None)
    if dependant is None or any(getattr(d.call, "made_by", None) is maker for d in dependant.dependencies):
        return
    call = maker(route, dependant)
    if call is None:
        return
    call.made_by = maker  # type: ignore[attr-defined]
    dependant.dependencies.append(get_parameterless_sub_dependant(depends=Depends(call), path=route.path_format))
