"""The rules a member's data follows, and the named errors they raise: sexes, roles, age bands and departure reasons;
a nationality (ISO 3166-1, pycountry), a phone, a birth year, an adult on the board. Pure: no I/O.

Kept apart from :mod:`.members` (the aggregate and its events) by concern. No message repeats a person's data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

import pycountry

from shared.documents import FOREIGNERS_ONLY, DocumentType
from shared.errors import ConflictError, NotFoundError, NotKnownYetError, RuleViolationError, not_known_yet

if TYPE_CHECKING:
    from services.engagement.domain.members import Membership

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
        super().__init__(f"member {member_id} is not known to engagement", field="member_id", rule="known_member")


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


class ForeignersDocumentError(RuleViolationError):
    """422 ``document_for_foreigners`` on ``document_type``: a Peruvian (nationality ``PE``) with a document Peru gives
    foreigners only (:data:`~shared.documents.FOREIGNERS_ONLY`: a CE, a PTP, a CPP, an asylum claim's)."""

    def __init__(self, document_type: DocumentType) -> None:
        super().__init__(
            f"a {document_type.value} is given to foreigners only, and nationality says PE (Peruvian): give the person's "
            "DNI (or passport), or their nationality as on the document (VE for a Venezuelan)",
            field="document_type",
            rule="document_for_foreigners",
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

    def __init__(self, role: Role, dated: str, on: date, field: str = "role") -> None:
        super().__init__(
            f"role {role.value} is a board role, for adults: by their birth_year this person may be under {ADULT_AGE} on {dated} "
            f"{on.isoformat()} (with only the year of birth, they count as {ADULT_AGE} from 31 December of the year they turn "
            f"{ADULT_AGE}); a minor takes part as a member",
            field=field,
            rule="board_role_adult",
        )


class MembershipNotFoundError(NotFoundError):
    """404 ``known_membership``; ``recorded_on``: the record merged into this member that holds it, which the member's
    read shows it with (its ``recorded_on``): a change to it goes there (tester 206)."""

    def __init__(self, membership_id: object, recorded_on: object = None) -> None:
        where = (
            f": it is recorded on member {recorded_on}, merged into this one; send the change to /members/{recorded_on}"
            if recorded_on is not None
            else ""
        )
        super().__init__(f"membership {membership_id} is not one of this member's{where}", field="membership_id", rule="known_membership")


class ParticipationNotFoundError(NotFoundError):
    def __init__(self, grant_id: object) -> None:
        super().__init__(f"this member takes no part in the project of grant {grant_id}", field="grant_id", rule="participating")


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
    """409 ``one_active_membership``: a departure without its membership, for the member ``member_id`` active in several
    OSVs. ``active``: each active membership, in the order their read lists them, with the record merged into the member
    it is recorded on (None: the member's own; tester 232 F3), where its departure is recorded. Each is named in the
    message and in ``active_memberships`` (``membership_id``, ``osv_id``, ``joined_on``, ``recorded_on``: ids and a
    day, never the person's data): it named none, and staff read the member to find them (tester 239 F5)."""

    def __init__(self, member_id: UUID, active: Sequence[tuple[Membership, UUID | None]]) -> None:
        merged = ", recorded on member {on}, a record of the same person merged into this one"
        listed = "; ".join(
            f"membership {m.membership_id} (OSV {m.osv_id}, joined {m.joined_on.isoformat()}"
            + (merged.format(on=on) if on is not None else "")
            + ")"
            for m, on in active
        )
        paths = " or ".join(f"POST /members/{on or member_id}/memberships/{m.membership_id}/departure" for m, on in active)
        super().__init__(
            f"this member is active in {len(active)} OSVs: {listed}. Record the departure on the membership they left "
            f"({paths})",
            field="membership_id",
            rule="one_active_membership",
        )
        self.extensions = {
            "active_memberships": [
                {
                    "membership_id": str(m.membership_id),
                    "osv_id": str(m.osv_id),
                    "joined_on": m.joined_on.isoformat(),
                    "recorded_on": str(on) if on is not None else None,
                }
                for m, on in active
            ]
        }


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


DAYS_STAY_AS_RECORDED = (
    "the days their memberships began stay as recorded (the rules a corrected day is checked by, their birth year among "
    "them, are erased with it)"
)
"""What :class:`PersonErasedError` says to a joining date's correction: a new registration's advice fits no date (tester 184 F6)."""


class PersonErasedError(ConflictError):
    """``then``: what the caller can still do, for the command refused (a new membership's advice by default)."""

    def __init__(self, then: str = "record new memberships or projects on a new registration") -> None:
        super().__init__(
            f"this person's personal data was erased: {then}",
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


class JoinedAfterError(RuleViolationError):
    """A joining date corrected to after a later fact of the membership (``left_on``, ``changed_on``, ``enrolled_on``)."""

    def __init__(self, joined_on: date, later_field: str, later: date, later_said: str) -> None:
        super().__init__(
            f"joined_on {joined_on.isoformat()} is after {later_said} on {later.isoformat()} ({later_field}): a membership "
            "begins before what is recorded of it",
            field="joined_on",
            rule=f"not_after_{later_field}",
        )


class JoinedDuringOtherStayError(RuleViolationError):
    """A joining (a rejoining, or a joining date corrected) within another membership of the same person in the same OSV:
    one stays apart from the other."""

    def __init__(self, joined_on: date, other: UUID, other_joined_on: date, other_left_on: date | None) -> None:
        until = f"to {other_left_on.isoformat()}" if other_left_on is not None else "still active"
        super().__init__(
            f"joined_on {joined_on.isoformat()} makes this membership overlap the person's other membership of the same OSV "
            f"({other}, from {other_joined_on.isoformat()} {until}): a person's stays in one OSV do not overlap",
            field="joined_on",
            rule="stays_apart",
        )


class JoinedBeforeBornError(RuleViolationError):
    """A joining date corrected to a year before the person's birth year; the message never repeats the year."""

    def __init__(self, joined_on: date) -> None:
        super().__init__(
            f"joined_on {joined_on.isoformat()} is in a year before the person was born (by their birth_year)",
            field="joined_on",
            rule="not_before_birth_year",
        )


# Rules ------------------------------------------------------------------


def nationality_of(code: str, field: str = "nationality") -> str:
    """The ISO 3166-1 alpha-2 code, upper case, of a country that exists; ``field`` names the input if not."""
    normal = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", normal, re.ASCII) or pycountry.countries.get(alpha_2=normal) is None:
        raise UnknownNationalityError(field)
    return normal


def check_document_of_nationality(document_type: DocumentType, nationality: str) -> None:
    """422 :class:`ForeignersDocumentError` for a Peruvian's document Peru gives foreigners only; ``nationality`` as
    :func:`nationality_of` gives it (upper case)."""
    if nationality == "PE" and document_type in FOREIGNERS_ONLY:
        raise ForeignersDocumentError(document_type)


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


def check_board_role_adult(role: Role, birth_year: int | None, on: date, dated: str, field: str = "role") -> None:
    """A board role (:attr:`Role.on_board`) starting ``on`` (the field ``dated``) is for an adult: 422 ``board_role_adult``
    naming ``field`` (``role``, or ``birth_year`` for a correction) when the person may be under 18 then
    (:func:`surely_adult_on`, the conservative reading of a birth year).

    Without a birth year (not given, or erased) there is nothing to judge by, and the role is taken. Ordinary membership
    is open to minors (youth take part): only the board is checked.
    """
    if role.on_board and birth_year is not None and not surely_adult_on(birth_year, on):
        raise MinorOnBoardError(role, dated, on, field)


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


def current_of(memberships: list[Membership]) -> Membership:
    """Of ``memberships`` (non-empty, in the order recorded), the one a summary of the member speaks of: of the active
    ones, the one joined last (by ``joined_on``, then as recorded); with none active, the one left last (by ``left_on``,
    then ``joined_on``, then as recorded): the person's last departure. Not the one recorded last, which may have ended
    years before (a stay recorded afterwards from a paper form, a merged record's: tester 196), nor the one joined last,
    which may be a short stay ended before another (tester 199 F6)."""
    active = [m for m in memberships if m.active]
    if not active:  # a stay merged into another (never ended) is spoken of only when it is all there is
        ended = [m for m in memberships if m.merged_into is None] or memberships
        return max(reversed(ended), key=lambda m: (m.left_on or date.min, m.joined_on))
    return max(reversed(active), key=lambda m: m.joined_on)


def held_on(memberships: Iterable[Membership], day: date | None) -> bool:
    """Whether one of ``memberships`` was held on ``day``: joined by then and not left before (leaving that day counts);
    on any day for None (a day not given: a body whose date was refused)."""
    return any(day is None or (m.joined_on <= day and (m.left_on is None or day <= m.left_on)) for m in memberships)
