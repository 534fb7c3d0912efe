"""Kobo's exports of the shipped forms, made as KoboToolbox makes them, for the import's tests.

The shape follows Kobo's exporter (formpack): the main section on the first
sheet, named after the form's title (31 characters at most); one sheet per
repeat group named after it; headers the questions' names with their group
path ("XML values and headers", groups in headers) or their labels in one
language, the groups' labels before them; a ``select_multiple`` as its
summary column (values, or labels, joined by spaces) and one column per
option (1 or 0); Kobo's own columns after the questions (``_id``,
``_uuid``, ``_submission_time``, ``_validation_status``, ``_notes``,
``_status``, ``_submitted_by``, ``__version__``, ``_tags``, and ``_index``
on a section with repeats), and on each repeat row ``_parent_table_name``,
``_parent_index`` and the submission's own columns as ``_submission_<name>``.
A Kobo since 2025 adds ``meta/rootUuid`` (``uuid:`` and the ``_uuid`` the
submission was first sent with) and, on an edit, ``meta/deprecatedID``
(``uuid:`` and the replaced version's ``_uuid``): headed ``rootUuid`` and
``deprecatedID`` without groups in headers (``meta``). Kobo gives an edit
a new ``_uuid`` (:meth:`Answers.edited`).
CSV: the main section only, ``;`` between values, every value quoted.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from openpyxl import Workbook

from services.imports.forms import Form, Question

SUBMISSION_COLUMNS = ("_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by", "__version__", "_tags")


@dataclass
class Answers:
    """One submission: answers by question name (XML values), and each repeat's entries."""

    values: dict[str, Any]
    repeats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    uuid: str = field(default_factory=lambda: str(uuid4()))
    root_uuid: str | None = None
    """The ``_uuid`` an edit's submission was first sent with (its ``meta/rootUuid``); None for a submission never edited."""
    deprecated_id: str | None = None
    """The ``_uuid`` of the version an edit replaced (its ``meta/deprecatedID``); None for a submission never edited."""
    rooted: bool = True
    """False for a server that writes an edit's ``meta/deprecatedID`` but no ``meta/rootUuid`` (a Kobo before 2025, ODK
    Central): its ``meta/rootUuid`` cell is blank, and its post has none."""

    def edited(
        self, values: dict[str, Any] | None = None, repeats: dict[str, list[dict[str, Any]]] | None = None, *,
        rooted: bool = True,
    ) -> Answers:
        """This submission edited in Kobo: its answers changed by ``values`` (``repeats`` given: those instead), a new
        ``_uuid``, the same ``meta/rootUuid`` (none written unless ``rooted``), and a ``meta/deprecatedID`` naming this
        version."""
        return Answers(
            {**self.values, **(values or {})}, self.repeats if repeats is None else repeats,
            root_uuid=self.root_uuid or self.uuid, deprecated_id=self.uuid, rooted=rooted,
        )

    def meta(self) -> tuple[str, str]:
        """Its ``meta/rootUuid`` and ``meta/deprecatedID`` as Kobo writes them (``""`` for none)."""
        root = f"uuid:{self.root_uuid or self.uuid}" if self.rooted else ""
        return root, f"uuid:{self.deprecated_id}" if self.deprecated_id else ""


def _label(form: Form, question: Question, language: int | None) -> str:
    if language is None:
        return question.xpath
    groups = [labels[language] for labels in question.group_labels if labels[language]]
    return "/".join([*groups, question.labels[language]])


def _choice_label(form: Form, question: Question, value: str, language: int | None) -> str:
    if language is None:
        return value
    return form.choices[question.list_name or ""][value][language]


def _columns(form: Form, repeat: str | None, language: int | None) -> list[tuple[str, Question, str | None]]:
    columns = []
    for question in form.in_section(repeat):
        header = _label(form, question, language)
        columns.append((header, question, None))
        if question.type == "select_multiple":
            for value in form.choices[question.list_name or ""]:
                columns.append((f"{header}/{_choice_label(form, question, value, language)}", question, value))
    return columns


def _cell(form: Form, question: Question, option: str | None, answers: Mapping[str, Any], language: int | None) -> Any:
    value = answers.get(question.name)
    if option is not None:
        return "" if value is None else ("1" if option in str(value).split() else "0")
    if value is None:
        return ""
    if question.type == "select_one" and question.list_name in form.choices and str(value) in form.choices[question.list_name]:
        return _choice_label(form, question, str(value), language)
    if question.type == "select_multiple":
        return " ".join(_choice_label(form, question, v, language) for v in str(value).split())
    return value


def export_rows(
    form: Form, submissions: Sequence[Answers], language: int | None = None, meta: str | None = None
) -> dict[str, list[list[Any]]]:
    """The export's sheets as rows, header first: ``language`` None for XML values, 0 Spanish, 1 English labels.
    ``meta``: None for a Kobo before 2025 (no ``meta/rootUuid``), ``"meta/"`` with groups in headers, ``""`` without."""
    main_columns = _columns(form, None, language)
    indexed = bool(form.repeats)
    kobo = [*SUBMISSION_COLUMNS, *((f"{meta}rootUuid", f"{meta}deprecatedID") if meta is not None else ())]
    main_header = [h for h, _, _ in main_columns] + kobo + (["_index"] if indexed else [])
    title = re.sub(r"[\[\]:*?/\\]", "_", form.title)[:31]  # as Kobo names a sheet: no character Excel refuses
    sheets: dict[str, list[list[Any]]] = {title: [main_header]}
    repeat_columns = {r: _columns(form, r, language) for r in form.repeats}
    for repeat, columns in repeat_columns.items():
        header = [h for h, _, _ in columns] + ["_parent_table_name", "_parent_index"] + [f"_submission_{c}" for c in kobo]
        sheets[repeat[:31]] = [header]
    for index, submission in enumerate(submissions, start=1):
        own = [index, submission.uuid, f"2021-05-{index % 28 + 1:02d}T10:15:00", "", "", "submitted_via_web", "promotora", "vXyZ", ""]
        own += list(submission.meta()) if meta is not None else []
        row = [_cell(form, q, o, submission.values, language) for _, q, o in main_columns] + own + ([index] if indexed else [])
        sheets[title].append(row)
        for repeat, columns in repeat_columns.items():
            for entry in submission.repeats.get(repeat, []):
                sheets[repeat[:31]].append(
                    [_cell(form, q, o, entry, language) for _, q, o in columns] + [title, index] + own
                )
    return sheets


def write_xlsx(
    path: Path, form: Form, submissions: Sequence[Answers], language: int | None = None, meta: str | None = None
) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in export_rows(form, submissions, language, meta).items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def write_csv(
    path: Path, form: Form, submissions: Sequence[Answers], language: int | None = None, encoding: str = "utf-8",
    meta: str | None = None,
) -> Path:
    rows = next(iter(export_rows(form, submissions, language, meta).values()))
    with path.open("w", newline="", encoding=encoding) as file:
        csv.writer(file, delimiter=";", quoting=csv.QUOTE_ALL).writerows(rows)
    return path


def kobo_json(form: Form, submission: Answers, *, root_uuid: bool = False) -> dict[str, Any]:
    """The JSON Kobo's REST Services post for one submission (XML values, keys by group path); ``root_uuid``: with its
    ``meta/rootUuid`` (and an edit's ``meta/deprecatedID``), as a Kobo since 2025 posts it (an edit not
    :attr:`~Answers.rooted`: its ``meta/deprecatedID`` alone)."""
    data: dict[str, Any] = {
        "_id": 101,
        "_uuid": submission.uuid,
        "_submission_time": "2021-05-02T10:15:00",
        "formhub/uuid": "7c1d0c8e2d7d4f0f",
        "__version__": "vXyZ",
        "meta/instanceID": f"uuid:{submission.uuid}",
        "_xform_id_string": "aBcDeFgHiJkLmN",
        "_status": "submitted_via_web",
        "_attachments": [],
        "_geolocation": [None, None],
        "_tags": [],
        "_notes": [],
        "_submitted_by": None,
    }
    if root_uuid:
        root, deprecated = submission.meta()
        if root:
            data["meta/rootUuid"] = root
        if deprecated:
            data["meta/deprecatedID"] = deprecated
    for question in form.in_section(None):
        if question.name in submission.values:
            data[question.xpath] = str(submission.values[question.name])
    for repeat in form.repeats:
        entries = submission.repeats.get(repeat)
        if entries:
            inner = [q for q in form.questions.values() if q.repeat == repeat]
            data[repeat] = [{q.xpath: str(e[q.name]) for q in inner if q.name in e} for e in entries]
    return data
