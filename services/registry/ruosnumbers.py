"""The claims on RUOS numbers: each municipality's RUOS holds a number for one OSV, claimed in the transaction that records
the registration (:class:`~services.registry.domain.ruos.RUOSNumberIndex`); a mixin of
:class:`services.registry.application.Registry`, which gives it the OSVs, the municipalities and the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from services.registry.domain.osvs import OSV, OSVNotFoundError
from services.registry.domain.ruos import RUOSNumberIndex, RUOSNumberTakenError
from services.registry.domain.ruoskeys import ruos_number_key
from shared.roles import ALL_LIMA, MunicipalScope

if TYPE_CHECKING:
    from shared.municipalities import MunicipalityTable


class RUOSNumberClaims:
    if TYPE_CHECKING:
        municipalities: MunicipalityTable
        recorder: Any

        def get_osv(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> OSV: ...
        def load(self, aggregate_id: UUID, kind: Any, not_found: Any) -> Any: ...
        def find(self, aggregate_id: UUID, kind: Any) -> Any: ...
        def decode(self, notification: Any) -> Any: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...
        def _ruos_registered_in(self, osv: OSV) -> str: ...

    def _save_with_ruos_number(self, osv: OSV, ruos_number: str, municipality_id: str, scope: MunicipalScope = ALL_LIMA) -> None:
        """Save the registration and the claim on its number in ``municipality_id``'s RUOS in one transaction, or neither:
        409 ``ruos_number_unique`` when an OSV holds the number there (:meth:`ruos_number_holder`; another municipality's
        RUOS may hold the same, as each numbers its own). The 409 names the holder only to a caller whose ``scope``
        reaches it: a focal point learnt another district's OSV ids by trying RUOS numbers (tester 37 F6)."""
        if (holder := self.ruos_number_holder(ruos_number, municipality_id)) is not None:
            raise RUOSNumberTakenError(ruos_number, self.municipalities.find(municipality_id), *self._holder_named(holder, scope))
        try:
            claim_id = self.ruos_number_claim_id(ruos_number, municipality_id)
            self.save(osv, RUOSNumberIndex.made_under(claim_id, ruos_number, osv.id, municipality_id))
        except IntegrityError:
            # Another writer claimed the number in this RUOS (or changed the OSV) since we looked.
            if (holder := self.ruos_number_holder(ruos_number, municipality_id)) is not None:
                taken = RUOSNumberTakenError(ruos_number, self.municipalities.find(municipality_id), *self._holder_named(holder, scope))
                raise taken from None
            raise

    def _holder_named(self, osv_id: UUID, scope: MunicipalScope) -> tuple[UUID | None, str | None]:
        """The holder of an RUOS number, and the number as its registration typed it, if ``scope`` reaches it; else None twice."""
        try:
            return osv_id, self.get_osv(osv_id, scope).ruos_number
        except OSVNotFoundError:
            return None, None

    def ruos_number_holder(self, ruos_number: str, municipality_id: str) -> UUID | None:
        """The OSV holding ``ruos_number`` (compared by :func:`~services.registry.domain.ruoskeys.ruos_number_key`) in the RUOS
        of ``municipality_id`` (``mml`` or a district's ubigeo), or None.

        The claims are read, oldest first, and their numbers compared by
        today's key: a claim stored before (under the key of its day, or the
        number alone) is so found with no migration, and a restart changes
        nothing of it. A claim keyed by the number alone holds it in the RUOS
        its OSV is registered in (:meth:`_ruos_registered_in`), and in no other.
        Of two or more that are one number now (registered under an older key,
        each typed another way), the first claimed is named, even when a later
        one's id is the one today's key derives (tester 212 F6): the scan is
        made whether or not that id is found. The claim under today's id, looked
        up by it, answers only when the log lists none, and only when its number
        is the one asked for by today's key: a claim stored under an older key
        may hold the id of a number that is another now (``RUOS 1.234-2022``'s
        is ``RUOS 1-234-2022``'s), and holds its own number alone
        (:meth:`ruos_number_claim_id`).

        A claim whose OSV's registration was corrected to another number since
        (``RUOSRegistrationCorrected``) holds nothing any more (:meth:`_still_holds`):
        the number typed wrong is free for the OSV it belongs to (tester t286 F1).
        """
        key = ruos_number_key(ruos_number)
        for claimed in self._ruos_number_claims():
            if ruos_number_key(claimed.ruos_number) != key:
                continue
            claimed_in = getattr(claimed, "municipality_id", None)
            if claimed_in is None:
                claimed_in = self._ruos_registered_in(self.load(claimed.osv_id, OSV, OSVNotFoundError))
            if claimed_in == municipality_id and self._still_holds(claimed.osv_id, key):
                return UUID(str(claimed.osv_id))
        claim = self.find(RUOSNumberIndex.create_id(ruos_number, municipality_id), RUOSNumberIndex)
        live = claim is not None and ruos_number_key(claim.ruos_number) == key and self._still_holds(claim.osv_id, key)
        return claim.osv_id if live else None

    def _still_holds(self, osv_id: UUID, key: str) -> bool:
        """Whether the OSV a claim was made for is registered with the claimed number still (by today's ``key``): a claim
        is never deleted, and a registration corrected to another number leaves its first claim behind. Read only for a
        claim on the number asked about: a registration that is refused, or the rare correction's."""
        number = self.load(osv_id, OSV, OSVNotFoundError).ruos_number
        return number is not None and ruos_number_key(number) == key

    def ruos_number_claim_id(self, ruos_number: str, municipality_id: str) -> UUID:
        """The id a claim on ``ruos_number`` in the RUOS of ``municipality_id`` is made under: the first of
        :meth:`RUOSNumberIndex.claim_ids` free or holding this number by today's key (then the save is refused, the
        holder one that raced us). Two registrations of one number derive one id, so the store refuses the second. A
        claim left behind by a registration corrected to another number (:meth:`_still_holds`) is passed over: the
        number is claimed anew under the next id, which two claimants racing for it derive alike."""
        key = ruos_number_key(ruos_number)
        for claim_id in RUOSNumberIndex.claim_ids(ruos_number, municipality_id):
            claim = self.find(claim_id, RUOSNumberIndex)
            if claim is None or (ruos_number_key(claim.ruos_number) == key and self._still_holds(claim.osv_id, key)):
                return claim_id
        raise AssertionError("claim_ids has no end")  # pragma: no cover

    def _ruos_number_claims(self) -> Iterator[RUOSNumberIndex.RUOSNumberClaimed]:
        """Every claim on an RUOS number stored, oldest first (the claims' only events, read from the log)."""
        topic, position = get_topic(RUOSNumberIndex.RUOSNumberClaimed), 0
        while batch := self.recorder.select_notifications(start=position, limit=1000, topics=[topic], inclusive_of_start=False):
            yield from (self.decode(notification) for notification in batch)
            position = batch[-1].id
