"""Engagement's HTTP API: routes only, each translating a request into a call on :class:`Engagement`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Response, status

from services.engagement.accessschemas import Language, SubjectAccessPublic
from services.engagement.application import Engagement
from services.engagement.bootstrap import bootstrap
from services.engagement.domain.accesslog import (
    PURPOSES_TEXT,
    Purpose,
    PurposeWithMaskedError,
    Reader,
    SubjectAccessPurposeError,
)
from services.engagement.domain.documents import DocumentInURLError
from services.engagement.domain.members import Member
from services.engagement.fieldapi import activities_router, follow_up_router, needs_router
from services.engagement.forgetting import ERASURES_UNCHECKED_RETRY_AFTER_SECONDS
from services.engagement.historyapi import (
    activities_history_router,
    follow_up_history_router,
    members_history_router,
    needs_history_router,
)
from services.engagement.routing import (
    GRANT_NOT_HEARD_OF,
    OSV_NOT_HEARD_OF,
    OSV_NOT_HEARD_OF_READ,
    RECORDS,
    WRITES,
    EngagementDep,
    Finder,
    MembersReader,
    Paged,
)
from services.engagement.schemas import (
    AccessPublic,
    CorrectionCreate,
    DepartureCreate,
    ErasureCreate,
    JoiningDateCorrectionCreate,
    MemberCreate,
    MemberLookup,
    MemberMergeCreate,
    MemberPublic,
    MembershipCreate,
    MembershipPublic,
    OSVMemberPublic,
    ParticipationCreate,
    ParticipationPublic,
    ParticipationWithdrawalCreate,
    PersonalDataChangePublic,
    RoleChangeCreate,
    member_look_ups,
)
from services.engagement.settings import EngagementSettings
from shared.auth import Caller, Permission, requires
from shared.clock import Clock, today_in_lima
from shared.inplace import run_command
from shared.preconditions import PRECONDITION_FAILED, IfMatch, answered, tagged
from shared.problems import route_body_rules
from shared.web import service_api

PERSONAL_DATA_HELD: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "`erasures_not_checked`: after a start, a read showing personal data (and any lookup by document) waits "
        "until the service has checked the erasures in its stream against its store (a store put back from an older backup "
        "would show people erased since in clear): a few milliseconds with NATS up, as long as NATS is away otherwise. "
        f"Carries `Retry-After` ({ERASURES_UNCHECKED_RETRY_AFTER_SECONDS} s). Also 503 `store_behind_stream` (a stated "
        "read is logged, and the store takes no write), or the database cannot be reached.",
        "headers": {"Retry-After": {"description": "Seconds to wait before asking again.", "schema": {"type": "integer", "minimum": 1}}},
    }
}
"""A read of personal data's 503s (:meth:`~services.engagement.forgetting.Forgetting.hold_personal_data`)."""
PurposeQuery = Annotated[
    Purpose | None,
    Query(
        description=f"Why you read the personal data, one of {PURPOSES_TEXT}. Required when the answer shows it "
        "(`personal-data:read`): each such read is logged with it, for the data protection officer."
    ),
]


MaskedQuery = Annotated[
    bool,
    Query(description="`true`: members masked, as to a reader without `personal-data:read`, even to one with it; no "
          "purpose is asked and nothing is logged (read only what the task needs: a role change or a joining date). With a "
          "`purpose` too, 422 `purpose_or_masked`."),
]


def reader(caller: Caller, purpose: Purpose | None, permission: Permission = Permission.MEMBERS_READ, masked: bool = False) -> Reader:
    """Who reads members: plain with ``personal-data:read`` (logged with ``purpose``) unless ``masked`` (``?masked=true``),
    else masked, within ``permission``'s scope. 422 `purpose_or_masked` for a purpose with ``masked``: which was meant is unknown."""
    if masked and purpose is not None:
        raise PurposeWithMaskedError
    return Reader(caller.subject, caller.scope(permission), caller.may_read_personal_data and not masked, purpose)


def record_reader(caller: Caller, purpose: Purpose | None, masked: bool = False) -> Reader:
    """:func:`reader` of a member's record or an OSV's members: 422 `subject_access_route` for `data_subject_request`
    from a caller who reads them masked (the DPO), whose read would show and log nothing, where it was taken and
    ignored (tester 304 F2): an access request is answered with `GET /members/{member_id}/subject-access`. A lookup by
    document takes it: finding whom a request is about is its first step."""
    if purpose is Purpose.DATA_SUBJECT_REQUEST and not caller.may_read_personal_data:
        raise SubjectAccessPurposeError
    return reader(caller, purpose, masked=masked)


def seen_by(reading: Reader, engagement: Engagement) -> Callable[[UUID], bool] | None:
    """Whether ``reading``'s scope reaches an OSV (for :meth:`MemberPublic.of`); None for all of Lima."""
    if reading.scope.all_of_lima:
        return None
    return lambda osv_id: engagement.osv_in_scope(osv_id, reading.scope)


members = APIRouter(prefix="/members", tags=["members"])
osvs = APIRouter(prefix="/osvs", tags=["members"])


# Members ----------------------------------------------------------------------------------


def member_answered(member: Member, engagement: Engagement) -> MemberPublic:
    """A command's answer about a member, masked, as ``GET /members/{id}`` shows them: with the memberships and
    participations of the records merged into them, the current membership chosen among all (tester 187 F8)."""
    return MemberPublic.of(member, merged=engagement.merged_records(member))


@members.post("", status_code=status.HTTP_201_CREATED, response_model=MemberPublic, dependencies=RECORDS, responses=OSV_NOT_HEARD_OF)
@route_body_rules(member_look_ups)
async def register_member(body: MemberCreate, engagement: EngagementDep, response: Response) -> MemberPublic:
    """Register a person and their first membership of an OSV (records `MemberJoined`).

    A document already registered is 409 `person_already_registered` naming its holder's member id (never the number):
    a lookup by document, so it is logged on the holder's access log as `POST /members/lookup` is (purpose
    `duplicate_check`, disclosure `registration_refused`), before the answer goes out, for a dry run too. It says whether
    the holder is an active member of this OSV already (nothing to add) or a membership is to add, in its words and in
    the problem's `member_here` (true or false); to a caller who may not read members (the Kobo webhook's account) one
    message for both, to add a membership unless they are, and no `member_here`. An OSV engagement
    has not heard of is 422 `osv_mapped_in_registry` with `Retry-After`, in the same 422 as the body's other mistakes
    (a `joined_on` in the future among them)."""
    # On the event loop when the store takes it at once, else in a worker thread (shared.inplace): a plain `def` route takes
    # a thread hop for the command and a second one to check the answer.
    return answered(response, await run_command(engagement, registered, body, engagement))


def registered(body: MemberCreate, engagement: Engagement) -> MemberPublic:
    """``POST /members``'s command and answer (:func:`~shared.inplace.run_command`: on the event loop, or in a worker thread)."""
    member = engagement.registered_member(  # the member as saved: no read back (and no unsealing again)
        osv_id=body.osv_id,
        full_name=body.full_name,
        document_type=body.document_type,
        document_number=body.document_number,
        nationality=body.nationality,
        sex=body.sex,
        joined_on=body.joined_on,
        birth_year=body.birth_year,
        role=body.role,
        phone=body.phone,
    )
    return MemberPublic.of(member)


@members.post("/lookup", response_model=MemberPublic, responses=PERSONAL_DATA_HELD)
def look_up_member(body: MemberLookup, engagement: EngagementDep, caller: Finder) -> MemberPublic:
    """Find the registered person who holds a document (404 `registered_document` if nobody does); every lookup that finds someone is logged.

    A read sent as a POST so that the document's number stays out of every URL (proxies' access logs, browsers'
    histories). It records nothing but the read on the person's access log (purpose and disclosure `lookup`, before the
    answer goes out; nothing published): with an `Idempotency-Key` nothing is kept, so a retry looks up and is logged
    again, and a dry run is the lookup itself, logged as any read is, answered with `Dry-Run: true`. The body's
    mistakes, the purpose's included, come in one 422; a person not found and a document whose holder was erased are
    the same 404."""
    looking = reader(caller, body.purpose, Permission.MEMBERS_FIND)
    member = engagement.find_member(document_type=body.document_type, document_number=body.document_number, reader=looking)
    return MemberPublic.of(member, plain=looking.plain, seen=seen_by(looking, engagement), merged=engagement.merged_records(member))


IN_URL = "Refused: a lookup's document, and its purpose, go in `POST /members/lookup`'s body."


@members.get("/lookup", response_model=None, include_in_schema=False)  # a GET of the lookup: not a member's id (tester 199 F7)
@members.get("", response_model=None, deprecated=True)
def lookup_in_url_refused(
    caller: Finder,
    document_type: Annotated[str | None, Query(max_length=40, description=IN_URL)] = None,
    document_number: Annotated[str | None, Query(max_length=40, description=IN_URL)] = None,
    purpose: Annotated[str | None, Query(max_length=40, description=IN_URL)] = None,
) -> None:
    """Refused, whatever it asks: a lookup by document is `POST /members/lookup` (422 `lookup_by_post` naming `document_number`).

    So is `GET /members/lookup`, which was read as a member's id (422 `uuid_parsing`, or `known_parameter` for the document).

    A document number in a URL is kept where personal data must not be (a reverse proxy's access log, the browser's
    history) before the service can answer; a lookup left working here would go on being sent that way. Nothing is
    looked up or logged, and the answer never repeats the number. The parameters are taken (not refused as unknown) so
    that every such request gets this one answer, once the caller is let in (401, 403 first)."""
    raise DocumentInURLError


@members.get("/{member_id}", response_model=MemberPublic, responses=PERSONAL_DATA_HELD)
def get_member(
    member_id: UUID,
    engagement: EngagementDep,
    caller: MembersReader,
    response: Response,
    purpose: PurposeQuery = None,
    masked: MaskedQuery = False,
) -> MemberPublic:
    """Show one member and their memberships: personal data and document type to staff stating a purpose (logged), masked to others.

    Its `ETag` (the member's `version`, quoted) is what a correction sends in `If-Match` to be refused (412
    `current_version`) if someone changed the member meanwhile. Staff who need no personal data for the change (a role,
    a joining date) read it with `masked=true`: no purpose, no entry in the access log."""
    reading = record_reader(caller, purpose, masked=masked)
    member = engagement.read_member(member_id=member_id, reader=reading)
    public = MemberPublic.of(member, plain=reading.plain, seen=seen_by(reading, engagement), merged=engagement.merged_records(member))
    if public.version is not None:  # a focal point's read has no ETag: it would move with another district's changes (tester 163 F4)
        tagged(response, public.version)  # the merged records' events counted: their changes show here too (helper 194)
    return public


@members.get("/{member_id}/access-log", response_model=list[AccessPublic], dependencies=[Depends(requires(Permission.ACCESS_LOG_READ))])
def get_access_log(member_id: UUID, engagement: EngagementDep, page: Paged) -> list[AccessPublic]:
    """List who read the member's personal data, when and for what purpose, oldest first, for the data protection officer; paged (`cursor`, `limit`, `Link: rel="next"`)."""
    log = list(enumerate(engagement.access_log(member_id=member_id)))  # append-only: the position is the entry's id
    return [AccessPublic.of(access) for _, access in page.of(log, key=lambda entry: entry[0])]


@members.get(
    "/{member_id}/personal-data-changes", response_model=list[PersonalDataChangePublic], dependencies=[Depends(requires(Permission.ACCESS_LOG_READ))]
)
def get_personal_data_changes(member_id: UUID, engagement: EngagementDep) -> list[PersonalDataChangePublic]:
    """List who registered, corrected or erased the member's personal data, and when, oldest first, for the data protection officer (none of the data itself)."""
    return [PersonalDataChangePublic.of(change) for change in engagement.personal_data_changes(member_id=member_id)]


SubjectAccessReader = Annotated[Caller, Depends(requires(Permission.SUBJECT_ACCESS))]
SUBJECT_ACCESS_ANSWERS: dict[int | str, dict[str, Any]] = {
    **PERSONAL_DATA_HELD,
    404: {"description": "`known_member`: no member has this id."},
}


FileLanguage = Annotated[
    Language, Query(description="The file's column headers: `es` (default: the person's), or `en`. The sections' and "
                    "fields' names are the JSON's.")
]


def subject_access(member_id: UUID, engagement: Engagement, caller: Caller) -> SubjectAccessPublic:
    """The report of ``GET /members/{member_id}/subject-access`` and its CSV and XLSX (logged once per read)."""
    report = engagement.subject_access(member_id=member_id, reader=caller.subject)
    return SubjectAccessPublic.of(report, engagement.osvs.describe)


@members.get("/{member_id}/subject-access", response_model=SubjectAccessPublic, responses=SUBJECT_ACCESS_ANSWERS)
def get_subject_access(member_id: UUID, engagement: EngagementDep, caller: SubjectAccessReader) -> SubjectAccessPublic:
    """Answer the person's access request (ARCO *acceso*, Ley 29733 art. 19): everything engagement holds on her, in clear, for the data protection officer.

    Her personal data (name, document, phone, birth year, nationality, sex), every membership (OSV, role, joined, left)
    and funded project, the meetings that name her as an attendee and the activities that list her as a participant
    (each OSV, day, mode or kind), the records merged into her with their data, her access log and who registered,
    corrected or erased her data. Logged on her access log before the answer goes out (purpose `data_subject_request`,
    disclosure `subject_access`): the report's log ends with this read. A person whose data is erased: what is left
    (ids, memberships, meetings, activities, the logs), her data `[erased]`, and no entry logged (nothing of hers is
    shown). A record merged into another says so (`member.merged_into`): read that member's report. Found by reading
    every OSV's follow-up and activities (`osvs_walked`): slower than a member's read, for a rare request. Staff's free
    text (meeting notes, actions, assistance notes, descriptions) is not searched (`free_text`): ask staff to look
    through it. Unknown id: 404 `known_member`. The same as a spreadsheet:
    `GET /members/{member_id}/subject-access.xlsx` (document numbers and phones kept as written) or `.csv` (a
    spreadsheet may read `000765431` as 765431)."""
    return subject_access(member_id, engagement, caller)


@members.get(
    "/{member_id}/subject-access.csv",
    response_class=Response,
    responses={**SUBJECT_ACCESS_ANSWERS, 200: {"content": {"text/csv": {}}, "description": "One row per value."}},
)
def get_subject_access_csv(
    member_id: UUID, engagement: EngagementDep, caller: SubjectAccessReader, lang: FileLanguage = "es"
) -> Response:
    """`GET /members/{member_id}/subject-access` as a CSV file to hand to the person, logged as the JSON is.

    One row per value (`sección,elemento,campo,valor`, or with `lang=en` `section,item,field,value`; the sections' and
    fields' names are the JSON's; a list, such as a membership's roles, as JSON in one cell), UTF-8
    with BOM for Excel, named `subject-access-<member_id>.csv`. A CSV has no cell types: a spreadsheet opening it may
    read a document number `000765431` as 765431, and shows a phone `+51…` as `'+51…` (a text starting with `= + - @`
    is escaped against formulas); `GET /members/{member_id}/subject-access.xlsx` keeps both as written."""
    body = "\ufeff" + subject_access(member_id, engagement, caller).as_csv(lang)
    name = f"subject-access-{member_id}.csv"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=disposition)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@members.get(
    "/{member_id}/subject-access.xlsx",
    response_class=Response,
    responses={**SUBJECT_ACCESS_ANSWERS, 200: {"content": {XLSX: {}}, "description": "One row per value, typed."}},
)
def get_subject_access_xlsx(
    member_id: UUID, engagement: EngagementDep, caller: SubjectAccessReader, lang: FileLanguage = "es"
) -> Response:
    """`GET /members/{member_id}/subject-access` as an XLSX workbook to hand to the person, logged as the JSON is.

    The CSV's rows under its header (in Spanish unless `lang=en`), bold and frozen, each value typed as the JSON has it: a text as
    a text cell, so her document number keeps its leading zeros and her phone its `+` (a spreadsheet opening the CSV
    reads `000765431` as 765431 and shows `'+51…`), and never as a formula; a number as a number. Named
    `subject-access-<member_id>.xlsx`."""
    body = subject_access(member_id, engagement, caller).as_xlsx(lang)
    disposition = {"Content-Disposition": f'attachment; filename="subject-access-{member_id}.xlsx"'}
    return Response(body, media_type=XLSX, headers=disposition)


@members.post("/{member_id}/departure", response_model=MemberPublic, dependencies=WRITES)
def record_departure(member_id: UUID, body: DepartureCreate, engagement: EngagementDep, response: Response) -> MemberPublic:
    """Record that the member left the only OSV they are active in (records `MemberLeft`).

    The memberships of records merged into the member count: active in several OSVs, with them, is 409
    `one_active_membership`, listing each (`active_memberships`); the only active one on a merged record is left there.
    Not dated before a meeting naming the person, any record of theirs, on a day they were its member (422
    `not_before_attended_on`), nor, for a stay another was merged into (one stay recorded twice), before that stay's
    joining (422 `not_before_joined_on`)."""
    member = engagement.record_departure(member_id=member_id, left_on=body.left_on, reason=body.reason)
    return answered(response, member_answered(member, engagement))


@members.post(
    "/{member_id}/memberships", status_code=status.HTTP_201_CREATED, response_model=MembershipPublic, dependencies=WRITES, responses=OSV_NOT_HEARD_OF
)
@route_body_rules(member_look_ups)
def join_osv(member_id: UUID, body: MembershipCreate, engagement: EngagementDep, response: Response) -> MembershipPublic:
    """Record that a registered person joined another OSV, or rejoined one (records `MemberJoined`).

    A rejoining dated before the day the person left that OSV is 422 `stays_apart` on `joined_on`, naming the earlier
    membership: a person's stays in one OSV never overlap (the day they left, or later, is taken). The answer carries
    the member's new `ETag`. An OSV engagement has not heard of is 422 `osv_mapped_in_registry` with `Retry-After`, in
    the same 422 as the body's other mistakes, a `joined_on` in the future among them. A member not found is 404 `known_member` first, whatever the OSV named
    (a dissolved or merged one's 409 is told only for a member found)."""
    member = engagement.join_osv(member_id=member_id, osv_id=body.osv_id, role=body.role, joined_on=body.joined_on)
    tagged(response, engagement.version_of(member))
    return MembershipPublic.of(member.latest_membership)


@members.post("/{member_id}/memberships/{membership_id}/role", response_model=MembershipPublic, dependencies=WRITES, responses=PRECONDITION_FAILED)
def change_role(
    member_id: UUID, membership_id: UUID, body: RoleChangeCreate, engagement: EngagementDep, expected: IfMatch, response: Response
) -> MembershipPublic:
    """Record that the member took another role in that OSV (records `MemberRoleChanged`).

    With `If-Match`, a member changed since that `ETag` (another role given meanwhile) is 412 `current_version`; the
    answer carries the member's new `ETag`."""
    member = engagement.change_role(
        member_id=member_id, membership_id=membership_id, role=body.role, changed_on=body.changed_on, expected=expected
    )
    tagged(response, engagement.version_of(member))
    return MembershipPublic.of(member.membership(membership_id))


@members.post("/{member_id}/memberships/{membership_id}/departure", response_model=MembershipPublic, dependencies=WRITES)
def leave_membership(
    member_id: UUID, membership_id: UUID, body: DepartureCreate, engagement: EngagementDep, response: Response
) -> MembershipPublic:
    """Record that the member left that OSV (records `MemberLeft`).

    Not dated before a meeting naming the person, any record of theirs, on a day they were its member (422
    `not_before_attended_on`), nor, for a stay another was merged into (one stay recorded twice), before that stay's
    joining (422 `not_before_joined_on`).

    The answer carries the member's new `ETag`."""
    member = engagement.record_departure(
        member_id=member_id, left_on=body.left_on, reason=body.reason, membership_id=membership_id
    )
    tagged(response, engagement.version_of(member))
    return MembershipPublic.of(member.membership(membership_id))


@members.post(
    "/{member_id}/memberships/{membership_id}/joining-date-correction",
    response_model=MembershipPublic,
    dependencies=WRITES,
    responses=PRECONDITION_FAILED,
)
def correct_joining_date(
    member_id: UUID, membership_id: UUID, body: JoiningDateCorrectionCreate, engagement: EngagementDep, expected: IfMatch, response: Response
) -> MembershipPublic:
    """Correct the day the member joined that OSV, recorded wrong (records `MemberJoiningDateCorrected`, and `MemberAgeBandCorrected` when the age on joining falls in another band; nothing when the day is the same).

    Reporting counts the joining in the phase of the corrected day, the past phases included. With `If-Match`, a
    member changed since that `ETag` is 412 `current_version`; the answer carries the member's new `ETag`."""
    member = engagement.correct_joining_date(member_id=member_id, membership_id=membership_id, joined_on=body.joined_on, expected=expected)
    tagged(response, engagement.version_of(member))
    return MembershipPublic.of(member.membership(membership_id))


@members.post(
    "/{member_id}/correction",
    response_model=MemberPublic,
    dependencies=[Depends(requires(Permission.PERSONAL_DATA_RECTIFY))],
    responses=PRECONDITION_FAILED,
)
def correct_personal_data(member_id: UUID, body: CorrectionCreate, engagement: EngagementDep, expected: IfMatch, response: Response) -> MemberPublic:
    """Correct the person's name, document, phone, birth year, nationality or sex at their request (records `PersonalDataCorrected`, private: sealed, never published; per membership, a public `MemberAgeBandCorrected`, `MemberNationalityCorrected` or `MemberSexCorrected` for a band, nationality or sex that changed; a new document type recounts the OSVs' `OSVDocumentsCounted`).

    ARCO rectification (Ley 29733, art. 20). Answered masked: read the result with `GET /members/{id}?purpose=correction`.
    A document another person holds is 409 `person_already_registered` naming them, logged on their access log (purpose
    `duplicate_check`, disclosure `correction_refused`), for a dry run too.
    With `If-Match`, a member changed since that `ETag` is 412 `current_version`; the answer carries the new `ETag`."""
    member = engagement.correct_personal_data(member_id, **body.changes(), expected=expected)  # type: ignore[arg-type]
    return answered(response, member_answered(member, engagement))


@members.post(
    "/{member_id}/merges",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberPublic,
    dependencies=[Depends(requires(Permission.PERSONAL_DATA_RECTIFY))],
    responses=PRECONDITION_FAILED,
)
def merge_members(member_id: UUID, body: MemberMergeCreate, engagement: EngagementDep, expected: IfMatch, response: Response) -> MemberPublic:
    """Merge another record of the same person into this member, keeping both histories (records `MemberMerged`, public, one per OSV either was a member of; `MembershipMerged`, public, per stay recorded twice; `DuplicateMergedIn`, private).

    The duplicate (`duplicate_id`) shows `merged_into`, and takes no new membership, enrolment, correction or erasure
    after, nor a place among an activity's participants or a meeting's attendees (409 `member_not_merged`, naming this
    member); this member enrols in no project the duplicate took part in (409 `enrol_once`). Its memberships and
    participations are listed with this member's (each with its `recorded_on`, where its departure, role, joining date
    or withdrawal is still recorded), an OSV's members list this member in its place, and its document leads here (a
    lookup or registration by it finds this member). Its personal data stays sealed and is forgotten with this member's erasure. Reporting counts the person
    once from the merge on. Refused: the same record (422 `another_member`); an unknown duplicate (404 `known_member`,
    field `duplicate_id`); either merged already (409 `member_not_merged`) or the duplicate with records merged into it
    (409 `no_merged_records`); either erased (409 `not_erased`); a different nationality or sex (409
    `same_nationality`, `same_sex`: correct the wrong record first); a project both take part in, or the duplicate and a record merged into this member before (409 `enrol_once`). With
    `If-Match`, this member changed since that `ETag` is 412 `current_version`.

    One stay recorded twice (a duplicate's stay in an OSV at the same time as one of this person's there: registered
    again under a corrected document) is merged into that stay when it is active and holds the plain member role: shown
    `merged` (`merged_into`), it is no longer active, never leaves, frees its seat in the OSV's members, and its joining
    is counted no more (`MembershipMerged`); the stay goes on, and ends once, as this person's. Its departure, role or
    joining date is then 409 `stay_not_merged` (record them on the stay it went into). Refused, 409 `stays_apart`: the
    duplicate's stay has a departure recorded (counted among those who left), overlaps two of this person's stays, or
    two of the duplicate's overlap one, or is active and was named at a meeting after the stay it would go into ended;
    409 `no_board_role`: it holds a board role (record its role change first). Stays in two OSV records registry merged
    are in one OSV. From then on the stay's departure is not dated before the merged stay's joining (422
    `not_before_joined_on`), and meetings naming the duplicate bound its departure and joining day. Answered masked, as
    `GET /members/{member_id}` shows this member, with its new `ETag`."""
    member = engagement.merge_members(survivor_id=member_id, duplicate_id=body.duplicate_id, expected=expected)
    return answered(response, member_answered(member, engagement))


@members.post("/{member_id}/erasure", response_model=MemberPublic, dependencies=[Depends(requires(Permission.PERSONAL_DATA_ERASE))])
def erase_personal_data(member_id: UUID, body: ErasureCreate, engagement: EngagementDep, response: Response) -> MemberPublic:
    """Forget the person's name, document, phone and birth year for good (records `ErasureBegun`, private, then `PersonalDataErased`).

    The records merged into the member are erased with it (first); a record merged into another is 409 `member_not_merged`.
    Answered masked, as `GET /members/{member_id}` shows the member (the records' memberships included)."""
    member = engagement.erase_personal_data(member_id=member_id, erased_on=body.erased_on)
    return answered(response, member_answered(member, engagement))


@members.post(
    "/{member_id}/participations",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipationPublic,
    dependencies=WRITES,
    responses=GRANT_NOT_HEARD_OF,
)
def enrol_participant(member_id: UUID, body: ParticipationCreate, engagement: EngagementDep, response: Response) -> ParticipationPublic:
    """Record that the member takes part in a funded project (records `ParticipantEnrolled`); the answer carries the member's new `ETag`.

    Dated on or before the grant's closing, as funding's `GrantClosed` told engagement: after it, 409 `grant_open`
    (a closed project enrols no one). A grant funding withdrew as entered in error (`GrantWithdrawn`) enrols no one
    whatever the date: 409 `grant_not_withdrawn`, field `grant_id` (enrolments made before stay as recorded; reporting
    counts none in it). A grant funding lost with its stream's tail in a restore an operator accepted (funding answers 404
    for it) enrols no one either: 409 `grant_lost_in_funding_restore`, field `grant_id`, without `Retry-After`, the loss
    in `accepted_loss`: record the grant again in funding and enrol with its new id. The same for an activity naming the
    grant (`held_on`). A project enrols a person once: 409 `enrol_once`, also when a record merged into the member was
    enrolled in it (naming that record).
    """
    member = engagement.enrol_participant(member_id=member_id, grant_id=body.grant_id, enrolled_on=body.enrolled_on)
    tagged(response, engagement.version_of(member))  # the member's new ETag, as for a membership's changes
    return ParticipationPublic.of(member.participations[body.grant_id])


@members.post("/{member_id}/participations/{grant_id}/withdrawal", response_model=ParticipationPublic, dependencies=WRITES)
def withdraw_participant(
    member_id: UUID, grant_id: UUID, body: ParticipationWithdrawalCreate, engagement: EngagementDep, response: Response
) -> ParticipationPublic:
    """Record that the member stopped taking part in a funded project (records `ParticipantWithdrew`); the answer carries the member's new `ETag`.

    Through a survivor, a project the person took part in under a record merged into it is withdrawn where it is recorded
    (the answer's `recorded_on` names that record), as `GET /members/{member_id}` lists it."""
    member, holder = engagement.withdraw_participant(member_id=member_id, grant_id=grant_id, withdrew_on=body.withdrew_on)
    tagged(response, engagement.version_of(member))
    return ParticipationPublic.of(holder.participations[grant_id], recorded_on=None if holder is member else holder.id)


@osvs.get("/{osv_id}/members", response_model=list[OSVMemberPublic], responses={**OSV_NOT_HEARD_OF_READ, **PERSONAL_DATA_HELD})
def list_active_members(
    osv_id: UUID, engagement: EngagementDep, caller: MembersReader, page: Paged, purpose: PurposeQuery = None, masked: MaskedQuery = False
) -> list[OSVMemberPublic]:
    """List an OSV's active members with their roles: names and document types to staff stating a purpose (each listed member's read logged), masked to others; paged (`cursor`, `limit`, `Link: rel="next"`).

    No search by name: members' names are personal data. Staff who need none of it (the board's roles, whom to give a
    role) list them with `masked=true`: no purpose, nothing logged."""
    reading = record_reader(caller, purpose, masked=masked)
    listed = engagement.active_members_of(osv_id=osv_id, reader=reading, select=lambda found: page.of(found, key=lambda pair: pair[1].membership_id))
    return [OSVMemberPublic.of(member, membership, plain=reading.plain) for member, membership in listed]


# The app ---------------------------------------------------------------------------------


def create_app(settings: EngagementSettings | None = None, today: Clock = today_in_lima) -> FastAPI:
    """Build the engagement service (run with ``uvicorn --factory``); ``today`` is the clock (Lima's date by default)."""
    return service_api(
        bootstrap(settings, today=today),
        title="osv-platform engagement",
        description=(
            "Members of the OSVs, migrants and hosts: who joined, their roles, who left, who takes part in funded "
            "projects. Personal data is sealed with each person's own key, and forgotten by deleting it."
        ),
        routers=(
            members, members_history_router, osvs, follow_up_router, follow_up_history_router, activities_router,
            activities_history_router, needs_router, needs_history_router,
        ),
    )
