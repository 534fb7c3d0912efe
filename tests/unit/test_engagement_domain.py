"""Engagement's domain on its own: members join and leave, and their data follows the rules.

No store, no web: the aggregate, the rules and the public form of its events.
"""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from services.engagement.domainmodel import (
    AgeBand,
    AlreadyLeftError,
    BornAfterJoiningError,
    DepartureReason,
    DocumentType,
    ImplausibleBirthYearError,
    InvalidDocumentNumberError,
    LeftBeforeJoinedError,
    Member,
    Sex,
    UnknownNationalityError,
    age_band,
    nationality_of,
    normalise_document_number,
)
from services.engagement.interface import catalogue
from shared.errors import ConflictError, RuleViolationError

TODAY = date(2025, 6, 15)
OSV_ID = uuid4()


def a_member(**overrides: object) -> Member:
    given: dict[str, object] = {
        "osv_id": OSV_ID,
        "full_name": "Yusmary Cordero Palacios",
        "document_type": DocumentType.PTP,
        "document_number": "ptp 0012345",
        "nationality": "ve",
        "sex": Sex.F,
        "joined_on": date(2024, 3, 1),
        "birth_year": 1991,
        "today": TODAY,
    }
    return Member.join(**{**given, **overrides})  # type: ignore[arg-type]


# Document numbers --------------------------------------------------------


@pytest.mark.parametrize(
    ("document_type", "given", "kept"),
    [
        (DocumentType.DNI, "45678912", "45678912"),
        (DocumentType.DNI, " 4567 8912 ", "45678912"),
        (DocumentType.CE, "001234567", "001234567"),
        (DocumentType.CE, "n0123a", "N0123A"),
        (DocumentType.CE, "123456789012", "123456789012"),
        (DocumentType.PTP, "ptp0012345", "PTP0012345"),
        (DocumentType.CPP, "cpp 123 456", "CPP123456"),
        (DocumentType.PASAPORTE, "139876543", "139876543"),
        (DocumentType.PASAPORTE, "ab1234567890123", "AB1234567890123"),
        (DocumentType.CEDULA_VE, "19876543", "19876543"),
        (DocumentType.CEDULA_VE, "V-19876543", "V-19876543"),
        (DocumentType.CEDULA_VE, "e-123456", "E-123456"),
        (DocumentType.CEDULA_VE, "V 19.876.543", "V-19876543"),
        (DocumentType.CEDULA_VE, "1234567890", "1234567890"),
        (DocumentType.SOLICITANTE_REFUGIO, "2023-lim-0042", "2023-LIM-0042"),
        (DocumentType.SOLICITANTE_REFUGIO, "A1B2", "A1B2"),
        (DocumentType.NINGUNO, None, None),
        (DocumentType.NINGUNO, "", None),
        (DocumentType.NINGUNO, "   ", None),
    ],
)
def test_a_valid_document_number_is_kept_without_spaces_in_upper_case(
    document_type: DocumentType, given: str | None, kept: str | None
) -> None:
    assert normalise_document_number(document_type, given) == kept


@pytest.mark.parametrize(
    ("document_type", "given", "rule"),
    [
        (DocumentType.DNI, "4567891", "dni_8_digits"),
        (DocumentType.DNI, "456789123", "dni_8_digits"),
        (DocumentType.DNI, "4567891A", "dni_8_digits"),
        (DocumentType.DNI, "45678912-3", "dni_8_digits"),
        (DocumentType.DNI, "٤٥٦٧٨٩١٢", "dni_8_digits"),
        (DocumentType.DNI, None, "dni_8_digits"),
        (DocumentType.CE, "12345", "ce_6_to_12_alphanumerics"),
        (DocumentType.CE, "1234567890123", "ce_6_to_12_alphanumerics"),
        (DocumentType.CE, "00123-4567", "ce_6_to_12_alphanumerics"),
        (DocumentType.PTP, "ptp12", "ptp_6_to_15_alphanumerics"),
        (DocumentType.PTP, "1234567890123456", "ptp_6_to_15_alphanumerics"),
        (DocumentType.CPP, "cpp/12345", "cpp_6_to_15_alphanumerics"),
        (DocumentType.CPP, "", "cpp_6_to_15_alphanumerics"),
        (DocumentType.PASAPORTE, "12345", "passport_6_to_15_alphanumerics"),
        (DocumentType.PASAPORTE, "ÑA1234567", "passport_6_to_15_alphanumerics"),
        (DocumentType.CEDULA_VE, "12345", "cedula_ve_6_to_10_digits"),
        (DocumentType.CEDULA_VE, "12345678901", "cedula_ve_6_to_10_digits"),
        (DocumentType.CEDULA_VE, "X-19876543", "cedula_ve_6_to_10_digits"),
        (DocumentType.CEDULA_VE, "V-1987654A", "cedula_ve_6_to_10_digits"),
        (DocumentType.SOLICITANTE_REFUGIO, "A1B", "refugee_claim_4_to_20_characters"),
        (DocumentType.SOLICITANTE_REFUGIO, "2023/LIM/0042", "refugee_claim_4_to_20_characters"),
        (DocumentType.SOLICITANTE_REFUGIO, "A" * 21, "refugee_claim_4_to_20_characters"),
        (DocumentType.NINGUNO, "45678912", "no_number_without_document"),
    ],
)
def test_a_document_number_that_no_real_document_has_is_refused_by_name(
    document_type: DocumentType, given: str | None, rule: str
) -> None:
    with pytest.raises(InvalidDocumentNumberError) as refused:
        normalise_document_number(document_type, given)

    assert isinstance(refused.value, RuleViolationError)
    assert refused.value.field == "document_number"
    assert refused.value.rule == rule


def test_a_refused_document_number_is_not_repeated_in_the_error() -> None:
    with pytest.raises(InvalidDocumentNumberError) as refused:
        normalise_document_number(DocumentType.DNI, "9876543")

    assert "9876543" not in str(refused.value)


def test_every_document_type_has_a_rule() -> None:
    for document_type in DocumentType:
        with pytest.raises(InvalidDocumentNumberError):
            normalise_document_number(document_type, "?")


# Nationality and birth year ----------------------------------------------


@pytest.mark.parametrize(("given", "kept"), [("VE", "VE"), ("pe", "PE"), (" co ", "CO")])
def test_a_nationality_is_an_iso_country_code_in_upper_case(given: str, kept: str) -> None:
    assert nationality_of(given) == kept


@pytest.mark.parametrize("given", ["", "V", "VEN", "XX", "Venezuela", "1E"])
def test_a_nationality_that_is_not_a_country_code_is_refused(given: str) -> None:
    with pytest.raises(UnknownNationalityError) as refused:
        nationality_of(given)

    assert refused.value.field == "nationality"


@pytest.mark.parametrize("birth_year", [1899, 2026])
def test_a_birth_year_before_1900_or_in_the_future_is_refused(birth_year: int) -> None:
    with pytest.raises(ImplausibleBirthYearError) as refused:
        a_member(birth_year=birth_year, joined_on=date(2025, 1, 10))

    assert refused.value.field == "birth_year"


def test_a_member_cannot_be_born_after_the_year_they_joined() -> None:
    with pytest.raises(BornAfterJoiningError) as refused:
        a_member(birth_year=2025, joined_on=date(2024, 12, 31))

    assert refused.value.field == "birth_year"


def test_a_member_may_be_born_in_the_year_they_joined() -> None:
    assert a_member(birth_year=2024, joined_on=date(2024, 1, 1)).age_band == AgeBand.CHILD


# Age bands -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_year", "band"),
    [
        (2024, AgeBand.CHILD),
        (2007, AgeBand.CHILD),
        (2006, AgeBand.YOUNG_ADULT),
        (1995, AgeBand.YOUNG_ADULT),
        (1994, AgeBand.ADULT),
        (1980, AgeBand.ADULT),
        (1979, AgeBand.MIDDLE_AGED),
        (1965, AgeBand.MIDDLE_AGED),
        (1964, AgeBand.OLDER),
        (1900, AgeBand.OLDER),
        (None, AgeBand.UNKNOWN),
    ],
)
def test_the_age_band_is_counted_from_the_birth_year_alone(birth_year: int | None, band: AgeBand) -> None:
    assert age_band(birth_year, 2024) == band


def test_a_member_keeps_the_age_band_of_the_year_they_joined() -> None:
    member = a_member(birth_year=1995, joined_on=date(2024, 3, 1))

    assert member.age_band == AgeBand.YOUNG_ADULT
    assert member.age_band.value == "18-29"


# Joining and leaving ---------------------------------------------------------


def test_a_person_joins_with_their_data_normalised() -> None:
    member = a_member()

    assert member.osv_id == OSV_ID
    assert member.document_number == "PTP0012345"
    assert member.nationality == "VE"
    assert member.status == "active"


def test_a_member_leaves_once() -> None:
    member = a_member(joined_on=date(2024, 3, 1))

    # The member moves to Chile; staff record it.
    member.leave(date(2024, 9, 30), DepartureReason.MOVED_ABROAD)
    assert member.status == "left"
    assert member.left_on == date(2024, 9, 30)
    assert member.departure_reason == DepartureReason.MOVED_ABROAD

    # A second departure contradicts the first.
    with pytest.raises(AlreadyLeftError) as refused:
        member.leave(date(2024, 10, 1), DepartureReason.OTHER)
    assert isinstance(refused.value, ConflictError)
    assert refused.value.field == "left_on"
    assert member.left_on == date(2024, 9, 30)


def test_a_member_cannot_leave_before_they_joined() -> None:
    member = a_member(joined_on=date(2024, 3, 1))

    with pytest.raises(LeftBeforeJoinedError) as refused:
        member.leave(date(2024, 2, 29), DepartureReason.WITHDREW)

    assert isinstance(refused.value, RuleViolationError)
    assert refused.value.field == "left_on"
    assert member.status == "active"


def test_a_member_may_leave_on_the_day_they_joined() -> None:
    member = a_member(joined_on=date(2024, 3, 1))

    member.leave(date(2024, 3, 1), DepartureReason.WITHDREW)

    assert member.status == "left"


# What leaves the service ------------------------------------------------------


def test_the_public_events_of_a_member_say_nothing_that_identifies_them() -> None:
    member = a_member(birth_year=1970, joined_on=date(2024, 3, 1))
    member.leave(date(2025, 1, 20), DepartureReason.MOVED_IN_PERU)
    joined, left = member.collect_events()

    joined_data = catalogue.to_cloudevent(1, joined)["data"]
    left_data = catalogue.to_cloudevent(2, left)["data"]

    assert joined_data == {
        "member_id": str(member.id),
        "osv_id": str(OSV_ID),
        "nationality": "VE",
        "sex": "F",
        "age_band": "45-59",
        "joined_on": "2024-03-01",
        "occurred_on": "2024-03-01",
    }
    assert left_data == {
        "member_id": str(member.id),
        "osv_id": str(OSV_ID),
        "nationality": "VE",
        "sex": "F",
        "age_band": "45-59",
        "left_on": "2025-01-20",
        "reason": "moved_in_peru",
        "occurred_on": "2025-01-20",
    }


def test_a_member_without_a_birth_year_goes_out_in_the_unknown_age_band() -> None:
    (joined,) = a_member(birth_year=None).collect_events()

    assert catalogue.to_cloudevent(1, joined)["data"]["age_band"] == "unknown"
