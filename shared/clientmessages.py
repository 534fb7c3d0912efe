"""What a command-line client of the services (the rebuild from the feeds, `osv-replay`, `osv-verify`) says when a service
refuses it or is out of reach: one line naming what to do, and never the token it was given nor a password in a URL; and
the HTTP client it reads a service's URL with. In `shared`, as the service images hold only `shared` and `services` (the
Dockerfile), and reporting's rebuild runs there."""

from __future__ import annotations

import re
from typing import Any

import httpx

from shared.messaging import redacted as without_password

DETAIL_CHARACTERS = 200
"""How much of a refusal's detail is said: a page that is no feed's (a proxy's, the identity provider's 404) is cut here."""

BEARER = re.compile(r"\bBearer\s+[A-Za-z0-9\-._~+/]+=*")
"""An ``Authorization`` header's value as the clients send it (RFC 6750's b64token): prose ("a bearer token is needed")
and placeholders ("Bearer <token>") are left as they are."""


def redacted(text: str) -> str:
    """``text`` with any bearer token in it replaced by ``…`` (httpx names a header value it would not send, token and all),
    and any password in a URL by ``***`` (a feed's URL may carry one: ``http://auditor:…@host``), as NATS URLs are logged."""
    return without_password(BEARER.sub("Bearer …", text))


def service_client(url: str, **options: Any) -> httpx.Client:
    """An HTTP client of the service at ``url`` (``options``: httpx's), the paths asked of it (``/events``) joined to
    ``url``'s path and its query string kept apart: httpx appends them to the whole URL, so that
    ``http://proxy/osv/registry?key=…`` asked ``/osv/registry?key=…events``, a path without ``/events``."""
    given = httpx.URL(url)
    return httpx.Client(base_url=given.copy_with(query=None), params=given.params, **options)


def origin_of(url: str, origins: dict[str, str]) -> str | None:
    """Where the feed ``url`` was asked of came from, by its base URL in ``origins`` (the longest that starts ``url``,
    its query string left out: :func:`service_client` asks paths under the base's path); ``None`` when it is no feed's."""
    bases = [base for base in origins if url.startswith(base.partition("?")[0])]
    return origins[max(bases, key=lambda base: len(base.partition("?")[0]))] if bases else None


def token_fault(token: str | None) -> str | None:
    """Why ``token`` cannot go in an ``Authorization`` header, without repeating it (it is a secret); ``None`` when it can.

    A token copied with its line's end, or with a space, is the usual case: httpx refused it only on the first
    request, naming the header value, token and all.
    """
    if token and any(c.isspace() or not c.isprintable() or not c.isascii() for c in token):
        return ("holds whitespace, a control character or a character outside ASCII (its line's end copied with it?): "
                "give the token alone (it is not repeated here)")
    return None


def one_line(text: str, limit: int = DETAIL_CHARACTERS) -> str:
    """``text`` with its whitespace, line ends included, made single spaces, cut to ``limit`` characters (``…`` marks the cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refusal(error: httpx.HTTPStatusError) -> str:
    """What a feed's refusal says, on one line, with what to do about a 401 or 403 (the feeds want an auditor's token).

    The detail is the problem's ``detail`` when the answer is JSON, else the body's text (an HTML page: a wrong URL),
    either made one line and cut to :data:`DETAIL_CHARACTERS`.
    """
    response = error.response
    try:
        body = response.json()
        detail = body.get("detail", "") if isinstance(body, dict) else body
    except ValueError:
        detail = response.text
    hint = " (pass --token with an auditor's access token: `make token USER=auditor`)" if response.status_code in (401, 403) else ""
    return redacted(f"{response.request.url} answered {response.status_code}: {one_line(str(detail))}{hint}")


def unreachable(error: httpx.TransportError, origins: dict[str, str], name_it: str = "--feed SERVICE=URL") -> str:
    """What an unreachable feed says: its URL, the error, where the URL came from and how to name it (``origins``: by
    base URL, as :func:`origin_of` reads them: ``set by REPORTING_FEED_URLS``, ``given by --feed``…; ``name_it``: the
    command's option for it).

    A request httpx would not send (:class:`httpx.LocalProtocolError`: a header value it refused) is said so, not as a
    feed to start; no bearer token is ever in the line (:func:`redacted`).
    """
    url = str(error.request.url) if error.request is not None else "a feed"  # type: ignore[redundant-expr]
    said = one_line(f"{type(error).__name__}: {error}", limit=400)
    if isinstance(error, httpx.LocalProtocolError):
        return redacted(f"the request to {url} could not be sent ({said}): check --token and the feed's URL")
    origin = origin_of(url, origins)
    where = f" ({origin})" if origin else ""
    return redacted(f"{url} does not answer ({said}){where}: start the services, or name the feed with {name_it}")
