"""A member's history (``GET /members/{id}/history``) and an OSV's needs assessments' history
(``GET /osvs/{id}/needs-assessments/history``) for auditors, as the follow-up's: every event, oldest first, each with
the account whose command recorded it (``recorded_by``), paged. A member's history shows nothing of the person to
anyone, staff included: their data reads `[withheld]`, `[redacted]` once erased, and reading it is not logged.

Real registry and engagement (their test clients), the session's identity provider and the tokens it issued; engagement
hears of the OSVs from registry's own feed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.engagement.domain.memberrules import MemberNotFoundError, OSVNotKnownError
from shared.roles import MunicipalScope
from tests.integration import test_fieldwork_history
from tests.integration.test_command_actors import account
from tests.integration.test_engagement_api import fund_osv
from tests.integration.test_fieldwork_history import SMP, an_osv
from tests.support.api import assert_problem, created, ok
from tests.support.clients import application_of
from tests.support.identity import IssuedTokens

pytestmark = pytest.mark.timeout(180)

NAME, CORRECTED_NAME = "Xiomara Quispicondori Wankar", "Xiomara Quispicondori Wankar de Ybarra"
NUMBER = "009876543"
PHONE, CORRECTED_PHONE = "+51955443322", "+51911227788"
PERSON = {"full_name": NAME, "document_type": "CE", "document_number": NUMBER, "nationality": "VE", "sex": "F",
          "joined_on": "2021-03-01", "phone": PHONE, "birth_year": 1987}
SECRETS = (NAME, "Quispicondori", "9876543", "955443322", "911227788")
"""What the person is, as no history's bytes may hold it: her names, her document's number and phones, digits only too."""
NOT_AUDITORS = ("municipal-150132", "evaluator", "dpo")

system = test_fieldwork_history.system
"""Registry and engagement, as the follow-up's history tests run them (their test clients, one store)."""


def next_page(client: TestClient, answer: Any, headers: dict[str, str]) -> Any:
    return client.get(answer.headers["link"].removeprefix("<").removesuffix('>; rel="next"'), headers=headers)


def assert_auditors_alone(engagement: TestClient, path: str, tokens: IssuedTokens) -> None:
    """``path`` is 401 without a token and 403 naming ``audit:read`` to each of :data:`NOT_AUDITORS`."""
    assert engagement.get(path, headers={"Authorization": ""}).status_code == 401
    for role in NOT_AUDITORS:
        refused = assert_problem(engagement.get(path, headers=tokens.headers(role)), 403)
        assert refused["permission"] == "audit:read", role


def assert_nothing_of_her(body: str) -> None:
    for secret in SECRETS:
        assert secret not in body, secret


def a_member_with_a_story(system: dict[str, TestClient], tokens: IssuedTokens) -> tuple[str, dict[str, str]]:
    """Staff register her in one OSV; a lead makes her president; staff add her to a second OSV and correct that joining
    date; a lead records her departure from it; staff correct her name and phone, and enrol her in the first OSV's
    project, which a lead records she left. (member, ids by name)."""
    engagement = system["engagement"]
    staff, lead = tokens.headers("staff"), tokens.headers("lead")
    first, second = an_osv(system, tokens), an_osv(system, tokens, "Unidos de Canto Grande")
    member = created(engagement.post("/members", headers=staff, json={**PERSON, "osv_id": first}))
    member_id, membership_id = member["id"], member["memberships"][0]["membership_id"]
    ok(engagement.post(f"/members/{member_id}/memberships/{membership_id}/role", headers=lead, json={
        "role": "president", "changed_on": "2021-04-01"}))
    joined = created(engagement.post(f"/members/{member_id}/memberships", headers=staff, json={
        "osv_id": second, "joined_on": "2021-06-01"}))
    ok(engagement.post(f"/members/{member_id}/memberships/{joined['membership_id']}/joining-date-correction",
                       headers=staff, json={"joined_on": "2021-05-20"}))
    ok(engagement.post(f"/members/{member_id}/memberships/{joined['membership_id']}/departure", headers=lead, json={
        "left_on": "2021-09-01", "reason": "withdrew"}))
    ok(engagement.post(f"/members/{member_id}/correction", headers=staff, json={
        "full_name": CORRECTED_NAME, "phone": CORRECTED_PHONE}))
    grant_id = fund_osv(engagement, first)  # funding's FundGranted, as engagement's grants view takes it
    created(engagement.post(f"/members/{member_id}/participations", headers=staff, json={
        "grant_id": grant_id, "enrolled_on": "2024-05-01"}))
    ok(engagement.post(f"/members/{member_id}/participations/{grant_id}/withdrawal", headers=lead, json={
        "withdrew_on": "2024-06-01"}))
    return member_id, {"first": first, "second": second, "membership": membership_id, "grant": grant_id}


def test_an_auditor_reads_who_recorded_each_fact_of_a_member_and_nobody_reads_who_she_is(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement = system["engagement"]
    member_id, ids = a_member_with_a_story(system, tokens)
    staff, lead = account(tokens, "staff", ["staff"]), account(tokens, "lead", ["lead"])
    path = f"/members/{member_id}/history"

    history = ok(engagement.get(path, headers=tokens.headers("auditor")))
    assert [(e["type"], e["version"], e["recorded_by"]) for e in history] == [
        ("Registered", 1, staff), ("Joined", 2, staff), ("RoleChanged", 3, lead), ("Joined", 4, staff),
        ("JoiningDateCorrected", 5, staff), ("Left", 6, lead), ("PersonalDataCorrected", 7, staff),
        ("Enrolled", 8, staff), ("Withdrew", 9, lead),
    ]
    registered, corrected = history[0]["data"], history[6]["data"]
    personal = ("full_name", "document_type", "document_number", "phone", "birth_year")
    assert [registered[k] for k in personal] == ["[withheld]"] * 5
    assert [corrected[k] for k in personal] == ["[withheld]"] * 5
    # The facts around them stay: what the published events carry, and each membership's day and role.
    assert (registered["nationality"], registered["sex"]) == ("VE", "F")
    assert history[2]["data"]["role"] == "president" and history[2]["data"]["membership_id"] == ids["membership"]
    assert (history[4]["data"]["previous_joined_on"], history[4]["data"]["joined_on"]) == ("2021-06-01", "2021-05-20")
    assert history[5]["data"]["reason"] == "withdrew" and history[5]["data"]["osv_id"] == ids["second"]
    assert [e["data"]["grant_id"] for e in history[7:]] == [ids["grant"], ids["grant"]]

    # Staff and leads, who read her data through a logged read, read none of it here either.
    for role in ("auditor", "staff", "lead"):
        answer = engagement.get(path, headers=tokens.headers(role))
        assert answer.status_code == 200, role
        assert_nothing_of_her(answer.text)
        assert [e["data"].get("full_name") for e in answer.json()][:7:6] == ["[withheld]", "[withheld]"], role
    # Nothing personal shown, so nothing disclosed: her access log holds no read of her.
    assert ok(engagement.get(f"/members/{member_id}/access-log", headers=tokens.headers("dpo"))) == []
    # What the history withholds is there, for a logged read: the test's secrets are hers.
    shown = ok(engagement.get(f"/members/{member_id}", params={"purpose": "contact"}, headers=tokens.headers("staff")))
    assert (shown["full_name"], shown["document_number"], shown["phone"]) == (CORRECTED_NAME, NUMBER, CORRECTED_PHONE)


def test_a_member_history_is_paged_wants_audit_read_and_a_member_in_scope(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, auditor = system["engagement"], tokens.headers("auditor")
    member_id, _ = a_member_with_a_story(system, tokens)
    path = f"/members/{member_id}/history"

    first = engagement.get(path, params={"limit": 4}, headers=auditor)
    assert [e["version"] for e in ok(first)] == [1, 2, 3, 4]
    rest = next_page(engagement, first, auditor)
    assert [e["version"] for e in ok(rest)] == [5, 6, 7, 8] and "link" in rest.headers
    last = next_page(engagement, rest, auditor)
    assert [e["version"] for e in ok(last)] == [9] and "link" not in last.headers

    # A focal point and the DPO read the member (masked), not who recorded each fact; an evaluator neither.
    assert_auditors_alone(engagement, path, tokens)
    assert_problem(engagement.get(f"/members/{uuid4()}/history", headers=auditor), 404, "member_id", "known_member")
    # Every role holding `audit:read` today holds it for all of Lima; a reader of San Martín de Porres alone would be
    # told the San Juan de Lurigancho member is not known, as `GET /members/{id}` tells it.
    with pytest.raises(MemberNotFoundError):
        application_of(engagement).member_history(UUID(member_id), scope=MunicipalScope(ubigeos=frozenset({SMP})))


def test_an_erased_member_history_says_her_data_was_destroyed_and_who_erased_it(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement = system["engagement"]
    member_id, _ = a_member_with_a_story(system, tokens)
    ok(engagement.post(f"/members/{member_id}/erasure", headers=tokens.headers("dpo"), json={"erased_on": "2021-12-01"}))
    staff, dpo = account(tokens, "staff", ["staff"]), account(tokens, "dpo", ["dpo"])

    for role in ("auditor", "staff"):
        answer = engagement.get(f"/members/{member_id}/history", headers=tokens.headers(role))
        history = ok(answer)
        assert_nothing_of_her(answer.text)
        # One erasure, a tombstone for each OSV she was a member of.
        assert [(e["type"], e["recorded_by"]) for e in history][-3:] == [
            ("ErasureBegun", dpo), ("PersonalDataErased", dpo), ("PersonalDataErased", dpo)]
        assert history[0]["recorded_by"] == staff
        for event in (history[0]["data"], history[6]["data"]):  # registered, corrected
            sealed = [event[k] for k in ("full_name", "document_number", "phone", "birth_year")]
            # Destroyed with her key; her document's type is not sealed under it, and stays withheld.
            assert sealed == ["[redacted]"] * 4 and event["document_type"] == "[withheld]", role


def test_a_merged_member_history_holds_its_own_events_and_names_the_record_merged_into_it(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, staff, auditor = system["engagement"], tokens.headers("staff"), tokens.headers("auditor")
    first, second = an_osv(system, tokens), an_osv(system, tokens, "Unidos de Canto Grande")
    kept = created(engagement.post("/members", headers=staff, json={**PERSON, "osv_id": first}))
    again = {**PERSON, "osv_id": second, "document_type": "PTP", "document_number": "001122334", "joined_on": "2021-05-01"}
    duplicate = created(engagement.post("/members", headers=staff, json=again))
    created(engagement.post(f"/members/{kept['id']}/merges", headers=tokens.headers("lead"), json={"duplicate_id": duplicate["id"]}))
    lead = account(tokens, "lead", ["lead"])

    survivor = ok(engagement.get(f"/members/{kept['id']}/history", headers=auditor))
    assert [(e["type"], e["recorded_by"]) for e in survivor][-1:] == [("DuplicateMergedIn", lead)]
    assert survivor[-1]["data"]["duplicate_id"] == duplicate["id"]
    assert [e["type"] for e in survivor].count("Registered") == 1  # its own: the duplicate's is under the duplicate's id
    merged = engagement.get(f"/members/{duplicate['id']}/history", headers=auditor)
    assert [(e["type"], e["data"].get("into_member_id")) for e in ok(merged)][-2:] == [
        ("MemberMerged", kept["id"]), ("MemberMerged", kept["id"])]  # one for each OSV either record was a member of
    assert "1122334" not in merged.text


def test_an_auditor_reads_who_assessed_an_osv_needs_and_who_withdrew_an_assessment(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, auditor = system["engagement"], tokens.headers("auditor")
    osv_id = an_osv(system, tokens)
    assessment = {"members_assessed": 12, "members_over_5_years_in_peru": 3,
                  "needs": [{"area": "documentation", "members_affected": 7, "priority": "high"}]}
    typed_twice = [created(engagement.post(f"/osvs/{osv_id}/needs-assessments", headers=tokens.headers("staff"), json={
        **assessment, "assessed_on": assessed_on})) for assessed_on in ("2021-04-10", "2021-04-11")]
    withdrawn = typed_twice[1]["assessment_id"]
    ok(engagement.post(f"/osvs/{osv_id}/needs-assessments/{withdrawn}/withdrawal", headers=tokens.headers("lead"),
                       json={"reason": "duplicate"}))
    staff, lead = account(tokens, "staff", ["staff"]), account(tokens, "lead", ["lead"])
    path = f"/osvs/{osv_id}/needs-assessments/history"

    history = ok(engagement.get(path, headers=auditor))
    assert [(e["type"], e["version"], e["recorded_by"]) for e in history] == [
        ("NeedsRecordOpened", 1, staff), ("NeedsAssessed", 2, staff), ("NeedsAssessed", 3, staff),
        ("NeedsAssessmentWithdrawn", 4, lead),
    ]
    assert history[1]["data"]["needs"] == assessment["needs"] and history[1]["data"]["members_assessed"] == 12
    # A withdrawal's reason is a code, no staff's words: the auditor reads it as the assessments' list shows it to all.
    assert (history[3]["data"]["assessment_id"], history[3]["data"]["reason"]) == (withdrawn, "duplicate")
    listed = ok(engagement.get(f"/osvs/{osv_id}/needs-assessments", headers=tokens.headers("municipal-150132")))
    assert [a["withdrawal"]["reason"] for a in listed if a["withdrawal"]] == ["duplicate"]
    assert ok(engagement.get(path, headers=tokens.headers("staff"))) == history

    first = engagement.get(path, params={"limit": 3}, headers=auditor)
    assert [e["version"] for e in ok(first)] == [1, 2, 3]
    rest = next_page(engagement, first, auditor)
    assert [e["version"] for e in ok(rest)] == [4] and "link" not in rest.headers

    assert_auditors_alone(engagement, path, tokens)
    assert_problem(engagement.get(f"/osvs/{uuid4()}/needs-assessments/history", headers=auditor), 404, "osv_id")
    quiet = an_osv(system, tokens, "Vecinos de Mangomarca")
    assert ok(engagement.get(f"/osvs/{quiet}/needs-assessments/history", headers=auditor)) == []
    with pytest.raises(OSVNotKnownError):
        application_of(engagement).needs_history(UUID(osv_id), scope=MunicipalScope(ubigeos=frozenset({SMP})))


def test_a_member_history_does_not_tell_whether_she_gave_a_phone_or_a_document(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """A field she left empty reads as one she filled (tester 317 F4: ``"phone": null`` beside ``[withheld]`` told an
    auditor who gave a phone, and who has no document)."""
    engagement, staff = system["engagement"], tokens.headers("staff")
    osv = an_osv(system, tokens)
    without = {**PERSON, "osv_id": osv, "document_type": "NINGUNO", "document_number": None, "phone": None}
    member = created(engagement.post("/members", headers=staff, json=without))
    registered = ok(engagement.get(f"/members/{member['id']}/history", headers=tokens.headers("auditor")))[0]["data"]
    assert {k: registered[k] for k in ("document_type", "document_number", "phone")} == dict.fromkeys(
        ("document_type", "document_number", "phone"), "[withheld]"
    )
