"""A submission edited in Kobo, as the import answers it: never as if nothing changed (tester 276), and the same note
whatever became of it, so Kobo's retry is answered as the first (tester 280 F3).

Kobo keys every version of a submission by its ``meta/rootUuid`` (the import makes its keys from it), so an edit's
commands are the recorded version's requests where the edit kept its answers. The services stand in as
:class:`~tests.unit.test_import_rows.FakeServices`.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi import APIRouter

from services.imports.api import _answer
from services.imports.application import Answer, Importer, Outcome, Summary
from services.imports.domain.commands import Command, Row, row_of
from services.imports.domain.submissions import Cell, Entry, Submission
from services.imports.forms import shipped
from services.imports.refusals import correction_of
from tests.unit.test_import_rows import FakeServices, command, refused

EDITED_RULE, UNKEYED_EDIT_RULE, RECORDED_OTHERWISE_RULE = "edited_in_kobo", "edit_without_root_uuid", "recorded_otherwise"
"""The rules of the notes and refusal said here, as the report and the webhook's answer carry them."""

KEY_RECORDED_BY_ANOTHER = Answer(
    422, {"errors": [{"field": None, "rule": "idempotency_key_reused", "message": "used before"}], "same_request": True}, False
)
"""A key the webhook (or a colleague's import) carried the same request out under: "recorded otherwise"."""
AS_IT_IS_NOW = "as it is now"
NOT_UNDONE = ("if an earlier version of it was recorded, what this version took out of it or changed in it is not undone by "
              "the import")
"""What the note says of every edit, true whether an earlier version was recorded or not."""
EDITED_IN_KOBO = "(1 edited in Kobo: see the report)"
DEPARTURE = "POST /members/{id}/memberships/{membership id}/departure"


def an_edit(*commands: Command) -> Row:
    """A submission edited in Kobo: a new ``_uuid``, its ``meta/deprecatedID``, and the first's ``meta/rootUuid``."""
    return Row(Submission("v", Entry("main", 2), root_uuid="u", deprecated=True), list(commands))


def never_edited(*commands: Command) -> Row:
    return Row(Submission("u", Entry("main", 2), root_uuid="u"), list(commands))


def recorded(*numbers: int) -> set[str]:
    return {command(n).key for n in numbers}


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "import"])
def test_a_roster_edit_taking_its_last_person_off_is_noted_as_an_edit_never_as_already_there_as_it_is(dry_run: bool) -> None:
    """Tester 276 F1: rosa, ana and carla recorded; the promoter takes carla off in Kobo. The edit's commands (rosa's,
    ana's) were carried out before: "0 created, 1 already there", exit 0, carla still a member and nothing said. The import
    cannot see that carla was there, but it knows the row is an edit: it says so, that what it took out is not undone,
    and how staff undo it (a membership's departure)."""
    services = FakeServices(recorded=recorded(1, 2, 3))

    result = Importer(services).run_row(an_edit(command(1), command(2)), dry_run=dry_run)

    assert result.outcome is Outcome.ALREADY_THERE and services.recorded == recorded(1, 2, 3)
    [note] = result.problems
    assert (note.cell, note.field, note.rule) == (Cell("main", 2, ""), "Idempotency-Key", EDITED_RULE)
    assert "this submission is an edit made in Kobo" in note.message and NOT_UNDONE in note.message
    assert DEPARTURE in note.message and "POST /members/{id}/correction" in note.message
    assert AS_IT_IS_NOW not in note.message and "Persona" not in note.message
    summary = Summary([result], dry_run=dry_run)
    created = "would be created" if dry_run else "created"
    assert summary.line() == f"0 {created}, 1 already there {EDITED_IN_KOBO}, 0 refused"
    assert summary.edits() == 1


def test_an_edit_the_webhook_recorded_first_gets_the_edits_note_not_the_note_that_it_is_recorded_as_it_is_now() -> None:
    """The same edit, its version recorded by another account (the webhook, or a colleague's import): the services say
    the same request was carried out for someone else, which the import notes as "recorded before, as it is now": false
    of an edit. The edit's note stands instead."""
    services = FakeServices(dry={key: KEY_RECORDED_BY_ANOTHER for key in recorded(1, 2)})

    result = Importer(services).run_row(an_edit(command(1), command(2)), dry_run=False)

    assert result.outcome is Outcome.ALREADY_THERE
    assert [p.rule for p in result.problems] == [EDITED_RULE]
    assert AS_IT_IS_NOW not in result.problems[0].message


def test_a_roster_edit_adding_a_person_is_created_with_the_edits_note_never_recorded_as_it_is_now() -> None:
    """Tester 276 F6: an edit adding carla and dora to rosa and ana, which another account recorded: 201 ``created``,
    with the note "this submission was recorded before, as it is now … it is not recorded again", in Kobo's log. It says
    what was recorded before, what now, and that what the edit took out or changed is not undone."""
    services = FakeServices(real={key: KEY_RECORDED_BY_ANOTHER for key in recorded(1, 2)})

    result = Importer(services).run_row(an_edit(command(1), command(2), command(3), command(4)), dry_run=False)

    assert (result.outcome, result.recorded) == (Outcome.CREATED, [command(3).key, command(4).key])
    [note] = result.problems
    assert note.rule == EDITED_RULE and AS_IT_IS_NOW not in note.message and NOT_UNDONE in note.message
    assert Summary([result]).line().startswith(f"1 created {EDITED_IN_KOBO}, 0 already there")

    dry = Importer(FakeServices(recorded=recorded(1, 2))).run_row(an_edit(command(1), command(2), command(3)), dry_run=True)
    assert dry.outcome is Outcome.CREATED and [p.rule for p in dry.problems] == [EDITED_RULE]


def test_an_edit_in_a_file_twice_is_an_edit_the_second_time_in_the_dry_run_as_in_the_import() -> None:
    """The same edited row twice in a file: the import finds the second's commands carried out by the first, an edit all
    the same; the dry run, which takes the second for already there without asking, says the same."""
    rows = [an_edit(command(1), command(2)), an_edit(command(1), command(2))]
    for dry_run in (True, False):
        summary = Importer(FakeServices(recorded=recorded(1))).run(rows, dry_run=dry_run)
        assert [(r.outcome, [p.rule for p in r.problems]) for r in summary.results] == [
            (Outcome.CREATED, [EDITED_RULE]), (Outcome.ALREADY_THERE, [EDITED_RULE])
        ], dry_run


def test_a_submission_never_edited_is_answered_as_before() -> None:
    """No note where there is nothing to say: a submission never edited, recorded before by another account, keeps its
    ``recorded_otherwise`` note; one carried out before by the same account, none."""
    other = Importer(FakeServices(dry={key: KEY_RECORDED_BY_ANOTHER for key in recorded(1, 2)})).run_row(
        never_edited(command(1), command(2)), dry_run=False
    )
    assert (other.outcome, [p.rule for p in other.problems]) == (Outcome.ALREADY_THERE, [RECORDED_OTHERWISE_RULE])
    again = Importer(FakeServices(recorded=recorded(1, 2))).run_row(never_edited(command(1), command(2)), dry_run=False)
    assert (again.outcome, again.problems) == (Outcome.ALREADY_THERE, [])
    new = Importer(FakeServices()).run_row(never_edited(command(1), command(2)), dry_run=False)
    assert (new.outcome, new.problems) == (Outcome.CREATED, [])
    assert Summary([other, again, new]).edits() == 0


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "import"])
def test_an_edit_whose_original_was_never_recorded_is_noted_alike_when_created_and_when_kobo_sends_it_again(dry_run: bool) -> None:
    """Tester 280 F3: an edit in Kobo whose original was never recorded (the webhook off when it was first sent) was
    created without a note, and Kobo's retry of the same post, carried out before, got the note that "what the edit took
    out … of a submission recorded before … is not undone": staff were sent to undo changes that never happened, and
    the retry was not answered as the first. The import cannot tell this very version recorded before from an earlier
    one, so every edit gets the one note, true in both cases: created, then already there, each with it."""
    services = FakeServices()
    row = an_edit(command(1), command(2))

    first = Importer(services).run_row(row, dry_run=False)
    again = Importer(services).run_row(row, dry_run=False)
    checked = Importer(services).run_row(row, dry_run=True)

    assert (first.outcome, again.outcome, checked.outcome) == (Outcome.CREATED, Outcome.ALREADY_THERE, Outcome.ALREADY_THERE)
    [note] = first.problems
    assert again.problems == checked.problems == [note]
    assert (note.field, note.rule) == ("Idempotency-Key", EDITED_RULE)
    assert NOT_UNDONE in note.message and "an edit made in Kobo of a submission recorded before" not in note.message
    assert Summary([first, again]).line() == f"1 created {EDITED_IN_KOBO}, 1 already there {EDITED_IN_KOBO}, 0 refused"
    assert Summary([first, again]).edits() == 2
    dry = Importer(FakeServices()).run_row(row, dry_run=dry_run)
    assert (dry.outcome, dry.problems) == (Outcome.CREATED, [note])


def test_an_edit_left_partial_is_noted_as_an_edit_after_its_refusal() -> None:
    """An edit adding people, one of them registered by someone else between the row's dry run and its command: partial.
    What was recorded of it stands, so it gets the edit's note as any edit taken does, after the refusal."""
    taken = refused("document_number", "person_already_registered", "a person with this document is already registered", 409)
    services = FakeServices(recorded=recorded(1), real={command(3).key: taken})

    result = Importer(services).run_row(an_edit(command(1), command(2), command(3)), dry_run=False)

    assert (result.outcome, result.recorded) == (Outcome.PARTIAL, [command(2).key])
    assert [p.rule for p in result.problems] == ["person_already_registered", EDITED_RULE]
    created = Importer(FakeServices()).run_row(an_edit(command(1), command(2), command(3)), dry_run=False)
    assert created.outcome is Outcome.CREATED and created.problems == result.problems[-1:]  # the same note
    assert Summary([result]).line() == f"0 created, 0 already there, 0 refused, 1 partial {EDITED_IN_KOBO}"

    answer = json.loads(_answer("osv_members", "v", result).body)  # the webhook's 409: the note listed after the refusal
    assert answer["status"] == 409 and [e["rule"] for e in answer["errors"]] == ["person_already_registered", EDITED_RULE]


def test_a_refused_edit_gets_no_edit_note() -> None:
    """An edit refused (a document the service refuses): nothing of it was taken, so no note that it was, only its refusal."""
    services = FakeServices(dry={command(2).key: refused("document_number", "invalid_document", "not a DNI")})

    result = Importer(services).run_row(an_edit(command(1), command(2)), dry_run=False)

    assert (result.outcome, [p.rule for p in result.problems]) == (Outcome.REFUSED, ["invalid_document"])


def test_a_one_command_edit_carried_out_before_is_noted_naming_what_changes_its_record() -> None:
    """A meeting edited in Kobo in nothing the import sends (its answers as recorded): "already there", the edit's note."""
    meeting = Command("engagement", "/osvs/o/meetings", {"held_on": "2021-10-12"}, "kobo:u:osv_meeting:reunion", Cell("main", 2, ""), {}, ())
    services = FakeServices(recorded={meeting.key})

    result = Importer(services).run_row(an_edit(meeting), dry_run=False)

    assert result.outcome is Outcome.ALREADY_THERE and services.sent == [(meeting.key, False)]
    [note] = result.problems
    assert note.rule == EDITED_RULE and "POST /osvs/{osv_id}/meetings/{meeting_id}/withdrawal" in note.message
    assert "a person taken off the roster" not in note.message


def test_an_edit_without_a_root_uuid_is_refused_before_anything_is_sent() -> None:
    """Tester 276 F2: an edit Kobo (before 2025) or ODK Central marks with ``meta/deprecatedID`` alone, no
    ``meta/rootUuid``: keyed by its own new ``_uuid``, its meeting was recorded a second time. The import cannot find
    the original's key, but knows it is an edit: refused on its ``meta/deprecatedID``, in the dry run and the import."""
    form = shipped()["osv_meeting"]
    main = Entry("main", 2, {"osv": "2b0d7c4e-8a51-4a6e-9a59-5f3f6c6f1a10", "fecha": "2021-10-11", "modalidad": "in_person",
                             "temas": "finances"})
    row = row_of(form, Submission("v", main, deprecated=True))
    [problem] = row.problems
    assert (problem.cell, problem.field, problem.rule) == (Cell("main", 2, "meta/deprecatedID"), "meta/deprecatedID", UNKEYED_EDIT_RULE)
    assert "without a meta/rootUuid" in problem.message and "nothing of it is recorded" in problem.message
    assert "from a Kobo that writes meta/rootUuid" in problem.message
    assert "POST /osvs/{osv_id}/meetings/{meeting_id}/withdrawal" in problem.message
    for dry_run in (True, False):
        services = FakeServices()
        result = Importer(services).run_row(row, dry_run=dry_run)
        assert result.outcome is Outcome.REFUSED and services.recorded == set() and services.sent == []
        assert [p.rule for p in result.problems] == [UNKEYED_EDIT_RULE]

    # Neither mark of an edit (a Kobo before 2025 with no edit in it): keyed by its _uuid, as before.
    assert row_of(form, Submission("v", main)).problems == []
    assert row_of(form, Submission("v", main, root_uuid="u", deprecated=True)).problems == []


def served_routes() -> set[tuple[str, str]]:
    """Every (method, path) registry and engagement serve, each placeholder as ``{}``."""
    from services.engagement import api as engagement
    from services.engagement import fieldapi
    from services.registry import api as registry

    return {
        (method, re.sub(r"\{[^}]*\}", "{}", route.path))
        for module in (engagement, fieldapi, registry)
        for router in vars(module).values()
        if isinstance(router, APIRouter)
        for route in router.routes
        for method in getattr(route, "methods", ())
    }


def test_what_changes_each_forms_record_is_said_by_routes_the_services_serve_and_never_a_correction_they_lack() -> None:
    """Tester 276 F5: a meeting edited in Kobo was told to "make the edit's changes with the service's own command (the
    command that corrects that record; README's endpoint table lists them)": engagement corrects no meeting, nor an
    activity. Each is told to withdraw the one recorded and record the right one through the API; a roster's and a
    mapping's, the commands that change them. Every route named is one the services serve."""
    served = served_routes()
    meeting = Command("engagement", "/osvs/o/meetings", {}, "k", Cell("main", 2, ""), {}, ())
    activity = Command("engagement", "/activities", {}, "k", Cell("main", 2, ""), {}, ())
    mapping = Command("registry", "/osvs", {}, "k", Cell("main", 2, ""), {}, ())
    expected = {
        "meeting": (meeting, ["POST /osvs/{osv_id}/meetings/{meeting_id}/withdrawal", "POST /osvs/{osv_id}/meetings"]),
        "activity": (activity, ["POST /activities/{activity_id}/withdrawal", "POST /activities"]),
        "member": (command(1), [DEPARTURE, "POST /members/{id}/correction", "POST /members/{id}/memberships/{membership id}/role"]),
        "mapping": (mapping, ["PATCH /osvs/{id}", "POST /osvs/{id}/name-correction", "POST /osvs/{new id}/merges"]),
    }
    for kind, (made, routes) in expected.items():
        said = correction_of([made])
        named = re.findall(r"(GET|POST|PATCH) ((?:/(?:\{[^}]*\}|[\w-]+))+)", said)
        assert named and {(method, re.sub(r"\{[^}]*\}", "{}", path)) for method, path in named} <= served, (kind, named)
        assert all(route in said for route in routes), (kind, said)
        assert "the command that corrects that record" not in said
    assert "has no correction" in correction_of([meeting]) and "has no correction" in correction_of([activity])
    assert "through the API" in correction_of([meeting]) and "through the API" in correction_of([activity])


def test_an_edit_refused_for_its_key_names_what_works_for_its_record() -> None:
    """A meeting edited in Kobo, refused for its key: told to withdraw and record anew, not to correct it (tester 276 F5)."""
    meeting = Command("engagement", "/osvs/o/meetings", {"held_on": "2021-10-11"}, "kobo:u:osv_meeting:reunion", Cell("main", 2, ""), {}, ())
    taken = Answer(422, {"errors": [{"field": None, "rule": "idempotency_key_reused", "message": "used"}], "same_request": False}, False)

    [problem] = Importer(FakeServices(real={meeting.key: taken})).run_row(an_edit(meeting), dry_run=False).problems

    assert "edited in Kobo" in problem.message and "service's own command (" not in problem.message
    assert "withdraw the one recorded, POST /osvs/{osv_id}/meetings/{meeting_id}/withdrawal" in problem.message
    assert "record the right one through the API, POST /osvs/{osv_id}/meetings" in problem.message

