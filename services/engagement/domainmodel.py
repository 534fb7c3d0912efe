"""Engagement's domain: the members of each OSV, who join and who leave.

Pure: the aggregate, the events it records, the rules a person's data must
follow and the named errors those rules raise. A member's name and document
number are personal data of vulnerable people: they stay in the aggregate and
its stored (encrypted) events, and no error message repeats them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID

import pycountry
from eventsourcing.domain import Aggregate, event

from shared.errors import ConflictError, NotFoundError, RuleViolationError

FIRST_BIRTH_YEAR = 1900


class DocumentType(StrEnum):
    """Identity documents migrants and hosts in Lima actually hold."""

    DNI = "DNI"
    """Peruvian national identity card."""
    CE = "CE"
    """Carné de extranjería (foreigner's card)."""
    PTP = "PTP"
    """Permiso temporal de permanencia."""
    CPP = "CPP"
    """Carné de permiso temporal de permanencia."""
    PASAPORTE = "PASAPORTE"
    CEDULA_VE = "CEDULA_VE"
    """Venezuelan cédula de identidad."""
    SOLICITANTE_REFUGIO = "SOLICITANTE_REFUGIO"
    """Card or certificate of an asylum claim in process."""
    NINGUNO = "NINGUNO"
    """No document at all: many members have none."""


class Sex(StrEnum):
    F = "F"
    M = "M"
    X = "X"


class DepartureReason(StrEnum):
    MOVED_ABROAD = "moved_abroad"
    MOVED_IN_PERU = "moved_in_peru"
    WITHDREW = "withdrew"
    OTHER = "other"


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


class InvalidDocumentNumberError(RuleViolationError):
    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message, field="document_number", rule=rule)


class UnknownNationalityError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "nationality must be an ISO 3166-1 alpha-2 country code, such as VE or PE",
            field="nationality",
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


class AlreadyLeftError(ConflictError):
    def __init__(self, left_on: date) -> None:
        super().__init__(
            f"this member already left the OSV on {left_on.isoformat()}",
            field="left_on",
            rule="leave_once",
        )


class LeftBeforeJoinedError(RuleViolationError):
    def __init__(self, left_on: date, joined_on: date) -> None:
        super().__init__(
            f"left_on {left_on.isoformat()} is before the member joined on {joined_on.isoformat()}",
            field="left_on",
            rule="not_before_joined_on",
        )


# Rules ------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRule:
    """What a document's number looks like once normalised, and how to say so."""

    pattern: re.Pattern[str]
    rule: str
    message: str


def _rule(pattern: str, rule: str, message: str) -> DocumentRule:
    return DocumentRule(re.compile(pattern, re.ASCII), rule, message)


DOCUMENT_RULES: dict[DocumentType, DocumentRule] = {
    DocumentType.DNI: _rule(r"[0-9]{8}", "dni_8_digits", "a DNI number is exactly 8 digits"),
    # Nine digits on current cards; older cards and staff typing need leniency.
    DocumentType.CE: _rule(
        r"[A-Z0-9]{6,12}", "ce_6_to_12_alphanumerics", "a carné de extranjería number is 6 to 12 letters or digits"
    ),
    DocumentType.PTP: _rule(r"[A-Z0-9]{6,15}", "ptp_6_to_15_alphanumerics", "a PTP number is 6 to 15 letters or digits"),
    DocumentType.CPP: _rule(r"[A-Z0-9]{6,15}", "cpp_6_to_15_alphanumerics", "a CPP number is 6 to 15 letters or digits"),
    DocumentType.PASAPORTE: _rule(
        r"[A-Z0-9]{6,15}", "passport_6_to_15_alphanumerics", "a passport number is 6 to 15 letters or digits"
    ),
    DocumentType.CEDULA_VE: _rule(
        r"(?:(?P<prefix>[VE])-?)?(?P<digits>[0-9]{6,10})",
        "cedula_ve_6_to_10_digits",
        "a Venezuelan cédula number is 6 to 10 digits, optionally after V- or E-",
    ),
    DocumentType.SOLICITANTE_REFUGIO: _rule(
        r"[A-Z0-9-]{4,20}",
        "refugee_claim_4_to_20_characters",
        "an asylum claim number is 4 to 20 letters, digits or hyphens",
    ),
}


def normalise_document_number(document_type: DocumentType, number: str | None) -> str | None:
    """The number as it will be kept (no spaces, upper case), or a named error.

    A Venezuelan cédula is written as printed ("V-12.345.678", "V 12345678"):
    its dots are dropped and its prefix becomes "V-" or "E-". Without a
    document there is no number, so the result is None.
    """
    normal = "".join((number or "").split()).upper()
    if document_type is DocumentType.NINGUNO:
        if normal:
            raise InvalidDocumentNumberError(
                "a member without a document has no document number", rule="no_number_without_document"
            )
        return None
    rule = DOCUMENT_RULES[document_type]
    if document_type is DocumentType.CEDULA_VE:
        normal = normal.replace(".", "")
    match = rule.pattern.fullmatch(normal)
    if match is None:
        raise InvalidDocumentNumberError(rule.message, rule=rule.rule)
    if document_type is DocumentType.CEDULA_VE:
        prefix, digits = match["prefix"], match["digits"]
        return f"{prefix}-{digits}" if prefix else digits
    return normal


def nationality_of(code: str) -> str:
    """The ISO 3166-1 alpha-2 code, upper case, of a country that exists."""
    normal = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", normal, re.ASCII) or pycountry.countries.get(alpha_2=normal) is None:
        raise UnknownNationalityError
    return normal


def check_birth_year(birth_year: int | None, joined_on: date, today: date) -> None:
    if birth_year is None:
        return
    if not FIRST_BIRTH_YEAR <= birth_year <= today.year:
        raise ImplausibleBirthYearError(today.year)
    if birth_year > joined_on.year:
        raise BornAfterJoiningError(joined_on)


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


# The aggregate ----------------------------------------------------------


class Member(Aggregate):
    """A person, migrant or host, who belongs to an OSV the programme supports."""

    @classmethod
    def join(
        cls,
        osv_id: UUID,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        nationality: str,
        sex: Sex,
        joined_on: date,
        birth_year: int | None,
        today: date,
    ) -> Member:
        """Check the person's data, then record that they joined the OSV."""
        number = normalise_document_number(document_type, document_number)
        country = nationality_of(nationality)
        check_birth_year(birth_year, joined_on, today)
        return cls(
            osv_id=osv_id,
            full_name=full_name,
            document_type=document_type,
            document_number=number,
            nationality=country,
            sex=sex,
            joined_on=joined_on,
            birth_year=birth_year,
        )

    @event("MemberJoined")
    def __init__(
        self,
        osv_id: UUID,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        nationality: str,
        sex: Sex,
        joined_on: date,
        birth_year: int | None,
    ) -> None:
        self.osv_id = osv_id
        self.full_name = full_name
        self.document_type = DocumentType(document_type)
        self.document_number = document_number
        self.nationality = nationality
        self.sex = Sex(sex)
        self.joined_on = joined_on
        self.birth_year = birth_year
        self.age_band = age_band(birth_year, joined_on.year)
        self.left_on: date | None = None
        self.departure_reason: DepartureReason | None = None

    @property
    def status(self) -> str:
        return "left" if self.left_on else "active"

    def leave(self, left_on: date, reason: DepartureReason) -> None:
        """Record that the member left the OSV, including a departure learnt of late."""
        if self.left_on is not None:
            raise AlreadyLeftError(self.left_on)
        if left_on < self.joined_on:
            raise LeftBeforeJoinedError(left_on, self.joined_on)
        self._left(
            left_on=left_on,
            reason=reason,
            osv_id=self.osv_id,
            nationality=self.nationality,
            sex=self.sex,
            age_band=self.age_band,
        )

    @event("MemberLeft")
    def _left(
        self, left_on: date, reason: DepartureReason, osv_id: UUID, nationality: str, sex: Sex, age_band: AgeBand
    ) -> None:
        """The event also carries who the member was, in public terms, so it reads on its own."""
        self.left_on = left_on
        self.departure_reason = DepartureReason(reason)
