"""Engagement's domain: identity documents, as people hold them, and the index that registers a person once.

Pure. A document's number is checked and normalised by its type's rule
(:data:`DOCUMENT_RULES`); a :class:`DocumentIndex` entry says which member
holds a document, so a person is registered once. Its id is made from a keyed
random id that a directory of keyed digests leads to (see ``personaldata``),
never from the number itself, and no error message repeats a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.documents import DocumentType
from shared.errors import ConflictError, NotFoundError, RuleViolationError

# Named errors -----------------------------------------------------------


class PersonNotFoundError(NotFoundError):
    def __init__(self) -> None:
        super().__init__("no registered person holds this document")


class NoDocumentToFindError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "a person without a document cannot be found by one", field="document_type", rule="findable_document"
        )


class InvalidDocumentNumberError(RuleViolationError):
    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message, field="document_number", rule=rule)


class PersonAlreadyRegisteredError(ConflictError):
    """The document belongs to a registered person: name them, never the number."""

    def __init__(self, member_id: UUID) -> None:
        super().__init__(
            f"a person with this document is already registered as member {member_id}: "
            f"add a membership to them (POST /members/{member_id}/memberships)",
            field="document_number",
            rule="person_already_registered",
        )
        self.member_id = member_id


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


def document_identity(document_type: DocumentType, number: str | None) -> str | None:
    """What makes two registrations one person's document, or None without a document.

    A Venezuelan cédula keeps its number whether written with V-/E- or not.
    """
    if number is None or document_type is DocumentType.NINGUNO:
        return None
    if document_type is DocumentType.CEDULA_VE:
        number = number.rsplit("-", 1)[-1]
    return f"{document_type.value}:{number}"


# Finding a person by their document ----------------------------------------------


class DocumentIndex(Aggregate):
    """Which member holds a document, so that a person is registered once.

    Its id is random: a directory beside the key ring leads from a keyed
    digest of the document to it (``personaldata.DocumentDirectory``), and
    forgets the way on erasure, so the store reveals no document.
    """

    @staticmethod
    def id_for(digest: str) -> UUID:
        """An id made from a digest, for tests that need a stable one (the service's entries have random ids)."""
        return uuid5(NAMESPACE_URL, f"/engagement/document-index/{digest}")

    @event("Opened")
    def __init__(self, id: UUID, member_id: UUID) -> None:  # noqa: A002 - the library's name for a given id
        self.member_id: UUID | None = member_id

    def claim(self, member_id: UUID) -> None:
        if self.member_id is not None and self.member_id != member_id:
            raise PersonAlreadyRegisteredError(self.member_id)
        self._claimed(member_id=member_id)

    @event("Claimed")
    def _claimed(self, member_id: UUID) -> None:
        self.member_id = member_id

    def release(self) -> None:
        """The person was forgotten: the document may be registered again."""
        self._released()

    @event("Released")
    def _released(self) -> None:
        self.member_id = None
