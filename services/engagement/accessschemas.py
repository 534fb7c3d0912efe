"""The HTTP body of a person's subject-access report (``GET /members/{member_id}/subject-access``): the DPO's answer
to an access request. Kept apart from :mod:`services.engagement.schemas`, which it builds on, by size."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from openpyxl import Workbook
from openpyxl.styles import Font
from pydantic import BaseModel, Field

from services.engagement.domain.activities import ActivityKind
from services.engagement.domain.followup import MeetingMode
from services.engagement.domain.members import Member
from services.engagement.personalreads import ActivityTakenPart, MeetingAttended, SubjectAccess
from services.engagement.schemas import (
    AccessPublic,
    MemberPublic,
    PersonalDataChangePublic,
    shown_document_type,
    shown_name,
)
from shared.documents import DocumentType
from shared.spreadsheets import append_row, csv_writer
from shared.views.osvdirectory import OSVDescription

Language = Literal["es", "en"]
"""The language of the report's files' column headers (``?lang=``): Spanish, the person's, or English."""
HEADERS: dict[Language, tuple[str, str, str, str]] = {
    "es": ("sección", "elemento", "campo", "valor"),
    "en": ("section", "item", "field", "value"),
}
"""The columns of the report as one table (:meth:`SubjectAccessPublic.rows`), the first row of its CSV and XLSX, in
each :data:`Language`: the DPO hands the file to the person, in Lima (tester 308 F8). The sections' and fields' names
in the rows are the JSON's, which an API keeps in English. Engagement's own table: reporting's translations are
reporting's."""
XLSX_WIDTHS = (24, 6, 24, 80)
"""The XLSX's column widths, in characters: a section's and a field's name, an item's number, a value (an id is 36)."""
RECORDED_ON = "The record merged into the member (`merged_from`) it is recorded on; null: the member's own record."
FREE_TEXT_NOT_SEARCHED = (
    "Not searched: staff's free text (a meeting's notes, its actions' words and owners, technical assistance notes, an "
    "activity's description, a withdrawal's reason or note, an OSV's history notes) may name the person, and no search "
    "finds a name in it reliably. Ask programme staff, who read it, to look through the follow-up of the OSVs listed "
    "here and to hand over what names her (or redact it, for an erasure)."
)


class MergedRecordData(BaseModel):
    """A record of the same person merged into the member: the personal data it holds, as registered there."""

    id: UUID = Field(description="The merged record's member id.")
    full_name: str = Field(description="As recorded on that record; `[erased]` once forgotten.")
    document_type: DocumentType | None = Field(description="Null without one, or once erased.")
    document_number: str | None = Field(description="Null without one, or once erased.")
    phone: str | None = Field(description="Null without one, or once erased.")
    birth_year: int | None = Field(description="Null if not given, or once erased.")
    nationality: str = Field(description="ISO 3166-1 alpha-2 country code.")
    sex: str = Field(description="`F`, `M` or `X`.")
    merged_on: date | None = Field(description="When it was merged into the member.")

    @classmethod
    def of(cls, record: Member) -> MergedRecordData:
        return cls(
            id=record.id,
            full_name=shown_name(record, plain=True),
            document_type=shown_document_type(record, plain=True),
            document_number=record.document_number,
            phone=record.phone,
            birth_year=record.birth_year,
            nationality=record.nationality,
            sex=str(record.sex),
            merged_on=record.merged_on,
        )


class OSVNamed(BaseModel):
    """An OSV the report names, as registry described it to engagement."""

    osv_id: UUID
    name: str | None = Field(description="Null while its mapping has not arrived here.")
    district: str | None = Field(description="Null while its mapping has not arrived here.")
    merged_into: UUID | None = Field(description="The OSV this record of it was merged into, if any.")

    @classmethod
    def of(cls, described: OSVDescription) -> OSVNamed:
        into = UUID(described.merged_into) if described.merged_into is not None else None
        return cls(osv_id=UUID(described.osv_id), name=described.name, district=described.district, merged_into=into)


class MeetingAttendedPublic(BaseModel):
    """A follow-up meeting whose attendees name the person."""

    osv_id: UUID
    meeting_id: UUID
    held_on: date
    mode: MeetingMode
    withdrawn: bool = Field(description="Withdrawn as recorded by mistake: it counts nowhere, and the record keeps it.")
    recorded_on: UUID | None = Field(description=RECORDED_ON)

    @classmethod
    def of(cls, meeting: MeetingAttended) -> MeetingAttendedPublic:
        return cls(
            osv_id=meeting.osv_id, meeting_id=meeting.meeting_id, held_on=meeting.held_on, mode=meeting.mode,
            withdrawn=meeting.withdrawn, recorded_on=meeting.recorded_on,
        )


class ActivityTakenPartPublic(BaseModel):
    """An activity whose participants list the person by their member id."""

    osv_id: UUID
    activity_id: UUID
    held_on: date
    kind: ActivityKind
    district: str
    withdrawn: bool = Field(description="Withdrawn as reported by mistake: it counts nowhere, and the record keeps it.")
    recorded_on: UUID | None = Field(description=RECORDED_ON)

    @classmethod
    def of(cls, activity: ActivityTakenPart) -> ActivityTakenPartPublic:
        return cls(
            osv_id=activity.osv_id, activity_id=activity.activity_id, held_on=activity.held_on, kind=activity.kind,
            district=activity.district, withdrawn=activity.withdrawn, recorded_on=activity.recorded_on,
        )


class LoggedReadPublic(AccessPublic):
    """One read logged on her access log, or on a record merged into her, or on both (once: one read)."""

    recorded_on: UUID | None = Field(description=RECORDED_ON.replace("it is recorded on", "whose access log holds it"))
    also_recorded_on: list[UUID] = Field(
        description="The records merged into her whose access logs hold this same read too: one read that showed "
        "several of her records (this report, an OSV's member list naming both) is logged on each record's log, and "
        "listed here once. Empty for a read of one record."
    )


class PersonalDataChangeOnRecord(PersonalDataChangePublic):
    """One registration, correction or erasure of her data, or of a record merged into her."""

    recorded_on: UUID | None = Field(description=RECORDED_ON)


class SubjectAccessPublic(BaseModel):
    """Everything engagement holds on one person's member record, in clear, for the DPO to hand to her (ARCO *acceso*).

    Built by reading every OSV's follow-up and activities (no index by member): the meetings and activities are those
    whose records name her member id, or that of a record merged into her. Staff's free text is not searched
    (`free_text`). Registry, funding and reporting hold nothing personal of hers: ids, nationality, sex, age band."""

    member: MemberPublic = Field(
        description="Her record as `GET /members/{member_id}` shows it to a logged read in clear: name, document, "
        "phone, birth year, nationality, sex, every membership (OSV, role, joined and left) and funded project, then "
        "those of the records merged into her. Once erased: `[erased]`, nulls and `personal_data` `erased`; ids, "
        "memberships and dates stay. A record merged into another shows `merged_into`: the person's whole report is "
        "that member's."
    )
    merged_records: list[MergedRecordData] = Field(
        description="The records merged into her (`member.merged_from`), with the data each holds."
    )
    osvs: list[OSVNamed] = Field(description="Each OSV the report names (memberships, projects, meetings, activities).")
    meetings: list[MeetingAttendedPublic] = Field(
        description="The follow-up meetings that name her as an attendee, oldest first."
    )
    activities: list[ActivityTakenPartPublic] = Field(
        description="The activities that list her as a participant by member id, oldest first. An activity reported "
        "with counts only, or listing her under another pseudonymous id, cannot be told."
    )
    access_log: list[LoggedReadPublic] = Field(
        description="Who read her data in clear, or was told something of her, when and why, oldest first: "
        "`GET /members/{member_id}/access-log`, ending with this read (`subject_access`; none once erased)."
    )
    personal_data_changes: list[PersonalDataChangeOnRecord] = Field(
        description="Who registered, corrected or erased her data, and when "
        "(`GET /members/{member_id}/personal-data-changes`)."
    )
    free_text: str = Field(description="What the report does not search, and how to ask for it.")
    read_at: datetime = Field(description="When the report was read (UTC).")
    osvs_walked: int = Field(
        description="How many OSVs' follow-up and activities were read to build it (every OSV known)."
    )

    @classmethod
    def of(
        cls, report: SubjectAccess, describe: Callable[[Iterable[UUID]], dict[str, OSVDescription]]
    ) -> SubjectAccessPublic:
        """The report; ``describe`` tells what registry said of each OSV it names (:meth:`OSVDirectory.describe`)."""
        member = MemberPublic.of(report.member, plain=True, merged=report.merged)
        meetings = [MeetingAttendedPublic.of(m) for m in report.meetings]
        activities = [ActivityTakenPartPublic.of(a) for a in report.activities]
        named = [m.osv_id for m in member.memberships] + [p.osv_id for p in member.participations]
        named += [m.osv_id for m in meetings] + [a.osv_id for a in activities]
        return cls(
            member=member,
            merged_records=[MergedRecordData.of(record) for record in report.merged],
            osvs=[OSVNamed.of(described) for described in describe(dict.fromkeys(named)).values()],
            meetings=meetings,
            activities=activities,
            access_log=[
                LoggedReadPublic(**AccessPublic.of(a).model_dump(), recorded_on=on[0], also_recorded_on=on[1:])
                for a, on in report.access_log
            ],
            personal_data_changes=[
                PersonalDataChangeOnRecord(**PersonalDataChangePublic.of(c).model_dump(), recorded_on=on)
                for c, on in report.changes
            ],
            free_text=FREE_TEXT_NOT_SEARCHED,
            read_at=report.read_at,
            osvs_walked=report.osvs_walked,
        )

    def rows(self) -> Iterator[tuple[str, int, str, Any]]:
        """The report as one table, one row per value: ``(section, item, field, value)``, after :data:`HEADERS`.

        ``item`` counts from 0 within the section; ``value`` is the JSON's (``mode="json"``): a text (ids, dates and
        times in ISO 8601, a document number, a phone), an int (a birth year), a bool or None; a non-empty list or
        object (a membership's roles) as its JSON in one text, an empty one left out; last the report's own
        ``read_at`` and ``osvs_walked`` (section ``report``), written as the JSON writes them (the CSV and XLSX left out
        ``osvs_walked`` and wrote ``read_at`` with ``+00:00`` where every other time has ``Z``: tester 310 F6). Written
        by :meth:`as_csv` and :meth:`as_xlsx`."""
        record = self.member.model_copy(update={"memberships": [], "participations": []})  # in rows of their own
        items: list[tuple[str, int, BaseModel]] = [("member", 0, record)]
        sections = ("merged_records", "osvs", "meetings", "activities", "access_log", "personal_data_changes")
        items += [(section, i, item) for section in sections for i, item in enumerate(getattr(self, section))]
        items += [("memberships", i, m) for i, m in enumerate(self.member.memberships)]
        items += [("participations", i, p) for i, p in enumerate(self.member.participations)]
        for section, i, item in items:
            for name, value in item.model_dump(mode="json").items():
                if isinstance(value, list | dict):
                    if not value:
                        continue
                    value = json.dumps(value, ensure_ascii=False)
                yield section, i, name, value
        yield "free_text", 0, "not_searched", self.free_text
        report = self.model_dump(mode="json", include={"read_at", "osvs_walked"})
        yield "report", 0, "read_at", report["read_at"]  # as the JSON and every other time here write it (...Z)
        yield "report", 0, "osvs_walked", report["osvs_walked"]

    def as_csv(self, lang: Language = "es") -> str:
        """:meth:`rows` as CSV, under ``lang``'s :data:`HEADERS` (`sección,elemento,campo,valor`, or
        `section,item,field,value`), a null as an empty field: for a spreadsheet to hand over.
        Every text is written as text, never as a formula (:func:`shared.spreadsheets.csv_writer`: a name typed
        ``=HYPERLINK(…)`` by whoever registered her, or an OSV's, was a live formula in the file: tester 308 F1). A CSV
        has no cell types: a spreadsheet opening it reads a document number `000765431` as the number 765431, and the
        escaping shows a phone `+51…` as `'+51…` (tester 308 F2); :meth:`as_xlsx` keeps both as written."""
        out = io.StringIO()
        writer = csv_writer(out)
        writer.writerow(HEADERS[lang])
        writer.writerows([section, i, name, "" if value is None else value] for section, i, name, value in self.rows())
        return out.getvalue()

    def as_xlsx(self, lang: Language = "es") -> bytes:
        """:meth:`rows` as an XLSX workbook (one sheet, `subject-access`; ``lang``'s :data:`HEADERS` bold and frozen,
        widths set): for a
        spreadsheet to hand over, each value typed as the JSON has it. A text is a text cell, so a document number
        `000765431` and a phone `+51…` read as written, and one openpyxl would store as a formula (``=HYPERLINK(…)``)
        is stored as a string (:func:`shared.spreadsheets.append_row`); a number (the item, a birth year) a number
        cell, a bool a boolean cell, a null an empty cell."""
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "subject-access"
        for cell in append_row(sheet, HEADERS[lang]):
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column, width in zip("ABCD", XLSX_WIDTHS, strict=True):
            sheet.column_dimensions[column].width = width
        for row in self.rows():
            append_row(sheet, row)
        workbook.properties.title = "subject-access"
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
