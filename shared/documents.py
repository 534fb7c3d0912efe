"""The identity documents people in Lima hold, by the codes every service uses for them.

Engagement checks each document's number and counts members by type;
registry knows which types each municipality accepts. The codes are their
contract (``OSVDocumentsCounted`` carries counts keyed by them). The one rule
of a number that two services share, a carné de extranjería's leading zeros
(:func:`padded_ce_number`), is here too: engagement keeps numbers by it, and
the import compares a file's rows by it.
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


CE_DIGITS = 9
"""The digits of a carné de extranjería's number as current cards print it, leading zeros included."""


def padded_ce_number(number: str) -> str:
    """A carné de extranjería number of digits only, left-padded with zeros to :data:`CE_DIGITS`; any other as given.

    Migraciones prints CE numbers in 9 digits, most with leading zeros
    ("001234567"), and a spreadsheet cell that is a number (Excel, Kobo's
    export) drops them ("1234567"). Padding gives back the number the card
    prints, as a DNI is kept with its own leading zero: stripping the zeros
    instead would keep a number no card shows. ``number`` is already without
    spaces, in upper case. A number with letters (older cards) or of more than
    9 digits is returned unchanged, never guessed at.
    """
    if number.isascii() and number.isdigit():
        return number.zfill(CE_DIGITS)
    return number
