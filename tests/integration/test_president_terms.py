"""An OSV has one president at a time, over the days of its history too (tester 232 F4).

The board's history (the *junta directiva*) is what the municipal registry (RUOS) records: a president's term may not begin
within another's, past or present. A role change, a registration or a joining as president, and a president's joining date
corrected earlier, dated into another president's term, is 409 ``one_president`` on the date given, naming that term's
dates and its holder's member id, never their name; nothing is recorded. A president's membership recorded on a record
merged into another is named by the person, with the record its new role goes to (tester 239 F4). Runs on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from services.engagement.domain.members import Member
from tests.integration.test_engagement_api import a_person, map_osv
from tests.integration.test_member_merges import CPP, PTP, SECRETS, map_los_olivos, merge
from tests.integration.test_member_merges import register as register_yusmary
from tests.support.api import assert_problem
from tests.support.clients import application_of, head, service_client

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def var(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def client(var: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", var, database_url) as client:
        yield client


def register(client: TestClient, osv_id: str, document_number: str, **overrides: Any) -> dict[str, Any]:
    person = a_person(
        osv_id=osv_id, document_type="DNI", document_number=document_number, nationality="PE", **overrides
    )
    answer = client.post("/members", json=person)
    assert answer.status_code == 201, answer.text
    return answer.json()


def change_role(client: TestClient, member: dict[str, Any], role: str, changed_on: str) -> Any:
    membership_id = member["memberships"][0]["membership_id"]
    return client.post(
        f"/members/{member['id']}/memberships/{membership_id}/role", json={"role": role, "changed_on": changed_on}
    )


def rosa_steps_down_on_1_december(client: TestClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The tester's OSV: Rosa president from 2021-10-04, board member from 2021-12-01; María a member from the same day."""
    osv_id = map_osv(client)
    rosa = register(
        client,
        osv_id,
        "45678912",
        full_name="Rosa Huamán Quispe",
        joined_on="2021-10-04",
        birth_year=1975,
        role="president",
    )
    maria = register(
        client, osv_id, "41234567", full_name="María Paredes Soto", joined_on="2021-10-04", birth_year=1980
    )
    assert change_role(client, rosa, "board_member", "2021-12-01").status_code == 200
    return osv_id, rosa, maria


def test_a_president_backdated_into_the_last_presidents_term_is_refused_naming_its_dates(client: TestClient) -> None:
    _, rosa, maria = rosa_steps_down_on_1_december(client)
    before = head(client)

    # María made president from 2021-11-15: Rosa still was until 2021-12-01. Two presidents for two weeks: refused.
    backdated = change_role(client, maria, "president", "2021-11-15")

    problem = assert_problem(backdated, 409, "changed_on", "one_president")
    assert "2021-10-04" in problem["detail"] and "2021-12-01" in problem["detail"] and "2021-11-15" in problem["detail"]
    assert rosa["id"] in problem["detail"] and "Rosa" not in problem["detail"] and "Huamán" not in problem["detail"]
    assert problem["overlapping_term"] == {"from": "2021-10-04", "until": "2021-12-01"}
    assert head(client) == before  # nothing recorded
    read = client.get(f"/members/{maria['id']}", params={"purpose": "follow_up"}).json()
    assert read["memberships"][0]["roles"] == [{"role": "member", "since": "2021-10-04"}]

    # From the day Rosa stepped down, María takes it: the handover day is the new president's first.
    handed_over = change_role(client, maria, "president", "2021-12-01")
    assert handed_over.status_code == 200, handed_over.text
    presidents = [
        m["member_id"]
        for m in client.get(f"/osvs/{rosa['osv_id']}/members?purpose=follow_up").json()
        if m["role"] == "president"
    ]
    assert presidents == [maria["id"]]


def test_a_registration_a_joining_or_a_joining_date_corrected_into_a_past_presidents_term_is_refused(
    client: TestClient,
) -> None:
    osv_id, _, maria = rosa_steps_down_on_1_december(client)
    assert change_role(client, maria, "president", "2022-01-10").status_code == 200
    left = client.post(f"/members/{maria['id']}/departure", json={"left_on": "2022-06-30", "reason": "moved_in_peru"})
    assert left.status_code == 200, left.text
    elsewhere = register(client, map_osv(client), "40333444", joined_on="2021-05-01")
    before = head(client)

    # A new president registered from a day in María's term (2022-01-10 until 2022-06-30): refused on joined_on.
    luis = a_person(
        osv_id=osv_id,
        full_name="Luis Ccori Mamani",
        document_type="DNI",
        document_number="40111222",
        nationality="PE",
        joined_on="2022-03-01",
        role="president",
    )
    problem = assert_problem(client.post("/members", json=luis), 409, "joined_on", "one_president")
    assert "2022-01-10" in problem["detail"] and "2022-06-30" in problem["detail"] and maria["id"] in problem["detail"]
    assert "María" not in problem["detail"] and "Paredes" not in problem["detail"]
    # From before both terms: it would run over Rosa's and María's; the one that ended last is named.
    luis["joined_on"] = "2021-06-01"
    assert assert_problem(client.post("/members", json=luis), 409, "joined_on", "one_president")[
        "overlapping_term"
    ] == {
        "from": "2022-01-10",
        "until": "2022-06-30",
    }
    # Someone of another OSV joining this one as president, backdated alike.
    joining = client.post(
        f"/members/{elsewhere['id']}/memberships",
        json={"osv_id": osv_id, "role": "president", "joined_on": "2022-06-29"},
    )
    assert_problem(joining, 409, "joined_on", "one_president")
    assert head(client) == before

    # From the day María left, Luis is president; his joining corrected to a day of María's term is refused too.
    luis["joined_on"] = "2022-06-30"
    registered = client.post("/members", json=luis)
    assert registered.status_code == 201, registered.text
    luis_member = registered.json()
    correction = f"/members/{luis_member['id']}/memberships/{luis_member['memberships'][0]['membership_id']}/joining-date-correction"
    before = head(client)
    problem = assert_problem(
        client.post(correction, json={"joined_on": "2022-05-01"}), 409, "joined_on", "one_president"
    )
    assert problem["overlapping_term"] == {"from": "2022-01-10", "until": "2022-06-30"}
    assert head(client) == before
    assert client.post(correction, json={"joined_on": "2022-07-15"}).status_code == 200  # later: his term only shortens


def test_the_terms_of_a_roster_recorded_before_are_known_after_a_restart(var: Path, database_url: str) -> None:
    # The roster knows which memberships were president from the counts it recorded: replayed, it knows them again.
    with service_client("engagement", var, database_url) as client:
        _, _, maria = rosa_steps_down_on_1_december(client)
    with service_client("engagement", var, database_url) as client:
        assert_problem(change_role(client, maria, "president", "2021-11-15"), 409, "changed_on", "one_president")
        assert change_role(client, maria, "president", "2021-12-01").status_code == 200


def test_a_members_registration_reads_no_president(client: TestClient) -> None:
    # POST /members is the hot path (`make bench`): only a president's registration reads the OSV's past presidents.
    osv_id, rosa, _ = rosa_steps_down_on_1_december(client)
    application = application_of(client)
    found = application.find
    members_read: list[Any] = []

    def find(aggregate_id: Any, kind: type) -> Any:
        if kind is Member:
            members_read.append(aggregate_id)
        return found(aggregate_id, kind)

    application.find = find
    try:
        register(client, osv_id, "40555666", joined_on="2022-02-01")
        assert members_read == []
        register(client, osv_id, "40777888", joined_on="2022-02-01", role="president")
        assert set(members_read) == {UUID(rosa["id"])}  # the one member the OSV ever seated as president
    finally:
        del application.find


def test_a_president_recorded_on_a_merged_record_is_named_by_the_person_with_the_record_her_new_role_goes_to(
    client: TestClient,
) -> None:
    # Yusmary, president of Los Olivos under her old PTP, was registered again in Comas with her CPP; the two are merged.
    comas, los_olivos = map_osv(client), map_los_olivos(client)
    yusmary = register_yusmary(client, comas, "CPP", CPP)
    her_ptp = register_yusmary(client, los_olivos, "PTP", PTP, joined_on="2024-05-10", role="president")
    assert merge(client, yusmary["id"], her_ptp["id"]).status_code == 201
    presidency = her_ptp["memberships"][0]["membership_id"]
    dayana = a_person(
        osv_id=los_olivos,
        full_name="Dayana Rojas Suárez",
        document_type="DNI",
        document_number="40999888",
        nationality="PE",
        joined_on="2024-06-01",
        role="president",
    )
    before = head(client)

    # Dayana registered as president while Yusmary holds it: the 409 named the merged record as "this OSV's president".
    problem = assert_problem(client.post("/members", json=dayana), 409, "role", "one_president")
    detail = problem["detail"]
    assert detail.startswith(f"member {yusmary['id']} (through membership {presidency}, recorded on member {her_ptp['id']}")
    assert f"POST /members/{her_ptp['id']}/memberships/{presidency}/role" in detail
    assert not any(secret in detail for secret in (*SECRETS, "Dayana", "Rojas"))
    assert head(client) == before

    # Following it: her new role, sent where the 409 said, is taken.
    stepped_down = client.post(
        f"/members/{her_ptp['id']}/memberships/{presidency}/role", json={"role": "member", "changed_on": "2024-07-01"}
    )
    assert stepped_down.status_code == 200, stepped_down.text
    before = head(client)

    # Dayana from a day of Yusmary's term: that term is named by the person too, with the record it is recorded on.
    problem = assert_problem(client.post("/members", json=dayana), 409, "joined_on", "one_president")
    assert problem["detail"].startswith(
        f"member {yusmary['id']} (through membership {presidency}, recorded on member {her_ptp['id']}"
    )
    assert problem["overlapping_term"] == {"from": "2024-05-10", "until": "2024-07-01"}
    assert head(client) == before
    dayana["joined_on"] = "2024-07-01"
    assert client.post("/members", json=dayana).status_code == 201
