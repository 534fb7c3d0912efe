"""A command's body read here by its service's own request schema: what the service would refuse it for, without asking.

The importer checks every command by a dry run (:mod:`services.imports.application`); past the problems a refused
row's answer lists (the webhook's 100), a command whose body its schema refuses needs no request to be counted: its
schema says what the service's 422 would, in the service's words (:func:`shared.problems.request_errors`, the handler
every service answers a refused body with). A Kobo submission of 5,000 wrong members made 5,000 dry runs, 25 to 40 s of
the webhook and of engagement, to count errors nobody is shown.

The schemas are those of the commands a row holds many of, engagement's ``POST /members`` (a members' submission makes
one per entry of ``miembros``), and of a meeting and an activity, for a row that cannot be sent (:func:`unsent_mistakes`: a
meeting without its OSV, which its path names, told only "osv: Field required" where engagement would list every field
missing: tester 270 F6). A row's other commands are sent as they are.

The problems listed are the service's own answers, but a person given again in a row (:func:`given_again`): refused
for that before anything is sent, their entry is checked by its schema, and the dry run of the entry that gave their
document first answers for the document, so that one registered document given 700 times is looked up (and logged on
its holder's access log) once, not 700 times. What engagement's application checks of the entry besides its document
(:data:`APPLICATION_CHECKED`) is answered by a dry run of it without its document (:func:`without_document`), one per
row for entries alike, or by the first entry's when theirs are alike. Past the listed problems, the count is the
schema's where the service would say more or otherwise: a birth year out of its range beside the entry's other mistakes
(engagement checks it by its own clock, :func:`shared.schemas.application_rule`), or an entry whose Idempotency-Key an
earlier version of it took (engagement names that instead of the body's mistakes; a person given again's key is not
sent, nor told).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError

from services.engagement.fieldschemas import ActivityCreate, MeetingCreate
from services.engagement.schemas import MemberCreate
from services.imports.domain.commands import DUPLICATE_RULE, Command, Problem, Row
from services.imports.refusals import problems_in, scrub
from shared.problems import MAX_LISTED_ERRORS, request_errors

REQUEST_SCHEMAS: Mapping[tuple[str, str], type[BaseModel]] = {
    ("engagement", "/members"): MemberCreate,
    ("engagement", "/osvs/{osv_id}/meetings"): MeetingCreate,
    ("engagement", "/activities"): ActivityCreate,
}
"""(service, path) of a command → the request schema the service reads its body with (a path's parameters as the service's
route names them)."""
A_MEETINGS_PATH = re.compile(r"/osvs/[^/]*/meetings")
"""A meeting's path, whatever its OSV (none, for a submission without one)."""


def _schema_of(command: Command) -> type[BaseModel] | None:
    path = "/osvs/{osv_id}/meetings" if A_MEETINGS_PATH.fullmatch(command.path) else command.path
    return REQUEST_SCHEMAS.get((command.service, path))


def schema_errors(command: Command) -> list[dict[str, Any]] | None:
    """The errors the service's 422 would list for ``command``'s body by its schema alone (``{"field", "rule", "message"}``,
    the first :data:`~shared.problems.MAX_LISTED_ERRORS`, as the service lists them), or None when the schema takes the body
    or this module knows no schema for the command (:data:`REQUEST_SCHEMAS`): only the service can say then."""
    schema = _schema_of(command)
    if schema is None:
        return None
    try:  # as FastAPI reads a JSON body: the object parsed, in Python mode
        schema.model_validate(command.body, from_attributes=True)
    except ValidationError as refused:
        errors = request_errors({**error, "loc": ("body", *error["loc"])} for error in refused.errors())
        return errors[:MAX_LISTED_ERRORS]
    return None


def first_entries(row: Row) -> dict[int, int]:
    """Each person given again in ``row`` (:attr:`~services.imports.domain.commands.Row.repeats`, a place in its commands)
    → the place of the entry that gave their document first."""
    first: dict[tuple[str, str], int] = {}
    found = {}
    for place, command in enumerate(row.commands):
        if command.document is None:
            continue
        if place in row.repeats and command.document in first:
            found[place] = first[command.document]
        else:
            first.setdefault(command.document, place)
    return found


APPLICATION_CHECKED = ("birth_year", "role", "joined_on")
"""The fields of a registration engagement's application checks besides its document and its OSV (the row's, one for
every entry): the birth year by engagement's clock and against the joining year, a board role for an adult on the joining
day, the president's seat."""
DOCUMENT_FIELDS = frozenset({"document_type", "document_number"})


def checked_alike(command: Command) -> tuple[Any, ...]:
    """What engagement's application checks of ``command``'s entry besides its document (:data:`APPLICATION_CHECKED`):
    two entries alike in it get the same answer to those checks."""
    return tuple(command.body.get(name) for name in APPLICATION_CHECKED)


def without_document(command: Command) -> Command:
    """A person given again (``command``, refused for that already) as a registration without a document (``NINGUNO``),
    under a key of its own that nothing records (a dry run keeps no key): its dry run has engagement check what it checks
    of the entry besides its document (:data:`APPLICATION_CHECKED`) without looking the document up, nor logging that on
    its holder's access log, again. Its answer's words on the document are not the entry's (:data:`DOCUMENT_FIELDS`)."""
    body = {name: value for name, value in command.body.items() if name not in DOCUMENT_FIELDS} | {"document_type": "NINGUNO"}
    return replace(command, body=body, key=f"check:{hashlib.sha256(command.key.encode()).hexdigest()}", document=None)


def given_again(command: Command, first: list[Problem]) -> list[Problem]:
    """What a person given again in a row (refused for that already) is told besides, without a request: their entry's
    mistakes by its service's schema (:func:`schema_errors`: the document's form among them), and, when its document is
    not refused so, what the dry run of the entry that gave it first said of it (``first``, that entry's problems:
    engagement's ``person_already_registered``, the one word on a document only the service can give), on this entry's
    cell and ahead of the rest, as the import's "given twice" stood. What else only the service sees (an OSV's
    president seat, a birth year by engagement's clock) the importer asks of an entry its schema takes, without the
    document (:func:`without_document`).

    The holder of a registered document is looked up, and the lookup logged on their access log, once per row and
    document, not once per entry naming them: 700 entries of one DNI made 700 dry runs and 700 entries on its holder's
    log (tester 199 F4)."""
    errors = schema_errors(command)
    found = problems_in(command, {"errors": errors}) if errors else []
    if any(p.field == "document_number" for p in found):  # its document's form, in the schema's words
        return found
    cell = command.cell_for("document_number")
    said = [p for p in first if p.field == "document_number" and p.rule == DUPLICATE_RULE]
    return [*(Problem(cell, p.field, p.rule, scrub(p.message, command.personal)) for p in said), *found]


def unsent_mistakes(row: Row) -> list[Problem]:
    """What the services' request schemas say of the commands of a row refused before anything is sent, for what the
    import could not send (a meeting without its OSV, an answer that is no text), on the cells the row's own problems do
    not name: the Kobo webhook's answer to an empty meeting named its OSV alone, then, the OSV given, every field missing
    (tester 270 F6). Checked without a request (:func:`schema_errors`), in the service's words; what only the service sees
    (an OSV unknown, a day in the future by its clock) is said once the row can be sent."""
    cells = {problem.cell for problem in row.problems}
    found: list[Problem] = []
    for command in row.commands:
        errors = schema_errors(command)
        found += [p for p in problems_in(command, {"errors": errors}) if p.cell not in cells] if errors else []
    return found
