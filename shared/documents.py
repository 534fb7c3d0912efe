"""The identity documents people in Lima hold, by the codes every service uses for them.

Engagement checks each document's number and counts members by type;
registry knows which types each municipality accepts. The codes are their
contract (``OSVDocumentsCounted`` carries counts keyed by them).
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
