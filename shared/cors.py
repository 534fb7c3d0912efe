"""Browser front ends in other origins (CORS): Starlette's middleware, its refused preflight as problem+json.

A preflight that asks for an origin, a method or a header the service does not
allow is answered 400 (as Starlette answers it) with a problem naming what was
refused, each as the preflight header that asked for it, instead of the plain
text "Disallowed CORS origin": a front end's developer reads the same shape of
error here as anywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from shared import dryrun
from shared.guards import SecureHeaders, problem

REFUSED_BY = {
    "origin": ("Origin", "an origin the service's CORS allow-list (`*_CORS_ALLOW_ORIGINS`) does not name"),
    "method": ("Access-Control-Request-Method", "a method the service does not take from a browser"),
    "headers": ("Access-Control-Request-Headers", "a header the service does not take from a browser"),
    "private-network": ("Access-Control-Request-Private-Network", "a private network request, which the service does not allow"),
}
"""Starlette's name for each refusal -> the preflight header that asked for it, and what was asked."""


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's :class:`CORSMiddleware`; a refused preflight is 400 problem+json, ``errors[]`` naming each
    header refused with rule ``cors_allowed``."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code != 400:
            return answer
        refused = answer.body.decode().removeprefix("Disallowed CORS ").split(", ")
        errors = [
            {"field": REFUSED_BY[what][0], "rule": "cors_allowed", "message": f"asks for {REFUSED_BY[what][1]}"}
            for what in refused
            if what in REFUSED_BY
        ]
        detail = "This preflight was refused: " + "; ".join(f"{e['field']} {e['message']}" for e in errors) + "."
        kept = {name: value for name, value in answer.headers.items() if name.startswith("access-control-") or name == "vary"}
        return problem(400, "Bad Request", detail, errors, headers=kept)


def install_cors(api: FastAPI, origins: Sequence[str]) -> None:
    """Browser front ends at ``origins`` may call the API (CORS); add it last, so it wraps every answer, errors included.

    Tokens travel in the ``Authorization`` header, never in cookies, so no
    credentials mode is allowed. The secure headers stay outermost, so a
    preflight's answer carries them too.
    """
    if not origins:
        return
    api.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match", dryrun.HEADER],
        expose_headers=["Idempotent-Replayed", "Retry-After", "WWW-Authenticate", "Content-Disposition", "ETag", "Link", dryrun.HEADER],
        max_age=600,
    )
    headers = [m for m in api.user_middleware if m.cls is SecureHeaders]
    api.user_middleware = headers + [m for m in api.user_middleware if m.cls is not SecureHeaders]
