"""What the auditors' commands say when a service refuses them."""

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
