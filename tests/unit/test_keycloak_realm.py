"""The Keycloak realm in deploy/keycloak gives, through its documented settings, exactly the platform's roles."""

from __future__ import annotations

import json
from pathlib import Path

from shared.auth import ROLE_PERMISSIONS, AuthSettings, role_kind, roles_from_claims

KEYCLOAK = Path(__file__).resolve().parents[2] / "deploy" / "keycloak"
REALM = json.loads((KEYCLOAK / "osv-realm.json").read_text())
SETTINGS = AuthSettings(_env_file=KEYCLOAK / "osv-auth.env")  # type: ignore[call-arg]


def test_the_documented_settings_read_keycloaks_roles_claim_and_access_tokens() -> None:
    assert SETTINGS.issuer.endswith("/realms/osv")
    assert SETTINGS.roles_claim == "roles"
    assert "JWT" in SETTINGS.token_types


def test_every_realm_role_maps_to_a_platform_role_and_every_kind_of_role_is_there() -> None:
    realm_roles = [role["name"] for role in REALM["roles"]["realm"]]
    mapped = {name: roles_from_claims({"roles": [name]}, SETTINGS.role_map, SETTINGS.roles_claim) for name in realm_roles}
    assert all(len(roles) == 1 for roles in mapped.values()), mapped
    assert {role_kind(next(iter(roles))) for roles in mapped.values()} == set(ROLE_PERMISSIONS)
    assert mapped["osv-municipal-150132"] == {"municipal-150132"}
    assert mapped["osv-partner-150132"] == {"partner-150132"}
    assert mapped["osv-importer"] == {"importer"}


def test_every_client_puts_the_api_audience_and_the_roles_in_access_tokens_only() -> None:
    for client in REALM["clients"]:
        mappers = {m["protocolMapper"]: m["config"] for m in client["protocolMappers"]}
        audience = mappers["oidc-audience-mapper"]
        assert audience["included.custom.audience"] == SETTINGS.audience
        assert (audience["access.token.claim"], audience["id.token.claim"]) == ("true", "false"), client["clientId"]
        assert mappers["oidc-usermodel-realm-role-mapper"]["claim.name"] == SETTINGS.roles_claim


def test_people_sign_in_with_pkce_and_machines_only_with_client_credentials() -> None:
    for client in REALM["clients"]:
        if client["publicClient"]:
            assert client["attributes"]["pkce.code.challenge.method"] == "S256", client["clientId"]
            assert not client["directAccessGrantsEnabled"] and not client["implicitFlowEnabled"]
        else:
            assert client["serviceAccountsEnabled"] and not client["standardFlowEnabled"], client["clientId"]
    service_accounts = {user["serviceAccountClientId"]: user["realmRoles"] for user in REALM["users"]}
    assert service_accounts == {
        "osv-services": ["osv-service"],
        "partner-150132": ["osv-partner-150132"],
        "osv-imports": ["osv-importer"],  # the Kobo webhook records submissions and reads nobody's data (tester 192 F5)
    }


def test_the_realms_sign_in_session_ends_after_a_quarter_hour_idle_or_a_working_day_and_is_never_remembered() -> None:
    """While Keycloak's own session lasts, a browser sent to sign in is signed straight back in as whoever signed in last:
    on a municipal office's shared computer, the next official as the last (tester 286 F6). Keycloak's defaults are 30
    minutes idle and 10 hours; the realm says its own, shorter, and offers no "remember me" that would outlast them."""
    assert REALM["ssoSessionIdleTimeout"] == 15 * 60
    assert REALM["ssoSessionMaxLifespan"] <= 8 * 3600
    assert REALM["rememberMe"] is False
