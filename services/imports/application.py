"""The import: each row checked by the services themselves, then recorded, all or nothing per row.

For every row (one submission), :class:`Importer`:

1. refuses it outright for the import's own rules (:mod:`services.imports.domain.commands`);
2. sends each of its commands as a dry run (``?dry_run=true``, see
   :mod:`shared.dryrun`), with its ``Idempotency-Key``: the service runs its
   real validation and rules and answers what it would, writing nothing. One
   refusal refuses the row, naming every field at fault, and nothing of it is
   sent for real. Past the problems a refused row's answer lists (the
   webhook's 100: :attr:`Importer.listed`), a command its service's schema
   refuses is counted by the schema, as the service would answer it, and not
   sent (:mod:`services.imports.schemachecks`);
3. unless this is a dry run, sends the commands for real, in order, with the
   same keys.

A row of one command (an OSV's mapping) skips step 2 unless the whole import
is a dry run: the service's own transaction makes that one command all or
nothing, and its refusal names the same fields its dry run would, so the row
costs one request instead of two.

A command the service carried out before under its key (the file imported
again, Kobo posting again) is answered from the service's record
(``Idempotent-Replayed``, or 409 ``idempotent_request_completed`` past the
answers' retention): it counts as already there, and nothing is recorded
twice. So does the same command another account sent under its key (422
``idempotency_key_reused`` with ``same_request: true``: the services never
replay one caller's answer to another): the webhook (its own client) or a
colleague recorded the submission, and the row comes with a note
(``recorded_otherwise``, in the report and the summary). So does the same
command but for its ``distinct_from`` (``differs_in``: the row imported before
with other ``--distinct`` ids, or with the option and now without; tester 242
F2). A key used for another request (``same_request: false``: an earlier
version of the row, corrected in Kobo since, or a request of
someone else's sent under the submission's key first) refuses the row
(:func:`key_taken`): nothing of it is recorded, and the person importing must
look at what the services hold. An edit in Kobo has a new ``_uuid`` but the
``meta/rootUuid`` its keys are made from (since 2025): refused so, it is told
it was edited in Kobo since (:func:`edited_since`). An edit whose commands
were taken (created, already there, or partial) is never answered as if
nothing changed: it comes with the note ``edited_in_kobo``
(:func:`~services.imports.refusals.edit_noted`), instead of ``recorded_otherwise``, that if an earlier
version of it was recorded, what this version took out of it (the last
people of a roster) or changed in it is not undone, and which commands staff
make it with. The import cannot tell this very version recorded before (Kobo
posting it again) from an earlier one, so the note is the same whatever the
outcome, and a retry is answered as the first. A key recorded before the services told the
two apart (no ``same_request``) is taken, as it was then, for recorded, with
the note that a correction, if there was one, was not applied.

The residual risk of step 3: between a row's dry run and its last command,
someone else's command may change what the services hold (the OSV
dissolved, the same document registered by another person), and a command
after the first may then be refused although its dry run passed. The
commands already carried out stand (the services keep every fact; there is
no undo), and the row is reported as ``partial``, naming what was recorded
and why the rest was refused. Importing the row again once it is corrected
finishes it: the commands carried out are answered from their keys, the
others run. The window is the few milliseconds between a row's dry run and
its commands, and only rows with several commands (a members' registration)
can be partial.

Rows of one file under one submission's keys (a row copied in the
spreadsheet keeps Kobo's ``_uuid``) with other answers are all refused, exact
copies of either included, before anything is sent, each naming the other
and the columns that differ: the services would take the second for the
first carried out before and drop it, and nothing under the ``_uuid`` is
written until the person chooses (:mod:`services.imports.domain.copies`).
Answers are compared as the services store them (a name's runs of spaces
made one): two rows that differ only so are the same row twice.

A dry run cannot see what an earlier row of the same file would record, so
the importer compares each row with the earlier ones itself, as the
services would: the same document twice (engagement's
``person_already_registered``), and an OSV's name the same as or near an
earlier row's in the same district (registry's ``possible_duplicate``, with
registry's own rule :func:`~services.registry.domain.duplicates.possible_duplicates`
and the district as registry's dry run resolved it), and a meeting or an
activity alike to an earlier row's as engagement compares them (its
``possible_duplicate``: :func:`field_record_of`). Each names the earlier row. Without ``--dry-run`` the services see the earlier rows
themselves; registry's refusal names the OSV it found, and the importer adds
the row of the file that mapped it.

The services answer errors without personal values; the messages kept here
are scrubbed of the row's personal data all the same, and nothing logs a
value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from services.imports.client import DRY_RUN_READS_RULE, Answer, Services
from services.imports.domain.commands import (
    CONTROL_RULE,
    DATE_RULE,
    DUPLICATE_RULE,
    PRESIDENT_RULE,
    Command,
    Problem,
    Row,
    registered_by_an_earlier_row,
)
from services.imports.domain.copies import same_key_other_answers
from services.imports.exports import Cell
from services.imports.outcomes import Outcome, RowResult, Summary
from services.imports.refusals import (
    DUPLICATE_OSV_RULE,
    LAGGING_FIELDS,
    edited_since,
    naming_rows,
    problems_of,
    recorded_otherwise,
    suggesting_distinct,
)
from services.imports.schemachecks import (
    DOCUMENT_FIELDS,
    checked_alike,
    first_entries,
    given_again,
    schema_errors,
    unsent_mistakes,
    without_document,
)
from services.registry.domain.duplicates import name_key, possible_duplicates

log = logging.getLogger(__name__)


@dataclass
class SeenInFile:
    """What the earlier rows of one file record (or, in a dry run, would record), for the later rows to be compared with."""

    documents: dict[tuple[str, str], Cell] = field(default_factory=dict)
    """A person's document (:attr:`Command.document`) → the cell of the member's row that registers it (dry runs only)."""
    names: dict[str, dict[UUID, str]] = field(default_factory=dict)
    """District (as registry resolved it) → OSV id (in a dry run, the id registry would have given) → name (dry runs only)."""
    keys: dict[str, dict[UUID, str]] = field(default_factory=dict)
    """The same names folded (registry's :func:`~services.registry.domain.duplicates.name_key`): each folded once per file."""
    osvs: dict[UUID, Cell] = field(default_factory=dict)
    """An OSV mapped by a row of the file (its id as registry answered) → that row: the first giving it, not a copy found
    "already there" after it."""
    records: dict[tuple[str, ...], Cell] = field(default_factory=dict)
    """A meeting or an activity an earlier row would record, by what engagement compares (:func:`field_record_of`) → the
    row (dry runs only)."""


def _osv_of(command: Command, answer: Answer) -> tuple[UUID, str, str] | None:
    """The OSV a mapping command was answered with: (id, name, district as registry resolved it), or None for other commands."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if not maps_an_osv(command) or not {"id", "name", "district"} <= body.keys():
        return None
    try:
        return UUID(str(body["id"])), str(body["name"]), str(body["district"])
    except ValueError:
        return None


def same_osv(command: Command, district: str, first: Cell) -> Problem:
    """An OSV's name the same as or near an earlier row's in the same district: registry would refuse the second."""
    return Problem(
        command.cell_for("name"),
        "name",
        DUPLICATE_OSV_RULE,
        f"{district} would already have an OSV with this name, one very like it, or one that is it with words added or left out, "
        f"mapped by row {first.row} of sheet "
        f"{first.sheet!r} of this file: if it is the same organisation, keep one row; if it is another, import the "
        "file, then again with --distinct naming this row and the OSV the first row mapped (the import's refusal says how)",
    )


def field_record_of(command: Command, answer: Answer) -> tuple[str, ...] | None:
    """What engagement compares a new meeting or activity with the OSV's by (:mod:`services.engagement.domain.repeats`),
    read from the dry run's answer (the district as engagement resolved it): a meeting's OSV, day and mode; an activity's
    OSV, day, kind and district. None for another command or an answer without them."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if not takes_distinct_from(command) or maps_an_osv(command):
        return None
    fields = ("osv_id", "held_on", "kind", "district") if command.path == "/activities" else ("osv_id", "held_on", "mode")
    if not all(isinstance(body.get(name), str) for name in fields):
        return None
    return ("activity" if command.path == "/activities" else "meeting", *(str(body[name]) for name in fields))


def same_record(command: Command, first: Cell, suggest: int | None) -> Problem:
    """A meeting (an activity) held the same day as one an earlier row of the file records, alike as engagement compares
    them: engagement would refuse the second as a ``possible_duplicate`` until ``--distinct`` names the first (tester
    242 F1: the dry run said "would be created", the import then refused it)."""
    activity = command.path == "/activities"
    record, alike = ("activity", "of the same kind, in the same district") if activity else ("meeting", "in the same mode")
    option = f"--distinct {suggest}=<the id of the {record} row {first.row} records>" if suggest is not None else "--distinct"
    return Problem(
        command.cell_for("held_on"),
        "held_on",
        DUPLICATE_OSV_RULE,
        f"this OSV would already have {'an' if activity else 'a'} {record} held on this day {alike}, recorded by row "
        f"{first.row} of sheet {first.sheet!r} of this file: if it is the same {record}, keep one row; if it is another, "
        f"import the file, then again with {option} (the import's refusal gives the id)",
    )


def _refusal(command: Command, answer: Answer, seen: SeenInFile | None, suggest: int | None = None) -> list[Problem]:
    """:func:`problems_of`, a ``possible_duplicate`` naming the rows of the file (``seen``) that mapped the OSVs registry found,
    and, with ``suggest`` (the row's number, ``osv-import`` only), the ``--distinct`` that maps it all the same."""
    problems = problems_of(command, answer)
    if suggest is not None:
        problems = suggesting_distinct(problems, command, answer, suggest)
    # A mapping's alone: an activity's duplicates carry their OSV's id too, which is no OSV refused as like another.
    return naming_rows(problems, answer, seen.osvs) if seen is not None and maps_an_osv(command) else problems


class Importer:
    """Checks, then records, rows against the services; see the module's docstring.

    ``distinct``: row of the main sheet → the OSVs (ids) its organisation is
    another than, as the person who imports found (``osv-import --distinct``):
    its mapping is sent with them as registry's ``distinct_from``, so registry
    maps it although it names them as possible duplicates; for a row of a
    meeting or an activity, the meetings or activities it is another than, sent
    as engagement's ``distinct_from``. None (the Kobo
    webhook, where nobody reviews a row): a ``possible_duplicate`` refusal
    does not suggest the option.
    """

    def __init__(self, services: Services, distinct: Mapping[int, Sequence[UUID]] | None = None, *, listed: int | None = None) -> None:
        self.services = services
        self.distinct = distinct
        self.listed = listed
        """The most problems of a refused row its answer lists (the webhook's 100, the others counted), or None (``osv-import``'s
        report lists them all): once a row has that many, a command whose service's schema refuses it is counted by that
        (:func:`~services.imports.schemachecks.schema_errors`), not sent."""
        self.waited_in_vain: set[tuple[str, str]] = set()
        """(field, id) of each record a service had still not heard of after the import waited for it (a mistyped
        OSV or grant id, most often): later rows naming it are answered at once, not waited for again."""

    def _send(self, command: Command, *, dry_run: bool) -> Answer:
        """:meth:`Services.send`, patient (waiting out a ``Retry-After`` lag) unless the command names a record that was
        waited for in vain before, by this row or an earlier one: a file whose 500 rows name one mistyped OSV waited
        twice for each of them."""
        named = {(field, str(command.body[field])) for field in LAGGING_FIELDS if command.body.get(field) is not None}
        patient = not named & self.waited_in_vain
        answer = self.services.send(command, dry_run=dry_run, patient=patient)
        if answer.retry_after is not None and patient:
            fields = _refused_fields(answer) & {name for name, _ in named}
            self.waited_in_vain |= {name for name in named if name[0] in fields} if fields else named
        return answer

    def run(self, rows: Iterable[Row], *, dry_run: bool, progress: Callable[[RowResult], None] = lambda _: None) -> Summary:
        """Every row of one file, in order (:meth:`run_row`); rows sharing a submission's key with other answers (a row
        copied in the spreadsheet with its ``_uuid``), and their copies, are refused first, before anything is sent
        (:func:`~services.imports.domain.copies.same_key_other_answers`).
        In a dry run, a row the same as an earlier one that would be created, keys and answers, is already there, as the
        import then finds it (its keys carried out by the earlier row)."""
        summary = Summary(dry_run=dry_run)
        seen = SeenInFile()
        rows = list(rows)
        same_key_other_answers(rows)
        would_record: dict[str, Any] = {}
        """Idempotency-Key → body of each command an earlier row of this dry run would record."""
        for row in rows:
            if dry_run and row.commands and not row.problems and all(
                command.key in would_record and would_record[command.key] == command.body for command in row.commands
            ):  # as the import finds it once the earlier row recorded it: an edit's copy noted as an edit
                result = RowResult(row, Outcome.ALREADY_THERE).as_edit()
            else:
                result = self.run_row(row, dry_run=dry_run, seen=seen)
            if dry_run and result.outcome is Outcome.CREATED:
                would_record.update({command.key: command.body for command in row.commands})
            summary.results.append(result)
            progress(result)
        return summary

    def run_row(self, row: Row, *, dry_run: bool, seen: SeenInFile | None = None, joins: bool = True) -> RowResult:
        """One row, all or nothing: its own rules, then every command as a dry run, then (unless ``dry_run``) for real.

        ``seen``: the earlier rows of the same file (:meth:`run` keeps it), to compare this one with and to add it to.
        ``joins``: False for a row refused already, checked for its other mistakes only
        (:meth:`_with_the_others_mistakes`): compared with the earlier rows all the same, it records nothing, so it is
        not added to them. A row Kobo says is an edit, refused for a key taken, is told it was edited in Kobo since
        (:func:`~services.imports.refusals.edited_since`); one whose commands were taken, all or some, is noted as an
        edit (:meth:`RowResult.as_edit`).
        """
        result = self._run_row(row, dry_run=dry_run, seen=seen, joins=joins)
        result.problems = edited_since(row, result.problems)
        return result.as_edit()

    def _run_row(self, row: Row, *, dry_run: bool, seen: SeenInFile | None, joins: bool) -> RowResult:
        if row.problems:
            return RowResult(row, Outcome.REFUSED, self._with_the_others_mistakes(row, seen))
        row = self._marked_distinct(row)
        if not dry_run and len(row.commands) == 1:
            return self._run_alone(row, row.commands[0], seen)
        checks, problems = self._dry_runs(row, seen)
        before = [command for command, answer in checks if answer.carried_out_before]
        if dry_run and seen is not None:
            # A dry run cannot see an earlier row's person: the real import would refuse the second as already registered.
            documents: dict[tuple[str, str], Cell] = {}
            for command, answer in checks:
                if command.document is None or answer.carried_out_before:
                    continue
                earlier = seen.documents.get(command.document) or documents.get(command.document)
                if earlier is not None:
                    problems.append(registered_by_an_earlier_row(command, earlier))
                else:
                    documents[command.document] = command.where
            if not problems:
                problems = self._earlier_names(checks, seen, joins=joins) + self._earlier_records(row, checks, seen, joins=joins)
            if not problems and joins:  # a row refused records nobody: a later row registering the same person is not refused for it
                seen.documents.update(documents)
        if problems:
            return RowResult(row, Outcome.REFUSED, problems)
        if len(before) == len(row.commands):
            return RowResult(row, Outcome.ALREADY_THERE, recorded_otherwise(row, (answer for _, answer in checks)))
        if dry_run:
            return RowResult(row, Outcome.CREATED)
        recorded: list[str] = []
        answers: list[Answer] = []
        for command in row.commands:
            answer = self._send(command, dry_run=False)
            if not _accepted(answer):
                outcome = Outcome.PARTIAL if recorded else Outcome.REFUSED
                log.warning("row %s of sheet %r: a command was refused after its dry run passed", row.where.row, row.where.sheet)
                return RowResult(row, outcome, problems_of(command, answer), recorded)
            answers.append(answer)
            if not answer.carried_out_before:
                recorded.append(command.key)
        # Another account (a colleague's import of the same file, the webhook) may have recorded some of the row between
        # its dry run and now: noted as when the dry run finds it (tester 33, F5: "already there" without the note).
        notes = recorded_otherwise(row, answers)
        outcome = Outcome.CREATED if recorded else Outcome.ALREADY_THERE
        return RowResult(row, outcome, notes, recorded=recorded)

    def _dry_runs(self, row: Row, seen: SeenInFile | None) -> tuple[list[tuple[Command, Answer]], list[Problem]]:
        """Each of the row's commands with its dry run's answer, and the problems of those refused, in order, one per cell
        and rule (an OSV unknown to engagement refuses every member of the row on the same cell). Once a command waited in
        vain for an OSV (a grant), the row's others naming it are not waited for again (:meth:`_send`).

        Once the row has :attr:`listed` problems (the webhook's answer is then a refusal listing those), a command its
        service's schema refuses is answered by the schema, as the service's 422 would be, and not sent: the rest are
        only counted. A submission of 5,000 wrong members made 5,000 dry runs (25 to 40 s) where 20 list its first 100
        errors. A command the schema takes is sent all the same, for what only the service sees (an unknown OSV, a
        document registered already).

        A person given again in the row (:attr:`Row.repeats`, refused for that already) is not sent with their document
        (:func:`~services.imports.schemachecks.given_again`): 700 entries of one registered DNI made 700 dry runs, each a
        ``registration_refused`` entry on its holder's access log (tester 199 F4); it now gets one per document. What
        engagement's application checks of their entry besides (:meth:`_checked_without_document`) is asked without it.

        The problems of a row of several commands (a members' submission, a command per entry) come in its entries' order
        (:func:`in_entries_order`), the main section's first: an unknown OSV, told in the first entry's refusal after a name
        it lacks (engagement lists a missing field first), was said between that entry's mistakes (tester 199 F5)."""
        checks: list[tuple[Command, Answer]] = []
        problems: dict[Problem, None] = {}
        firsts = first_entries(row)
        told: dict[int, list[Problem]] = {}
        answered: dict[int, Answer] = {}
        alike: dict[tuple[Any, ...], Answer] = {}
        for place, command in enumerate(row.commands):
            if place in firsts:
                first = firsts[place]
                again = given_again(command, told[first])
                if schema_errors(command) is None:  # else the schema's words are engagement's whole answer
                    again += self._checked_without_document(command, row.commands[first], answered.get(first), alike)
                problems.update(dict.fromkeys(again))
                continue
            errors = schema_errors(command) if self.listed is not None and len(problems) >= self.listed else None
            answer = Answer(422, {"errors": errors}, replayed=False) if errors else self._send(command, dry_run=True)
            answered[place] = answer
            checks.append((command, answer))
            told[place] = [] if _accepted(answer) else _refusal(command, answer, seen, self._suggest(row))
            problems.update(dict.fromkeys(told[place]))
        return checks, in_entries_order(row, problems) if len(row.commands) > 1 else list(problems)

    def _checked_without_document(
        self, command: Command, first: Command, first_answer: Answer | None, alike: dict[tuple[Any, ...], Answer]
    ) -> list[Problem]:
        """What engagement's application says of a person given again (``command``, its schema taking it) besides their
        document: a board role for a minor, a birth year by engagement's clock, the president's seat (helper 200). The
        answer of the entry that gave the document first (``first``, ``first_answer``) stands when their entries are
        alike in it (:func:`~services.imports.schemachecks.checked_alike`) and it was checked now, by engagement's
        application (the schema took it, its key was free); else a dry run without the document
        (:func:`~services.imports.schemachecks.without_document`), one per row for entries alike (``alike``). The
        document is not looked up again, nor logged again on its holder's access log."""
        values = checked_alike(command)
        answer = alike.get(values)
        if answer is None and first_answer is not None and checked_alike(first) == values and not (
            first_answer.carried_out_before or first_answer.key_taken or schema_errors(first) is not None
        ):
            answer = first_answer
        if answer is None:
            answer = self._send(without_document(command), dry_run=True)
        alike.setdefault(values, answer)
        if _accepted(answer):
            return []
        return [p for p in problems_of(command, answer) if p.field not in DOCUMENT_FIELDS]

    def _with_the_others_mistakes(self, row: Row, seen: SeenInFile | None = None) -> list[Problem]:
        """The problems of a row refused before anything is sent, in its entries' order; when they are only people given
        twice or a second president (:data:`CHECKED_ANYWAY`: the commands are whole), with what a dry run of each of its
        commands finds too (a DNI of 7 digits, a phone of 4), so the promoter fixes the form once: the repeats hid every
        other entry's mistakes until they were taken out (tester 28, M1), a repeated entry's own (tester 36b F3), and
        so did a second president (tester 199 F2). An entry whose document the dry run refuses (``00000000``, a DNI of
        2 digits) is told that, not that it is "a person" given before; a second president whose role engagement
        refuses (the OSV has one already), engagement's words. A person given again is not sent (:meth:`_dry_runs`).
        Nothing is recorded.

        In a file (``seen``: its earlier rows), the commands are compared with the earlier rows as any row's are: a person
        an earlier row registers (the same cédula written ``V-19.111.222`` there and ``19111222`` here) was told only
        once the row's other refusals were fixed, the dry run that told it left out here (tester 226 F7a)."""
        if any(p.rule not in CHECKED_ANYWAY for p in row.problems):  # a value the form could not read: its commands are not whole
            return self._with_the_others_mistakes_beside_unread_dates(row, seen)
        checked = self._run_row(replace(row, problems=[]), dry_run=True, seen=seen, joins=False)
        refused = {p.cell for p in checked.problems}  # a document, a role, the service refuses: its word, not the import's
        own = [p for p in row.problems if p.cell not in refused]
        return in_entries_order(row, [*own, *checked.problems])

    def _with_the_others_mistakes_beside_unread_dates(self, row: Row, seen: SeenInFile | None = None) -> list[Problem]:
        """A row refused for a date the import could not read, or an answer holding a control character (and nothing
        else it could not read: :data:`LEFT_OUT_RULES`): with the mistakes a dry run of its commands without those
        answers finds in its other cells (the API's words on the answers themselves left out: the import's are said),
        so the row is not fixed one mistake per round (tester 137 F6: a date then an enum, run after run; tester 226 F4:
        a vertical tab in one member's name hid another's DNI of 7 digits). Any other value it could not send (a meeting
        without its OSV, an answer that is no text): its own problems, with what its commands' request schemas say of its
        other cells, without a request (:func:`~services.imports.schemachecks.unsent_mistakes`: tester 270 F6). Nothing
        is recorded.

        An answer is left out of the commands whose own cell could not be read only: left out of every entry's, another
        entry's date the import read and engagement refuses (before the earliest date, a board role for a minor on that
        day) went unsaid (helper 200). One in a list (an action's due day) is left out of its item."""
        own = [p for p in row.problems if p.rule not in CHECKED_ANYWAY]
        if row.repeats or any(p.rule not in LEFT_OUT_RULES for p in own):
            return in_entries_order(row, [*row.problems, *unsent_mistakes(row)])
        cells = {p.cell for p in own}
        commands = [replace(command, body=_without(command.body, command.sources, cells)) for command in row.commands]
        checked = self._run_row(replace(row, commands=commands, problems=[], repeats=[]), dry_run=True, seen=seen, joins=False)
        # A dry run its account may not make (the webhook's of a meeting: 403) finds nothing: the row's own problems stand.
        others = [p for p in checked.problems if p.cell not in cells and p.rule != DRY_RUN_READS_RULE]
        return in_entries_order(row, [*row.problems, *others])

    def _suggest(self, row: Row) -> int | None:
        """The row's number, for a ``possible_duplicate`` refusal to suggest ``--distinct`` with (``osv-import`` only)."""
        return row.where.row if self.distinct is not None else None

    def _marked_distinct(self, row: Row) -> Row:
        """``row`` with its OSV mapping, meeting or activity (:func:`takes_distinct_from`) sent as distinct from the
        records :attr:`distinct` names for it (as given, in order)."""
        ids = (self.distinct or {}).get(row.where.row)
        if not ids:
            return row
        marked = [str(record_id) for record_id in ids]
        commands = [
            replace(command, body={**command.body, "distinct_from": marked}) if takes_distinct_from(command) else command
            for command in row.commands
        ]
        return replace(row, commands=commands)

    @staticmethod
    def _earlier_names(checks: list[tuple[Command, Answer]], seen: SeenInFile, *, joins: bool = True) -> list[Problem]:
        """A dry run's mapping that registry would refuse once the earlier rows are recorded: its name the same as or near
        one of theirs in its district (registry's rule, :func:`possible_duplicates`). A mapping it would record joins them
        (unless ``joins`` is False: see :meth:`run_row`)."""
        problems = []
        for command, answer in checks:
            osv = _osv_of(command, answer)
            if osv is None:  # another command
                continue
            osv_id, name, district = osv
            if answer.carried_out_before:  # mapped by an earlier import of the file: registry's own dry run compares with it
                if joins:
                    seen.osvs.setdefault(osv_id, command.where)
                continue
            earlier, keys = seen.names.get(district, {}), seen.keys.get(district, {})
            near = possible_duplicates(name, earlier, keys=keys)
            if near:
                problems.append(same_osv(command, district, seen.osvs[near[0].osv_id]))
            elif joins:
                seen.names.setdefault(district, earlier)[osv_id] = name
                seen.keys.setdefault(district, keys)[osv_id] = name_key(name)
                seen.osvs[osv_id] = command.where
        return problems

    def _earlier_records(self, row: Row, checks: list[tuple[Command, Answer]], seen: SeenInFile, *, joins: bool = True) -> list[Problem]:
        """A dry run's meeting or activity that engagement would refuse once the earlier rows are recorded: alike, as
        engagement compares them (:func:`field_record_of`), to one an earlier row would record. One it would record joins
        them (unless ``joins`` is False); one recorded by an earlier import, engagement's own dry run compared it already."""
        problems = []
        for command, answer in checks:
            record = field_record_of(command, answer)
            if record is None or answer.carried_out_before:
                continue
            first = seen.records.get(record)
            if first is not None:
                problems.append(same_record(command, first, self._suggest(row)))
            elif joins:
                seen.records[record] = command.where
        return problems

    def _run_alone(self, row: Row, command: Command, seen: SeenInFile | None = None) -> RowResult:
        """A row of one command, sent for real at once: the service refuses it whole or carries it out whole, as
        its dry run would have said, so a dry run first would only double the requests (and the row can never be partial)."""
        answer = self._send(command, dry_run=False)
        if not _accepted(answer):
            return RowResult(row, Outcome.REFUSED, list(dict.fromkeys(_refusal(command, answer, seen, self._suggest(row)))))
        osv = _osv_of(command, answer)
        if seen is not None and osv is not None:  # a copy of the row, "already there", did not map it (tester 226 F1)
            seen.osvs.setdefault(osv[0], command.where)
        if answer.carried_out_before:
            return RowResult(row, Outcome.ALREADY_THERE, recorded_otherwise(row, [answer]))
        return RowResult(row, Outcome.CREATED, recorded=[command.key])


LEFT_OUT_RULES = frozenset({DATE_RULE, CONTROL_RULE})
"""The import's rules for an answer it will not send (a date it cannot read, a text holding a control character): the
row's other mistakes are found by a dry run without it (:meth:`Importer._with_the_others_mistakes_beside_unread_dates`)."""


def _without(body: dict[str, Any], sources: Mapping[str, Cell], cells: set[Cell], path: str = "") -> dict[str, Any]:
    """``body`` without the answers of ``cells`` (each field's cell is ``sources[<its path>]``), in its lists' items too
    (``action_items.0.due_on``)."""
    kept: dict[str, Any] = {}
    for name, value in body.items():
        at = f"{path}{name}"
        if sources.get(at) in cells:
            continue
        if isinstance(value, list):
            value = [
                _without(item, sources, cells, f"{at}.{place}.") if isinstance(item, dict) else item
                for place, item in enumerate(value)
            ]
        kept[name] = value
    return kept


CHECKED_ANYWAY = frozenset({DUPLICATE_RULE, PRESIDENT_RULE})
"""The import's own rules that refuse a row whose commands are whole (a person given twice, a second president): its
commands' dry runs are sent all the same, for the row's other mistakes (:meth:`Importer._with_the_others_mistakes`)."""


def in_entries_order(row: Row, problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` once each, the main sheet's first, then by sheet and row (a webhook post's entries in their order),
    each cell's in the order found."""
    found = dict.fromkeys(problems)
    return sorted(found, key=lambda problem: (problem.cell.sheet != row.where.sheet, problem.cell.sheet, problem.cell.row))


def _refused_fields(answer: Answer) -> set[str]:
    """The fields a refusal names (``osv_id``…): the one it waited on is among them, and, in a body refused for mistakes of
    its own too (a missing name listed first), not always first: each entry was then waited for again."""
    errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
    named = (error.get("field") for error in errors if isinstance(error, dict)) if isinstance(errors, list) else ()
    return {field for field in named if isinstance(field, str)}


def maps_an_osv(command: Command) -> bool:
    """Whether the command is registry's ``POST /osvs`` (an OSV's mapping)."""
    return (command.service, command.path) == ("registry", "/osvs")


def takes_distinct_from(command: Command) -> bool:
    """Whether the command takes ``distinct_from`` from ``osv-import --distinct``: an OSV's mapping (registry's
    ``POST /osvs``), a meeting or an activity (engagement's ``POST /osvs/{osv}/meetings``, ``POST /activities``), each
    refused as a ``possible_duplicate`` of a record like it unless the request names that record (tester 233 F3: two
    meetings with one OSV on one day in one mode are told apart only so)."""
    if command.service != "engagement":
        return maps_an_osv(command)
    return command.path == "/activities" or (command.path.startswith("/osvs/") and command.path.endswith("/meetings"))


def _accepted(answer: Answer) -> bool:
    return 200 <= answer.status < 300 or answer.carried_out_before
