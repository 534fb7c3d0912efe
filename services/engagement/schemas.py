"""Engagement's request and response bodies.

Responses show names, document types and numbers and phones to programme
staff's logged reads alone (``personal-data:read`` and a purpose), until a
person's data is erased; everyone else reads them masked or null. Nothing
here is published (see ``events.py`` for what is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from services.engagement.application import Engagement
from services.engagement.domain.accesslog import PURPOSES_TEXT, Access, Disclosure, Purpose, check_purpose
from services.engagement.domain.documents import NoDocumentToFindError, normalise_document_number
from services.engagement.domain.memberrules import (
    FIRST_BIRTH_YEAR,
    AgeBand,
    DepartureReason,
    ForeignersDocumentError,
    Role,
    Sex,
    check_birth_year,
    check_document_of_nationality,
    current_of,
    nationality_of,
    normalise_phone,
)
from services.engagement.domain.members import Member, Membership, Participation
from services.engagement.personalreads import PersonalDataChange
from shared import dryrun
from shared.actors import RecordedBy
from shared.documents import DocumentType
from shared.errors import RuleViolationError
from shared.letters import has_name_letter
from shared.problems import as_body_errors
from shared.schemas import (
    NOT_AFTER_DISSOLUTION,
    Command,
    IsoDate,
    Name,
    application_rule,
    domain_rule,
    read_or_none,
    serving,
)

ROLE_DESCRIPTION = "`president`, `board_member` or `member`."
BOARD_RULES = (
    " `president` and `board_member` are the board, for adults: 18 or over on the day the role starts by `birth_year` "
    "(with only the year known, 18 from 31 December of the year they turn 18; 422 `board_role_adult`; no birth year, no "
    "check); a minor takes part as a `member`. An OSV has one president at a time (409 `one_president`, naming the "
    "current president's member id): record their new role or departure first. Nor may a president's term begin "
    "within another president's, past or present (409 `one_president` on the date, naming that term's dates): a term "
    "ends the day the role changes or the member leaves, the next president's first day."
)


def _plausible_birth_year(engagement: Engagement, year: int) -> None:
    """The range of :func:`check_birth_year` (this year in Lima at most, by the serving application's clock); the domain
    checks it against ``joined_on`` too."""
    check_birth_year(year, date.max, engagement.today())


def _number_of_document(number: str | None, document_type: DocumentType) -> None:
    """The number as the document's type writes it (422 ``dni_8_digits``, ``no_number_without_document``…): the
    domain's :func:`normalise_document_number`; a missing one too, for a type that has a number."""
    normalise_document_number(document_type, number)


def _with_a_letter(name: str) -> str:
    """A person's name with a letter in it (422 ``name_has_letters``, :func:`~shared.letters.has_name_letter`): "-",
    ".", "🙂🙂", marks alone (tester 203 F4) or modifier letters alone, ``ʼʼ``, ``ª`` (tester 206 F1), name no one."""
    if not has_name_letter(name):
        raise PydanticCustomError("name_has_letters", "a person's name needs a letter")
    return name


PersonName = Annotated[Name, AfterValidator(_with_a_letter)]
"""A person's full name: a :data:`~shared.schemas.Name` (1-200 characters, one line, runs of spaces made one) with a letter."""


class MemberCreate(Command):
    osv_id: UUID = Field(description="The OSV the person joins.")
    full_name: PersonName = Field(
        description="The person's full name, as they give it (trimmed, runs of spaces made one space; case kept), with a letter "
        "(422 `name_has_letters`)."
    )
    document_type: DocumentType = Field(description="The identity document the person holds; `NINGUNO` if none.")
    document_number: Annotated[
        Annotated[str, StringConstraints(max_length=40)] | None, domain_rule(_number_of_document, "document_type", none_too=True)
    ] = Field(
        default=None,
        validate_default=True,
        description="The document's number; spaces and case are ignored, a cédula's dots and `V-`/`E-` prefix too, a `DNI`'s "
        "dots and hyphens, a card's own code typed before its digits (`CE 001234567`), and an asylum claim's hyphens in "
        "comparing it (`0123-2021-CEPR` is `0123 2021 CEPR`). A numeric "
        "spreadsheet cell loses leading zeros: a `CE`, `CPP` or `PTP` of 6 to 8 digits only is taken as padded with them "
        "to the card's 9 (`1234567` is `001234567`), one with more zeros than the card prints is its 9 too (`0000371933` is "
        "`000371933`), one with letters is kept as typed, and one of more than 9 digits after its zeros is 422 `ce_9_digits` "
        "(`cpp_9_digits`, `ptp_9_digits`); a `PASAPORTE`, "
        "`SOLICITANTE_REFUGIO` or `CEDULA_VE` of digits only is kept as typed and is the same document with or without "
        "its leading zeros (`000940407` is `940407`); a `DNI` of 6 or 7 digits is refused, saying so (`dni_8_digits`). "
        "One that does not look like its type's is 422 naming the type's rule (`dni_8_digits`, `ce_6_to_12_alphanumerics`, `cedula_ve_6_to_10_digits`…); "
        "zeros only (`000000`, a placeholder) is 422 `not_all_zeros`. "
        "The same document registers one person: 409 `person_already_registered` names them. Absent or empty with "
        "`NINGUNO` (422 `no_number_without_document` otherwise); required with any other type (422 `number_with_document`).",
    )
    nationality: Annotated[str, StringConstraints(max_length=10), domain_rule(nationality_of)] = Field(
        description="ISO 3166-1 alpha-2 country code, e.g. `VE` or `PE` (422 `iso_3166_alpha_2`). `PE` with a document Peru "
        "gives foreigners only (`CE`, `PTP`, `CPP`, `SOLICITANTE_REFUGIO`) is 422 `document_for_foreigners` on `document_type`."
    )
    sex: Sex = Field(description="`F`, `M` or `X`.")
    joined_on: IsoDate = Field(description="When the person joined the OSV (may precede this system)." + NOT_AFTER_DISSOLUTION)
    birth_year: Annotated[StrictInt, Field(json_schema_extra={"minimum": FIRST_BIRTH_YEAR, "maximum": 9999}), application_rule(_plausible_birth_year)] | None = Field(
        default=None,
        description=f"Year of birth, if the person gives it: from {FIRST_BIRTH_YEAR} to this year (422 `birth_year_range`), "
        "not after the year of `joined_on`.",
    )
    role: Role = Field(default=Role.MEMBER, description=f"The role they take in the OSV: {ROLE_DESCRIPTION}{BOARD_RULES}")
    phone: Annotated[str, StringConstraints(max_length=30), domain_rule(normalise_phone)] | None = Field(
        default=None, description="A phone number, if the person gives one: 6 to 15 digits, optionally after + "
        "(422 `phone_6_to_15_digits`; spaces, dots, hyphens and brackets are ignored)."
    )


_AN_ID = TypeAdapter(UUID)


def member_look_ups(path: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A registration's or a joining's (``POST /members/{id}/memberships``) mistake the schema does not see, for a body
    refused for other mistakes to name it in the same 422
    (:func:`~shared.problems.route_body_rules`), as :meth:`Engagement.registered_member
    <services.engagement.application.Engagement.registered_member>` names it for a body the schema took: an OSV this
    service has not heard of (422 ``osv_mapped_in_registry``, the 422 carrying ``Retry-After``). A Kobo submission naming
    an unknown OSV with a wrong sex code was told the code, then the OSV once that was put right (tester 199 F5)."""
    return as_body_errors([*_osv_not_heard_of(body), *_foreigners_document(body)])


def _osv_not_heard_of(body: Mapping[str, Any]) -> list[RuleViolationError]:
    engagement, osv_id = serving(), read_or_none(_AN_ID, body.get("osv_id"))
    if engagement is None or osv_id is None or engagement.osvs.get(osv_id) is not None:
        return []  # a malformed id is the schema's to say
    return [engagement.osvs.not_in_registry(osv_id)]


def _foreigners_document(body: Mapping[str, Any]) -> list[RuleViolationError]:
    """A registration's Peruvian with a foreigner's document (422 ``document_for_foreigners``), told with the body's other
    mistakes: it came in the next answer, once a document number was put right (tester 266 F2). A joining has neither."""
    nationality, document_type = body.get("nationality"), body.get("document_type")
    if not isinstance(nationality, str) or not isinstance(document_type, str):
        return []  # the schema's to say
    try:
        check_document_of_nationality(DocumentType(document_type), nationality.strip().upper())
    except ValueError:  # no document type: the schema's to say
        return []
    except ForeignersDocumentError as refused:
        return [refused]
    return []


def _findable(document_type: DocumentType) -> None:
    """A type a person is found by: not ``NINGUNO`` (422 ``findable_document``, the domain's :class:`NoDocumentToFindError`)."""
    if document_type is DocumentType.NINGUNO:
        raise NoDocumentToFindError


class MemberLookup(Command):
    """``POST /members/lookup``'s body: the document, which no URL may carry, and why it is looked up; every mistake in
    one 422, the purpose's with the document's."""

    document_type: Annotated[DocumentType, domain_rule(_findable)] = Field(
        description="The document's type; not `NINGUNO` (422 `findable_document`): no document finds a person without one."
    )
    document_number: Annotated[str, StringConstraints(max_length=40), domain_rule(_number_of_document, "document_type")] = Field(
        description="The document's number, as written: read as `POST /members` reads it (spaces, case, a cédula's dots "
        "and prefix, a card's own code ignored; a `CE`, `CPP` or `PTP` of 6 to 8 digits is its card's 9 with leading zeros; "
        "a `PASAPORTE`, `SOLICITANTE_REFUGIO` or `CEDULA_VE` of digits only is found with or without its leading zeros), "
        "and refused as it refuses it (422 naming the type's rule: `dni_8_digits`, `ce_9_digits`, `not_all_zeros`…; "
        "`number_with_document` when empty). No answer repeats it."
    )
    purpose: Annotated[Purpose | None, domain_rule(check_purpose, none_too=True)] = Field(
        default=None,
        validate_default=True,
        description=f"Why you look the person up, one of {PURPOSES_TEXT}; required (422 `purpose_required`): a lookup "
        "that finds someone is logged with it on their access log, for the data protection officer.",
    )


def _number_of_corrected_document(number: str | None, document_type: DocumentType | None) -> None:
    """:func:`_number_of_document` when the correction gives a type (a number without one is 422 ``document_type_with_number``)."""
    if document_type is not None:
        _number_of_document(number, document_type)


CORRECTED_FIELDS = ("full_name", "document_type", "document_number", "phone", "birth_year", "nationality", "sex")


class CorrectionCreate(Command):
    """A rectification of the person's personal data at their request (Ley 29733, art. 20): the fields given replace
    what is kept, checked and normalised as `POST /members` checks them; those not given stay."""

    full_name: PersonName | None = Field(
        default=None, description="The person's full name, corrected (runs of spaces made one), with a letter (422 `name_has_letters`)."
    )
    document_type: DocumentType | None = Field(
        default=None, description="The identity document the person holds now (a `CE` replaced by a `DNI`, say); `NINGUNO` if none."
    )
    document_number: Annotated[
        Annotated[str, StringConstraints(max_length=40)] | None, domain_rule(_number_of_corrected_document, "document_type", none_too=True)
    ] = Field(
        default=None,
        validate_default=True,
        description="With `document_type` (422 `document_type_with_number` without it): its number, normalised and checked "
        "as at registration (422 naming the type's rule, `dni_8_digits`…). The document is claimed for this person: 409 "
        "`person_already_registered` when another person holds it; the old one no longer finds them.",
    )
    phone: Annotated[str, StringConstraints(max_length=30), domain_rule(normalise_phone)] | None = Field(
        default=None, description="The phone, corrected: 6 to 15 digits, optionally after + (422 `phone_6_to_15_digits`); "
        "`null` removes it."
    )
    birth_year: Annotated[StrictInt, Field(json_schema_extra={"minimum": FIRST_BIRTH_YEAR, "maximum": 9999}), application_rule(_plausible_birth_year)] | None = Field(
        default=None,
        description=f"The year of birth, corrected: from {FIRST_BIRTH_YEAR} to this year (422 `birth_year_range`), not after "
        "the year the member first joined (422 `not_after_joined_on`); a person holding a board role is surely 18 on the day "
        "it started (422 `board_role_adult`). A year (or `null`) that puts a membership in another age band than the one "
        "it published also records, per such membership, a public `MemberAgeBandCorrected` (the previous and the new "
        "band, never the year).",
    )
    nationality: Annotated[str, StringConstraints(max_length=10), domain_rule(nationality_of)] | None = Field(
        default=None,
        description="The person's nationality, corrected (a Venezuelan recorded as `PE`): an ISO 3166-1 alpha-2 country "
        "code as at registration (422 `iso_3166_alpha_2`; `null`, 422 `nationality_not_null`; `PE` with the document kept or "
        "given a foreigner's card or asylum claim's, 422 `document_for_foreigners` on `document_type`, as at registration, "
        "judged only when the nationality or the document is corrected). Also records, per membership of the person, a public "
        "`MemberNationalityCorrected` (the previous and the new code): reporting counts the person under the new one "
        "in every phase, from the correction on.",
    )
    sex: Sex | None = Field(
        default=None,
        description="The person's sex, corrected (`F`, `M` or `X`; F and M swapped in a form; `null`, 422 `sex_not_null`). Also records, per "
        "membership, a public `MemberSexCorrected`: reporting counts the person under the new one in every phase, from "
        "the correction on.",
    )

    @field_validator("full_name", "document_type", "nationality", "sex", mode="after")
    @classmethod
    def _not_removed(cls, value: Any, info: ValidationInfo) -> Any:
        """422 ``full_name_not_null``, ``document_type_not_null``, ``nationality_not_null``, ``sex_not_null``, naming the
        field (a form marks it; tester 144 F4): those are corrected, never removed. Run for a value given only."""
        if value is None:
            hint = ": NINGUNO for no document" if info.field_name == "document_type" else ""
            raise PydanticCustomError(f"{info.field_name}_not_null", f"{info.field_name} is corrected, never removed{hint}")  # type: ignore[arg-type]
        return value

    @model_validator(mode="after")
    def _something_to_correct(self) -> CorrectionCreate:
        """422 ``at_least_one_field``: a correction names a field."""
        given = self.model_fields_set & set(CORRECTED_FIELDS)
        if not given:
            raise PydanticCustomError(
                "at_least_one_field",
                "give at least one of full_name, document_type with document_number, phone, birth_year, nationality, sex",
            )
        return self

    def field_mistakes(self) -> Iterable[tuple[str, PydanticCustomError]]:
        """422 ``document_type_with_number`` at ``document_type``, the field it lacks, not the body (tester 187 F9): a
        corrected number comes with its type."""
        if "document_number" in self.model_fields_set and self.document_type is None:
            yield "document_type", PydanticCustomError("document_type_with_number", "a corrected document_number comes with its document_type")

    def changes(self) -> dict[str, object]:
        """What :meth:`~services.engagement.application.Engagement.correct_personal_data` takes: the fields given only."""
        given = self.model_fields_set
        changes: dict[str, object] = {}
        if "full_name" in given:
            changes["full_name"] = self.full_name
        if self.document_type is not None:
            changes["document"] = (self.document_type, self.document_number)
        if "phone" in given:
            changes["phone"] = self.phone
        if "birth_year" in given:
            changes["birth_year"] = self.birth_year
        for name in ("nationality", "sex"):
            if getattr(self, name) is not None:
                changes[name] = getattr(self, name)
        return changes


class MembershipCreate(Command):
    osv_id: UUID = Field(description="The OSV the member joins: another one, or one they had left.")
    role: Role = Field(default=Role.MEMBER, description=ROLE_DESCRIPTION + BOARD_RULES)
    joined_on: IsoDate = Field(description="When the member joined it." + NOT_AFTER_DISSOLUTION)


class RoleChangeCreate(Command):
    role: Role = Field(description=f"The new role: {ROLE_DESCRIPTION}{BOARD_RULES}")
    changed_on: IsoDate = Field(description="From when the member holds it.")


class JoiningDateCorrectionCreate(Command):
    joined_on: IsoDate = Field(
        description="The day the member really joined the OSV, replacing the one recorded: as any recorded date, not "
        "after today in Lima with a day's margin (422 `not_in_future`); not after the membership's departure, its first role change or a project enrolment under it (422 "
        "`not_after_left_on`, `not_after_changed_on`, `not_after_enrolled_on`, naming both dates), within the person's "
        "other stay in the same OSV (422 `stays_apart`), in a year before their `birth_year` (422 `not_before_birth_year`), "
        "nor, for a board role held from joining, a day they may be under 18 (422 `board_role_adult`)."
        + NOT_AFTER_DISSOLUTION
    )


class DepartureCreate(Command):
    left_on: IsoDate = Field(description="When the member left the OSV.")
    reason: DepartureReason = Field(description="Why the member left.")


class ErasureCreate(Command):
    erased_on: IsoDate = Field(
        description="When the person asked to be forgotten, or the programme decided it: no earlier than their first joining "
        "(422 `not_before_joined_on`), and today in Lima at the latest, with no day's margin (422 `not_in_future`)."
    )


class MemberMergeCreate(Command):
    """Another record of the same person, to merge into this member (a person registered twice: a PTP renewed as a CPP)."""

    duplicate_id: UUID = Field(
        description="The other record of the same person: it is merged into this member, keeps its history under its id "
        "and takes no new record of the person after."
    )


class ParticipationCreate(Command):
    grant_id: UUID = Field(description="The grant whose project the member takes part in.")
    enrolled_on: IsoDate = Field(description="When the member began to take part.")


class ParticipationWithdrawalCreate(Command):
    withdrew_on: IsoDate = Field(description="When the member stopped taking part.")


KEPT_BEFORE = (
    " Absent from an answer first given before the field was added, which a retry with the same `Idempotency-Key` gets "
    "again as it was given: read it as null (what such an answer listed was the member's own)."
)
"""A ``recorded_on``'s word on a replayed answer kept before it existed (helper 194): replayed as given, never filled."""


class RoleHeldPublic(BaseModel):
    role: Role = Field(description=ROLE_DESCRIPTION)
    since: date = Field(description="From when the member held it.")


class MembershipPublic(BaseModel):
    membership_id: UUID = Field(description="This stay in this OSV.")
    osv_id: UUID = Field(description="The OSV.")
    role: Role = Field(description=f"The current role: {ROLE_DESCRIPTION}")
    roles: list[RoleHeldPublic] = Field(description="Every role held, oldest first.")
    joined_on: date = Field(description="When the member joined the OSV.")
    age_band: AgeBand = Field(description="Age band when joining.")
    status: str = Field(
        description="`active`, `left`, or `merged`: the same stay recorded twice, merged into another of the person's "
        "(`merged_into`), which goes on and ends for both; it never left."
    )
    left_on: date | None = Field(description="When the member left, if they did.")
    reason: DepartureReason | None = Field(description="Why the member left, if they did.")
    merged_into: UUID | None = Field(
        default=None,
        description="For a stay merged into another of the person's (one stay recorded twice, helper 311): that membership, "
        "listed in the survivor's read with the record it is recorded on; its joining is counted no more "
        "(`MembershipMerged`). Null otherwise.",
    )
    merged_on: date | None = Field(default=None, description="When the stay was merged into `merged_into`; null otherwise.")
    recorded_on: UUID | None = Field(
        default=None,
        description="For a membership of a record merged into this member: that record's id, where commands about the "
        "membership (its departure, role, joining date) go; null for the member's own." + KEPT_BEFORE,
    )

    @classmethod
    def of(cls, membership: Membership, recorded_on: UUID | None = None) -> MembershipPublic:
        return cls(
            recorded_on=recorded_on,
            membership_id=membership.membership_id,
            osv_id=membership.osv_id,
            role=membership.role,
            roles=[RoleHeldPublic(role=r.role, since=r.since) for r in membership.roles],
            joined_on=membership.joined_on,
            age_band=membership.age_band,
            status=membership.status,
            left_on=membership.left_on,
            reason=membership.reason,
            merged_into=membership.merged_into,
            merged_on=membership.merged_on,
        )


class ParticipationPublic(BaseModel):
    grant_id: UUID = Field(description="The grant whose project the member takes part in.")
    osv_id: UUID = Field(description="The OSV that received the grant.")
    enrolled_on: date = Field(description="When the member began to take part.")
    withdrew_on: date | None = Field(description="When the member stopped, if they did.")
    recorded_on: UUID | None = Field(
        default=None,
        description="For a participation of a record merged into this member: that record's id, where its withdrawal goes; "
        "null for the member's own." + KEPT_BEFORE,
    )

    @classmethod
    def of(cls, participation: Participation, recorded_on: UUID | None = None) -> ParticipationPublic:
        return cls(
            recorded_on=recorded_on,
            grant_id=participation.grant_id,
            osv_id=participation.osv_id,
            enrolled_on=participation.enrolled_on,
            withdrew_on=participation.withdrew_on,
        )


MASKED = "[masked]"
DOCUMENT_TYPE_SHOWN = (
    "The identity document the person holds, to a logged read of personal data only: it says a person's migration "
    "status (`NINGUNO`, `SOLICITANTE_REFUGIO`…). Null to anyone else (municipal focal points read counts in RUOS "
    "readiness instead), and to everyone once the person's data is erased."
)


def shown_document_type(member: Member, plain: bool) -> DocumentType | None:
    """The document type a reader sees: to a plain reader while the person's data is kept, else none."""
    return member.document_type if plain and member.personal_data != "erased" else None


class OSVMemberPublic(BaseModel):
    """One active member of an OSV, as staff see the OSV's list."""

    member_id: UUID = Field(description="The person.")
    membership_id: UUID = Field(description="Their membership of this OSV.")
    full_name: str = Field(description="`[masked]` unless shown to a logged read of personal data; `[erased]` once the person's data is erased.")
    document_type: DocumentType | None = Field(description=DOCUMENT_TYPE_SHOWN)
    role: Role = Field(description=ROLE_DESCRIPTION)
    joined_on: date = Field(description="When they joined this OSV.")

    @classmethod
    def of(cls, member: Member, membership: Membership, plain: bool = False) -> OSVMemberPublic:
        """The member in an OSV's list; their name only to a ``plain`` reader (a logged read), else masked."""
        return cls(
            member_id=member.id,
            membership_id=membership.membership_id,
            full_name=shown_name(member, plain),
            document_type=shown_document_type(member, plain),
            role=membership.role,
            joined_on=membership.joined_on,
        )


class MembershipStatus(BaseModel):
    status: str = Field(description="`active` or `left` (`merged` for a record whose only stays were merged into the person's others).")
    left_on: date | None = Field(default=None, description="When the member left, if they did.")
    reason: DepartureReason | None = Field(default=None, description="Why the member left, if they did.")


def shown_name(member: Member, plain: bool) -> str:
    """The name a reader sees: the person's to a plain reader, ``[erased]`` once forgotten, else ``[masked]``."""
    return member.full_name if plain or member.personal_data == "erased" else MASKED


class MemberPublic(BaseModel):
    """A member. Their name, document type and number, phone and birth year are shown only to a read that states its
    purpose and holds `personal-data:read` (each such read is logged); everyone else, and every command's answer, sees
    `full_name` `[masked]` and the others null. Once erased, nobody sees them."""

    id: UUID = Field(description="The person's member id.")
    osv_id: UUID = Field(
        description="The OSV of the current membership: of the active ones, the one joined last; with none active, the one "
        "recorded last (of the memberships shown: a focal point sees only those in OSVs of its district)."
    )
    full_name: str = Field(description="`[masked]` unless shown to a logged read of personal data; `[erased]` once the person's data is erased.")
    document_type: DocumentType | None = Field(description=DOCUMENT_TYPE_SHOWN)
    document_number: str | None = Field(
        description="Normalised: no spaces, upper case; a digits-only `CE`, `CPP` or `PTP` in 9 digits with its leading "
        "zeros (one registered before they were added shows as it was typed); any other as first registered. Null without "
        "one or once erased."
    )
    phone: str | None = Field(description="Digits, with a leading + if given. Null without one or once erased.")
    nationality: str = Field(description="ISO 3166-1 alpha-2 country code.")
    sex: Sex = Field(description="`F`, `M` or `X`.")
    birth_year: int | None = Field(description="Null if not given, or once erased.")
    age_band: AgeBand = Field(description="Age band when joining the OSV of the current membership.")
    joined_on: date = Field(description="When the current membership began.")
    membership: MembershipStatus = Field(description="The current membership's status: `left` only when every membership shown ended.")
    memberships: list[MembershipPublic] = Field(
        description="Every membership, oldest first, then those of the records merged into the member (`merged_from`); to a "
        "focal point, only those in OSVs of its district."
    )
    participations: list[ParticipationPublic] = Field(
        description="The funded projects the member takes or took part in, as enrolled, then those of the records merged "
        "into the member (`merged_from`); to a focal point, only those of OSVs of its district."
    )
    personal_data: str = Field(description="`kept`, or `erased` once the person was forgotten.")
    disclosed: bool = Field(description="Whether the personal data is shown (a logged read), or masked.")
    version: int | None = Field(
        description="How many events the member has recorded, with those of the records merged into it (`merged_from`), "
        "whose memberships and participations are shown here: the `ETag`, which moves with any change to them. Null to a "
        "focal point, whose read leaves out the memberships of other districts: their changes would move it."
    )
    merged_into: UUID | None = Field(
        default=None,
        description="The member this record was merged into (one person recorded twice): it takes no new record of the "
        "person (409 `member_not_merged`); read and record the person there.",
    )
    merged_on: date | None = Field(default=None, description="When it was merged.")
    merged_from: list[UUID] = Field(
        default_factory=list,
        description="Records of the same person merged into this member; their memberships and participations are listed "
        "here too, each with its `recorded_on`.",
    )

    @classmethod
    def of(
        cls, member: Member, plain: bool = False, seen: Callable[[UUID], bool] | None = None, merged: list[Member] | None = None
    ) -> MemberPublic:
        """The member; their personal data only when ``plain`` (a read logged with its purpose), else masked.

        ``seen``: whether the reader's scope reaches an OSV (a focal point: the OSVs of its district); the memberships
        and participations in the others are left out, and the current membership is one of those left (at least one:
        a member none of whose OSVs is in scope is 404 before). None: all of Lima. ``merged``: the records merged into
        the member, whose memberships and participations are the person's too, each shown with the record it is recorded
        on, and whose events count in ``version`` (the ``ETag``: :meth:`~services.engagement.merging.Merging.version_of`)."""
        records: list[tuple[Member, UUID | None]] = [(member, None), *((record, record.id) for record in merged or [])]
        memberships = [(m, on) for record, on in records for m in record.memberships.values() if seen is None or seen(m.osv_id)]
        participations = [(p, on) for record, on in records for p in record.participations.values() if seen is None or seen(p.osv_id)]
        latest = current_of([m for m, _ in memberships])
        return cls(
            id=member.id,
            osv_id=latest.osv_id,
            full_name=shown_name(member, plain),
            document_type=shown_document_type(member, plain),
            document_number=member.document_number if plain else None,
            phone=member.phone if plain else None,
            nationality=member.nationality,
            sex=member.sex,
            birth_year=member.birth_year if plain else None,
            age_band=latest.age_band,
            joined_on=latest.joined_on,
            membership=MembershipStatus(status=latest.status, left_on=latest.left_on, reason=latest.reason),
            memberships=[MembershipPublic.of(m, on) for m, on in memberships],
            participations=[ParticipationPublic.of(p, on) for p, on in participations],
            personal_data=member.personal_data,
            disclosed=plain and member.personal_data != "erased",
            version=sum(dryrun.version_shown(record) for record, _ in records) if seen is None else None,  # Merging.version_of
            merged_into=member.merged_into,
            merged_on=member.merged_on,
            merged_from=list(member.merged_from),
        )


class PersonalDataChangePublic(BaseModel):
    """One registration, correction or erasure of a member's personal data, with who made it (none of the data itself)."""

    type: str = Field(description="`Registered`, `PersonalDataCorrected` or `PersonalDataErased`.")
    version: int = Field(description="Its place in the member's history, from 1.")
    recorded_at: datetime = Field(description="When engagement stored it (UTC).")
    recorded_by: RecordedBy | None = Field(
        description="Who made the command: the authenticated caller (its token's `sub`, client and platform roles), or the system "
        "(`subject` null, `client_id` `system:<what>`: `system:erasures-again` for an erasure recorded again after a restore). "
        "Kept beside the event, never in it nor in any published event. Null for one recorded before engagement kept who made each command."
    )

    @classmethod
    def of(cls, change: PersonalDataChange) -> PersonalDataChangePublic:
        by = None if change.recorded_by is None else RecordedBy(**change.recorded_by)
        return cls(type=change.type, version=change.version, recorded_at=change.recorded_at, recorded_by=by)


class AccessPublic(BaseModel):
    """One logged read of a member's plain personal data."""

    read_at: datetime = Field(description="When it was read (UTC).")
    reader: str = Field(description="Who read it: the login (token subject) of the reader.")
    purpose: Purpose = Field(description=f"The purpose the reader stated: {PURPOSES_TEXT}.")
    disclosure: Disclosure = Field(
        description="What showed it: `member` (GET /members/{id}), `lookup` (POST /members/lookup, a lookup by document), `osv_members` (GET /osvs/{id}/members), "
        "`registration_refused` (POST /members refused 409 `person_already_registered`, a dry run too: its answer named this member as "
        "the document's holder; purpose `duplicate_check`), `correction_refused` (the same for another member's POST /members/{id}/correction), "
        "`meeting_attendee` and `activity_participant` (POST /osvs/{id}/meetings naming this member as an attendee, POST /activities as a "
        "participant, sent by a caller who may not read members, the Kobo webhook's account: taken or refused, its answer told something of "
        "them; purpose `follow_up`), `subject_access` (GET /members/{id}/subject-access, the DPO's report for the "
        "person's access request; purpose `data_subject_request`). A lookup is logged when answered masked too (the "
        "DPO's): it told its caller who holds the document and their OSVs."
    )
    osv_id: UUID | None = Field(
        default=None,
        description="With `registration_refused`: the OSV the refused registration named, so that dry runs of one document "
        "in one OSV after another show as such; with `osv_members`: the OSV whose member list was read; with "
        "`meeting_attendee`: the OSV whose meeting named this member; null otherwise, and for an entry logged before it was kept.",
    )

    @classmethod
    def of(cls, access: Access) -> AccessPublic:
        return cls(read_at=access.read_at, reader=access.reader, purpose=access.purpose, disclosure=access.disclosure, osv_id=access.osv_id)
