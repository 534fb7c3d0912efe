"""Signing people in to the dashboard: OpenID Connect authorization code with PKCE, as the public client ``osv-dashboard``.

The dashboard is a server-rendered page with no script, so the sign-in runs on
the server (Authlib computes the PKCE challenge; the two requests are plain OAuth 2.0):

1. ``GET /dashboard`` without a valid session sends the browser to
   ``/dashboard/sign-in``, which keeps a fresh ``state`` and PKCE verifier in a
   short-lived HttpOnly cookie and redirects to the provider's authorization
   endpoint.
2. The person signs in on the provider's own page; it redirects to
   ``/dashboard/callback?code=…&state=…``.
3. The callback checks ``state`` against the cookie, exchanges the code with
   the verifier at the token endpoint, checks the access token like any other
   (:class:`~shared.auth.TokenValidator`), and keeps it in an HttpOnly,
   SameSite=Lax session cookie for the page's own requests. The page's figures
   are then those of the caller's roles: a focal point sees its municipality's.
4. ``POST /dashboard/sign-out`` (the page's "Cerrar sesión" button) forgets
   the session and sends the browser on to the provider's
   ``end_session_endpoint`` (OpenID Connect RP-Initiated Logout, with the
   session's ID token as ``id_token_hint``), which ends the provider's own
   session and sends it back to ``/dashboard/signed-out``: on a shared
   computer, the next person to open the dashboard signs in as themselves,
   not straight back in as the last one. Only the dashboard's own pages may
   ask it (:func:`check_same_origin`): a link or an image on another site
   signed the officer out when it was a ``GET``.

The session cookie is only read by the dashboard's pages: every API still
wants an ``Authorization`` header, so a cookie never authorises a command.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from shared.auth import (
    AuthSettings,
    Caller,
    InvalidTokenError,
    MunicipalScope,
    NotAuthenticated,
    Permission,
    PermissionDenied,
    ProviderUnavailable,
    ProviderUnavailableError,
    TokenValidator,
)

SESSION_COOKIE = "osv_dashboard_session"
SESSION_PATH = "/dashboard"
"""The path of the session's cookies: the dashboard's pages (``/dashboard``, ``/dashboard/…``) are their only readers."""
ID_TOKEN_COOKIE = "osv_dashboard_id_token"
"""The provider's ID token of the session (HttpOnly, path ``/dashboard``): the ``id_token_hint`` that ends the provider's session at sign-out."""
SIGN_IN_COOKIE = "osv_dashboard_sign_in"
SIGN_IN_SECONDS = 600
SCOPE = "openid profile groups"
CALLBACK_PATH = "/dashboard/callback"
SIGNED_OUT_PATH = "/dashboard/signed-out"


class SignInFailed(Exception):
    """The provider's answer to a sign-in could not be used (state mismatch, refused code, unusable token)."""


class CrossOriginRequest(Exception):
    """A request the browser says another page than the dashboard's own sent: ``header`` (``Sec-Fetch-Site`` or
    ``Origin``) gave ``value``."""

    def __init__(self, header: str, value: str) -> None:
        super().__init__(f"{header} is {value!r}: only the dashboard's own pages may sign its session out")
        self.header = header
        self.value = value


@dataclass
class Endpoints:
    authorization: str
    token: str
    end_session: str | None


class DashboardSignIn:
    """The dashboard's side of the sign-in: where to send the browser, and what to do when it comes back."""

    def __init__(self, settings: AuthSettings, public_url: str | None = None) -> None:
        self.settings = settings
        self.public_url = public_url.rstrip("/") if public_url else None
        self._endpoints: Endpoints | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def endpoints(self) -> Endpoints:
        """The provider's endpoints from OIDC discovery (kept for the JWKS cache's time)."""
        with self._lock:
            if self._endpoints is None or time.time() - self._fetched_at > self.settings.jwks_cache_seconds:
                response = httpx.get(self.settings.discovery_url, timeout=self.settings.http_timeout_seconds)
                response.raise_for_status()
                document = response.json()
                self._endpoints = Endpoints(document["authorization_endpoint"], document["token_endpoint"], document.get("end_session_endpoint"))
                self._fetched_at = time.time()
            return self._endpoints

    def redirect_uri(self, request: Request) -> str:
        base = self.public_url or str(request.base_url).rstrip("/")
        return base + CALLBACK_PATH

    def start(self, request: Request, next_url: str) -> RedirectResponse:
        """Send the browser to the provider's sign-in, remembering the state, the PKCE verifier and where to go after."""
        verifier, state = secrets.token_urlsafe(64), secrets.token_urlsafe(24)
        query = {
            "response_type": "code",
            "client_id": self.settings.dashboard_client_id,
            "redirect_uri": self.redirect_uri(request),
            "scope": SCOPE,
            "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        response = RedirectResponse(f"{self.endpoints().authorization}?{urlencode(query)}", status_code=303)
        response.set_cookie(
            SIGN_IN_COOKIE,
            json.dumps({"state": state, "verifier": verifier, "next": safe_next(next_url)}),
            max_age=SIGN_IN_SECONDS,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/dashboard",
        )
        return response

    def finish(self, request: Request, code: str, state: str, validator: TokenValidator) -> RedirectResponse:
        """Exchange the code (with the verifier kept at :meth:`start`), check the token, and open the session."""
        try:
            kept = json.loads(request.cookies.get(SIGN_IN_COOKIE, ""))
        except ValueError:
            raise SignInFailed("this sign-in was not started here, or took too long.") from None
        if not isinstance(kept, dict) or not secrets.compare_digest(str(kept.get("state", "")), state):
            raise SignInFailed("the sign-in's state does not match: start again")
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri(request),
            "code_verifier": str(kept.get("verifier", "")),
            "client_id": self.settings.dashboard_client_id,
        }
        try:
            answer = httpx.post(self.endpoints().token, data=exchange, timeout=self.settings.http_timeout_seconds)
            answer.raise_for_status()
            token: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInFailed(f"the provider did not give a token for this sign-in: {error}") from None
        access_token = str(token.get("access_token", ""))
        try:
            validator.caller(access_token)
        except InvalidTokenError as error:
            raise SignInFailed(f"the provider's token was refused: {error.reason}") from None
        response = RedirectResponse(safe_next(str(kept.get("next", "/dashboard"))), status_code=303)
        lasts = int(token.get("expires_in", 3600))
        # The dashboard's pages alone read it: at "/" the browser sent the access token to every service and the provider
        # on the same host (cookies are not kept apart by port; tester 37 F13). One set there by an earlier version goes.
        _session_cookie(response, request, SESSION_COOKIE, access_token, lasts, path=SESSION_PATH)
        response.delete_cookie(SESSION_COOKIE, path="/")
        id_token = token.get("id_token")
        if isinstance(id_token, str) and id_token:
            _session_cookie(response, request, ID_TOKEN_COOKIE, id_token, lasts, path=SESSION_PATH)
        response.delete_cookie(SIGN_IN_COOKIE, path="/dashboard")
        return response

    def end(self, request: Request, lang: str = "es") -> str | None:
        """Where to send the browser to end the provider's session too: its ``end_session_endpoint`` with the
        session's ID token as ``id_token_hint``, the dashboard's client and ``/dashboard/signed-out`` to come back to.

        A ``lang`` other than Spanish (the dashboard's default) goes as the logout's ``state``, which the provider
        hands back to that page (RP-Initiated Logout §3; the registered URI must match exactly, so it cannot carry a
        query of its own), and as ``ui_locales`` for the provider's own pages.

        None when the provider has no such endpoint, or cannot be reached to say (the dashboard's own session is
        forgotten either way).
        """
        try:
            end_session = self.endpoints().end_session
        except (httpx.HTTPError, ValueError, KeyError):
            return None
        if not end_session:
            return None
        base = self.public_url or str(request.base_url).rstrip("/")
        query = {"client_id": self.settings.dashboard_client_id, "post_logout_redirect_uri": base + SIGNED_OUT_PATH}
        id_token = request.cookies.get(ID_TOKEN_COOKIE)
        if id_token:
            query["id_token_hint"] = id_token
        if lang != "es":
            query["state"] = query["ui_locales"] = lang
        return f"{end_session}{'&' if '?' in end_session else '?'}{urlencode(query)}"


def _session_cookie(response: Response, request: Request, name: str, value: str, max_age: int, path: str) -> None:
    """One of the session's cookies: HttpOnly, SameSite=Lax, Secure over HTTPS, for the token's ``max_age`` seconds."""
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=request.url.scheme == "https", path=path
    )


def check_same_origin(request: Request, public_url: str | None = None) -> None:
    """Refuse (:class:`CrossOriginRequest`) a request a browser sent from another origin's page: a form another site (or
    another service on the same host, whose port the session's cookies do not tell apart) posted to the dashboard.

    Net/http's ``CrossOriginProtection`` (Go 1.25) as it judges a request: a ``Sec-Fetch-Site`` header, which every
    current browser sends to HTTPS and loopback sites, must be ``same-origin`` (or ``none``: asked by the person, not a
    page); without one, an ``Origin`` must be the dashboard's own: ``public_url``'s, or on the request's ``Host``
    (``null``, a sandboxed page's or one whose referrer policy hides it, is not); a request with neither header is not
    a browser's (a script, ``curl``), and goes on. The SameSite=Lax session cookie alone is not enough: it keeps
    another site's POST from the session, but a page on the same host at another port (another service, the provider)
    is the same site, and its form's POST carries the cookie (in Chromium it signed the officer out).
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site not in ("same-origin", "none"):
            raise CrossOriginRequest("Sec-Fetch-Site", fetch_site)
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    sent = urlsplit(origin.lower())
    public = urlsplit(public_url.lower()) if public_url else None
    if sent.netloc and sent.netloc == request.headers.get("host", "").lower():
        return  # the host the browser asked (its scheme may be a proxy's: Go's rule compares hosts alone)
    if public is not None and (sent.scheme, sent.netloc) == (public.scheme, public.netloc):
        return
    raise CrossOriginRequest("Origin", origin)


def safe_next(url: str) -> str:
    """Where to go after signing in: a path of the dashboard only, never another site."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard") or parts.path.startswith(CALLBACK_PATH):
        return "/dashboard"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def session_caller(request: Request, validator: TokenValidator) -> Caller | None:
    """The caller of a dashboard page: its bearer token (401 if refused), else its session cookie, else None (sign in)."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("the Authorization header is not a bearer token")
        try:
            return validator.caller(token.strip())
        except InvalidTokenError as error:
            raise NotAuthenticated(error.reason) from None
        except ProviderUnavailableError:
            raise ProviderUnavailable() from None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return validator.caller(cookie)
    except InvalidTokenError:
        return None  # expired or from another provider: sign in again
    except ProviderUnavailableError:
        raise ProviderUnavailable() from None


def viewer_scope(viewer: Caller) -> MunicipalScope:
    """The municipalities whose figures the dashboard shows the viewer (403 naming the permission without one)."""
    if not viewer.may(Permission.INDICATORS_READ):
        raise PermissionDenied(Permission.INDICATORS_READ)
    return viewer.scope(Permission.INDICATORS_READ)


def ruos_alerted(caller: Caller) -> MunicipalScope:
    """The municipalities whose RUOS's board terms ``caller`` is alerted to: the ones whose renewals it records. A focal
    point's own (``municipal-mml``: the MML's, though it reads all of Lima), as registry's 403 ``own_municipality_ruos``
    holds each to; everyone else who reads the alerts (staff, leads, auditors) every one, within what it reads."""
    return caller.recording(Permission.INDICATORS_READ).acts_for


def deliberation_shown(caller: Caller) -> bool:
    """Whether ``caller``'s alerts list a proposal's submission or scoring after a dissolution or a merge: to those who
    read proposals (``proposals:read``: staff, leads, auditors), not to a focal point, who reads none (tester 177 F2)."""
    return caller.may(Permission.PROPOSALS_READ)


def signed_out(response: Response) -> Response:
    """``response``, forgetting the dashboard's session (its access token and its ID token)."""
    response.delete_cookie(SESSION_COOKIE, path=SESSION_PATH)
    response.delete_cookie(SESSION_COOKIE, path="/")  # one an earlier version set for the whole host, still within its hour
    response.delete_cookie(ID_TOKEN_COOKIE, path=SESSION_PATH)
    return response
