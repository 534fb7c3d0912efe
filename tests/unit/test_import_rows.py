"""Each row all or nothing: checked whole by dry runs before any command is sent for real.

The services stand in as :class:`FakeServices`, which answer from a script and
remember what was recorded, so the order of dry runs and real requests, and
what a row ends as, are seen exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.imports.application import Answer, Importer, Outcome, Summary
from services.imports.domain.commands import Command, Row, date_mistake, iso_date, loose_document
from services.imports.domain.submissions import Cell, Entry, Submission
from services.imports.refusals import scrub


def command(n: int, **sources: Cell) -> Command:
    return Command(
        "engagement",
        "/members",
        {"full_name": f"Persona {n}", "document_number": f"4100000{n}"},
        f"kobo:u:osv_members:miembros/{n}",
        Cell("miembros", n + 1, ""),
        {"full_name": Cell("miembros", n + 1, "miembros/nombre_completo"), **sources},
        (f"Persona {n}", f"4100000{n}"),
    )


def a_row(*commands: Command) -> Row:
    return Row(Submission("u", Entry("main", 2)), list(commands))


CREATED = Answer(201, {"id": "x"}, replayed=False)
REPLAYED = Answer(201, {"id": "x"}, replayed=True)


def refused(field_name: str, rule: str, message: str, status: int = 422) -> Answer:
    return Answer(status, {"status": status, "detail": message, "errors": [{"field": field_name, "rule": rule, "message": message}]}, False)


@dataclass
class FakeServices:
    """Answers each key from ``dry`` (dry runs) and ``real`` (real requests); records real ones that succeed."""

    dry: dict[str, Answer] = field(default_factory=dict)
    real: dict[str, Answer] = field(default_factory=dict)
    sent: list[tuple[str, bool]] = field(default_factory=list)
    recorded: set[str] = field(default_factory=set)

    def send(self, command: Command, *, dry_run: bool, patient: bool = True) -> Answer:
        self.sent.append((command.key, dry_run))
        if command.key in self.recorded:
            return REPLAYED
        answer = (self.dry if dry_run else self.real).get(command.key, CREATED)
        if not dry_run and answer.status < 300:
            self.recorded.add(command.key)
        return answer


def test_a_row_is_sent_for_real_only_once_every_command_passed_its_dry_run() -> None:
    services = FakeServices()
    row = a_row(command(1), command(2), command(3))

    result = Importer(services).run_row(row, dry_run=False)  # type: ignore[arg-type]

    assert result.outcome == Outcome.CREATED
    assert [dry for _, dry in services.sent] == [True, True, True, False, False, False]
    assert len(services.recorded) == 3


def test_one_refused_command_refuses_the_row_naming_its_cell_and_nothing_is_sent_for_real() -> None:
    services = FakeServices(dry={"kobo:u:osv_members:miembros/2": refused("full_name", "string_too_long", "too long")})

    result = Importer(services).run_row(a_row(command(1), command(2), command(3)), dry_run=False)  # type: ignore[arg-type]

    assert result.outcome == Outcome.REFUSED
    [problem] = result.problems
    assert (problem.cell, problem.field, problem.rule) == (Cell("miembros", 3, "miembros/nombre_completo"), "full_name", "string_too_long")
    assert all(dry for _, dry in services.sent) and services.recorded == set()


def test_a_dry_run_records_nothing_and_says_what_would_be_created() -> None:
    services = FakeServices()

    summary = Importer(services).run([a_row(command(1)), a_row(command(2))], dry_run=True)  # type: ignore[arg-type]

    assert [r.outcome for r in summary.results] == [Outcome.CREATED, Outcome.CREATED]
    assert summary.line() == "2 would be created, 0 already there, 0 refused"
    assert services.recorded == set()


def test_a_command_refused_after_its_dry_run_leaves_the_row_partial_and_the_row_imported_again_is_finished() -> None:
    # Between the dry run and the third command, someone registers that person's document.
    taken = refused("document_number", "person_already_registered", "a person with this document is already registered", 409)
    services = FakeServices(real={"kobo:u:osv_members:miembros/3": taken})
    row = a_row(command(1), command(2), command(3))

    first = Importer(services).run_row(row, dry_run=False)  # type: ignore[arg-type]

    assert first.outcome == Outcome.PARTIAL
    assert first.recorded == ["kobo:u:osv_members:miembros/1", "kobo:u:osv_members:miembros/2"]
    assert [p.rule for p in first.problems] == ["person_already_registered"]

    # The row is corrected and imported again: what was recorded is answered from its keys, the rest runs.
    services.real.clear()
    again = Importer(services).run_row(row, dry_run=False)  # type: ignore[arg-type]

    assert again.outcome == Outcome.CREATED and again.recorded == ["kobo:u:osv_members:miembros/3"]
    assert len(services.recorded) == 3


def test_a_row_carried_out_before_is_already_there_and_nothing_is_sent_for_real() -> None:
    services = FakeServices(recorded={"kobo:u:osv_members:miembros/1"})
    completed = Answer(409, {"errors": [{"field": "Idempotency-Key", "rule": "idempotent_request_completed", "message": "done"}]}, False)
    services.dry["kobo:u:osv_members:miembros/2"] = completed

    result = Importer(services).run_row(a_row(command(1), command(2)), dry_run=False)  # type: ignore[arg-type]

    assert result.outcome == Outcome.ALREADY_THERE
    assert all(dry for _, dry in services.sent)


def test_the_same_person_in_two_rows_is_caught_by_the_dry_run_though_no_single_request_can_see_it() -> None:
    first, second = command(1), command(2)
    first.document = second.document = ("DNI", "41000001")

    summary = Importer(FakeServices()).run([a_row(first), a_row(second)], dry_run=True)  # type: ignore[arg-type]

    assert [r.outcome for r in summary.results] == [Outcome.CREATED, Outcome.REFUSED]
    assert summary.results[1].problems[0].rule == "person_already_registered"


def test_a_person_in_a_row_the_dry_run_refuses_does_not_refuse_the_same_person_in_a_later_row() -> None:
    """Row 1 registers a person in an OSV engagement does not know (refused whole: nothing of it is recorded); row 2
    registers the same person in a known OSV. The real import records row 2, so the dry run says row 2 would be
    created, not "registered already by row 1" (the second tester's finding)."""
    first, second = command(1), command(2)
    first.document = second.document = ("DNI", "41000001")
    unknown = refused("osv_id", "not_found", "no such OSV", 404)

    real = Importer(FakeServices(dry={first.key: unknown}, real={first.key: unknown})).run([a_row(first), a_row(second)], dry_run=False)  # type: ignore[arg-type]
    dry = Importer(FakeServices(dry={first.key: unknown}, real={first.key: unknown})).run([a_row(first), a_row(second)], dry_run=True)  # type: ignore[arg-type]

    assert [r.outcome for r in real.results] == [Outcome.REFUSED, Outcome.CREATED]
    assert [r.outcome for r in dry.results] == [Outcome.REFUSED, Outcome.CREATED], [p.message for r in dry.results for p in r.problems]


def test_a_row_of_one_command_is_sent_once_for_real_without_a_dry_run_first() -> None:
    services = FakeServices()

    result = Importer(services).run_row(a_row(command(1)), dry_run=False)  # type: ignore[arg-type]

    assert result.outcome == Outcome.CREATED and result.recorded == ["kobo:u:osv_members:miembros/1"]
    assert services.sent == [("kobo:u:osv_members:miembros/1", False)]


def test_a_row_of_one_command_refused_is_refused_naming_its_cell_and_imported_again_is_already_there() -> None:
    services = FakeServices(real={"kobo:u:osv_members:miembros/1": refused("full_name", "string_too_long", "too long")})

    refused_row = Importer(services).run_row(a_row(command(1)), dry_run=False)  # type: ignore[arg-type]

    assert refused_row.outcome == Outcome.REFUSED and services.recorded == set()
    assert [(p.cell, p.rule) for p in refused_row.problems] == [(Cell("miembros", 2, "miembros/nombre_completo"), "string_too_long")]

    services.real.clear()
    assert Importer(services).run_row(a_row(command(1)), dry_run=False).outcome == Outcome.CREATED  # type: ignore[arg-type]
    assert Importer(services).run_row(a_row(command(1)), dry_run=False).outcome == Outcome.ALREADY_THERE  # type: ignore[arg-type]
    assert all(not dry for _, dry in services.sent)


def test_messages_never_carry_the_rows_personal_data() -> None:
    wrong = refused("full_name", "x", "Persona 1 with 41000001 is wrong")
    services = FakeServices(dry={"kobo:u:osv_members:miembros/1": wrong}, real={"kobo:u:osv_members:miembros/1": wrong})

    result = Importer(services).run_row(a_row(command(1)), dry_run=False)  # type: ignore[arg-type]

    assert result.problems[0].message == "[…] with […] is wrong"
    assert scrub("no values here", ("ab",)) == "no values here"  # values too short to be told apart are left


def test_personal_values_are_scrubbed_where_they_stand_whole_and_never_out_of_another_value() -> None:
    """Tester 199 F8 (b): a birth year equal to the joining date's year was taken out of the date (`joined_on […]-02-28`)."""
    personal = ("2010", "Rosa Quispe", "41000001", " +51 987654321 ")

    # The values themselves, however they stand in a sentence, are taken out.
    assert scrub("birth_year 2010 is wrong", personal) == "birth_year […] is wrong"
    assert scrub("born (2010), '2010', 2010. And 2010: no", personal) == "born ([…]), '[…]', […]. And […]: no"
    assert scrub("Rosa Quispe, 41000001 and +51 987654321", personal) == "[…], […] and […]"
    # A short value (a year) inside another value is that other value, and stays as it was.
    kept = "joined_on 2010-02-28, 28/02/2010, at most 20100, a2010, OSV 2a1b2010-0000-4000-8000-000000002010"
    assert scrub(kept, personal) == kept
    # A name, a document number or a phone is taken out wherever it stands, glued to other characters too.
    assert scrub("DNI-41000001, 410000019, RosaQuispe's, Rosa Quispe's", personal) == "DNI-[…], […]9, RosaQuispe's, […]'s"
    assert scrub("a   b", ("   ",)) == "a   b"  # an answer of spaces is no value


def test_the_same_refusal_of_several_commands_is_reported_once() -> None:
    unknown = Answer(404, {"status": 404, "detail": "OSV 9 is not known to engagement"}, False)
    osv = Cell("main", 2, "osv")
    services = FakeServices(dry={f"kobo:u:osv_members:miembros/{n}": unknown for n in (1, 2)})

    result = Importer(services).run_row(a_row(command(1, osv_id=osv), command(2, osv_id=osv)), dry_run=False)  # type: ignore[arg-type]

    assert [(p.cell, p.field, p.rule) for p in result.problems] == [(osv, "osv_id", "not_found")]


def mapping(n: int, name: str, district: str) -> tuple[Command, Answer]:
    """Row ``n + 1`` of sheet ``mapeo``: an OSV's mapping, and registry's dry-run answer (the district as registry resolves it)."""
    key = f"kobo:u{n}:osv_mapping:osv"
    sources = {"name": Cell("mapeo", n + 1, "osv/nombre")}
    found = Command("registry", "/osvs", {"name": name, "district": district}, key, Cell("mapeo", n + 1, ""), sources)
    return found, Answer(201, {"id": f"00000000-0000-4000-8000-00000000000{n}", "name": name, "district": district}, replayed=False)


def test_the_dry_run_compares_an_osv_with_the_earlier_rows_it_would_map_in_its_district_only() -> None:
    rows = [mapping(1, "Comedor Santa Rosa", "Breña"), mapping(2, "Comedor Santa Rosa", "San Juan de Lurigancho"),
            mapping(3, "Club Los Andes", "San Juan de Lurigancho"), mapping(4, "CLUB LOS ANDES", "San Juan de Lurigancho"),
            mapping(5, "COMEDOR SANTA ROSA", "San Juan de Lurigancho")]
    services = FakeServices(dry={c.key: a for c, a in rows})
    services.dry[rows[2][0].key] = refused("mapped_on", "not_in_future", "a day to come")  # never mapped: no earlier row

    submissions = [Row(Submission(f"u{n}", Entry("mapeo", n + 1)), [c]) for n, (c, _) in enumerate(rows, start=1)]
    summary = Importer(services).run(submissions, dry_run=True)  # type: ignore[arg-type]

    assert [r.outcome for r in summary.results] == [Outcome.CREATED, Outcome.CREATED, Outcome.REFUSED, Outcome.CREATED, Outcome.REFUSED]
    [problem] = summary.results[4].problems
    assert (problem.cell, problem.field, problem.rule) == (Cell("mapeo", 6, "osv/nombre"), "name", "possible_duplicate")
    assert "row 3 of sheet 'mapeo' of this file" in problem.message


def test_a_refused_or_noted_row_names_the_command_that_corrects_what_its_form_records() -> None:
    """Tester 33 F2: a member row refused for its key (corrected in Kobo since) was told to correct it with
    ``PATCH /osvs/{id}``, the mapping's command; a member is corrected with ``POST /members/{id}/correction``."""
    from services.imports.refusals import key_taken, recorded_otherwise

    member = command(1)
    mapping = Command("registry", "/osvs", {"name": "Olla"}, "kobo:u:osv_mapping:osv", Cell("main", 2, ""), {}, ())
    assert "POST /members/{id}/correction" in key_taken(member).message and "PATCH" not in key_taken(member).message
    assert "PATCH /osvs/{id}" in key_taken(mapping).message
    # Tester 137 F2: a district or nationality was sent to a command that refuses it (422 extra_forbidden).
    assert "a district has no correction" in key_taken(mapping).message
    assert "POST /osvs/{new id}/merges" in key_taken(mapping).message
    assert "nationality or sex; a joining date, POST /members/{id}/memberships/" in key_taken(member).message
    noted = refused("Idempotency-Key", "idempotency_key_reused", "used before")  # a key kept before same_request was said
    assert noted.recorded_otherwise
    [note] = recorded_otherwise(a_row(member, command(2)), [noted])
    assert "POST /members/{id}/correction" in note.message


def test_each_command_a_row_refused_for_its_key_is_pointed_to_is_a_route_of_its_service() -> None:
    """Tester 226 F2: a member row was told "a joining date has no correction yet, tell the programme's lead", while
    engagement corrects one (``POST .../joining-date-correction``); a mapping, that its name and mapping date had none,
    while registry corrects both. Each field is pointed to its command, and each command named is one the services serve."""
    import re

    from fastapi import APIRouter

    from services.engagement import api as engagement
    from services.imports.refusals import key_taken
    from services.registry import api as registry

    served = {
        (method, re.sub(r"\{[^}]*\}", "{}", route.path))
        for module in (engagement, registry)
        for router in vars(module).values()
        if isinstance(router, APIRouter)
        for route in router.routes
        for method in getattr(route, "methods", ())
    }
    mapping = Command("registry", "/osvs", {"name": "Olla"}, "kobo:u:osv_mapping:osv", Cell("main", 2, ""), {}, ())
    for made, fields in ((command(1), ["joining date"]), (mapping, ["name", "mapping date"])):
        message = key_taken(made).message
        named = re.findall(r"(GET|POST|PATCH) ((?:/(?:\{[^}]*\}|[\w-]+))+)", message)
        assert {(method, re.sub(r"\{[^}]*\}", "{}", path)) for method, path in named} <= served, named
        for field_name in fields:
            assert re.search(rf"\b{field_name}, (POST|PATCH) /", message), (field_name, message)
        assert "no correction yet" not in message and "tell the programme's lead" not in message
    assert "POST /members/{id}/memberships/{membership id}/joining-date-correction" in key_taken(command(1)).message
    assert "POST /osvs/{id}/name-correction" in key_taken(mapping).message
    assert "POST /osvs/{id}/mapping-date-correction" in key_taken(mapping).message


def test_two_runs_writing_their_reports_at_once_each_keep_theirs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Tester 33 F5: two imports of one file at the same moment left one report beside it; the other run's, naming the
    rows it created, was replaced. Each is kept now: the later at the report's name, the earlier beside it."""
    import threading

    from openpyxl import load_workbook

    from services.imports.report import report_path, write_report

    source = tmp_path / "miembros.xlsx"
    path = report_path(source, dry_run=False)
    gate = threading.Barrier(8)

    def run(n: int) -> None:
        gate.wait()
        write_report(Summary(dry_run=False), path, f"run {n}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reports = sorted(tmp_path.glob("miembros.import-report*.xlsx"))
    assert len(reports) == 8 and path in reports, reports
    runs = {load_workbook(report)["Summary"]["B1"].value for report in reports}
    assert runs == {f"run {n}" for n in range(8)}
    assert not list(tmp_path.glob(".*")), "no temporary file is left"


def test_commands_another_account_records_between_the_rows_dry_run_and_its_sending_are_noted() -> None:
    """Tester 33 F5: two accounts importing one file at once; a row whose commands the other run recorded after this
    run's dry run came out "already there" (or "created") without the ``recorded_otherwise`` note the import gives
    when its dry run finds them, so a correction made in Kobo since was silently not applied."""
    other = Answer(422, {"errors": [{"field": "Idempotency-Key", "rule": "idempotency_key_reused", "message": "used"}],
                         "same_request": True}, False)
    services = FakeServices(real={"kobo:u:osv_members:miembros/1": other, "kobo:u:osv_members:miembros/2": other})
    result = Importer(services).run_row(a_row(command(1), command(2)), dry_run=False)
    assert result.outcome == Outcome.ALREADY_THERE
    assert [p.rule for p in result.problems] == ["recorded_otherwise"]

    services = FakeServices(real={"kobo:u:osv_members:miembros/1": other})
    result = Importer(services).run_row(a_row(command(1), command(2)), dry_run=False)
    assert (result.outcome, result.recorded) == (Outcome.CREATED, ["kobo:u:osv_members:miembros/2"])
    assert [p.rule for p in result.problems] == ["recorded_otherwise"]
    assert Summary([result]).line().startswith("1 created (1 in part recorded otherwise: see the report)")


def test_a_file_compares_documents_as_engagement_does_with_the_cards_code_or_the_claims_hyphens() -> None:
    """Tester 137 F1: engagement now takes "CE 001234567" for "001234567" and an asylum claim's number without its
    hyphens: two rows of one file are one person by the same rule."""
    assert loose_document("CE", "CE 001234567") == loose_document("CE", "1234567") == ("CE", "001234567")
    assert loose_document("CPP", "cpp-000869323") == loose_document("CPP", "869323")
    assert loose_document("SOLICITANTE_REFUGIO", "0123 2021 CEPR") == loose_document("SOLICITANTE_REFUGIO", "0123-2021-CEPR")
    assert loose_document("DNI", "45.678.912") == ("DNI", "45678912")


def test_a_date_as_kobo_writes_it_is_read_and_a_day_the_calendar_lacks_is_said_so() -> None:
    """Tester 137 F6: Kobo's own "2021-09-17T00:00:00.000-05:00" was refused as not having 00:00 as its time, and
    "31/09/2021" was told to be written as 15/03/2021, the form it was already in."""
    assert iso_date("2021-09-17T00:00:00.000-05:00") == "2021-09-17"
    assert iso_date("2021-09-17T10:15:00.000-05:00") is None
    assert "has a time other than 00:00" in date_mistake("2021-09-17T10:15:00.000-05:00")
    assert iso_date("31/09/2021") is None
    assert date_mistake("31/09/2021") == "'31/09/2021' is not a day of the calendar: September 2021 has 30 days"
    assert "February 2021 has 28 days" in date_mistake("2021-02-29")
    assert "has no month 31: the day comes first, write 15/03/2021 (day first)" in date_mistake("13/31/2021")  # no month 13 either
    # Month first: the row's own day is said back, not another year's example (tester 184 F6).
    assert date_mistake("03/15/2022") == "'03/15/2022' has no month 15: the day comes first, write 15/03/2022 for March 15, 2022"
    assert date_mistake("12/31/2021 10:00").endswith("write 31/12/2021 for December 31, 2021, with no time (a date answer is a day)")
    assert date_mistake("12/31/2021 00:00").endswith("write 31/12/2021 for December 31, 2021")  # a day's time is taken
    assert date_mistake("15/03/21").startswith("'15/03/21' is not a date the import reads: write 15/03/2021 (day first)")


KEY_TAKEN = Answer(422, {"errors": [{"field": None, "rule": "idempotency_key_reused", "message": "used before"}],
                         "same_request": False}, False)


def test_a_submission_edited_in_kobo_refused_for_its_key_is_told_it_was_edited_there() -> None:
    """Tester 270 F1: Kobo gives an edit a new ``_uuid``; keyed by its ``meta/rootUuid`` (the submission's first
    ``_uuid``), the edit is another request under the keys of the version recorded, which the services refuse. The row
    is told so: edited in Kobo since (``meta/deprecatedID``), what to correct the record with; nothing sent for real.
    A row of several commands is refused on its dry runs, a row of one on its real request."""
    from services.imports.refusals import KEY_REUSED_RULE

    roster = Row(Submission("v", Entry("main", 2), root_uuid="u", deprecated=True), [command(1), command(2)])
    services = FakeServices(dry={command(2).key: KEY_TAKEN})
    result = Importer(services).run_row(roster, dry_run=False)
    assert result.outcome is Outcome.REFUSED and all(dry for _, dry in services.sent)
    [problem] = result.problems
    assert (problem.cell, problem.field, problem.rule) == (command(2).where, "Idempotency-Key", KEY_REUSED_RULE)
    assert "edited in Kobo after an earlier version of it was recorded" in problem.message
    assert "meta/deprecatedID" in problem.message and "meta/rootUuid" in problem.message
    assert "POST /members/{id}/correction" in problem.message

    mapping = Command("registry", "/osvs", {"name": "Olla"}, "kobo:u:osv_mapping:osv", Cell("main", 2, ""), {}, ())
    edited = Row(Submission("v", Entry("main", 2), root_uuid="u", deprecated=True), [mapping])
    for dry_run in (True, False):
        services = FakeServices(dry={mapping.key: KEY_TAKEN}, real={mapping.key: KEY_TAKEN})
        [problem] = Importer(services).run_row(edited, dry_run=dry_run).problems
        assert "edited in Kobo" in problem.message and "PATCH /osvs/{id}" in problem.message

    # The same _uuid with other answers (a cell changed by hand, an export of a Kobo without meta/rootUuid): as before.
    same = Row(Submission("u", Entry("main", 2)), [mapping])
    [problem] = Importer(FakeServices(real={mapping.key: KEY_TAKEN})).run_row(same, dry_run=False).problems
    assert "edited in Kobo" not in problem.message and "used before for another request" in problem.message
