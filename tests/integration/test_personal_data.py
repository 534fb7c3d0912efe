"""A person asks to be forgotten: their key is deleted, and with it who they were.

The story runs on SQLite and on PostgreSQL: the event store and the key table
(which lives in the store's own database) are both on the database under test.
What the programme counts (memberships, roles, departures, their public
events) stays as it was.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.embedded import NatsServer
from services.engagement.domain.documents import DocumentIndex
from services.engagement.personaldata import DataKey, DocumentEntry, KeyRing
from shared.clock import today_in_lima
from tests.integration.test_engagement_api import map_osv
from tests.support.api import assert_problem, look_up
from tests.support.clients import application_of, erasures_checked, feed, service_client
from tests.support.identity import signed_in_headers

pytestmark = pytest.mark.timeout(120)

NAME = "Zoraida Quintanilla Berroterán"
DOCUMENT_NUMBER = "002345678"
PHONE = "+51987654321"
SECRETS = (NAME, "Zoraida", "Quintanilla", "Berroterán", DOCUMENT_NUMBER, PHONE, PHONE.removeprefix("+51"))


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def client(var_dir: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", var_dir, database_url) as client:
        yield client


def register_zoraida(client: TestClient, osv_id: str, **overrides: Any) -> dict[str, Any]:
    person = {
        "osv_id": osv_id,
        "full_name": NAME,
        "document_type": "CE",
        "document_number": DOCUMENT_NUMBER,
        "nationality": "VE",
        "sex": "F",
        "joined_on": "2024-03-01",
        "birth_year": 1987,
        "phone": "+51 987 654 321",
        "role": "board_member",
        **overrides,
    }
    response = client.post("/members", json=person)
    assert response.status_code == 201, response.text
    return response.json()


def erase(client: TestClient, member_id: str, erased_on: str = "2025-01-10") -> Any:
    return client.post(f"/members/{member_id}/erasure", json={"erased_on": erased_on})


def keys_of(client: TestClient) -> KeyRing:
    return application_of(client).keys


def find(client: TestClient) -> Any:
    return look_up(client, "CE", DOCUMENT_NUMBER)


def test_after_erasure_staff_see_the_memberships_but_not_who_the_person_was(client: TestClient) -> None:
    osv_id = map_osv(client)
    member = register_zoraida(client, osv_id)
    membership_id = member["memberships"][0]["membership_id"]
    before = client.get(f"/members/{member['id']}?purpose=contact").json()
    assert (before["full_name"], before["phone"], before["birth_year"]) == (NAME, PHONE, 1987)

    erased = erase(client, member["id"])

    assert erased.status_code == 200, erased.text
    shown = client.get(f"/members/{member['id']}?purpose=contact").json()
    assert shown == erased.json()
    assert shown["full_name"] == "[erased]"
    assert (shown["document_number"], shown["phone"], shown["birth_year"]) == (None, None, None)
    assert shown["personal_data"] == "erased"
    # The document type said the person's migration status: nobody reads it once they are forgotten (break30 M2).
    assert shown["document_type"] is None
    # What the programme counts is still there, and still moves on.
    assert (shown["nationality"], shown["sex"], shown["age_band"]) == ("VE", "F", "30-44")
    assert shown["memberships"][0]["role"] == "board_member"
    role = client.post(
        f"/members/{member['id']}/memberships/{membership_id}/role", json={"role": "president", "changed_on": "2025-02-01"}
    )
    assert role.status_code == 200, role.text
    left = client.post(f"/members/{member['id']}/departure", json={"left_on": "2025-03-01", "reason": "deceased"})
    assert left.status_code == 200, left.text
    assert left.json()["full_name"] == "[erased]"
    # Nobody finds her by her document any more, and staff lists show no name.
    assert find(client).status_code == 404
    assert client.get(f"/osvs/{osv_id}/members?purpose=follow_up").json() == []


def test_a_person_is_erased_once_and_asking_again_still_makes_sure_the_key_is_gone(client: TestClient) -> None:
    member = register_zoraida(client, map_osv(client))
    member_id = UUID(member["id"])
    assert keys_of(client).key_of(member_id) is not None

    assert erase(client, member["id"]).status_code == 200
    assert keys_of(client).key_of(member_id) is None

    again = erase(client, member["id"], "2025-02-01")
    assert again.status_code == 409
    assert again.json()["errors"][0]["rule"] == "erase_once"
    assert keys_of(client).key_of(member_id) is None
    assert [e["type"] for e in feed(client)].count("PersonalDataErased") == 1


def test_an_erasure_is_dated_today_at_the_latest_with_no_days_margin(client: TestClient) -> None:
    """Tester 304 F5: ``erased_on`` of tomorrow was taken (the day's margin other dates have), and ``PersonalDataErased``
    went to partners dated ahead. An erasure is done now: tomorrow is 422 ``not_in_future``, nothing forgotten; today is
    taken."""
    member = register_zoraida(client, map_osv(client))
    today = today_in_lima()

    ahead = erase(client, member["id"], (today + timedelta(days=1)).isoformat())

    assert_problem(ahead, 422, "erased_on", "not_in_future")
    assert keys_of(client).key_of(UUID(member["id"])) is not None
    assert "PersonalDataErased" not in [e["type"] for e in feed(client)]
    assert erase(client, member["id"], today.isoformat()).status_code == 200


def test_an_erasure_cut_short_after_the_key_went_is_finished_by_asking_again(client: TestClient) -> None:
    member = register_zoraida(client, map_osv(client))

    # The service stops right after forgetting the document's entry and deleting the keys (the person's
    # and their index entry's, in one statement), before recording the erasure.
    engagement = application_of(client)
    identity = engagement.get_member(UUID(member["id"])).document_identity or ""
    index_id = engagement.documents.entry_of(identity)
    engagement.documents.forget(identity)
    keys_of(client).forget(UUID(member["id"]), index_id)
    halfway = client.get(f"/members/{member['id']}?purpose=contact").json()
    assert (halfway["full_name"], halfway["document_number"], halfway["phone"]) == ("[erased]", None, None)
    assert find(client).status_code == 404  # the index entry can no longer say whose it was

    finished = erase(client, member["id"])

    assert finished.status_code == 200, finished.text
    assert finished.json()["personal_data"] == "erased"
    assert [e["type"] for e in feed(client)].count("PersonalDataErased") == 1
    assert register_zoraida(client, map_osv(client))["id"] != member["id"]


def test_the_feed_renders_every_event_after_erasure_and_the_public_events_do_not_change(client: TestClient) -> None:
    osv_id = map_osv(client)
    member = register_zoraida(client, osv_id)
    membership_id = member["memberships"][0]["membership_id"]
    client.post(f"/members/{member['id']}/memberships/{membership_id}/role", json={"role": "president", "changed_on": "2024-06-01"})
    before = feed(client)

    erase(client, member["id"])

    after = feed(client)
    assert after[: len(before)] == before
    assert [e["type"] for e in after[len(before):]] == ["PersonalDataErased"]
    assert after[-1]["data"] == {"member_id": member["id"], "osv_id": osv_id, "erased_on": "2025-01-10", "occurred_on": "2025-01-10"}
    assert after[-1]["municipality"] == joined_municipality(after) == "150110"  # Comas: the tombstone goes where the membership went
    joined = next(e for e in after if e["type"] == "MemberJoined")
    assert (joined["data"]["age_band"], joined["data"]["nationality"], joined["data"]["sex"]) == ("30-44", "VE", "F")
    assert not any(secret in json.dumps(after, ensure_ascii=False) for secret in SECRETS)


def joined_municipality(events: list[dict]) -> str:
    return next(e for e in events if e["type"] == "MemberJoined")["municipality"]


def test_the_same_document_can_be_registered_again_once_its_holder_is_forgotten(client: TestClient) -> None:
    osv_id = map_osv(client)
    first = register_zoraida(client, osv_id)
    assert client.post("/members", json={**_person(osv_id), "full_name": "Otra"}).status_code == 409

    erase(client, first["id"])
    second = register_zoraida(client, osv_id, joined_on="2025-04-01")

    assert second["id"] != first["id"]
    assert find(client).json()["id"] == second["id"]
    assert client.get(f"/members/{first['id']}?purpose=contact").json()["full_name"] == "[erased]"
    assert client.get(f"/members/{second['id']}?purpose=contact").json()["full_name"] == NAME
    # And registered once again only.
    duplicate = client.post("/members", json=_person(osv_id))
    assert duplicate.status_code == 409
    assert second["id"] in duplicate.json()["detail"]


def test_after_a_restart_kept_people_read_in_clear_and_erased_ones_stay_redacted(database_url: str, var_dir: Path, nats_server: NatsServer) -> None:
    with service_client("engagement", var_dir, database_url) as client:
        osv_id = map_osv(client)
        forgotten = register_zoraida(client, osv_id)
        kept = register_zoraida(client, osv_id, full_name="Luis Alberto Díaz", document_number="001112223", phone=None)
        erase(client, forgotten["id"])
        events = feed(client)

    with service_client("engagement", var_dir, database_url, settings={"nats_url": nats_server.url}) as client:
        assert erasures_checked(client).get(f"/members/{kept['id']}?purpose=contact").json()["full_name"] == "Luis Alberto Díaz"
        assert client.get(f"/members/{forgotten['id']}?purpose=contact").json()["full_name"] == "[erased]"
        assert feed(client) == events


def test_no_file_keeps_the_persons_data_or_their_key_once_they_are_erased(var_dir: Path) -> None:
    """SQLite: every file the service writes is under its var dir (event store and key table, views, -wal, -shm)."""
    with service_client("engagement", var_dir) as client:
        osv_id = map_osv(client)
        member = register_zoraida(client, osv_id)
        with Session(keys_of(client).engine) as session:
            wrapped = session.scalar(select(DataKey.wrapped).where(DataKey.owner_id == member["id"]))
        assert wrapped is not None and wrapped in stored_bytes(var_dir)

        erase(client, member["id"])

        assert wrapped not in stored_bytes(var_dir)
    stored = stored_bytes(var_dir)
    files = {p.name for p in var_dir.rglob("*") if p.is_file()}
    assert {"events.db", "views.db", "master.key"} <= files
    assert member["id"].replace("-", "").encode() in stored  # the member is still in the store...
    for secret in SECRETS:  # ...but not who she was
        for form in (secret.encode(), json.dumps(secret).encode(), secret.encode("utf-16-le")):
            assert form not in stored, f"{secret!r} found under {var_dir}"
    assert wrapped not in stored


def stored_bytes(var_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(var_dir.rglob("*")) if path.is_file())


def _person(osv_id: str) -> dict[str, Any]:
    return {
        "osv_id": osv_id,
        "full_name": NAME,
        "document_type": "CE",
        "document_number": DOCUMENT_NUMBER,
        "nationality": "VE",
        "sex": "F",
        "joined_on": "2024-03-01",
    }


def test_erasure_removes_the_documents_entry_so_no_key_and_no_file_can_confirm_a_guessed_number(client: TestClient, database_url: str) -> None:
    member = register_zoraida(client, map_osv(client))
    engagement = application_of(client)
    identity = engagement.get_member(UUID(member["id"])).document_identity or ""
    digest = engagement.documents.digest(identity)
    never = look_up(client, "CE", "009999999")

    assert erase(client, member["id"]).status_code == 200

    # The store and the directory, read with the index key itself, know nothing of the document any more.
    assert engagement.documents.entry_of(identity) is None
    with Session(engagement.documents.engine) as session:
        assert session.scalar(select(DocumentEntry.digest).where(DocumentEntry.digest == digest)) is None
    notifications = engagement.recorder.select_notifications(start=1, limit=10_000)
    assert all(str(n.originator_id) != str(DocumentIndex.id_for(digest)) for n in notifications)
    if database_url.startswith("sqlite"):
        files = b"".join(path.read_bytes() for path in Path(database_url.removeprefix("sqlite:///")).parent.rglob("*") if path.is_file())
        assert digest.encode() not in files
    # A lookup of the erased person's document answers exactly as one of a document never registered.
    erased = find(client)
    assert (erased.status_code, erased.json()) == (never.status_code, never.json()) == (404, never.json())


@pytest.mark.parametrize("role", ["auditor", "municipal-150132", "evaluator"])
def test_a_lookup_by_document_answers_the_same_whether_or_not_the_person_exists_to_anyone_who_may_not_find_people(
    client: TestClient, role: str
) -> None:
    register_zoraida(client, map_osv(client))
    headers = signed_in_headers(role)
    held = look_up(client, "CE", DOCUMENT_NUMBER, headers=headers)
    never = look_up(client, "CE", "009999999", headers=headers)
    assert (held.status_code, held.json()) == (never.status_code, never.json())
    assert held.status_code == 403


def test_the_document_index_key_is_a_secret_of_its_own_apart_from_the_master_key_and_the_store(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    with service_client("engagement", var_dir) as client:
        register_zoraida(client, map_osv(client))
    index_key = var_dir / "keys" / "engagement-index.key"
    assert index_key.exists() and (var_dir / "engagement" / "master.key").exists()
    assert index_key.parent != var_dir / "engagement"
    assert index_key.read_text() != (var_dir / "engagement" / "master.key").read_text()

    # Given as a setting, the file is neither read nor made.
    other = tmp_path / "other"
    with service_client("engagement", other, settings={"index_key": base64.b64encode(b"k" * 32).decode()}) as client:
        register_zoraida(client, map_osv(client))
    assert not (other / "keys").exists()


def test_a_registration_stores_as_many_events_with_a_document_as_without_so_no_feed_position_tells_who_has_none(client: TestClient) -> None:
    """Tester 164 F1: a registration with a document stored one private event more (the document's index entry), so
    in any feed, an auditor's or a partner's, the gap after a `MemberJoined` told who holds no document: an irregular
    migration status, which the masked record hides from them."""
    osv_id = map_osv(client)
    register_zoraida(client, osv_id)  # the OSV's first: its roster opens
    people = [
        {"document_type": "CE", "document_number": "004567891"},
        {"document_type": "NINGUNO"},
        {"document_type": "PASAPORTE", "document_number": "123456789"},
        {"document_type": "NINGUNO"},
    ]
    for n, document in enumerate(people):
        person = {"osv_id": osv_id, "full_name": f"Persona {n}", "nationality": "VE", "sex": "F", "joined_on": "2024-03-01", **document}
        assert client.post("/members", json=person).status_code == 201
    joined = [e["position"] for e in feed(client) if e["type"] == "MemberJoined"][1:]
    assert len({later - earlier for earlier, later in zip(joined, joined[1:])}) == 1, joined
