"""Funding's domain: the grants (seed funds, goods) given to OSVs, and each OSV's history of support.

Pure: aggregates, the events they record and the named errors of their rules.
Money is a Decimal to the cent beside its currency, never a float
(:mod:`shared.money`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from services.funding.domain.deliveries import DeliveredItem as DeliveredItem
from services.funding.domain.deliveries import GoodsDelivery as GoodsDelivery
from services.funding.domain.deliveries import check_not_delivered, item_mistakes
from services.funding.domain.granterrors import (
    BeyondGrantAmountError as BeyondGrantAmountError,
)
from services.funding.domain.granterrors import (
    ClosedBeforeActivityError as ClosedBeforeActivityError,
)
from services.funding.domain.granterrors import (
    ClosedBeforeEnrolmentError as ClosedBeforeEnrolmentError,
)
from services.funding.domain.granterrors import (
    GrantClosedError as GrantClosedError,
)
from services.funding.domain.granterrors import (
    GrantNotFoundError as GrantNotFoundError,
)
from services.funding.domain.granterrors import (
    GrantWithdrawnError as GrantWithdrawnError,
)
from services.funding.domain.granterrors import (
    NoItemsError as NoItemsError,
)
from services.funding.domain.granterrors import (
    NotNextTrancheError as NotNextTrancheError,
)
from services.funding.domain.granterrors import (
    NoWithdrawalNoteError as NoWithdrawalNoteError,
)
from services.funding.domain.granterrors import (
    PaidOutError as PaidOutError,
)
from services.funding.domain.granterrors import (
    SupportChangedError as SupportChangedError,
)
from services.funding.domain.granterrors import (
    TrancheRecordedError as TrancheRecordedError,
)
from services.funding.domain.granterrors import (
    WrongGrantKindError as WrongGrantKindError,
)
from services.funding.domain.granterrors import check_closed_after_project_facts
from services.funding.domain.phases import Phase, PhaseDates, phase_containing
from shared.errors import BelowOneError, check_not_before, raise_first
from shared.money import CENT, Currency, check_money


class GrantKind(StrEnum):
    SEED_FUND = "seed_fund"
    GOODS = "goods"


class Support(StrEnum):
    """Whether a grant is an OSV's first support, or repeats support given in an earlier phase."""

    FIRST_TIME = "first_time"
    REPEAT = "repeat"


class GrantOutcome(StrEnum):
    COMPLETED = "completed"
    PARTIALLY_COMPLETED = "partially_completed"
    CANCELLED = "cancelled"


class RestatementReason(StrEnum):
    """Why a grant's support mark changed after it was recorded (:meth:`Grant.restate_support`)."""

    EARLIER_GRANT_RECORDED = "earlier_grant_recorded"
    """A grant to the same OSV was recorded later with an earlier date (a paper backlog typed in)."""
    PHASE_OPENED = "phase_opened"
    """A phase was opened whose dates hold the grant: it is compared with the OSV's support before the phase, not before its day."""
    OSV_MERGED = "osv_merged"
    """A second record of the OSV, with grants of its own, was merged into it (or into the record the grant is of): the
    organisation's grants are weighed together, as reporting weighs them."""
    GRANT_WITHDRAWN = "grant_withdrawn"
    """A grant of the organisation entered in error was withdrawn (:meth:`Grant.withdraw`): it supported no one, so a
    grant it made repeat may be first-time support again."""
    PHASE_WITHDRAWN = "phase_withdrawn"
    """A phase whose dates hold the grant was withdrawn as entered in error: it is compared with the OSV's support before
    its own day again, as before that phase was opened."""


class GrantStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class WithdrawalReason(StrEnum):
    """Why a grant was withdrawn: it was entered in error, and never supported anyone (:meth:`Grant.withdraw`)."""

    ENTERED_IN_ERROR = "entered_in_error"
    """Recorded by mistake: no such grant was made."""
    DUPLICATE = "duplicate"
    """The same grant typed in twice: the other record stands."""
    WRONG_OSV = "wrong_osv"
    """Recorded on another OSV than the one granted: record it again on the right one."""
    WRONG_AMOUNT = "wrong_amount"
    """Recorded with an amount, currency or kind other than granted: record it again as it was made."""
    WRONG_DATE = "wrong_date"
    """Recorded with another day than it was granted on: record it again with its day."""


# Grants ---------------------------------------------------------------------


@dataclass(frozen=True)
class Disbursement:
    disbursement_id: UUID
    tranche: int
    amount: Decimal
    disbursed_on: date


@dataclass(frozen=True)
class Closing:
    outcome: GrantOutcome
    final_report_reference: str
    closed_on: date


@dataclass(frozen=True)
class Withdrawal:
    reason: WithdrawalReason
    withdrawn_on: date
    noted: bool = False
    """Whether staff wrote a note on it (kept sealed in the event; redacted, it is still one)."""


class Grant(Aggregate):
    """Support given to an OSV: a seed fund (a project, paid in tranches) or goods (delivered in lots).

    Neither the tranches nor the deliveries may add up to more than the grant's
    amount; once closed, a grant takes nothing more. A grant entered in error
    (nothing paid out on it, not closed) is withdrawn (:meth:`withdraw`): it
    stays in the history, counts nowhere, and takes nothing more either.
    """

    @event("FundGranted")
    def __init__(
        self,
        osv_id: UUID,
        amount: Decimal,
        currency: Currency,
        granted_on: date,
        kind: GrantKind,
        support: Support = Support.FIRST_TIME,
        proposal_id: UUID | None = None,
        round_id: UUID | None = None,
        distinct_from: list[UUID] | None = None,
    ) -> None:
        """``distinct_from``: the OSV's grants of the same kind, amount, currency and day that staff said are others
        (:mod:`.grantduplicates`); none in a ``FundGranted`` stored before it was kept."""
        self.osv_id = osv_id
        self.amount = amount
        self.currency = Currency(currency)
        self.granted_on = granted_on
        self.kind = GrantKind(kind)
        self.support = Support(support)
        self.proposal_id = proposal_id
        self.round_id = round_id
        self.distinct_from = list(distinct_from or [])
        self.deliveries: list[GoodsDelivery] = []
        self.disbursements: list[Disbursement] = []
        self.closing: Closing | None = None

    @property
    def withdrawal(self) -> Withdrawal | None:
        """How and when the grant was withdrawn as entered in error; None for one never withdrawn (those stored before
        withdrawals existed included)."""
        return self.__dict__.get("withdrawn")

    @property
    def status(self) -> GrantStatus:
        if self.withdrawal is not None:
            return GrantStatus.WITHDRAWN
        return GrantStatus.OPEN if self.closing is None else GrantStatus.CLOSED

    @property
    def delivered(self) -> Decimal:
        return sum((d.total_value for d in self.deliveries), Decimal("0.00"))

    @property
    def disbursed(self) -> Decimal:
        return sum((d.amount for d in self.disbursements), Decimal("0.00"))

    @property
    def remaining(self) -> Decimal:
        """What may still be delivered (goods) or disbursed (seed fund)."""
        return self.amount - self.delivered - self.disbursed

    @property
    def last_recorded_on(self) -> date | None:
        dates = [d.delivered_on for d in self.deliveries] + [d.disbursed_on for d in self.disbursements]
        return max(dates, default=None)

    def check_open(self) -> None:
        """409 ``grant_not_withdrawn`` for a grant withdrawn, 409 ``grant_open`` for one closed: neither takes a record."""
        if self.withdrawal is not None:
            raise GrantWithdrawnError(self.withdrawal)
        if self.closing is not None:
            raise GrantClosedError(self.closing)

    def check_kind(self, expected: GrantKind, what: str) -> None:
        if self.kind is not expected:
            raise WrongGrantKindError(self, expected, what)

    # Goods

    def deliver_goods(self, items: Sequence[DeliveredItem], delivered_on: date, distinct_from: Sequence[UUID] = ()) -> GoodsDelivery:
        """Record goods handed over; their total value (in the grant's currency, to the cent) stays within what remains of
        the grant (409 ``within_grant_amount``).

        Each item listed once (422 ``unique_item`` at ``items.<index>.item``, :func:`~.deliveries.item_mistakes`); the same
        goods on the same day as a delivery the grant holds is 409 ``possible_duplicate`` naming it, unless
        ``distinct_from`` names it (an id there that is none of those deliveries is 422 ``possible_duplicate_named``;
        :func:`~.deliveries.check_not_delivered`). Kept, ``distinct_from`` is recorded with the delivery.
        """
        self.check_kind(GrantKind.GOODS, "goods deliveries")
        self.check_open()
        check_not_before("delivered_on", delivered_on, "granted_on", self.granted_on)
        if not items:
            raise NoItemsError()
        for index, line in enumerate(items):
            if line.quantity < 1:
                raise BelowOneError(f"items.{index}.quantity", line.quantity)
            check_money(line.unit_value, f"items.{index}.unit_value")
        raise_first(item_mistakes(items))
        check_not_delivered(self.id, self.currency, self.deliveries, items, delivered_on, distinct_from)
        total = sum((line.value for line in items), Decimal("0.00"))
        if total > self.remaining:
            raise BeyondGrantAmountError(self, "a delivery", total, "items")
        self._goods_delivered(
            osv_id=self.osv_id,
            delivery_id=uuid4(),
            items=[{"item": i.item, "quantity": i.quantity, "unit_value": i.unit_value.quantize(CENT)} for i in items],
            total_value=total,
            currency=self.currency,
            delivered_on=delivered_on,
            distinct_from=list(dict.fromkeys(distinct_from)),
        )
        return self.deliveries[-1]

    @event("GoodsDelivered")
    def _goods_delivered(
        self,
        osv_id: UUID,
        delivery_id: UUID,
        items: list[dict[str, Any]],
        total_value: Decimal,
        currency: Currency,
        delivered_on: date,
        distinct_from: list[UUID] | None = None,
    ) -> None:
        """``distinct_from``: None in a ``GoodsDelivered`` stored before it was kept."""
        lines = tuple(DeliveredItem(i["item"], i["quantity"], i["unit_value"]) for i in items)
        self.deliveries.append(GoodsDelivery(delivery_id, lines, total_value, delivered_on, tuple(distinct_from or ())))

    # Seed funds

    def disburse(self, tranche: int, amount: Decimal, disbursed_on: date) -> Disbursement:
        """Pay the next tranche of a seed fund; tranches never add up to more than the grant."""
        self.check_kind(GrantKind.SEED_FUND, "disbursements")
        self.check_open()
        expected = len(self.disbursements) + 1
        if 1 <= tranche < expected:  # a resend: told it is recorded, not that its number is wrong
            raise TrancheRecordedError(self.disbursements[tranche - 1], self.currency.value, expected, paid_out=not self.remaining)
        if tranche != expected:
            raise NotNextTrancheError(tranche, expected)
        amount = check_money(amount)
        check_not_before("disbursed_on", disbursed_on, "granted_on", self.granted_on)
        if self.disbursements:
            check_not_before("disbursed_on", disbursed_on, "previous_tranche", self.disbursements[-1].disbursed_on, "the previous tranche's disbursed_on")
        if amount > self.remaining:
            raise BeyondGrantAmountError(self, f"tranche {tranche}", amount, "amount")
        self._disbursed(
            osv_id=self.osv_id,
            disbursement_id=uuid4(),
            tranche=tranche,
            amount=amount,
            currency=self.currency,
            disbursed_on=disbursed_on,
        )
        return self.disbursements[-1]

    @event("DisbursementMade")
    def _disbursed(
        self, osv_id: UUID, disbursement_id: UUID, tranche: int, amount: Decimal, currency: Currency, disbursed_on: date
    ) -> None:
        self.disbursements.append(Disbursement(disbursement_id, tranche, amount, disbursed_on))

    # Its support mark, restated

    def restate_support(self, support: Support, restated_on: date, reason: RestatementReason, caused_by: UUID) -> bool:
        """Mark the grant ``support``, as the OSV's grants and the phases now stand; whether that changed its mark.

        ``restated_on``: the day the restatement is recorded (Lima); ``caused_by``: the id of the grant recorded
        with an earlier date, or of the phase opened. The same mark again records nothing. A closed grant is
        restated too: the mark says what the support was, not what may still be recorded on it.
        """
        support = Support(support)
        if support is self.support:
            return False
        self._support_restated(
            osv_id=self.osv_id, previous_support=self.support, support=support, restated_on=restated_on,
            reason=RestatementReason(reason), caused_by=caused_by,
        )
        return True

    @event("GrantSupportRestated")
    def _support_restated(
        self, osv_id: UUID, previous_support: Support, support: Support, restated_on: date, reason: RestatementReason,
        caused_by: UUID,
    ) -> None:
        self.support = Support(support)

    # Closing

    def close(
        self, outcome: GrantOutcome, final_report_reference: str, closed_on: date, last_enrolled_on: date | None = None,
        last_held_on: date | None = None,
    ) -> Closing:
        """Close the grant with its outcome and final report; nothing is recorded on it afterwards.

        ``last_enrolled_on``: the day of the latest enrolment in its project that engagement published; ``last_held_on``:
        the day of the latest activity of its project engagement holds, not withdrawn (None: none known). 409 ``grant_open``
        or ``grant_not_withdrawn`` for a grant closed or withdrawn; 422 ``not_before_granted_on`` and
        ``not_before_last_record`` for a closing before the grant or its last tranche or delivery; 409
        ``closed_after_enrolments`` or ``closed_after_activities`` for one before either day (tester 251 F2),
        :func:`~services.funding.domain.granterrors.check_closed_after_project_facts`; the day itself is taken.
        """
        self.check_open()
        check_not_before("closed_on", closed_on, "granted_on", self.granted_on)
        check_not_before("closed_on", closed_on, "last_record", self.last_recorded_on, "the grant's last tranche or delivery, on")
        check_closed_after_project_facts(closed_on, last_enrolled_on, last_held_on)
        self._closed(
            osv_id=self.osv_id,
            outcome=GrantOutcome(outcome),
            final_report_reference=final_report_reference,
            closed_on=closed_on,
        )
        assert self.closing is not None
        return self.closing

    @event("GrantClosed")
    def _closed(self, osv_id: UUID, outcome: GrantOutcome, final_report_reference: str, closed_on: date) -> None:
        self.closing = Closing(GrantOutcome(outcome), final_report_reference, closed_on)

    # Withdrawn as entered in error

    def check_withdrawable(self) -> None:
        """A grant is withdrawn once (409 ``grant_not_withdrawn``), while open (409 ``grant_open``: a closed grant ran its
        course) and while nothing was paid out on it (409 ``nothing_paid_out``: a tranche paid or goods handed over
        supported the OSV; such a grant is closed, ``cancelled``, instead)."""
        self.check_open()
        if self.disbursements or self.deliveries:
            raise PaidOutError(self)

    def withdraw(self, reason: WithdrawalReason, note: str | None, *, today: date) -> Withdrawal:
        """Take back a grant entered in error (:meth:`check_withdrawable`); it stays in the history, marked withdrawn.

        ``today``: the day it is recorded (Lima), its ``withdrawn_on``. ``note``: staff's words on the mistake, or None
        (sealed, never published). The event repeats what the grant counted (OSV, kind, amount, currency, granted_on,
        proposal) so that a reader takes it back without reading the grant.
        """
        self.check_withdrawable()
        self._withdrawn(
            osv_id=self.osv_id, kind=self.kind, amount=self.amount, currency=self.currency, granted_on=self.granted_on,
            proposal_id=self.proposal_id, round_id=self.round_id, reason=WithdrawalReason(reason), note=note,
            withdrawn_on=today,
        )
        assert self.withdrawal is not None
        return self.withdrawal

    @event("GrantWithdrawn")
    def _withdrawn(
        self, osv_id: UUID, kind: GrantKind, amount: Decimal, currency: Currency, granted_on: date, proposal_id: UUID | None,
        round_id: UUID | None, reason: WithdrawalReason, note: str | None, withdrawn_on: date,
    ) -> None:
        self.withdrawn = Withdrawal(WithdrawalReason(reason), withdrawn_on, noted=note is not None)

    def check_note_to_forget(self) -> None:
        """409 ``withdrawal_note``: a grant never withdrawn, or withdrawn without a note, has no note to forget (a redaction
        answered 200 and staff believed they had erased something, tester 187 F7). A note already forgotten is forgotten
        again: a retry of the redaction."""
        if self.withdrawal is None or not self.withdrawal.noted:
            raise NoWithdrawalNoteError(withdrawn=self.withdrawal is not None)


# Whether support is first-time or repeat ---------------------------------


@dataclass(frozen=True)
class SupportRecord:
    grant_id: UUID
    granted_on: date
    kind: GrantKind
    amount: Decimal | None = None
    currency: Currency | None = None
    """The grant's amount and currency, for the check of a possible duplicate without reading the grant; None for one
    entered before they were recorded here, or merged in (the check reads that grant)."""


class SupportHistory(Aggregate):
    """The grants one OSV received, by date: says whether a new grant is first-time or repeat support.

    One per OSV, its id worked out from the OSV's, and saved in the same
    transaction as each grant: two grants to one OSV at once conflict in the
    store rather than both entering a stale history. It also lists the OSV's
    grants without reading every grant. Bookkeeping only: its events never
    leave the service.
    """

    FLAT_COPIED = ("grants",)
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

    @staticmethod
    def create_id(osv_id: UUID, **_: object) -> UUID:
        return SupportHistory.id_for(osv_id)

    @staticmethod
    def id_for(osv_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:funding:support-of:{osv_id}")

    @event("SupportHistoryOpened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.grants: list[SupportRecord] = []

    @property
    def merged_in(self) -> list[SupportRecord]:
        """The grants of the OSV's other records merged into it (:meth:`take_merged`): weighed with its own, never listed
        as its (none in a history no merge was taken into)."""
        return self.__dict__.get("merged_grants", [])

    @property
    def absorbed(self) -> list[UUID]:
        """The OSV records whose grants were merged in."""
        return self.__dict__.get("merged_records", [])

    @property
    def organisation_grants(self) -> list[SupportRecord]:
        """The OSV's own grants and those of the records merged into it: the organisation's, as reporting counts it."""
        merged = self.merged_in
        return [*self.grants, *merged] if merged else self.grants

    def support_for(self, granted_on: date, phases: Iterable[Phase | PhaseDates]) -> Support:
        """Repeat when the OSV (with the records merged into it) was granted support in a phase before the one containing
        ``granted_on``.

        A grant outside every phase is compared with the OSV's grants by day:
        repeat when it had one on an earlier day (phases may be opened later,
        and reporting then groups the same dates by phase itself).
        """
        phase = phase_containing(granted_on, phases)
        before = phase.starts_on if phase is not None else granted_on
        return Support.REPEAT if any(g.granted_on < before for g in self.organisation_grants) else Support.FIRST_TIME

    def marks(self, phases: Iterable[Phase | PhaseDates]) -> dict[UUID, Support]:
        """Every grant of the organisation (its own and those merged in), marked as the grants and ``phases`` now stand."""
        phases = list(phases)
        return {g.grant_id: self.support_for(g.granted_on, phases) for g in self.organisation_grants}

    def take_merged(self, osv_id: UUID, records: Iterable[SupportRecord]) -> bool:
        """Weigh the grants of ``osv_id``, a record of this OSV merged into it (``records``: its own and those merged into
        it before), with this OSV's from now on; whether it did (a record taken before is not taken again). Restate the
        organisation's grants whose mark this changes (:meth:`marks`), in the same save."""
        if osv_id in self.absorbed or osv_id == self.osv_id:
            return False
        records = list(records)
        self._merged_in(
            osv_id=osv_id, grant_ids=[r.grant_id for r in records], granted_ons=[r.granted_on for r in records],
            kinds=[r.kind.value for r in records],
        )
        return True

    @event("RecordsMergedIn")
    def _merged_in(self, osv_id: UUID, grant_ids: list[UUID], granted_ons: list[date], kinds: list[str]) -> None:
        self.merged_records = [*self.absorbed, osv_id]
        self.merged_grants = [*self.merged_in, *(SupportRecord(g, d, GrantKind(k)) for g, d, k in zip(grant_ids, granted_ons, kinds, strict=True))]

    @property
    def grant_ids(self) -> list[UUID]:
        """The OSV's own grants, withdrawn ones included (they are listed, marked withdrawn)."""
        return [g.grant_id for g in self.grants] + self.withdrawn_grants

    @property
    def withdrawn_grants(self) -> list[UUID]:
        """The OSV's grants withdrawn as entered in error: listed, never weighed."""
        return self.__dict__.get("withdrawn_ids", [])

    def take_withdrawn(self, grant_id: UUID) -> bool:
        """Weigh the grant ``grant_id`` no more (withdrawn as entered in error: it supported no one), whether it is this
        OSV's or a merged record's; whether this history held it. Restate the organisation's grants whose mark this
        changes (:meth:`marks`), in the same save as the withdrawal."""
        if not any(g.grant_id == grant_id for g in self.organisation_grants):
            return False
        self._support_withdrawn(grant_id=grant_id)
        return True

    @event("SupportWithdrawn")
    def _support_withdrawn(self, grant_id: UUID) -> None:
        if any(g.grant_id == grant_id for g in self.grants):
            self.grants = [g for g in self.grants if g.grant_id != grant_id]
            self.withdrawn_ids = [*self.withdrawn_grants, grant_id]
        if any(g.grant_id == grant_id for g in self.merged_in):
            self.merged_grants = [g for g in self.merged_in if g.grant_id != grant_id]

    def enter(self, grant: Grant, phases: Iterable[Phase | PhaseDates]) -> None:
        """Enter a new grant, which must be marked as this history, as it stands, marks it.

        A grant decided from a history that has learnt of another grant since
        (say, one in an earlier phase) is refused rather than stored stale.
        """
        marked = self.support_for(grant.granted_on, phases)
        if grant.support is not marked:
            raise SupportChangedError(grant.support, marked)
        self._recorded(grant_id=grant.id, granted_on=grant.granted_on, kind=grant.kind, amount=grant.amount, currency=grant.currency)

    @event("SupportRecorded")
    def _recorded(
        self, grant_id: UUID, granted_on: date, kind: GrantKind, amount: Decimal | None = None, currency: Currency | None = None
    ) -> None:
        """``amount`` and ``currency``: None in those recorded before the check of a possible duplicate read them here."""
        self.grants.append(SupportRecord(grant_id, granted_on, GrantKind(kind), amount, None if currency is None else Currency(currency)))

    def made_repeat_by(self, granted_on: date, phases: Iterable[Phase | PhaseDates]) -> list[UUID]:
        """The entered grants, first-time support as this history stands, that a grant dated ``granted_on`` makes repeat
        support: those whose phase (or, outside every phase, whose day) it comes before. Entered in date order (the
        usual case), it makes none; only a grant typed in late with an earlier date does. Restate each
        (:meth:`Grant.restate_support`) in the save that enters it. No grant is read: a grant's mark is what its
        history makes it (entered so, restated so).
        """
        earliest = min((g.granted_on for g in self.organisation_grants), default=granted_on)
        if earliest <= granted_on:  # every grant dated after it was repeat already, or is in its phase or on its day
            return []
        phases = list(phases)
        made: list[UUID] = []
        for record in self.organisation_grants:
            phase = phase_containing(record.granted_on, phases)
            before = phase.starts_on if phase is not None else record.granted_on
            if granted_on < before <= earliest:  # first-time until now: the history had no grant before it
                made.append(record.grant_id)
        return made

    def marks_in(self, opened: Phase | PhaseDates) -> dict[UUID, Support]:
        """Each entered grant dated within the phase ``opened``, with its mark once that phase is open: repeat when the
        OSV had a grant before the phase starts. Only these can change when a phase is opened (a grant outside it
        keeps its phase, or its day, to be compared with)."""
        grants = self.organisation_grants
        earlier = any(g.granted_on < opened.starts_on for g in grants)
        mark = Support.REPEAT if earlier else Support.FIRST_TIME
        return {g.grant_id: mark for g in grants if opened.starts_on <= g.granted_on <= opened.ends_on}

    def take_phase(self, code: str) -> None:
        """Note that the phase ``code``, opened, holds grants of this history, whose marks were checked against it.

        Saved with the phase: a grant to this OSV decided meanwhile from the calendar without that phase then
        conflicts with it in the store, and is decided again from the calendar with it.
        """
        self._phase_taken(code=code)

    @event("PhaseTaken")
    def _phase_taken(self, code: str) -> None:
        pass

    def give_back_phase(self, code: str) -> None:
        """Note that the phase ``code``, withdrawn, held grants of this history, whose marks were checked without it: saved
        with the withdrawal, so a grant to this OSV decided meanwhile from the calendar with that phase conflicts with it."""
        self._phase_given_back(code=code)

    @event("PhaseGivenBack")
    def _phase_given_back(self, code: str) -> None:
        pass


def grant_support(
    osv_id: UUID,
    amount: Decimal,
    currency: Currency,
    granted_on: date,
    kind: GrantKind,
    history: SupportHistory,
    phases: Iterable[Phase | PhaseDates],
    *,
    proposal_id: UUID | None = None,
    round_id: UUID | None = None,
    mapped_on: date | None = None,
    distinct_from: Sequence[UUID] = (),
) -> Grant:
    """A new grant to an OSV, marked first-time or repeat from its history; never dated before the OSV was mapped.

    Enter it in the history (:meth:`SupportHistory.enter`) and save both together.
    """
    check_not_before("granted_on", granted_on, "mapped_on", mapped_on)
    return Grant(
        osv_id=osv_id,
        amount=check_money(amount),
        currency=Currency(currency),
        granted_on=granted_on,
        kind=GrantKind(kind),
        support=history.support_for(granted_on, phases),
        proposal_id=proposal_id,
        round_id=round_id,
        distinct_from=list(distinct_from),
    )


def grant_fund(osv_id: UUID, amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind) -> Grant:
    """Grant support to an OSV with no history of support (the amount must be positive, to the cent)."""
    return grant_support(osv_id, amount, currency, granted_on, kind, SupportHistory(osv_id=osv_id), [])
