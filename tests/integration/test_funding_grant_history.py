"""A grant's stored history for auditors (``GET /grants/{id}/history``), as registry's for an OSV: every event, oldest
first, each with the account whose command recorded it (``recorded_by``, from funding's ``command_actors``), paged.

Real registry and funding (their test clients), the session's identity provider and the tokens it issued; funding
hears of the OSVs from registry's own feed. The grant is made by staff, delivered on by a lead, closed by staff.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.funding.domain.grants import GrantNotFoundError
from shared.roles import MunicipalScope
from tests.integration.test_command_actors import account
from tests.support.api import assert_problem, created, ok
from tests.support.clients import application_of, feed, service_client
from tests.support.identity import IssuedTokens

pytestmark = pytest.mark.timeout(180)

SJL, SMP = "150132", "150135"


@pytest.fixture
def system(tmp_path: Path, database_url: str) -> Iterator[dict[str, TestClient]]:
    with (
        service_client("registry", tmp_path / "var", database_url) as registry,
        service_client("funding", tmp_path / "var", database_url) as funding,
    ):
        yield {"registry": registry, "funding": funding}


def a_closed_goods_grant(system: dict[str, TestClient], tokens: IssuedTokens, district: str = "San Juan de Lurigancho") -> str:
    """A goods grant to an OSV of ``district``: granted by staff, delivered in two lots by a lead, closed by staff; its id."""
    registry, funding = system["registry"], system["funding"]
    staff, lead = tokens.headers("staff"), tokens.headers("lead")
    osv = created(registry.post("/osvs", json={"name": f"Vecinos de {district}", "district": district, "mapped_on": "2021-02-01"},
                                headers=staff))
    application_of(funding).osvs.apply(feed(registry))
    created(funding.post("/phases", json={"code": f"F-{uuid4().hex[:6]}", "name": "Fase", "starts_on": "2021-01-01",
                                          "ends_on": "2021-12-31"}, headers=lead))
    grant = created(funding.post("/grants", json={"osv_id": osv["id"], "amount": "900.00", "currency": "PEN", "granted_on": "2021-04-01",
                                                  "kind": "goods"}, headers=staff))
    for delivered_on in ("2021-05-02", "2021-06-02"):
        created(funding.post(f"/grants/{grant['id']}/goods-deliveries", headers=lead, json={
            "items": [{"item": "galón de pintura", "quantity": 2, "unit_value": "45.50"}], "delivered_on": delivered_on}))
    created(funding.post(f"/grants/{grant['id']}/closing", headers=staff,
                         json={"outcome": "completed", "final_report_reference": "INF-1", "closed_on": "2021-11-30"}))
    return str(grant["id"])


def test_an_auditor_reads_a_grants_history_with_the_staff_account_that_made_the_grant(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    funding = system["funding"]
    grant_id = a_closed_goods_grant(system, tokens)

    history = ok(funding.get(f"/grants/{grant_id}/history", headers=tokens.headers("auditor")))
    assert [(e["type"], e["version"]) for e in history] == [
        ("FundGranted", 1), ("GoodsDelivered", 2), ("GoodsDelivered", 3), ("GrantClosed", 4)
    ]
    assert [e["recorded_by"] for e in history] == [
        account(tokens, "staff", ["staff"]), account(tokens, "lead", ["lead"]), account(tokens, "lead", ["lead"]),
        account(tokens, "staff", ["staff"]),
    ]
    granted = history[0]["data"]
    assert (granted["amount"], granted["kind"], granted["granted_on"]) == ("900.00", "goods", "2021-04-01")
    assert history[3]["data"]["final_report_reference"] == "INF-1"
    # Staff read the same: a grant's events hold no staff's words to withhold from an auditor.
    assert ok(funding.get(f"/grants/{grant_id}/history", headers=tokens.headers("staff"))) == history

    # The accounts stay beside the events: no event of funding's feed names them.
    published = str(feed(funding))
    assert "recorded_by" not in published and f"'{account(tokens, 'staff', [])['subject']}'" not in published


def test_a_grants_history_is_paged_by_version(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    funding, auditor = system["funding"], tokens.headers("auditor")
    grant_id = a_closed_goods_grant(system, tokens)

    first = funding.get(f"/grants/{grant_id}/history", params={"limit": 3}, headers=auditor)
    assert [e["version"] for e in ok(first)] == [1, 2, 3]
    following = first.headers["link"].removeprefix("<").removesuffix('>; rel="next"')
    rest = funding.get(following, headers=auditor)
    assert [e["version"] for e in ok(rest)] == [4] and "link" not in rest.headers


def test_a_grants_history_wants_a_token_audit_read_and_the_grant_in_the_callers_municipalities(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    funding = system["funding"]
    grant_id = a_closed_goods_grant(system, tokens)
    path = f"/grants/{grant_id}/history"

    assert funding.get(path, headers={"Authorization": ""}).status_code == 401
    for role in ("municipal-150132", "evaluator", "dpo"):  # the focal point reads the grant (GET /grants/{id}), not its history
        assert assert_problem(funding.get(path, headers=tokens.headers(role)), 403)["permission"] == "audit:read", role
    assert_problem(funding.get(f"/grants/{uuid4()}/history", headers=tokens.headers("auditor")), 404)

    # Every role holding `audit:read` today holds it for all of Lima; the history is scoped as registry's is, so a
    # reader of San Martín de Porres alone is told the San Juan de Lurigancho grant does not exist.
    app = application_of(funding)
    with pytest.raises(GrantNotFoundError):
        app.grant_history(UUID(grant_id), scope=MunicipalScope(ubigeos=frozenset({SMP})))
    assert [e.type for e in app.grant_history(UUID(grant_id), scope=MunicipalScope(ubigeos=frozenset({SJL})))][0] == "FundGranted"

