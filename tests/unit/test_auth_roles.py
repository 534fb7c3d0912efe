"""Claims become the platform's roles in one table, and roles give permissions over municipalities."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.auth import (
    DEFAULT_ROLE_MAP,
    ROLE_PERMISSIONS,
    AuthSettings,
    Caller,
    MunicipalScope,
    Permission,
    roles_from_claims,
)

SJL = "150132"  # San Juan de Lurigancho
COMAS = "150110"

KEYCLOAK_MAP = {
    "osv-staff": "staff",
    "osv-lead": "lead",
    "osv-municipal-{ubigeo}": "municipal-{ubigeo}",
    "osv-partner-{ubigeo}": "partner-{ubigeo}",
    "osv-service": "service",
}


def caller(*roles: str) -> Caller:
    return Caller(subject="someone", roles=frozenset(roles))


# -- claims to roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "group", ["staff", "lead", "municipal-150132", "municipal-mml", "evaluator", "auditor", "dpo", "partner-150132", "service"]
)
def test_the_default_map_takes_each_platform_role_as_its_own_group(group: str) -> None:
    assert roles_from_claims({"groups": [group]}, DEFAULT_ROLE_MAP) == {group}


def test_values_the_map_does_not_name_are_ignored() -> None:
    claims = {"groups": ["admins", "staff", "municipal-15013", "municipal-lima", "municipal-1501322", 7]}
    assert roles_from_claims(claims, DEFAULT_ROLE_MAP) == {"staff"}


def test_a_token_without_the_roles_claim_has_no_role() -> None:
    assert roles_from_claims({"sub": "x"}, DEFAULT_ROLE_MAP) == frozenset()
    assert roles_from_claims({"groups": "staff"}, DEFAULT_ROLE_MAP) == {"staff"}  # a space-separated string is read too


def test_keycloak_realm_roles_are_mapped_through_a_dotted_claim_and_the_ubigeo_carries_over() -> None:
    claims = {"realm_access": {"roles": ["osv-municipal-150132", "osv-partner-mml", "offline_access", "staff"]}}
    assert roles_from_claims(claims, KEYCLOAK_MAP, "realm_access.roles") == {"municipal-150132", "partner-mml"}


def test_a_map_to_something_that_is_not_a_platform_role_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="not a platform role"):
        AuthSettings(role_map={"admins": "admin"})
    with pytest.raises(ValidationError, match="needs \\{ubigeo\\}"):
        AuthSettings(role_map={"focal-point": "municipal-{ubigeo}"})
    assert AuthSettings(role_map=KEYCLOAK_MAP).role_map == KEYCLOAK_MAP


# -- roles to permissions and municipalities ---------------------------------------------------------


def test_every_role_of_the_design_has_its_row_in_the_permission_table() -> None:
    assert set(ROLE_PERMISSIONS) == {"staff", "lead", "municipal", "evaluator", "auditor", "dpo", "partner", "service", "importer"}


def test_lead_may_do_what_staff_may_and_decide_rounds_and_phases() -> None:
    staff, lead = caller("staff"), caller("lead")
    assert staff.permissions < lead.permissions
    assert lead.may(Permission.ROUNDS_DECIDE) and lead.may(Permission.PHASES_MANAGE)
    assert not staff.may(Permission.ROUNDS_DECIDE)


def test_only_staff_and_lead_read_plain_personal_data() -> None:
    roles = ["staff", "lead", f"municipal-{SJL}", "municipal-mml", "evaluator", "auditor", "dpo", f"partner-{SJL}", "service", "importer"]
    assert {role for role in roles if caller(role).may_read_personal_data} == {"staff", "lead"}


def test_a_focal_point_reads_and_records_for_its_own_municipality_only() -> None:
    focal_point = caller(f"municipal-{SJL}")
    assert focal_point.covers(Permission.PROGRAMME_READ, SJL)
    assert focal_point.covers(Permission.RUOS_RECORD, SJL)
    assert not focal_point.covers(Permission.PROGRAMME_READ, COMAS)
    assert not focal_point.covers(Permission.PROGRAMME_READ, None)
    assert not focal_point.may(Permission.PROGRAMME_WRITE)
    assert not focal_point.may_read_personal_data


def test_mml_covers_all_of_lima() -> None:
    mml = caller("municipal-mml")
    assert mml.covers(Permission.PROGRAMME_READ, COMAS) and mml.covers(Permission.PROGRAMME_READ, SJL)
    assert mml.scope(Permission.INDICATORS_READ) == MunicipalScope(all_of_lima=True)


def test_a_focal_point_who_also_evaluates_still_reads_only_its_municipality() -> None:
    both = caller(f"municipal-{SJL}", "evaluator")
    assert not both.covers(Permission.PROGRAMME_READ, COMAS)
    assert both.covers(Permission.PROPOSALS_SCORE, COMAS)


def test_two_focal_point_roles_add_up() -> None:
    both = caller(f"municipal-{SJL}", f"municipal-{COMAS}")
    assert both.scope(Permission.PROGRAMME_READ) == MunicipalScope(ubigeos=frozenset({SJL, COMAS}))


def test_a_partner_reads_its_municipalitys_events_and_nothing_else() -> None:
    partner = Caller(subject=f"partner-{SJL}", client_id=f"partner-{SJL}", roles=frozenset({f"partner-{SJL}"}))
    assert partner.permissions == {Permission.EVENTS_READ}
    assert partner.covers(Permission.EVENTS_READ, SJL) and not partner.covers(Permission.EVENTS_READ, COMAS)
    assert partner.is_machine
    assert not caller("staff").is_machine and not caller(f"municipal-{SJL}").is_machine


def test_the_kobo_webhooks_client_records_and_reads_nobodys_data() -> None:
    """``osv-imports`` held ``staff``: a leaked webhook secret read every person's plain data (tester 192 F5); then
    ``programme:write``, every command (helper 195: dissolve, merge, grant). It records what a form sends, alone."""
    webhook = Caller(subject="osv-imports", client_id="osv-imports", roles=frozenset({"importer"}))
    assert webhook.permissions == {Permission.SUBMISSIONS_RECORD}
    assert webhook.covers(Permission.SUBMISSIONS_RECORD, COMAS) and not webhook.may(Permission.PROGRAMME_WRITE)
    assert not webhook.may_read_personal_data and not webhook.may_read_staff_text
    assert webhook.is_machine
    assert roles_from_claims({"groups": ["importer"]}, DEFAULT_ROLE_MAP) == {"importer"}


def test_a_caller_without_roles_may_do_nothing() -> None:
    nobody = caller()
    assert nobody.permissions == frozenset()
    assert not nobody.covers(Permission.PROGRAMME_READ, SJL)
    assert nobody.scope(Permission.PROGRAMME_READ).is_empty
