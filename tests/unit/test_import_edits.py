"""A submission edited in Kobo after it was recorded, as the import answers it: never as if nothing changed (tester 276).

Kobo keys every version of a submission by its ``meta/rootUuid`` (the import makes its keys from it), so an edit's
commands are the recorded version's requests where the edit kept its answers. The services stand in as
:class:`~tests.unit.test_import_rows.FakeServices`.
"""

from __future__ import annotations

import re

from fastapi import APIRouter

from services.imports.application import Answer, Importer, Outcome
from services.imports.domain.commands import Command, Row, row_of
from services.imports.domain.submissions import Cell, Entry, Submission
from services.imports.forms import shipped
from services.imports.refusals import correction_of
from tests.unit.test_import_rows import FakeServices, command

UNKEYED_EDIT_RULE = "edit_without_root_uuid"
"""The rule of the refusal said here, as the report and the webhook's answer carry it."""
DEPARTURE = "POST /members/{id}/memberships/{membership id}/departure"


def an_edit(*commands: Command) -> Row:
    """A submission edited in Kobo: a new ``_uuid``, its ``meta/deprecatedID``, and the first's ``meta/rootUuid``."""
    return Row(Submission("v", Entry("main", 2), root_uuid="u", deprecated=True), list(commands))


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
