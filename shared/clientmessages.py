"""What a command-line client of the services (the rebuild from the feeds, `osv-replay`, `osv-verify`) says when a service
refuses it or is out of reach: one line naming what to do. In `shared`, as the service images hold only `shared` and
`services` (the Dockerfile), and reporting's rebuild runs there."""

from __future__ import annotations

import httpx


def refusal(error: httpx.HTTPStatusError) -> str:
    """What a feed's refusal says, with what to do about a 401 or 403 (the feeds want an auditor's token)."""
    response = error.response
    try:
        detail = response.json().get("detail", "")
    except ValueError:
        detail = response.text[:200]
    hint = " (pass --token with an auditor's access token: `make token USER=auditor`)" if response.status_code in (401, 403) else ""
    return f"{response.request.url} answered {response.status_code}: {detail}{hint}"


def unreachable(error: httpx.TransportError, variables: dict[str, str]) -> str:
    """What an unreachable feed says: its URL, the error, and how to name it (``variables``: a URL's variable, by URL)."""
    url = str(error.request.url) if error.request is not None else "a feed"  # type: ignore[redundant-expr]
    base = next((base for base in variables if url.startswith(base)), "")
    where = f" (set by {variables[base]}, as for `make run`)" if base else ""
    return f"{url} does not answer ({type(error).__name__}: {error}){where}: start the services, or name the feed with --feed SERVICE=URL"
