"""A municipality's agreements: recorded, their commitments (staff's words, which may name people) sealed under the
agreement's own key, withheld from readers who may not read them, and forgotten on request; a mixin of
:class:`services.registry.application.Registry`, which gives it the municipalities and the store."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.registry.domain.municipalities import Agreement, Municipality, MunicipalityRecord
from shared.roles import ALL_LIMA, MunicipalScope
from shared.sealing import free_text, text_key
from shared.store import retried_on_collision


def _agreement_text(event: Any) -> UUID:
    """All the commitments of one agreement are sealed under one key, the agreement's: redacted together."""
    return text_key(event.agreement_id)


SEALED_FIELDS = {
    Municipality.AgreementSigned: free_text("commitments.*", key_of=_agreement_text),
}
"""Staff's words in a municipality's record (each commitment of an agreement): sealed."""


class MunicipalAgreements:
    if TYPE_CHECKING:
        events: Any

        def get_municipality(self, municipality_id: str, scope: MunicipalScope = ALL_LIMA) -> MunicipalityRecord: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...
        def forget_text(self, aggregate_id: UUID, up_to_version: int, *text_keys: UUID, from_version: int = 1) -> None: ...

    @retried_on_collision
    def sign_agreement(
        self, municipality_id: str, title: str, signed_on: date, commitments: list[str], document_reference: str
    ) -> tuple[MunicipalityRecord, UUID]:
        """Record an agreement signed with the municipality (``AgreementSigned``, its commitments sealed); the
        municipality and the agreement's id. 404 for a municipality not of Lima."""
        found = self.get_municipality(municipality_id)
        agreement_id = found.record.sign_agreement(title, signed_on, commitments, document_reference)
        self.save(found.record)
        return found, agreement_id

    @retried_on_collision
    def redact_agreement_commitments(self, municipality_id: str, agreement_id: UUID) -> Agreement:
        """Forget an agreement's commitments for good: each reads ``[redacted]`` from then on; its title, date and
        reference stay. The agreement as it reads then.

        The redaction is recorded first (a private ``AgreementCommitmentsRedacted``, ids only), then the key that sealed
        the commitments is deleted, and every kept answer about the municipality since the agreement was recorded. Commitments
        recorded before they were sealed are in clear in their ``AgreementSigned``: the record makes them read
        ``[redacted]``, but their words stay in the stored event (the log is append-only and hash-chained). Asked
        again, it records nothing more and answers the same. 404 for a municipality not of Lima, or ``known_agreement``
        for an agreement not of it.
        """
        municipality = self.get_municipality(municipality_id).record
        if municipality.redact_agreement_commitments(agreement_id):
            self.save(municipality)  # first: commitments stored in clear read [redacted] from then on
        recorded = self._agreement_recorded_at(municipality.id, agreement_id)
        self.forget_text(municipality.id, municipality.version, text_key(agreement_id), from_version=recorded)
        return municipality.agreement(agreement_id)

    def _agreement_recorded_at(self, municipality_uuid: UUID, agreement_id: UUID) -> int:
        """The municipality's version whose ``AgreementSigned`` recorded the agreement: answers kept about earlier
        versions cannot hold its commitments, and a redaction keeps them. Reads the municipality's events from the first
        (a redaction is rare, and a municipality has few)."""
        for domain_event in self.events.get(municipality_uuid):
            if isinstance(domain_event, Municipality.AgreementSigned) and domain_event.agreement_id == agreement_id:
                return int(domain_event.originator_version)
        return 1
