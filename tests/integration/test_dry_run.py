"""A dry run (``?dry_run=true``) answers what the request would get, from the service's real rules, and writes nothing.

Registry and engagement over HTTP, their stores on SQLite and on PostgreSQL.
The spreadsheet import checks every row this way before it records any.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.engagement.api import create_app as engagement_app
from services.registry.api import create_app as registry_app
from tests.support.api import Upstream, assert_problem, created, look_up
from tests.support.clients import service_client
from tests.support.identity import signed_in_headers

pytestmark = pytest.mark.timeout(180)

AN_OSV = {"name": "Mujeres Emprendedoras de Comas", "district": "comas", "mapped_on": "2021-03-15"}
DRY = {"dry_run": "true"}


@pytest.fixture
def registry(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("registry", tmp_path, database_url) as client:
        yield client


@pytest.fixture
def engagement(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path, database_url) as client:
        yield client


def application(client: TestClient) -> Any:
    return client.app.state.runtime.app  # type: ignore[attr-defined]


def stored(client: TestClient) -> int:
    """How many events the service's store holds, private ones included."""
    return application(client).log_head()


def a_person(osv_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "osv_id": osv_id,
        "full_name": "María José Pérez Añez",
        "document_type": "CPP",
        "document_number": "ab 123456",
        "nationality": "VE",
        "sex": "F",
        "joined_on": "2021-04-01",
        **changes,
    }


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


# Registry ---------------------------------------------------------------------------------------


def test_a_dry_run_answers_as_the_command_would_and_stores_nothing(registry: TestClient) -> None:
    dry = registry.post("/osvs", json=AN_OSV, params=DRY)

    assert dry.status_code == 201 and dry.headers["dry-run"] == "true"
    answer = dry.json()
    assert (answer["name"], answer["district"], answer["zone"], answer["version"]) == (
        AN_OSV["name"], "Comas", "Lima Norte", 0  # the version stored: none
    )
    assert stored(registry) == 0
    assert registry.get("/osvs").json() == []
    assert registry.get(f"/osvs/{answer['id']}").status_code == 404

    real = registry.post("/osvs", json=AN_OSV)
    assert "dry-run" not in real.headers and real.json()["version"] == 1
    assert {k: v for k, v in real.json().items() if k not in ("id", "version")} == {k: v for k, v in answer.items() if k not in ("id", "version")}


def test_a_dry_run_is_refused_in_the_same_words_as_the_command(registry: TestClient) -> None:
    for body in ({**AN_OSV, "district": "Miraflores de Arequipa"}, {**AN_OSV, "mapped_on": "15/03/2021"}, {**AN_OSV, "colour": "red"}):
        dry = registry.post("/osvs", json=body, params=DRY)
        real = registry.post("/osvs", json=body)
        assert dry.status_code == real.status_code == 422
        assert dry.json() == real.json()
    osv_id = created(registry.post("/osvs", json=AN_OSV))["id"]
    dissolution = {"dissolved_on": "2021-06-01", "reason": "inactive"}
    created(registry.post(f"/osvs/{osv_id}/dissolution", json=dissolution))
    before = stored(registry)

    dry = registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-01"}, params=DRY)
    real = registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-01"})

    assert dry.status_code == real.status_code == 409
    assert dry.json() == real.json()
    assert stored(registry) == before


def test_a_dry_run_on_a_record_that_exists_changes_nothing_of_it(registry: TestClient) -> None:
    osv_id = created(registry.post("/osvs", json=AN_OSV))["id"]
    before = stored(registry)

    dry = registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-01"}, params=DRY)

    assert dry.status_code == 201 and dry.json()["contact"]["status"] == "lost" and dry.json()["version"] == 1
    assert stored(registry) == before
    assert registry.get(f"/osvs/{osv_id}").json()["contact"]["status"] == "in_touch"


def test_a_dry_runs_answer_gives_the_version_stored_never_the_one_it_would_reach(registry: TestClient) -> None:
    """Tester F4: a dry run's body said `"version": 2` of an OSV at version 1. A client building `If-Match` from it
    sent a version never stored, which matched the next change someone else made, unseen."""
    osv_id = created(registry.post("/osvs", json=AN_OSV))["id"]

    dry = registry.post(f"/osvs/{osv_id}/name-correction", json={"name": "Mujeres Emprendedoras de Comas Norte"}, params=DRY)
    assert dry.status_code == 200 and dry.json()["name"] == "Mujeres Emprendedoras de Comas Norte", dry.text
    assert dry.json()["version"] == registry.get(f"/osvs/{osv_id}").json()["version"] == 1
    # two changes in one dry run (a merge saves both OSVs): each still the version stored
    other = created(registry.post("/osvs", json={**AN_OSV, "name": "Club de Madres Santa Rosa de Comas"}))["id"]
    merged = registry.post(f"/osvs/{osv_id}/merges", json={"duplicate_id": other, "merged_on": "2021-04-01"}, params=DRY)
    assert merged.status_code == 201 and merged.json()["merged_from"] == [other] and merged.json()["version"] == 1, merged.text

    # someone else's change meanwhile: the tag built from the dry run's body is stale, as the one read was
    created(registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-01"}))
    stale = registry.post(
        f"/osvs/{osv_id}/name-correction", json={"name": "Mujeres Emprendedoras de Comas Norte"}, headers={"If-Match": f'"{dry.json()["version"]}"'}
    )
    assert_problem(stale, 412, "If-Match", "current_version")


def test_dry_run_must_be_a_boolean_and_false_is_a_real_request(registry: TestClient) -> None:
    assert_problem(registry.post("/osvs", json=AN_OSV, params={"dry_run": "maybe"}), 422, "dry_run", "bool_parsing")
    # Tester 136 F1: the flag written without a value, to mean "try it", recorded the OSV for real.
    for bare in ("/osvs?dry_run", "/osvs?dry_run=", "/osvs?dry_run=%20"):
        problem = assert_problem(registry.post(bare, json=AN_OSV), 422, "dry_run", "bool_parsing")
        assert "given without a value" in problem["detail"]
    assert stored(registry) == 0

    real = registry.post("/osvs", json=AN_OSV, params={"dry_run": "false"})

    assert real.status_code == 201 and "dry-run" not in real.headers
    assert len(registry.get("/osvs").json()) == 1


def test_a_dry_run_header_is_a_dry_run_as_the_parameter_is(registry: TestClient) -> None:
    """Front ends were told they may send `Dry-Run` (CORS), and the services read only `?dry_run=`: a `Dry-Run: true`
    header recorded the meeting for real (tester 165 F8)."""
    key = str(uuid4())
    dry = registry.post("/osvs", json=AN_OSV, headers={"Dry-Run": "true", **keyed(key)})

    assert dry.status_code == 201 and dry.headers["dry-run"] == "true" and dry.json()["version"] == 0
    assert stored(registry) == 0
    both = registry.post("/osvs", json=AN_OSV, params=DRY, headers={"Dry-Run": "yes"})
    assert both.status_code == 201 and both.headers["dry-run"] == "true"
    assert stored(registry) == 0

    plain = registry.post("/osvs", json=AN_OSV, headers={"Dry-Run": "perhaps"})
    unread = assert_problem(plain, 422, "Dry-Run", "bool_parsing")
    blank = assert_problem(registry.post("/osvs", json=AN_OSV, headers={"Dry-Run": ""}), 422, "Dry-Run", "bool_parsing")
    disagree = assert_problem(registry.post("/osvs", json=AN_OSV, params=DRY, headers={"Dry-Run": "false"}), 422, "Dry-Run", "bool_parsing")
    assert unread["detail"] == "Dry-Run: Dry-Run must be true or false" and "given without a value" in blank["detail"]
    assert disagree["detail"] == "Dry-Run: dry_run and Dry-Run must say the same, true or false: nothing was run, for real or not"
    assert stored(registry) == 0

    # Sent twice, or as one list (RFC 9110: the same request), the header says one thing or is refused (tester 166 F4, F5).
    listed = registry.post("/osvs", json=AN_OSV, headers={"Dry-Run": "true, TRUE"})
    assert listed.status_code == 201 and listed.headers["dry-run"] == "true"
    twice = registry.post("/osvs", json=AN_OSV, headers=[("Dry-Run", "true"), ("Dry-Run", "false")])
    assert assert_problem(twice, 422, "Dry-Run", "bool_parsing")["detail"] == (
        "Dry-Run: Dry-Run is given more than once, saying true and false: nothing was run, for real or not"
    )
    assert stored(registry) == 0

    real = registry.post("/osvs", json=AN_OSV, headers={"Dry-Run": "false", **keyed(key)})  # the dry run kept no key

    assert real.status_code == 201 and "dry-run" not in real.headers and "idempotent-replayed" not in real.headers
    assert len(registry.get("/osvs").json()) == 1


def test_a_dry_run_value_not_a_boolean_is_refused_only_to_a_caller_the_route_lets_in(registry: TestClient) -> None:
    """A value that is not a boolean was refused before the token was read: a caller without one got 422 where any other
    write gets 401 (tester 166 observation). Access is answered first; the 422 is for a caller let in."""
    bad = [
        {"params": {"dry_run": "maybe"}},
        {"params": {"dry_run": ""}},
        {"headers": {"Dry-Run": "perhaps"}},
        {"params": DRY, "headers": {"Dry-Run": "false"}},
    ]
    for signed_out in ({"Authorization": ""}, {"Authorization": "Bearer not-a-token"}):
        for sent in bad:
            response = registry.post("/osvs", json=AN_OSV, params=sent.get("params"), headers={**sent.get("headers", {}), **signed_out})
            assert_problem(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer") and "dry-run" not in response.headers
    not_allowed = registry.post("/osvs", json=AN_OSV, headers={"Dry-Run": "perhaps", **signed_in_headers("auditor")})
    assert assert_problem(not_allowed, 403)["permission"]
    assert stored(registry) == 0

    assert_problem(registry.post("/osvs", json=AN_OSV, params={"dry_run": "maybe"}), 422, "dry_run", "bool_parsing")
    plain = registry.post("/osvs", json=AN_OSV, headers={"Dry-Run": "perhaps"})
    unread = assert_problem(plain, 422, "Dry-Run", "bool_parsing")
    assert unread["detail"] == "Dry-Run: Dry-Run must be true or false"
    # A key carried out already is answered again before the route runs: a value that is not a boolean still gets the 422.
    key = str(uuid4())
    assert registry.post("/osvs", json=AN_OSV, headers=keyed(key)).status_code == 201
    again = registry.post("/osvs", json=AN_OSV, headers={"Dry-Run": "perhaps", **keyed(key)})
    assert assert_problem(again, 422, "Dry-Run", "bool_parsing") == unread
    assert again.content == plain.content and again.headers["content-type"] == plain.headers["content-type"]  # one shape (tester 168 F3)
    assert len(registry.get("/osvs").json()) == 1


def test_a_dry_run_with_a_key_records_no_key_so_the_real_request_may_follow_with_it(registry: TestClient) -> None:
    key = str(uuid4())

    dry = registry.post("/osvs", json=AN_OSV, params=DRY, headers=keyed(key))
    real = registry.post("/osvs", json=AN_OSV, headers=keyed(key))

    assert dry.status_code == real.status_code == 201
    assert "idempotent-replayed" not in real.headers
    assert len(registry.get("/osvs").json()) == 1


def test_a_dry_run_of_a_request_carried_out_already_gets_its_first_answer(registry: TestClient) -> None:
    key = str(uuid4())
    first = created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))

    dry = registry.post("/osvs", json=AN_OSV, params=DRY, headers=keyed(key))

    assert dry.status_code == 201 and dry.headers["idempotent-replayed"] == "true"
    assert dry.json() == first
    assert len(registry.get("/osvs").json()) == 1


# Engagement: personal data ----------------------------------------------------------------------


def key_rows(client: TestClient) -> int:
    engine = application(client).keys.engine
    with engine.connect() as connection:
        return connection.execute(text("select count(*) from personal_data_keys")).scalar_one()


def without_ids(member: dict[str, Any]) -> dict[str, Any]:
    """A member's answer without the ids each registration draws afresh (its own and its memberships')."""
    memberships = [{k: v for k, v in m.items() if k != "membership_id"} for m in member["memberships"]]
    return {**{k: v for k, v in member.items() if k != "id"}, "memberships": memberships}


def test_a_dry_run_registration_answers_the_person_and_keeps_no_key_no_document_and_no_event(engagement: TestClient) -> None:
    osv_id = Upstream(application(engagement)).osv_mapped()

    dry = engagement.post("/members", json=a_person(osv_id), params=DRY)

    assert dry.status_code == 201, dry.text
    assert stored(engagement) == 0 and key_rows(engagement) == 0
    assert look_up(engagement, "CPP", "AB123456").status_code == 404
    # The document was not claimed: the real registration takes it, and answers as the dry run did (masked, as
    # every command's answer is: the person's data takes a read stating its purpose).
    real = created(engagement.post("/members", json=a_person(osv_id)))
    assert dry.json()["version"] == 0 < real["version"]  # a dry run's: the version stored, none
    assert {**without_ids(dry.json()), "version": real["version"]} == without_ids(real)
    shown = look_up(engagement, "CPP", "AB123456").json()
    assert (shown["full_name"], shown["document_number"]) == ("María José Pérez Añez", "AB123456")


def test_a_dry_run_of_a_person_registered_already_is_refused_as_the_registration_would_be(engagement: TestClient) -> None:
    osv_id = Upstream(application(engagement)).osv_mapped()
    holder = created(engagement.post("/members", json=a_person(osv_id)))
    before = stored(engagement)

    dry = engagement.post("/members", json=a_person(osv_id, full_name="Otra Persona"), params=DRY)
    real = engagement.post("/members", json=a_person(osv_id, full_name="Otra Persona"))

    assert dry.status_code == real.status_code and dry.status_code in (409, 422)
    assert dry.json() == real.json()
    # Nothing of the registration is stored; each answer named the holder, as a lookup by their document would, and
    # each is on their access log, the dry run's too (a security tester's finding): a read is logged, dry run or not.
    since = application(engagement).recorder.select_notifications(start=before + 1, limit=100)
    assert [n.topic.rsplit(":", 1)[-1] for n in since] == ["AccessLog.Opened", "AccessLog.PersonalDataRead", "AccessLog.PersonalDataRead"]
    log = engagement.get(f"/members/{holder['id']}/access-log").json()
    assert [(a["purpose"], a["disclosure"]) for a in log] == [("duplicate_check", "registration_refused")] * 2


def test_a_dry_run_erasure_forgets_nobody(engagement: TestClient) -> None:
    osv_id = Upstream(application(engagement)).osv_mapped()
    member = created(engagement.post("/members", json=a_person(osv_id)))
    before = (stored(engagement), key_rows(engagement))

    dry = engagement.post(f"/members/{member['id']}/erasure", json={"erased_on": "2021-05-01"}, params=DRY)

    assert dry.status_code == 200 and dry.json()["personal_data"] == "erased"
    assert (stored(engagement), key_rows(engagement)) == before
    assert engagement.get(f"/members/{member['id']}", params={"purpose": "data_subject_request"}).json()["full_name"] == "María José Pérez Añez"


# The contract -----------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [registry_app, engagement_app])
def test_every_write_documents_dry_run_and_no_read_does(factory: Any) -> None:
    spec = factory().openapi()
    writes = 0
    for operations in spec["paths"].values():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            if method in ("post", "put", "patch"):
                writes += 1
                assert "dry_run" in names and "Dry-Run" in names, operation["summary"]
            else:
                assert "dry_run" not in names and "Dry-Run" not in names
    assert writes > 5
