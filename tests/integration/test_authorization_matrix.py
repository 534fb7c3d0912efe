"""Who may do what, route by route: every operation of every OpenAPI document × every role × an object of its own
municipality and one of another's, against the real identity provider and tokens it issued.

The routes come from the services' OpenAPI documents, and what each needs from
their ``x-permissions``; what each role holds is ``shared.roles``. For every
operation, role and side (San Juan de Lurigancho, 150132, is the focal point's
and partner's own; San Martín de Porres, 150135, another's; for the evaluator,
a round assigned to it and one that is not):

* no token: 401 with ``WWW-Authenticate: Bearer`` (the dashboard sends a browser to sign in);
* a role without the permission: 403 problem+json naming it, and nothing recorded;
* a role with it, on an object out of its scope: 404, and nothing recorded;
* otherwise the operation runs: a read answers 200, a command anything but 401/403/404 or a 5xx.

And whatever a scoped role is answered never names another municipality's
objects (or another round's), and nobody without ``personal-data:read`` ever
sees a member's name, document number or phone. Zero unauthorised successes.

One system per module, in this process (test clients, no ports), its views and
read model fed from the services' own feeds; the provider's tokens are cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.auth import ROLE_PERMISSIONS, role_kind
from tests.support.api import assert_problem, created, ok
from tests.support.clients import application_of, feed, service_client
from tests.support.identity import IssuedTokens

pytestmark = pytest.mark.timeout(600)

OWN, OTHER = "own", "other"
DISTRICTS = {OWN: "San Juan de Lurigancho", OTHER: "San Martín de Porres"}
UBIGEOS = {OWN: "150132", OTHER: "150135"}
ROLES = ("staff", "lead", "municipal-150132", "evaluator", "auditor", "dpo", "partner-150132", "osv-services", "osv-imports")
#: The role each machine client's account holds (a person's account is named after its role).
MACHINE_ROLES = {"osv-services": "service", "osv-imports": "importer"}
SCOPED_BY_MUNICIPALITY = {"municipal", "partner"}
NAMES = {OWN: "Yusmary Cordero Palacios", OTHER: "Rosmery Quispe Huamán"}
DOCUMENTS = {OWN: "001234567", OTHER: "007654321"}
PHONES = {OWN: "+51987654321", OTHER: "+51912345678"}
PURPOSE = {"purpose": "contact"}
MATRIX_SERVICES = ("registry", "funding", "engagement", "reporting")
#: The routes that take no token: health, and the AsyncAPI document (a document about the API, as /openapi.json is).
OPEN_PATHS = frozenset({"/health", "/asyncapi.json"})

CRITERIA = [
    {"code": "organisational_capacity", "name": "Capacidad organizativa", "weight": "1", "min_score": 0, "max_score": 10},
    {"code": "administrative_capacity", "name": "Capacidad administrativa", "weight": "1", "min_score": 0, "max_score": 10},
]


# -- the world: two municipalities' objects, in every service -------------------------------------------


@dataclass
class Side:
    """One municipality's objects, by the path parameter that names each."""

    ids: dict[str, str] = field(default_factory=dict)
    osv_registered: str = ""
    revocable_days: dict[str, str] = field(default_factory=dict)
    """Per role that may revoke one, a día no laborable recorded for it to revoke (a day belongs to no municipality)."""


@dataclass
class World:
    clients: dict[str, TestClient]
    sides: dict[str, Side]

    def leaks(self, side: str) -> list[str]:
        """What an answer about the other side must never contain."""
        values = [v for k, v in self.sides[side].ids.items() if k not in ("name", "phase_id")]  # a phase is the whole programme's
        return [*values, self.sides[side].osv_registered]


def _setup(clients: dict[str, TestClient]) -> dict[str, Side]:
    registry, funding, engagement, reporting = (clients[name] for name in MATRIX_SERVICES)
    sides = {OWN: Side(), OTHER: Side()}
    for side_name, side in sides.items():
        district, ubigeo = DISTRICTS[side_name], UBIGEOS[side_name]
        registered = created(registry.post("/osvs", json={"name": f"OSV inscrita {side_name}", "district": district, "mapped_on": "2021-02-01"}))
        created(registry.post(f"/osvs/{registered['id']}/ruos-registration", json={"municipality_id": ubigeo, "ruos_number": f"RUOS-{ubigeo}-1", "registered_on": "2021-03-01"}))
        side.osv_registered = registered["id"]
        osv = created(registry.post("/osvs", json={"name": f"OSV en trámite {side_name}", "district": district, "mapped_on": "2021-02-01"}))
        application = created(
            registry.post(
                f"/osvs/{osv['id']}/ruos-applications",
                json={"municipality_id": ubigeo, "submitted_on": "2021-03-01", "documents": ["acta_constitucion", "estatuto"]},
            )
        )
        focal_point = created(
            registry.post(f"/municipalities/{ubigeo}/focal-points", json={"office": "Participación vecinal", "role": "Subgerente", "assigned_on": "2021-01-15"})
        )
        # Staff's words that name a member (tester 268 F1): read by staff and leads alone, `[withheld]` to everyone else.
        agreement = created(
            registry.post(
                f"/municipalities/{ubigeo}/agreements",
                json={"title": "Convenio", "signed_on": "2021-01-20", "commitments": [f"{NAMES[side_name]} coordina"], "document_reference": "CONV-0"},
            )
        )
        # A second record of the organisation, for the merge: the district's roll allows it only when told it is distinct.
        duplicate = created(
            registry.post(
                "/osvs", json={"name": f"Vecinos unidos {side_name}", "district": district, "mapped_on": "2021-02-02", "distinct_from": [osv["id"]]}
            )
        )
        side.ids.update(
            osv_id=osv["id"],
            application_id=application["application_id"],
            municipality_id=ubigeo,
            focal_point_id=focal_point["focal_point_id"],
            agreement_id=agreement["agreement_id"],
            duplicate_id=duplicate["id"],
        )
    for side, days in zip(sides.values(), (("2021-10-04", "2021-10-05", "2021-10-12"), ("2021-10-06", "2021-10-07", "2021-10-13"))):
        for role, day in zip(("staff", "lead", "osv-imports"), days, strict=True):
            created(registry.post("/non-working-days", json={"day": day, "decree": f"D.S. de prueba {day}"}))
            side.revocable_days[role] = day
    registry_events = feed(registry)
    application_of(funding).osvs.apply(registry_events)
    application_of(engagement).osvs.apply(registry_events)

    phase = created(funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))
    for side_name, side in sides.items():
        osv_id = side.ids["osv_id"]
        grant = created(funding.post("/grants", json={"osv_id": osv_id, "amount": "1000.00", "currency": "PEN", "granted_on": "2021-04-01", "kind": "seed_fund"}))
        submission = created(
            funding.post(
                "/participatory-budgets",
                json={
                    "osv_id": side.osv_registered,
                    "municipality_id": UBIGEOS[side_name],
                    "cycle_year": 2022,
                    "project_title": "Parque vecinal",
                    "amount_requested": "5000.00",
                    "currency": "PEN",
                    "submitted_on": "2021-05-01",
                },
            )
        )
        round_ = created(
            funding.post(
                "/rounds",
                json={
                    "phase_id": phase["id"],
                    "name": f"Ronda {side_name}",
                    "budget": "10000.00",
                    "currency": "PEN",
                    "opens_on": "2021-04-01",
                    "closes_on": "2021-06-30",
                    "eligibility": "mapped",
                    "criteria": CRITERIA,
                },
            )
        )
        proposal = created(
            funding.post(
                f"/rounds/{round_['id']}/proposals",
                json={
                    "osv_id": osv_id,
                    "title": "Mural",
                    "summary": "Un mural en el parque",
                    "requested_amount": "2000.00",
                    "planned_direct_beneficiaries": 30,
                    "planned_indirect_beneficiaries": 100,
                    "submitted_on": "2021-04-15",
                },
            )
        )
        side.ids.update(grant_id=grant["id"], submission_id=submission["id"], round_id=round_["id"], proposal_id=proposal["id"], phase_id=phase["id"])
    # The evaluator's own round is the one of the focal point's own municipality's proposal; the other is not assigned to it.
    created(funding.post(f"/rounds/{sides[OWN].ids['round_id']}/evaluators", json={"evaluator": "EV-1", "subject": "evaluator", "assigned_on": "2021-04-01"}))
    # A code each round's lead may withdraw (PATH_VALUES' `evaluator`), held by no one the matrix signs in as.
    for side in sides.values():
        created(funding.post(f"/rounds/{side.ids['round_id']}/evaluators", json={"evaluator": "EV-9", "subject": "former-evaluator", "assigned_on": "2021-04-01"}))

    application_of(engagement).grants.apply(feed(funding))
    for side_name, side in sides.items():
        osv_id = side.ids["osv_id"]
        member = created(
            engagement.post(
                "/members",
                json={
                    "osv_id": osv_id,
                    "full_name": NAMES[side_name],
                    "document_type": "CE",
                    "document_number": DOCUMENTS[side_name],
                    "nationality": "VE",
                    "sex": "F",
                    "joined_on": "2021-03-01",
                    "birth_year": 1987,
                    "phone": PHONES[side_name],
                },
            )
        )
        created(engagement.post(f"/members/{member['id']}/participations", json={"grant_id": side.ids["grant_id"], "enrolled_on": "2021-04-02"}))
        meeting = created(
            engagement.post(
                f"/osvs/{osv_id}/meetings",
                json={
                    "held_on": "2021-04-05",
                    "mode": "in_person",
                    "topics": ["project_follow_up"],
                    "action_items": [{"description": "Entregar el padrón", "owner": "junta directiva", "due_on": "2021-05-05"}],
                },
            )
        )
        activity = created(engagement.post("/activities", json={"osv_id": osv_id, "held_on": "2021-04-10", "kind": "workshop", "district": DISTRICTS[side_name]}))
        assessment = created(
            engagement.post(f"/osvs/{osv_id}/needs-assessments", json={"assessed_on": "2021-04-12", "members_assessed": 10, "members_over_5_years_in_peru": 2})
        )
        assistance = created(
            engagement.post(f"/osvs/{osv_id}/technical-assistance", json={"given_on": "2021-04-06", "topic": "accounting", "hours": "2", "note": "Libro de actas"})
        )
        side.ids.update(
            member_id=member["id"],
            membership_id=member["memberships"][0]["membership_id"],
            action_id=meeting["action_items"][0]["action_id"],
            meeting_id=meeting["meeting_id"],
            assistance_id=assistance["assistance_id"],
            assessment_id=assessment["assessment_id"],
            activity_id=activity["id"],
        )
    readmodel = application_of(reporting).readmodel
    for source in ("registry", "funding", "engagement"):
        readmodel.apply(feed(clients[source]))
    return sides


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    var_dir = tmp_path_factory.mktemp("matrix")
    with (
        service_client("registry", var_dir) as registry,
        service_client("funding", var_dir) as funding,
        service_client("engagement", var_dir) as engagement,
        service_client("reporting", var_dir) as reporting,
    ):
        clients = {"registry": registry, "funding": funding, "engagement": engagement, "reporting": reporting}
        yield World(clients, _setup(clients))


# -- each operation's request ---------------------------------------------------------------------------


def _bodies(ids: dict[str, str], side: Side, side_name: str) -> dict[tuple[str, str], Any]:
    """A body for every command, well formed for its route, aimed at this side's objects."""
    district = DISTRICTS[side_name]
    return {
        ("POST", "/osvs"): {"name": "OSV nueva", "district": district, "mapped_on": "2021-03-01"},
        ("PATCH", "/osvs/{osv_id}"): {"composition": "mixed", "updated_on": "2021-05-01"},
        ("POST", "/osvs/{osv_id}/merges"): {"duplicate_id": ids["duplicate_id"], "merged_on": "2021-06-01"},
        ("POST", "/osvs/{osv_id}/name-correction"): {"name": f"OSV corregida {side_name}"},
        ("POST", "/osvs/{osv_id}/mapping-date-correction"): {"mapped_on": "2021-03-01"},
        ("POST", "/osvs/{osv_id}/ruos-registration"): {"municipality_id": ids["municipality_id"], "ruos_number": f"RUOS-X-{side_name}", "registered_on": "2021-06-01"},
        ("POST", "/osvs/{osv_id}/documents"): {"document": "croquis", "prepared_on": "2021-03-10"},
        ("POST", "/osvs/{osv_id}/board-renewal"): {"renewed_on": "2021-06-01", "term_ends_on": "2023-06-01"},
        ("POST", "/osvs/{osv_id}/contact-lost"): {"since": "2021-07-01"},
        ("POST", "/osvs/{osv_id}/contact-restored"): {"restored_on": "2021-07-15"},
        ("POST", "/osvs/{osv_id}/history/{version}/redaction"): {},  # redactions take no body
        ("POST", "/osvs/{osv_id}/dissolution"): {"dissolved_on": "2021-12-01", "reason": "members_decided"},
        ("POST", "/osvs/{osv_id}/ruos-applications"): {"municipality_id": ids["municipality_id"], "submitted_on": "2021-03-05", "documents": ["estatuto"]},
        ("POST", "/osvs/{osv_id}/ruos-applications/{application_id}/observation"): {
            "observed_on": "2021-03-15",
            "reasons": [{"code": "missing_document"}],
        },
        ("POST", "/osvs/{osv_id}/ruos-applications/{application_id}/amendment"): {"amended_on": "2021-03-18", "documents": ["croquis"]},
        ("POST", "/osvs/{osv_id}/ruos-applications/{application_id}/registration"): {
            "registered_on": "2021-03-20",
            "ruos_number": f"RUOS-A-{side_name}",
        },
        ("POST", "/osvs/{osv_id}/ruos-applications/{application_id}/rejection"): {"rejected_on": "2021-03-20", "reason": "requirements_not_met"},
        ("PUT", "/municipalities/{municipality_id}/accepted-documents"): {"accepted": ["DNI", "CE"], "changed_on": "2021-02-01"},
        ("POST", "/municipalities/{municipality_id}/focal-points"): {"office": "Gerencia", "role": "Gerente", "assigned_on": "2021-02-01"},
        ("POST", "/municipalities/{municipality_id}/focal-points/{focal_point_id}/departure"): {"left_on": "2021-08-01"},
        ("POST", "/municipalities/{municipality_id}/agreements"): {
            "title": "Convenio",
            "signed_on": "2021-02-10",
            "commitments": ["Difundir el RUOS"],
            "document_reference": "CONV-1",
        },
        ("POST", "/municipalities/{municipality_id}/agreements/{agreement_id}/redaction"): {},
        ("POST", "/non-working-days"): {"day": "2021-09-06" if side_name == OWN else "2021-09-07", "decree": "D.S. N.º 999-2021-PCM"},
        ("POST", "/non-working-days/{day}/revocation"): {"revoked_by": "D.S. que lo deja sin efecto"},
        ("POST", "/non-working-days/{day}/revocation/redaction"): {},
        ("POST", "/osvs/{osv_id}/ruos-registration/correction"): {"resolution_number": f"R.A. corregida {side_name}"},
        ("POST", "/osvs/{osv_id}/ruos-applications/{application_id}/observation/withdrawal"): {"reason": "Registrada por error"},
        ("POST", "/osvs/{osv_id}/ruos-applications/{application_id}/rejection/withdrawal"): {"reason": "Registrada por error"},
        ("POST", "/phases"): {"code": f"P-{side_name}", "name": "Otra fase", "starts_on": "2022-01-01", "ends_on": "2022-06-30"},
        ("POST", "/phases/{phase_id}/withdrawal"): {"reason": "entered_in_error", "note": "abierta por error"},
        ("POST", "/phases/{phase_id}/withdrawal/note/redaction"): {},
        ("POST", "/participatory-budgets"): {
            "osv_id": side.osv_registered,
            "municipality_id": ids["municipality_id"],
            "cycle_year": 2023,
            "project_title": "Losa deportiva",
            "amount_requested": "3000.00",
            "currency": "PEN",
            "submitted_on": "2021-05-02",
        },
        ("POST", "/participatory-budgets/{submission_id}/outcome"): {"outcome": "accepted", "decided_on": "2021-07-01"},
        ("POST", "/grants"): {"osv_id": ids["osv_id"], "amount": "500.00", "currency": "PEN", "granted_on": "2021-05-01", "kind": "goods"},
        ("POST", "/grants/{grant_id}/goods-deliveries"): {"items": [{"item": "pintura", "quantity": 2, "unit_value": "10.00"}], "delivered_on": "2021-05-02"},
        ("POST", "/grants/{grant_id}/disbursements"): {"tranche": 1, "amount": "500.00", "disbursed_on": "2021-04-05"},
        ("POST", "/grants/{grant_id}/closing"): {"outcome": "completed", "final_report_reference": "INF-1", "closed_on": "2021-11-30"},
        ("POST", "/grants/{grant_id}/withdrawal"): {"reason": "entered_in_error", "note": "typed in twice"},
        ("POST", "/grants/{grant_id}/withdrawal/note/redaction"): {},
        ("POST", "/rounds"): {
            "phase_id": "00000000-0000-0000-0000-000000000000",
            "name": "Ronda nueva",
            "budget": "1000.00",
            "currency": "PEN",
            "opens_on": "2021-04-01",
            "closes_on": "2021-05-01",
            "eligibility": "mapped",
            "criteria": CRITERIA,
        },
        ("POST", "/rounds/{round_id}/evaluators"): {"evaluator": f"EV-{side_name}-2", "subject": "staff", "assigned_on": "2021-04-02"},
        ("POST", "/rounds/{round_id}/evaluators/{evaluator}/withdrawal"): {"withdrawn_on": "2021-04-03", "reason": "left_the_programme"},
        ("POST", "/rounds/{round_id}/closing"): {"closed_on": "2021-06-30"},
        ("POST", "/rounds/{round_id}/proposals"): {
            "osv_id": side.osv_registered,
            "title": "Feria",
            "summary": "Una feria",
            "requested_amount": "1000.00",
            "planned_direct_beneficiaries": 10,
            "planned_indirect_beneficiaries": 20,
            "submitted_on": "2021-04-20",
        },
        ("POST", "/proposals/{proposal_id}/scores"): {
            "scores": [{"criterion": "organisational_capacity", "score": 7}, {"criterion": "administrative_capacity", "score": 8}],
            "scored_on": "2021-05-01",
        },
        ("POST", "/proposals/{proposal_id}/approval"): {"amount": "2000.00", "approved_on": "2021-05-10"},
        ("POST", "/proposals/{proposal_id}/rejection"): {"reason": "low_score", "rejected_on": "2021-05-10"},
        ("POST", "/proposals/{proposal_id}/summary/redaction"): {},
        ("POST", "/proposals/{proposal_id}/grants"): {"kind": "seed_fund", "amount": "1000.00", "granted_on": "2021-05-15"},
        ("POST", "/members"): {
            "osv_id": ids["osv_id"],
            "full_name": "Persona Nueva",
            "document_type": "NINGUNO",
            "nationality": "PE",
            "sex": "M",
            "joined_on": "2021-03-02",
        },
        ("POST", "/members/lookup"): {"document_type": "CE", "document_number": DOCUMENTS[side_name], **PURPOSE},
        ("POST", "/members/{member_id}/departure"): {"left_on": "2021-09-01", "reason": "moved_abroad"},
        ("POST", "/members/{member_id}/memberships"): {"osv_id": side.osv_registered, "joined_on": "2021-03-05"},
        ("POST", "/members/{member_id}/memberships/{membership_id}/role"): {"role": "president", "changed_on": "2021-04-01"},
        ("POST", "/members/{member_id}/memberships/{membership_id}/departure"): {"left_on": "2021-09-01", "reason": "withdrew"},
        ("POST", "/members/{member_id}/memberships/{membership_id}/joining-date-correction"): {"joined_on": "2021-03-01"},
        # The name as registered: the correction runs (and is checked) but changes nothing the matrix reads for.
        ("POST", "/members/{member_id}/correction"): {"full_name": NAMES[side_name]},
        ("POST", "/members/{member_id}/erasure"): {"erased_on": "2021-12-15"},
        # The member itself as its duplicate: the merge runs past every check of the caller and is refused (422), merging no one.
        ("POST", "/members/{member_id}/merges"): {"duplicate_id": ids["member_id"]},
        ("POST", "/members/{member_id}/participations"): {"grant_id": ids["grant_id"], "enrolled_on": "2021-04-03"},
        ("POST", "/members/{member_id}/participations/{grant_id}/withdrawal"): {"withdrew_on": "2021-08-01"},
        ("POST", "/osvs/{osv_id}/meetings"): {"held_on": "2021-05-05", "mode": "virtual", "topics": ["needs"]},
        ("POST", "/osvs/{osv_id}/actions/{action_id}/completion"): {"completed_on": "2021-05-01"},
        ("POST", "/osvs/{osv_id}/technical-assistance"): {"given_on": "2021-05-06", "topic": "accounting", "hours": "2"},
        ("POST", "/activities"): {
            "osv_id": ids["osv_id"],
            "held_on": "2021-05-07",
            "kind": "fair",
            "district": district,
            "participants": [{"member_id": ids["member_id"]}, {"person_id": f"00000000-0000-4000-8000-00000000000{len(side_name)}", "nationality": "PE", "sex": "M"}],
        },
        ("POST", "/activities/{activity_id}/withdrawal"): {"reason": "Reportada dos veces"},
        ("POST", "/activities/{activity_id}/redaction"): {},
        ("POST", "/osvs/{osv_id}/meetings/{meeting_id}/redaction"): {},
        ("POST", "/osvs/{osv_id}/meetings/{meeting_id}/withdrawal"): {"reason": "duplicate", "note": "typed in twice"},
        ("POST", "/osvs/{osv_id}/technical-assistance/{assistance_id}/redaction"): {},
        ("POST", "/osvs/{osv_id}/technical-assistance/{assistance_id}/withdrawal"): {"reason": "duplicate"},
        ("POST", "/osvs/{osv_id}/needs-assessments"): {"assessed_on": "2021-05-08", "members_assessed": 5, "members_over_5_years_in_peru": 1},
        ("POST", "/osvs/{osv_id}/needs-assessments/{assessment_id}/withdrawal"): {"reason": "duplicate"},
        ("PUT", "/phases/{phase}/targets/{indicator}"): {"baseline": {"value": 0}, "target": {"value": 30}},
        ("POST", "/phases/{phase}/sign-offs"): {"as_of": datetime.now(timezone.utc).isoformat()},
    }


def _query(service: str, path: str, side: Side, side_name: str) -> dict[str, str]:
    """What the operation needs in its query: the OSV it lists, the purpose of a read (a document looked up goes in
    ``POST /members/lookup``'s body: ``GET /members``, refused, is sent none)."""
    query = dict(PURPOSE) if service == "engagement" else {}
    if path == "/participatory-budgets":
        query["osv_id"] = side.osv_registered
    if path == "/grants":
        query["osv_id"] = side.ids["osv_id"]
    if path.startswith("/indicators/export."):
        query["lang"] = "en"
    return query


SHOWN_IN_CLEAR = frozenset({"personal-data:subject-access"})
"""Permissions whose routes show a person's data in clear to a role besides staff and leads: the DPO's subject-access
report (tester 304 F2), for one person at a time, each read logged."""

READS_SENT_AS_POSTS = frozenset({("POST", "/members/lookup")})
"""Reads whose question is personal data, sent in a body to keep it out of the URL: answered 200 as a GET is."""

PATH_VALUES: dict[str, Callable[[Side, str | None], str]] = {
    "name": lambda _side, _role: "osvs_identified",
    "day": lambda side, role: side.revocable_days.get(role or "", "2021-10-01"),
    "indicator": lambda _side, _role: "osvs_identified",
    "phase": lambda _side, _role: "F1",
    "evaluator": lambda _side, _role: "EV-9",  # assigned in each side's round to no one the matrix signs in as: withdrawing it hides nothing
    "version": lambda _side, _role: "1",  # an OSV's first event, OSVMapped: its redaction is refused (422), past every check of the caller
}


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str
    permissions: frozenset[str]
    query: frozenset[str] = frozenset()
    """The query parameters the operation declares: it refuses any other (422 `known_parameter`)."""
    deprecated: bool = False
    """Kept only to refuse what it took (``GET /members``, a lookup by a document in the URL: 422 `lookup_by_post`)."""

    @property
    def label(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    @property
    def reads(self) -> bool:
        return self.method == "GET" or (self.method, self.path) in READS_SENT_AS_POSTS


def operations(world: World, service: str) -> list[Operation]:
    """Every operation of the service's OpenAPI document but the open ones, commands that forget people last."""
    document = world.clients[service].get("/openapi.json").json()
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if path in OPEN_PATHS:
                assert "security" not in operation and "x-permissions" not in operation
                continue
            assert operation.get("x-permissions"), f"{service} {method.upper()} {path} requires no permission"
            assert {"oidc": []} in operation["security"] and {"bearer": []} in operation["security"], path
            query = frozenset(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            permissions = frozenset(operation["x-permissions"])
            found.append(Operation(service, method.upper(), path, permissions, query, operation.get("deprecated", False)))
    return sorted(found, key=lambda op: op.path.endswith("/erasure"))


def expected(operation: Operation, role: str, side_name: str) -> int | None:
    """The refusal the role must get on this side's object (401/403/404), or None when the operation is its to run."""
    kind = role_kind(MACHINE_ROLES.get(role, role))
    if not operation.permissions <= {p.value for p in ROLE_PERMISSIONS[kind]}:
        return 403
    if side_name == OTHER and kind in SCOPED_BY_MUNICIPALITY and _names_an_object(operation):
        return 404
    if side_name == OTHER and kind == "evaluator" and {"round_id", "proposal_id"} & set(operation.params):
        return 404
    return None


def _names_an_object(operation: Operation) -> bool:
    """Whether the path names an object that belongs to a municipality (not a phase, round, indicator or día no laborable)."""
    return bool(set(operation.params) - {"name", "day", "round_id", "proposal_id", "phase", "phase_id", "indicator"})


@dataclass
class Outcome:
    violations: list[str] = field(default_factory=list)
    requests: int = 0

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            self.violations.append(what)


def _send(world: World, operation: Operation, side_name: str, headers: dict[str, str], role: str | None = None) -> Any:
    side = world.sides[side_name]
    values = {**side.ids, **{name: value(side, role) for name, value in PATH_VALUES.items()}}
    missing = [p for p in operation.params if p not in values]
    assert not missing, f"{operation.label}: the matrix has no object for {missing}"
    path = operation.path.format(**values)
    body = _bodies(side.ids, side, side_name).get((operation.method, operation.path))
    if operation.method != "GET":
        assert body is not None, f"{operation.label}: the matrix has no body for this command; add one to _bodies"
    client = world.clients[operation.service]
    query = {k: v for k, v in _query(operation.service, operation.path, side, side_name).items() if k in operation.query}
    return client.request(operation.method, path, params=query, json=body, headers=headers, follow_redirects=False)


def _heads(world: World, tokens: IssuedTokens) -> dict[str, int]:
    auditor = tokens.headers("auditor")
    return {name: int(ok(world.clients[name].get("/events", headers=auditor))["head"]) for name in ("registry", "funding", "engagement")}


def _personal(side_name: str) -> list[str]:
    return [NAMES[side_name], DOCUMENTS[side_name], PHONES[side_name]]


def run_matrix(world: World, tokens: IssuedTokens, service: str) -> Outcome:
    outcome = Outcome()
    ops = operations(world, service)
    cases = [(op, role, side) for op in ops for role in (None, *ROLES) for side in (OWN, OTHER)]

    # First every refusal: nothing may be recorded by any of them.
    before = _heads(world, tokens)
    allowed = []
    for operation, role, side_name in cases:
        refusal = 401 if role is None else expected(operation, role, side_name)
        if refusal is None:
            allowed.append((operation, role, side_name))
            continue
        headers = {"Authorization": ""} if role is None else tokens.headers(role)
        response = _send(world, operation, side_name, headers)
        outcome.requests += 1
        who = f"{operation.label} as {role or 'nobody'} on the {side_name} side"
        if role is None and operation.path == "/dashboard":
            outcome.check(response.status_code == 303 and "/dashboard/sign-in" in response.headers.get("location", ""), f"{who}: {response.status_code}, not a sign-in")
            continue
        outcome.check(response.status_code == refusal, f"{who}: {response.status_code}, expected {refusal}: {response.text[:200]}")
        if response.status_code in (401, 403, 404):
            outcome.check(response.headers.get("content-type", "").startswith("application/problem+json"), f"{who}: not problem+json")
        if response.status_code == 404:  # names the id it knows of none, as a 422 names its field (tester 160 F14)
            named = [error["field"] for error in response.json().get("errors", [])]
            outcome.check(bool(named) and named[0] in [*operation.params, *operation.query], f"{who}: the 404 names {named}, not an id of {operation.params}")
        if refusal == 401:
            outcome.check(response.headers.get("www-authenticate", "").startswith("Bearer"), f"{who}: no WWW-Authenticate: Bearer")
        if refusal == 403 and response.status_code == 403:
            outcome.check(response.json().get("permission") in operation.permissions, f"{who}: the 403 names no permission of the route")
    outcome.check(_heads(world, tokens) == before, f"{service}: a refused request recorded something ({before} -> {_heads(world, tokens)})")

    # Then what each role may do: it runs, and answers nothing it may not see.
    for operation, role, side_name in allowed:
        response = _send(world, operation, side_name, tokens.headers(role), role)
        outcome.requests += 1
        who = f"{operation.label} as {role} on the {side_name} side"
        if operation.deprecated:
            outcome.check(response.status_code == 422, f"{who}: {response.status_code}, not refused: {response.text[:200]}")
        elif operation.reads:
            outcome.check(response.status_code == 200, f"{who}: {response.status_code}: {response.text[:200]}")
        else:
            outcome.check(response.status_code not in (401, 403, 404) and response.status_code < 500, f"{who}: {response.status_code}: {response.text[:200]}")
        kind = role_kind(MACHINE_ROLES.get(role, role))
        text = response.text
        if kind in SCOPED_BY_MUNICIPALITY:
            for leak in [*world.leaks(OTHER), DISTRICTS[OTHER]]:
                outcome.check(leak not in text, f"{who}: the answer names another municipality's {leak!r}")
        if kind == "evaluator":
            for leak in (world.sides[OTHER].ids["round_id"], world.sides[OTHER].ids["proposal_id"]):
                outcome.check(leak not in text, f"{who}: the answer names a round not assigned to the evaluator ({leak})")
        if kind not in ("staff", "lead") and not operation.permissions & SHOWN_IN_CLEAR:
            for secret in _personal(OWN) + _personal(OTHER):
                outcome.check(secret not in text, f"{who}: the answer shows personal data ({secret!r})")
    return outcome


@pytest.mark.parametrize("service", MATRIX_SERVICES)
def test_no_role_reaches_what_it_may_not(world: World, tokens: IssuedTokens, service: str) -> None:
    outcome = run_matrix(world, tokens, service)
    assert outcome.requests > 0
    print(f"{service}: {outcome.requests} requests")
    assert not outcome.violations, f"{len(outcome.violations)} of {outcome.requests} requests broke the rules:\n" + "\n".join(outcome.violations)


def test_staff_read_a_member_only_stating_a_purpose_and_see_their_data_then(world: World, tokens: IssuedTokens) -> None:
    engagement, member_id = world.clients["engagement"], world.sides[OWN].ids["member_id"]
    # (the erasure the matrix ran last forgot the people: a member registered now is read instead)
    fresh = created(
        engagement.post(
            "/members",
            json={
                "osv_id": world.sides[OWN].ids["osv_id"],
                "full_name": "Carmen Rivas",
                "document_type": "CE",
                "document_number": "001112223",
                "nationality": "VE",
                "sex": "F",
                "joined_on": "2021-03-01",
            },
            headers=tokens.headers("staff"),
        )
    )
    assert fresh["full_name"] == "[masked]" and fresh["document_number"] is None  # a command's answer shows nothing
    refused = engagement.get(f"/members/{fresh['id']}", headers=tokens.headers("staff"))
    assert refused.status_code == 422 and refused.json()["errors"][0]["rule"] == "purpose_required"
    shown = ok(engagement.get(f"/members/{fresh['id']}", params={"purpose": "follow_up"}, headers=tokens.headers("staff")))
    assert (shown["full_name"], shown["document_number"], shown["disclosed"]) == ("Carmen Rivas", "001112223", True)
    both = engagement.get(f"/members/{fresh['id']}", params={"purpose": "follow_up", "masked": "true"}, headers=tokens.headers("staff"))
    assert_problem(both, 422, "purpose", "purpose_or_masked")  # not a masked read that drops the purpose unsaid (tester 160 F15)
    masked = ok(engagement.get(f"/members/{fresh['id']}", headers=tokens.headers("municipal-150132")))
    assert (masked["full_name"], masked["document_number"], masked["disclosed"]) == ("[masked]", None, False)
    assert member_id != fresh["id"]


def test_a_focal_point_reads_of_a_member_only_the_memberships_and_projects_in_its_district(world: World, tokens: IssuedTokens) -> None:
    engagement, own, other = world.clients["engagement"], world.sides[OWN].ids, world.sides[OTHER].ids
    staff = tokens.headers("staff")
    person = created(
        engagement.post(
            "/members",
            json={"osv_id": own["osv_id"], "full_name": "Rosa Quispe", "document_type": "CE", "document_number": "004445556",
                  "nationality": "VE", "sex": "F", "joined_on": "2021-03-01"},
            headers=staff,
        )
    )
    # Later, they join an OSV of the other district too (their current membership, joined last) and its project.
    created(engagement.post(f"/members/{person['id']}/memberships", json={"osv_id": other["osv_id"], "joined_on": "2021-04-01"}, headers=staff))
    created(engagement.post(f"/members/{person['id']}/participations", json={"grant_id": other["grant_id"], "enrolled_on": "2021-04-03"}, headers=staff))
    assert len(ok(engagement.get(f"/members/{person['id']}", params={"masked": "true"}, headers=staff))["memberships"]) == 2

    seen = ok(engagement.get(f"/members/{person['id']}", headers=tokens.headers("municipal-150132")))
    assert [m["osv_id"] for m in seen["memberships"]] == [own["osv_id"]] and seen["participations"] == []
    assert (seen["osv_id"], seen["joined_on"], seen["membership"]["status"]) == (own["osv_id"], "2021-03-01", "active")
    assert not [leak for leak in (other["osv_id"], other["grant_id"]) if leak in json.dumps(seen)]
    # Nor does it see the record change when only the other district's membership does (tester 163 F4).
    answer = engagement.get(f"/members/{person['id']}", headers=tokens.headers("municipal-150132"))
    assert seen["version"] is None and "etag" not in answer.headers


def test_every_route_but_the_open_ones_declares_its_security_and_roles(world: World) -> None:
    for service in MATRIX_SERVICES:
        document = world.clients[service].get("/openapi.json").json()
        schemes = document["components"]["securitySchemes"]
        assert set(schemes) == {"oidc", "bearer"}
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                if path in OPEN_PATHS:
                    continue
                assert operation["x-roles"], f"{service} {method} {path}"
                assert "401" in operation["responses"] and "403" in operation["responses"], f"{service} {method} {path}"


def test_the_open_routes_answer_without_a_token(world: World) -> None:
    for service in MATRIX_SERVICES:
        client = world.clients[service]
        assert OPEN_PATHS <= set(client.get("/openapi.json").json()["paths"]), service
        document = client.get("/asyncapi.json", headers={"Authorization": ""})
        assert document.status_code == 200 and document.json()["asyncapi"].startswith("3."), service
