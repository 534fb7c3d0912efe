"""An OSV's history and a municipality's, the auditors' trail of the events registry stored (:mod:`shared.history`).

An OSV's staff's words are sealed and withheld from readers who may not read them, and forgotten one event at a time (the
redaction recorded on the OSV, :mod:`services.registry.domain.historyredactions`, and the event's key deleted). A
municipality's history tells who assigned each focal point and recorded its departure, who changed the accepted identity
documents, who recorded each agreement and its redaction; an agreement's commitments there read as in the OSV's history
(:mod:`services.registry.agreements`). Mixins of :class:`services.registry.application.Registry`, which gives them the
OSV, the municipality and the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.registry.domain.municipalities import Municipality, MunicipalityRecord
from services.registry.domain.osvs import OSV
from shared.errors import NotFoundError, RuleViolationError
from shared.history import RecordedEvent, stored_history
from shared.roles import ALL_LIMA, MunicipalScope
from shared.sealing import REDACTED_TEXT, Seal, free_text, text_key, withheld
from shared.store import retried_on_collision


def _history_text(event: Any) -> UUID:
    """Each event of an OSV's history seals its staff's words under a key of its own: redacted one by one."""
    return text_key(event.originator_id, event.originator_version)


SEALED_FIELDS = {
    OSV.RUOSApplicationObserved: free_text("reasons.*.detail", key_of=_history_text),
    OSV.RUOSApplicationRejected: free_text("note", key_of=_history_text),
    OSV.ContactLost: free_text("note", key_of=_history_text),
    OSV.OSVDissolved: free_text("note", key_of=_history_text),
    OSV.RUOSObservationWithdrawn: free_text("reason", key_of=_history_text),
    OSV.RUOSRejectionWithdrawn: free_text("reason", key_of=_history_text),
}
"""Staff's words in an OSV's history (an observation's detail, a rejection's, contact-lost and dissolution notes, why an
observation or a rejection was withdrawn): sealed."""

SEALS_BY_TYPE: dict[str, Seal] = {kind.__name__: seal for kind, seal in SEALED_FIELDS.items()}
""":data:`SEALED_FIELDS` by the name an event of the history is read under (``ContactLost``…)."""

COUNTS_OF_REFUSED_DOCUMENTS = {
    OSV.RUOSApplicationSubmitted.__name__: ("board_members_with_unaccepted_documents", "members_with_unaccepted_documents"),
}
"""The fields of an OSV's history that count the people holding identity documents the municipality refuses: shown to a
reader of personal data only, null to others (an auditor reads ``id_documents_flagged`` beside them). Read against the
joinings and departures of ``GET /events``, the counts of an application filed again told which member holds one, their
migration status, as the readiness's counts did (tester 176 F1)."""


class HistoryEventNotFoundError(NotFoundError):
    def __init__(self, version: int) -> None:
        super().__init__(f"this OSV has no event at version {version}", field="version", rule="known_version")


class NoFreeTextError(RuleViolationError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"the {kind} event at this version holds no staff text to redact", field="version", rule="event_with_free_text")


class OSVHistory:
    if TYPE_CHECKING:
        def get_osv(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> OSV: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...
        def forget_text(self, aggregate_id: UUID, up_to_version: int, *text_keys: UUID, from_version: int = 1) -> None: ...

    def osv_history(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA, text: bool = True) -> list[RecordedEvent]:
        """The OSV's events as registry stored them, oldest first: the audit trail, each with who made the command that
        recorded it (:mod:`shared.actors`).

        The staff's words (:data:`SEALED_FIELDS`) as written when ``text`` (a reader who may read them, see
        :attr:`shared.roles.Caller.may_read_staff_text`, the readers of personal data), else each reads
        :data:`~shared.roles.WITHHELD_TEXT`; so too :data:`COUNTS_OF_REFUSED_DOCUMENTS`, else null. Those of an event
        whose redaction the OSV recorded (:attr:`~services.registry.domain.osvs.OSV.redacted_history`) read
        :data:`~shared.sealing.REDACTED_TEXT` to every reader, a note stored in clear before registry sealed them too.
        """
        osv = self.get_osv(osv_id, scope)
        history = stored_history(self, osv_id, text, redacted=lambda event: event.originator_version in osv.redacted_history)
        for recorded in history:
            if not text:
                for field in COUNTS_OF_REFUSED_DOCUMENTS.get(recorded.type, ()):
                    if field in recorded.data:
                        recorded.data[field] = None
        return history

    @retried_on_collision
    def redact_history_text(self, osv_id: UUID, version: int) -> list[RecordedEvent]:
        """Forget for good the staff's words one event of the OSV's history holds: they read ``[redacted]`` from then
        on; the event and its facts stay. The OSV's history as it reads then.

        For a note that named a person, or said what it should not. The redaction is recorded first (a private
        ``HistoryTextRedacted`` on the OSV, the version only), then the key that sealed the words is deleted, and every
        kept answer about the OSV from that version on. Words stored before registry sealed them are in clear in their
        event: the record makes them read ``[redacted]``, but they stay in the stored event (the log is append-only and
        hash-chained). An event whose words are forgotten already (or that holds none: a note left null) records
        nothing: asked again, it deletes nothing more and answers the same. 404 ``known_osv``; 404 ``known_version`` for
        a version the OSV has no event at; 422 ``event_with_free_text`` for an event of a kind that holds no staff text.
        """
        osv = self.get_osv(osv_id)
        recorded = next((e for e in self.osv_history(osv_id) if e.version == version), None)
        if recorded is None:
            raise HistoryEventNotFoundError(version)
        seal = SEALS_BY_TYPE.get(recorded.type)
        if seal is None:
            raise NoFreeTextError(recorded.type)
        if withheld(recorded.data, seal, REDACTED_TEXT) != recorded.data and osv.redact_history_text(version):
            self.save(osv)  # first: words stored in clear read [redacted] from then on
        self.forget_text(osv_id, osv.version, text_key(osv_id, version), from_version=version)  # answers before it never held it
        return self.osv_history(osv_id)


class MunicipalityHistory:
    if TYPE_CHECKING:
        def get_municipality(self, municipality_id: str, scope: MunicipalScope = ALL_LIMA) -> MunicipalityRecord: ...

    def municipality_history(self, municipality_id: str, scope: MunicipalScope = ALL_LIMA, text: bool = True) -> list[RecordedEvent]:
        """The municipality's events as registry stored them, oldest first (``MunicipalityRecordOpened``, then each
        ``FocalPointAssigned``, ``FocalPointLeft``, ``AcceptedDocumentsChanged``, ``AgreementSigned`` and
        ``AgreementCommitmentsRedacted``), each with who made the command that recorded it (:mod:`shared.actors`); empty
        for a municipality nothing was recorded about.

        An agreement's commitments as written when ``text`` (:attr:`shared.roles.Caller.may_read_staff_text`), else each
        :data:`~shared.roles.WITHHELD_TEXT`; :data:`~shared.sealing.REDACTED_TEXT` to every reader once the municipality
        recorded their redaction (those stored in clear before registry sealed them too). 404 ``known_municipality`` as
        :meth:`~services.registry.application.Registry.get_municipality` (none of Lima's, or outside ``scope``).
        """
        municipality = self.get_municipality(municipality_id, scope).record

        def redacted(event: Any) -> bool:
            return isinstance(event, Municipality.AgreementSigned) and municipality.agreement(event.agreement_id).redacted

        return stored_history(self, municipality.id, text, redacted=redacted)
