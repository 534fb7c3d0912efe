"""The embedded OpenID Connect provider: Canaille, configured and provisioned for osv-platform.

This module runs inside the provider's own process (``python -m devtools.identity
serve``, started by :class:`devtools.identity.IdentityProvider`). It builds the
Canaille application with its data in an SQLite file under the state folder,
creates (idempotently) the demo accounts, their groups and the OAuth clients
the platform needs, and serves it with Werkzeug's threaded server on loopback.

Three things are added to stock Canaille, the first two through Authlib's extension points:

* Access tokens are JWTs in the RFC 9068 profile (``typ: at+jwt``, ``sub``,
  ``client_id``, ``scope``, ``aud``) for every grant, carrying the caller's
  groups in a ``groups`` claim. Canaille alone issues an ID-token-shaped JWT to
  users and an opaque string to client-credentials clients; a resource server
  would then need introspection for machines and JWKS for people.
* A client-credentials client gets the groups of its *service account*, the
  Canaille user named ``service-account-<client_id>`` (Keycloak's convention),
  so a machine's roles are managed like a person's: by group membership.
* Its CORS answers to preflight requests also allow the ``Accept`` and
  ``X-Requested-With`` headers, which Swagger UI's Authorize button sends with
  the token request (Canaille allows ``Content-Type`` and ``Authorization``
  only, so the browser refused the exchange: "Failed to fetch"). Keycloak
  allows both by default.
* CORS also answers the origins of a client's redirect URIs, not only its
  ``client_uri``'s (Keycloak's ``+`` web origin): a page the provider sends
  the browser back to may exchange its code. Swagger UI opened on
  ``http://localhost:8001`` is such a page when the client's ``client_uri`` is
  ``http://127.0.0.1:8001`` (see ``devtools.identity.loopback_aliases``).

Roles are the groups' names: ``staff``, ``lead``, ``municipal-150132``...
``shared.auth`` maps them to the platform's roles.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator

log = logging.getLogger(__name__)

ACCESS_TOKEN_SECONDS = 3600
SIGN_IN_SESSION = datetime.timedelta(hours=1)
"""How long the provider keeps a person signed in (its ``session`` cookie) after their last request to it: Canaille's
default, 30 days, signed the browser of a municipal office's shared computer straight back in to the dashboard for a
month after its own session's hour (tester 286 F6). One hour, as long as the tokens it issues."""
SERVICE_ACCOUNT_PREFIX = "service-account-"

# Headers a browser may send cross-origin to the provider's endpoints (token, JWKS, discovery...).
CORS_ALLOWED_HEADERS = "Content-Type, Authorization, Accept, X-Requested-With"

# Audience of every token meant for the platform's APIs: a client record with no grant of its own.
API_AUDIENCE = "osv-api"


@dataclass(frozen=True)
class ClientSpec:
    """One OAuth client the platform needs. ``secret`` is None for a public client."""

    client_id: str
    name: str
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    """Where the provider may send the browser back after ending the person's session (OIDC RP-Initiated Logout)."""
    client_uri: str | None = None
    secret: str | None = None
    scope: tuple[str, ...] = ("openid", "profile", "groups")
    service_account_groups: tuple[str, ...] = ()

    @property
    def auth_method(self) -> str:
        return "client_secret_basic" if self.secret else "none"


@dataclass(frozen=True)
class AccountSpec:
    """One demo person: a login name, its password and the groups (roles) it belongs to."""

    user_name: str
    password: str
    groups: tuple[str, ...]


def canaille_config(
    *,
    host: str,
    port: int,
    database_path: str,
    secret_key: str,
    active_jwks: Sequence[Mapping[str, Any]],
    inactive_jwks: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Canaille's configuration for the embedded default (loopback, plain HTTP, SQLite)."""
    return {
        "SECRET_KEY": secret_key,
        "SERVER_NAME": f"{host}:{port}",
        "PREFERRED_URL_SCHEME": "http",
        "PERMANENT_SESSION_LIFETIME": SIGN_IN_SESSION,
        "CANAILLE": {
            "NAME": "osv-platform (local sign-in)",
            "DATABASE": "sql",
            "JAVASCRIPT": False,
            "HTMX": False,
            "ENABLE_REGISTRATION": False,
            "ENABLE_PASSWORD_RECOVERY": False,
            "CAPTCHA_ENABLED": False,
            "SMTP": None,
            "ACL": {"DEFAULT": {"PERMISSIONS": ["use_oidc", "edit_self"], "READ": ["user_name", "groups"], "WRITE": []}},
            "LOGGING": {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"stderr": {"class": "logging.StreamHandler", "level": "WARNING"}},
                "loggers": {"canaille": {"level": "WARNING", "handlers": ["stderr"]}},
            },
        },
        "CANAILLE_SQL": {"DATABASE_URI": f"sqlite:///{database_path}"},
        "CANAILLE_OIDC": {
            "ACTIVE_JWKS": [dict(key) for key in active_jwks],
            "INACTIVE_JWKS": [dict(key) for key in inactive_jwks] or None,
            # Clients on loopback skip the consent page; the sign-in page is still shown.
            "TRUSTED_DOMAINS": ["127.0.0.1", ".localhost"],
        },
    }


class _Subject:
    """The resource owner as Authlib's generator expects it: ``sub`` is the login name."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def get_user_id(self) -> str:
        return str(self.user.user_name)


class PlatformAccessTokens(JWTBearerTokenGenerator):
    """RFC 9068 access tokens signed with the provider's active key, with the caller's ``groups``."""

    def __init__(self, issuer: str) -> None:
        super().__init__(
            issuer=issuer,
            alg="RS256",
            refresh_token_generator=_refresh_token,
            expires_generator=lambda client, grant_type: ACCESS_TOKEN_SECONDS,
        )

    def get_jwks(self) -> Any:
        from canaille.oidc.jose import server_jwks

        return server_jwks(include_inactive=False)

    @staticmethod
    def get_allowed_scope(client: Any, scope: str | None) -> str:
        # As Canaille's own generator: a request without scope gets the client's scope (RFC 6749, 3.3).
        return str(client.get_allowed_scope(scope))

    def get_audiences(self, client: Any, user: Any, scope: str | None) -> list[str]:
        return [audience.client_id for audience in client.audience] or [client.client_id]

    def get_extra_claims(self, client: Any, grant_type: str, user: Any, scope: str | None) -> dict[str, Any]:
        if user is not None:
            person = user.user if isinstance(user, _Subject) else user
            return {"preferred_username": person.user_name, "groups": sorted(g.display_name for g in person.groups)}
        return {"groups": sorted(service_account_groups(client.client_id))}

    def generate(
        self,
        grant_type: str,
        client: Any,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> Any:
        subject = _Subject(user) if user is not None else None
        return super().generate(grant_type, client, subject, scope, expires_in, include_refresh_token)


def _refresh_token(**_: Any) -> str:
    from authlib.common.security import generate_token

    return generate_token(48)


def service_account_groups(client_id: str) -> list[str]:
    """The groups of the client's service account, or none when it has no service account."""
    from canaille.app import models
    from canaille.backends import Backend

    account = Backend.instance.get(models.User, user_name=SERVICE_ACCOUNT_PREFIX + client_id)
    return [group.display_name for group in account.groups] if account else []


def create_app(config: dict[str, Any]) -> Any:
    """Canaille's Flask application with the platform's access-token generator registered."""
    import canaille
    from canaille.oidc.provider import authorization

    app = canaille.create_app(config=config, env_file=None)
    issuer = f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME']}"
    generator = PlatformAccessTokens(issuer)
    for grant_type in ("authorization_code", "refresh_token", "client_credentials"):
        authorization.register_token_generator(grant_type, generator)
    _answer_redirect_origins(app)
    app.wsgi_app = _PreflightHeaders(app.wsgi_app)
    return app


def redirect_origins() -> set[str]:
    """The origins (``scheme://host:port``) of every registered client's redirect URIs; in an application context."""
    from urllib.parse import urlsplit

    from canaille.app import models
    from canaille.backends import Backend

    origins = set()
    for client in Backend.instance.query(models.Client):
        for uri in client.redirect_uris or ():
            parts = urlsplit(uri)
            if parts.scheme in ("http", "https") and parts.netloc:
                origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


def _answer_redirect_origins(app: Any) -> None:
    """CORS for the origins of the clients' redirect URIs, on the paths Canaille opens to CORS, as Canaille answers its own.

    Canaille's hooks answer the origins of the clients' ``client_uri``
    (its preflight hook, registered first, answers those before this one
    runs); these answer the redirect URIs' origins with the same headers, and
    leave every other request as it was.
    """
    from canaille.oidc.cors import is_cors_enabled_path
    from flask import make_response, request

    def allowed() -> str | None:
        origin = request.headers.get("Origin")
        if not origin or not is_cors_enabled_path(request.path):
            return None
        return origin if origin in redirect_origins() else None

    def allow(response: Any, origin: str) -> None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.vary.add("Origin")

    @app.before_request
    def preflight() -> Any:
        if request.method != "OPTIONS" or (origin := allowed()) is None:
            return None
        response = make_response()
        allow(response, origin)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
        return response

    @app.after_request
    def answer(response: Any) -> Any:
        if request.method != "OPTIONS" and (origin := allowed()) is not None:
            allow(response, origin)
        return response


class _PreflightHeaders:
    """WSGI middleware: a preflight Canaille allowed (it set ``Access-Control-Allow-Origin``) allows :data:`CORS_ALLOWED_HEADERS`.

    Origins stay Canaille's decision (the origins of the registered clients'
    ``client_uri``); only the list of request headers is widened.
    """

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") != "OPTIONS":
            return self.wsgi_app(environ, start_response)

        def widened(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            names = {name.lower() for name, _ in headers}
            if "access-control-allow-origin" in names:
                headers = [(n, v) for n, v in headers if n.lower() != "access-control-allow-headers"]
                headers.append(("Access-Control-Allow-Headers", CORS_ALLOWED_HEADERS))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, widened)


def provision(app: Any, accounts: Sequence[AccountSpec], clients: Sequence[ClientSpec]) -> None:
    """Create what is missing and bring clients up to date; never touches anything else.

    A person who already exists keeps their password (it may have been changed
    in the provider's pages) but is added to any missing group. Each client's
    redirect URIs, grants, secret and audience are set to ``clients``' values,
    so a restart on other ports fixes the callbacks. A machine client's service
    account is set to exactly its ``service_account_groups``: its roles are the
    platform's to give, so a role taken from it in the code is taken from it on
    an older state too (``osv-imports`` held ``staff`` before 2026-12, and would
    have kept reading every person's data beside its new ``importer``).
    """
    from canaille.app import models
    from canaille.backends import Backend

    backend = Backend.instance
    with app.app_context():
        groups: dict[str, Any] = {}

        def group(name: str) -> Any:
            if name not in groups:
                found = backend.get(models.Group, display_name=name)
                if found is None:
                    found = models.Group(display_name=name, description=f"osv-platform role {name}")
                    backend.save(found)
                groups[name] = found
            return groups[name]

        def person(user_name: str, password: str | None, group_names: Sequence[str], formatted_name: str, *, only: bool = False) -> None:
            """Create the person if missing, and add them to ``group_names``; ``only``: take them out of any other group."""
            user = backend.get(models.User, user_name=user_name)
            if user is None:
                user = models.User(
                    user_name=user_name,
                    formatted_name=formatted_name,
                    family_name=user_name,
                    emails=[f"{user_name}@osv-platform.invalid"],
                )
                backend.save(user)
                if password is not None:
                    backend.set_user_password(user, password)
            wanted = [group(name) for name in group_names]
            have = {g.display_name for g in user.groups}
            missing = [g for g in wanted if g.display_name not in have]
            kept = [g for g in user.groups if not only or g.display_name in group_names]
            if missing or len(kept) < len(user.groups):
                user.groups = kept + missing
                backend.save(user)

        for account in accounts:
            person(account.user_name, account.password, account.groups, f"Demo {account.user_name}")

        api = backend.get(models.Client, client_id=API_AUDIENCE)
        if api is None:
            api = models.Client(
                client_id=API_AUDIENCE,
                client_name="osv-platform APIs (audience of access tokens)",
                client_id_issued_at=datetime.datetime.now(datetime.UTC),
                grant_types=[],
                response_types=[],
                redirect_uris=[],
                token_endpoint_auth_method="none",
                scope=[],
            )
            backend.save(api)

        for spec in clients:
            client = backend.get(models.Client, client_id=spec.client_id)
            values = {
                "client_name": spec.name,
                "client_uri": spec.client_uri,
                "redirect_uris": list(spec.redirect_uris),
                "post_logout_redirect_uris": list(spec.post_logout_redirect_uris),
                "grant_types": list(spec.grant_types),
                "response_types": ["code"] if "authorization_code" in spec.grant_types else [],
                "token_endpoint_auth_method": spec.auth_method,
                "client_secret": spec.secret,
                "scope": list(spec.scope),
            }
            if client is None:
                client = models.Client(
                    client_id=spec.client_id, client_id_issued_at=datetime.datetime.now(datetime.UTC), **values
                )
                backend.save(client)
            else:
                backend.update(client, **values)
            client.audience = [client, api]
            backend.save(client)
            if spec.service_account_groups:
                person(
                    SERVICE_ACCOUNT_PREFIX + spec.client_id,
                    None,
                    spec.service_account_groups,
                    f"Service account of {spec.client_id}",
                    only=True,
                )


def set_client_secret(app: Any, client_id: str, secret: str) -> bool:
    """Give the registered client ``client_id`` the secret ``secret`` in the provider's database, at once.

    A running provider reads its clients afresh on every request (Canaille expires its session after each), so the
    old secret is refused from the next token request on. Returns False when no such client is registered yet (the
    provider's next start provisions it from the state).
    """
    from canaille.app import models
    from canaille.backends import Backend

    with app.app_context():
        backend = Backend.instance
        client = backend.get(models.Client, client_id=client_id)
        if client is None:
            return False
        backend.update(client, client_secret=secret)
        backend.save(client)
        return True


def remove_client(app: Any, client_id: str) -> bool:
    """Delete the registered client ``client_id`` and its service account (its roles) from the provider's database.

    A running provider reads its clients afresh on every request, so the client gets no token from the next request
    on. Returns False when no such client was registered. Tokens it was issued stay valid until they expire: the
    services check them offline.
    """
    from canaille.app import models
    from canaille.backends import Backend

    with app.app_context():
        backend = Backend.instance
        client = backend.get(models.Client, client_id=client_id)
        account = backend.get(models.User, user_name=SERVICE_ACCOUNT_PREFIX + client_id)
        if account is not None:
            backend.delete(account)
        if client is None:
            return False
        backend.delete(client)
        return True


SHUTDOWN_POLL_SECONDS = 0.05
"""How soon the provider's server notices it is asked to stop (SIGTERM, SIGINT, its launcher gone), in seconds."""


def serve(app: Any, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT, or until the parent process dies (no provider outlives its launcher).

    Werkzeug's threaded server: fine on loopback, not for production.
    """
    import signal
    import threading

    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    parent = os.getppid()
    stopped = threading.Event()

    def stop(*_: object) -> None:
        # shutdown() waits for serve_forever to return: call it from another thread.
        if not stopped.is_set():
            stopped.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    def watch_parent() -> None:
        while not stopped.wait(1.0):
            if os.getppid() != parent:
                log.warning("the process that started the identity provider is gone; stopping")
                stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    # shutdown() takes effect at serve_forever's next look at it: every 0.5 s by default, half a second of every stop
    # and restart (a key rotation restarts the provider) spent waiting. Each look is one select() on the listening socket.
    server.serve_forever(poll_interval=SHUTDOWN_POLL_SECONDS)
