"""Standard OAuth 2.0 flows run from a script: sign-in with authorization code + PKCE, and client credentials.

The authorization-code flow is what a browser does, step by step over HTTP:
open the authorization URL, fill the provider's sign-in pages (login, then
password; consent if the provider asks), follow the redirects until the
provider sends the browser to the client's ``redirect_uri`` with a ``code``,
then exchange the code with its PKCE verifier at the token endpoint. Nothing
is read from the provider's database. Authlib computes the PKCE challenge.

Only for loopback development and tests: it knows the sign-in pages by their
form fields (``login``, ``password``, ``answer``), not by any contract.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge

__all__ = ["SignInError", "client_credentials_token", "discover", "sign_in"]

_MAX_STEPS = 20


class SignInError(RuntimeError):
    """The provider did not issue a token: refused credentials, unknown client, or an unexpected page."""


def discover(issuer: str, http: httpx.Client | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """The provider's OpenID Connect discovery document (``<issuer>/.well-known/openid-configuration``)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    response = (http or httpx).get(url, timeout=timeout)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._current: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = _Form(action=values.get("action", ""), method=values.get("method", "get").lower())
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "button", "select", "textarea") and values.get("name"):
            kind = values.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "submit":
                self._current.buttons.setdefault(values["name"], []).append(values.get("value", ""))
            elif kind in ("checkbox", "radio"):
                if "checked" in values:
                    self._current.fields[values["name"]] = values.get("value", "on")
            else:
                self._current.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _forms(html: str) -> list[_Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def sign_in(
    *,
    issuer: str,
    client_id: str,
    redirect_uri: str,
    user_name: str,
    password: str,
    client_secret: str | None = None,
    scope: str = "openid profile groups",
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Sign ``user_name`` in through the provider's pages and return the token response.

    Authorization code grant with PKCE (S256) and a nonce; ``client_secret``
    for a confidential client, None for a public one. Returns the token
    endpoint's JSON (``access_token``, ``id_token``, ``expires_in``...).
    Raises :class:`SignInError` when the provider refuses the password or
    answers with an error instead of a code.
    """
    metadata = discover(issuer, timeout=timeout)
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    submitted: set[str] = set()
    with httpx.Client(follow_redirects=False, timeout=timeout) as browser:
        response = browser.get(f"{metadata['authorization_endpoint']}?{urlencode(query)}")
        for _ in range(_MAX_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(redirect_uri):
                    answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                    if answer.get("state") != state or "code" not in answer:
                        msg = f"the provider sent the client no code for this request: {location}"
                        raise SignInError(msg)
                    exchange = {
                        "grant_type": "authorization_code",
                        "code": answer["code"],
                        "redirect_uri": redirect_uri,
                        "code_verifier": verifier,
                    }
                    return _token_request(metadata["token_endpoint"], exchange, client_id, client_secret, timeout)
                response = browser.get(location)
                continue
            if response.status_code != 200:
                msg = f"the provider answered {response.status_code} at {response.url}: {response.text[:300]}"
                raise SignInError(msg)
            response = _submit_sign_in_page(browser, response, user_name, password, submitted)
        msg = f"no code after {_MAX_STEPS} pages; last page {response.url}"
        raise SignInError(msg)


def _token_request(
    endpoint: str, data: dict[str, str], client_id: str, client_secret: str | None, timeout: float
) -> dict[str, Any]:
    """POST to the token endpoint: HTTP Basic for a confidential client, ``client_id`` alone for a public one."""
    auth = (client_id, client_secret) if client_secret else None
    if not client_secret:
        data = {**data, "client_id": client_id}
    response = httpx.post(endpoint, data=data, auth=auth, timeout=timeout)
    if response.status_code != 200:
        msg = f"the token endpoint refused {client_id!r}: {response.status_code} {response.text[:300]}"
        raise SignInError(msg)
    token: dict[str, Any] = response.json()
    return token


def _submit_sign_in_page(
    browser: httpx.Client, page: httpx.Response, user_name: str, password: str, submitted: set[str]
) -> httpx.Response:
    """Fill and submit the sign-in, password or consent form the page shows.

    Each kind of form is filled once: shown again, it means the provider refused what was sent.
    """
    for form in _forms(page.text):
        data = dict(form.fields)
        if "password" in data:
            kind = "password"
            data["password"] = password
            if "login" in data:
                data["login"] = user_name
        elif "login" in data:
            kind = "login"
            data["login"] = user_name
        elif "answer" in form.buttons:
            kind = "consent"
            data["answer"] = "accept"
        else:
            continue
        if kind in submitted:
            break
        submitted.add(kind)
        action = urljoin(str(page.url), form.action or str(page.url))
        return browser.post(action, data=data)
    msg = f"the provider refused the sign-in of {user_name!r} (it showed {page.url} again)"
    raise SignInError(msg)


def client_credentials_token(
    *, issuer: str, client_id: str, client_secret: str, scope: str | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """A machine client's token response from the client-credentials grant (RFC 6749, 4.4)."""
    metadata = discover(issuer, timeout=timeout)
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return _token_request(metadata["token_endpoint"], data, client_id, client_secret, timeout)
