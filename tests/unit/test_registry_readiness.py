"""Readiness to apply: documents ready, and nobody holding a document the municipality refuses."""

from __future__ import annotations

from datetime import date

from services.registry.domain.municipalities import DEFAULT_ACCEPTED_DOCUMENTS
from services.registry.domain.readiness import DocumentTally, assess
from services.registry.domain.ruos import REQUIRED_DOCUMENTS, RUOSDocument
from shared.documents import DocumentType

EVERY_DOCUMENT = {d: date(2021, 6, 1) for d in REQUIRED_DOCUMENTS}
TALLY = DocumentTally(
    counted_on=date(2021, 6, 10),
    board={"CEDULA_VE": 1, "DNI": 1},
    members={"CEDULA_VE": 1, "DNI": 1, "CPP": 1, "PASAPORTE": 1, "PTP": 1},
)


def test_without_engagement_s_counts_the_osv_is_not_ready_and_says_why() -> None:
    readiness = assess("150110", EVERY_DOCUMENT, DEFAULT_ACCEPTED_DOCUMENTS, None)
    assert readiness.counts_known is False
    assert readiness.members_total is None and readiness.members_with_unaccepted_documents is None
    assert readiness.missing_documents == []
    assert readiness.ready is False


def test_a_president_with_a_venezuelan_cedula_and_a_member_with_a_passport_are_counted_against_the_district() -> None:
    readiness = assess("150110", EVERY_DOCUMENT, DEFAULT_ACCEPTED_DOCUMENTS, TALLY)
    assert (readiness.board_members_total, readiness.board_members_with_unaccepted_documents) == (2, 1)
    assert (readiness.members_total, readiness.members_with_unaccepted_documents) == (5, 2)
    assert readiness.members_by_document_type["PASAPORTE"] == 1
    assert readiness.ready is False


def test_a_municipality_that_accepts_the_cedula_and_the_passport_makes_the_same_osv_ready() -> None:
    inclusive = [*DEFAULT_ACCEPTED_DOCUMENTS, DocumentType.CEDULA_VE, DocumentType.PASAPORTE]
    readiness = assess("mml", EVERY_DOCUMENT, inclusive, TALLY)
    assert (readiness.board_members_with_unaccepted_documents, readiness.members_with_unaccepted_documents) == (0, 0)
    assert readiness.ready is True


def test_a_missing_document_keeps_an_osv_from_being_ready() -> None:
    inclusive = list(DocumentType)
    prepared = {d: on for d, on in EVERY_DOCUMENT.items() if d is not RUOSDocument.CROQUIS}
    readiness = assess("mml", prepared, inclusive, TALLY)
    assert readiness.missing_documents == [RUOSDocument.CROQUIS]
    assert readiness.ready is False


def test_a_document_code_registry_does_not_know_counts_as_unaccepted() -> None:
    tally = DocumentTally(counted_on=date(2021, 6, 10), board={}, members={"DNI": 3, "CARNE_NUEVO": 1})
    assert assess("150110", EVERY_DOCUMENT, DEFAULT_ACCEPTED_DOCUMENTS, tally).members_with_unaccepted_documents == 1
