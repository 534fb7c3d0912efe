"""Field staff typed a member's joining date wrong: `POST /members/{id}/memberships/{membership_id}/joining-date-correction`.

The membership reads back with the corrected day; partners get `MemberJoiningDateCorrected` (and `MemberAgeBandCorrected`
when the age on joining falls in another band), never the person; a date the membership's later facts, the OSV's
dissolution or the calendar rule out is refused, naming the field and the rule. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_engagement_api import dissolve_osv, fund_osv, map_osv
from tests.integration.test_personal_data import NAME, register_zoraida
from tests.support.api import assert_problem
from tests.support.clients import feed, service_client
from tests.support.identity import signed_in_headers

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path / "var", database_url) as client:
        yield client


def correct_joining(client: TestClient, member: dict[str, Any], joined_on: str, headers: dict[str, str] | None = None,
                    membership_id: str | None = None) -> Any:
    membership_id = membership_id or member["memberships"][0]["membership_id"]
    return client.post(
        f"/members/{member['id']}/memberships/{membership_id}/joining-date-correction", json={"joined_on": joined_on}, headers=headers
    )


def corrections_in(client: TestClient) -> list[dict[str, Any]]:
    return [e for e in feed(client) if e["type"] in ("MemberJoiningDateCorrected", "MemberAgeBandCorrected")]


def test_a_joining_date_typed_wrong_reads_back_corrected_and_partners_get_both_days_never_the_person(client: TestClient) -> None:
    # A paper list typed in with the typing day: Zoraida (born 1987) joined in 2022, not in 2024; 2012 would be another band.
    member = register_zoraida(client, map_osv(client), role="member")

    corrected = correct_joining(client, member, "2022-03-01")

    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["joined_on"], corrected.json()["age_band"]) == ("2022-03-01", "30-44")
    read = client.get(f"/members/{member['id']}", params={"purpose": "correction"})
    assert read.status_code == 200, read.text
    after = read.json()
    assert after["memberships"][0]["joined_on"] == "2022-03-01" and after["joined_on"] == "2022-03-01"
    (published,) = corrections_in(client)
    assert published["type"] == "MemberJoiningDateCorrected"
    assert {k: published["data"][k] for k in ("previous_joined_on", "joined_on", "left_on", "nationality", "sex")} == {
        "previous_joined_on": "2024-03-01", "joined_on": "2022-03-01", "left_on": None, "nationality": "VE", "sex": "F",
    }
    assert NAME not in str(published) and "1987" not in str(published)
    assert [e["type"] for e in feed(client)].count("MemberJoined") == 1  # the same membership, not a second joining

    assert correct_joining(client, member, "2012-03-01").status_code == 200  # 25 on joining: 18-29
    assert [e["type"] for e in corrections_in(client)][1:] == ["MemberJoiningDateCorrected", "MemberAgeBandCorrected"]


def test_a_joining_date_is_refused_for_its_field_and_rule_and_nothing_is_recorded(client: TestClient) -> None:
    osv_id = map_osv(client)
    member = register_zoraida(client, osv_id, role="member", birth_year=2005)
    membership_id = member["memberships"][0]["membership_id"]
    assert client.post(f"/members/{member['id']}/memberships/{membership_id}/departure",
                       json={"left_on": "2024-07-01", "reason": "withdrew"}).status_code == 200

    assert_problem(correct_joining(client, member, "2024-07-02"), 422, "joined_on", "not_after_left_on")
    assert_problem(correct_joining(client, member, "2004-12-31"), 422, "joined_on", "not_before_birth_year")
    future = correct_joining(client, member, "2999-01-01")
    assert_problem(future, 422, "joined_on", "not_in_future")
    assert "a day's margin" in future.text  # as every recorded date: a joining registered for tomorrow in Lima is taken
    assert_problem(correct_joining(client, member, "2024-13-01"), 422, "joined_on", "iso_8601_date")
    assert correct_joining(client, member, "2024-03-01").status_code == 200  # the same day: nothing to record
    assert corrections_in(client) == []

    assert correct_joining(client, member, "2024-01-01", membership_id=str(uuid4())).status_code == 404
    assert client.post(f"/members/{uuid4()}/memberships/{membership_id}/joining-date-correction",
                       json={"joined_on": "2024-01-01"}).status_code == 404
    dissolve_osv(client, osv_id, "2024-06-30")
    assert correct_joining(client, member, "2024-06-30").status_code == 200  # on the day of the dissolution: taken


def test_a_joining_date_after_the_osvs_dissolution_or_after_an_enrolment_is_refused(client: TestClient) -> None:
    osv_id = map_osv(client)
    member = register_zoraida(client, osv_id, role="member")
    grant_id = fund_osv(client, osv_id)
    assert client.post(f"/members/{member['id']}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-04-01"}).status_code == 201

    assert_problem(correct_joining(client, member, "2024-04-02"), 422, "joined_on", "not_after_enrolled_on")
    dissolve_osv(client, osv_id, "2024-03-15")
    assert_problem(correct_joining(client, member, "2024-03-20"), 409, "osv_id", "osv_not_dissolved")
    assert corrections_in(client) == []


def test_a_correction_sent_again_with_its_idempotency_key_is_made_once(client: TestClient) -> None:
    member = register_zoraida(client, map_osv(client), role="member")
    key = {"Idempotency-Key": f'"{uuid4()}"'}

    first = correct_joining(client, member, "2022-03-01", key)
    again = correct_joining(client, member, "2022-03-01", key)

    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert len(corrections_in(client)) == 1


def test_staff_correct_a_joining_date_and_a_municipal_focal_point_may_not(client: TestClient) -> None:
    member = register_zoraida(client, map_osv(client), role="member")
    refused = correct_joining(client, member, "2022-03-01", signed_in_headers("municipal-150132"))
    assert refused.status_code == 403
    assert corrections_in(client) == []
