"""What a command-line client of the services (the rebuild from the feeds, `osv-replay`, `osv-verify`) says when a service
refuses it or is out of reach: one line naming what to do. In `shared`, as the service images hold only `shared` and
`services` (the Dockerfile), and reporting's rebuild runs there."""

from __future__ import annotations

import httpx

DETAIL_CHARACTERS = 200
"""How much of a refusal's detail is said: a page that is no feed's (a proxy's, the identity provider's 404) is cut here."""


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
    return f"{response.request.url} answered {response.status_code}: {one_line(str(detail))}{hint}"


def unreachable(error: httpx.TransportError, variables: dict[str, str]) -> str:
    """What an unreachable feed says: its URL, the error, and how to name it (``variables``: a URL's variable, by URL)."""
    url = str(error.request.url) if error.request is not None else "a feed"  # type: ignore[redundant-expr]
    base = next((base for base in variables if url.startswith(base)), "")
    where = f" (set by {variables[base]}, as for `make run`)" if base else ""
    return f"{url} does not answer ({type(error).__name__}: {error}){where}: start the services, or name the feed with --feed SERVICE=URL"
