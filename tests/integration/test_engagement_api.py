"""The engagement service over HTTP, on its real SQLite store, with NATS out of reach.

Members' names and document numbers reach staff through the API and nobody
else: not the file on disk, not the event feed. Engagement learns of OSVs and
grants from registry's and funding's events; here those events are handed to
its local views' real handlers.
"""

from __future__ import annotations

import itertools
import json
import stat
import unicodedata
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from devtools.embedded import NatsServer
from shared.errors import LAG_RETRY_AFTER_SECONDS
from tests.support.api import assert_problem, look_up
from tests.support.clients import application_of, erasures_checked, feed_types, head, service_client

pytestmark = pytest.mark.timeout(60)

OSV_ID = str(uuid4())


def registry_publishes(client: TestClient, kind: str, **data: Any) -> None:
    """Hand a registry event to engagement's OSV directory, as its NATS consumer would."""
    directory = application_of(client).osvs
    position = directory.applied_position() + 1
    directory.apply([{"type": kind, "source": "urn:osv-platform:registry", "position": position, "data": data}])


def map_osv(client: TestClient, osv_id: str | None = None) -> str:
    osv_id = osv_id or str(uuid4())
    registry_publishes(client, "OSVMapped", osv_id=osv_id, district="Comas", zone="Lima Norte", mapped_on="2021-03-15")
    return osv_id


def dissolve_osv(client: TestClient, osv_id: str, dissolved_on: str = "2024-02-29") -> None:
    """Registry's dissolution; by default the day before the earliest joining these tests date (2024-03-01)."""
    registry_publishes(client, "OSVDissolved", osv_id=osv_id, dissolved_on=dissolved_on, reason="inactive")


def fund_osv(client: TestClient, osv_id: str, kind: str = "seed_fund") -> str:
    """Hand funding's FundGranted to engagement's grant directory; returns the grant's id."""
    grants = application_of(client).grants
    grant_id = str(uuid4())
    data = {
        "grant_id": grant_id,
        "osv_id": osv_id,
        "kind": kind,
        "granted_on": "2024-04-01",
        "amount": "3500.00",
        "currency": "PEN",
    }
    position = grants.applied_position() + 1
    grants.apply([{"type": "FundGranted", "source": "urn:osv-platform:funding", "position": position, "data": data}])
    return grant_id


@pytest.fixture
def client(engagement: TestClient) -> TestClient:
    """Engagement, having heard registry map the OSV the stories use."""
    map_osv(engagement, OSV_ID)
    return engagement


def a_person(**overrides: Any) -> dict[str, Any]:
    person = {
        "osv_id": OSV_ID,
        "full_name": "Yusmary Cordero Palacios",
        "document_type": "CEDULA_VE",
        "document_number": "V-18765432",
        "nationality": "VE",
        "sex": "F",
        "joined_on": "2024-03-01",
        "birth_year": 1991,
    }
    person.update(overrides)
    return {k: v for k, v in person.items() if v is not ...}


def join(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/members", json=a_person(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def test_staff_record_a_person_joining_an_osv(client: TestClient) -> None:
    response = client.post("/members", json=a_person(document_number="v 18.765.432", nationality="ve"))

    assert response.status_code == 201
    # The command's answer shows no personal data: that takes a read stating its purpose, which is logged.
    member = response.json()
    assert member == {
        "id": member["id"],
        "osv_id": OSV_ID,
        "full_name": "[masked]",
        "document_type": None,  # a migration status: personal data (break30 M2)
        "document_number": None,
        "nationality": "VE",
        "sex": "F",
        "birth_year": None,
        "age_band": "30-44",
        "joined_on": "2024-03-01",
        "membership": {"status": "active", "left_on": None, "reason": None},
        "phone": None,
        "memberships": [
            {
                "membership_id": member["memberships"][0]["membership_id"],
                "osv_id": OSV_ID,
                "role": "member",
                "roles": [{"role": "member", "since": "2024-03-01"}],
                "joined_on": "2024-03-01",
                "age_band": "30-44",
                "status": "active",
                "left_on": None,
                "reason": None,
                "merged_into": None,  # no stay of another record of hers merged into it (helper 311)
                "merged_on": None,
                "recorded_on": None,  # its own, not a record merged into it
            }
        ],
        "participations": [],
        "personal_data": "kept",
        "disclosed": False,
        "version": 2,
        "merged_into": None,  # no record of the same person merged either way (tester 184 F3)
        "merged_on": None,
        "merged_from": [],
    }
    shown = client.get(f"/members/{member['id']}?purpose=contact").json()
    plain = {
        "full_name": "Yusmary Cordero Palacios", "document_type": "CEDULA_VE", "document_number": "V-18765432", "birth_year": 1991, "disclosed": True,
    }
    assert shown == {**member, **plain}


def test_a_persons_name_is_kept_with_its_runs_of_spaces_made_one_and_its_case_as_given(client: TestClient) -> None:
    """"MARÍA JOSÉ  PÉREZ ÑÁÑEZ" typed with a double space was kept so (tester 30, L2); the case is the person's."""
    member = join(client, full_name=" MARÍA JOSÉ  PÉREZ   ÑÁÑEZ ")
    shown = client.get(f"/members/{member['id']}?purpose=contact").json()
    assert shown["full_name"] == "MARÍA JOSÉ PÉREZ ÑÁÑEZ"


@pytest.mark.parametrize("name", ["-", ".", "🙂🙂", "\u0301\u0302", "12345", "ʼʼ", "ª", "ⁿ", "ℹ️", "ـــ"])
def test_a_persons_name_without_a_letter_is_refused_as_an_osvs_is_and_nothing_is_recorded(client: TestClient, name: str) -> None:
    """Tester 203 F4: a placeholder, an emoji or combining marks alone were registered as a person's name; tester 206 F1:
    modifier letters and ordinal signs alone too (Unicode's `isalpha` takes them)."""
    member = join(client)
    before = head(client)

    assert_problem(client.post("/members", json=a_person(full_name=name, document_number="V-20111222")), 422, "full_name", "name_has_letters")
    assert_problem(client.post(f"/members/{member['id']}/correction", json={"full_name": name}), 422, "full_name", "name_has_letters")
    assert head(client) == before


def test_a_name_with_marks_piled_on_a_letter_is_refused_naming_the_letter_and_one_with_accents_is_kept(client: TestClient) -> None:
    """Tester 203 F4: "A" and 180 combining marks ("Zalgo" text) spill over the lines around it wherever a name is shown."""
    piled = client.post("/members", json=a_person(full_name="Rosa Q" + "\u0301" * 180 + "uispe"))
    problem = assert_problem(piled, 422, "full_name", "combining_marks")
    assert "character 6 carries 180 combining marks" in problem["errors"][0]["message"]

    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")  # typed as letters and marks: "ễ" is e and two marks
    assert join(client, full_name=decomposed, document_number="V-20111222")["id"]
    for number, name in enumerate(["ශ්\u200dරී නිමල් පෙරේරා", "علی\u200cرضا محمدی", "Qʼori Mamani"]):  # tester 206 F3
        assert join(client, full_name=name, document_number=f"V-2033344{number}")["id"]


def test_a_person_without_documents_joins_without_a_number(client: TestClient) -> None:
    member = join(client, document_type="NINGUNO", document_number=..., birth_year=...)

    assert member["document_number"] is None
    assert member["birth_year"] is None
    assert member["age_band"] == "unknown"


def test_a_name_of_spaces_only_is_told_it_is_empty_in_the_services_words(client: TestClient) -> None:
    """Tester 184 F6: a full name of spaces was told pydantic's "String should have at least 1 character"."""
    error = client.post("/members", json=a_person(full_name="   ")).json()["errors"][0]

    assert (error["field"], error["rule"]) == ("full_name", "string_too_short")
    assert error["message"] == "must not be empty: spaces alone are no text"


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"osv_id": "osv-17"}, "osv_id", None),
        ({"osv_id": ...}, "osv_id", "missing"),
        ({"full_name": "   "}, "full_name", None),
        ({"full_name": "x" * 201}, "full_name", None),
        ({"full_name": ...}, "full_name", "missing"),
        ({"document_type": "CARNET"}, "document_type", None),
        ({"document_type": "DNI", "document_number": "1234567"}, "document_number", "dni_8_digits"),
        ({"document_type": "CE", "document_number": "12345"}, "document_number", "ce_6_to_12_alphanumerics"),
        ({"document_type": "PTP", "document_number": "P-12345"}, "document_number", "ptp_6_to_15_alphanumerics"),
        ({"document_type": "CPP", "document_number": ...}, "document_number", "number_with_document"),
        ({"document_type": "PASAPORTE", "document_number": "12 34"}, "document_number", "passport_6_to_15_alphanumerics"),
        ({"document_type": "CEDULA_VE", "document_number": "J-123456789"}, "document_number", "cedula_ve_6_to_10_digits"),
        ({"document_type": "SOLICITANTE_REFUGIO", "document_number": "A_1"}, "document_number", "refugee_claim_4_to_20_characters"),
        ({"document_type": "NINGUNO", "document_number": "45678912"}, "document_number", "no_number_without_document"),
        ({"document_number": "1" * 41}, "document_number", None),
        ({"nationality": "XX"}, "nationality", "iso_3166_alpha_2"),
        ({"nationality": "VEN"}, "nationality", "iso_3166_alpha_2"),
        ({"sex": "female"}, "sex", None),
        ({"joined_on": "01/03/2024"}, "joined_on", None),
        ({"joined_on": "2024-02-30"}, "joined_on", None),
        ({"birth_year": 1899}, "birth_year", "birth_year_range"),
        ({"birth_year": 2999}, "birth_year", "birth_year_range"),
        # Out of any calendar too, the domain's rule by its name, never pydantic's greater_than_equal (tester, rules30).
        ({"birth_year": 0}, "birth_year", "birth_year_range"),
        ({"birth_year": 10**6}, "birth_year", "birth_year_range"),
        ({"birth_year": 2025, "joined_on": "2024-12-31"}, "birth_year", "not_after_joined_on"),
        ({"birth_year": "nineteen ninety"}, "birth_year", None),
        ({"nickname": "Yusi"}, "nickname", "extra_forbidden"),
        ({"role": "treasurer"}, "role", None),
        ({"phone": "12-34"}, "phone", "phone_6_to_15_digits"),
        ({"phone": "+51 999 888 7770 12345"}, "phone", "phone_6_to_15_digits"),
        ({"phone": "9" * 31}, "phone", None),
    ],
)
def test_a_join_that_breaks_a_rule_is_refused_naming_the_field(
    client: TestClient, overrides: dict[str, Any], field: str, rule: str | None
) -> None:
    response = client.post("/members", json=a_person(**overrides))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["field"] == field
    if rule is not None:
        assert error["rule"] == rule


def test_a_row_with_several_mistakes_gets_them_all_in_one_answer(client: TestClient) -> None:
    """A promoter's Kobo row with a Peruvian-style date, letters for a phone, a misread birth year and a country's name:
    one refusal names all four, so the row is fixed in one round (it took four: tester 24)."""
    head = client.get("/events").json()["head"]
    response = client.post("/members", json=a_person(joined_on="03/08/2021", phone="abc-xyz", birth_year=1850, nationality="Venezuela"))

    assert response.status_code == 422
    assert {(e["field"], e["rule"]) for e in response.json()["errors"]} >= {
        ("phone", "phone_6_to_15_digits"), ("birth_year", "birth_year_range"), ("nationality", "iso_3166_alpha_2"),
    }
    assert "joined_on" in [e["field"] for e in response.json()["errors"]]
    assert client.get("/events").json()["head"] == head


def test_a_value_none_of_the_apis_codes_is_told_the_codes_in_plain_words_not_pydantics(client: TestClient) -> None:
    """Tester 232 F5: a coordinator typing "presidenta" read pydantic's "Input should be 'president', …"."""
    response = client.post("/members", json=a_person(role="presidenta", sex="mujer"))

    problem = assert_problem(response, 422)
    assert [(e["field"], e["rule"], e["message"]) for e in problem["errors"]] == [
        ("sex", "enum", "must be one of 'F', 'M' or 'X': the API's own codes, written as listed, not translated"),
        ("role", "enum", "must be one of 'president', 'board_member' or 'member': the API's own codes, written as listed, not translated"),
    ]


@pytest.mark.parametrize(
    ("overrides", "mistakes"),
    [
        (
            {"document_type": "DNI", "document_number": "1234567", "nationality": "Venezuela", "sex": "female"},
            {("document_number", "dni_8_digits"), ("nationality", "iso_3166_alpha_2"), ("sex", "enum")},
        ),
        (
            {"document_type": "DNI", "document_number": ..., "phone": "abc-xyz"},
            {("document_number", "number_with_document"), ("phone", "phone_6_to_15_digits")},
        ),
        (
            {"document_type": "NINGUNO", "document_number": "V-18765432", "role": "treasurer"},
            {("document_number", "no_number_without_document"), ("role", "enum")},
        ),
    ],
)
def test_a_row_whose_document_does_not_match_its_type_gets_that_with_its_other_mistakes(
    client: TestClient, overrides: dict[str, Any], mistakes: set[tuple[str, str]]
) -> None:
    """A Kobo row whose DNI lost its leading zero in a numeric cell, has no number at all, or has one without a document, is
    told so in the same answer as its other mistakes, not in a round of its own."""
    head = client.get("/events").json()["head"]
    response = client.post("/members", json=a_person(**overrides))

    assert response.status_code == 422, response.text
    assert {(e["field"], e["rule"]) for e in response.json()["errors"]} == mistakes
    assert client.get("/events").json()["head"] == head


def test_a_birth_year_after_this_year_by_the_services_clock_comes_with_the_rows_other_mistakes(tmp_path: Path) -> None:
    """This year is the service's own clock's (a test's, a replay's), not the machine's: a birth year after it is named
    with the row's other mistakes in one refusal, as any other field's."""
    from datetime import date

    from tests.support.clients import FakeToday

    with service_client("engagement", tmp_path / "var", today=FakeToday(date(2021, 10, 10))) as engagement:
        osv_id = map_osv(engagement)
        response = engagement.post("/members", json=a_person(osv_id=osv_id, joined_on="2021-10-01", birth_year=2023, phone="abc-xyz"))

    assert response.status_code == 422
    assert {(e["field"], e["rule"]) for e in response.json()["errors"]} == {("phone", "phone_6_to_15_digits"), ("birth_year", "birth_year_range")}


def test_malformed_json_is_refused_as_a_whole(client: TestClient) -> None:
    response = client.post("/members", content=b'{"full_name": "Yusmary', headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


def test_an_unknown_member_is_not_found(client: TestClient) -> None:
    unknown = uuid4()

    shown = client.get(f"/members/{unknown}?purpose=contact")
    left = client.post(f"/members/{unknown}/departure", json={"left_on": "2024-05-01", "reason": "withdrew"})

    assert_problem(shown, 404, "member_id", "known_member")  # the id named, as a 422 names its field (tester 160 F14)
    assert_problem(left, 404, "member_id", "known_member")


def test_a_member_id_that_is_not_a_uuid_is_refused(client: TestClient) -> None:
    response = client.get("/members/42")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "member_id"


def test_a_member_leaves_once(client: TestClient) -> None:
    member = join(client, joined_on="2024-03-01")
    departure = f"/members/{member['id']}/departure"

    # The member moves to Chile.
    first = client.post(departure, json={"left_on": "2024-09-30", "reason": "moved_abroad"})
    assert first.status_code == 200
    assert first.json()["membership"] == {"status": "left", "left_on": "2024-09-30", "reason": "moved_abroad"}
    assert first.json()["version"] == 3

    # Someone else records the same departure later: it contradicts the first.
    second = client.post(departure, json={"left_on": "2024-10-02", "reason": "other"})
    assert second.status_code == 409
    assert second.json()["errors"][0]["field"] == "left_on"
    assert client.get(f"/members/{member['id']}?purpose=contact").json()["membership"]["left_on"] == "2024-09-30"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"left_on": "2024-02-29", "reason": "withdrew"}, "left_on"),
        ({"left_on": "2024-09-30", "reason": "deported"}, "reason"),
        ({"left_on": "30/09/2024", "reason": "withdrew"}, "left_on"),
        ({"left_on": "2024-09-30"}, "reason"),
        ({"left_on": "2024-09-30", "reason": "withdrew", "note": "x"}, "note"),
    ],
)
def test_a_departure_that_breaks_a_rule_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    member = join(client, joined_on="2024-03-01")

    response = client.post(f"/members/{member['id']}/departure", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert client.get(f"/members/{member['id']}?purpose=contact").json()["membership"]["status"] == "active"


# Personal data stays encrypted and unpublished --------------------------------

NAME = "Zoraida Quintanilla Berroterán"
DOCUMENT_NUMBER = "19873654"


def plain_forms(text: str) -> list[bytes]:
    """How a piece of text could sit in a file if it were stored in clear."""
    return [text.encode(), json.dumps(text).encode(), text.encode("utf-16-le")]


def test_names_and_document_numbers_never_reach_the_disk_or_the_event_feed(tmp_path: Path) -> None:
    with service_client("engagement", tmp_path) as client:
        map_osv(client, OSV_ID)
        member = join(client, full_name=NAME, document_type="CEDULA_VE", document_number=f"V-{DOCUMENT_NUMBER}")
        client.post(f"/members/{member['id']}/departure", json={"left_on": "2024-06-01", "reason": "moved_abroad"})

        # Staff see the person.
        shown = client.get(f"/members/{member['id']}?purpose=contact").json()
        assert (shown["full_name"], shown["document_number"]) == (NAME, f"V-{DOCUMENT_NUMBER}")

        # The feed tells the story without them.
        feed = client.get("/events")
        assert [e["type"] for e in feed.json()["events"]] == [
            "MemberJoined",
            "OSVDocumentsCounted",
            "MemberLeft",
            "OSVDocumentsCounted",
        ]
        for secret in (NAME, "Zoraida", "Quintanilla", DOCUMENT_NUMBER):
            assert secret not in feed.text

    # The store holds the member (its id is there) but not who they are.
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    stored = b"".join(path.read_bytes() for path in files)
    assert member["id"].replace("-", "").encode() in stored
    for secret in (NAME, "Zoraida", "Quintanilla", DOCUMENT_NUMBER):
        for form in plain_forms(secret):
            assert form not in stored, f"{secret!r} found in clear under {tmp_path}"


def test_the_key_is_made_once_readable_by_the_owner_only_and_found_again_after_a_restart(tmp_path: Path, nats_server: NatsServer) -> None:
    with service_client("engagement", tmp_path) as client:
        map_osv(client, OSV_ID)
        member = join(client, full_name=NAME)
    key_file = tmp_path / "engagement" / "master.key"
    key = key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    with service_client("engagement", tmp_path, settings={"nats_url": nats_server.url}) as client:
        assert erasures_checked(client).get(f"/members/{member['id']}?purpose=contact").json()["full_name"] == NAME

    assert key_file.read_text() == key


def test_a_configured_key_is_used_instead_of_a_key_file(tmp_path: Path, nats_server: NatsServer) -> None:
    key = "q2Vh1I9D8x3kq9eYcD2x6yQkq4m2b8aV3b0rVxk1Z3s="

    with service_client("engagement", tmp_path, settings={"master_key": key}) as client:
        map_osv(client, OSV_ID)
        member = join(client)
    with service_client("engagement", tmp_path, settings={"master_key": key, "nats_url": nats_server.url}) as client:
        assert erasures_checked(client).get(f"/members/{member['id']}?purpose=contact").json()["full_name"] == "Yusmary Cordero Palacios"

    assert not (tmp_path / "engagement" / "master.key").exists()


def test_the_service_takes_commands_while_nats_is_out_of_reach(client: TestClient) -> None:
    join(client)

    health = client.get("/health").json()

    assert health["status"] == "degraded"
    assert health["nats"] == "disconnected"
    assert health["relay"]["lag"] == 5  # registered, joined, document indexed, the OSV's roster opened and counted


# Registering a person once ----------------------------------------------------------------


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()["errors"][0]


def test_a_registration_naming_an_unknown_osv_with_mistakes_of_its_own_is_told_them_all_in_one_422(client: TestClient) -> None:
    """Tester 199 F5: the schema's mistakes were told, and the unknown OSV only once they were put right."""
    before = head(client)

    answer = client.post("/members", json=a_person(osv_id=str(uuid4()), full_name=..., sex="Z", phone="12"))

    assert answer.status_code == 422, answer.text
    errors = [(e["field"], e["rule"]) for e in answer.json()["errors"]]
    # A field missing first, then the body's order (engagement's 422s: tester 199 F1).
    assert errors == [("full_name", "missing"), ("osv_id", "osv_mapped_in_registry"), ("sex", "enum"), ("phone", "phone_6_to_15_digits")]
    assert answer.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)  # as the OSV's refusal alone carries it
    assert head(client) == before  # nothing recorded

    known = client.post("/members", json=a_person(full_name=..., sex="Z"))  # the OSV known: the body's mistakes alone
    assert [(e["field"], e["rule"]) for e in known.json()["errors"]] == [("full_name", "missing"), ("sex", "enum")]
    assert "Retry-After" not in known.headers


def test_a_registration_naming_an_unknown_osv_is_told_the_persons_own_mistakes_in_the_same_422(client: TestClient) -> None:
    """Tester 206 F5: a well-formed body naming an unknown OSV was told the OSV alone, and a minor named president only
    once the OSV was known."""
    before = head(client)

    answer = client.post("/members", json=a_person(osv_id=str(uuid4()), role="president", birth_year=2015))

    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [("osv_id", "osv_mapped_in_registry"), ("role", "board_role_adult")]
    assert answer.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)
    assert head(client) == before


def test_a_joined_on_in_the_future_is_told_with_the_unknown_osv_in_one_422(client: TestClient) -> None:
    """Tester 212 F7 (as tester 206 F5 found of the person's own mistakes): a future joined_on was told alone, by the date
    rule checked before the command ran, and the unknown OSV only once the date was put right."""
    member = join(client, document_number="V-28765432")
    before = head(client)

    registration = client.post("/members", json=a_person(osv_id=str(uuid4()), joined_on="2099-03-20"))
    joining = client.post(f"/members/{member['id']}/memberships", json={"osv_id": str(uuid4()), "role": "president", "joined_on": "2099-03-20"})

    for answer in (registration, joining):
        assert answer.status_code == 422, answer.text
        assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [("joined_on", "not_in_future"), ("osv_id", "osv_mapped_in_registry")]
        assert answer.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)  # the OSV may yet be heard of
    nobody = client.post(f"/members/{uuid4()}/memberships", json={"osv_id": str(uuid4()), "role": "member", "joined_on": "2099-03-20"})
    assert [(e["field"], e["rule"]) for e in nobody.json()["errors"]] == [("joined_on", "not_in_future")]  # as before: the date alone
    assert head(client) == before


def test_a_joining_naming_an_unknown_osv_with_a_mistake_of_its_own_is_told_both_in_one_422(client: TestClient) -> None:
    """Helper 201: as a registration (tester 199 F5), a member's joining of another OSV was told its role's mistake, and
    the unknown OSV only once that was put right."""
    member = join(client)
    before = head(client)

    answer = client.post(f"/members/{member['id']}/memberships", json={"osv_id": str(uuid4()), "role": "chief", "joined_on": "2024-04-01"})

    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [("osv_id", "osv_mapped_in_registry"), ("role", "enum")]
    assert answer.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)
    assert head(client) == before  # nothing recorded


def test_a_joining_naming_an_unknown_osv_is_told_the_joinings_own_domain_mistakes_in_the_same_422(client: TestClient) -> None:
    """Tester 206 F5: a minor's joining of an unknown OSV as president was told the OSV alone, and the board role only once
    the OSV was known; an unknown member is still 404 first."""
    minor = join(client, birth_year=2015, document_number="V-28765432")
    before = head(client)

    answer = client.post(f"/members/{minor['id']}/memberships", json={"osv_id": str(uuid4()), "role": "president", "joined_on": "2024-04-01"})

    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [("osv_id", "osv_mapped_in_registry"), ("role", "board_role_adult")]
    assert answer.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)
    nobody = client.post(f"/members/{uuid4()}/memberships", json={"osv_id": str(uuid4()), "role": "member", "joined_on": "2024-04-01"})
    assert nobody.status_code == 404, nobody.text
    assert head(client) == before  # nothing recorded


def test_a_joining_for_a_member_not_found_is_404_whatever_the_osv_named(client: TestClient) -> None:
    """Tester 212 F8: for an unknown member, a dissolved OSV was told 409 osv_not_dissolved and a merged duplicate 409
    osv_not_merged, an unknown or live OSV 404: the member not found is 404 first, whichever OSV the body names."""
    dissolved, live, duplicate = map_osv(client), map_osv(client), map_osv(client)
    dissolve_osv(client, dissolved)
    registry_publishes(client, "OSVMerged", osv_id=duplicate, into_osv_id=live, merged_on="2024-01-15")
    before = head(client)
    for osv_id in (dissolved, duplicate, live, str(uuid4())):
        answer = client.post(f"/members/{uuid4()}/memberships", json={"osv_id": osv_id, "role": "member", "joined_on": "2024-04-01"})
        assert answer.status_code == 404, answer.text
    assert head(client) == before


def test_a_person_joins_only_an_osv_registry_has_mapped_and_not_dissolved(client: TestClient) -> None:
    unknown = problem_of(client.post("/members", json=a_person(osv_id=str(uuid4()))), 422)
    assert (unknown["field"], unknown["rule"]) == ("osv_id", "osv_mapped_in_registry")

    dissolved_osv = map_osv(client)
    dissolve_osv(client, dissolved_osv)
    dissolved = problem_of(client.post("/members", json=a_person(osv_id=dissolved_osv)), 409)
    assert (dissolved["field"], dissolved["rule"]) == ("osv_id", "osv_not_dissolved")


def test_a_person_who_joined_before_the_osv_dissolved_is_registered_after_it_and_one_joining_later_is_not(client: TestClient) -> None:
    osv_id = map_osv(client)
    dissolve_osv(client, osv_id, "2024-12-31")

    member = join(client, osv_id=osv_id, joined_on="2024-03-01")
    assert member["memberships"][0]["osv_id"] == osv_id
    late = client.post("/members", json=a_person(osv_id=osv_id, document_number="V-20111222", joined_on="2025-01-02"))
    assert (problem_of(late, 409)["field"], problem_of(late, 409)["rule"]) == ("osv_id", "osv_not_dissolved")
    assert "joined_on 2025-01-02 is after" in late.json()["detail"]


def test_after_the_osv_dissolved_no_one_takes_a_new_role_or_joins_its_project_but_earlier_ones_are_recorded(client: TestClient) -> None:
    """A dissolved OSV elects no board member and enrols no one in its project after its dissolution; a paper backlog of
    what happened before it is still entered (tester 24's follow-up)."""
    member = join(client)
    membership = member["memberships"][0]["membership_id"]
    grant_id = fund_osv(client, OSV_ID)
    dissolve_osv(client, OSV_ID, "2024-06-30")
    role = f"/members/{member['id']}/memberships/{membership}/role"
    participations = f"/members/{member['id']}/participations"

    late_role = client.post(role, json={"role": "board_member", "changed_on": "2024-07-01"})
    assert (problem_of(late_role, 409)["field"], problem_of(late_role, 409)["rule"]) == ("osv_id", "osv_not_dissolved")
    late_enrolment = client.post(participations, json={"grant_id": grant_id, "enrolled_on": "2024-07-01"})
    assert problem_of(late_enrolment, 409)["rule"] == "osv_not_dissolved"
    assert "enrolled_on 2024-07-01 is after" in late_enrolment.json()["detail"]

    changed = client.post(role, json={"role": "board_member", "changed_on": "2024-06-30"})
    assert changed.status_code == 200, changed.text
    assert [r["since"] for r in changed.json()["roles"]][-1] == "2024-06-30"  # the refused change left nothing behind
    assert client.post(participations, json={"grant_id": grant_id, "enrolled_on": "2024-05-01"}).status_code == 201


def test_a_document_already_registered_names_the_person_who_holds_it_and_never_the_number(client: TestClient) -> None:
    first = join(client, document_type="CEDULA_VE", document_number="V-18765432")

    # The same cédula, written without its prefix, in another OSV.
    response = client.post("/members", json=a_person(osv_id=map_osv(client), document_number="18765432"))

    error = problem_of(response, 409)
    assert (error["field"], error["rule"]) == ("document_number", "person_already_registered")
    assert first["id"] in error["message"]
    assert "18765432" not in response.text


def test_a_person_registered_again_in_the_osv_they_are_a_member_of_is_told_so_not_to_add_a_membership(client: TestClient) -> None:
    """Session 36, a Kobo form sent twice under two submissions: the second was told to add a membership to a person
    who holds one in that very OSV."""
    first = join(client, document_number="42345678")

    again = problem_of(client.post("/members", json=a_person(document_number="42345678")), 409)
    elsewhere = problem_of(client.post("/members", json=a_person(osv_id=map_osv(client), document_number="42345678")), 409)

    assert (again["field"], again["rule"]) == ("document_number", "person_already_registered")
    assert "an active member of this OSV already: nothing to add" in again["message"] and "memberships" not in again["message"]
    assert f"/members/{first['id']}/correction" in again["message"]
    assert f"add a membership to them (POST /members/{first['id']}/memberships)" in elsewhere["message"]


def access_log(client: TestClient, member_id: str) -> list[tuple[str, str, str]]:
    """The member's access log as the DPO reads it (the tester holds `dpo`): reader, purpose, disclosure."""
    response = client.get(f"/members/{member_id}/access-log")
    assert response.status_code == 200, response.text
    return [(a["reader"], a["purpose"], a["disclosure"]) for a in response.json()]


REFUSED_REGISTRATION = ("tester", "duplicate_check", "registration_refused")


@pytest.mark.parametrize("dry_run", [False, True], ids=["for-real", "dry-run"])
def test_a_registration_refused_as_a_documents_holder_is_logged_on_the_holders_access_log(client: TestClient, dry_run: bool) -> None:
    """A security tester's finding: the 409 naming the member who holds a document is the lookup by document
    (`GET /members?document_type=…`, logged), made with `POST /members`, and its dry run, with no log at all."""
    holder = join(client, document_type="DNI", document_number="69522728")
    published = feed_types(client)

    response = client.post(
        "/members", json=a_person(osv_id=map_osv(client), full_name="Otra", document_type="DNI", document_number="69.522.728"),
        params={"dry_run": "true"} if dry_run else None,
    )

    error = problem_of(response, 409)
    assert error["rule"] == "person_already_registered" and holder["id"] in error["message"]
    assert "69522728" not in response.text and "69.522.728" not in response.text and "Yusmary" not in response.text
    assert access_log(client, holder["id"]) == [REFUSED_REGISTRATION]  # the disclosure is logged, the dry run's too
    assert feed_types(client) == published  # and nothing of the command, refused, is recorded


def test_a_registration_sent_twice_in_the_holders_own_osv_is_logged_too(client: TestClient) -> None:
    """The OSV's roster lists its members, not which of them holds the document: the 409 tells that, as a lookup does."""
    holder = join(client, document_number="42345678")

    problem_of(client.post("/members", json=a_person(document_number="42345678")), 409)

    assert access_log(client, holder["id"]) == [REFUSED_REGISTRATION]


def test_a_keyed_registration_refused_as_a_documents_holder_is_logged_each_time_it_is_sent(client: TestClient) -> None:
    """The log entry is not the keyed request's doing: a refused request stays refused (sent again, it runs again and
    is refused again, not answered `idempotent_request_completed`), a dry run with the key included."""
    holder = join(client, document_number="42345678")
    keyed = {"Idempotency-Key": str(uuid4())}
    again = a_person(osv_id=map_osv(client), document_number="42345678")

    answers = [
        client.post("/members", json=again, headers=keyed, params={"dry_run": "true"}),
        client.post("/members", json=again, headers=keyed),
        client.post("/members", json=again, headers=keyed),
    ]

    assert [problem_of(answer, 409)["rule"] for answer in answers] == ["person_already_registered"] * 3
    assert access_log(client, holder["id"]) == [REFUSED_REGISTRATION] * 3


def test_a_registration_that_finds_no_one_logs_nothing(client: TestClient) -> None:
    other = join(client, document_number="42345678")

    member = join(client, document_type="DNI", document_number="69522728")
    dry = client.post("/members", json=a_person(document_type="DNI", document_number="70000001"), params={"dry_run": "true"})

    assert dry.status_code == 201, dry.text
    assert access_log(client, member["id"]) == [] and access_log(client, other["id"]) == []


@pytest.mark.parametrize("dry_run", [False, True], ids=["for-real", "dry-run"])
def test_a_correction_refused_as_another_documents_holder_is_logged_on_the_holders_access_log(client: TestClient, dry_run: bool) -> None:
    holder = join(client, document_type="DNI", document_number="69522728")
    corrected = join(client, osv_id=map_osv(client), document_number="42345678")

    response = client.post(
        f"/members/{corrected['id']}/correction",
        json={"document_type": "DNI", "document_number": "69.522.728"},
        params={"dry_run": "true"} if dry_run else None,
    )

    error = problem_of(response, 409)
    assert error["rule"] == "person_already_registered" and holder["id"] in error["message"]
    # A correction's own advice, not a registration's "add a membership to them", which two records of one OSV cannot
    # follow (tester 176 F5, tester 181 F4).
    assert "a correction gives no one another person's document" in error["message"] and "memberships" not in error["message"]
    assert "69522728" not in response.text and "69.522.728" not in response.text
    assert access_log(client, holder["id"]) == [("tester", "duplicate_check", "correction_refused")]
    assert access_log(client, corrected["id"]) == []  # nothing of theirs was shown


def test_a_ce_number_typed_without_its_leading_zeros_names_the_person_registered_with_them(client: TestClient) -> None:
    first = join(client, document_type="CE", document_number="001234567")

    # The same carné de extranjería in another OSV, from a numeric cell that lost its leading zeros.
    response = client.post("/members", json=a_person(osv_id=map_osv(client), document_type="CE", document_number="1234567"))

    error = problem_of(response, 409)
    assert (error["field"], error["rule"]) == ("document_number", "person_already_registered")
    assert first["id"] in error["message"]
    assert "1234567" not in response.text
    found = look_up(client, "CE", "1234567")
    assert (found.json()["id"], found.json()["document_number"]) == (first["id"], "001234567")


@pytest.mark.parametrize("numeric_cell_first", [False, True], ids=["card-first", "numeric-cell-first"])
@pytest.mark.parametrize(
    ("document_type", "printed", "numeric", "kept"),
    [
        ("CPP", "000940407", "940407", "000940407"),  # a Migraciones card: kept as it prints it
        ("PTP", "001234567", "1234567", "001234567"),
        ("PASAPORTE", "000940407", "940407", None),  # no one printed length: kept as first typed (a cédula without dots)
        ("SOLICITANTE_REFUGIO", "000940407", "940407", None),
        ("CEDULA_VE", "V-01.401.664", "1401664", None),
    ],
)
def test_another_document_typed_without_its_leading_zeros_is_one_person_and_found_by_either(
    client: TestClient, document_type: str, printed: str, numeric: str, kept: str | None, numeric_cell_first: bool
) -> None:
    """Tester 30 H2: "CPP 000940407" (text cell) and "CPP 940407" (numeric cell) registered one person twice, and the
    DPO's lookup by the number on the card found one of the two."""
    first_number, again = (numeric, printed) if numeric_cell_first else (printed, numeric)
    first = join(client, document_type=document_type, document_number=first_number)

    response = client.post("/members", json=a_person(osv_id=map_osv(client), document_type=document_type, document_number=again))

    error = problem_of(response, 409)
    assert (error["field"], error["rule"]) == ("document_number", "person_already_registered")
    assert first["id"] in error["message"]
    assert numeric not in response.text
    for typed in (printed, numeric):
        found = look_up(client, document_type, typed, "data_subject_request")
        assert found.status_code == 200, found.text
        assert (found.json()["id"], found.json()["document_number"]) == (first["id"], kept or first_number.replace(".", ""))


@pytest.mark.parametrize(
    ("document_type", "first_typed", "typed_again", "kept"),
    [
        ("CE", "001234567", "CE 001234567", "001234567"),  # the card's label copied with its number
        ("CPP", "CPP 000869323", "000869323", "000869323"),
        ("SOLICITANTE_REFUGIO", "0123-2021-CEPR", "0123 2021 CEPR", "0123-2021-CEPR"),  # hyphens, spaces or neither
        ("SOLICITANTE_REFUGIO", "01232021cepr", "0123-2021-CEPR", "01232021CEPR"),
        ("DNI", "45678912", "45.678.912", "45678912"),
    ],
)
def test_a_document_typed_as_staff_write_it_is_one_person_however_it_is_written(
    client: TestClient, document_type: str, first_typed: str, typed_again: str, kept: str
) -> None:
    """Tester 137 F1, F5: "CE 001234567" beside "001234567", "CPP 000869323", an asylum claim's number with spaces in
    place of hyphens each registered the same person again (counted twice in members_joined); a DNI typed with its
    dots was refused as not 8 digits."""
    first = join(client, document_type=document_type, document_number=first_typed)

    response = client.post("/members", json=a_person(osv_id=map_osv(client), document_type=document_type, document_number=typed_again))

    error = problem_of(response, 409)
    assert (error["field"], error["rule"]) == ("document_number", "person_already_registered") and first["id"] in error["message"]
    found = look_up(client, document_type, typed_again)
    assert (found.json()["id"], found.json()["document_number"]) == (first["id"], kept)


@pytest.mark.parametrize("document_type", ["CE", "CPP", "PTP"])
def test_a_migraciones_card_typed_with_more_zeros_than_it_prints_is_one_person_and_more_digits_are_refused(
    client: TestClient, document_type: str
) -> None:
    """Tester 30b M3: "0000371933" (one zero too many) registered a second person beside "000371933", and a CPP/PTP of
    13 digits was taken: the cards print 9."""
    first = join(client, document_type=document_type, document_number="000371933")

    response = client.post("/members", json=a_person(osv_id=map_osv(client), document_type=document_type, document_number="0000371933"))

    error = problem_of(response, 409)
    assert (error["field"], error["rule"]) == ("document_number", "person_already_registered") and first["id"] in error["message"]
    found = look_up(client, document_type, "0000371933")
    assert (found.json()["id"], found.json()["document_number"]) == (first["id"], "000371933")
    longer = client.post("/members", json=a_person(osv_id=map_osv(client), document_type=document_type, document_number="1000371933"))
    assert (problem_of(longer, 422)["field"], problem_of(longer, 422)["rule"]) == ("document_number", f"{document_type.lower()}_9_digits")


def test_people_without_documents_are_never_taken_for_one_another(client: TestClient) -> None:
    first = join(client, document_type="NINGUNO", document_number=...)
    second = join(client, document_type="NINGUNO", document_number=...)

    assert first["id"] != second["id"]


def test_staff_find_a_person_by_their_document(client: TestClient) -> None:
    member = join(client, document_type="CE", document_number="001234567", phone="+51 987 654 321", role="president")
    published = feed_types(client)

    found = look_up(client, "CE", " 0012 34567 ")

    assert found.status_code == 200
    assert found.json() == client.get(f"/members/{member['id']}?purpose=contact").json()
    assert found.json()["phone"] == "+51987654321"
    assert found.json()["memberships"][0]["role"] == "president"
    # The lookup is logged on the person's access log before the answer went out (then the read above), and nothing else
    # is recorded: a POST, but a read.
    assert access_log(client, member["id"]) == [("tester", "duplicate_check", "lookup"), ("tester", "contact", "member")]
    assert feed_types(client) == published


def test_a_lookup_is_a_read_logged_each_time_whatever_its_idempotency_key_or_dry_run(client: TestClient) -> None:
    """Helper 197: a lookup sent as a POST meets the layers made for commands. A dry run would have kept its access-log
    entry in the dry run's overlay (a read shown, never logged); a keyed one would have kept its answer, the person's
    data, to replay to a retry without logging it (after the person's erasure too). It stores nothing but the entry: each
    sent, each answered and logged, none refused as a key already used."""
    member = join(client, document_type="CE", document_number="001234567")
    keyed = {"Idempotency-Key": str(uuid4())}

    answers = [
        look_up(client, "CE", "001234567", headers=keyed),
        look_up(client, "CE", "001234567", headers=keyed),
        look_up(client, "CE", "001234567", headers=keyed, params={"dry_run": "true"}),
        look_up(client, "CE", "001234567", headers={"Dry-Run": "true"}),
    ]

    assert [answer.status_code for answer in answers] == [200] * 4, [answer.text for answer in answers]
    assert {answer.json()["full_name"] for answer in answers} == {"Yusmary Cordero Palacios"}
    assert [answer.headers.get("Idempotent-Replayed") for answer in answers] == [None] * 4
    assert [answer.headers.get("Dry-Run") for answer in answers] == [None, None, "true", "true"]
    assert access_log(client, member["id"]) == [("tester", "duplicate_check", "lookup")] * 4


def test_a_lookup_by_document_in_the_url_is_refused_without_looking_anyone_up(client: TestClient) -> None:
    """Security tester 192 F6: `GET /members?document_type=CE&document_number=…` put a person's document number in the
    URL, which reverse proxies log and browsers keep. The service cannot take it back, but it answers no lookup made so
    (one that worked would go on being sent): 422 naming `document_number`, pointing to `POST /members/lookup`, which
    repeats no number, looks no one up and logs nothing."""
    member = join(client, document_type="CE", document_number="001234567")

    queries = (
        {"document_type": "CE", "document_number": "001234567", "purpose": "duplicate_check"},
        {"document_type": "CE", "document_number": "009999999", "purpose": "duplicate_check"},
        {"document_type": "CE", "document_number": "001234567"},
        {},
    )
    for path, query in itertools.product(("/members", "/members/lookup"), queries):  # the lookup's path was read as a member's id (tester 199 F7)
        response = client.get(path, params=query)

        error = problem_of(response, 422)
        assert (error["field"], error["rule"]) == ("document_number", "lookup_by_post"), response.text
        assert "POST /members/lookup" in error["message"]
        assert "1234567" not in response.text and "9999999" not in response.text and member["id"] not in response.text
    assert access_log(client, member["id"]) == []


@pytest.mark.parametrize(
    ("body", "status", "errors"),
    [
        ({"document_type": "CE", "document_number": "009999999", "purpose": "duplicate_check"}, 404, None),
        ({"document_type": "DNI", "document_number": "123", "purpose": "duplicate_check"}, 422, [("document_number", "dni_8_digits")]),
        ({"document_type": "NINGUNO", "document_number": "", "purpose": "duplicate_check"}, 422, [("document_type", "findable_document")]),
        ({"document_type": "CARNET", "document_number": "001234567", "purpose": "duplicate_check"}, 422, [("document_type", "enum")]),
        ({"document_type": "CE", "purpose": "duplicate_check"}, 422, [("document_number", "missing")]),
        ({"document_type": "CE", "document_number": "", "purpose": "duplicate_check"}, 422, [("document_number", "number_with_document")]),
        ({"document_type": "CE", "document_number": "0" * 41, "purpose": "duplicate_check"}, 422, [("document_number", "string_too_long")]),
        ({"document_type": "CE", "document_number": 1234567, "purpose": "duplicate_check"}, 422, [("document_number", "string_type")]),
        ({"document_type": "CE", "document_number": "001234567"}, 422, [("purpose", "purpose_required")]),
        ({"document_type": "CE", "document_number": "001234567", "purpose": "curiosity"}, 422, [("purpose", "enum")]),
        ({"document_type": "CE", "document_number": "001234567", "purpose": "duplicate_check", "osv_id": OSV_ID}, 422, [("osv_id", "extra_forbidden")]),
        # Every mistake in one answer, the purpose's with the document's.
        ({"document_type": "DNI", "document_number": "123"}, 422, [("document_number", "dni_8_digits"), ("purpose", "purpose_required")]),
        (["CE", "001234567"], 422, [("body", "model_attributes_type")]),
    ],
)
def test_a_search_by_document_that_finds_nobody_or_cannot_be_made_says_why(
    client: TestClient, body: Any, status: int, errors: list[tuple[str, str]] | None
) -> None:
    member = join(client, document_type="CE", document_number="001234567")

    response = client.post("/members/lookup", json=body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if errors is not None:
        assert [(error["field"], error["rule"]) for error in response.json()["errors"]] == errors
    assert "1234567" not in response.text and "9999999" not in response.text
    assert access_log(client, member["id"]) == []


# Memberships, roles and departures --------------------------------------------------------


def test_a_member_joins_a_second_osv_changes_role_there_and_leaves_each_osv(client: TestClient) -> None:
    member = join(client, joined_on="2024-03-01")
    second_osv = map_osv(client)
    member_url = f"/members/{member['id']}"

    # She also joins a neighbourhood kitchen, and is elected to its board.
    joined = client.post(f"{member_url}/memberships", json={"osv_id": second_osv, "role": "member", "joined_on": "2024-04-01"})
    assert joined.status_code == 201, joined.text
    membership_id = joined.json()["membership_id"]
    changed = client.post(
        f"{member_url}/memberships/{membership_id}/role", json={"role": "board_member", "changed_on": "2024-06-01"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == [
        {"role": "member", "since": "2024-04-01"},
        {"role": "board_member", "since": "2024-06-01"},
    ]

    # Active in two OSVs, a departure must say which one.
    unclear = problem_of(client.post(f"{member_url}/departure", json={"left_on": "2024-09-30", "reason": "withdrew"}), 409)
    assert (unclear["field"], unclear["rule"]) == ("membership_id", "one_active_membership")

    left = client.post(
        f"{member_url}/memberships/{membership_id}/departure", json={"left_on": "2024-09-30", "reason": "deceased"}
    )
    assert left.status_code == 200, left.text
    assert (left.json()["status"], left.json()["reason"]) == ("left", "deceased")

    # With one active membership left, the skeleton's departure applies to it.
    first = client.post(f"{member_url}/departure", json={"left_on": "2024-10-01", "reason": "moved_abroad"})
    assert first.status_code == 200
    shown = client.get(member_url, params={"purpose": "contact"}).json()
    assert [m["status"] for m in shown["memberships"]] == ["left", "left"]
    assert shown["membership"] == {"status": "left", "left_on": "2024-10-01", "reason": "moved_abroad"}  # the last departure

    feed = [e["type"] for e in client.get("/events").json()["events"]]
    assert feed.count("MemberJoined") == 2
    assert feed.count("MemberRoleChanged") == 1
    assert feed.count("MemberLeft") == 2


def test_a_member_rejoins_an_osv_they_left_as_a_new_membership_but_not_while_active(client: TestClient) -> None:
    member = join(client, joined_on="2024-03-01")
    memberships = f"/members/{member['id']}/memberships"

    twice = problem_of(client.post(memberships, json={"osv_id": OSV_ID, "joined_on": "2024-05-01"}), 409)
    assert (twice["field"], twice["rule"]) == ("osv_id", "one_active_membership_per_osv")

    client.post(f"/members/{member['id']}/departure", json={"left_on": "2024-06-01", "reason": "moved_in_peru"})
    back = client.post(memberships, json={"osv_id": OSV_ID, "role": "president", "joined_on": "2025-01-15"})

    assert back.status_code == 201, back.text
    assert back.json()["membership_id"] != member["memberships"][0]["membership_id"]
    assert back.json()["role"] == "president"
    shown = client.get(f"/members/{member['id']}?purpose=contact").json()
    assert shown["membership"]["status"] == "active"
    assert shown["joined_on"] == "2025-01-15"


def stayed(client: TestClient, member_id: str, osv_id: str, *, joined_on: str, left_on: str, reason: str) -> None:
    """Record a stay of the member in another OSV, from ``joined_on`` to ``left_on`` (as from a paper form, afterwards)."""
    stay = client.post(f"/members/{member_id}/memberships", json={"osv_id": osv_id, "joined_on": joined_on})
    assert stay.status_code == 201, stay.text
    left = client.post(f"/members/{member_id}/memberships/{stay.json()['membership_id']}/departure", json={"left_on": left_on, "reason": reason})
    assert left.status_code == 200, left.text


def test_a_member_active_in_one_osv_reads_as_active_there_after_leaving_another_joined_earlier(client: TestClient) -> None:
    """Tester 137 F8: a person in OSV A who was then recorded joining OSV B (earlier, from a paper form) and leaving it
    read as `osv_id` B, `left`, while active in A."""
    member = join(client, joined_on="2024-11-13")
    other = map_osv(client)
    stayed(client, member["id"], other, joined_on="2024-10-20", left_on="2024-12-01", reason="moved_in_peru")

    shown = client.get(f"/members/{member['id']}?purpose=contact").json()

    assert (shown["osv_id"], shown["joined_on"], shown["membership"]["status"]) == (OSV_ID, "2024-11-13", "active")
    assert [m["osv_id"] for m in shown["memberships"]] == [OSV_ID, other]  # every membership, as recorded

    # Then leaving A, the member's summary (and the departure's answer) speaks of their last departure, A's, not of B,
    # recorded last but joined and left before (tester 196: the top-level `membership` read "left 2024-12-01").
    gone = client.post(f"/members/{member['id']}/departure", json={"left_on": "2025-03-01", "reason": "moved_in_peru"})
    assert gone.status_code == 200, gone.text
    shown = client.get(f"/members/{member['id']}?purpose=contact").json()
    for summary in (gone.json(), shown):
        assert (summary["osv_id"], summary["joined_on"], summary["membership"]["left_on"]) == (OSV_ID, "2024-11-13", "2025-03-01")


def test_a_member_who_left_every_osv_reads_as_their_last_departure_not_a_later_joined_shorter_stay(client: TestClient) -> None:
    """Tester 199 F6: in A from 2021-04-01, in B from 2021-06-01 to 2021-07-01 (withdrew), leaving A on 2022-03-01 (moved
    abroad): the member read as B's, "left 2021-07-01, withdrew", as the stay joined last."""
    member = join(client, joined_on="2021-04-01")
    stayed(client, member["id"], map_osv(client), joined_on="2021-06-01", left_on="2021-07-01", reason="withdrew")
    gone = client.post(f"/members/{member['id']}/departure", json={"left_on": "2022-03-01", "reason": "moved_abroad"})
    assert gone.status_code == 200, gone.text

    for summary in (gone.json(), client.get(f"/members/{member['id']}", params={"masked": "true"}).json()):
        assert (summary["osv_id"], summary["membership"]) == (OSV_ID, {"status": "left", "left_on": "2022-03-01", "reason": "moved_abroad"})


@pytest.mark.parametrize(
    ("body", "status", "field", "rule"),
    [
        ({"osv_id": "dissolved", "joined_on": "2024-05-01"}, 409, "osv_id", "osv_not_dissolved"),
        ({"osv_id": "unknown", "joined_on": "2024-05-01"}, 422, "osv_id", "osv_mapped_in_registry"),
        ({"osv_id": "new", "joined_on": "1990-05-01"}, 422, "joined_on", "not_before_earliest_date"),
        ({"osv_id": "new", "role": "treasurer", "joined_on": "2024-05-01"}, 422, "role", None),
        ({"osv_id": "new", "joined_on": "05/01/2024"}, 422, "joined_on", None),
        ({"osv_id": "new"}, 422, "joined_on", "missing"),
    ],
)
def test_joining_another_osv_that_breaks_a_rule_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], status: int, field: str, rule: str | None
) -> None:
    member = join(client)
    new_osv, dissolved = map_osv(client), map_osv(client)
    dissolve_osv(client, dissolved)
    body = {**body, "osv_id": {"new": new_osv, "dissolved": dissolved, "unknown": str(uuid4())}[body["osv_id"]]}

    error = problem_of(client.post(f"/members/{member['id']}/memberships", json=body), status)

    assert error["field"] == field
    if rule is not None:
        assert error["rule"] == rule
    assert len(client.get(f"/members/{member['id']}?purpose=contact").json()["memberships"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "field", "rule"),
    [
        ({"role": "member", "changed_on": "2024-05-01"}, 409, "role", "new_role"),
        ({"role": "president", "changed_on": "2024-02-01"}, 422, "changed_on", "not_before_current_role"),
        ({"role": "chair", "changed_on": "2024-05-01"}, 422, "role", None),
        ({"role": "president"}, 422, "changed_on", "missing"),
    ],
)
def test_a_role_change_that_breaks_a_rule_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], status: int, field: str, rule: str | None
) -> None:
    member = join(client, joined_on="2024-03-01")
    membership_id = member["memberships"][0]["membership_id"]

    error = problem_of(client.post(f"/members/{member['id']}/memberships/{membership_id}/role", json=body), status)

    assert error["field"] == field
    if rule is not None:
        assert error["rule"] == rule


def test_the_role_of_a_membership_that_ended_no_longer_changes(client: TestClient) -> None:
    member = join(client, joined_on="2024-03-01")
    membership_id = member["memberships"][0]["membership_id"]
    client.post(f"/members/{member['id']}/departure", json={"left_on": "2024-06-01", "reason": "withdrew"})

    response = client.post(
        f"/members/{member['id']}/memberships/{membership_id}/role", json={"role": "president", "changed_on": "2024-07-01"}
    )

    assert problem_of(response, 409)["rule"] == "membership_active"


@pytest.mark.parametrize(
    ("body", "status", "field", "rule"),
    [
        ({"left_on": "2024-02-29", "reason": "withdrew"}, 422, "left_on", "not_before_joined_on"),
        ({"left_on": "2024-09-30", "reason": "deported"}, 422, "reason", None),
    ],
)
def test_a_membership_departure_that_breaks_a_rule_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], status: int, field: str, rule: str | None
) -> None:
    member = join(client, joined_on="2024-03-01")
    membership_id = member["memberships"][0]["membership_id"]

    error = problem_of(client.post(f"/members/{member['id']}/memberships/{membership_id}/departure", json=body), status)

    assert error["field"] == field
    if rule is not None:
        assert error["rule"] == rule


def test_a_membership_ends_once(client: TestClient) -> None:
    member = join(client, joined_on="2024-03-01")
    departure = f"/members/{member['id']}/memberships/{member['memberships'][0]['membership_id']}/departure"

    assert client.post(departure, json={"left_on": "2024-09-30", "reason": "moved_abroad"}).status_code == 200
    again = client.post(departure, json={"left_on": "2024-10-30", "reason": "other"})

    assert problem_of(again, 409)["rule"] == "leave_once"


def test_unknown_members_memberships_and_participations_are_not_found(client: TestClient) -> None:
    member = join(client)
    unknown_member, unknown = f"/members/{uuid4()}", str(uuid4())
    known = f"/members/{member['id']}"

    responses = [
        client.post(f"{unknown_member}/memberships", json={"osv_id": OSV_ID, "joined_on": "2024-05-01"}),
        client.post(f"{known}/memberships/{unknown}/role", json={"role": "president", "changed_on": "2024-05-01"}),
        client.post(f"{known}/memberships/{unknown}/departure", json={"left_on": "2024-05-01", "reason": "other"}),
        client.post(f"{unknown_member}/erasure", json={"erased_on": "2024-05-01"}),
        client.post(f"{unknown_member}/participations", json={"grant_id": fund_osv(client, OSV_ID), "enrolled_on": "2024-05-01"}),
        client.post(f"{known}/participations/{unknown}/withdrawal", json={"withdrew_on": "2024-05-01"}),
        client.get(f"/osvs/{unknown}/members?purpose=follow_up"),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert {r.headers["content-type"] for r in responses} == {"application/problem+json"}


def test_the_id_of_an_index_entry_or_a_roster_is_not_a_member(client: TestClient) -> None:
    from services.engagement.domain.roster import OSVRoster

    join(client)

    assert client.get(f"/members/{OSVRoster.create_id(UUID(OSV_ID))}?purpose=contact").status_code == 404


# An OSV's members and the counts the registry needs --------------------------------------


def test_staff_list_an_osvs_active_members_with_their_roles(client: TestClient) -> None:
    ana = join(client, full_name="Ana Quispe", document_type="DNI", document_number="45678912", role="president")
    luis = join(client, full_name="Luis Díaz", document_type="CE", document_number="001234567")
    rosa = join(client, full_name="Rosa Rondón", document_type="NINGUNO", document_number=...)
    client.post(f"/members/{rosa['id']}/departure", json={"left_on": "2024-06-01", "reason": "withdrew"})
    empty_osv = map_osv(client)

    listed = client.get(f"/osvs/{OSV_ID}/members?purpose=follow_up")

    assert listed.status_code == 200
    assert [(m["member_id"], m["full_name"], m["role"]) for m in listed.json()] == [
        (ana["id"], "Ana Quispe", "president"),
        (luis["id"], "Luis Díaz", "member"),
    ]
    assert client.get(f"/osvs/{empty_osv}/members?purpose=follow_up").json() == []


def test_an_osv_has_one_president_at_a_time_and_the_refusal_names_the_holders_member_id(client: TestClient) -> None:
    ana = join(client, full_name="Ana Quispe", document_type="DNI", document_number="45678912", role="president")
    before = head(client)

    # A second president registered, joining from another OSV, or made so by a role change: 409, naming Ana by id only.
    second = client.post("/members", json=a_person(full_name="Luis Díaz", document_type="CE", document_number="001234567", role="president"))
    problem = assert_problem(second, 409, "role", "one_president")
    assert ana["id"] in problem["detail"] and "Ana" not in problem["detail"]
    assert_problem(client.post("/members?dry_run=true", json=a_person(document_type="NINGUNO", document_number=None, role="president")), 409, "role", "one_president")
    rosa = join(client, full_name="Rosa Rondón", document_type="NINGUNO", document_number=None)
    rosa_membership = rosa["memberships"][0]["membership_id"]
    promoted = client.post(f"/members/{rosa['id']}/memberships/{rosa_membership}/role", json={"role": "president", "changed_on": "2024-05-01"})
    assert ana["id"] in assert_problem(promoted, 409, "role", "one_president")["detail"]
    elsewhere = join(client, osv_id=map_osv(client), document_type="CE", document_number="007654321")
    joining = client.post(f"/members/{elsewhere['id']}/memberships", json={"osv_id": OSV_ID, "role": "president", "joined_on": "2024-05-01"})
    assert_problem(joining, 409, "role", "one_president")
    # Nobody holds it (Luis was refused): a 404 whose errors name the document, as a record's 404 names its id (tester 262 F5).
    assert_problem(look_up(client, "CE", "001234567"), 404, "document_number", "registered_document")
    presidents = [m["member_id"] for m in client.get(f"/osvs/{OSV_ID}/members?purpose=follow_up").json() if m["role"] == "president"]
    assert presidents == [ana["id"]]

    # Ana steps down first; then Rosa takes the presidency.
    ana_membership = ana["memberships"][0]["membership_id"]
    assert client.post(f"/members/{ana['id']}/memberships/{ana_membership}/role", json={"role": "board_member", "changed_on": "2024-05-01"}).status_code == 200
    assert client.post(f"/members/{rosa['id']}/memberships/{rosa_membership}/role", json={"role": "president", "changed_on": "2024-05-01"}).status_code == 200
    presidents = [m["member_id"] for m in client.get(f"/osvs/{OSV_ID}/members?purpose=follow_up").json() if m["role"] == "president"]
    assert presidents == [rosa["id"]]
    assert head(client) > before


@pytest.mark.parametrize("role", ["president", "board_member"])
def test_a_board_role_is_for_an_adult_by_the_conservative_reading_of_the_birth_year(client: TestClient, role: str) -> None:
    before = head(client)
    toddler = client.post("/members", json=a_person(document_type="NINGUNO", document_number=None, birth_year=2020, joined_on="2021-04-02", role=role))
    problem = assert_problem(toddler, 422, "role", "board_role_adult")
    assert "2020" not in problem["detail"]
    # Born in 2006: perhaps 18 in 2024, surely only from 31 December.
    assert_problem(client.post("/members", json=a_person(birth_year=2006, joined_on="2024-12-30", role=role)), 422, "role", "board_role_adult")
    assert head(client) == before

    # A minor takes part as a member, and takes the board role once surely 18.
    youth = join(client, birth_year=2007, joined_on="2024-03-01")
    assert youth["memberships"][0]["age_band"] == "0-17"
    membership = youth["memberships"][0]["membership_id"]
    early = client.post(f"/members/{youth['id']}/memberships/{membership}/role", json={"role": role, "changed_on": "2025-12-30"})
    assert_problem(early, 422, "role", "board_role_adult")
    on_time = client.post(f"/members/{youth['id']}/memberships/{membership}/role", json={"role": role, "changed_on": "2025-12-31"})
    assert on_time.status_code == 200, on_time.text


def test_each_membership_change_publishes_the_osvs_full_count_by_document_type(client: TestClient) -> None:
    ana = join(client, document_type="DNI", document_number="45678912", role="president")
    luis = join(client, document_type="CE", document_number="001234567")
    join(client, document_type="CE", document_number="007654321", role="board_member")
    luis_membership = luis["memberships"][0]["membership_id"]
    client.post(f"/members/{luis['id']}/memberships/{luis_membership}/role", json={"role": "board_member", "changed_on": "2024-05-01"})
    client.post(f"/members/{ana['id']}/departure", json={"left_on": "2024-06-01", "reason": "moved_abroad"})

    counts = [e["data"] for e in client.get("/events").json()["events"] if e["type"] == "OSVDocumentsCounted"]

    assert [(c["board"], c["members"]) for c in counts] == [
        ({"DNI": 1}, {"DNI": 1}),
        ({"DNI": 1}, {"DNI": 1, "CE": 1}),
        ({"DNI": 1, "CE": 1}, {"DNI": 1, "CE": 2}),
        ({"DNI": 1, "CE": 2}, {"DNI": 1, "CE": 2}),
        ({"CE": 2}, {"CE": 2}),
    ]
    assert set(counts[-1]) == {"osv_id", "counted_on", "occurred_on", "board", "members"}
    assert counts[-1]["osv_id"] == OSV_ID


# Projects ------------------------------------------------------------------------------------


def test_no_one_enrols_in_a_goods_grant_as_an_agent_of_change_for_goods_are_not_a_project(client: TestClient) -> None:
    """The dashboard counted two agents of change and no project for an OSV given goods: a project is what the programme
    funds with seed funds, and agents of change take part in one (the practice: 42 agents through 4 projects, while 5
    OSVs were supported, one with goods only; tester 24c)."""
    member = join(client)
    goods = fund_osv(client, OSV_ID, kind="goods")
    before = client.get("/events").json()["head"]

    refused = client.post(f"/members/{member['id']}/participations", json={"grant_id": goods, "enrolled_on": "2024-05-01"})
    assert (problem_of(refused, 422)["field"], problem_of(refused, 422)["rule"]) == ("grant_id", "seed_funded_project")
    assert client.get("/events").json()["head"] == before


def close_grant(client: TestClient, grant_id: str, closed_on: str) -> None:
    """Hand funding's GrantClosed to engagement's grant directory."""
    grants = application_of(client).grants
    data = {"grant_id": grant_id, "closed_on": closed_on, "outcome": "completed"}
    grants.apply([{"type": "GrantClosed", "source": "urn:osv-platform:funding", "position": grants.applied_position() + 1, "data": data}])


def test_no_one_enrols_in_nor_reports_an_activity_of_a_project_after_its_grant_was_closed(client: TestClient) -> None:
    """An enrolment dated after the closing was taken and counted a new agent of change in a later phase (tester 37c F1)."""
    member = join(client)
    grant_id = fund_osv(client, OSV_ID)
    close_grant(client, grant_id, "2024-06-30")
    before = client.get("/events").json()["head"]
    participations = f"/members/{member['id']}/participations"

    late = problem_of(client.post(participations, json={"grant_id": grant_id, "enrolled_on": "2024-07-01"}), 409)
    assert (late["field"], late["rule"]) == ("enrolled_on", "grant_open")
    assert "2024-06-30" in late["message"] and "2024-07-01" in late["message"]
    activity = {"osv_id": OSV_ID, "held_on": "2024-07-02", "kind": "mural_painting", "district": "Comas",
                "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 3}], "grant_id": grant_id}
    held_late = problem_of(client.post("/activities", json=activity), 409)
    assert (held_late["field"], held_late["rule"]) == ("held_on", "grant_open")
    assert client.get("/events").json()["head"] == before

    before_grant = problem_of(client.post("/activities", json={**activity, "held_on": "2024-03-31"}), 422)  # granted 2024-04-01
    assert (before_grant["field"], before_grant["rule"]) == ("held_on", "not_before_granted_on")
    backlog = client.post(participations, json={"grant_id": grant_id, "enrolled_on": "2024-06-30"})  # typed in late: taken
    assert backlog.status_code == 201, backlog.text
    assert client.post("/activities", json={**activity, "held_on": "2024-06-30"}).status_code == 201


def test_a_member_takes_part_in_a_project_funded_for_their_osv_and_withdraws(client: TestClient) -> None:
    member = join(client)
    grant_id = fund_osv(client, OSV_ID)
    participations = f"/members/{member['id']}/participations"

    enrolled = client.post(participations, json={"grant_id": grant_id, "enrolled_on": "2024-05-01"})
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json() == {"grant_id": grant_id, "osv_id": OSV_ID, "enrolled_on": "2024-05-01", "withdrew_on": None, "recorded_on": None}

    twice = problem_of(client.post(participations, json={"grant_id": grant_id, "enrolled_on": "2024-06-01"}), 409)
    assert (twice["field"], twice["rule"]) == ("grant_id", "enrol_once")

    early = client.post(f"{participations}/{grant_id}/withdrawal", json={"withdrew_on": "2024-04-01"})
    assert problem_of(early, 422)["rule"] == "not_before_enrolled_on"
    withdrew = client.post(f"{participations}/{grant_id}/withdrawal", json={"withdrew_on": "2024-08-01"})
    assert withdrew.status_code == 200
    again = client.post(f"{participations}/{grant_id}/withdrawal", json={"withdrew_on": "2024-09-01"})
    assert problem_of(again, 409)["rule"] == "withdraw_once"

    events = {e["type"]: e["data"] for e in client.get("/events").json()["events"]}
    assert events["ParticipantEnrolled"] == {
        "member_id": member["id"],
        "grant_id": grant_id,
        "osv_id": OSV_ID,
        "nationality": "VE",
        "sex": "F",
        "age_band": "30-44",
        "enrolled_on": "2024-05-01",
        "occurred_on": "2024-05-01",
    }
    assert events["ParticipantWithdrew"]["withdrew_on"] == "2024-08-01"


def test_only_a_known_grant_and_an_active_member_of_its_osv_make_a_participation(client: TestClient) -> None:
    member = join(client)
    participations = f"/members/{member['id']}/participations"
    other_grant = fund_osv(client, map_osv(client))

    unknown = problem_of(client.post(participations, json={"grant_id": str(uuid4()), "enrolled_on": "2024-05-01"}), 422)
    elsewhere = problem_of(client.post(participations, json={"grant_id": other_grant, "enrolled_on": "2024-05-01"}), 422)

    assert (unknown["field"], unknown["rule"]) == ("grant_id", "grant_made_in_funding")
    assert (elsewhere["field"], elsewhere["rule"]) == ("grant_id", "member_of_granted_osv")
    assert client.get(f"/members/{member['id']}?purpose=contact").json()["participations"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({"erased_on": "10/01/2025"}, "erased_on"), ({}, "erased_on"), ({"erased_on": "2025-01-10", "why": "asked"}, "why")],
)
def test_an_erasure_request_that_is_malformed_is_refused_and_forgets_nothing(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    member = join(client)

    response = client.post(f"/members/{member['id']}/erasure", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert client.get(f"/members/{member['id']}?purpose=contact").json()["full_name"] == "Yusmary Cordero Palacios"
