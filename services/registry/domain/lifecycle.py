"""Registry's domain: an OSV's life after its mapping, contact lost and restored, its dissolution, and two records of
one organisation merged. Pure.

A mixin of :class:`~.osvs.OSV`, as :mod:`.naming` and :mod:`.mappingdates` are: its events are the OSV's
(``OSV.ContactLost``, ``OSV.OSVDissolved``, ``OSV.OSVMerged``…), stored and published under the same names and topics
as when they were declared on the OSV itself. The staff notes (why contact was lost, why an OSV dissolved) may mention
people: they stay in registry's store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.registry.domain.details import DissolutionReason
from shared.errors import ConflictError, DateBeforeError, RuleViolationError

if TYPE_CHECKING:
    from services.registry.domain.osvs import OSV


class MergeWithItselfError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("an OSV cannot be merged into itself", field="duplicate_id", rule="another_osv")


class MergeRegisteredError(ConflictError):
    def __init__(self, detail: str, rule: str) -> None:
        super().__init__(detail, field="duplicate_id", rule=rule)


class RecordedBeforeError(RuleViolationError):
    """A day that closes an OSV's record, its dissolution or its merge into another, dated before the last of what
    registry holds of it (:meth:`Lifecycle.check_not_before_last_recorded`): 422 on :attr:`closing`, rule
    ``not_before_<later_field>``, the message naming that record and its day. Each kind of closing is a subclass."""

    closing: ClassVar[str]
    """The field the request dates the closing by (``dissolved_on``, ``merged_on``)."""
    whose: ClassVar[str] = ""
    """What the message says before the record (``its`` in it names the OSV whose record it is)."""
    why: ClassVar[str]

    def __init__(self, on: date, later_field: str, later: date, later_said: str) -> None:
        super().__init__(
            f"{self.closing} {on.isoformat()} is before {self.whose}{later_said} on {later.isoformat()} ({later_field}): "
            f"{self.why}",
            field=self.closing,
            rule=f"not_before_{later_field}",
        )


class DissolvedBeforeRecordError(RecordedBeforeError):
    """A dissolution dated before something registry holds of the OSV (its registration, a board renewal…): registry
    takes nothing of it dated after its dissolution, so it would not have taken that, recorded the other way round."""

    closing = "dissolved_on"
    why = "an OSV dissolves after what is recorded of it; date the dissolution on or after that day"


class MergedBeforeRecordError(RecordedBeforeError):
    """A merge dated before something registry holds of the duplicate (its RUOS papers, an application…): a merged
    record takes nothing more, so all it holds was recorded before the merge (tester 215 F4)."""

    closing = "merged_on"
    whose = "the duplicate's last record, "
    why = "a record is merged into another after what is recorded of it; date the merge on or after that day"


NOT_BEFORE_A_DISSOLUTION = frozenset({"rejected_on", "updated_on", "contact_lost_since"})
"""What a dissolution is not judged against: an application's rejection or withdrawal, which registry takes of a
dissolved OSV whatever its date (it closes the application); a change of details, whose ``updated_on`` is the day
it was recorded when none is given, so a dissolution learned of after a change of the OSV's contact channel could be
dated by no day but that one (and its ``updated_on`` cannot be corrected); and a loss of contact (tester 212 F3): staff
record that they lost touch and often learn only later that the OSV had dissolved before (often why they lost it), and a
loss cannot be corrected, so the true day could never be recorded. A loss says nothing of the OSV being there; a contact
restored does (the programme was back in touch with it), and still bounds the dissolution. Nor is a merge into another
(:meth:`Lifecycle.merge_into`), whose day bounds the survivor's dissolution."""


class ContactAlreadyLostError(ConflictError):
    def __init__(self, since: date) -> None:
        super().__init__(
            f"contact with this OSV is already lost since {since.isoformat()}",
            field="since",
            rule="contact_not_lost",
        )


class ContactNotLostError(ConflictError):
    def __init__(self) -> None:
        super().__init__(
            "contact with this OSV is not lost: there is nothing to restore",
            field="restored_on",
            rule="contact_lost",
        )


class Lifecycle:
    """Contact, dissolution and merges: a mixin of :class:`~.osvs.OSV`, one of its direct bases (the rules it calls,
    ``check_takes_record`` and the like, are the OSV's)."""

    id: UUID
    name: str
    district: str
    zone: str
    mapped_on: date
    contact_lost_since: date | None
    contact_lost_note: str | None
    contact_restored_on: date | None
    contact_first_lost_since: date | None
    contact_last_restored_on: date | None
    dissolved_on: date | None
    dissolution_reason: DissolutionReason | None
    dissolution_note: str | None
    merged_into: UUID | None
    merged_on: date | None
    merged_from: list[UUID]

    # Contact and dissolution ------------------------------------------------

    class ContactLost(Aggregate.Event):
        """The programme lost contact with the OSV from ``since``; ``note``: why, staff's words (kept in registry)."""

        since: date
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.contact_lost_since = self.since
            aggregate.contact_lost_note = self.note
            aggregate.contact_restored_on = None
            aggregate.contact_first_lost_since = min(self.since, aggregate.contact_first_lost_since or self.since)

    class ContactRestored(Aggregate.Event):
        """The programme is back in touch with the OSV from ``restored_on``."""

        restored_on: date

        def apply(self, aggregate: Any) -> None:
            aggregate.contact_lost_since = None
            aggregate.contact_lost_note = None
            aggregate.contact_restored_on = self.restored_on
            aggregate.contact_last_restored_on = max(self.restored_on, aggregate.contact_last_restored_on or self.restored_on)

    class OSVDissolved(Aggregate.Event):
        """The OSV ceased to exist on ``dissolved_on``; ``reason``: a :class:`~.details.DissolutionReason`'s value;
        ``note``: staff's words (kept in registry)."""

        dissolved_on: date
        reason: str
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.dissolved_on = self.dissolved_on
            aggregate.dissolution_reason = DissolutionReason(self.reason)
            aggregate.dissolution_note = self.note

    def lose_contact(self, since: date, note: str | None = None) -> None:
        """Record ``ContactLost``. 409 ``contact_not_lost`` when it is lost already; 422 ``not_before_<field>`` for a
        day before the mapping or the last restored contact."""
        self.check_takes_record("since", since)  # type: ignore[attr-defined]
        if self.contact_lost_since is not None:
            raise ContactAlreadyLostError(self.contact_lost_since)
        self.check_not_before_mapped("since", since)  # type: ignore[attr-defined]
        if self.contact_restored_on is not None and since < self.contact_restored_on:
            raise DateBeforeError("since", since, "last_restored_on", self.contact_restored_on)
        self.trigger_event(self.ContactLost, since=since, note=note)  # type: ignore[attr-defined]

    def restore_contact(self, restored_on: date) -> None:
        """Record ``ContactRestored``. 409 ``contact_lost`` when contact is not lost; 422 for a day before it was."""
        self.check_takes_record("restored_on", restored_on)  # type: ignore[attr-defined]
        if self.contact_lost_since is None:
            raise ContactNotLostError
        if restored_on < self.contact_lost_since:
            raise DateBeforeError("restored_on", restored_on, "since", self.contact_lost_since)
        self.trigger_event(self.ContactRestored, restored_on=restored_on)  # type: ignore[attr-defined]

    def dissolve(
        self, dissolved_on: date, reason: DissolutionReason, note: str | None = None, merged_in: Iterable[date] = ()
    ) -> None:
        """The OSV ceased to exist on ``dissolved_on``: from then on it takes no record dated after it (see
        ``check_takes_record``). Once only: a second dissolution is 409 ``osv_not_dissolved`` whatever its date.

        Not dated before what registry holds of the OSV (tester 208 F1): 422 ``not_before_mapped_on``, or
        ``not_before_<field>`` naming the last of its records (``recorded_since_mapping``: ``registered_on``,
        ``board_renewed_on``, the last ``contact_restored_on``, the last day a document was recorded, a document recorded
        again included…) or of ``merged_in`` (the days records were merged into it, ``merged_on``): each is refused dated
        after a dissolution recorded first (409 ``osv_not_dissolved``; a merge whatever its date), so a dissolution
        recorded after it is not dated before it either. The day itself is the OSV's still. A rejection, a change of
        details and a loss of contact are not judged (:data:`NOT_BEFORE_A_DISSOLUTION`).
        """
        self.check_not_dissolved()  # type: ignore[attr-defined]
        self.check_not_before_mapped("dissolved_on", dissolved_on)  # type: ignore[attr-defined]
        self.check_not_before_last_recorded(dissolved_on, merged_in, DissolvedBeforeRecordError)
        self.trigger_event(  # type: ignore[attr-defined]
            self.OSVDissolved, dissolved_on=dissolved_on, reason=str(DissolutionReason(reason)), note=note
        )

    def check_not_before_last_recorded(self, on: date, merged_in: Iterable[date], refused: type[RecordedBeforeError]) -> None:
        """The day that closes this OSV's record (``refused.closing``: its dissolution, its merge into another) is not
        before the last of what registry holds of it: ``recorded_since_mapping`` but what
        :data:`NOT_BEFORE_A_DISSOLUTION` leaves out, and ``merged_in`` (the days records were merged into it, their
        ``merged_on``). Raises ``refused`` (422 ``not_before_<field>``) naming that record and its day; the day itself is
        taken."""
        recorded = [
            *(r for r in self.recorded_since_mapping() if r[0] not in NOT_BEFORE_A_DISSOLUTION),  # type: ignore[attr-defined]
            *(("merged_on", day, "a record was merged into it") for day in merged_in),
        ]
        if recorded:
            field, day, said = max(recorded, key=lambda r: r[1])
            if on < day:
                raise refused(on, field, day, said)

    # Two records of one organisation ------------------------------------------

    class OSVMerged(Aggregate.Event):
        """The duplicate's side of a merge: this record went ``into_osv_id`` on ``merged_on``; ``district``, ``zone``
        and ``mapped_on``: where and when it was counted, for the reports that count it no more on its own."""

        into_osv_id: UUID
        merged_on: date
        district: str
        zone: str
        mapped_on: date

        def apply(self, aggregate: Any) -> None:
            aggregate.merged_into = self.into_osv_id
            aggregate.merged_on = self.merged_on

    class DuplicateMergedIn(Aggregate.Event):
        """The survivor's side of a merge, published under its own district's municipality (``OSVMerged`` goes out
        under the duplicate's): the partner and focal point of the survivor's district learn of it too."""

        duplicate_id: UUID
        merged_on: date
        duplicate_name: str
        duplicate_district: str

        def apply(self, aggregate: Any) -> None:
            aggregate.merged_from.append(self.duplicate_id)

    class DuplicateAbsorbed(Aggregate.Event):
        """The survivor's side of a merge as recorded before ``DuplicateMergedIn`` (kept private): read, never recorded now."""

        duplicate_id: UUID
        merged_on: date

        def apply(self, aggregate: Any) -> None:
            aggregate.merged_from.append(self.duplicate_id)

    def merge_into(self, survivor: OSV, merged_on: date, merged_in: Iterable[date] = ()) -> None:
        """This OSV and ``survivor`` are one organisation recorded twice: this one is merged into ``survivor``.

        Both keep their history; from then on this one takes no records and
        counts nowhere on its own. The one registered in the RUOS survives: a
        registered duplicate of an unregistered OSV is merged the other way,
        and two registered OSVs are two organisations. Neither may be dissolved,
        whatever ``merged_on`` says (409 ``osv_not_dissolved``): a merge corrects
        the records, it is no fact of the organisation's life a backlog holds.

        ``merged_on`` is not before either's mapping (422 ``not_before_mapped_on``), nor before the last of what registry
        holds of this duplicate (tester 215 F4): 422 ``not_before_<field>`` (:class:`MergedBeforeRecordError`) naming
        it, judged as a dissolution is (:meth:`check_not_before_last_recorded`; ``merged_in``: the days records were
        merged into this one, their ``merged_on``). A merged record takes nothing more, so all it holds was recorded
        before the merge; a merge dated before it read as folded before its own RUOS papers or application. The same
        records as a dissolution's, a loss of contact, a change of details and a rejection left out: the survivor's
        dissolution is bounded by ``merged_on``, so what the merge folds into it bounds that dissolution as it bounded
        the duplicate's own, and a merge that had to follow a loss of contact would keep the organisation's dissolution
        (often why contact was lost) from its true day. The survivor's own records do not bound it: they are not
        folded, stay the survivor's whatever the merge's day, and it goes on taking records after; only its mapping
        does (the record was there to take the duplicate).
        """
        if survivor.id == self.id:
            raise MergeWithItselfError
        self.check_not_dissolved("duplicate_id", f"the duplicate {self.id}")  # type: ignore[attr-defined]
        survivor.check_not_dissolved()
        registered, ruos_number = self.registered, self.ruos_number  # type: ignore[attr-defined]
        if registered and survivor.registered:
            raise MergeRegisteredError(
                f"both OSVs are registered in the RUOS ({ruos_number}, {survivor.ruos_number}): they are two organisations",
                "not_both_registered",
            )
        if registered:
            raise MergeRegisteredError(
                f"this duplicate is registered in the RUOS ({ruos_number}) and {survivor.id} is not: merge {survivor.id} into it instead",
                "keep_the_registered_osv",
            )
        self.check_not_before_mapped("merged_on", merged_on)  # type: ignore[attr-defined]
        survivor.check_not_before_mapped("merged_on", merged_on)
        self.check_not_before_last_recorded(merged_on, merged_in, MergedBeforeRecordError)
        self.trigger_event(  # type: ignore[attr-defined]
            self.OSVMerged, into_osv_id=survivor.id, merged_on=merged_on, district=self.district, zone=self.zone,
            mapped_on=self.mapped_on,
        )
        survivor.trigger_event(
            survivor.DuplicateMergedIn, duplicate_id=self.id, merged_on=merged_on, duplicate_name=self.name,
            duplicate_district=self.district,
        )
