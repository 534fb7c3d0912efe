"""Two meetings with one OSV on one day, imported from a Kobo export, are told apart as the API tells them: ``osv-import
--distinct <row>=<the meeting's id>`` (tester 233 F3).

Engagement refuses a meeting held the same day in the same mode as one the OSV holds (an activity of the same day, kind
and district) with 409 ``possible_duplicate`` naming it, unless the request's ``distinct_from`` names it. The import
says how, in its own terms, and sends the ids given for the row as ``distinct_from``; the Kobo webhook, which cannot
send them, says to record the submission from the export. The services stand in as :class:`FakeServices`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from services.imports.application import Answer, Importer, Outcome
from services.imports.cli import distinct_rows
from services.imports.domain.commands import Command, Row
from services.imports.domain.submissions import Cell, Entry, Submission
from services.imports.refusals import for_a_kobo_admin

OSV = "0b5f6a1e-6c1c-4c55-9c31-2b8f1b7d9e01"
FIRST = "6a0e4a4c-1c1d-4b7a-8e1b-0d5d2c9f7a11"
KEY = "kobo:u2:osv_meeting:reunion"
DETAIL = (
    f"this OSV already has a meeting held on 2025-04-05 in_person: {FIRST}. If this is another meeting, send the request "
    'again with "distinct_from": [<those ids>]; if it is the same, it is recorded already (a request sent again is sent '
    "with the same Idempotency-Key)"
)
POSSIBLE_DUPLICATE = Answer(
    409,
    {
        "status": 409,
        "detail": DETAIL,
        "errors": [{"field": "held_on", "rule": "possible_duplicate", "message": DETAIL}],
        "possible_duplicates": [{"meeting_id": FIRST, "held_on": "2025-04-05", "mode": "in_person"}],
    },
    replayed=False,
)


def a_meeting_row() -> Row:
    """Row 2 of sheet ``reuniones``: a meeting of the OSV on 2025-04-05."""
    sources = {"held_on": Cell("reuniones", 2, "fecha"), "osv_id": Cell("reuniones", 2, "osv")}
    body = {"held_on": "2025-04-05", "mode": "in_person", "topics": ["needs"]}
    meeting = Command("engagement", f"/osvs/{OSV}/meetings", body, KEY, Cell("reuniones", 2, ""), sources)
    return Row(Submission("u2", Entry("reuniones", 2)), [meeting])


@dataclass
class FakeServices:
    """Engagement as the import meets it: 409 ``possible_duplicate`` for the meeting unless it names the first."""

    bodies: list[dict[str, Any]] = field(default_factory=list)

    def send(self, command: Command, *, dry_run: bool, patient: bool = True) -> Answer:
        self.bodies.append(command.body)
        if FIRST in command.body.get("distinct_from", []):
            return Answer(201, {"meeting_id": "another"}, replayed=False)
        return POSSIBLE_DUPLICATE


def test_a_meeting_refused_as_a_possible_duplicate_is_told_how_to_import_it_and_then_imported_with_distinct() -> None:
    services = FakeServices()

    refused = Importer(services, {}).run_row(a_meeting_row(), dry_run=False)  # type: ignore[arg-type]

    assert refused.outcome == Outcome.REFUSED
    [problem] = refused.problems
    assert (problem.cell, problem.rule) == (Cell("reuniones", 2, "fecha"), "possible_duplicate")
    assert f"If it is another meeting, import the file again with --distinct 2={FIRST}" in problem.message
    assert "it is recorded already: leave the row out" in problem.message and '"distinct_from"' not in problem.message

    distinct = distinct_rows([f"2={FIRST}"], [a_meeting_row()])
    imported = Importer(services, distinct).run_row(a_meeting_row(), dry_run=False)  # type: ignore[arg-type]

    assert imported.outcome == Outcome.CREATED
    assert services.bodies[-1]["distinct_from"] == [FIRST]


def test_distinct_names_a_row_of_a_meeting_or_an_activity_and_no_other() -> None:
    members = Row(
        Submission("u3", Entry("miembros", 3)),
        [Command("engagement", "/members", {}, "kobo:u3:osv_members:miembros/1", Cell("miembros", 3, ""), {})],
    )
    with pytest.raises(
        ValueError, match="row 3 is not a row of this file that maps an OSV or records a meeting or an activity"
    ):
        distinct_rows([f"3={FIRST}"], [a_meeting_row(), members])


def test_the_webhook_says_a_possible_duplicate_meeting_is_recorded_from_the_export() -> None:
    """Kobo cannot send ``distinct_from``: the webhook's answer does not tell the Kobo admin to (tester 226 F6's rule)."""
    refused = Importer(FakeServices(), None).run_row(a_meeting_row(), dry_run=False)  # type: ignore[arg-type]

    [problem] = [for_a_kobo_admin(p) for p in refused.problems]

    assert problem.message.startswith(f"this OSV already has a meeting held on 2025-04-05 in_person: {FIRST}.")
    assert "the webhook cannot record it" in problem.message and "osv-import --distinct" in problem.message
    assert '"distinct_from": [' not in problem.message


def an_activity_row(row: int, kind: str, district: str) -> Row:
    """Row ``row`` of sheet ``actividades``: an activity of the OSV on 2025-04-05, its district as the promoter typed it."""
    body = {"osv_id": OSV, "held_on": "2025-04-05", "kind": kind, "district": district}
    sources = {"held_on": Cell("actividades", row, "fecha"), "district": Cell("actividades", row, "distrito")}
    command = Command("engagement", "/activities", body, f"kobo:a{row}:osv_activity:actividad", Cell("actividades", row, ""), sources)
    return Row(Submission(f"a{row}", Entry("actividades", row)), [command])


@dataclass
class FakeActivities:
    """Engagement's dry run of an activity, as it answers one it would record: the district as it resolves it."""

    def send(self, command: Command, *, dry_run: bool, patient: bool = True) -> Answer:
        district = {"150132": "San Juan de Lurigancho", "SJL": "San Juan de Lurigancho"}.get(command.body["district"], command.body["district"])
        return Answer(201, {**command.body, "id": "would-be", "district": district}, replayed=False)


def test_the_dry_run_refuses_an_activity_alike_to_an_earlier_rows_as_engagement_compares_them() -> None:
    """Engagement compares an activity's day, kind and district (as it resolves it): the dry run, which cannot see what
    an earlier row of the file would record, compares the rows so too, and names the earlier row (tester 242 F1)."""
    rows = [an_activity_row(2, "fair", "150132"), an_activity_row(3, "fair", "SJL"), an_activity_row(4, "workshop", "SJL"),
            an_activity_row(5, "fair", "Ate")]

    summary = Importer(FakeActivities(), {}).run(rows, dry_run=True)  # type: ignore[arg-type]

    assert [r.outcome for r in summary.results] == [Outcome.CREATED, Outcome.REFUSED, Outcome.CREATED, Outcome.CREATED]
    [problem] = summary.results[1].problems
    assert (problem.cell, problem.field, problem.rule) == (Cell("actividades", 3, "fecha"), "held_on", "possible_duplicate")
    assert "an activity held on this day of the same kind, in the same district, recorded by row 2 of sheet 'actividades'" in problem.message
    assert "--distinct 3=<the id of the activity row 2 records>" in problem.message
