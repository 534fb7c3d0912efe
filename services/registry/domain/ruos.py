"""Registry's domain: the RUOS application an OSV files with a municipality, and the claim on its RUOS number.

Pure. The application follows Ordenanza 1762-2013-MML (amended by
2363-2021-MML): the OSV files its documents, the municipality may observe the
application and give a deadline in working days to amend it, then registers or
rejects it. The OSV aggregate (:mod:`.osvs`) records each step; this module
holds the application's state, its documents and the rules of its steps.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.registry.domain.ruoskeys import legacy_ruos_number_key, ruos_number_key
from services.registry.domain.workingdays import WorkingCalendar
from shared.errors import ConflictError, DateBeforeError, ForbiddenError, NotFoundError, RuleViolationError, raise_first
from shared.municipalities import MML_ID, MunicipalityReference
from shared.roles import MunicipalScope


class RUOSDocument(StrEnum):
    """The documents an RUOS application files (Ordenanza 1762-2013-MML); all are required."""

    ACTA_CONSTITUCION = "acta_constitucion"
    ESTATUTO = "estatuto"
    ACTA_APROBACION_ESTATUTO = "acta_aprobacion_estatuto"
    ACTA_ELECCION_JUNTA_DIRECTIVA = "acta_eleccion_junta_directiva"
    NOMINA_JUNTA_DIRECTIVA = "nomina_junta_directiva"
    PADRON_SOCIOS = "padron_socios"
    CROQUIS = "croquis"


REQUIRED_DOCUMENTS: tuple[RUOSDocument, ...] = tuple(RUOSDocument)


class ObservationReason(StrEnum):
    MISSING_DOCUMENT = "missing_document"
    DOCUMENT_DEFECTIVE = "document_defective"
    ID_DOCUMENT_NOT_ACCEPTED = "id_document_not_accepted"
    """The municipality refused a member's or board member's identity document: the practice's lesson b."""
    BOARD_TERM_EXPIRED = "board_term_expired"
    SIGNATURES_MISSING = "signatures_missing"
    OTHER = "other"


class RejectionReason(StrEnum):
    AMENDMENT_DEADLINE_MISSED = "amendment_deadline_missed"
    REQUIREMENTS_NOT_MET = "requirements_not_met"
    NOT_ELIGIBLE = "not_eligible"
    WITHDRAWN = "withdrawn"
    OTHER = "other"


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    OBSERVED = "observed"
    AMENDED = "amended"
    REGISTERED = "registered"
    REJECTED = "rejected"


UNDER_REVIEW = (ApplicationStatus.SUBMITTED, ApplicationStatus.AMENDED)
OPEN = (*UNDER_REVIEW, ApplicationStatus.OBSERVED)
STATE_RULES = {
    UNDER_REVIEW: "application_under_review",
    (ApplicationStatus.OBSERVED,): "application_observed",
    OPEN: "application_open",
}


def documents_in_order(documents: Iterable[str]) -> list[RUOSDocument]:
    """Documents without repeats, in the order the ordinance lists them."""
    given = {RUOSDocument(d) for d in documents}
    return [d for d in RUOSDocument if d in given]


def missing_from(documents: Iterable[str]) -> list[RUOSDocument]:
    have = {RUOSDocument(d) for d in documents}
    return [d for d in REQUIRED_DOCUMENTS if d not in have]


def document_mistakes(documents: Sequence[str | None]) -> Iterator[RuleViolationError]:
    """Every document filed (with an application, an amendment) that an earlier entry of the same list names (422
    ``unique_documents``, each naming the earlier entry): each of the ordinance's documents is filed once, and a repeat
    is a slip (the other document meant, or the same ticked twice). A document recorded before
    (``POST /osvs/{osv_id}/documents``) may be filed again: the OSV's one list takes it once. A row None is skipped."""
    first: dict[RUOSDocument, int] = {}
    for index, given in enumerate(documents):
        if given is None:
            continue
        document = RUOSDocument(given)
        if document in first:
            yield RepeatedDocumentError(index, document, first[document])
        first.setdefault(document, index)


def check_documents_once(documents: Sequence[str]) -> None:
    """The first of :func:`document_mistakes`, raised."""
    raise_first(document_mistakes(documents))


def check_reasons_once(reasons: Sequence[Mapping[str, str | None]]) -> None:
    """An observation's reasons, each once: 422 ``unique_reasons`` for one repeating an earlier one's code and words (the
    indicator counted a code given twice twice, tester 37 F5); a code may come again with other words."""
    first: dict[tuple[str, str | None], int] = {}
    for index, reason in enumerate(reasons):
        seen = first.setdefault((str(reason["code"]), reason.get("detail")), index)
        if seen != index:
            raise RepeatedReasonError(index, str(reason["code"]), seen)


# Named errors -----------------------------------------------------------


class AlreadyRegisteredError(ConflictError):
    """An application or a registration of an OSV registered in the RUOS already. The conflict is the OSV's, whatever the
    request says: it names ``osv_id``, the path's OSV, as the other conflicts with an OSV's state do (an application
    has no ``ruos_number`` to name, tester 208 F9)."""

    def __init__(self, ruos_number: str, registered_on: date) -> None:
        super().__init__(
            f"this OSV is already registered in the RUOS as {ruos_number} on {registered_on.isoformat()}",
            field="osv_id",
            rule="register_once",
        )


class RUOSNumberTakenError(ConflictError):
    def __init__(
        self, ruos_number: str, municipality: MunicipalityReference, osv_id: object | None, held_as: str | None = None
    ) -> None:
        """The number is held in ``municipality``'s RUOS (each municipality numbers its own: another's may hold the same);
        ``osv_id`` None: the holder is not the caller's to know of (an OSV outside its reach). ``held_as``: the number as
        the holder's registration typed it, said when it differs from ``ruos_number`` (a focal point was told their own
        typing "already held", and could not see why: tester 215 F1)."""
        typed = (
            f", typed '{held_as}' (the same number: case, separators, dots, a number sign and leading zeros make no new one)"
            if held_as is not None and held_as != ruos_number else ""
        )
        super().__init__(
            f"RUOS number {ruos_number} is already held in the RUOS of {municipality.name} ('{municipality.id}') by "
            + (f"OSV {osv_id}{typed}" if osv_id is not None else "another OSV"),
            field="ruos_number",
            rule="ruos_number_unique",
        )

class ApplicationOpenError(ConflictError):
    def __init__(self, application: RUOSApplication) -> None:
        super().__init__(
            f"RUOS application {application.application_id} is still {application.status} "
            f"(submitted on {application.submitted_on.isoformat()}): one open application at a time",
            field="application_id",
            rule="one_open_application",
        )


class ApplicationNotFoundError(NotFoundError):
    def __init__(self, application_id: object) -> None:
        super().__init__(f"RUOS application {application_id} is not one of this OSV's applications", field="application_id", rule="known_application")


class NotRegisteredError(ConflictError):
    def __init__(self, step: str = "a board renewal is recorded") -> None:
        super().__init__(
            f"this OSV is not registered in the RUOS: {step} only for a registered OSV",
            field="osv_id",
            rule="registered_in_ruos",
        )


class AnotherMunicipalitysRUOSError(ForbiddenError):
    """A step in the RUOS of a municipality the caller does not record for (a district's focal point and the MML's RUOS,
    the MML's focal point and a district's). The caller reads the OSV and its application, so the 403 names the
    municipality whose record it is, by id and name: nothing it does not read already."""

    def __init__(self, municipality: MunicipalityReference, step: str) -> None:
        super().__init__(
            f"{step} is in the RUOS of {municipality.name} ('{municipality.id}'): that municipality's focal point or "
            "programme staff record it; a focal point records its own municipality's RUOS decisions only",
            field="municipality_id",
            rule="own_municipality_ruos",
        )
        self.extensions = {"municipality_id": municipality.id, "municipality_name": municipality.name}


class RegisteringMunicipalityUnknownError(RuleViolationError):
    def __init__(self, district_ubigeo: str | None) -> None:
        own = f"'{district_ubigeo}', its district's, or " if district_ubigeo is not None else ""
        super().__init__(
            f"say which municipality's RUOS registered this OSV: {own}'{MML_ID}'. A focal point who records for one of "
            "them alone may leave it out",
            field="municipality_id",
            rule="registering_municipality_known",
        )


class ApplicationStateError(ConflictError):
    """The application is not in a state that takes this step; the message names the state it is in."""

    def __init__(self, application: RUOSApplication, step: str, expected: Iterable[ApplicationStatus]) -> None:
        allowed = " or ".join(str(s) for s in expected)
        super().__init__(
            f"RUOS application {application.application_id} is {application.status}: "
            f"it can be {step} only when {allowed}",
            field="application_id",
            rule=STATE_RULES[tuple(expected)],
        )
        self.status = application.status


class AmendmentDeadlinePassedError(RuleViolationError):
    def __init__(self, amended_on: date, amend_by: date) -> None:
        super().__init__(
            f"amended_on {amended_on.isoformat()} is after the amendment deadline {amend_by.isoformat()}",
            field="amended_on",
            rule="within_amendment_deadline",
        )

class DeadlineNotMissedError(RuleViolationError):
    """A rejection for ``amendment_deadline_missed`` of an application whose deadline had not passed by ``rejected_on``
    (or that was not observed: no deadline ran)."""

    def __init__(self, rejected_on: date, amend_by: date | None, status: str) -> None:
        if amend_by is None:
            message = f"amendment_deadline_missed rejects an observed application whose deadline passed; this one is {status}"
            field = "reason"
        else:
            message = (f"rejected_on {rejected_on.isoformat()} is not after the amendment deadline {amend_by.isoformat()}: "
                       "the OSV may still amend until that day's end")
            field = "rejected_on"
        super().__init__(message, field=field, rule="amendment_deadline_passed")


class RepeatedReasonError(RuleViolationError):
    def __init__(self, index: int, code: str, first: int) -> None:
        super().__init__(
            f"reasons.{index} repeats reasons.{first} ('{code}', the same words): give each reason once; one code may come "
            "twice with different details (two documents missing)",
            field=f"reasons.{index}",
            rule="unique_reasons",
        )


class RepeatedDocumentError(RuleViolationError):
    def __init__(self, index: int, document: RUOSDocument, first: int) -> None:
        super().__init__(
            f"'{document}' at documents.{index} is at documents.{first} too: file each document once",
            field=f"documents.{index}",
            rule="unique_documents",
        )


class NoObservationReasonError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("an observation gives at least one reason", field="reasons", rule="at_least_one")


class AmendmentWindowError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "amend_within_working_days must be at least 1", field="amend_within_working_days", rule="at_least_one_day"
        )

# Whose RUOS a step is in ------------------------------------------------


def check_recorded_for(acts_for: MunicipalScope, municipality: MunicipalityReference, step: str) -> None:
    """The one rule of every step a municipality takes in its RUOS (an application's observation, registration or
    rejection, a registration recorded directly, a board renewal): the caller records for ``municipality`` (403
    ``own_municipality_ruos`` naming it otherwise). ``step`` names it for the message ("the registration of …")."""
    if not acts_for.covers(municipality.id):
        raise AnotherMunicipalitysRUOSError(municipality, step)


def registering_municipality(given: str | None, district_ubigeo: str | None, acts_for: MunicipalScope) -> str:
    """The municipality a registration recorded directly is with: ``given`` (the request's, checked against the OSV by
    the caller), else the one of the OSV's two (its district's, the MML) the recorder records for, when it records for
    one of them alone (a district's focal point: its own; the MML's: the MML); else 422 naming ``municipality_id``."""
    if given is not None:
        return given
    candidates = [m for m in (district_ubigeo, MML_ID) if m is not None and acts_for.covers(m)]
    if len(candidates) != 1:
        raise RegisteringMunicipalityUnknownError(district_ubigeo)
    return candidates[0]


# The RUOS application, as the OSV keeps it ------------------------------


@dataclass
class Observation:
    observed_on: date
    reasons: list[dict[str, str | None]]
    amend_by: date
    amended_on: date | None = None
    amended_documents: list[RUOSDocument] = field(default_factory=list)
    working_days: int | None = None
    """The window the municipality gave, in working days (None for observations recorded before it was kept)."""

    @property
    def reason_codes(self) -> list[ObservationReason]:
        return [ObservationReason(r["code"]) for r in self.reasons]

    def deadline(self, calendar: WorkingCalendar | None) -> date:
        """The last day to amend, in ``calendar``: the recorded ``amend_by``, or later when a non-working day decreed
        since falls within the window (the window counted again). None for ``calendar``: as recorded."""
        if calendar is None or self.working_days is None:
            return self.amend_by
        return max(self.amend_by, calendar.add_working_days(self.observed_on, self.working_days))


@dataclass(frozen=True)
class WithdrawnStep:
    """A step of the application withdrawn as entered in error (:mod:`.ruoswithdrawals`): ``step`` (``observation`` or
    ``rejection``), the day it was dated (``observed_on``, ``rejected_on``), and the day registry recorded the withdrawal."""

    step: str
    dated_on: date
    withdrawn_on: date


@dataclass
class RUOSApplication:
    """One application to a municipality's RUOS, from submission to registration or rejection."""

    application_id: UUID
    municipality_id: str
    submitted_on: date
    documents: list[RUOSDocument]
    missing_documents: list[RUOSDocument]
    id_documents_flagged: bool
    board_members_with_unaccepted_documents: int | None
    members_with_unaccepted_documents: int | None
    status: ApplicationStatus = ApplicationStatus.SUBMITTED
    observations: list[Observation] = field(default_factory=list)
    registered_on: date | None = None
    ruos_number: str | None = None
    resolution_number: str | None = None
    rejected_on: date | None = None
    rejection_reason: RejectionReason | None = None
    withdrawn: list[WithdrawnStep] = field(default_factory=list)
    """Its steps withdrawn as entered in error, in the order they were withdrawn: they count as never taken."""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def last_observation(self) -> Observation | None:
        return self.observations[-1] if self.observations else None

    @property
    def amend_by(self) -> date | None:
        """The deadline recorded with the observation while the application is observed (see :meth:`amendment_deadline`)."""
        last = self.last_observation
        return last.amend_by if last and self.status is ApplicationStatus.OBSERVED else None

    def amendment_deadline(self, calendar: WorkingCalendar | None) -> date | None:
        """The last day to amend while the application is observed, in ``calendar`` (:meth:`Observation.deadline`); else None.
        The one deadline the amendment, the rejection for a missed deadline and every answer go by."""
        last = self.last_observation
        return last.deadline(calendar) if last and self.status is ApplicationStatus.OBSERVED else None

    def last_step(self) -> tuple[str, date]:
        """The latest dated step (name, date): the next step may not come before it."""
        if self.rejected_on is not None:
            return "rejected_on", self.rejected_on
        if self.registered_on is not None:
            return "registered_on", self.registered_on
        return self.last_step_before_decision()

    def last_step_before_decision(self) -> tuple[str, date]:
        """The latest dated step before the municipality's registration or rejection (its submission, an observation, an
        amendment): a decision's day, corrected, is not before it."""
        steps = [("submitted_on", self.submitted_on)]
        for observation in self.observations:
            steps.append(("observed_on", observation.observed_on))
            if observation.amended_on is not None:
                steps.append(("amended_on", observation.amended_on))
        return steps[-1]

    def status_before_decision(self) -> ApplicationStatus:
        """The status the steps before a registration or rejection give it: ``submitted`` when never observed, else
        ``observed`` or ``amended`` as its last observation was amended or not. What it stands at again once a rejection,
        or its last observation, is withdrawn."""
        last = self.last_observation
        if last is None:
            return ApplicationStatus.SUBMITTED
        return ApplicationStatus.OBSERVED if last.amended_on is None else ApplicationStatus.AMENDED

    def check_step(self, step: str, expected: tuple[ApplicationStatus, ...], field: str, on: date) -> None:
        if self.status not in expected:
            raise ApplicationStateError(self, step, expected)
        earlier_field, earlier = self.last_step()
        if on < earlier:
            raise DateBeforeError(field, on, earlier_field, earlier)


class RUOSNumberIndex(Aggregate):
    """Claims one RUOS number in one municipality's RUOS for one OSV.

    Each municipality (the MML, each district) keeps and numbers its own RUOS,
    so two may issue the same number: the claim's id is derived from the
    municipality and the number as compared (:meth:`create_id`, by
    :func:`ruos_number_key`). It is saved in the same transaction as the OSV's
    registration: a second claim of the number in the same RUOS conflicts in
    the store, and the registration that made it is not written either.

    Claims stored before have ids derived from the keys of their day: the number
    alone (``municipality_id`` None, :meth:`lima_wide_id`; they hold it in the
    RUOS their OSV is registered in), case and spacing only, dashes folded but
    not separators nor leading zeros (tester 133 F5 to tester 208 F5), parts
    split at spaces, dashes, ``/``, ``.`` and ``_`` alone with no number sign
    dropped (tester 208 F5 to tester 212 F1), an ``N`` with no dot dropped
    as a sign (to tester 215 F1), no glued sign dropped, no spaced abbreviation
    joined, thousands dots separators (to tester 215 F2), accents kept, a
    look-alike of ``°`` after ``N`` no sign, an ``N.`` closing an unspaced
    abbreviation (``R.U.O.S.N.0901``, keyed ``RUOSN-901``) and an ``Nº`` glued to
    the letters before it (``RUOSNº0905``) parts of the number, thousands
    commas separators, ``Nros.`` no sign (to tester 221 F3/F4). A number
    typed otherwise derives none of those ids, so such claims are found by
    reading the claims themselves and comparing their numbers by today's key
    (``Registry.ruos_number_holder``): nothing is migrated or written at start,
    and a registration of one of their numbers typed in any form is refused
    after a restart as before it. Two claims stored before that are one number
    by today's key (``RUOS-SJL-2026-0101`` and ``RUOS SJL 2026 0101``, both
    taken before) both stay as recorded; the first claimed is the holder named,
    even when a later one's id is today's (tester 212 F6). A claim stored before
    whose number is parted now from the one its id was derived for
    (``RUOS 1.234-2022``, keyed ``RUOS-1-234-2022``; ``R.U.O.S.N.0901``, keyed
    ``RUOSN-901``, today ``R.U.O.S.N 0901``'s) holds its own number alone: the
    other is claimed under the next of :meth:`claim_ids`.
    """

    @staticmethod
    def create_id(ruos_number: str, municipality_id: str) -> UUID:
        """The claim on ``ruos_number`` in the RUOS of ``municipality_id`` (``mml`` or a district's ubigeo), the number
        compared by :func:`ruos_number_key`: the id every claim is made under now."""
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:ruos:{municipality_id}:number:{ruos_number_key(ruos_number)}")

    @staticmethod
    def claim_ids(ruos_number: str, municipality_id: str) -> Iterator[UUID]:
        """The ids a claim on ``ruos_number`` in the RUOS of ``municipality_id`` may be made under, in turn: :meth:`create_id`'s,
        then ``…:number:<key>:again:<n>`` for n = 2, 3… without end. A claim stored under an older key may hold
        :meth:`create_id`'s for a number that is another now (``RUOS 1.234-2022``'s, keyed ``RUOS-1-234-2022`` before
        thousands dots joined, is today's id of ``RUOS 1-234-2022``): the number is claimed under the first id no such
        claim holds (``Registry.ruos_number_claim_id``). Keys have no ``:``, so no key's id is another's next."""
        yield RUOSNumberIndex.create_id(ruos_number, municipality_id)
        key = ruos_number_key(ruos_number)
        for n in itertools.count(2):
            yield uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:ruos:{municipality_id}:number:{key}:again:{n}")

    @classmethod
    def made_under(cls, claim_id: UUID, ruos_number: str, osv_id: UUID, municipality_id: str) -> RUOSNumberIndex:
        """A claim made under ``claim_id``, one of :meth:`claim_ids` (the first is the one the plain constructor gives)."""
        return cls._create(cls.RUOSNumberClaimed, id=claim_id, ruos_number=ruos_number, osv_id=osv_id, municipality_id=municipality_id)

    @staticmethod
    def lima_wide_id(ruos_number: str) -> UUID:
        """The id a claim on ``ruos_number`` had before claims named their municipality: the number's alone. Read, never
        written now."""
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:ruos-number:{legacy_ruos_number_key(ruos_number)}")

    @event("RUOSNumberClaimed")
    def __init__(self, ruos_number: str, osv_id: UUID, municipality_id: str | None = None) -> None:
        self.ruos_number = ruos_number
        self.osv_id = osv_id
        self.municipality_id = municipality_id
        """Whose RUOS the number is claimed in; None for a claim made before claims said (see :meth:`lima_wide_id`)."""
