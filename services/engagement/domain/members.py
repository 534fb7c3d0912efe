"""Engagement's domain: people, their memberships of OSVs, and the projects they take part in.

Pure: the aggregate and the events it records. The rules a person's data
must follow, the terms they use (sex, role, age band, departure reason) and
the named errors those rules raise are :mod:`.memberrules`.

- A :class:`Member` is a person. Their memberships (one per stay in an OSV,
  with the roles they held), their participations in funded projects and the
  erasure of their personal data are events of that one aggregate.
- A member's name, document number, phone and birth year are personal data of
  vulnerable people. Only the ``Registered`` event (and a ``PersonalDataCorrected``
  that rectifies them) holds them, so that the
  store can seal them with the person's own key and forget them by deleting
  it; every later event carries what it needs in public terms (nationality,
  sex, the age band worked out when joining) and never depends on them. No
  error message repeats them. Nationality and sex are personal data too, but
  public terms: ``Registered`` keeps them unsealed, ``Joined`` publishes them,
  and a rectification of either is published per membership
  (``NationalityCorrected``, ``SexCorrected``) so partners count it again.
- The document a person holds is checked, and registers them once, by
  :mod:`.documents`; each OSV's counts by document type are :mod:`.roster`; two
  records of one person merged, :mod:`.merges`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from services.engagement.domain.documents import document_identities, document_identity, normalise_document_number
from services.engagement.domain.memberrules import (
    DAYS_STAY_AS_RECORDED,
    AgeBand,
    AlreadyActiveInOSVError,
    AlreadyErasedError,
    AlreadyLeftError,
    AlreadyWithdrewError,
    BornAfterJoiningError,
    DepartureReason,
    ErasedNotCorrectedError,
    JoinedAfterError,
    JoinedBeforeBornError,
    JoinedDuringOtherStayError,
    LeftBeforeJoinedError,
    MembershipEndedError,
    MembershipNotFoundError,
    NotMemberOfGrantedOSVError,
    ParticipationNotFoundError,
    PersonErasedError,
    Role,
    RoleChangedTooEarlyError,
    SameRoleError,
    SeveralActiveMembershipsError,
    Sex,
    WithdrewBeforeEnrollingError,
    age_band,
    check_birth_year,
    check_board_role_adult,
    check_document_of_nationality,
    current_of,
    nationality_of,
    normalise_phone,
)
from services.engagement.domain.memberships import Membership, Participation, RoleHeld
from services.engagement.domain.merges import MemberMerges, StayMergedError
from shared.documents import DocumentType
from shared.errors import check_not_before

# The person and their memberships ----------------------------------------------


REDACTED_NAME = "[erased]"


class Unchanged:
    """A field a correction leaves as it is (not given), told apart from one given as None (a phone removed)."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged()


class Member(MemberMerges, Aggregate):
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
        check_document_of_nationality(document_type, country)
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
        self.erasure_begun_on: date | None = None  # an erasure asked for and begun (ErasureBegun), made or not yet

    # Memberships ------------------------------------------------------------

    def join(self, osv_id: UUID, role: Role, joined_on: date) -> Membership:
        """Record a new membership: another OSV, or the same one again after leaving it.

        A board ``role`` is for an adult on ``joined_on`` (422 ``board_role_adult``, :func:`check_board_role_adult`); a
        stay again in an OSV the person left begins on or after the day they left it (422 ``stays_apart``, naming the
        earlier stay: a year typed wrong). Stays in one OSV never overlap, as in :meth:`correct_joining`: a stay begun is
        open, so one dated before an earlier stay overlapped it even once it ended (tester 149 F1).
        """
        self.check_not_erased()
        self.check_not_merged()
        current = self.active_membership_in(osv_id)
        if current is not None:
            raise AlreadyActiveInOSVError(current.membership_id)
        for earlier in self.memberships.values():
            if earlier.osv_id == osv_id and earlier.left_on is not None and joined_on < earlier.left_on:
                raise JoinedDuringOtherStayError(joined_on, earlier.membership_id, earlier.joined_on, earlier.left_on)
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
        self.check_stay_not_merged(membership)
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
            self.check_stay_not_merged(latest)  # the same stay as another of the person's: its departure is that one's
            raise AlreadyLeftError(latest.left_on or left_on)
        if len(active) > 1:
            raise SeveralActiveMembershipsError(self.id, [(m, None) for m in active])
        return self.leave_membership(active[0].membership_id, left_on, reason)

    def leave_membership(self, membership_id: UUID, left_on: date, reason: DepartureReason) -> Membership:
        """Record that the member left one OSV, including a departure learnt of late."""
        membership = self.membership(membership_id)
        self.check_stay_not_merged(membership)
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

    def correct_joining(self, membership_id: UUID, joined_on: date, today: date) -> bool:
        """Correct the day a membership began (a date mistyped, or a paper list typed in with the typing date); whether it
        changed (nothing is recorded otherwise). The new date holds as a joining would (a day the programme may record is
        the application's, :mod:`shared.dates`): 422 on ``joined_on`` for a day after the membership's ``left_on``, its
        first role change or the enrolment of a project under it (``not_after_left_on``, ``not_after_changed_on``, ``not_after_enrolled_on``, naming both
        dates), within another stay of the person in the same OSV (``stays_apart``), in a year before the birth year
        (``not_before_birth_year``), or for a board role held from joining by someone who may be under 18 then
        (``board_role_adult``); 409 ``not_erased`` once the person's erasure has begun; 404 for another's membership.

        Records ``JoiningDateCorrected`` (public: the previous and the new date) and, when the age on joining falls in
        another band, ``AgeBandCorrected``.
        """
        if self.erasure_begun_on is not None or self.erased_on is not None:
            raise PersonErasedError(DAYS_STAY_AS_RECORDED)
        membership = self.membership(membership_id)
        self.check_stay_not_merged(membership)
        if joined_on == membership.joined_on:
            return False
        self._check_corrected_joining(membership, joined_on)
        self._joining_date_corrected(
            membership_id=membership_id,
            osv_id=membership.osv_id,
            previous_joined_on=membership.joined_on,
            joined_on=joined_on,
            left_on=membership.left_on,
            nationality=self.nationality,
            sex=self.sex,
            corrected_on=today,
        )
        band = age_band(self.birth_year, joined_on.year)
        if band != membership.age_band:
            self._age_band_corrected(
                membership_id=membership_id, osv_id=membership.osv_id, previous_age_band=membership.age_band, age_band=band,
                corrected_on=today,
            )
        return True

    def _check_corrected_joining(self, membership: Membership, joined_on: date) -> None:
        later = [("left_on", membership.left_on, "the member left")]
        if len(membership.roles) > 1:
            later.append(("changed_on", membership.roles[1].since, "the role changed"))
        for participation in self.participations.values():
            if self._membership_of(participation) == membership.membership_id:
                later.append(("enrolled_on", participation.enrolled_on, "the member enrolled in a project"))
        for field, day, said in later:
            if day is not None and joined_on > day:
                raise JoinedAfterError(joined_on, field, day, said)
        end = membership.left_on or date.max
        for other in self.memberships.values():
            if other is not membership and other.osv_id == membership.osv_id:
                if joined_on < (other.left_on or date.max) and other.joined_on < end:
                    raise JoinedDuringOtherStayError(joined_on, other.membership_id, other.joined_on, other.left_on)
        if self.birth_year is not None and self.birth_year > joined_on.year:
            raise JoinedBeforeBornError(joined_on)
        check_board_role_adult(membership.roles[0].role, self.birth_year, joined_on, "joined_on", "joined_on")

    @event("JoiningDateCorrected")
    def _joining_date_corrected(
        self, membership_id: UUID, osv_id: UUID, previous_joined_on: date, joined_on: date, left_on: date | None,
        nationality: str, sex: Sex, corrected_on: date,
    ) -> None:
        """The membership began on ``joined_on``, not ``previous_joined_on``: public, with the nationality and sex its
        joining is counted under, for partners to count it in the phase of the right day."""
        membership = self.memberships[membership_id]
        membership.joined_on = joined_on
        membership.roles[0].since = joined_on

    @staticmethod
    def check_stay_not_merged(membership: Membership) -> None:
        """409 ``stay_not_merged`` for a membership merged into another stay of the person (:class:`StayMergedError`):
        its departure, role and joining day are that stay's."""
        if membership.merged_into is not None:
            raise StayMergedError(membership)

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
        """The membership recorded last."""
        return list(self.memberships.values())[-1]

    @property
    def current_membership(self) -> Membership:
        """The membership a summary of the member speaks of: of the active ones, the one joined last (by ``joined_on``,
        then as recorded); with none active, the one recorded last. A departure from a second OSV recorded after the
        first no longer makes a member active in the first read as gone (tester 137 F8)."""
        return current_of(list(self.memberships.values()))

    # Projects ----------------------------------------------------------------

    def enrol(
        self, grant_id: UUID, granted_osv_id: UUID, enrolled_on: date, granted_on: date | None = None, through: Sequence[Member] = ()
    ) -> Participation:
        """Record that the member takes part in the project a grant to their OSV funds, once (the records merged into this
        one, ``through``, are the person's: their memberships count, their projects too). Not before the grant
        (``granted_on``) nor their joining."""
        self.check_not_erased()
        self.check_not_merged()
        self.check_enrolled_once(grant_id, through)
        membership = self.active_membership_in(granted_osv_id) or self.active_membership_through(granted_osv_id, through)
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

    def begin_erasure(self, erased_on: date) -> None:
        """Record, before anything is deleted, that this person's erasure has begun (``ErasureBegun``, private, no data).

        Saved first, it takes the person's next version: a correction loaded before it fails to save and, asked again,
        is refused (409 ``not_erased``); a correction saved before it makes this save fail, and the erasure, asked again,
        reads the corrected document while the person's key is still there. Once begun, an erasure that stopped midway
        is finished by asking again.
        """
        if self.erased_on is not None:
            raise AlreadyErasedError(self.erased_on)
        self.check_erasure_date(erased_on)
        if self.erasure_begun_on is None:
            self._erasure_begun(erased_on=erased_on)

    @event("ErasureBegun")
    def _erasure_begun(self, erased_on: date) -> None:
        self.erasure_begun_on = erased_on

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
        nationality: str | Unchanged = UNCHANGED,
        sex: Sex | Unchanged = UNCHANGED,
    ) -> bool:
        """Rectify the person's personal data at their request (Ley 29733, art. 20): what is given replaces what is kept,
        checked and normalised as at registration (``document`` is its type and number together, ``nationality`` an ISO
        3166-1 alpha-2 code of any case); whether anything changed (nothing is recorded otherwise).

        409 ``not_erased`` once the data was erased, or its erasure has begun (:meth:`begin_erasure`); 409
        ``member_not_merged`` on a record merged into another (correct that one); 422
        ``iso_3166_alpha_2`` on ``nationality`` for a code of no country (:func:`nationality_of`); a birth year as at
        registration (422 ``birth_year_range``, ``not_after_joined_on`` against the first joining), and 422
        ``board_role_adult`` when the person holds a board role they may have been under 18 on the day it started
        (:func:`check_board_role_adult`). No error repeats the data.

        Everything is recorded in the private ``PersonalDataCorrected``; after it, per membership (in the order they
        were recorded), the public terms its events used that changed: ``AgeBandCorrected`` for a birth year that puts
        it in another age band (never the year), ``NationalityCorrected`` for another nationality, ``SexCorrected`` for
        another sex, each with the previous and the new value, dated ``today``.
        """
        if self.erased_on is not None or self.erasure_begun_on is not None:
            raise ErasedNotCorrectedError(self.erased_on or self.erasure_begun_on)
        self.check_not_merged()
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
            "nationality": self.nationality if isinstance(nationality, Unchanged) else nationality_of(nationality),
            "sex": self.sex if isinstance(sex, Unchanged) else Sex(sex),
        }
        if not (isinstance(document, Unchanged) and isinstance(nationality, Unchanged)):  # one recorded before the rule stays
            check_document_of_nationality(corrected["document_type"], corrected["nationality"])
        if all(getattr(self, name) == value for name, value in corrected.items()):
            return False
        # Only a birth year given moves a band: a name corrected leaves every band as it was published.
        given = not isinstance(birth_year, Unchanged)
        bands = {m.membership_id: age_band(year, m.joined_on.year) for m in self.memberships.values()} if given else {}
        previous_nationality, previous_sex = self.nationality, self.sex
        self._corrected(**corrected)
        for membership in list(self.memberships.values()):
            if bands.get(membership.membership_id, membership.age_band) != membership.age_band:
                self._age_band_corrected(
                    membership_id=membership.membership_id,
                    osv_id=membership.osv_id,
                    previous_age_band=membership.age_band,
                    age_band=bands[membership.membership_id],
                    corrected_on=today,
                )
            dated = {"joined_on": membership.joined_on, "left_on": membership.left_on, "corrected_on": today}
            which = {"membership_id": membership.membership_id, "osv_id": membership.osv_id}
            if self.nationality != previous_nationality:
                self._nationality_corrected(**which, previous_nationality=previous_nationality, nationality=self.nationality, **dated)
            if self.sex != previous_sex:
                self._sex_corrected(**which, previous_sex=previous_sex, sex=self.sex, **dated)
        return True

    def _check_corrected_birth_year(self, birth_year: int | None, today: date) -> None:
        first_joined = min(m.joined_on for m in self.memberships.values())
        check_birth_year(birth_year, first_joined, today)
        for membership in self.active_memberships:
            check_board_role_adult(membership.role, birth_year, membership.roles[-1].since, "the day the role started,", "birth_year")

    @event("PersonalDataCorrected")
    def _corrected(
        self,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        phone: str | None,
        birth_year: int | None,
        nationality: str | None = None,
        sex: Sex | None = None,
    ) -> None:
        """Holds the person's data as corrected, every field of it: sealed as :class:`Registered`'s (nationality and sex,
        which the public events carry, are not sealed there either), never published. One recorded before nationality
        and sex could be corrected has neither: they stay as they were."""
        self.full_name = full_name
        self.document_type = DocumentType(document_type)
        self.document_number = document_number
        self.phone = phone
        self.birth_year = birth_year
        if nationality is not None:
            self.nationality = nationality
        if sex is not None:
            self.sex = Sex(sex)

    @event("AgeBandCorrected")
    def _age_band_corrected(
        self, membership_id: UUID, osv_id: UUID, previous_age_band: AgeBand, age_band: AgeBand, corrected_on: date
    ) -> None:
        """A membership's age band, worked out again from a corrected birth year: public, in the terms ``Joined`` used.

        The member's participations enrolled under that membership take the new band too: a later ``ParticipantWithdrew``
        says the band the membership holds, not the one copied at enrolment."""
        self.memberships[membership_id].age_band = AgeBand(age_band)
        for participation in self.participations.values():
            if self._membership_of(participation) == membership_id:
                participation.age_band = AgeBand(age_band)

    @event("NationalityCorrected")
    def _nationality_corrected(
        self, membership_id: UUID, osv_id: UUID, previous_nationality: str, nationality: str, joined_on: date,
        left_on: date | None, corrected_on: date,
    ) -> None:
        """A membership's nationality as its ``Joined`` (and ``Left``) published it, rectified: public, for partners to
        count it again. The member's nationality itself is ``PersonalDataCorrected``'s; nothing changes here."""

    @event("SexCorrected")
    def _sex_corrected(
        self, membership_id: UUID, osv_id: UUID, previous_sex: Sex, sex: Sex, joined_on: date, left_on: date | None, corrected_on: date
    ) -> None:
        """A membership's sex as its ``Joined`` (and ``Left``) published it, rectified: public, as :meth:`_nationality_corrected`."""

    def _membership_of(self, participation: Participation) -> UUID | None:
        """The membership a participation was enrolled under: the member's latest in its OSV joined on or before
        ``enrolled_on`` (enrolling takes the membership active then, as :meth:`enrol` does)."""
        under = [m for m in self.memberships.values() if m.osv_id == participation.osv_id and m.joined_on <= participation.enrolled_on]
        return max(under, key=lambda m: m.joined_on).membership_id if under else None

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
