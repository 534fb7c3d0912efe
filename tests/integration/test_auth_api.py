"""What a service answers once ``shared.auth`` guards it: 401, 403 naming the permission, 404 out of scope, 503.

A small FastAPI app stands in for a service (the real routes are wired
elsewhere); the tokens are the real provider's. The app also carries the
services' own error handlers, so the auth answers are shown to survive them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from devtools.embedded import free_port
from devtools.identity import IdentityProvider
from shared.auth import (
    AuthSettings,
    Caller,
    CallerDep,
    Permission,
    ServiceCredentials,
    TokenValidator,
    install_auth,
    requires,
    swagger_ui_oauth,
)
from shared.errors import NotFoundError
from shared.guards import PROBLEM_JSON
from shared.problems import install_error_handlers
from tests.support.identity import IssuedTokens, unverified_claims
from tests.support.served import ServedApp

pytestmark = pytest.mark.timeout(180)

SJL, COMAS = "150132", "150110"

ReaderDep = Annotated[Caller, Depends(requires(Permission.PROGRAMME_READ))]


def a_service(settings: AuthSettings, validator: TokenValidator | None = None) -> FastAPI:
    app = FastAPI(title="a service", swagger_ui_init_oauth=swagger_ui_oauth("osv-docs-registry"))
    install_error_handlers(app)
    install_auth(app, settings, validator)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Open to anyone."""
        return {"status": "ok"}

    @app.get("/whoami")
    def whoami(caller: CallerDep) -> dict[str, Any]:
        """Any signed-in caller."""
        return {"subject": caller.subject, "roles": sorted(caller.roles), "client_id": caller.client_id}

    @app.get("/municipalities/{ubigeo}/osvs")
    def osvs(ubigeo: str, caller: ReaderDep) -> dict[str, str]:
        """An object with a municipality: out of the caller's scope it does not exist."""
        if not caller.covers(Permission.PROGRAMME_READ, ubigeo):
            raise NotFoundError(f"no municipality {ubigeo}")
        return {"ubigeo": ubigeo}

    @app.post("/rounds/{round_id}/decision", dependencies=[Depends(requires(Permission.ROUNDS_DECIDE))])
    def decide(round_id: str) -> dict[str, str]:
        """Only a lead decides."""
        return {"round": round_id}

    @app.get("/events")
    def events(caller: Annotated[Caller, Depends(requires(Permission.EVENTS_READ))]) -> dict[str, Any]:
        """The feed: auditors, partners and the services themselves."""
        return {"subject": caller.subject, "roles": sorted(caller.roles)}

    return app


@pytest.fixture
def client(auth_settings: AuthSettings) -> Iterator[TestClient]:
    with TestClient(a_service(auth_settings)) as client:
        yield client


def is_problem(response: httpx.Response, status: int) -> bool:
    return response.status_code == status and response.headers["content-type"].startswith(PROBLEM_JSON)


# -- 401 ----------------------------------------------------------------------------------------------


def test_health_stays_open(client: TestClient) -> None:
    assert client.get("/health").status_code == 200


def test_no_token_answers_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/whoami")
    assert is_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="osv-platform"'
    assert "Authorization: Bearer" in response.json()["detail"]


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Bearer ", "Basic c3RhZmY6c3RhZmY="])
def test_a_bad_or_non_bearer_token_answers_401(client: TestClient, authorization: str) -> None:
    response = client.get("/whoami", headers={"Authorization": authorization})
    assert is_problem(response, 401)
    assert response.headers["www-authenticate"].startswith('Bearer realm="osv-platform"')


def test_a_refused_token_says_why_in_the_challenge(client: TestClient, tokens: IssuedTokens) -> None:
    response = client.get("/whoami", headers={"Authorization": f"Bearer {tokens['staff']}x"})
    assert is_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


# -- 200, 403, 404 --------------------------------------------------------------------------------------


def test_a_valid_token_reaches_the_route_as_its_caller(client: TestClient, tokens: IssuedTokens) -> None:
    response = client.get("/whoami", headers=tokens.headers("municipal-150132"))
    assert response.status_code == 200
    assert response.json() == {"subject": "municipal-150132", "roles": ["municipal-150132"], "client_id": "osv-cli"}


def test_a_missing_permission_answers_403_naming_it(client: TestClient, tokens: IssuedTokens) -> None:
    response = client.post("/rounds/r1/decision", headers=tokens.headers("staff"))
    assert is_problem(response, 403)
    assert response.json()["permission"] == "rounds:decide"
    assert "'rounds:decide'" in response.json()["detail"]
    assert client.post("/rounds/r1/decision", headers=tokens.headers("lead")).status_code == 200


def test_a_focal_point_sees_its_municipality_and_gets_404_for_another(client: TestClient, tokens: IssuedTokens) -> None:
    headers = tokens.headers("municipal-150132")
    assert client.get(f"/municipalities/{SJL}/osvs", headers=headers).status_code == 200
    assert is_problem(client.get(f"/municipalities/{COMAS}/osvs", headers=headers), 404)
    assert client.get(f"/municipalities/{COMAS}/osvs", headers=tokens.headers("auditor")).status_code == 200


@pytest.mark.parametrize(
    ("name", "status"),
    [("auditor", 200), ("partner-150132", 200), ("osv-services", 200), ("staff", 403), ("dpo", 403), ("evaluator", 403)],
)
def test_the_feed_is_for_auditors_partners_and_services(client: TestClient, tokens: IssuedTokens, name: str, status: int) -> None:
    assert client.get("/events", headers=tokens.headers(name)).status_code == status


# -- 503 ----------------------------------------------------------------------------------------------


def test_a_provider_out_of_reach_answers_503_not_500(tokens: IssuedTokens, auth_settings: AuthSettings) -> None:
    nowhere = AuthSettings(issuer=f"http://127.0.0.1:{free_port()}", http_timeout_seconds=2)
    with TestClient(a_service(nowhere)) as client:
        response = client.get("/whoami", headers=tokens.headers("staff"))
    assert is_problem(response, 503)
    assert response.headers["retry-after"]


# -- OpenAPI and Swagger UI ---------------------------------------------------------------------------


def test_the_openapi_document_names_the_providers_endpoints_and_each_routes_permissions(
    client: TestClient, identity_provider: IdentityProvider
) -> None:
    discovery = httpx.get(identity_provider.discovery_url).json()
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    flow = schemes["oidc"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == discovery["authorization_endpoint"]
    assert flow["tokenUrl"] == discovery["token_endpoint"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": schemes["bearer"]["description"]}

    decide = document["paths"]["/rounds/{round_id}/decision"]["post"]
    assert decide["x-permissions"] == ["rounds:decide"]
    assert decide["x-roles"] == ["lead"]
    assert {"oidc": []} in decide["security"] and {"bearer": []} in decide["security"]
    assert {"401", "403"} <= set(decide["responses"])
    assert "Requires `rounds:decide` (roles: lead)." in decide["description"]

    whoami = document["paths"]["/whoami"]["get"]
    assert "401" in whoami["responses"] and "x-permissions" not in whoami
    assert "security" not in document["paths"]["/health"]["get"]


def test_swagger_ui_signs_in_with_pkce_as_its_own_client(client: TestClient) -> None:
    page = client.get("/docs").text
    assert '"usePkceWithAuthorizationCodeGrant": true' in page
    assert '"clientId": "osv-docs-registry"' in page


# -- the services' own token --------------------------------------------------------------------------


@pytest.fixture
def served(auth_settings: AuthSettings) -> Iterator[ServedApp]:
    app = ServedApp(a_service(auth_settings), free_port()).start()
    yield app
    app.stop()


def test_a_service_reads_anothers_feed_with_a_client_credentials_token(
    served: ServedApp, identity_provider: IdentityProvider, auth_settings: AuthSettings
) -> None:
    settings = AuthSettings(issuer=auth_settings.issuer, service_client_secret=identity_provider.client_secret("osv-services"))
    credentials = ServiceCredentials(settings)
    with httpx.Client(auth=credentials, base_url=served.url) as http:
        first = http.get("/events")
        token = credentials._token
        second = http.get("/events")
    assert first.status_code == second.status_code == 200
    assert first.json() == {"subject": "osv-services", "roles": ["service"]}
    assert credentials._token == token  # reused, not fetched per request

    async def read_async() -> httpx.Response:
        async with httpx.AsyncClient(auth=ServiceCredentials(settings), base_url=served.url) as http:
            return await http.get("/events")

    assert asyncio.run(read_async()).json()["roles"] == ["service"]


def test_service_credentials_need_the_services_secret(auth_settings: AuthSettings) -> None:
    with pytest.raises(ValueError, match="OSV_AUTH_SERVICE_CLIENT_SECRET"):
        ServiceCredentials(AuthSettings(issuer=auth_settings.issuer))


# -- tokens checked before ------------------------------------------------------------------------------


class FakeClock:
    """Seconds since the epoch that move only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_token_sent_again_is_not_verified_again_yet_is_refused_401_once_it_expires(
    tokens: IssuedTokens, auth_settings: AuthSettings
) -> None:
    token = tokens["staff"]
    expiry = unverified_claims(token)["exp"]
    clock = FakeClock(expiry - 60)
    validator = TokenValidator(auth_settings, clock=clock)
    with TestClient(a_service(auth_settings, validator)) as client:
        for _ in range(3):
            assert client.get("/whoami", headers={"Authorization": f"Bearer {token}"}).json()["subject"] == "staff"
        assert validator.signatures_checked == 1  # remembered: the next requests skipped the signature

        # The token outlives its expiry and the leeway: remembered or not, it is refused, on every route.
        clock.now = expiry + auth_settings.leeway_seconds + 1
        for path in ("/whoami", "/municipalities/150132/osvs"):
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert is_problem(response, 401)
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
            assert "expired" in response.json()["detail"]
