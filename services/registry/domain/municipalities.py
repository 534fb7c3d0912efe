"""Registry's domain: the municipalities that keep the RUOS, and what the programme knows of each.

Pure: the aggregate that records changes to one municipality, and the named
errors of its rules (the reference data, the MML and the 43 district
municipalities, is :mod:`shared.municipalities`). The practice's lessons live
here: officials rotate, so every municipality keeps the history of its focal
points and the agreements that outlive them; districts refuse migrants'
identity documents, so each knows which document types it accepts.

A focal point is a post (an office and a role), never a person: officials'
names are personal data and do not belong in events. An agreement's
commitments are staff's words, which may name people all the same: the
service seals them (:mod:`services.registry.agreements`), and a redaction
recorded here makes them read ``[redacted]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from services.registry.domain.postnames import PersonNamedError as PersonNamedError
from services.registry.domain.postnames import people_named
from shared.documents import DocumentType
from shared.errors import ConflictError, DateBeforeError, NotFoundError, RuleViolationError, raise_first
from shared.municipalities import MunicipalityReference
from shared.sealing import REDACTED_TEXT

# What a municipality accepts until the programme records otherwise: the Peruvian
# identity documents (DNI for nationals; carné de extranjería, PTP and CPP, issued
# by Migraciones to foreigners). The practice found districts refusing the rest —
# a Venezuelan cédula, a passport, an asylum claim, no document — so assuming a
# district accepts only these flags the OSVs at risk before they apply.
DEFAULT_ACCEPTED_DOCUMENTS: tuple[DocumentType, ...] = (
    DocumentType.DNI,
    DocumentType.CE,
    DocumentType.PTP,
    DocumentType.CPP,
)


def municipality_uuid(municipality_id: str) -> UUID:
    """The fixed id of a municipality's aggregate: the same on every machine and every rebuild."""
    return uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:municipality:{municipality_id}")


# Named errors -----------------------------------------------------------


class MunicipalityNotFoundError(NotFoundError):
    """A municipality outside the caller's scope, or an id that names none, to a caller who does not see all of Lima:
    the plain words of any record outside its scope, which tell neither from the other."""

    def __init__(self, municipality_id: str) -> None:
        super().__init__(f"municipality '{municipality_id}' was not found", field="municipality_id", rule="known_municipality")


class FocalPointNotFoundError(NotFoundError):
    def __init__(self, focal_point_id: object) -> None:
        super().__init__(f"focal point {focal_point_id} is not recorded for this municipality", field="focal_point_id", rule="known_focal_point")


class AgreementNotFoundError(NotFoundError):
    def __init__(self, agreement_id: object) -> None:
        super().__init__(f"agreement {agreement_id} is not recorded for this municipality", field="agreement_id", rule="known_agreement")


class FocalPointAlreadyLeftError(ConflictError):
    def __init__(self, left_on: date) -> None:
        super().__init__(
            f"this focal point already left on {left_on.isoformat()}",
            field="left_on",
            rule="leave_once",
        )



class AcceptedDocumentsUnchangedError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "the municipality already accepts exactly these document types: nothing to record",
            field="accepted",
            rule="change_required",
        )


# The aggregate ----------------------------------------------------------


@dataclass
class FocalPoint:
    focal_point_id: UUID
    office: str
    role: str
    assigned_on: date
    left_on: date | None = None

    @property
    def current(self) -> bool:
        return self.left_on is None


@dataclass(frozen=True)
class AcceptedDocumentsChange:
    accepted: list[DocumentType]
    changed_on: date


@dataclass(frozen=True)
class Agreement:
    agreement_id: UUID
    title: str
    signed_on: date
    commitments: list[str]
    """Staff's words, which may name people: sealed in the store under the agreement's own key, each
    :data:`~shared.sealing.REDACTED_TEXT` once forgotten."""
    document_reference: str
    redacted: bool = False
    """Whether a redaction of its commitments was recorded (``AgreementCommitmentsRedacted``)."""


def ordered_types(types: Iterable[str]) -> list[DocumentType]:
    """Document types without repeats, in the enumeration's order."""
    given = {DocumentType(t) for t in types}
    return [t for t in DocumentType if t in given]


class Municipality(Aggregate):
    """What the programme has recorded about one municipality; created by its first recorded change."""

    @staticmethod
    def create_id(municipality_id: str) -> UUID:
        return municipality_uuid(municipality_id)

    @event("MunicipalityRecordOpened")
    def __init__(self, municipality_id: str) -> None:
        self.municipality_id = municipality_id
        self.accepted: list[DocumentType] = list(DEFAULT_ACCEPTED_DOCUMENTS)
        self.accepted_history: list[AcceptedDocumentsChange] = []
        self.focal_points: list[FocalPoint] = []
        self.agreements: list[Agreement] = []

    @property
    def current_focal_point(self) -> FocalPoint | None:
        return next((f for f in reversed(self.focal_points) if f.current), None)

    @property
    def accepted_changed_on(self) -> date | None:
        return self.accepted_history[-1].changed_on if self.accepted_history else None

    # Accepted identity documents ----------------------------------------

    def change_accepted_documents(self, accepted: Iterable[str], changed_on: date) -> None:
        new = ordered_types(accepted)
        if new == self.accepted:
            raise AcceptedDocumentsUnchangedError
        last = self.accepted_changed_on
        if last is not None and changed_on < last:
            raise DateBeforeError("changed_on", changed_on, "last_changed_on", last)
        self._accepted_documents_changed(
            municipality_id=self.municipality_id, accepted=[str(t) for t in new], changed_on=changed_on
        )

    @event("AcceptedDocumentsChanged")
    def _accepted_documents_changed(self, municipality_id: str, accepted: list[str], changed_on: date) -> None:
        self.accepted = ordered_types(accepted)
        self.accepted_history.append(AcceptedDocumentsChange(list(self.accepted), changed_on))

    # Focal points --------------------------------------------------------

    def assign_focal_point(self, office: str, role: str, assigned_on: date) -> UUID:
        """A new focal point; the current one, if any, leaves on the same day (a rotation). With none, the post was
        vacant since the last one left: the new one is assigned on or after that day (422 ``not_before_last_left_on``;
        an earlier date left two or three posts open at once, tester 37 F7)."""
        raise_first(people_named(office=office, role=role))
        current = self.current_focal_point
        if current is None:
            last_left = max((f.left_on for f in self.focal_points if f.left_on is not None), default=None)
            if last_left is not None and assigned_on < last_left:
                raise DateBeforeError("assigned_on", assigned_on, "last_left_on", last_left)
        if current is not None:
            if assigned_on < current.assigned_on:
                raise DateBeforeError("assigned_on", assigned_on, "current_assigned_on", current.assigned_on)
            self._focal_point_left(
                municipality_id=self.municipality_id, focal_point_id=current.focal_point_id, left_on=assigned_on
            )
        focal_point_id = uuid4()
        self._focal_point_assigned(
            municipality_id=self.municipality_id,
            focal_point_id=focal_point_id,
            office=office,
            role=role,
            assigned_on=assigned_on,
        )
        return focal_point_id

    def record_focal_point_departure(self, focal_point_id: UUID, left_on: date) -> None:
        focal_point = self.focal_point(focal_point_id)
        if focal_point.left_on is not None:
            raise FocalPointAlreadyLeftError(focal_point.left_on)
        if left_on < focal_point.assigned_on:
            raise DateBeforeError("left_on", left_on, "assigned_on", focal_point.assigned_on)
        self._focal_point_left(municipality_id=self.municipality_id, focal_point_id=focal_point_id, left_on=left_on)

    def focal_point(self, focal_point_id: UUID) -> FocalPoint:
        for focal_point in self.focal_points:
            if focal_point.focal_point_id == focal_point_id:
                return focal_point
        raise FocalPointNotFoundError(focal_point_id)

    @event("FocalPointAssigned")
    def _focal_point_assigned(
        self, municipality_id: str, focal_point_id: UUID, office: str, role: str, assigned_on: date
    ) -> None:
        self.focal_points.append(FocalPoint(focal_point_id, office, role, assigned_on))

    @event("FocalPointLeft")
    def _focal_point_left(self, municipality_id: str, focal_point_id: UUID, left_on: date) -> None:
        self.focal_point(focal_point_id).left_on = left_on

    # Agreements ------------------------------------------------------------

    def sign_agreement(self, title: str, signed_on: date, commitments: list[str], document_reference: str) -> UUID:
        agreement_id = uuid4()
        self._agreement_signed(
            municipality_id=self.municipality_id,
            agreement_id=agreement_id,
            title=title,
            signed_on=signed_on,
            commitments=list(commitments),
            document_reference=document_reference,
        )
        return agreement_id

    def agreement(self, agreement_id: UUID) -> Agreement:
        """The agreement; :class:`AgreementNotFoundError` (404 ``known_agreement``) for one not of this municipality."""
        found = next((a for a in self.agreements if a.agreement_id == agreement_id), None)
        if found is None:
            raise AgreementNotFoundError(agreement_id)
        return found

    @event("AgreementSigned")
    def _agreement_signed(
        self,
        municipality_id: str,
        agreement_id: UUID,
        title: str,
        signed_on: date,
        commitments: list[str],
        document_reference: str,
    ) -> None:
        self.agreements.append(Agreement(agreement_id, title, signed_on, list(commitments), document_reference))

    def redact_agreement_commitments(self, agreement_id: UUID) -> bool:
        """Record that an agreement's commitments are forgotten; False if that was recorded already (nothing recorded).

        The record is what makes commitments stored in clear (an agreement signed before they were sealed, whose key
        deletion forgets nothing) read :data:`~shared.sealing.REDACTED_TEXT` too. Raises :class:`AgreementNotFoundError`.
        """
        if self.agreement(agreement_id).redacted:
            return False
        self._agreement_commitments_redacted(municipality_id=self.municipality_id, agreement_id=agreement_id)
        return True

    @event("AgreementCommitmentsRedacted")
    def _agreement_commitments_redacted(self, municipality_id: str, agreement_id: UUID) -> None:
        self.agreements = [
            replace(a, commitments=[REDACTED_TEXT] * len(a.commitments), redacted=True) if a.agreement_id == agreement_id else a
            for a in self.agreements
        ]


@dataclass
class MunicipalityRecord:
    """A municipality as the API shows it: its reference data and what was recorded about it."""

    reference: MunicipalityReference
    record: Municipality
