"""A Kobo submission of thousands of wrong members: the webhook lists the first 100 errors and counts the rest without
a request per member.

Tester 33c F6's submission (5,000 members, each with a wrong document) was answered 422 with its first 100 errors
listed and ``errors_not_listed`` counting the rest, after a dry run of every member: 5,000 requests to engagement,
25 to 40 s of the webhook and of engagement, to count errors nobody is shown. The webhook sends the dry runs of the
entries whose errors it lists; past them, an entry engagement's request schema refuses is counted by that schema, in
engagement's words, and one the schema takes is still sent (only engagement knows a document registered already).

The later stories are the other ways a submission's mistakes came one round at a time, or in other words than
engagement's (testers 199 F2, F4, F5, F8, helper 200): every mistake comes in one answer, in the entries' order, as
engagement's own API says it.

Engagement is real, in this process, answering the webhook's requests through a transport that counts them;
registry's mapping of the OSV is handed to it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.imports.api import create_app as imports_app
from services.imports.application import Importer, Outcome, Services
from services.imports.client import Bearer
from services.imports.domain.commands import row_of
from services.imports.exports import from_kobo_json, read_xlsx
from services.imports.forms import shipped
from services.imports.settings import ImportSettings
from services.registry.schemas import OSVCreate
from shared.auth import AuthSettings
from shared.errors import LAG_RETRY_AFTER_SECONDS
from shared.problems import MAX_LISTED_ERRORS
from tests.support.api import Upstream
from tests.support.clients import application_of
from tests.support.identity import signed_in_headers
from tests.support.kobo import Answers, kobo_json, write_xlsx

pytestmark = pytest.mark.timeout(120)

MEMBERS, MEETING, ACTIVITY, MAPPING = (shipped()[form] for form in ("osv_members", "osv_meeting", "osv_activity", "osv_mapping"))
SECRET = "kobo-hook-secret-for-the-tests"


class CountingTransport(httpx.BaseTransport):
    """Engagement's in-process transport, with every request the webhook sends to it noted (method, path, dry run or not)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, bool]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path, request.url.params.get("dry_run") == "true"))
        return self.inner.handle_request(request)


def token() -> str:
    return signed_in_headers()["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def counted(engagement: TestClient) -> CountingTransport:
    return CountingTransport(engagement._transport)  # noqa: SLF001 - the test client's app, in process


@pytest.fixture
def webhook(engagement: TestClient, counted: CountingTransport) -> Iterator[TestClient]:
    settings = ImportSettings(
        registry_url="http://registry.invalid",
        engagement_url=str(engagement.base_url),
        kobo_hooks={"osv_members": SECRET, "osv_meeting": SECRET, "osv_activity": SECRET},
    )
    app = imports_app(settings, auth_settings=AuthSettings(), auth=Bearer(token()), transport=counted)
    with TestClient(app) as client:
        yield client


def posted(webhook: TestClient, submission: dict[str, Any], form: str = "osv_members") -> httpx.Response:
    basic = base64.b64encode(f"{form}:{SECRET}".encode()).decode()
    return webhook.post(f"/kobo/{form}/submissions", json=submission, headers={"Authorization": f"Basic {basic}"})


def test_a_submission_of_5000_wrong_members_is_refused_after_the_dry_runs_of_the_entries_its_answer_lists(
    webhook: TestClient, counted: CountingTransport
) -> None:
    answer = posted(webhook, {"_uuid": "t33c-f6", "miembros": [{"miembros/numero_documento": "1"}] * 5000})

    assert answer.status_code == 422, answer.text[:500]
    problem = answer.json()
    assert len(problem["errors"]) == MAX_LISTED_ERRORS
    # Each entry lacks five answers, and every one lacks the OSV (one error): all of them counted, as before.
    assert problem["errors_not_listed"] == 1 + 5 * 5000 - MAX_LISTED_ERRORS
    assert [e["field"] for e in problem["errors"][:2]] == ["osv", "miembros[1]/nombre_completo"]
    assert problem["errors"][-1]["field"].startswith("miembros[20]/")
    # The first 20 entries' dry runs hold the 101 errors the answer lists (or cuts at 100); the other 4,980 are not sent.
    assert counted.sent == [("POST", "/members", True)] * 20


def entries(*, zeros_repeated: bool) -> list[dict[str, Any]]:
    """300 people with the mistakes a promoter makes (one in sixteen without any, one a DNI of 2 or 3 digits), a document
    engagement holds already among
    them past the first 100 errors; with ``zeros_repeated``, every eighth a DNI of zeros, the same person given 37 times
    (refused before anything is sent, with what the dry runs find: :meth:`Importer._with_the_others_mistakes`)."""
    person = {**PERSON, "anio_nacimiento": 1990}
    mistakes: list[dict[str, Any]] = [
        {"numero_documento": None},  # number_with_document
        {"nombre_completo": None},  # missing
        {"sexo": "Z", "telefono": "12"},  # none of the form's choices; phone_6_to_15_digits
        {"nacionalidad": "Narnia"},  # iso_3166_alpha_2
        {"tipo_documento": "CARNET", "fecha_ingreso": "ayer"},  # none of the form's choices; no date
        {"anio_nacimiento": "mil", "rol": "presidenta"},  # no whole number; none of the form's choices
        # not_all_zeros, or phone_6_to_15_digits
        {"numero_documento": "00000000"} if zeros_repeated else {"telefono": "llamar"},
        {},
    ]
    people = []
    for place in range(300):
        given = {
            **person,
            "numero_documento": f"4{place:07d}" if place % 16 != 15 else f"{place}",
            **mistakes[place % len(mistakes)],
        }
        people.append({k: v for k, v in given.items() if v is not None})
    people[287] = {**person, "numero_documento": "49999999"}  # registered already: only engagement knows
    return people


@pytest.mark.parametrize("zeros_repeated", [False, True], ids=["each-once", "a-document-repeated"])
def test_the_errors_counted_past_the_listed_ones_are_those_engagements_dry_runs_give(
    engagement: TestClient, zeros_repeated: bool
) -> None:
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    registered = engagement.post(
        "/members",
        json={
            "osv_id": osv_id,
            "full_name": "Rosa Quispe",
            "document_type": "DNI",
            "document_number": "49999999",
            "nationality": "PE",
            "sex": "F",
            "joined_on": "2021-04-01",
        },
    )
    assert registered.status_code == 201, registered.text
    submission = kobo_json(MEMBERS, Answers({"osv": osv_id}, {"miembros": entries(zeros_repeated=zeros_repeated)}))
    row = row_of(MEMBERS, from_kobo_json(submission, MEMBERS), spreadsheet=False)
    urls = {"registry": "http://registry.invalid", "engagement": str(engagement.base_url)}
    every, listed = CountingTransport(engagement._transport), CountingTransport(engagement._transport)  # noqa: SLF001

    checked = Importer(Services(urls, token(), transport=every, sleep=lambda _: None)).run_row(row, dry_run=False)
    counted = Importer(
        Services(urls, token(), transport=listed, sleep=lambda _: None), listed=MAX_LISTED_ERRORS
    ).run_row(row, dry_run=False)

    assert checked.outcome == counted.outcome == Outcome.REFUSED
    assert len(checked.problems) > MAX_LISTED_ERRORS
    assert counted.problems == checked.problems  # the same problems, in the same order, in the same words
    assert ("document_number", "person_already_registered") in {
        (p.field, p.rule) for p in counted.problems[MAX_LISTED_ERRORS:]
    }
    # Every entry's dry run, but the 36 people given again (their first entry's answer stands for them: tester 199 F4).
    assert len(every.sent) == 300 - (36 if zeros_repeated else 0)
    # The listed entries' dry runs, and past them those of the entries the schema takes.
    assert len(listed.sent) < 300 // 2


PERSON = {
    "nombre_completo": "Rosa Quispe",
    "tipo_documento": "DNI",
    "nacionalidad": "PE",
    "sexo": "F",
    "rol": "member",
    "fecha_ingreso": "2021-04-01",
}


def members(osv_id: str, people: list[dict[str, Any]]) -> dict[str, Any]:
    return kobo_json(MEMBERS, Answers({"osv": osv_id}, {"miembros": people}))


def said(answer: httpx.Response) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in answer.json()["errors"]]


def test_two_presidents_are_refused_with_every_other_mistake_of_the_submission_in_the_entries_order(
    engagement: TestClient, webhook: TestClient
) -> None:
    """Tester 199 F2: a second president was refused alone, every other entry's mistakes dropped (a bad phone, or 100
    errors before it), and listed before a person given twice earlier in the form; a repeated document, refused the same
    way, lists them all."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    president = {**PERSON, "rol": "president"}
    wrong = {**PERSON, "numero_documento": "41111111", "telefono": "12"}

    answer = posted(webhook, members(osv_id, [wrong, {**president, "numero_documento": "42222222"}, {**president, "numero_documento": "43333333"}]))
    assert answer.status_code == 422, answer.text
    assert said(answer) == [("miembros[1]/telefono", "phone_6_to_15_digits"), ("miembros[3]/rol", "one_president")]
    assert "errors_not_listed" not in answer.json()

    twice = {**PERSON, "nombre_completo": "Yusmary Cordero", "nacionalidad": "VE", "tipo_documento": "CE", "numero_documento": "001234567"}
    answer = posted(webhook, members(osv_id, [
        {**president, "numero_documento": "42222222"}, {**president, "numero_documento": "43333333"}, twice, twice,
    ]))
    assert said(answer) == [("miembros[2]/rol", "one_president"), ("miembros[4]/numero_documento", "person_already_registered")]

    # 25 entries of four mistakes each before the two presidents: 100 listed, the president's counted past them.
    four = {**PERSON, "sexo": "Z", "telefono": "12", "nacionalidad": "Narnia", "anio_nacimiento": "mil"}
    for entries, listed, not_listed in ((24, 97, None), (25, 100, 1)):
        people = [{**four, "numero_documento": f"4{place:07d}"} for place in range(entries)]
        answer = posted(webhook, members(osv_id, [*people, {**president, "numero_documento": "42222222"},
                                                  {**president, "numero_documento": "43333333"}]))
        assert answer.status_code == 422, answer.text
        errors = said(answer)
        assert len(errors) == listed and answer.json().get("errors_not_listed") == not_listed, answer.text[:300]
        places = [int(field.split("[")[1].split("]")[0]) for field, _ in errors]
        assert places == sorted(places) and places[0] == 1
        if not_listed is None:
            assert errors[-1] == (f"miembros[{entries + 2}]/rol", "one_president")


def test_a_document_given_again_in_a_submission_is_looked_up_once_and_logged_once_on_its_holders_access_log(
    engagement: TestClient, webhook: TestClient, counted: CountingTransport
) -> None:
    """Tester 199 F4: 700 entries of one registered DNI made 700 dry runs, each a `registration_refused` entry on its
    holder's access log (600 of them only counted), and each resend of Kobo 700 more. The first entry's answer stands
    for the others; their own mistakes are still said, by engagement's schema."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    holder = engagement.post("/members", json={
        "osv_id": osv_id, "full_name": "Rosa Quispe", "document_type": "DNI", "document_number": "49999999",
        "nationality": "PE", "sex": "F", "joined_on": "2021-04-01",
    })
    assert holder.status_code == 201, holder.text
    people = [{**PERSON, "nombre_completo": f"Persona {place}", "numero_documento": "49999999"} for place in range(30)]
    people[6]["telefono"] = "12"
    people[10] = {**PERSON, "numero_documento": "41111111"}  # someone else, whose dry run is sent

    for resent in (1, 2):
        answer = posted(webhook, members(osv_id, people))
        assert answer.status_code == 422, answer.text
        errors = said(answer)
        assert errors == [
            *((f"miembros[{place}]/numero_documento", "person_already_registered") for place in range(1, 8)),
            ("miembros[7]/telefono", "phone_6_to_15_digits"),
            *((f"miembros[{place}]/numero_documento", "person_already_registered") for place in range(8, 31) if place != 11),
        ], errors
        # The first entry of the document and the other person: two dry runs, one entry on the holder's log per post.
        assert counted.sent == [("POST", "/members", True)] * 2 * resent
        log = engagement.get(f"/members/{holder.json()['id']}/access-log").json()
        assert [(a["purpose"], a["disclosure"]) for a in log] == [("duplicate_check", "registration_refused")] * resent


def test_an_unknown_osv_is_told_with_every_entrys_form_mistakes_in_one_refusal_and_waited_for_once(
    engagement: TestClient, webhook: TestClient, counted: CountingTransport
) -> None:
    """Tester 199 F5: a members' submission naming an OSV engagement does not know, with form mistakes, was refused for the
    mistakes alone; the OSV was told once they were put right, a second round for the promoter."""
    unknown = str(uuid4())
    nameless = {k: v for k, v in PERSON.items() if k != "nombre_completo"}
    people = [{**nameless, "numero_documento": "41111111"}, {**PERSON, "numero_documento": "42222222", "sexo": "Z"},
              {**PERSON, "numero_documento": "43333333", "telefono": "12"}]  # each with a mistake: none's dry run passed

    answer = posted(webhook, members(unknown, people))

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert said(answer) == [
        ("osv", "osv_mapped_in_registry"), ("miembros[1]/nombre_completo", "missing"), ("miembros[2]/sexo", "enum"),
        ("miembros[3]/telefono", "phone_6_to_15_digits"),
    ]
    assert unknown not in answer.text  # ids stay out of Kobo's log (for_kobo_log)
    # Its message says to retry after Retry-After: the answer carries it, as engagement's did (tester 206 F4: it did not).
    assert "(retry after Retry-After)" in answer.json()["errors"][0]["message"]
    assert answer.headers["retry-after"] == str(LAG_RETRY_AFTER_SECONDS)
    assert all(dry_run for _, _, dry_run in counted.sent)
    assert application_of(engagement).log_head() == 0  # nothing recorded

    # Each entry's refusal names the OSV with its own mistakes: waited for once, not once per entry (the first entry's
    # refusal names its missing name first).
    waits: list[float] = []
    urls = {"registry": "http://registry.invalid", "engagement": str(engagement.base_url)}
    importer = Importer(Services(urls, token(), transport=engagement._transport, sleep=waits.append))  # noqa: SLF001
    row = row_of(MEMBERS, from_kobo_json(members(unknown, people), MEMBERS), spreadsheet=False)
    assert importer.run_row(row, dry_run=False).outcome == Outcome.REFUSED
    assert waits == [LAG_RETRY_AFTER_SECONDS] * 2


def test_a_submission_refused_only_for_what_will_not_clear_up_by_itself_carries_no_retry_after(
    engagement: TestClient, webhook: TestClient
) -> None:
    """A Retry-After only where a problem may clear up by itself (tester 206 F4): form mistakes do not, whenever resent."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    answer = posted(webhook, members(osv_id, [{**PERSON, "numero_documento": "42222222", "sexo": "Z"}]))
    assert answer.status_code == 422 and said(answer) == [("miembros[1]/sexo", "enum")]
    assert "retry-after" not in answer.headers and "Retry-After" not in answer.text


def test_a_birth_year_is_kept_out_of_the_webhooks_answer_without_taking_it_out_of_a_date(
    engagement: TestClient, webhook: TestClient
) -> None:
    """Tester 199 F8 (b): a president born in the year they joined was told `joined_on […]-02-28`, the birth year taken out
    of the joining date as if it were the person's."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    child = {**PERSON, "nombre_completo": "Rosa Quispe", "numero_documento": "41111111", "rol": "president",
             "anio_nacimiento": 2015, "fecha_ingreso": "2015-02-28"}

    answer = posted(webhook, members(osv_id, [child]))

    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["field"], error["rule"]) == ("miembros[1]/rol", "board_role_adult")
    assert "joined_on 2015-02-28" in error["message"]
    assert "[…]" not in answer.text
    assert "Rosa Quispe" not in answer.text and "41111111" not in answer.text


def test_an_answer_of_spaces_alone_is_told_as_the_services_api_tells_it(engagement: TestClient, webhook: TestClient) -> None:
    """Tester 199 F8 (a): a name of spaces was read as unanswered, `missing`, where engagement's own POST /members says
    `string_too_short`; so were a meeting's notes and actions and an activity's description (left out, or `missing`)."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    blank = "   "
    meeting = Answers({"osv": osv_id, "fecha": "2021-06-10", "modalidad": "in_person", "temas": "needs", "notas": blank},
                      {"acciones": [{"descripcion": blank, "responsable": blank, "fecha_limite": "2021-06-30"}]})
    activity = Answers({"osv": osv_id, "fecha": "2021-07-03", "tipo": "mural_painting", "distrito": "Comas", "productos": "mural",
                        "cantidad_mural": 1, "descripcion": blank}, {"participantes": [{"nacionalidad": "VE", "sexo": "F", "cantidad": 12}]})
    cases = [
        (MEMBERS, members(osv_id, [{**PERSON, "numero_documento": "41111111", "nombre_completo": blank}]),
         [("miembros[1]/nombre_completo", "string_too_short")]),
        (MEETING, kobo_json(MEETING, meeting),
         [("notas", "string_too_short"), ("acciones[1]/descripcion", "string_too_short"), ("acciones[1]/responsable", "string_too_short")]),
        (ACTIVITY, kobo_json(ACTIVITY, activity), [("descripcion", "string_too_short")]),
    ]

    for form, submission, told in cases:
        answer = posted(webhook, submission, form.form_id)
        assert answer.status_code == 422, answer.text
        assert said(answer) == told
        assert "spaces alone are no text" in answer.json()["errors"][0]["message"]
        # Engagement's own API, given the body the webhook sends, says the same rules.
        [command] = row_of(form, from_kobo_json(submission, form), spreadsheet=False).commands
        own = engagement.post(command.path, json=command.body, params={"dry_run": "true"})
        assert [e["rule"] for e in own.json()["errors"]] == [rule for _, rule in told], own.text
    assert application_of(engagement).log_head() == 0  # nothing recorded

    # An OSV's name of spaces goes to registry as posted, whose schema says the same.
    [mapping] = row_of(MAPPING, from_kobo_json({"_uuid": "f8a", "nombre": blank, "distrito": "Comas", "fecha_mapeo": "2021-03-15"},
                                               MAPPING), spreadsheet=False).commands
    with pytest.raises(ValidationError) as refused:
        OSVCreate.model_validate(mapping.body)
    assert [(e["loc"], e["type"]) for e in refused.value.errors()] == [(("name",), "string_too_short")]

    # A phone of spaces is no phone, to engagement as to the webhook; two documents of spaces are no document, not one
    # person given twice (whose second entry's role would go unchecked: two presidents).
    president = {**PERSON, "numero_documento": blank, "rol": "president"}
    answer = posted(webhook, members(osv_id, [{**PERSON, "numero_documento": "42222222", "telefono": blank}, president, president]))
    assert said(answer) == [("miembros[2]/numero_documento", "number_with_document"), ("miembros[3]/rol", "one_president"),
                            ("miembros[3]/numero_documento", "number_with_document")]
    answer = posted(webhook, members(osv_id, [{**PERSON, "numero_documento": "42222222", "telefono": blank}]))
    assert answer.status_code == 201, answer.text


def test_an_unread_date_on_one_entry_of_a_spreadsheet_row_leaves_the_other_entries_dates_checked(
    engagement: TestClient, tmp_path: Path
) -> None:
    """Helper 200's leftover (b): a date the import could not read on one entry was dropped from every entry's command for
    the dry run that finds the row's other mistakes, so another entry's date that only engagement refuses (before the
    earliest date, a board role for a minor on that day) went unsaid until the first was put right."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    people = [
        {**PERSON, "numero_documento": "41111111", "fecha_ingreso": "ayer"},  # the import cannot read it
        {**PERSON, "numero_documento": "42222222", "fecha_ingreso": "1990-05-01"},  # before engagement's earliest date
        {**PERSON, "numero_documento": "43333333", "rol": "president", "anio_nacimiento": 2010, "fecha_ingreso": "2021-04-01"},
    ]
    export = write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, [Answers({"osv": osv_id}, {"miembros": people})])
    [row] = [row_of(MEMBERS, submission) for submission in read_xlsx(export, MEMBERS).submissions]
    urls = {"registry": "http://registry.invalid", "engagement": str(engagement.base_url)}

    result = Importer(Services(urls, token(), transport=engagement._transport, sleep=lambda _: None)).run_row(row, dry_run=False)  # noqa: SLF001

    assert result.outcome == Outcome.REFUSED
    assert [(p.cell.row, p.field, p.rule) for p in result.problems] == [
        (2, "joined_on", "date_as_excel_writes_it"),
        (3, "joined_on", "not_before_earliest_date"),
        (4, "role", "board_role_adult"),
    ]
    assert application_of(engagement).log_head() == 0  # nothing recorded


def test_a_person_given_again_is_told_what_engagement_would_say_of_their_own_entry_without_a_second_lookup(
    engagement: TestClient, webhook: TestClient, counted: CountingTransport
) -> None:
    """Helper 200's leftover (a): a person given again is not dry-run with their document (looked up once per post, tester
    199 F4), so what only engagement's application checks of their entry went unsaid: a board role for a minor, a birth
    year past engagement's clock, the president's seat taken. The submission is refused for the repeat all the same,
    nothing of it recorded; the promoter is now told those too, in one round."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    president = engagement.post("/members", json={
        "osv_id": osv_id, "full_name": "Carmen Huamán", "document_type": "DNI", "document_number": "49999999",
        "nationality": "PE", "sex": "F", "joined_on": "2021-04-01", "role": "president",
    })
    assert president.status_code == 201, president.text
    holder = engagement.post("/members", json={
        "osv_id": osv_id, "full_name": "Rosa Quispe", "document_type": "DNI", "document_number": "41111111",
        "nationality": "PE", "sex": "F", "joined_on": "2021-04-01",
    })
    assert holder.status_code == 201, holder.text
    rosa = {**PERSON, "numero_documento": "41111111"}  # registered already: the first entry's dry run says so
    people = [
        rosa,
        {**rosa, "rol": "board_member", "anio_nacimiento": 2015},  # a minor on the board
        {**rosa, "anio_nacimiento": 2999},  # past this year, by engagement's clock
        {**rosa, "rol": "president", "anio_nacimiento": 1980},  # the OSV has a president
        {**rosa, "nombre_completo": "Rosa Q."},  # only the name differs: what the first entry's dry run said stands
    ]

    answer = posted(webhook, members(osv_id, people))

    assert answer.status_code == 422, answer.text
    again = "person_already_registered"
    assert said(answer) == [
        ("miembros[1]/numero_documento", again),
        ("miembros[2]/numero_documento", again), ("miembros[2]/rol", "board_role_adult"),
        ("miembros[3]/numero_documento", again), ("miembros[3]/anio_nacimiento", "birth_year_range"),
        ("miembros[4]/numero_documento", again), ("miembros[4]/rol", "one_president"),
        ("miembros[5]/numero_documento", again),
    ]
    roster = engagement.get(f"/osvs/{osv_id}/members", params={"masked": "true"})
    assert len(roster.json()) == 2, roster.text  # nothing recorded: Carmen and Rosa, as before
    # The first entry with its document; each repeat whose entry differs in what engagement's application checks, without.
    assert counted.sent == [("POST", "/members", True)] * 4
    log = engagement.get(f"/members/{holder.json()['id']}/access-log").json()
    assert [(a["purpose"], a["disclosure"]) for a in log] == [("duplicate_check", "registration_refused")]  # looked up once
