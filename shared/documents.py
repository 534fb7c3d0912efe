"""The identity documents people in Lima hold, by the codes every service uses for them.

Engagement checks each document's number and counts members by type;
registry knows which types each municipality accepts. The codes are their
contract (``OSVDocumentsCounted`` carries counts keyed by them). The one rule
of a number that two services share, the leading zeros a numeric spreadsheet
cell drops (:func:`padded_number`, :func:`compared_number`), is here too:
engagement keeps and compares numbers by it, and the import compares a file's
rows by it.
"""

from __future__ import annotations

from enum import StrEnum


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


FOREIGNERS_ONLY = frozenset({DocumentType.CE, DocumentType.PTP, DocumentType.CPP, DocumentType.SOLICITANTE_REFUGIO})
"""Documents Peru gives foreigners only (Migraciones' cards, an asylum claim's): never a Peruvian's. A Venezuelan cédula
is not among them (a person of both nationalities may hold one), nor a passport (of any country)."""

CARD_DIGITS = 9
"""The digits of a Migraciones card's number (CE, CPP, PTP) as current cards print it, leading zeros included."""

PADDED_TO_CARD_DIGITS = frozenset({DocumentType.CE, DocumentType.CPP, DocumentType.PTP})
"""Migraciones' cards, whose numbers are printed in :data:`CARD_DIGITS` digits, most with leading zeros: a number of
digits only is kept padded back to them (:func:`padded_number`)."""

LEADING_ZEROS_IGNORED = frozenset({DocumentType.PASAPORTE, DocumentType.SOLICITANTE_REFUGIO, DocumentType.CEDULA_VE})
"""Documents whose numbers have no one printed length (a passport of any country, an asylum claim's certificate, a
Venezuelan cédula, which is printed without zeros but sometimes written with them): a number of digits only is
compared without its leading zeros, and kept as typed (:func:`compared_number`)."""


def _digits_only(number: str) -> bool:
    return number.isascii() and number.isdigit()


def padded_number(document_type: DocumentType, number: str) -> str:
    """A number of a Migraciones card (:data:`PADDED_TO_CARD_DIGITS`) of digits only, left-padded with zeros to
    :data:`CARD_DIGITS`; any other number, or one of any other document, as given.

    Migraciones prints CE, CPP and PTP numbers in 9 digits, most with leading
    zeros ("001234567"), and a spreadsheet cell that is a number (Excel,
    Kobo's export) drops them ("1234567"). Padding gives back the number the
    card prints, as a DNI is kept with its own leading zero: stripping the
    zeros instead would keep a number no card shows. One of digits only typed
    with more zeros before it than the card prints ("0000371933") is the
    card's 9 digits too ("000371933"). ``number`` is already without spaces,
    in upper case. A number with letters (older cards), or of more than 9
    digits after its leading zeros, is returned unchanged, never guessed at.
    """
    if document_type in PADDED_TO_CARD_DIGITS and _digits_only(number):
        if len(number) > CARD_DIGITS and not number[:-CARD_DIGITS].strip("0"):
            return number[-CARD_DIGITS:]
        return number.zfill(CARD_DIGITS)
    return number


def without_card_code(document_type: DocumentType, number: str) -> str:
    """A Migraciones card's number (:data:`PADDED_TO_CARD_DIGITS`) without the card's own code typed before its digits
    ("CE001234567", "CE-001234567" and "CPP.000869323" are "001234567" and "000869323", as staff copy the card's
    label with its number); any other number, or a code before letters, as given. ``number`` is already without spaces,
    in upper case."""
    if document_type in PADDED_TO_CARD_DIGITS and number.startswith(document_type.value):
        rest = number.removeprefix(document_type.value).removeprefix("-").removeprefix(".").removeprefix(":")
        if _digits_only(rest):
            return rest
    return number


def compared_number(document_type: DocumentType, number: str) -> str:
    """The number by which two registrations are one person's document: :func:`padded_number` for a Migraciones card;
    an asylum claim's without its hyphens ("0123-2021-CEPR" and "01232021CEPR" are one: staff type the certificate's
    number with hyphens, spaces or neither); for a document of :data:`LEADING_ZEROS_IGNORED`, a number of digits only
    without its leading zeros ("000940407" and "940407" are "940407"; "0" if it is all zeros); any other as given.

    ``number`` is already without spaces, in upper case (a cédula without its
    dots and its V- or E-). Only a number of digits only can have come from a
    numeric cell: a passport number with a letter keeps its zeros.
    """
    if document_type is DocumentType.SOLICITANTE_REFUGIO:
        number = number.replace("-", "")
    if document_type in LEADING_ZEROS_IGNORED and _digits_only(number):
        return number.lstrip("0") or "0"
    return padded_number(document_type, number)
