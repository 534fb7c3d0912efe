"""Engagement's domain: people, their memberships of OSVs, and the projects they take part in.

Pure: the aggregate, the events it records, the rules a person's data must
follow and the named errors those rules raise.

- A :class:`Member` is a person. Their memberships (one per stay in an OSV,
  with the roles they held), their participations in funded projects and the
  erasure of their personal data are events of that one aggregate.
- A member's name, document number, phone and birth year are personal data of
  vulnerable people. Only the ``Registered`` event (and a ``PersonalDataCorrected``
  that rectifies them) holds them, so that the
  store can seal them with the person's own key and forget them by deleting
  it; every later event carries what it needs in public terms (nationality,
  sex, the age band worked out when joining) and never depends on them. No
  error message repeats them.
- The document a person holds is checked, and registers them once, by
  :mod:`.documents`; each OSV's counts by document type are :mod:`.roster`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID, uuid4

import pycountry
from eventsourcing.domain import Aggregate, event

from services.engagement.domain.documents import document_identities, document_identity, normalise_document_number
from shared.documents import DocumentType
from shared.errors import ConflictError, NotFoundError, NotKnownYetError, RuleViolationError, check_not_before, not_known_yet

FIRST_BIRTH_YEAR = 1900
ADULT_AGE = 18
"""The age a board role (:attr:`Role.on_board`) asks for: an OSV's junta directiva are adults before the RUOS."""


class Sex(StrEnum):
    F = "F"
    M = "M"
    X = "X"


class DepartureReason(StrEnum):
    MOVED_ABROAD = "moved_abroad"
    MOVED_IN_PERU = "moved_in_peru"
    WITHDREW = "withdrew"
    DECEASED = "deceased"
    OTHER = "other"


class Role(StrEnum):
    """A member's role in their OSV's organisation."""

    # (Its docstring is the public events' schema's.) ``president`` and ``board_member`` are the board (junta directiva),
    # for adults (check_board_role_adult); an OSV has one president at a time (OSVRoster.check_seat); ``member`` is open
    # to all ages.

    PRESIDENT = "president"
    BOARD_MEMBER = "board_member"
    MEMBER = "member"

    @property
    def on_board(self) -> bool:
        return self is not Role.MEMBER


class AgeBand(StrEnum):
    """The only form of a member's age that leaves the service."""

    CHILD = "0-17"
    YOUNG_ADULT = "18-29"
    ADULT = "30-44"
    MIDDLE_AGED = "45-59"
    OLDER = "60+"
    UNKNOWN = "unknown"


# Named errors -----------------------------------------------------------


class MemberNotFoundError(NotFoundError):
    def __init__(self, member_id: object) -> None:
        super().__init__(f"member {member_id} is not known to engagement")


class OSVNotKnownError(NotKnownYetError):
    """404 for a read about an OSV engagement has not heard of (its ``OSVMapped`` not arrived yet, or a wrong id), or one
    outside the reader's municipalities (told apart from neither): with ``Retry-After``, as the 422 ``osv_mapped_in_registry``."""

    def __init__(self, osv_id: object) -> None:
        super().__init__(not_known_yet(f"OSV {osv_id}", "engagement", "an OSV mapped"), field="osv_id", rule="osv_mapped_in_registry")


class UnknownNationalityError(RuleViolationError):
    def __init__(self, field: str = "nationality") -> None:
        super().__init__(
            f"{field} must be an ISO 3166-1 alpha-2 country code, such as VE or PE",
            field=field,
            rule="iso_3166_alpha_2",
        )


class ImplausibleBirthYearError(RuleViolationError):
    def __init__(self, this_year: int) -> None:
        super().__init__(
            f"birth_year must be between {FIRST_BIRTH_YEAR} and {this_year}",
            field="birth_year",
            rule="birth_year_range",
        )


class BornAfterJoiningError(RuleViolationError):
    def __init__(self, joined_on: date) -> None:
        super().__init__(
            f"birth_year is after the year the member joined ({joined_on.year})",
            field="birth_year",
            rule="not_after_joined_on",
        )


class MinorOnBoardError(RuleViolationError):
    """A board role for someone who may be under 18 on the day it starts; the message never repeats the birth year."""

    def __init__(self, role: Role, dated: str, on: date) -> None:
        super().__init__(
            f"role {role.value} is a board role, for adults: by their birth_year this person may be under {ADULT_AGE} on {dated} "
            f"{on.isoformat()} (with only the year of birth, they count as {ADULT_AGE} from 31 December of the year they turn "
            f"{ADULT_AGE}); a minor takes part as a member",
            field="role",
            rule="board_role_adult",
        )


class MembershipNotFoundError(NotFoundError):
    def __init__(self, membership_id: object) -> None:
        super().__init__(f"membership {membership_id} is not one of this member's")


class ParticipationNotFoundError(NotFoundError):
    def __init__(self, grant_id: object) -> None:
        super().__init__(f"this member takes no part in the project of grant {grant_id}")


class InvalidPhoneError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "a phone number is 6 to 15 digits, optionally after a +; spaces, dots, hyphens and brackets are ignored",
            field="phone",
            rule="phone_6_to_15_digits",
        )


class AlreadyActiveInOSVError(ConflictError):
    def __init__(self, membership_id: UUID) -> None:
        super().__init__(
            f"this person is already an active member of that OSV (membership {membership_id})",
            field="osv_id",
            rule="one_active_membership_per_osv",
        )


class AlreadyLeftError(ConflictError):
    def __init__(self, left_on: date) -> None:
        super().__init__(
            f"this member already left the OSV on {left_on.isoformat()}",
            field="left_on",
            rule="leave_once",
        )


class SeveralActiveMembershipsError(ConflictError):
    def __init__(self, count: int) -> None:
        super().__init__(
            f"this member is active in {count} OSVs: record the departure on the membership "
            "(POST /members/{id}/memberships/{membership_id}/departure)",
            field="membership_id",
            rule="one_active_membership",
        )


class MembershipEndedError(ConflictError):
    def __init__(self, left_on: date) -> None:
        super().__init__(
            f"this membership ended on {left_on.isoformat()}: its role no longer changes",
            field="membership_id",
            rule="membership_active",
        )


class SameRoleError(ConflictError):
    def __init__(self, role: Role) -> None:
        super().__init__(f"the member already holds the role {role.value} in this OSV", field="role", rule="new_role")


class RoleChangedTooEarlyError(RuleViolationError):
    def __init__(self, changed_on: date, since: date) -> None:
        super().__init__(
            f"changed_on {changed_on.isoformat()} is before the current role began on {since.isoformat()}",
            field="changed_on",
            rule="not_before_current_role",
        )


class AlreadyErasedError(ConflictError):
    def __init__(self, erased_on: date) -> None:
        super().__init__(
            f"this person's personal data was already erased on {erased_on.isoformat()}",
            field="member_id",
            rule="erase_once",
        )


class PersonErasedError(ConflictError):
    def __init__(self) -> None:
        super().__init__(
            "this person's personal data was erased: record new memberships or projects on a new registration",
            field="member_id",
            rule="not_erased",
        )


class ErasedNotCorrectedError(ConflictError):
    def __init__(self, erased_on: date) -> None:
        super().__init__(
            f"this person's personal data was erased on {erased_on.isoformat()}: there is nothing left to correct",
            field="member_id",
            rule="not_erased",
        )


class PublishedAgeBandError(ConflictError):
    """A birth year corrected across an age band: the bands went out to partners when the member joined, and stay."""

    def __init__(self) -> None:
        super().__init__(
            "this birth year would put one of the member's memberships in another age band than the one published when "
            "they joined (unknown, without a birth year), which partners have counted: a birth year is corrected only "
            "within the age bands already published",
            field="birth_year",
            rule="age_band_unchanged",
        )


class NotMemberOfGrantedOSVError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "only an active member of the OSV that received the grant may take part in its project",
            field="grant_id",
            rule="member_of_granted_osv",
        )


class AlreadyEnrolledError(ConflictError):
    def __init__(self, enrolled_on: date) -> None:
        super().__init__(
            f"this member was already enrolled in the grant's project on {enrolled_on.isoformat()}",
            field="grant_id",
            rule="enrol_once",
        )


class AlreadyWithdrewError(ConflictError):
    def __init__(self, withdrew_on: date) -> None:
        super().__init__(
            f"this member already withdrew from the project on {withdrew_on.isoformat()}",
            field="withdrew_on",
            rule="withdraw_once",
        )


class WithdrewBeforeEnrollingError(RuleViolationError):
    def __init__(self, withdrew_on: date, enrolled_on: date) -> None:
        super().__init__(
            f"withdrew_on {withdrew_on.isoformat()} is before the member enrolled on {enrolled_on.isoformat()}",
            field="withdrew_on",
            rule="not_before_enrolled_on",
        )


class LeftBeforeJoinedError(RuleViolationError):
    def __init__(self, left_on: date, joined_on: date) -> None:
        super().__init__(
            f"left_on {left_on.isoformat()} is before the member joined on {joined_on.isoformat()}",
            field="left_on",
            rule="not_before_joined_on",
        )


# Rules ------------------------------------------------------------------


def nationality_of(code: str, field: str = "nationality") -> str:
    """The ISO 3166-1 alpha-2 code, upper case, of a country that exists; ``field`` names the input if not."""
    normal = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", normal, re.ASCII) or pycountry.countries.get(alpha_2=normal) is None:
        raise UnknownNationalityError(field)
    return normal


PHONE_PATTERN = re.compile(r"\+?[0-9]{6,15}", re.ASCII)


def normalise_phone(phone: str | None) -> str | None:
    """The phone as kept (digits, with a leading + if given), or None when there is none."""
    if phone is None or not phone.strip():
        return None
    normal = re.sub(r"[\s.()-]", "", phone)
    if not PHONE_PATTERN.fullmatch(normal):
        raise InvalidPhoneError
    return normal


def check_birth_year(birth_year: int | None, joined_on: date, today: date) -> None:
    if birth_year is None:
        return
    if not FIRST_BIRTH_YEAR <= birth_year <= today.year:
        raise ImplausibleBirthYearError(today.year)
    if birth_year > joined_on.year:
        raise BornAfterJoiningError(joined_on)


def surely_adult_on(birth_year: int, day: date) -> bool:
    """Whether someone born in ``birth_year`` is :data:`ADULT_AGE` or over on ``day``, whatever day of the year they were born.

    Conservative: only the year of birth is known, so they are taken as born on 31 December, and count as 18 from
    31 December of ``birth_year + 18``, never earlier; someone who may still be 17 is not taken for an adult. (An age
    band, a statistic, reads the year the other way: :func:`age_band`.)
    """
    return day >= date(birth_year + ADULT_AGE, 12, 31)


def check_board_role_adult(role: Role, birth_year: int | None, on: date, dated: str) -> None:
    """A board role (:attr:`Role.on_board`) starting ``on`` (the field ``dated``) is for an adult: 422 ``board_role_adult``
    naming ``role`` when the person may be under 18 then (:func:`surely_adult_on`, the conservative reading of a birth year).

    Without a birth year (not given, or erased) there is nothing to judge by, and the role is taken. Ordinary membership
    is open to minors (youth take part): only the board is checked.
    """
    if role.on_board and birth_year is not None and not surely_adult_on(birth_year, on):
        raise MinorOnBoardError(role, dated, on)


def age_band(birth_year: int | None, year: int) -> AgeBand:
    """The member's age band in ``year``, from the birth year alone.

    Only the year of birth is known, so the age is ``year - birth_year``: a
    person born in December counts as a year older all year long.
    """
    if birth_year is None:
        return AgeBand.UNKNOWN
    age = year - birth_year
    if age < 18:
        return AgeBand.CHILD
    if age < 30:
        return AgeBand.YOUNG_ADULT
    if age < 45:
        return AgeBand.ADULT
    if age < 60:
        return AgeBand.MIDDLE_AGED
    return AgeBand.OLDER


# The person and their memberships ----------------------------------------------


@dataclass
class RoleHeld:
    role: Role
    since: date


@dataclass
class Membership:
    """One stay of a person in one OSV: rejoining later is a new membership."""

    membership_id: UUID
    osv_id: UUID
    joined_on: date
    age_band: AgeBand
    roles: list[RoleHeld]
    left_on: date | None = None
    reason: DepartureReason | None = None

    @property
    def role(self) -> Role:
        return self.roles[-1].role

    @property
    def active(self) -> bool:
        return self.left_on is None

    @property
    def status(self) -> str:
        return "active" if self.active else "left"


@dataclass
class Participation:
    """A member taking part, as an agent of change, in the project a grant funds."""

    grant_id: UUID
    osv_id: UUID
    age_band: AgeBand
    enrolled_on: date
    withdrew_on: date | None = None


REDACTED_NAME = "[erased]"


class Unchanged:
    """A field a correction leaves as it is (not given), told apart from one given as None (a phone removed)."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged()


class Member(Aggregate):
    """A person, migrant or host, who belongs to one or more OSVs the programme supports.

    Only :class:`Registered` holds their personal data; once it is erased the
    memberships, roles and participations stay, in public terms.
    """

    @classmethod
    def register(
        cls,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        nationality: str,
        sex: Sex,
        birth_year: int | None,
        osv_id: UUID,
        joined_on: date,
        today: date,
        role: Role = Role.MEMBER,
        phone: str | None = None,
    ) -> Member:
        """Check the person's data, then record them and their first membership.

        422 ``board_role_adult`` for a board ``role`` when the person may be under 18 on ``joined_on``
        (:func:`check_board_role_adult`); a minor registers as a member.
        """
        number = normalise_document_number(document_type, document_number)
        country = nationality_of(nationality)
        check_birth_year(birth_year, joined_on, today)
        member = cls(
            full_name=full_name,
            document_type=document_type,
            document_number=number,
            phone=normalise_phone(phone),
            nationality=country,
            sex=sex,
            birth_year=birth_year,
        )
        member.join(osv_id, role, joined_on)
        return member

    @event("Registered")
    def __init__(
        self,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        phone: str | None,
        nationality: str,
        sex: Sex,
        birth_year: int | None,
    ) -> None:
        self.full_name = full_name
        self.document_type = DocumentType(document_type)
        self.document_number = document_number
        self.phone = phone
        self.nationality = nationality
        self.sex = Sex(sex)
        self.birth_year = birth_year
        self.memberships: dict[UUID, Membership] = {}
        self.participations: dict[UUID, Participation] = {}
        self.erased_on: date | None = None

    # Memberships ------------------------------------------------------------

    def join(self, osv_id: UUID, role: Role, joined_on: date) -> Membership:
        """Record a new membership: another OSV, or the same one again after leaving it.

        A board ``role`` is for an adult on ``joined_on`` (422 ``board_role_adult``, :func:`check_board_role_adult`).
        """
        self.check_not_erased()
        current = self.active_membership_in(osv_id)
        if current is not None:
            raise AlreadyActiveInOSVError(current.membership_id)
        if self.birth_year is not None and self.birth_year > joined_on.year:
            raise BornAfterJoiningError(joined_on)
        check_board_role_adult(Role(role), self.birth_year, joined_on, "joined_on")
        membership_id = uuid4()
        self._joined(
            membership_id=membership_id,
            osv_id=osv_id,
            role=role,
            joined_on=joined_on,
            nationality=self.nationality,
            sex=self.sex,
            age_band=age_band(self.birth_year, joined_on.year),
        )
        return self.memberships[membership_id]

    @event("Joined")
    def _joined(
        self,
        membership_id: UUID,
        osv_id: UUID,
        role: Role,
        joined_on: date,
        nationality: str,
        sex: Sex,
        age_band: AgeBand,
    ) -> None:
        """The age band is worked out now and kept: it outlives an erased birth year."""
        self.memberships[membership_id] = Membership(
            membership_id=membership_id,
            osv_id=osv_id,
            joined_on=joined_on,
            age_band=AgeBand(age_band),
            roles=[RoleHeld(Role(role), joined_on)],
        )

    def change_role(self, membership_id: UUID, role: Role, changed_on: date) -> Membership:
        """The membership's role from ``changed_on``; a board role is for an adult then (422 ``board_role_adult``,
        :func:`check_board_role_adult`)."""
        membership = self.membership(membership_id)
        if membership.left_on is not None:
            raise MembershipEndedError(membership.left_on)
        if role == membership.role:
            raise SameRoleError(role)
        since = membership.roles[-1].since
        if changed_on < since:
            raise RoleChangedTooEarlyError(changed_on, since)
        check_board_role_adult(Role(role), self.birth_year, changed_on, "changed_on")
        self._role_changed(membership_id=membership_id, osv_id=membership.osv_id, role=role, changed_on=changed_on)
        return membership

    @event("RoleChanged")
    def _role_changed(self, membership_id: UUID, osv_id: UUID, role: Role, changed_on: date) -> None:
        self.memberships[membership_id].roles.append(RoleHeld(Role(role), changed_on))

    def leave(self, left_on: date, reason: DepartureReason) -> Membership:
        """Record that the member left the OSV they belong to; with several, say which membership."""
        active = self.active_memberships
        if not active:
            latest = self.latest_membership
            raise AlreadyLeftError(latest.left_on or left_on)
        if len(active) > 1:
            raise SeveralActiveMembershipsError(len(active))
        return self.leave_membership(active[0].membership_id, left_on, reason)

    def leave_membership(self, membership_id: UUID, left_on: date, reason: DepartureReason) -> Membership:
        """Record that the member left one OSV, including a departure learnt of late."""
        membership = self.membership(membership_id)
        if membership.left_on is not None:
            raise AlreadyLeftError(membership.left_on)
        if left_on < membership.joined_on:
            raise LeftBeforeJoinedError(left_on, membership.joined_on)
        self._left(
            membership_id=membership_id,
            left_on=left_on,
            reason=reason,
            osv_id=membership.osv_id,
            nationality=self.nationality,
            sex=self.sex,
            age_band=membership.age_band,
        )
        return membership

    @event("Left")
    def _left(
        self,
        membership_id: UUID,
        left_on: date,
        reason: DepartureReason,
        osv_id: UUID,
        nationality: str,
        sex: Sex,
        age_band: AgeBand,
    ) -> None:
        """The event also carries who the member was, in public terms, so it reads on its own."""
        membership = self.memberships[membership_id]
        membership.left_on = left_on
        membership.reason = DepartureReason(reason)

    def membership(self, membership_id: UUID) -> Membership:
        try:
            return self.memberships[membership_id]
        except KeyError:
            raise MembershipNotFoundError(membership_id) from None

    def active_membership_in(self, osv_id: UUID) -> Membership | None:
        return next((m for m in self.active_memberships if m.osv_id == osv_id), None)

    @property
    def active_memberships(self) -> list[Membership]:
        return [m for m in self.memberships.values() if m.active]

    @property
    def latest_membership(self) -> Membership:
        return list(self.memberships.values())[-1]

    # Projects ----------------------------------------------------------------

    def enrol(self, grant_id: UUID, granted_osv_id: UUID, enrolled_on: date, granted_on: date | None = None) -> Participation:
        """Record that the member takes part in the project a grant to their OSV funds.

        Not before the grant (``granted_on``: there is no project before it) nor before the member joined the OSV.
        """
        self.check_not_erased()
        if grant_id in self.participations:
            raise AlreadyEnrolledError(self.participations[grant_id].enrolled_on)
        membership = self.active_membership_in(granted_osv_id)
        if membership is None:
            raise NotMemberOfGrantedOSVError
        check_not_before("enrolled_on", enrolled_on, "granted_on", granted_on)
        check_not_before("enrolled_on", enrolled_on, "joined_on", membership.joined_on)
        self._enrolled(
            grant_id=grant_id,
            osv_id=granted_osv_id,
            nationality=self.nationality,
            sex=self.sex,
            age_band=membership.age_band,
            enrolled_on=enrolled_on,
        )
        return self.participations[grant_id]

    @event("Enrolled")
    def _enrolled(
        self, grant_id: UUID, osv_id: UUID, nationality: str, sex: Sex, age_band: AgeBand, enrolled_on: date
    ) -> None:
        self.participations[grant_id] = Participation(grant_id, osv_id, AgeBand(age_band), enrolled_on)

    def withdraw(self, grant_id: UUID, withdrew_on: date) -> Participation:
        participation = self.participations.get(grant_id)
        if participation is None:
            raise ParticipationNotFoundError(grant_id)
        if participation.withdrew_on is not None:
            raise AlreadyWithdrewError(participation.withdrew_on)
        if withdrew_on < participation.enrolled_on:
            raise WithdrewBeforeEnrollingError(withdrew_on, participation.enrolled_on)
        self._withdrew(
            grant_id=grant_id,
            osv_id=participation.osv_id,
            nationality=self.nationality,
            sex=self.sex,
            age_band=participation.age_band,
            withdrew_on=withdrew_on,
        )
        return participation

    @event("Withdrew")
    def _withdrew(
        self, grant_id: UUID, osv_id: UUID, nationality: str, sex: Sex, age_band: AgeBand, withdrew_on: date
    ) -> None:
        self.participations[grant_id].withdrew_on = withdrew_on

    # Personal data -------------------------------------------------------------

    def erase(self, erased_on: date) -> None:
        """Record that the person's personal data is forgotten (the store has deleted its key); not before they first joined.

        One ``PersonalDataErased`` per OSV the person was ever a member of, in
        the order they joined: each goes out under that OSV's municipality, so
        every partner that received the person's memberships receives the
        tombstone and can drop what it derived from them.
        """
        if self.erased_on is not None:
            raise AlreadyErasedError(self.erased_on)
        self.check_erasure_date(erased_on)
        osv_ids = list(dict.fromkeys(m.osv_id for m in self.memberships.values()))
        for osv_id in osv_ids or [None]:
            self._erased(erased_on=erased_on, osv_id=osv_id)

    def check_erasure_date(self, erased_on: date) -> None:
        """An erasure is dated no earlier than the person first joined an OSV (checked before any key is deleted)."""
        first_joined = min(m.joined_on for m in self.memberships.values())
        check_not_before("erased_on", erased_on, "joined_on", first_joined)

    @event("PersonalDataErased")
    def _erased(self, erased_on: date, osv_id: UUID | None = None) -> None:
        self.erased_on = erased_on
        self.full_name = REDACTED_NAME
        self.document_number = None
        self.phone = None
        self.birth_year = None

    def correct(
        self,
        today: date,
        full_name: str | Unchanged = UNCHANGED,
        document: tuple[DocumentType, str | None] | Unchanged = UNCHANGED,
        phone: str | None | Unchanged = UNCHANGED,
        birth_year: int | None | Unchanged = UNCHANGED,
    ) -> bool:
        """Rectify the person's personal data at their request (Ley 29733, art. 20): what is given replaces what is kept,
        checked and normalised as at registration (``document`` is its type and number together); whether anything changed
        (nothing is recorded otherwise).

        409 ``not_erased`` once the data was erased; a birth year as at registration (422 ``birth_year_range``,
        ``not_after_joined_on`` against the first joining), and 409 ``age_band_unchanged`` when it would put a
        membership in another age band than the one its ``MemberJoined`` published. No error repeats the data.
        """
        if self.erased_on is not None:
            raise ErasedNotCorrectedError(self.erased_on)
        if isinstance(document, Unchanged):
            document_type, number = self.document_type, self.document_number
        else:
            document_type = DocumentType(document[0])
            number = normalise_document_number(document_type, document[1])
        year = self.birth_year if isinstance(birth_year, Unchanged) else birth_year
        if not isinstance(birth_year, Unchanged):
            self._check_corrected_birth_year(year, today)
        corrected = {
            "full_name": self.full_name if isinstance(full_name, Unchanged) else full_name,
            "document_type": document_type,
            "document_number": number,
            "phone": self.phone if isinstance(phone, Unchanged) else normalise_phone(phone),
            "birth_year": year,
        }
        if all(getattr(self, name) == value for name, value in corrected.items()):
            return False
        self._corrected(**corrected)
        return True

    def _check_corrected_birth_year(self, birth_year: int | None, today: date) -> None:
        first_joined = min(m.joined_on for m in self.memberships.values())
        check_birth_year(birth_year, first_joined, today)
        if any(age_band(birth_year, m.joined_on.year) != m.age_band for m in self.memberships.values()):
            raise PublishedAgeBandError

    @event("PersonalDataCorrected")
    def _corrected(
        self,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        phone: str | None,
        birth_year: int | None,
    ) -> None:
        """Holds the person's data as corrected, every field of it: sealed as :class:`Registered`'s, never published."""
        self.full_name = full_name
        self.document_type = DocumentType(document_type)
        self.document_number = document_number
        self.phone = phone
        self.birth_year = birth_year

    def check_not_erased(self) -> None:
        if self.erased_on is not None:
            raise PersonErasedError

    @property
    def personal_data(self) -> str:
        return "erased" if self.erased_on is not None else "kept"

    @property
    def document_identity(self) -> str | None:
        """What the document index knows this person by (None without a document, or once erased)."""
        return document_identity(self.document_type, self.document_number)

    @property
    def document_identities(self) -> tuple[str, ...]:
        """:attr:`document_identity`, then the forms an earlier version indexed the same document under (none once erased)."""
        return document_identities(self.document_type, self.document_number)
