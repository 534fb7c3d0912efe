"""What a refused or noted row of an import is told, in the field's words: the service's refusal as problems on the
cells at fault (scrubbed of the row's personal data), a key taken by another request, a row recorded otherwise, an
edit made in Kobo, and the commands that change what a row recorded
(:func:`~services.imports.domain.corrections.correction_of`; :mod:`services.imports.application` sends the rows)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.imports.domain.commands import Command, Problem, Row
from services.imports.domain.corrections import correction_of
from services.imports.domain.submissions import Cell

if TYPE_CHECKING:
    from services.imports.client import Answer

DUPLICATE_OSV_RULE = "possible_duplicate"
"""Registry's rule for an OSV named as one of its district's; the import uses it for two such rows in a file."""
KEY_REUSED_RULE = "idempotency_key_reused"
"""The services' answer to a key used before for another request, another caller's included (their fingerprints differ);
its ``same_request`` says whether it was this very request, sent by another caller."""
REDACTED = "[…]"
LAGGING_FIELDS = ("osv_id", "grant_id")
"""A command's fields naming a record another service made, that the service it goes to may not have heard of yet."""
AFTER_RETRY_AFTER = "(retry after Retry-After)"
"""How a service's refusal that may clear up by itself ends (:func:`shared.errors.not_known_yet`): true of an answer
with a ``Retry-After`` header, as the webhook's is (:func:`services.imports.api.retry_after`); a spreadsheet's report
has no header, and says it in its own words (:func:`for_a_spreadsheet`)."""
IN_A_MOMENT = "(run the import again in a moment)"


RECORDED_OTHERWISE_RULE = "recorded_otherwise"


def recorded_otherwise(row: Row, answers: Iterable[Answer]) -> list[Problem]:
    """A note on a row already there whose key was used by another account or for another version of the row: if it was
    corrected in Kobo since, the correction was not applied, and the person importing must know it (never silent)."""
    noted = [answer for answer in answers if answer.recorded_otherwise]
    if not noted:
        return []
    if all(answer.told_apart_otherwise for answer in noted):
        return [Problem(
            row.where, "Idempotency-Key", RECORDED_OTHERWISE_RULE,
            "this submission was recorded before, as it is now but for --distinct (an earlier import gave other ids for "
            "this row, or gave them where this one does not): it is not recorded again, and stays told apart from the "
            "records that import named",
        )]
    if all(answer.same_request for answer in noted):
        return [Problem(
            row.where, "Idempotency-Key", RECORDED_OTHERWISE_RULE,
            "this submission was recorded before, as it is now, by another account (the Kobo webhook, a colleague): "
            "it is not recorded again",
        )]
    return [Problem(  # a key recorded before the services said whether it was the same request
        row.where, "Idempotency-Key", RECORDED_OTHERWISE_RULE,
        "this submission was recorded before, by another account (the Kobo webhook, a colleague), from an earlier version "
        "of this row, or with other options (an earlier import's --distinct): it is not recorded again. If the row was "
        f"corrected in Kobo since, the correction was not applied: make it with the services' own commands ({correction_of(row.commands)})",
    )]


def key_taken(command: Command) -> Problem:
    """A command whose key the service holds for another request (:attr:`Answer.key_taken`): the row is refused, never
    taken for recorded, since what holds the key may be someone else's request sent under it first."""
    return Problem(
        command.where, "Idempotency-Key", KEY_REUSED_RULE,
        "this submission's key was used before for another request, so nothing of it is recorded now: by an earlier "
        "version of this row (corrected in Kobo since, or imported with other options, such as an earlier import's "
        "--distinct), or by someone sending a request of their own under it first. Look at what the services hold for "
        "this submission: what an earlier version of it recorded is changed with the services' own commands "
        f"({correction_of([command])}); anything else, tell the platform's administrators, as the submission cannot be "
        "recorded under its key",
    )


def edited_since(row: Row, problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` of ``row``, each key taken by another request (:func:`key_taken`) said as what it most likely is when
    Kobo says the submission is an edit (:attr:`~services.imports.domain.submissions.Submission.edited`): the submission
    corrected in Kobo after an earlier version of it was recorded. Its key is made from its ``meta/rootUuid``, the same
    for every version, and the services hold it for the version recorded first (tester 270 F1: keyed by the edit's new
    ``_uuid``, the edit was recorded as a second meeting). Any other problem, or a row not edited, as it is."""
    problems = list(problems)
    if not row.submission.edited:
        return problems
    message = (
        "this submission was edited in Kobo after an earlier version of it was recorded (Kobo gave the edit a new _uuid "
        "and a meta/deprecatedID naming the version it replaced; its meta/rootUuid, which its key is made from, stays the "
        "submission's first): the services hold its key for that version, so nothing of the edit is recorded now, and "
        "nothing is recorded twice. Look at what they hold for this submission and make the edit's changes with the "
        f"services' own commands ({correction_of(row.commands)}); if what they hold is no version of this submission, "
        "someone sent a request of their own under its key first: tell the platform's administrators"
    )
    return [replace(p, message=message) if (p.rule, p.field) == (KEY_REUSED_RULE, "Idempotency-Key") else p for p in problems]


EDITED_RULE = "edited_in_kobo"
"""The note on an edit in Kobo whose commands the services took, all or some (:func:`edit_noted`)."""


def edit_noted(row: Row) -> Problem:
    """The note on ``row``, a submission Kobo marks as an edit (:attr:`~services.imports.domain.submissions.Submission.edited`)
    whose commands were taken, all (created, already there) or some (partial): what this version took out of an earlier
    version recorded before, or changed in it, is not undone by the import, and which commands staff make it with.

    The import cannot see what an earlier version held, nor tell "this very version recorded before" (Kobo posting it
    again) from "an earlier version recorded before": the services answer both as carried out before. So the note is
    the same whatever the row's outcome, and true in either case: an edit whose original was never recorded, 201
    without a note and 200 with one on Kobo's retry, sent staff to undo changes that never happened (tester 280 F3).
    It stands instead of a ``recorded_otherwise`` note, which says the submission was recorded "as it is now" (tester
    276 F6). The last people of a roster taken off in Kobo stay registered members (tester 276 F1)."""
    roster = any(command.path == "/members" for command in row.commands)
    example = " (a person taken off the roster stays a registered member of the OSV)" if roster else ""
    return Problem(
        row.where, "Idempotency-Key", EDITED_RULE,
        "this submission is an edit made in Kobo (Kobo says so: a meta/deprecatedID, or a meta/rootUuid other than its "
        "_uuid; its keys are made from the meta/rootUuid, the same for every version): if an earlier version of it was "
        f"recorded, what this version took out of it or changed in it is not undone by the import{example}, which cannot "
        "see what an earlier version held: look at what the services hold for this submission and make those changes "
        f"with the services' own commands ({correction_of(row.commands)})",
    )


def problems_of(command: Command, answer: Answer) -> list[Problem]:
    """A refusal as problems on the cells at fault, in the API's words, scrubbed of the command's personal data;
    a key taken by another request as :func:`key_taken`."""
    if answer.key_taken:
        return [key_taken(command)]
    problems = problems_in(command, answer.body if isinstance(answer.body, dict) else {}, answer.status)
    if answer.retry_after is None:
        return problems
    # May clear up by itself: the record the refusal names (its osv_id, grant_id) or, naming none, the whole refusal.
    lagging = [p for p in problems if p.field in LAGGING_FIELDS] or problems
    return [replace(p, retry_after=answer.retry_after) if p in lagging else p for p in problems]


def for_a_spreadsheet(message: str) -> str:
    """A problem's ``message`` as ``osv-import``'s report and output say it: a service's "(retry after Retry-After)"
    speaks of a header the person importing a spreadsheet never sees (tester 206 F4), so it is "run the import again in a
    moment" there."""
    return message.replace(AFTER_RETRY_AFTER, IN_A_MOMENT)


def problems_in(command: Command, body: dict[str, Any], status: int = 422) -> list[Problem]:
    """A refusal's problem+json ``body`` (answered ``status``) as :func:`problems_of` says it: one problem per error of its
    ``errors`` (``{"field", "rule", "message"}``), or one for the status when it lists none."""
    errors = body.get("errors") or []
    if not errors:
        api_field = "osv_id" if status == 404 and "osv_id" in command.sources else None
        errors = [{"field": api_field, "rule": status_rule(status), "message": body.get("detail") or str(status)}]
    found = []
    for error in errors:
        api_field = error.get("field")
        rule = str(error.get("rule") or status)
        expected = command.expected_at(api_field) if rule in CHOICE_RULES else None
        listed = command.list_at(api_field) if rule in ID_RULES else None
        message = (
            f"expected one of the form's choices: {expected}" if expected is not None
            else chosen_from(listed) if listed is not None
            else IN_A_CELL.get(rule) or scrub(str(error.get("message") or body.get("detail") or ""), command.personal)
        )
        found.append(Problem(command.cell_for(api_field), api_field or "", rule, message))
    return found


IN_A_CELL = {
    "int_type": "must be a whole number written with the digits 0-9, such as 1990 (not a fraction, TRUE/FALSE or words)",
    "int_parsing": "must be a whole number written with the digits 0-9, such as 1990",
}
"""The API's words for a rule that speak of JSON ("written as a JSON number"), as a promoter filling a cell or a Kobo
question reads them (tester 36b F5)."""


ID_RULES = frozenset({"uuid_parsing", "uuid_type"})
"""The API's rules for a value that is no id ("must be an id: 32 hexadecimal digits…"): for an answer the form chooses from
a file (the OSV, from ``osvs.csv``), said as where the form's ids come from (:func:`chosen_from`)."""


def chosen_from(file: str) -> str:
    """What a cell answering a question chosen from ``file`` must hold, an answer that is no id refused (an OSV's name typed
    in the cell ``osv``: tester 270 F7). The answer is not repeated: a cell of a shifted column may hold a person's data."""
    if file == OSV_LIST:
        return (
            "must be the id of the OSV, as the form's OSV list gives it: the form chooses the OSV from osvs.csv, the list "
            "`osv-import osvs --output osvs.csv` writes from registry's OSVs and that is attached to the form on Kobo "
            "(its column name holds each OSV's id, label its name and district); choose the OSV there, or copy its id "
            "from that file into this cell (32 hexadecimal digits in groups of 8-4-4-4-12), never the OSV's name"
        )
    return (
        f"must be the value of one of the form's choices, as its list {file} gives them in its column name (not a "
        "choice's label)"
    )


OSV_LIST = "osvs.csv"
"""The file the forms choose an OSV from (written by ``osv-import osvs``)."""


CHOICE_RULES = frozenset({"enum", "literal_error"})
"""The API's rules for a value none of its codes ("Input should be 'F', 'M' or 'X'"): for an answer of a select question,
said in the form's words, its labels and their codes (a promoter reads "Mujer", not "F": tester 171 F8). The
value itself stays refused (``Masculino`` is not the form's), and, as every message here, is not echoed."""


def status_rule(status: int) -> str:
    return {404: "not_found", 409: "conflict", 413: "max_body_bytes", 422: "invalid"}.get(status, f"http_{status}")


def scrub(message: str, personal: Iterable[str]) -> str:
    """``message`` with every personal value of the row taken out (the services name none; this makes sure). A value of
    :data:`WHOLE_BELOW` characters or more (a name, a document number, a phone) goes wherever it stands, inside a longer
    token too (``DNI-41000001``); a shorter one (a birth year) only where it stands whole: as a word of its own, quoted,
    in brackets, before a full stop, never as a part of another value (:func:`_whole`). A birth year of 2010 was taken
    out of a joining date, ``joined_on […]-02-28``, and of any number or id holding its digits (tester 199 F8). A value
    of fewer than 3 characters, spaces aside, is left: it cannot be told apart from the message's own words."""
    values = {value.strip() for value in personal}
    for value in sorted((v for v in values if len(v) >= 3), key=len, reverse=True):
        message = message.replace(value, REDACTED) if len(value) >= WHOLE_BELOW else _whole(value).sub(REDACTED, message)
    return message


WHOLE_BELOW = 6
"""The length from which a personal value is taken out of a message wherever it stands, not only where it stands whole:
a document number glued to its type (``DNI-41000001``) is still a document number, where a year in a date is a date."""


JOINERS = "-/.:"
"""What joins the parts of one value in a message: a date's (``2010-02-28``, ``28/02/2010``), a time's, a decimal's, an id's."""


def _whole(value: str) -> re.Pattern[str]:
    """``value`` where it is not part of a longer value: neither a letter, digit or ``_`` beside it, nor one of
    :data:`JOINERS` followed (or preceded) by one (a full stop that ends a sentence is not a joiner)."""
    joiners = re.escape(JOINERS)
    return re.compile(rf"(?<!\w)(?<!\w[{joiners}]){re.escape(value)}(?!\w)(?![{joiners}]\w)")


DUPLICATE_RECORDS = {
    "mapping": ("osv_id", "organisation", "mapped"),
    "meeting": ("meeting_id", "meeting", "recorded"),
    "activity": ("activity_id", "activity", "recorded"),
}
"""What a ``possible_duplicate`` of a command names, by the command (:func:`_duplicate_record`): registry's OSVs,
engagement's meetings and activities (tester 233 F3), each by the id its ``possible_duplicates`` give it, as the import's
advice calls it and what it already is. An activity's give its OSV's id too (``osv_id``), which is not the record's
(tester 270 F2: the advice gave ``--distinct 2=<the OSV's id>``, which engagement refuses)."""


def _duplicate_record(command: Command) -> tuple[str, str, str]:
    """:data:`DUPLICATE_RECORDS` of ``command``: an OSV's mapping (registry's), an activity, or a meeting."""
    if command.service == "registry":
        return DUPLICATE_RECORDS["mapping"]
    return DUPLICATE_RECORDS["activity" if command.path == "/activities" else "meeting"]


def _duplicates_named(command: Command, answer: Answer) -> tuple[list[str], str, str] | None:
    """The ids of the records like ``command``'s a ``possible_duplicate`` answer names, with what they are
    (:data:`DUPLICATE_RECORDS`); None for none."""
    found = answer.body.get("possible_duplicates") if isinstance(answer.body, dict) else None
    id_field, record, already = _duplicate_record(command)
    ids = [str(d[id_field]) for d in found or () if isinstance(d, dict) and d.get(id_field)]
    return (ids, record, already) if ids else None


def _advice_cut(message: str) -> str:
    """A ``possible_duplicate`` message without the service's advice to an API client (registry's "If it is another
    organisation…", engagement's "If this is another meeting…")."""
    return message.partition(" If it is another organisation")[0].partition(" If this is another ")[0]


def suggesting_distinct(problems: list[Problem], command: Command, answer: Answer, row: int) -> list[Problem]:
    """A ``possible_duplicate`` refusal of ``command`` (registry's of a mapping, engagement's of a meeting or an activity)
    with its advice in the import's terms: ``--distinct <row>=<the ids of the records it names>``, in the words of the
    record (an organisation "mapped already", a meeting or an activity "recorded already")."""
    named = _duplicates_named(command, answer)
    if named is None:
        return problems
    ids, record, already = named
    advice = (f" If it is another {record}, import the file again with --distinct {row}={','.join(ids)}; "
              f"if it is the same, it is {already} already: leave the row out")
    return [replace(p, message=_advice_cut(p.message) + advice) if p.rule == DUPLICATE_OSV_RULE else p for p in problems]


FROM_THE_EXPORT = (
    " If it is another organisation, the webhook cannot map it (it never sends distinct_from: nobody reviews its "
    "submissions): the programme's staff map it from the form's export, with osv-import --distinct naming its row and "
    "that OSV; if it is the same, it is mapped already and this submission needs nothing more"
)
"""What the Kobo webhook's answer advises on a ``possible_duplicate`` mapping, for a Kobo admin to act on."""


FROM_THE_EXPORT_RECORDED = (
    " If it is another {record}, the webhook cannot record it (it never sends distinct_from: nobody reviews its "
    "submissions): the programme's staff record it from the form's export, with osv-import --distinct naming its row and "
    "that {record}; if it is the same, it is recorded already and this submission needs nothing more"
)
"""What the Kobo webhook's answer advises on a ``possible_duplicate`` meeting or activity (tester 233 F3)."""


def for_a_kobo_admin(problem: Problem) -> Problem:
    """A ``possible_duplicate`` refusal as the Kobo webhook answers it: the service's advice, to send the request again
    with ``distinct_from``, is for an API client, and a Kobo admin cannot make Kobo send it (tester 226 F6); the
    submission is recorded from the export (:data:`FROM_THE_EXPORT` for a mapping, :data:`FROM_THE_EXPORT_RECORDED` for
    a meeting or an activity). Any other problem as it is."""
    if problem.rule != DUPLICATE_OSV_RULE:
        return problem
    if " If this is another " in problem.message:  # engagement's, of a meeting or an activity
        record = "activity" if " If this is another activity" in problem.message else "meeting"
        return replace(problem, message=_advice_cut(problem.message) + FROM_THE_EXPORT_RECORDED.format(record=record))
    return replace(problem, message=_advice_cut(problem.message) + FROM_THE_EXPORT)


def naming_rows(problems: list[Problem], answer: Answer, osvs: Mapping[UUID, Cell]) -> list[Problem]:
    """Registry's ``possible_duplicate`` refusal, its message naming the rows of this file that mapped the OSVs it found."""
    found = answer.body.get("possible_duplicates") if isinstance(answer.body, dict) else None
    rows = []
    for duplicate in found or ():
        try:
            cell = osvs.get(UUID(str(duplicate.get("osv_id"))))
        except (AttributeError, ValueError):
            continue
        if cell is not None:
            rows.append(f"{duplicate.get('osv_id')} is row {cell.row} of sheet {cell.sheet!r} of this file")
    if not rows:
        return problems
    return [
        replace(p, message=f"{p.message} ({'; '.join(rows)})") if p.rule == DUPLICATE_OSV_RULE else p
        for p in problems
    ]
