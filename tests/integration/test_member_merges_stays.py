"""A person's stays in OSVs around a merge of two of their records (tester 232 F2, F3).

Yusmary was registered twice in Comas, once with her CPP and once with her old PTP: the commonest duplicate, one stay
recorded twice. Both stays active, it is merged since helper 311 (tests/integration/test_member_merges_same_stay.py);
once a departure is recorded on the duplicate's stay it is refused, and the refusal must not lead staff into recording
another departure that never happened (it is counted, and stays for good). Once two records in two OSVs are merged, the person is active in
both: a departure that does not name its membership must not pick one, and its refusal lists those to choose from, each
with the record it is recorded on (tester 239 F5). Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_engagement_api import map_osv
from tests.integration.test_member_merges import CPP, PTP, SECRETS, map_los_olivos, merge, register, yusmary_twice
from tests.support.api import assert_problem
from tests.support.clients import feed_types, head, service_client

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path / "var", database_url) as client:
        yield client


def left(client: TestClient, member_id: str, left_on: str, membership_id: str | None = None, **params: str) -> object:
    url = f"/members/{member_id}" + (f"/memberships/{membership_id}" if membership_id else "") + "/departure"
    return client.post(url, json={"left_on": left_on, "reason": "moved_in_peru"}, params=params or None)


# F2: the same stay recorded twice ----------------------------------------------------------------------------------


def test_the_same_stay_recorded_twice_is_merged_and_no_departure_is_recorded(client: TestClient) -> None:
    """Tester 232 F2's case, refused then ("cannot be merged yet"): both stays active, one joined the same day, it is the
    same stay, merged into the survivor's with no departure (helper 311)."""
    comas = map_osv(client)
    survivor = register(client, comas, "CPP", CPP)
    same_day = register(client, comas, "PTP", PTP)  # typed in again from the same paper list

    merged = merge(client, survivor["id"], same_day["id"])

    assert merged.status_code == 201, merged.text
    assert sorted(m["status"] for m in merged.json()["memberships"]) == ["active", "merged"]
    assert "MemberLeft" not in feed_types(client) and feed_types(client).count("MembershipMerged") == 1


def test_a_duplicate_stay_is_told_apart_from_a_rejoining_whose_departure_is_named_and_dated(client: TestClient) -> None:
    comas = map_osv(client)
    survivor = register(client, comas, "CPP", CPP)  # joined on 2024-03-01
    later = register(client, comas, "PTP", PTP, joined_on="2024-05-10")
    survivors_stay = survivor["memberships"][0]["membership_id"]
    # A departure from the later record, as tester 232 was led to record: its stay ended, counted among those who left.
    assert left(client, later["id"], "2024-06-20").status_code == 200

    refused = merge(client, survivor["id"], later["id"])

    assert_problem(refused, 409, "duplicate_id", "stays_apart")
    detail = refused.json()["detail"]
    assert "cannot be merged:" in detail and "members_left" in detail and "do not record a departure" in detail
    assert "cannot be merged yet" not in detail
    # The one departure that helps is named, with the latest day it may carry: no other gets the merge through.
    told = f"a departure to be recorded: membership {survivors_stay}'s, dated on or before 2024-05-10"
    assert f"Only if the person truly left the OSV and joined it again is {told}" in detail
    assert "record the end of the one that ended" not in detail
    # A person who truly left on or before the later joining is merged.
    assert left(client, survivor["id"], "2024-05-10").status_code == 200
    assert merge(client, survivor["id"], later["id"]).status_code == 201


# F3: a departure without its membership, after a merge ------------------------------------------------------------


def test_a_survivor_active_in_two_osvs_through_the_merge_names_the_membership_to_leave(client: TestClient) -> None:
    survivor, duplicate, comas, los_olivos = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    before = head(client)

    for params in ({"dry_run": "true"}, {}):
        refused = left(client, survivor["id"], "2024-08-01", **params)
        assert_problem(refused, 409, "membership_id", "one_active_membership")
        assert "merged into this one" in refused.json()["detail"]

    assert head(client) == before
    shown = client.get(f"/members/{survivor['id']}", params={"masked": "true"}).json()
    assert {m["osv_id"]: m["status"] for m in shown["memberships"]} == {comas: "active", los_olivos: "active"}


def test_a_survivors_only_active_stay_on_the_merged_record_is_the_one_its_departure_closes(client: TestClient) -> None:
    survivor, duplicate, comas, los_olivos = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    comas_stay = survivor["memberships"][0]["membership_id"]
    assert left(client, survivor["id"], "2024-06-01", comas_stay).status_code == 200

    answered = left(client, survivor["id"], "2024-08-01")

    assert answered.status_code == 200, answered.text  # was 409 `leave_once`: "already left the OSV on 2024-06-01"
    body = answered.json()
    by_osv = {m["osv_id"]: (m["status"], m["left_on"], m["recorded_on"]) for m in body["memberships"]}
    assert by_osv == {comas: ("left", "2024-06-01", None), los_olivos: ("left", "2024-08-01", duplicate["id"])}
    assert (body["osv_id"], body["membership"]["left_on"]) == (los_olivos, "2024-08-01")
    assert answered.headers["etag"] == f'"{body["version"]}"'
    assert feed_types(client).count("MemberLeft") == 2


# Tester 239 F5: the refusal names the memberships to choose from --------------------------------------------------


def test_a_departure_refused_after_a_merge_lists_each_active_stay_with_the_record_it_is_recorded_on(client: TestClient) -> None:
    survivor, duplicate, comas, los_olivos = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    comas_stay = survivor["memberships"][0]["membership_id"]
    los_olivos_stay = duplicate["memberships"][0]["membership_id"]

    problem = assert_problem(left(client, survivor["id"], "2024-08-01"), 409, "membership_id", "one_active_membership")

    assert problem["active_memberships"] == [
        {"membership_id": comas_stay, "osv_id": comas, "joined_on": "2024-03-01", "recorded_on": None},
        {"membership_id": los_olivos_stay, "osv_id": los_olivos, "joined_on": "2024-05-10", "recorded_on": duplicate["id"]},
    ]
    detail = problem["detail"]
    assert f"membership {comas_stay} (OSV {comas}, joined 2024-03-01)" in detail
    assert f"membership {los_olivos_stay} (OSV {los_olivos}, joined 2024-05-10, recorded on member {duplicate['id']}" in detail
    assert f"POST /members/{survivor['id']}/memberships/{comas_stay}/departure" in detail
    assert f"POST /members/{duplicate['id']}/memberships/{los_olivos_stay}/departure" in detail
    assert not any(secret in detail for secret in SECRETS)

    # Following it: the Los Olivos stay left where it is recorded; the shortcut then closes the one left, in Comas.
    assert left(client, duplicate["id"], "2024-07-15", los_olivos_stay).status_code == 200
    answered = left(client, survivor["id"], "2024-08-01")
    assert answered.status_code == 200, answered.text
    assert {m["osv_id"]: m["left_on"] for m in answered.json()["memberships"]} == {comas: "2024-08-01", los_olivos: "2024-07-15"}


def test_a_departure_refused_for_a_member_active_in_two_osvs_without_a_merge_lists_both(client: TestClient) -> None:
    comas, los_olivos = map_osv(client), map_los_olivos(client)
    yusmary = register(client, comas, "CPP", CPP)
    joined = client.post(
        f"/members/{yusmary['id']}/memberships", json={"osv_id": los_olivos, "role": "member", "joined_on": "2024-05-10"}
    )
    assert joined.status_code == 201, joined.text
    comas_stay, los_olivos_stay = yusmary["memberships"][0]["membership_id"], joined.json()["membership_id"]

    problem = assert_problem(left(client, yusmary["id"], "2024-08-01"), 409, "membership_id", "one_active_membership")

    assert problem["active_memberships"] == [
        {"membership_id": comas_stay, "osv_id": comas, "joined_on": "2024-03-01", "recorded_on": None},
        {"membership_id": los_olivos_stay, "osv_id": los_olivos, "joined_on": "2024-05-10", "recorded_on": None},
    ]
    detail = problem["detail"]
    assert "merged" not in detail
    for stay in (comas_stay, los_olivos_stay):
        assert f"POST /members/{yusmary['id']}/memberships/{stay}/departure" in detail
