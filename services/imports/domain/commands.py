"""What each form's submission asks of the services: the commands, with the cell behind every field they carry.

Pure: a :class:`~services.imports.exports.Submission` of one of the shipped
forms becomes a :class:`Row` of :class:`Command` s, the same requests staff
would send by hand:

==================  ==============================================================
form                commands
==================  ==============================================================
``osv_mapping``     registry ``POST /osvs``
``osv_members``     engagement ``POST /members``, one per entry of ``miembros``
``osv_meeting``     engagement ``POST /osvs/{osv}/meetings``, its ``acciones`` as action items
``osv_activity``    engagement ``POST /activities``, ``participantes`` as direct beneficiaries
==================  ==============================================================

Nothing is checked here that the APIs check: a value is converted only when
the form says what it is (a label back to its XML value, an integer, a list
of choices), and anything else goes as given, for the API to accept or to
refuse in its own words. Blank optional answers are left out, so the API's
defaults apply; a webhook post's text answer of spaces alone goes as posted,
for the API to tell it as it does (:func:`~services.imports.exports.from_kobo_json`).
The import's own rules are only those no single request can see: a
submission that registers nobody, the same document twice, or an edit in
Kobo it cannot key (:func:`unkeyed_edit`).

In an export (``spreadsheet``, not a webhook post, whose JSON Kobo writes
in ISO 8601 as the APIs take it), a ``date`` question's answer is read as
Excel (in Spanish, as in Peru) writes it, since the person's spreadsheet is
no API client: ``15/03/2021``, ``15-03-2021``, ``15.03.2021`` (day
first, never month first), ``2021-03-15``, ``2021/03/15``, any with a time of midnight
(``2021-03-15 00:00:00``, a date cell saved as CSV), or an Excel serial
(``44270``, a date cell formatted as a number, 1950–2099), and sent as ISO
8601; anything else is refused (``date_as_excel_writes_it``) naming the cell,
the value (when it is written as a date: :func:`~services.imports.domain.answers.written_as_a_date`) and these forms
(:func:`iso_date`). An answer holding a control
character, which the services' request guard refuses for the whole request,
is refused on its cell (``control_characters``:
:func:`~services.imports.domain.answers.control_character_mistake`).

Each command's ``Idempotency-Key`` is the submission's ``_uuid`` and the
command's place in it (``kobo:<_uuid>:osv_members:miembros/2``), so the same
submission imported twice, or posted twice by Kobo, is carried out once.
Where Kobo gives a ``meta/rootUuid`` (since 2025), the key is made from it
(its ``uuid:`` left out) instead (:attr:`Submission.key_uuid`): an edit in
Kobo gets a new ``_uuid`` but keeps the ``meta/rootUuid``, which is the
``_uuid`` it was first sent with, so the edit is keyed as the submission it
edits (refused if it differs: the services hold the key for the first
version), and a submission never edited is keyed as before. An edit
without one (its ``meta/deprecatedID`` says it is an edit) would be keyed
by its own new ``_uuid``, as a new submission: it is refused instead.
A row without either (a spreadsheet not exported by Kobo) is keyed by a
digest of its answers instead; a ``_uuid`` of other than visible ASCII by a
digest of it (:func:`key_part`), and a key over 255 characters is a digest
of itself (:meth:`_Builder.key`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from services.imports.domain.answers import CONTROL_RULE, DATE_RULE, control_character_mistake, date_mistake, iso_date
from services.imports.domain.corrections import correction_of
from services.imports.domain.submissions import DEPRECATED_ID, Cell, Entry, Submission, entry_of, together
from services.imports.forms import Form
from shared.documents import DocumentType, compared_number, without_card_code
from shared.idempotency.keys import MAX_KEY_LENGTH
from shared.schemas import as_name_reads, as_text_reads

INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
"""A whole number as a cell or Kobo writes it (``5``, a spreadsheet's ``5.0``), in the digits 0-9 only (``٣`` went as 3)."""
DUPLICATE_RULE = "person_already_registered"
"""The rule engagement names when a document is registered already; the import uses it for the same person twice in a
submission (:func:`same_person`) or in a file (:func:`registered_by_an_earlier_row`): one rule for one person twice, the
message saying where the other one is."""


@dataclass(frozen=True)
class Problem:
    """Why a row cannot be imported: the cell at fault, the field, the rule and the message (the API's words)."""

    cell: Cell
    field: str
    rule: str
    message: str
    retry_after: float | None = field(default=None, compare=False)
    """The ``Retry-After`` (seconds) the service's refusal carried, when the problem may clear up by itself (an OSV
    registry mapped a moment ago that engagement has not heard of yet, waited for in vain): the Kobo webhook's answer
    carries it on (:func:`services.imports.api.retry_after`); None for any other problem."""


@dataclass
class Command:
    """One request to a service: ``POST <path>`` on ``service`` with ``body`` and ``key`` as its Idempotency-Key.

    ``sources`` maps each field of the body the API may name in an error
    (``full_name``, ``action_items.0.due_on``, ``osv_id``) to the cell it came
    from. ``personal`` holds the personal data and free text the command
    carries, never to be written anywhere but the request.
    """

    service: str
    path: str
    body: dict[str, Any]
    key: str
    where: Cell
    sources: dict[str, Cell] = field(default_factory=dict)
    personal: tuple[str, ...] = ()
    document: tuple[str, str] | None = None
    """The person's document (type, number as loosely normalised), to find the same person twice in a file."""
    read_as: dict[str, Callable[[str], str]] = field(default_factory=dict)
    """Each text field of the body (its path, ``action_items.0.owner``) the API trims and cleans as it reads it, with the
    API's own clean-up (:func:`~shared.schemas.as_name_reads`, :func:`~shared.schemas.as_text_reads`): two answers are
    one when the API would store them the same (:func:`~services.imports.domain.copies.same_key_other_answers`)."""
    choices: dict[str, str] = field(default_factory=dict)
    """Each field of the body answered by a select question → what the form takes there (:meth:`Form.expected`: its
    labels and codes), for a refusal of a value that is none of them to say so in the form's words."""
    lists: dict[str, str] = field(default_factory=dict)
    """Each field of the body answered by a question choosing from a file (``select_one_from_file osvs.csv``: the OSV)
    → that file, for a refusal of a value that is no id to say where the form's ids come from (tester 270 F7)."""

    def cell_for(self, api_field: str | None) -> Cell:
        """The cell behind a field an API named (the nearest one known, else the command's row)."""
        if api_field:
            parts = api_field.split(".")
            while parts:
                found = self.sources.get(".".join(parts))
                if found is not None:
                    return found
                parts.pop()
        return self.where

    def as_the_api_reads(self) -> dict[str, Any]:
        """The body as the API reads it, field by field (``read_as``): the answers compared with another row's."""
        return _read(self.body, self.read_as, "")

    def list_at(self, api_field: str | None) -> str | None:
        """The file the form chooses a field's answer from (``osvs.csv``), or None when no such question answered it."""
        return self.lists.get(api_field or "")

    def expected_at(self, api_field: str | None) -> str | None:
        """What the form takes for a field an API named (``sex``, ``focus_areas.2``: the nearest field known), or None
        when no select question answered it."""
        parts = api_field.split(".") if api_field else []
        while parts:
            found = self.choices.get(".".join(parts))
            if found is not None:
                return found
            parts.pop()
        return None


@dataclass
class Row:
    """One submission and the commands it makes; ``problems`` found before sending any."""

    submission: Submission
    commands: list[Command]
    problems: list[Problem] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)
    """The places in ``commands`` of the people given before in the same submission (each also a :func:`same_person` problem)."""

    @property
    def where(self) -> Cell:
        main = self.submission.main
        return Cell(main.sheet, main.row, "")


class _Builder:
    """Reads one submission's answers as the form defines them."""

    def __init__(self, form: Form, submission: Submission, *, spreadsheet: bool = True) -> None:
        self.form = form
        self.spreadsheet = spreadsheet
        self.submission = submission
        self.choices: dict[str, str] = {}
        """What the form takes for each field a select question answered, by the field's path in its command's body; the
        form's builder gives each command the ones of its own fields (:meth:`expected_in`)."""
        self.lists: dict[str, str] = {}
        """The file each field a ``select_one_from_file`` question answered is chosen from, by the field's path."""
        self.problems: list[Problem] = [
            Problem(cell, cell.column, NOT_AN_ANSWER_RULE, "Kobo sends each answer as text or a number; this is a JSON object, "
                    "array or true/false, which the import does not read as an answer")
            for cell in submission.not_answers
        ] + [
            Problem(cell, cell.column, NOT_AN_ANSWER_RULE, "Kobo posts a repeat group as a list of entries, each an object of "
                    "the entry's answers; this is not one")
            for cell in submission.not_groups
        ]
        """Answers the import cannot read (a date in none of the forms it takes), found while building the commands."""
        self.prefix = (
            f"kobo:{key_part(submission.key_uuid)}:{form.form_id}"
            if submission.key_uuid
            else f"row:{_digest(form.form_id, submission)}:{form.form_id}"
        )

    def value(self, entry: Entry, name: str) -> Any:
        """The answer as the API should get it, or None when blank."""
        raw = entry.values.get(name)
        if raw is None:
            return None
        question = self.form.questions.get(name)
        text = str(raw)
        if question is None:
            return text
        if question.type == "select_one":
            return self.form.choice(question, text)
        if question.type == "select_multiple":
            return self.form.choices_of(question, text)
        if question.type == "integer" and INTEGER.fullmatch(text):
            return int(text.partition(".")[0])  # "5.0": a spreadsheet's whole number, written as a decimal
        return text

    def put(
        self, body: dict[str, Any], sources: dict[str, Cell], api_field: str, entry: Entry, name: str, path: str | None = None
    ) -> Any:
        """Set ``body[api_field]`` from question ``name`` when answered; record its cell (at ``path``) either way.

        A ``date`` answer goes as ISO 8601 (:func:`iso_date`); one in none of the forms it takes is sent as given, the row
        refused beforehand with a :data:`DATE_RULE` problem naming the cell, the value (when written as a date) and the
        forms taken. An answer holding a control character is refused so too, :data:`CONTROL_RULE` on its cell (the
        services' guard named the whole request, ``body``, and none of the row's other mistakes: tester 226 F4)."""
        question = self.form.questions.get(name)
        # An answer the post or file lacks is named by its Kobo key, group and all (cantidades/cantidad_workshop).
        sources[path or api_field] = entry.cell(name, question.xpath if question is not None else None)
        self.expect(path or api_field, name)
        value = self.value(entry, name)
        mistake = control_character_mistake(str(entry.values.get(name) or ""))
        if mistake is not None:  # an OSV's answer, given to each member of a submission, is said once
            unread = Problem(entry.cell(name), path or api_field, CONTROL_RULE, mistake)
            self.problems += [unread] if unread not in self.problems else []
        elif self.spreadsheet and value is not None and question is not None and question.type == "date":
            read = iso_date(str(value))
            if read is None:
                self.problems.append(Problem(
                    entry.cell(name), path or api_field, DATE_RULE,
                    date_mistake(str(value)),
                ))
            else:
                value = read
        if value is not None:
            body[api_field] = value
        return value

    def expect(self, api_field: str, name: str) -> None:
        """Note what the form takes for ``api_field`` when question ``name`` is a select (:meth:`Form.expected`), or the
        file it chooses from (``select_one_from_file``)."""
        question = self.form.questions.get(name)
        expected = self.form.expected(question) if question is not None else None
        if expected is not None:
            self.choices[api_field] = expected
        if question is not None and question.type.endswith("_from_file") and question.list_name:
            self.lists[api_field] = question.list_name

    def expected_in(self, sources: Mapping[str, Cell]) -> dict[str, str]:
        """What the form takes for each of a command's fields (``sources``) a select question answered."""
        return {api_field: self.choices[api_field] for api_field in sources if api_field in self.choices}

    def key(self, place: str) -> str:
        """The Idempotency-Key of the command at ``place``: one per command, at most 255 visible ASCII characters (what
        the services take). One that would be longer is a digest of itself (cutting it short gave every command of a
        submission with a very long ``_uuid`` the same key: the first recorded, the rest refused for ever)."""
        key = f"{self.prefix}:{place}"
        return key if len(key) <= MAX_KEY_LENGTH else f"digest:{hashlib.sha256(key.encode()).hexdigest()}"


UUID_AS_GIVEN = re.compile(r"[!-~]+")
"""A ``_uuid`` kept as it is in the Idempotency-Key: visible ASCII (Kobo's own are UUIDs, 36 characters)."""


def key_part(uuid: str) -> str:
    """A submission's ``_uuid`` as its commands' Idempotency-Keys carry it: as given when :data:`UUID_AS_GIVEN` (Kobo's
    own, and every one the services took before), else ``sha256-`` and a digest of it. An HTTP header takes visible ASCII only: a
    ``_uuid`` typed into a spreadsheet as ``fila-ñandú-001`` made the webhook answer 500 and ``osv-import`` end in a
    traceback."""
    if UUID_AS_GIVEN.fullmatch(uuid):
        return uuid
    return "sha256-" + hashlib.sha256(uuid.encode()).hexdigest()[:32]


def _digest(form_id: str, submission: Submission) -> str:
    content = {
        "main": submission.main.values,
        "repeats": {k: [e.values for e in v] for k, v in sorted(submission.repeats.items())},
    }
    text = json.dumps([form_id, content], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _read(value: Any, read_as: Mapping[str, Callable[[str], str]], path: str) -> Any:
    """``value`` (a body, or a part of one at ``path``) with each text ``read_as`` names cleaned up as the API reads it."""
    if isinstance(value, dict):
        return {k: _read(v, read_as, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_read(v, read_as, f"{path}.{place}") for place, v in enumerate(value)]
    clean = read_as.get(path)
    return clean(value) if clean is not None and isinstance(value, str) else value


def loose_document(kind: Any, number: Any) -> tuple[str, str] | None:
    """A document as compared within a file: its type, and its number without spaces, dots or hyphens, upper case,
    compared as engagement compares it (:func:`~shared.documents.compared_number`, as a numeric cell drops leading
    zeros): a Migraciones card's (CE, CPP, PTP) of digits only padded to 9 digits ("1234567" is "001234567"); a
    passport's, an asylum claim's or a Venezuelan cédula's of digits only without its leading zeros ("000940407" is
    "940407"); a cédula without its V- or E- ("V-18.765.432" is "18765432"); a card's number without the card's code
    typed before it ("CE 001234567" is "001234567")."""
    if not kind or not number or not str(number).strip() or str(kind) == "NINGUNO":  # no number: not a person to compare
        return None
    loose = re.sub(r"[\s.\-/]", "", str(number)).upper()
    if str(kind) == DocumentType.CEDULA_VE.value:
        loose = re.sub(r"^[VE](?=[0-9])", "", loose)  # engagement's rule: a cédula is one whether written V-, E- or bare
    if str(kind) in DocumentType.__members__:
        loose = compared_number(DocumentType(str(kind)), without_card_code(DocumentType(str(kind)), loose))
    return str(kind), loose


# The forms ------------------------------------------------------------------------------------------------


def osv_mapping(b: _Builder) -> Row:
    main = b.submission.main
    body: dict[str, Any] = {}
    sources: dict[str, Cell] = {}
    for api_field, name in (
        ("name", "nombre"),
        ("district", "distrito"),
        ("mapped_on", "fecha_mapeo"),
        ("kind", "tipo"),
        ("composition", "composicion"),
        ("focus_areas", "ejes"),
        ("contact_channel", "canal_contacto"),
    ):
        b.put(body, sources, api_field, main, name)
    command = Command("registry", "/osvs", body, b.key("osv"), Cell(main.sheet, main.row, ""), sources,
                      read_as={"name": as_name_reads, "district": as_text_reads})
    return Row(b.submission, [command])


def osv_members(b: _Builder) -> Row:
    main = b.submission.main
    entries = b.submission.repeats.get("miembros", [])
    row = Row(b.submission, [])
    if not entries:
        row.problems.append(
            Problem(Cell(main.sheet, main.row, "miembros"), "miembros", "at_least_one_member", "the submission registers nobody")
        )
    for number, entry in enumerate(entries, start=1):
        body: dict[str, Any] = {}
        sources: dict[str, Cell] = {}
        b.put(body, sources, "osv_id", main, "osv")
        for api_field, name in (
            ("full_name", "nombre_completo"),
            ("document_type", "tipo_documento"),
            ("document_number", "numero_documento"),
            ("nationality", "nacionalidad"),
            ("sex", "sexo"),
            ("birth_year", "anio_nacimiento"),
            ("role", "rol"),
            ("phone", "telefono"),
            ("joined_on", "fecha_ingreso"),
        ):
            b.put(body, sources, api_field, entry, name)
        personal = tuple(
            str(body[f]) for f in ("full_name", "document_number", "phone", "birth_year") if body.get(f) is not None
        )
        row.commands.append(
            Command(
                "engagement",
                "/members",
                body,
                b.key(f"miembros/{number}"),
                Cell(entry.sheet, entry.row, ""),
                sources,
                personal,
                loose_document(body.get("document_type"), body.get("document_number")),
                read_as={"full_name": as_name_reads},
            )
        )
    return row


def osv_meeting(b: _Builder) -> Row:
    main = b.submission.main
    body: dict[str, Any] = {}
    sources: dict[str, Cell] = {}
    osv = b.value(main, "osv")
    sources["osv_id"] = main.cell("osv")
    b.expect("osv_id", "osv")
    for api_field, name in (
        ("held_on", "fecha"),
        ("mode", "modalidad"),
        ("topics", "temas"),
        ("other_attendees", "otros_asistentes"),
        ("notes", "notas"),
    ):
        b.put(body, sources, api_field, main, name)
    items = []
    for place, entry in enumerate(b.submission.repeats.get("acciones", [])):
        item: dict[str, Any] = {}
        for api_field, name in (("description", "descripcion"), ("owner", "responsable"), ("due_on", "fecha_limite")):
            b.put(item, sources, api_field, entry, name, f"action_items.{place}.{api_field}")
        sources[f"action_items.{place}"] = Cell(entry.sheet, entry.row, "")
        items.append(item)
    if items:
        body["action_items"] = items
    free_text = [body.get("notes"), *(i.get("description") for i in items), *(i.get("owner") for i in items)]
    path = f"/osvs/{quote(str(osv or ''), safe='')}/meetings"
    command = Command(
        "engagement", path, body, b.key("reunion"), Cell(main.sheet, main.row, ""), sources, tuple(str(t) for t in free_text if t),
        read_as={f"action_items.{place}.{name}": as_text_reads for place in range(len(items)) for name in ("description", "owner")},
    )
    row = Row(b.submission, [command])
    if osv is None:
        row.problems.append(Problem(main.cell("osv"), "osv_id", "missing", "Field required"))
    return row


def osv_activity(b: _Builder) -> Row:
    main = b.submission.main
    body: dict[str, Any] = {}
    sources: dict[str, Cell] = {}
    for api_field, name in (
        ("osv_id", "osv"),
        ("held_on", "fecha"),
        ("kind", "tipo"),
        ("district", "distrito"),
        ("indirect_beneficiaries", "beneficiarios_indirectos"),
        ("description", "descripcion"),
    ):
        b.put(body, sources, api_field, main, name)
    groups = []
    for place, entry in enumerate(b.submission.repeats.get("participantes", [])):
        group: dict[str, Any] = {}
        for api_field, name in (("nationality", "nacionalidad"), ("sex", "sexo"), ("count", "cantidad")):
            b.put(group, sources, api_field, entry, name, f"direct_beneficiaries.{place}.{api_field}")
        # One row per nationality and sex (`unique_nationality_and_sex` on the entry) is said on those two columns: it was
        # the entry's row, column "-" (tester 296 F4).
        sources[f"direct_beneficiaries.{place}"] = together(
            sources[f"direct_beneficiaries.{place}.nationality"], sources[f"direct_beneficiaries.{place}.sex"]
        )
        groups.append(group)
    if groups:
        body["direct_beneficiaries"] = groups
        # Their counts' sum refused (`at_most_max_count` on `direct_beneficiaries`) is said where they are counted, from the
        # first row on: it was the activity's row, column "-" (tester 196).
        first = b.submission.repeats["participantes"][0]
        sources["direct_beneficiaries"] = sources.get("direct_beneficiaries.0.count") or first.cell("cantidad")
    sources["outputs"] = main.cell("productos")
    b.expect("outputs", "productos")
    kinds = b.value(main, "productos") or []
    outputs = []
    for place, kind in enumerate(kinds):
        output: dict[str, Any] = {"kind": kind}
        sources[f"outputs.{place}.kind"] = main.cell("productos")
        b.put(output, sources, "count", main, f"cantidad_{kind}", f"outputs.{place}.count")
        outputs.append(output)
    if outputs:
        body["outputs"] = outputs
    personal = (str(body["description"]),) if body.get("description") else ()
    command = Command("engagement", "/activities", body, b.key("actividad"), Cell(main.sheet, main.row, ""), sources, personal,
                      read_as={"district": as_text_reads})
    return Row(b.submission, [command])


BUILDERS: Mapping[str, Callable[[_Builder], Row]] = {
    "osv_mapping": osv_mapping,
    "osv_members": osv_members,
    "osv_meeting": osv_meeting,
    "osv_activity": osv_activity,
}


def row_of(form: Form, submission: Submission, *, spreadsheet: bool = True) -> Row:
    """The commands a submission of ``form`` makes, with the problems found before any is sent.

    ``spreadsheet``: read from an export (XLSX, CSV), its dates read as Excel writes them (:func:`iso_date`); False for
    a webhook post, whose answers go as Kobo wrote them."""
    try:
        build = BUILDERS[form.form_id]
    except KeyError:
        raise KeyError(f"the import knows no commands for the form {form.form_id!r}") from None
    builder = _Builder(form, submission, spreadsheet=spreadsheet)
    row = build(builder)
    row.problems[:0] = builder.problems
    if submission.unkeyed_edit:
        row.problems.insert(0, unkeyed_edit(submission, row.commands))
    for command in row.commands:
        command.choices = builder.expected_in(command.sources)
        command.lists = {api_field: builder.lists[api_field] for api_field in command.sources if api_field in builder.lists}
    seen: dict[tuple[str, str], Cell] = {}
    for place, command in enumerate(row.commands):
        if command.document is None:
            continue
        if command.document in seen:
            first = seen[command.document]
            row.problems.append(same_person(command, first))
            row.repeats.append(place)
        else:
            seen[command.document] = command.where
    row.problems.extend(second_presidents([c for place, c in enumerate(row.commands) if place not in row.repeats]))
    return row


UNKEYED_EDIT_RULE = "edit_without_root_uuid"
"""An edit in Kobo without the ``meta/rootUuid`` of the submission it edits: refused, never recorded (:func:`unkeyed_edit`)."""


def unkeyed_edit(submission: Submission, commands: list[Command]) -> Problem:
    """The submission, an edit in Kobo (its ``meta/deprecatedID``) without a ``meta/rootUuid`` (a Kobo before 2025, ODK
    Central), is refused before anything is sent, on its ``meta/deprecatedID``: keyed by its own new ``_uuid``, it was
    recorded beside the version it edits (tester 276 F2: a meeting's day corrected in Kobo, two meetings). The import
    cannot find that version's key without the ``meta/rootUuid`` (the ``meta/deprecatedID`` names the version it
    replaced, which is the first only for a first edit), so it records nothing of it, and says what will."""
    return Problem(
        submission.meta_cell(DEPRECATED_ID),
        DEPRECATED_ID,
        UNKEYED_EDIT_RULE,
        "this submission is an edit made in Kobo (its meta/deprecatedID names the version it replaced) without a "
        "meta/rootUuid, Kobo's id of the submission it edits, which the import makes the keys of every version from: "
        "without it the import cannot find the keys of the submission it edits, nor see what was recorded of it, and "
        "keyed by the edit's own new _uuid it would be recorded a second time beside it, so nothing of it is recorded. "
        "Export the form again from a Kobo that writes meta/rootUuid (KoboToolbox since 2025) and import that, or look "
        "at what the services hold for this submission and make the edit's changes with their own commands "
        f"({correction_of(commands)})",
    )


NOT_AN_ANSWER_RULE = "kobo_answer"
"""A webhook post giving a question a JSON object, array or boolean: Kobo posts answers as text (or numbers)."""


PRESIDENT_RULE = "one_president"
"""The rule engagement names when an OSV has a president already; the import uses it for two in one submission."""


def second_presidents(commands: list[Command]) -> list[Problem]:
    """A members' submission naming a second president of its OSV (an OSV has one at a time): refused whole before anything
    is sent, at the later entry's role, saying where the first is. Each entry's dry run alone would pass (nobody is
    president yet), and the real import would register the first and be refused the second: a row half recorded.
    ``commands`` leaves out the people given twice (:func:`same_person` names them already)."""
    first: Cell | None = None
    problems = []
    for command in commands:
        if command.path != "/members" or command.body.get("role") != "president":
            continue
        if first is None:
            first = command.where
            continue
        problems.append(Problem(
            command.cell_for("role"),
            "role",
            PRESIDENT_RULE,
            f"{entry_of(first)} is the OSV's president too: an OSV has one president at a time, so name one",
        ))
    return problems


def same_person(command: Command, first: Cell) -> Problem:
    """The same document as an earlier entry of the same submission (``first``, a row of a file's repeat sheet or an entry
    of a webhook post): the submission is refused whole, so neither is registered; the message says where the first is."""
    return Problem(
        command.cell_for("document_number"),
        "document_number",
        DUPLICATE_RULE,
        f"a person with this document is {entry_of(first)} too: register each person once",
    )


def registered_by_an_earlier_row(command: Command, earlier: Cell) -> Problem:
    """The same document as an earlier row of the file that a dry run took (``earlier``): the real import registers that
    row's person first, and the API would refuse this one as already registered. A person of two OSVs is told how to
    add the second membership (tester 137 F7: the dry run said only "register each person once")."""
    return Problem(
        command.cell_for("document_number"),
        "document_number",
        DUPLICATE_RULE,
        f"a person with this document is registered already by row {earlier.row} of sheet {earlier.sheet!r} "
        "of this file: register each person once; if they belong to this OSV too, take them out of this row and, once "
        "that row is imported, add them to this OSV with POST /members/{id}/memberships (the import then names their id)",
    )
