"""Who is calling: OpenID Connect bearer tokens, validated, and mapped to the platform's roles.

Every API but ``/health`` takes an access token from the programme's OpenID
Connect provider (the embedded Canaille of ``make run``, or Keycloak or any
other provider in production, named by its issuer URL).

* :class:`~shared.tokens.TokenValidator` (re-exported here) checks a token's
  signature against the provider's keys and its claims, and remembers a token
  checked against the key set in use: a client sending the same token again
  costs a look-up and the check of its times, not a signature.
* :func:`roles_from_claims` is the one place where the provider's claim values
  become the platform's roles (:data:`DEFAULT_ROLE_MAP`, ``role_map`` setting).
* :data:`ROLE_PERMISSIONS` is the one table of what each role may do; a
  :class:`Caller` knows its permissions and, for each, the municipalities
  (ubigeos, or all of Lima) it covers.
* FastAPI: :func:`install_auth` (once per app), :data:`CallerDep` (any valid
  token) and :func:`requires` (a permission; 403 without it). A missing or bad
  token answers 401 problem+json with ``WWW-Authenticate: Bearer``; the
  provider out of reach with no keys cached answers 503.
* :class:`ServiceCredentials` (an ``httpx.Auth``) gives a service's own
  requests (the ``GET /events`` feeds of the others) a client-credentials token.

Routes answer 404, not 403, for an object outside the caller's municipalities
(``caller.covers(permission, ubigeo)``): that is the route's check, not this
module's.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2AuthorizationCodeBearer
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.actors import acting_as_caller
from shared.guards import PROBLEM_JSON
from shared.roles import (
    ALL_LIMA,
    DEFAULT_ROLE_MAP,
    NOWHERE,
    ROLE_PATTERN,
    ROLE_PERMISSIONS,
    Caller,
    MunicipalScope,
    Permission,
    RecordingScope,
    holders_of,
    role_kind,
    role_ubigeo,
    roles_from_claims,
)
from shared.tokens import InvalidTokenError, ProviderUnavailableError, TokenValidator

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = [  # the roles' names are re-exported from shared.roles
    "DEFAULT_ROLE_MAP",
    "ROLE_PERMISSIONS",
    "AuthError",
    "AuthSettings",
    "Caller",
    "CallerDep",
    "InvalidTokenError",
    "MunicipalScope",
    "NotAuthenticated",
    "Permission",
    "PermissionDenied",
    "ProviderUnavailableError",
    "RecordingScope",
    "ServiceCredentials",
    "TokenValidator",
    "bearer_scheme",
    "current_caller",
    "install_auth",
    "oidc_scheme",
    "recording",
    "requires",
    "role_kind",
    "role_ubigeo",
    "roles_from_claims",
    "subject_of_request",
    "swagger_ui_oauth",
    "within",
]

REALM = "osv-platform"

# -- roles and permissions: shared.roles, re-exported here --------------------------------------------


# -- settings ----------------------------------------------------------------------------------------


class AuthSettings(BaseSettings):
    """How the services check tokens (environment prefix ``OSV_AUTH_``, the same for every service)."""

    model_config = SettingsConfigDict(env_prefix="OSV_AUTH_", extra="ignore")

    issuer: str = Field(
        default="http://127.0.0.1:8005",
        description=(
            "The OpenID Connect provider's issuer URL: tokens must carry it as `iss`, and its keys are found through "
            "`<issuer>/.well-known/openid-configuration`. Default: the embedded provider of `make run`."
        ),
    )
    audience: str = Field(default="osv-api", description="The value every token's `aud` must contain.")
    token_types: list[str] = Field(
        default=["at+jwt", "application/at+jwt"],
        description=(
            "Accepted JWT `typ` headers. RFC 9068 access tokens say `at+jwt`; Keycloak's say `JWT` (add it, and "
            "keep `osv-api` out of its ID tokens' audience)."
        ),
    )
    algorithms: list[str] = Field(
        default=["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"],
        description="Accepted signature algorithms (asymmetric only: a shared-secret HS256 token is refused).",
    )
    leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on `exp`, `nbf` and `iat`.")
    jwks_cache_seconds: float = Field(
        default=300.0, gt=0, description="How long the provider's discovery document and keys are used before fetching them again."
    )
    jwks_refetch_min_seconds: float = Field(
        default=10.0,
        ge=0,
        description=(
            "A token signed with a key not in the cache makes the keys be fetched again (key rotation), "
            "at most once per this many seconds; unknown keys in between are refused."
        ),
    )
    http_timeout_seconds: float = Field(default=5.0, gt=0, description="Timeout of requests to the provider.")
    verified_tokens_cached: int = Field(
        default=4096,
        ge=0,
        description=(
            "How many tokens whose signature was checked are remembered, so that the next request with the same token "
            "skips the signature (its expiry and times are still checked each time). An entry holds only while the key "
            "set it was checked against is the one in use: keys fetched again (stale, rotated, a key withdrawn) check "
            "every token afresh. 0: check every signature."
        ),
    )
    roles_claim: str = Field(
        default="groups",
        description="Dotted path of the claim holding the caller's roles: `groups` (Canaille), `realm_access.roles` (Keycloak).",
    )
    role_map: dict[str, str] = Field(
        default=dict(DEFAULT_ROLE_MAP),
        description=(
            "JSON object: claim value -> platform role; `{ubigeo}` matches a district code or `mml` on both sides, "
            'e.g. `{"osv-staff": "staff", "osv-municipal-{ubigeo}": "municipal-{ubigeo}"}`. Values not named are ignored.'
        ),
    )
    authorization_url: str | None = Field(
        default=None,
        description="Authorization endpoint shown in the OpenAPI documents (Swagger UI's Authorize). Unset: `<issuer>/oauth/authorize` (Canaille).",
    )
    token_url: str | None = Field(
        default=None, description="Token endpoint shown in the OpenAPI documents. Unset: `<issuer>/oauth/token` (Canaille)."
    )
    docs_client: str = Field(
        default="osv-docs-{service}",
        description="The public client (PKCE) each API's Swagger UI signs in with; `{service}` is the service's name.",
    )
    dashboard_client_id: str = Field(default="osv-dashboard", description="The public client (PKCE) the dashboard signs people in with.")
    service_client_id: str = Field(default="osv-services", description="The services' own client (client credentials), to read each other's feeds.")
    service_client_secret: SecretStr | None = Field(default=None, description="Its secret; `make run` passes the embedded provider's.")

    @field_validator("role_map")
    @classmethod
    def _roles_are_platform_roles(cls, role_map: dict[str, str]) -> dict[str, str]:
        for claim_value, role in role_map.items():
            example = role.replace("{ubigeo}", "150132")
            if not ROLE_PATTERN.match(example):
                msg = f"role_map[{claim_value!r}] = {role!r} is not a platform role ({ROLE_PATTERN.pattern})"
                raise ValueError(msg)
            if "{ubigeo}" in role and "{ubigeo}" not in claim_value:
                msg = f"role_map[{claim_value!r}] = {role!r} needs {{ubigeo}} in the claim value too"
                raise ValueError(msg)
        return role_map

    @property
    def issuer_url(self) -> str:
        return self.issuer.rstrip("/")

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer_url}/.well-known/openid-configuration"

    @property
    def openapi_authorization_url(self) -> str:
        return self.authorization_url or f"{self.issuer_url}/oauth/authorize"

    @property
    def openapi_token_url(self) -> str:
        return self.token_url or f"{self.issuer_url}/oauth/token"

    def docs_client_id(self, service: str) -> str:
        """The client Swagger UI of ``service`` signs in with (``osv-docs-registry``...)."""
        return self.docs_client.replace("{service}", service)


# -- token validation --------------------------------------------------------------------------------


# -- FastAPI -----------------------------------------------------------------------------------------


class AuthError(StarletteHTTPException):
    """An answer of the auth layer (401, 403, 503) as problem+json, with its headers."""

    title = "Unauthorized"

    def __init__(self, status_code: int, detail: str, headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=dict(headers or {}))
        self.extra = extra

    def problem(self) -> JSONResponse:
        body = {"type": "about:blank", "title": self.title, "status": self.status_code, "detail": self.detail, **self.extra}
        return JSONResponse(body, status_code=self.status_code, media_type=PROBLEM_JSON, headers=self.headers)


class NotAuthenticated(AuthError):
    """401: no token, or one the platform does not accept (RFC 6750 ``WWW-Authenticate: Bearer``)."""

    title = "Unauthorized"

    def __init__(self, reason: str | None = None) -> None:
        if reason is None:
            challenge = f'Bearer realm="{REALM}"'
            detail = "This API needs an access token from the programme's identity provider: Authorization: Bearer <token>."
        else:
            quoted = reason.replace("\\", "\\\\").replace('"', "'")
            challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{quoted}"'
            detail = f"The access token was refused: {reason}."
        super().__init__(401, detail, {"WWW-Authenticate": challenge})


class PermissionDenied(AuthError):
    """403: a valid token whose roles lack the permission the route requires; names the permission."""

    title = "Forbidden"

    def __init__(self, permission: Permission) -> None:
        roles = ", ".join(holders_of(permission))
        detail = f"This needs the permission {permission.value!r} (roles: {roles}), which your roles do not give."
        challenge = f'Bearer realm="{REALM}", error="insufficient_scope", error_description="needs {permission.value}"'
        super().__init__(403, detail, {"WWW-Authenticate": challenge}, permission=permission.value)


class ProviderUnavailable(AuthError):
    """503: tokens cannot be checked now (the provider is out of reach and no keys are cached)."""

    title = "Service Unavailable"

    def __init__(self) -> None:
        super().__init__(503, "The identity provider cannot be reached to check the access token; try again shortly.", {"Retry-After": "5"})


oidc_scheme = OAuth2AuthorizationCodeBearer(
    # Placeholders: install_auth() writes the provider's endpoints into the OpenAPI document.
    authorizationUrl="/oauth/authorize",
    tokenUrl="/oauth/token",
    scheme_name="oidc",
    scopes={"openid": "sign in", "profile": "your name", "groups": "your roles"},
    description="Sign in at the programme's OpenID Connect provider (authorization code with PKCE).",
    auto_error=False,
)
bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="An access token from the programme's identity provider (`make token USER=<name>` locally).",
    auto_error=False,
)


async def current_caller(
    request: Request,
    _signed_in: Annotated[str | None, Security(oidc_scheme)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Caller:
    """The caller of this request, from its bearer token; 401 without a valid one, 503 if keys can't be had.

    A token checked before against the keys in use is answered on the event
    loop (:meth:`TokenValidator.known_caller`); any other is checked in the
    thread pool, since fetching the provider's keys blocks. The caller is
    then the actor of every command the request makes (:mod:`shared.actors`).
    """
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated()
    validator: TokenValidator = request.app.state.token_validator
    token = credentials.credentials
    try:
        known = validator.known_caller(token)
        caller = known if known is not None else await run_in_threadpool(validator.caller, token)
    except InvalidTokenError as error:
        raise NotAuthenticated(error.reason) from None
    except ProviderUnavailableError:
        log.error("cannot check a token: identity provider unreachable", exc_info=True)
        raise ProviderUnavailable() from None
    acting_as_caller(caller)  # the actor of whatever the request's commands save (:mod:`shared.actors`)
    return caller


def subject_of_request(validator: TokenValidator, headers: list[tuple[bytes, bytes]], wanted: Sequence[Permission] = ()) -> str | None:
    """The subject of a request's valid bearer token (ASGI headers) if it holds every one of ``wanted``, else None;
    for middleware. Blocks."""
    token = _bearer_token(headers)
    if token is None:
        return None
    try:
        caller = validator.caller(token)
    except (InvalidTokenError, ProviderUnavailableError):
        return None
    return caller.subject if all(caller.may(p) for p in wanted) else None


def reach_of_request(validator: TokenValidator, headers: list[tuple[bytes, bytes]], wanted: Sequence[Permission] = ()) -> MunicipalScope:
    """The municipalities a request's caller reaches with every one of ``wanted`` (the route's permissions, see
    :class:`RoutePermissions`): all of Lima for a route asking for none, nowhere without a valid token; for middleware
    that must not answer about a record outside them (the route answers 404 for it). Blocks."""
    token = _bearer_token(headers)
    if token is None:
        return NOWHERE
    try:
        caller = validator.caller(token)
    except (InvalidTokenError, ProviderUnavailableError):
        return NOWHERE
    reach = ALL_LIMA
    for permission in wanted:
        reach = reach & caller.scope(permission)
    return reach


def known_subject_of_request(
    validator: TokenValidator, headers: list[tuple[bytes, bytes]], wanted: Sequence[Permission] = ()
) -> str | None | bool:
    """:func:`subject_of_request` when it needs no I/O: the subject, None (no valid token, or one without ``wanted``),
    or False (ask :func:`subject_of_request`)."""
    token = _bearer_token(headers)
    if token is None:
        return None
    try:
        known = validator.known_caller(token)
    except InvalidTokenError:
        return None
    if known is None:
        return False
    return known.subject if all(known.may(p) for p in wanted) else None


class RoutePermissions:
    """The permissions the route serving a request requires (:func:`requires`, :func:`within`), by its method and
    path, for middleware that runs before the route: () when no route matches or the route asks for none.

    The routes are read at the first request (every router is included by then) and kept.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._routes: list[tuple[Any, frozenset[str], tuple[Permission, ...]]] | None = None

    def __call__(self, scope: Mapping[str, Any]) -> tuple[Permission, ...]:
        if self._routes is None:
            self._routes = [
                (route.path_regex, frozenset(route.methods or ()), tuple(_route_permissions(route.dependant)))
                for route in _api_routes(self.app)
                if getattr(route, "dependant", None) is not None and getattr(route, "path_regex", None) is not None
            ]
        for path, methods, permissions in self._routes:
            if scope["method"] in methods and path.match(scope["path"]):
                return permissions
        return ()


def _bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    authorization = next((v.decode("latin-1") for k, v in headers if k == b"authorization"), "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


#: Any caller with a valid token (use :func:`requires` to ask for a permission).
CallerDep = Annotated[Caller, Depends(current_caller)]


def requires(*permissions: Permission) -> Callable[[Caller], Caller]:
    """A dependency giving the :class:`Caller` if it holds every one of ``permissions`` (403 otherwise).

    ``caller: Annotated[Caller, Depends(requires(Permission.PROGRAMME_WRITE))]``,
    or ``dependencies=[Depends(requires(...))]`` on a route or router. The
    permissions show in the route's OpenAPI operation (``x-permissions``).
    """

    async def dependency(caller: CallerDep) -> Caller:  # no I/O: answered on the event loop, no thread
        for permission in permissions:
            if not caller.may(permission):
                raise PermissionDenied(permission)
        return caller

    dependency.__name__ = "requires_" + "_".join(p.name.lower() for p in permissions)
    dependency.osv_permissions = permissions  # type: ignore[attr-defined]
    return dependency


def within(permission: Permission) -> Callable[[Caller], MunicipalScope]:
    """A dependency giving the municipalities ``permission`` reaches for the caller (403 without it).

    ``scope: Annotated[MunicipalScope, Depends(within(Permission.PROGRAMME_READ))]``:
    the route hands it to the application, which answers 404 for an object
    outside it and leaves such objects out of lists.
    """
    return _permitted(permission, "within", lambda caller: caller.scope(permission))


def recording(permission: Permission) -> Callable[[Caller], RecordingScope]:
    """A dependency giving what ``permission`` lets the caller record, and for which municipalities (403 without it).

    ``recorder: Annotated[RecordingScope, Depends(recording(Permission.RUOS_RECORD))]``: the application answers 404 for an
    object outside ``reaches``, as :func:`within`, and 403 naming the municipality for a decision of one outside ``acts_for``.
    """
    return _permitted(permission, "recording", lambda caller: caller.recording(permission))


def _permitted(permission: Permission, name: str, answer: Callable[[Caller], T]) -> Callable[[Caller], T]:
    """A route's dependency: 403 without ``permission``, else ``answer`` for the caller (no I/O: on the event loop, no thread)."""
    async def dependency(caller: CallerDep) -> T:
        if not caller.may(permission):
            raise PermissionDenied(permission)
        return answer(caller)

    dependency.__name__ = f"{name}_{permission.name.lower()}"
    dependency.osv_permissions = (permission,)  # type: ignore[attr-defined]
    return dependency


def _route_permissions(dependant: Any) -> list[Permission]:
    found: list[Permission] = []
    for dep in dependant.dependencies:
        found += list(getattr(dep.call, "osv_permissions", ()))
        found += _route_permissions(dep)
    return list(dict.fromkeys(found))


def _uses_caller(dependant: Any) -> bool:
    return any(dep.call is current_caller or _uses_caller(dep) for dep in dependant.dependencies)


def install_auth(app: FastAPI, settings: AuthSettings, validator: TokenValidator | None = None) -> TokenValidator:
    """Make ``app`` check tokens: the validator, the 401/403/503 answers and the OpenAPI description.

    Call once when the app is built (no I/O happens here). The OpenAPI
    document then names the provider's endpoints in the ``oidc`` scheme, and
    each secured operation lists its permissions (``x-permissions``), the roles
    that hold them, and its 401/403 answers.
    """
    validator = validator or TokenValidator(settings)
    app.state.token_validator = validator

    async def auth_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        return exc.problem()

    app.add_exception_handler(AuthError, auth_error)

    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = build_openapi()
        _describe_security(app, document, settings)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    return validator


def _api_routes(app: FastAPI) -> list[Any]:
    """Every route of ``app`` as it is served, those of included routers too (with their prefixes and dependencies)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily: app.routes holds them all
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def _describe_security(app: FastAPI, document: dict[str, Any], settings: AuthSettings) -> None:
    schemes = document.get("components", {}).get("securitySchemes", {})
    flow = schemes.get("oidc", {}).get("flows", {}).get("authorizationCode")
    if flow is not None:
        flow["authorizationUrl"] = settings.openapi_authorization_url
        flow["tokenUrl"] = settings.openapi_token_url
    problem = {"content": {PROBLEM_JSON: {"schema": {"type": "object"}}}}
    for route in _api_routes(app):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not _uses_caller(dependant):
            continue
        permissions = _route_permissions(dependant)
        for method in getattr(route, "methods", ()):
            operation = document.get("paths", {}).get(route.path_format, {}).get(method.lower())  # type: ignore[attr-defined]
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "No access token, or one that was refused.", **problem})
            if permissions:
                roles = holders_of(*permissions)
                operation["x-permissions"] = [p.value for p in permissions]
                operation["x-roles"] = roles
                needs = ", ".join(f"`{p.value}`" for p in permissions)
                note = f"Requires {needs} (roles: {', '.join(roles) or 'none'})."
                operation["description"] = (operation.get("description", "") + "\n\n" + note).strip()
                responses.setdefault("403", {"description": f"The caller's roles lack {needs}.", **problem})


def swagger_ui_oauth(client_id: str) -> dict[str, Any]:
    """``FastAPI(swagger_ui_init_oauth=...)`` for Swagger UI's Authorize button (public client, PKCE)."""
    return {"clientId": client_id, "usePkceWithAuthorizationCodeGrant": True, "scopes": "openid profile groups"}


# -- the services' own token -------------------------------------------------------------------------


class ServiceCredentials(httpx.Auth):
    """``httpx.Auth`` for a service's own requests: a client-credentials token, fetched and renewed as needed.

    Works with ``httpx.Client`` and ``httpx.AsyncClient`` alike: the discovery
    and token requests go through the client that sends the request. A token
    is reused until a minute before it expires; a 401 fetches a new one and
    retries once.
    """

    requires_response_body = True

    def __init__(self, settings: AuthSettings, *, clock: Callable[[], float] = time.time) -> None:
        if settings.service_client_secret is None:
            msg = "OSV_AUTH_SERVICE_CLIENT_SECRET is not set: the service cannot get a token of its own"
            raise ValueError(msg)
        self._settings = settings
        self._clock = clock
        self._token_endpoint: str | None = None
        self._token: str | None = None
        self._expires_at = 0.0

    def _token_request(self) -> httpx.Request:
        assert self._token_endpoint is not None
        secret = self._settings.service_client_secret
        assert secret is not None
        # RFC 6749, 2.3.1: HTTP Basic with the form-urlencoded id and secret.
        pair = f"{quote(self._settings.service_client_id, safe='')}:{quote(secret.get_secret_value(), safe='')}"
        basic = base64.b64encode(pair.encode()).decode()
        return httpx.Request(
            "POST",
            self._token_endpoint,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )

    def _renew(self) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token_endpoint is None:
            response = yield httpx.Request("GET", self._settings.discovery_url)
            response.raise_for_status()
            self._token_endpoint = response.json()["token_endpoint"]
        response = yield self._token_request()
        response.raise_for_status()
        body = response.json()
        self._token = body["access_token"]
        self._expires_at = self._clock() + float(body.get("expires_in", 300)) - 60

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None or self._clock() >= self._expires_at:
            yield from self._renew()
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            yield from self._renew()
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

