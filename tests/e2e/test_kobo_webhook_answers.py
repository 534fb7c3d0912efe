"""What the Kobo webhook answers, as Kobo's REST Services log keeps it for every admin of the form to read.

The four services listen on real ports with a real nats-server; the webhook
signs in as its own client (``osv-imports``) with the real identity provider.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.identity import IdentityProvider
from services.imports.application import Services
from services.imports.cli import main as osv_import
from services.imports.domain.commands import row_of
from services.imports.exports import from_kobo_json
from services.imports.forms import shipped
from tests.support.identity import IssuedTokens, signed_in_headers
from tests.support.kobo import Answers, kobo_json, write_csv
from tests.support.served import ServedApp, served_system, served_webhook
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(300)

FORMS = shipped()
MAPPING, MEMBERS, MEETING = FORMS["osv_mapping"], FORMS["osv_members"], FORMS["osv_meeting"]
HOOK_SECRET = "kobo-hook-secret-for-the-tests"


@pytest.fixture
def system(tmp_path: Path, nats_server: Any) -> Iterator[tuple[Any, dict[str, ServedApp]]]:
    with served_system(tmp_path / "var", nats_server.url) as running:
        yield running


@pytest.fixture
def hook(system: tuple[Any, dict[str, ServedApp]], identity_provider: IdentityProvider) -> Iterator[ServedApp]:
    _, served = system
    with served_webhook(served, identity_provider, ("osv_mapping", "osv_members", "osv_meeting"), HOOK_SECRET) as running:
        yield running


def post(hook: ServedApp, form: str, submission: dict[str, Any]) -> httpx.Response:
    basic = base64.b64encode(f"{form}:{HOOK_SECRET}".encode()).decode()
    return httpx.post(f"{hook.url}/kobo/{form}/submissions", json=submission, headers={"Authorization": f"Basic {basic}"}, timeout=60)


def mapped_osv(served: dict[str, ServedApp], name: str) -> str:
    """An OSV registry mapped, once engagement has heard of it."""
    answer = httpx.post(f"{served['registry'].url}/osvs", json={"name": name, "district": "Comas", "mapped_on": "2021-03-15"},
                        headers=signed_in_headers("staff"), timeout=30)
    assert answer.status_code == 201, answer.text
    osv = answer.json()["id"]
    auditor = signed_in_headers("auditor")
    eventually(lambda: httpx.get(f"{served['engagement'].url}/osvs/{osv}/members", headers=auditor, timeout=30).status_code == 200,
               timeout=60)
    return osv


def test_a_person_registered_elsewhere_is_refused_without_naming_their_member_id_in_kobos_log(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp
) -> None:
    """A promoter of another OSV registers a woman already registered as a member of the first: engagement refuses
    her (409 ``person_already_registered``), naming her member id. The webhook's answer repeated it, and Kobo's REST
    Services log showed every admin of the second form who she is on the platform (tester finding, privacy). The rule
    is kept; the ids are not."""
    _, served = system
    first, second = mapped_osv(served, "Olla Común Virgen de Fátima"), mapped_osv(served, "Comedor Santa Rosa de Comas")
    person = {"nombre_completo": "Yorgelis Carolina Mendoza Pérez", "tipo_documento": "CE", "numero_documento": "001234567",
              "nacionalidad": "VE", "sexo": "F", "anio_nacimiento": 1990, "rol": "member", "fecha_ingreso": "2021-04-01"}
    registered = post(hook, "osv_members", kobo_json(MEMBERS, Answers({"osv": first}, {"miembros": [person]})))
    assert registered.status_code == 201, registered.text
    staff = signed_in_headers("staff")
    roster = httpx.get(f"{served['engagement'].url}/osvs/{first}/members", params={"purpose": "follow_up"}, headers=staff, timeout=30)
    ids = {str(v) for member in roster.json() for k, v in member.items() if k.endswith("id") and v}
    assert ids - {first}, roster.text  # her member id (and her membership's), as engagement names them

    other = {**person, "fecha_ingreso": "2021-05-01"}
    refused = post(hook, "osv_members", kobo_json(MEMBERS, Answers({"osv": second}, {"miembros": [other]})))

    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["rule"]) == ("miembros[1]/numero_documento", "person_already_registered")
    assert "already registered as member […]" in error["message"]
    for named in ids - {first, second}:
        assert named not in refused.text


def test_a_mapping_like_an_osv_of_its_district_is_refused_with_what_a_kobo_admin_can_do(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp
) -> None:
    """Tester 226 F6: the webhook's ``possible_duplicate`` told the Kobo admin to "send the request again with
    "distinct_from": [<those ids>]", which Kobo cannot send: such a submission is mapped from the export, with
    ``osv-import --distinct``, and the answer says so. Registry's own API keeps its advice to an API client."""
    _, served = system
    registry = served["registry"].url
    first = {"name": "Comedor Popular Santa Rosa", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"}
    mapped = httpx.post(f"{registry}/osvs", json=first, headers=signed_in_headers("staff"), timeout=30)
    assert mapped.status_code == 201, mapped.text
    again = Answers({"nombre": "Comedor  Popular Santa Rosa", "distrito": "150132", "fecha_mapeo": "2021-04-02"})

    refused = post(hook, "osv_mapping", kobo_json(MAPPING, again))

    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["rule"]) == ("osv/nombre", "possible_duplicate")
    assert "Comedor Popular Santa Rosa" in error["message"] and mapped.json()["id"] not in refused.text
    assert 'distinct_from": [' not in error["message"] and "send the request again" not in error["message"]
    assert "the programme's staff map it from the form's export, with osv-import --distinct" in error["message"]
    assert "if it is the same, it is mapped already" in error["message"]
    body = {**first, "name": "Comedor  Popular Santa Rosa", "mapped_on": "2021-04-02"}
    staff = signed_in_headers("staff")
    own = httpx.post(f"{registry}/osvs", json=body, headers=staff, params={"dry_run": "true"}, timeout=30)
    assert own.status_code == 409, own.text
    assert 'send the request again with "distinct_from": [<those ids>]' in own.json()["detail"]  # the API's, unchanged
    mapped_now = httpx.get(f"{registry}/osvs", headers=staff, timeout=30).json()
    assert [o["name"] for o in mapped_now] == ["Comedor Popular Santa Rosa"]


def test_a_submission_another_account_recorded_first_is_answered_already_there_with_the_note(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp, tokens: IssuedTokens
) -> None:
    """A colleague recorded the meeting from the export before Kobo's REST Services posted it. The webhook answered
    "already there" with the outcome alone; the note the import's report carries (``recorded_otherwise``: a correction
    made in Kobo since is not applied) never reached the promoter. It is in the answer's ``notes`` now."""
    _, served = system
    osv = mapped_osv(served, "Olla Común Virgen de Fátima")
    meeting = Answers({"osv": osv, "fecha": "2021-06-10", "modalidad": "in_person", "temas": "needs"},
                      {"acciones": [{"descripcion": "Cotizar pintura", "responsable": "tesorería", "fecha_limite": "2021-06-30"}]})
    submission = kobo_json(MEETING, meeting)
    row = row_of(form=MEETING, submission=from_kobo_json(data=submission, form=MEETING), spreadsheet=False)
    colleague = Services({"registry": served["registry"].url, "engagement": served["engagement"].url}, tokens["staff"])
    try:
        assert [colleague.send(command, dry_run=False).status for command in row.commands] == [201] * len(row.commands)
    finally:
        colleague.close()

    answer = post(hook, "osv_meeting", submission)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "already there"
    [note] = answer.json()["notes"]
    assert (note["field"], note["rule"]) == ("Idempotency-Key", "recorded_otherwise")
    assert "not recorded again" in note["message"]


def test_a_submissions_key_taken_first_by_another_request_refuses_it_in_the_webhook_and_the_import(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp, tokens: IssuedTokens, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Import keys are ``kobo:<_uuid>:<form>:<part>``: anyone with write rights who knows a submission's ``_uuid`` can
    send a request of their own under its key before Kobo posts it. The webhook got 422 ``idempotency_key_reused``,
    answered "already there" and the bogus request silently stood for the submission (tester finding, "key
    squatting"). The services now tell it from the same request sent by a colleague: the submission is refused,
    naming its key, in the webhook's answer and the import's report, and nothing of it is taken for recorded."""
    _, served = system
    registry = served["registry"].url
    osv = Answers({"nombre": "Comedor Popular Santa Rosa de Bayóvar", "distrito": "150132", "fecha_mapeo": "2021-03-16"})
    submission = kobo_json(MAPPING, osv)
    [command] = row_of(form=MAPPING, submission=from_kobo_json(data=submission, form=MAPPING), spreadsheet=False).commands
    assert command.key.startswith("kobo:")
    bogus = httpx.post(f"{registry}/osvs", json={"name": "Otra cosa", "district": "Comas", "mapped_on": "2021-03-01"},
                       headers={"Idempotency-Key": command.key, **signed_in_headers("lead")}, timeout=30)
    assert bogus.status_code == 201, bogus.text

    answer = post(hook, "osv_mapping", submission)

    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["field"], error["rule"]) == ("Idempotency-Key", "idempotency_key_reused")
    assert "used before for another request" in error["message"]

    connection = ["--registry-url", registry, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    assert osv_import([str(write_csv(tmp_path / "mapeo.csv", MAPPING, [osv])), *connection]) == 1
    assert "0 created, 0 already there, 1 refused" in capsys.readouterr().out
    mapped = httpx.get(f"{registry}/osvs", headers=signed_in_headers("staff"), timeout=30).json()
    assert [o["name"] for o in mapped] == ["Otra cosa"]


def test_a_submission_whose_uuid_is_not_ascii_or_very_long_is_recorded_whole_once_and_a_json_object_answer_is_refused(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp
) -> None:
    """Tester 33: a ``_uuid`` typed as ``fila-ñandú-001`` made the webhook answer 500 (the Idempotency-Key header takes
    ASCII only; Kobo retries a 5xx for ever); one of 260 characters gave both members of a submission one key, cut at
    255: the first was recorded, the second refused for ever. A JSON object as a name was recorded as ``{'a': 1}``."""
    _, served = system
    osv = mapped_osv(served, "Asociación Ñandú de Cajamarquilla")
    staff = signed_in_headers("staff")

    def person(name: str, number: str) -> dict[str, Any]:
        return {"nombre_completo": name, "tipo_documento": "DNI", "numero_documento": number, "nacionalidad": "PE",
                "sexo": "F", "anio_nacimiento": 1990, "rol": "member", "fecha_ingreso": "2021-04-01"}

    def roster() -> int:
        members = httpx.get(f"{served['engagement'].url}/osvs/{osv}/members", params={"purpose": "follow_up"}, headers=staff, timeout=30)
        assert members.status_code == 200, members.text
        return len(members.json())

    # Tester 33c F5: a `_uuid` of visible ASCII holding a quote or a backslash was refused idempotency_key_format on
    # every member, which a promoter cannot fix: the import now sends each key as the draft writes it, quoted.
    for uuid, people in (("fila-ñandú-001", [person("Rosa Ñahui Quispe", "42345601")]),
                         ("b" * 260, [person("Milagros Huamán Ccori", "42345602"), person("Dayana Rojas Pérez", "42345603")]),
                         ('ok"<script>\\x', [person("Lucía Paredes Ñaupa", "42345605")])):
        before = roster()
        submission = kobo_json(MEMBERS, Answers({"osv": osv}, {"miembros": people}, uuid=uuid))
        first = post(hook, "osv_members", submission)
        assert first.status_code == 201, first.text
        assert roster() == before + len(people)
        again = post(hook, "osv_members", submission)
        assert (again.status_code, again.json()["outcome"]) == (200, "already there"), again.text
        assert roster() == before + len(people)

    odd = kobo_json(MEMBERS, Answers({"osv": osv}, {"miembros": [person("Ana Torres", "42345604")]}))
    odd["miembros"][0]["miembros/nombre_completo"] = {"a": 1}
    refused = post(hook, "osv_members", odd)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["rule"]) == ("miembros[1]/nombre_completo", "kobo_answer"), error
    # A `_uuid` that is no text was taken as its Python text ("{'x': 1}", "True") and echoed: refused, naming it.
    for uuid in ({"x": 1}, ["u"], True):
        submission = kobo_json(MEMBERS, Answers({"osv": osv}, {"miembros": [person("Ana Torres", "42345604")]}))
        submission["_uuid"] = uuid
        refused = post(hook, "osv_members", submission)
        assert refused.status_code == 422 and [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [("_uuid", "kobo_answer")], refused.text
    assert roster() == 4


def test_an_entry_given_twice_still_gets_its_own_mistakes_and_a_placeholder_document_is_not_called_a_person(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp
) -> None:
    """Tester 36b F3: the second of two entries with one document was told only that it is "a person" given before: its
    impossible date went unsaid, and 300 entries of DNI "12" got one dni_8_digits and 299 "same person"."""
    _, served = system
    osv = mapped_osv(served, "Comedor Popular Las Begonias")
    person = {"nombre_completo": "Rosa Quispe Mamani", "tipo_documento": "DNI", "numero_documento": "45678913", "nacionalidad": "PE",
              "sexo": "F", "rol": "member", "fecha_ingreso": "2021-04-01"}
    twice = [person, {**person, "nombre_completo": "Rosa Quispe M.", "fecha_ingreso": "2021-02-30"}]
    placeholder = [{**p, "numero_documento": "00000000"} for p in twice]

    for entries, document_rules in ((twice, {1: None, 2: "person_already_registered"}), (placeholder, {1: "not_all_zeros", 2: "not_all_zeros"})):
        answer = post(hook, "osv_members", kobo_json(MEMBERS, Answers({"osv": osv}, {"miembros": entries})))
        assert answer.status_code == 422, answer.text
        said = {(e["field"], e["rule"]) for e in answer.json()["errors"]}
        assert {rule for field, rule in said if field == "miembros[2]/fecha_ingreso"} == {"iso_8601_date"}, said  # its own mistake
        for entry, rule in document_rules.items():
            assert {r for f, r in said if f == f"miembros[{entry}]/numero_documento"} == ({rule} if rule else set()), said


def test_the_body_checks_name_a_place_in_a_post_as_kobo_does(system: tuple[Any, dict[str, ServedApp]], hook: ServedApp) -> None:
    """Tester 36b F4: a key given twice in the first member was named ``miembros.0.miembros/sexo``, where every other
    answer of the webhook says ``miembros[1]/sexo``."""
    basic = base64.b64encode(f"osv_members:{HOOK_SECRET}".encode()).decode()
    for body, field, rule in (
        (b'{"_uuid": "t36b-f4", "miembros": [{"miembros/sexo": "F", "miembros/sexo": "M"}]}', "miembros[1]/sexo", "duplicate_key"),
        (b'{"_uuid": "t36b-f4", "miembros": [{}, {"miembros/anio_nacimiento": 1e-400}]}', "miembros[2]/anio_nacimiento", "json_number"),
        (b'{"_uuid": "t36b-f4", "_uuid": "t36b-f4b"}', "_uuid", "duplicate_key"),
    ):
        answer = httpx.post(f"{hook.url}/kobo/osv_members/submissions", content=body, timeout=60,
                            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/json"})
        assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [(field, rule)], answer.text
    said = answer.json()["errors"][0]["message"]
    assert said.startswith("the key '_uuid' is given twice in one object:"), said


def test_a_submission_sent_as_other_than_json_is_refused_before_it_is_read(system: tuple[Any, dict[str, ServedApp]], hook: ServedApp) -> None:
    """Tester 36c F1: the webhook read any body as JSON while the body checks look at JSON ones only: as text/plain, a
    name given twice stored its second spelling, and 100,000 nested brackets answered 500."""
    basic = base64.b64encode(f"osv_members:{HOOK_SECRET}".encode()).decode()
    for content_type, bodies in (
        ("text/plain", (b'{"_uuid": "t36c", "osv": "x", "osv": "y"}', b"[" * 100_000 + b"]" * 100_000)),
        ("multipart/form-data; boundary=x", (b'{"_uuid": "t36c", "osv": "x", "osv": "y"}',)),
        ("text/plain; a=json", (b'{"_uuid": "t36d"}',)),  # the media type is compared, not searched for "json" (tester 36d F3)
        ("text/json", (b'{"_uuid": "t36d"}',)),
        ("application/jsonx", (b'{"_uuid": "t36d"}',)),
    ):
        for body in bodies:
            answer = httpx.post(f"{hook.url}/kobo/osv_members/submissions", content=body, timeout=60,
                                headers={"Authorization": f"Basic {basic}", "Content-Type": content_type})
            assert answer.status_code == 415 and answer.headers["content-type"] == "application/problem+json", answer.text
            assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [("Content-Type", "json_content_type")]


def test_the_webhooks_refusal_of_thousands_of_mistakes_is_bounded_as_the_services_are(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp
) -> None:
    """Tester 33c F6: 5,000 members each with a wrong document (a 175 KB submission) were answered with 25,001 errors,
    3.2 MB, every one repeated in ``detail``; the answer is kept in Kobo's REST Services log, read by every admin of the form."""
    answer = post(hook, "osv_members", {"_uuid": "t33c-f6", "miembros": [{"miembros/numero_documento": "1"}] * 5000})
    assert answer.status_code == 422, answer.text[:500]
    problem = answer.json()
    assert len(answer.content) < 40_000, len(answer.content)
    assert len(problem["errors"]) == 100 and problem["errors_not_listed"] > 4_900
    assert [e["field"] for e in problem["errors"][:2]] == ["osv", "miembros[1]/nombre_completo"], problem["errors"][:3]  # in order, Kobo's paths
    assert problem["detail"].endswith(f"and {len(problem['errors']) + problem['errors_not_listed'] - 10} more")


def test_the_webhooks_own_token_records_a_submission_and_reads_nobodys_personal_data(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp, tokens: IssuedTokens
) -> None:
    """The webhook's client ``osv-imports`` held ``staff``: its token, got with ``IMPORTS_CLIENT_SECRET`` (the secret of the
    part KoboToolbox reaches from the internet), read every person's name and document type, looked people up by
    document and read histories, and the access log named a machine (tester 192 F5). It holds ``importer`` now: what
    a form's submission sends (``submissions:record``), and nothing else."""
    _, served = system
    osv = mapped_osv(served, "Olla Común Virgen de Fátima")
    person = {"nombre_completo": "Yorgelis Carolina Mendoza Pérez", "tipo_documento": "CE", "numero_documento": "001234567",
              "nacionalidad": "VE", "sexo": "F", "anio_nacimiento": 1990, "rol": "member", "fecha_ingreso": "2021-04-01"}

    recorded = post(hook, "osv_members", kobo_json(MEMBERS, Answers({"osv": osv}, {"miembros": [person]})))

    assert recorded.status_code == 201, recorded.text
    engagement = served["engagement"].url
    roster = httpx.get(f"{engagement}/osvs/{osv}/members", params={"purpose": "follow_up"}, headers=signed_in_headers("staff"), timeout=30)
    [member] = roster.json()
    assert member["full_name"] == person["nombre_completo"]  # recorded whole, as staff read it

    webhook = {"Authorization": f"Bearer {tokens['osv-imports']}"}
    reads = {
        "members:read": (f"{engagement}/members/{member['member_id']}", {"purpose": "contact"}),
        "members:find": (f"{engagement}/members", {"document_type": "CE", "document_number": "001234567", "purpose": "duplicate_check"}),
        "audit:read": (f"{served['registry'].url}/osvs/{osv}/history", {}),
        "indicators:read": (f"{served['reporting'].url}/indicators", {}),
        "programme:read": (f"{served['registry'].url}/osvs/{osv}", {}),
        "events:read": (f"{engagement}/events", {}),
    }
    for permission, (url, params) in reads.items():
        refused = httpx.get(url, params=params, headers=webhook, timeout=30)
        assert refused.status_code == 403, (url, refused.text)
        assert refused.json()["permission"] == permission
        assert person["nombre_completo"] not in refused.text
    log = httpx.get(f"{engagement}/members/{member['member_id']}/access-log", headers=signed_in_headers("dpo"), timeout=30)
    assert "osv-imports" not in log.text, log.text  # nothing read as the machine
    # Nor any command a form does not send (helper 195: with programme:write it could dissolve or merge OSVs and grant funds).
    registry = served["registry"].url
    for url in (f"{registry}/osvs/{osv}/dissolution", f"{registry}/osvs/{osv}/merges", f"{served['funding'].url}/grants",
                f"{engagement}/members/{member['member_id']}/departure", f"{registry}/non-working-days"):
        refused = httpx.post(url, json={}, headers=webhook, timeout=30)
        assert refused.status_code == 403 and refused.json()["permission"] == "programme:write", (url, refused.text)
    assert httpx.get(f"{registry}/osvs/{osv}", headers=signed_in_headers("staff"), timeout=30).json()["dissolution"] is None
