"""The services' last dependencies (unknown query parameters, a bad dry-run value) on routes FastAPI builds lazily.

The checks are appended as FastAPI builds each route for the app (:mod:`shared.lastdependency`): a router included in
several apps, under another prefix, in an app made again, must still have each route refuse what it does not declare,
after the route's own check of the caller (401 first), and once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query
from fastapi.testclient import TestClient

from shared import dryrun
from shared.lastdependency import append_last
from shared.listing import refuse_unknown_query_parameters

router = APIRouter(prefix="/things")
inner = APIRouter(prefix="/parts")


def signed_in(authorization: Annotated[str | None, Header()] = None) -> str:
    if authorization != "Bearer good":
        raise HTTPException(401, "sign in")
    return "someone"


@router.get("")
def list_things(caller: Annotated[str, Depends(signed_in)], colour: Annotated[str | None, Query()] = None) -> dict[str, str | None]:
    return {"colour": colour}


@router.post("")
def add_thing(caller: Annotated[str, Depends(signed_in)]) -> dict[str, str]:
    return {"added": "yes"}


@inner.get("/{part}")
def read_part(part: str, caller: Annotated[str, Depends(signed_in)], size: Annotated[int | None, Query()] = None) -> dict[str, str]:
    return {"part": part}


router.include_router(inner)


def app_with(prefix: str) -> FastAPI:
    api = FastAPI()
    api.include_router(router, prefix=prefix)
    refuse_unknown_query_parameters(api)
    dryrun.refuse_once_let_in(api)
    return api


GOOD = {"Authorization": "Bearer good"}


def test_every_app_including_a_router_refuses_what_its_routes_do_not_declare_after_the_callers_check() -> None:
    for prefix in ("/a", "/b", "/a"):  # the same router in three apps, one made again with the same prefix
        with TestClient(app_with(prefix)) as client:
            assert client.get(f"{prefix}/things", params={"colour": "red"}, headers=GOOD).json() == {"colour": "red"}
            assert client.get(f"{prefix}/things", params={"size": "1"}).status_code == 401  # the caller's check first
            refused = client.get(f"{prefix}/things", params={"size": "1"}, headers=GOOD)
            assert refused.status_code == 422
            assert "size" in refused.text
            assert client.get(f"{prefix}/things/parts/p1", params={"size": "1"}, headers=GOOD).status_code == 200
            assert client.get(f"{prefix}/things/parts/p1", params={"colour": "red"}, headers=GOOD).status_code == 422
            assert client.post(f"{prefix}/things", params={"dry_run": "maybe"}).status_code == 401
            bad = client.post(f"{prefix}/things", params={"dry_run": "maybe"}, headers=GOOD)
            assert bad.status_code == 422
            assert "dry_run" in bad.text


def test_each_route_as_served_gets_each_last_dependency_once_in_the_order_they_were_added() -> None:
    seen: list[tuple[str, str]] = []

    def first(route: object, dependant: object) -> object:
        return lambda: seen.append(("first", route.path_format))  # type: ignore[attr-defined]

    def second(route: object, dependant: object) -> object:
        return lambda: seen.append(("second", route.path_format))  # type: ignore[attr-defined]

    for prefix in ("/x", "/y"):
        api = FastAPI()
        api.include_router(router, prefix=prefix)
        append_last(api, first)
        append_last(api, second)
        append_last(api, first)  # added again: still once
        with TestClient(api) as client:
            seen.clear()
            assert client.get(f"{prefix}/things/parts/p", headers=GOOD).status_code == 200
            assert seen == [("first", f"{prefix}/things/parts/{{part}}"), ("second", f"{prefix}/things/parts/{{part}}")]
