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

from shared.documents import (
    CARD_DIGITS,
    LEADING_ZEROS_IGNORED,
    PADDED_TO_CARD_DIGITS,
    DocumentType,
    compared_number,
    padded_number,
    without_card_code,
)
from shared.errors import ConflictError, NotFoundError, RuleViolationError

# Named errors -----------------------------------------------------------


class PersonNotFoundError(NotFoundError):
    """404 naming ``document_number``, rule ``registered_document``: nobody registered holds the document (or its holder
    was erased: the same answer). Its problem's ``errors`` name the field as every 404 of a record does (tester 262 F5)."""

    def __init__(self) -> None:
        super().__init__("no registered person holds this document", field="document_number", rule="registered_document")


class NoDocumentToFindError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "a person without a document cannot be found by one", field="document_type", rule="findable_document"
        )


class DocumentInURLError(RuleViolationError):
    """``GET /members?document_number=…``: the number is personal data, and a URL is kept where personal data must not
    be (a reverse proxy's access log, the browser's history, monitoring). Refused whatever it holds, never repeated."""

    def __init__(self) -> None:
        super().__init__(
            "a document number is personal data and goes in no URL (proxies' access logs and browsers' histories keep "
            "URLs): look the person up with POST /members/lookup, the document_type, document_number and purpose in its "
            "JSON body; nothing was looked up or logged",
            field="document_number",
            rule="lookup_by_post",
        )


class InvalidDocumentNumberError(RuleViolationError):
    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message, field="document_number", rule=rule)


class PersonAlreadyRegisteredError(ConflictError):
    """The document belongs to a registered person: name them, never the number. ``member_here``: they are an active
    member of the OSV the command registers them in already (a form sent twice), so a membership is not what to add;
    None when the caller may not be told whether they are (one who may not read members: a dry run per OSV found the
    person's, tester 221 F2), told to check instead. Once told, it is the problem's ``member_here`` member too, for a
    client to read without parsing the words (the import takes an edit's person who is already so as already there)."""

    def __init__(self, member_id: UUID, *, member_here: bool | None = False, correcting: bool = False) -> None:
        if correcting:  # a registration's advice, a membership to add, fits no correction (tester 176 F5)
            then = (
                "a correction gives no one another person's document: check the number given (if the two records are one "
                f"person's, member {member_id}'s is the one this document leads to: merge the other into it with "
                f"POST /members/{member_id}/merges, its id as duplicate_id)"
            )
        elif member_here is None:
            then = (
                f"add a membership to them (POST /members/{member_id}/memberships) unless they are an active member of this "
                "OSV already (a form sent twice): then there is nothing to add; staff who read the OSV's members can tell"
            )
        elif member_here:
            then = f"an active member of this OSV already: nothing to add (their details are corrected with POST /members/{member_id}/correction)"
        else:
            then = f"add a membership to them (POST /members/{member_id}/memberships)"
        super().__init__(
            f"a person with this document is already registered as member {member_id}: {then}",
            field="document_number",
            rule="person_already_registered",
        )
        self.member_id = member_id
        if member_here is not None and not correcting:  # a registration told which: said in a member of its own too
            self.extensions = {"member_here": member_here}


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


LONGEST_NUMBER = 20
"""The most characters any type's rule accepts (an asylum claim's number): a bound on the forms looked up."""


def normalise_document_number(document_type: DocumentType, number: str | None) -> str | None:
    """The number as it will be kept (no spaces, upper case), or a named error.

    A Venezuelan cédula is written as printed ("V-12.345.678", "V 12345678"):
    its dots are dropped and its prefix becomes "V-" or "E-"; a DNI's dots and
    hyphens are dropped ("45.678.912" is "45678912"); a Migraciones card's own
    code typed before its digits is dropped ("CE 001234567" is "001234567",
    :func:`~shared.documents.without_card_code`). A Migraciones
    card's number (carné de extranjería, CPP, PTP) of 6 to 8 digits is one
    whose leading zeros a numeric cell dropped: it is kept as its card prints
    it, padded to 9 digits ("1234567" is "001234567",
    :func:`~shared.documents.padded_number`); one of more digits whose extra
    ones are leading zeros is the card's 9 too ("0000371933" is "000371933");
    one with letters is kept as typed; one of digits only with more than 9
    after its leading zeros is 422 ``ce_9_digits`` (``cpp_9_digits``,
    ``ptp_9_digits``): no card prints it. Any other number is kept as typed (a passport's,
    an asylum claim's or a cédula's is compared without its leading zeros,
    :func:`document_identity`). Without a document there is no number, so the
    result is None. A number of zeros only, of any type ("000000", "V-0000000",
    "0000-000"), is 422 ``not_all_zeros``: a placeholder, never a person's. A type with a number given none (None,
    empty or spaces) is 422 ``number_with_document``.
    """
    normal = "".join((number or "").split()).upper()
    if document_type is DocumentType.NINGUNO:
        if normal:
            raise InvalidDocumentNumberError(
                "a member without a document has no document number", rule="no_number_without_document"
            )
        return None
    if not normal:  # not the type's pattern refused: nothing was typed to refuse (tester 184 F2)
        raise InvalidDocumentNumberError(
            f"a {document_type.value} has a number: give document_number as the document shows it, or NINGUNO as "
            "document_type for a person without a document",
            rule="number_with_document",
        )
    rule = DOCUMENT_RULES[document_type]
    if document_type is DocumentType.CEDULA_VE:
        normal = normal.replace(".", "")
    elif document_type is DocumentType.DNI:
        normal = normal.replace(".", "").replace("-", "")
    normal = without_card_code(document_type, normal)
    match = rule.pattern.fullmatch(normal)
    if match is None:
        raise InvalidDocumentNumberError(rule.message + _zeros_lost(document_type, normal), rule=rule.rule)
    significant = match["digits"] if document_type is DocumentType.CEDULA_VE else normal.replace("-", "")
    if not significant.strip("0"):
        raise InvalidDocumentNumberError(
            "a document number of zeros only is no document's number (a placeholder for one not known): type the number "
            "the document shows, or NINGUNO as the type for a person without one",
            rule="not_all_zeros",
        )
    if document_type is DocumentType.CEDULA_VE:
        prefix, digits = match["prefix"], match["digits"]
        return f"{prefix}-{digits}" if prefix else digits
    kept = padded_number(document_type, normal)
    if document_type in PADDED_TO_CARD_DIGITS and kept.isascii() and kept.isdigit() and len(kept) > CARD_DIGITS:
        raise InvalidDocumentNumberError(
            f"a {document_type.value} number of digits only is the card's {CARD_DIGITS} (leading zeros may be left out or "
            f"added); this one has more digits after its zeros",
            rule=f"{document_type.value.lower()}_{CARD_DIGITS}_digits",
        )
    return kept


def _zeros_lost(document_type: DocumentType, normal: str) -> str:
    """For a DNI of 6 or 7 digits, or a Migraciones card's number (:data:`PADDED_TO_CARD_DIGITS`) of 1 to 5 digits (one
    of 6 to 8 is padded back to the card's 9), what may have happened: a spreadsheet's number cell dropped its leading
    zeros (tester 226 F5: a CE typed as the number 45678 was told only "6 to 12 letters or digits").

    Never guessed back (a digit left out when typing looks the same): the refusal says how to send it.
    """
    if not (normal.isascii() and normal.isdigit() and normal.strip("0")):
        return ""
    if document_type is DocumentType.DNI and 6 <= len(normal) < 8:
        return (f"; this one has {len(normal)}: if the DNI begins with {'0' * (8 - len(normal))}, a spreadsheet's number cell "
                "dropped it, so type the number as text with its zeros")
    if document_type in PADDED_TO_CARD_DIGITS and len(normal) < CARD_DIGITS:  # 6 to 8 are padded: fewer are refused
        return (f"; this one has {len(normal)} digits: if the card's {CARD_DIGITS} digits begin with "
                f"{'0' * (CARD_DIGITS - len(normal))}, a spreadsheet's number cell dropped them, so type the number as text "
                "with its zeros")
    return ""


def document_identity(document_type: DocumentType, number: str | None) -> str | None:
    """What makes two registrations one person's document (``"CE:001234567"``), or None without a document.

    The number as :func:`~shared.documents.compared_number` compares it: a
    Migraciones card's (CE, CPP, PTP) of digits only padded to 9 digits, also
    when ``number`` comes from a registration recorded before it was padded
    (its event keeps the number as typed); a passport's, an asylum claim's or
    a Venezuelan cédula's of digits only without its leading zeros
    (``"PASAPORTE:940407"`` for "000940407" and "940407"); an asylum claim's
    without its hyphens; a cédula's whether written with V-/E- or not; a card's
    recorded with the card's code before its digits ("CE001234567", before the
    code was dropped) without it.
    """
    if number is None or document_type is DocumentType.NINGUNO:
        return None
    if document_type is DocumentType.CEDULA_VE:
        number = number.rsplit("-", 1)[-1]
    number = without_card_code(document_type, number)
    return f"{document_type.value}:{compared_number(document_type, number)}"


def document_identities(document_type: DocumentType, number: str | None) -> tuple[str, ...]:
    """Every identity the document index may know this document by: :func:`document_identity` first, then the
    forms an earlier version of the service registered it under; empty without a document.

    An earlier version registered a document under its number as typed
    (normalised as then), with or without its leading zeros: for a number of
    digits only, those are the forms with more or fewer leading zeros that
    the type's rule accepts. A Migraciones card's 9 digits may be indexed with
    one or more of its zeros dropped (``"CE:001234567"``, then
    ``"CE:01234567"``, ``"CE:1234567"``; 6 digits at least), or typed with
    more zeros than the card prints, as kept before those were made its 9
    (``"CE:0001234567"``, … to the rule's longest); a passport's,
    an asylum claim's or a cédula's with any number of zeros before it, up to
    the rule's longest (``"PASAPORTE:940407"``, then ``"PASAPORTE:0940407"``,
    ``"PASAPORTE:00940407"``, … to 15 characters). An asylum claim's number
    typed with hyphens was compared with them (``"SOLICITANTE_REFUGIO:0123-2021-CEPR"``);
    a card's number typed after the card's code was kept with it
    (``"CE:CE001234567"``, ``"CE:CE1234567"``). Those forms are only looked
    up (and forgotten on erasure), never written: an entry made now is always
    under the first.
    """
    identity = document_identity(document_type, number)
    if identity is None:
        return ()
    kept = identity.removeprefix(f"{document_type.value}:")
    if document_type is DocumentType.SOLICITANTE_REFUGIO and number is not None and "-" in number:
        return (identity, f"{document_type.value}:{number}")  # compared with its hyphens before
    if not (kept.isascii() and kept.isdigit()):
        return (identity,)
    if document_type in PADDED_TO_CARD_DIGITS and len(kept) == CARD_DIGITS:
        zeros = len(kept) - len(kept.lstrip("0"))
        earlier = [kept[dropped:] for dropped in range(1, zeros + 1)]
        earlier += ["0" * added + kept for added in range(1, LONGEST_NUMBER - len(kept) + 1)]  # typed with extra zeros
    elif document_type in LEADING_ZEROS_IGNORED:
        earlier = ["0" * added + kept for added in range(1, LONGEST_NUMBER - len(kept) + 1)]
    else:
        earlier = []
    accepts = DOCUMENT_RULES[document_type].pattern.fullmatch
    if document_type in PADDED_TO_CARD_DIGITS:  # kept with the card's code before its digits, before it was dropped
        earlier += [document_type.value + form for form in (kept, kept.lstrip("0"))]
    return (identity, *(f"{document_type.value}:{form}" for form in dict.fromkeys(earlier) if accepts(form)))


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

    def pass_to(self, member_id: UUID) -> None:
        """The holder's record was merged into ``member_id``'s (one person recorded twice): the document leads to them now."""
        self._claimed(member_id=member_id)

    def release(self) -> None:
        """The person was forgotten: the document may be registered again."""
        self._released()

    @event("Released")
    def _released(self) -> None:
        self.member_id = None
