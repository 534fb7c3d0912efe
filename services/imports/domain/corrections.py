"""What changes a record an import made, as staff send it: the services' own commands for each form's records.

An import records facts; it never changes one it recorded. A submission corrected (or edited in Kobo) after its
import is changed in the services by staff, with the commands README's endpoint table lists, and the import's report
(or the webhook's answer) names them (:func:`correction_of`). What exists differs by record (tester 276 F5: a meeting
was told to use "the command that corrects that record", which engagement does not have):

==================  ==============================================================
record              what changes it
==================  ==============================================================
an OSV's mapping    registry's ``PATCH /osvs/{id}``, its name's and mapping day's corrections; a district: mapped again
                    and the mistaken record merged into it
a member            engagement's ``POST /members/{id}/correction`` (the person's data), a membership's joining-date
                    correction, role change and departure
a meeting           none: withdrawn (``POST /osvs/{osv_id}/meetings/{meeting_id}/withdrawal``) and recorded again
an activity         none: withdrawn (``POST /activities/{activity_id}/withdrawal``) and recorded again
==================  ==============================================================

Pure: the commands are known by their paths alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class _Sent(Protocol):
    @property
    def path(self) -> str: ...


MEMBERS = (
    "for each person, POST /members/{id}/correction: a name, document, phone, birth year, nationality or sex; a joining "
    "date, POST /members/{id}/memberships/{membership id}/joining-date-correction; a role, POST "
    "/members/{id}/memberships/{membership id}/role; a person taken off the roster, POST "
    "/members/{id}/memberships/{membership id}/departure (POST /members/{id}/departure when it is the only OSV they are "
    "active in): the membership's id is in GET /members/{id}?masked=true; a person put on the roster, a new submission "
    "of the form with them alone"
)
MAPPING = (
    "PATCH /osvs/{id}: its kind, composition, focus areas or contact channel; a name, POST /osvs/{id}/name-correction; a "
    "mapping date, POST /osvs/{id}/mapping-date-correction; a district has no correction: map the organisation again as "
    "a new submission and merge the mistaken record into it, POST /osvs/{new id}/merges"
)
MEETING = (
    "a meeting has no correction: withdraw the one recorded, POST /osvs/{osv_id}/meetings/{meeting_id}/withdrawal "
    "(reason wrong_date, wrong_osv or entered_in_error; its id is in GET /osvs/{osv_id}/follow-up), then record the right "
    "one through the API, POST /osvs/{osv_id}/meetings (one withdrawn is no duplicate of it), as the import will not "
    "record this submission again"
)
ACTIVITY = (
    "an activity has no correction: withdraw the one recorded, POST /activities/{activity_id}/withdrawal (its id is in "
    "GET /osvs/{osv_id}/activities), then record the right one through the API, POST /activities (one withdrawn is no "
    "duplicate of it), as the import will not record this submission again"
)


def correction_of(commands: Iterable[_Sent]) -> str:
    """The services' own commands that change what ``commands`` recorded, as the person importing would send them, each
    with what it changes: a member's (tester 33 F2: a member row was told to use the mapping's; tester 226 F2: a joining
    date was said to have none), an OSV's (tester 137 F2: a district was sent to a command that refuses it), and, for a
    meeting or an activity, which have none, their withdrawal and a record anew (tester 276 F5). One sentence's part,
    without a full stop; a row of no command, where README's endpoint table lists them."""
    paths = {command.path for command in commands}
    if "/members" in paths:
        return MEMBERS
    if "/osvs" in paths:
        return MAPPING
    if "/activities" in paths:
        return ACTIVITY
    if any(path.startswith("/osvs/") and path.endswith("/meetings") for path in paths):
        return MEETING
    return "README's endpoint table lists the services' commands for each record"
