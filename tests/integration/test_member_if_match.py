"""A member's corrections made at once by two staff members (a DPO rectifying a person's data while a coordinator
corrects a joining date typed wrong): with the `ETag` read sent in `If-Match`, the later is refused (412) rather than
taken over a record that changed unseen. On SQLite and PostgreSQL, as the store is the database under test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_engagement_api import fund_osv, map_osv
from tests.integration.test_joining_date_correction import correct_joining
from tests.integration.test_personal_data import register_zoraida
from tests.support.api import assert_problem
from tests.support.clients import at_once, head, service_client

pytestmark = pytest.mark.timeout(120)


def read_for_correction(client: TestClient, member: dict[str, str]) -> Any:
    return client.get(f"/members/{member['id']}", params={"purpose": "correction"})


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path / "var", database_url) as client:
        yield client


def test_a_members_correction_made_on_a_stale_etag_is_refused_and_records_nothing(client: TestClient) -> None:
    member = register_zoraida(client, map_osv(client), role="member")
    read = read_for_correction(client, member)
    tag = read.headers["ETag"]
    assert tag == f'"{read.json()["version"]}"'

    joining = correct_joining(client, member, "2022-03-01", headers={"If-Match": tag})
    assert joining.status_code == 200, joining.text
    assert joining.headers["ETag"] == read_for_correction(client, member).headers["ETag"] != tag

    written = head(client)
    stale = client.post(f"/members/{member['id']}/correction", json={"phone": "+51 912 000 111"}, headers={"If-Match": tag})
    problem = assert_problem(stale, 412, "If-Match", "current_version")
    assert f'"{problem["current_version"]}"' == stale.headers["ETag"] == joining.headers["ETag"]
    assert "+51" not in stale.text and "912" not in stale.text  # nothing of the person in the refusal
    assert_problem(correct_joining(client, member, "2022-04-01", headers={"If-Match": tag}), 412, "If-Match", "current_version")
    assert head(client) == written

    taken = client.post(f"/members/{member['id']}/correction", json={"phone": "+51 912 000 111"}, headers={"If-Match": joining.headers["ETag"]})
    assert taken.status_code == 200, taken.text
    assert taken.headers["ETag"] == read_for_correction(client, member).headers["ETag"]


def test_of_two_joining_date_corrections_sent_at_once_with_the_same_etag_one_is_taken(client: TestClient) -> None:
    member = register_zoraida(client, map_osv(client), role="member")
    tag = read_for_correction(client, member).headers["ETag"]
    days = ["2022-03-01", "2022-04-01", "2022-05-02"]
    answers = at_once(len(days), lambda i: correct_joining(client, member, days[i], headers={"If-Match": tag}))
    assert sorted(a.status_code for a in answers) == [200, 412, 412], [a.text for a in answers]
    taken = next(a for a in answers if a.status_code == 200)
    assert read_for_correction(client, member).json()["memberships"][0]["joined_on"] == taken.json()["joined_on"]


def test_a_role_given_on_a_stale_etag_is_refused_and_the_role_given_meanwhile_stands(client: TestClient) -> None:
    """Two coordinators at once: one makes Zoraida president, the other, from the same reading, a board member."""
    member = register_zoraida(client, map_osv(client), role="member")
    tag = read_for_correction(client, member).headers["ETag"]
    role_path = f"/members/{member['id']}/memberships/{member['memberships'][0]['membership_id']}/role"

    president = client.post(role_path, json={"role": "president", "changed_on": "2024-06-01"}, headers={"If-Match": tag})
    assert president.status_code == 200, president.text
    assert president.headers["ETag"] == read_for_correction(client, member).headers["ETag"] != tag

    written = head(client)
    stale = client.post(role_path, json={"role": "board_member", "changed_on": "2024-06-01"}, headers={"If-Match": tag})
    assert f'"{assert_problem(stale, 412, "If-Match", "current_version")["current_version"]}"' == president.headers["ETag"]
    assert head(client) == written
    assert read_for_correction(client, member).json()["memberships"][0]["role"] == "president"

    taken = client.post(role_path, json={"role": "board_member", "changed_on": "2024-07-01"}, headers={"If-Match": president.headers["ETag"]})
    assert (taken.status_code, taken.json()["role"]) == (200, "board_member"), taken.text


def test_the_registration_and_a_departure_answer_the_members_etag(client: TestClient) -> None:
    registered = client.post("/members", json={
        "osv_id": map_osv(client), "full_name": "Yusmary Carolina Pérez Rangel", "document_type": "CE", "document_number": "003456789",
        "nationality": "VE", "sex": "F", "joined_on": "2024-03-01", "birth_year": 1990, "role": "member",
    })
    assert registered.status_code == 201 and registered.headers["ETag"] == f'"{registered.json()["version"]}"', registered.text
    member = registered.json()
    role = client.post(
        f"/members/{member['id']}/memberships/{member['memberships'][0]['membership_id']}/role",
        json={"role": "board_member", "changed_on": "2024-04-01"}, headers={"If-Match": registered.headers["ETag"]},
    )
    assert role.status_code == 200, role.text
    left = client.post(f"/members/{member['id']}/departure", json={"left_on": "2024-05-01", "reason": "moved_in_peru"})
    assert left.status_code == 200 and left.headers["ETag"] == f'"{left.json()["version"]}"' != role.headers["ETag"], left.text


def test_joining_another_osv_and_leaving_it_answer_the_members_etag(client: TestClient) -> None:
    """Tester F5: of the changes to a member's memberships, only the role change and the joining date's correction
    answered its `ETag`; the next change after a joining or a departure took a read first."""
    member = register_zoraida(client, map_osv(client), role="member")
    joined = client.post(f"/members/{member['id']}/memberships", json={"osv_id": map_osv(client), "role": "member", "joined_on": "2024-04-01"})
    assert joined.status_code == 201, joined.text
    assert joined.headers["ETag"] == read_for_correction(client, member).headers["ETag"]
    assert joined.json()["membership_id"] == read_for_correction(client, member).json()["memberships"][-1]["membership_id"]

    left = client.post(
        f"/members/{member['id']}/memberships/{joined.json()['membership_id']}/departure", json={"left_on": "2024-05-01", "reason": "moved_in_peru"}
    )
    assert left.status_code == 200 and left.json()["left_on"] == "2024-05-01", left.text
    assert left.headers["ETag"] == read_for_correction(client, member).headers["ETag"] != joined.headers["ETag"]
    # and that tag is the one the next change checks
    role = client.post(
        f"/members/{member['id']}/memberships/{member['memberships'][0]['membership_id']}/role",
        json={"role": "board_member", "changed_on": "2024-06-01"}, headers={"If-Match": left.headers["ETag"]},
    )
    assert role.status_code == 200, role.text


def test_taking_part_in_a_project_and_withdrawing_answer_the_members_etag(client: TestClient) -> None:
    """Helper 162's note: an enrolment and a withdrawal change the member's version too, and answered no `ETag`."""
    osv_id = map_osv(client)
    member = register_zoraida(client, osv_id, role="member", joined_on="2024-03-01")
    grant_id = fund_osv(client, osv_id)
    enrolled = client.post(f"/members/{member['id']}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-04-02"})
    assert enrolled.status_code == 201 and enrolled.json()["grant_id"] == grant_id, enrolled.text
    assert enrolled.headers["ETag"] == read_for_correction(client, member).headers["ETag"]
    withdrew = client.post(f"/members/{member['id']}/participations/{grant_id}/withdrawal", json={"withdrew_on": "2024-05-02"})
    assert withdrew.status_code == 200 and withdrew.json()["withdrew_on"] == "2024-05-02", withdrew.text
    assert withdrew.headers["ETag"] == read_for_correction(client, member).headers["ETag"] != enrolled.headers["ETag"]


def test_staff_read_a_member_masked_for_a_change_that_needs_no_personal_data_unlogged(client: TestClient) -> None:
    """Tester 158 F16: the only way for staff to a member's `ETag` was a purpose and a logged read of the person's
    data, for a role change or a joining date that touches none of it: the DPO's access log filled with reads."""
    member = register_zoraida(client, map_osv(client), role="member")
    assert_problem(client.get(f"/members/{member['id']}"), 422, "purpose", "purpose_required")
    masked = client.get(f"/members/{member['id']}", params={"masked": "true"})
    assert masked.status_code == 200, masked.text
    assert "Zoraida" not in masked.text and member["memberships"][0]["membership_id"] in masked.text
    assert masked.headers["ETag"] == f'"{masked.json()["version"]}"'
    role = client.post(
        f"/members/{member['id']}/memberships/{member['memberships'][0]['membership_id']}/role",
        json={"role": "board_member", "changed_on": "2024-04-01"}, headers={"If-Match": masked.headers["ETag"]},
    )
    assert role.status_code == 200, role.text
    roster = client.get(f"/osvs/{member['memberships'][0]['osv_id']}/members", params={"masked": "true"})
    assert roster.status_code == 200 and "Zoraida" not in roster.text and member["id"] in roster.text, roster.text
    assert client.get(f"/members/{member['id']}/access-log").json() == []
    # a plain read is logged as before
    assert client.get(f"/members/{member['id']}", params={"purpose": "correction"}).status_code == 200
    assert [a["purpose"] for a in client.get(f"/members/{member['id']}/access-log").json()] == ["correction"]
