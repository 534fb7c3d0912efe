"""Engagement's domain on its own: people join OSVs, take roles, leave, take part in projects, are forgotten.

No store, no web: the aggregates, the rules and the public form of their events.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from services.engagement.domain.documents import (
    DOCUMENT_RULES,
    LONGEST_NUMBER,
    DocumentIndex,
    InvalidDocumentNumberError,
    PersonAlreadyRegisteredError,
    document_identities,
    document_identity,
    normalise_document_number,
)
from services.engagement.domain.memberrules import (
    AgeBand,
    AlreadyActiveInOSVError,
    AlreadyEnrolledError,
    AlreadyErasedError,
    AlreadyLeftError,
    AlreadyWithdrewError,
    BornAfterJoiningError,
    DepartureReason,
    ForeignersDocumentError,
    ImplausibleBirthYearError,
    InvalidPhoneError,
    LeftBeforeJoinedError,
    MembershipEndedError,
    MembershipNotFoundError,
    MinorOnBoardError,
    NotMemberOfGrantedOSVError,
    ParticipationNotFoundError,
    PersonErasedError,
    Role,
    RoleChangedTooEarlyError,
    SameRoleError,
    SeveralActiveMembershipsError,
    Sex,
    UnknownNationalityError,
    WithdrewBeforeEnrollingError,
    age_band,
    nationality_of,
    normalise_phone,
    surely_adult_on,
)
from services.engagement.domain.members import REDACTED_NAME, Member
from services.engagement.domain.roster import OSVRoster, PresidentSeatTakenError
from services.engagement.events import catalogue
from shared.documents import DocumentType
from shared.errors import ConflictError, NotFoundError, RuleViolationError

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
    return Member.register(**{**given, **overrides})  # type: ignore[arg-type]


A_DNI: dict[str, object] = {"document_type": DocumentType.DNI, "document_number": "45678912"}
"""A Peruvian's document for :func:`a_member` (whose PTP Peru gives foreigners only: 422 ``document_for_foreigners`` with PE)."""


# Document numbers --------------------------------------------------------


@pytest.mark.parametrize(
    ("document_type", "given", "kept"),
    [
        (DocumentType.DNI, "45678912", "45678912"),
        (DocumentType.DNI, " 4567 8912 ", "45678912"),
        (DocumentType.CE, "001234567", "001234567"),
        (DocumentType.CE, "1234567", "001234567"),
        (DocumentType.CE, "01234567", "001234567"),
        (DocumentType.CE, "123456", "000123456"),
        (DocumentType.CE, "n0123a", "N0123A"),
        (DocumentType.CE, "000123", "000000123"),
        (DocumentType.CE, "0012345678", "012345678"),  # tester 30b M3: zeros beyond the card's 9 digits are no digits
        (DocumentType.CE, "0000371933", "000371933"),
        (DocumentType.CE, "A23456789012", "A23456789012"),
        (DocumentType.PTP, "ptp0012345", "000012345"),  # the card's code typed before its digits (tester 137 F1)
        (DocumentType.PTP, "PTP X12345", "PTPX12345"),  # before letters: kept as typed
        (DocumentType.PTP, "1234567", "001234567"),
        (DocumentType.PTP, "0012345678", "012345678"),
        (DocumentType.CPP, "0000000214733", "000214733"),
        (DocumentType.CPP, "cpp 123 456", "000123456"),
        (DocumentType.CPP, "CPP 000869323", "000869323"),
        (DocumentType.CE, "CE 001234567", "001234567"),
        (DocumentType.CE, "ce-1234567", "001234567"),
        (DocumentType.DNI, "45.678.912", "45678912"),  # as the card prints it (tester 137 F5)
        (DocumentType.DNI, "45-678-912", "45678912"),
        (DocumentType.SOLICITANTE_REFUGIO, "0123 2021 CEPR", "01232021CEPR"),
        (DocumentType.CPP, "940407", "000940407"),
        (DocumentType.CPP, "000940407", "000940407"),
        (DocumentType.PASAPORTE, "139876543", "139876543"),
        (DocumentType.PASAPORTE, "000940407", "000940407"),
        (DocumentType.PASAPORTE, "940407", "940407"),
        (DocumentType.PASAPORTE, "ab1234567890123", "AB1234567890123"),
        (DocumentType.CEDULA_VE, "19876543", "19876543"),
        (DocumentType.CEDULA_VE, "V-19876543", "V-19876543"),
        (DocumentType.CEDULA_VE, "e-123456", "E-123456"),
        (DocumentType.CEDULA_VE, "V 19.876.543", "V-19876543"),
        (DocumentType.CEDULA_VE, "1234567890", "1234567890"),
        (DocumentType.CEDULA_VE, "V-01.401.664", "V-01401664"),
        (DocumentType.SOLICITANTE_REFUGIO, "000940407", "000940407"),
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
        (DocumentType.DNI, None, "number_with_document"),  # nothing typed: not a DNI badly typed (tester 184 F2)
        (DocumentType.CE, "   ", "number_with_document"),
        (DocumentType.CE, "12345", "ce_6_to_12_alphanumerics"),
        (DocumentType.CE, "1234567890123", "ce_6_to_12_alphanumerics"),
        (DocumentType.CE, "123456789012", "ce_9_digits"),  # no card prints more than 9 digits
        (DocumentType.CE, "0001234567890", "ce_6_to_12_alphanumerics"),
        (DocumentType.PTP, "1234567890", "ptp_9_digits"),
        (DocumentType.CPP, "000001234567890", "cpp_9_digits"),
        (DocumentType.CE, "00123-4567", "ce_6_to_12_alphanumerics"),
        (DocumentType.PTP, "ptp12", "ptp_6_to_15_alphanumerics"),
        (DocumentType.PTP, "1234567890123456", "ptp_6_to_15_alphanumerics"),
        (DocumentType.CPP, "cpp/12345", "cpp_6_to_15_alphanumerics"),
        (DocumentType.CPP, "", "number_with_document"),
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


@pytest.mark.parametrize(("given", "zeros"), [("1234567", "0"), ("123456", "00")])
def test_a_dni_short_of_its_leading_zeros_is_refused_saying_how_to_send_it(given: str, zeros: str) -> None:
    """Tester 25b M1: a DNI beginning with 0, from a spreadsheet's number cell, was refused as 'exactly 8 digits' alone:
    the coordinator could not tell what to fix. It is not padded back (a digit left out when typing looks the same)."""
    with pytest.raises(InvalidDocumentNumberError) as refused:
        normalise_document_number(DocumentType.DNI, given)
    assert refused.value.rule == "dni_8_digits"
    assert f"this one has {len(given)}: if the DNI begins with {zeros}," in refused.value.message
    assert "type the number as text" in refused.value.message
    with pytest.raises(InvalidDocumentNumberError) as long:
        normalise_document_number(DocumentType.DNI, "456789123")
    assert long.value.message == "a DNI number is exactly 8 digits"


def test_a_refused_document_number_is_not_repeated_in_the_error() -> None:
    with pytest.raises(InvalidDocumentNumberError) as refused:
        normalise_document_number(DocumentType.DNI, "9876543")

    assert "9876543" not in str(refused.value)


def test_every_document_type_has_a_rule() -> None:
    for document_type in DocumentType:
        with pytest.raises(InvalidDocumentNumberError):
            normalise_document_number(document_type, "?")


@pytest.mark.parametrize(
    ("document_type", "given"),
    [
        (DocumentType.DNI, "00000000"),
        (DocumentType.CE, "000000"),
        (DocumentType.CE, "0000000"),
        (DocumentType.CPP, "000000000"),
        (DocumentType.PTP, "000 000"),
        (DocumentType.PASAPORTE, "000000"),
        (DocumentType.CEDULA_VE, "V-000000"),
        (DocumentType.CEDULA_VE, "0.000.000"),
        (DocumentType.SOLICITANTE_REFUGIO, "0000-000"),
    ],
)
def test_a_number_of_zeros_only_is_refused_as_a_placeholder(document_type: DocumentType, given: str) -> None:
    # Tester 30b, M4: "000000" and the like were registered as a person, and the next promoter who typed zeros was told
    # a stranger held the document.
    with pytest.raises(InvalidDocumentNumberError) as refused:
        normalise_document_number(document_type, given)
    assert (refused.value.field, refused.value.rule) == ("document_number", "not_all_zeros")
    assert normalise_document_number(document_type, given[:-1] + "1")  # one digit not a zero: a number


# Nationality and birth year ----------------------------------------------


@pytest.mark.parametrize(("given", "kept"), [("VE", "VE"), ("pe", "PE"), (" co ", "CO")])
def test_a_nationality_is_an_iso_country_code_in_upper_case(given: str, kept: str) -> None:
    assert nationality_of(given) == kept


@pytest.mark.parametrize("given", ["", "V", "VEN", "XX", "Venezuela", "1E"])
def test_a_nationality_that_is_not_a_country_code_is_refused(given: str) -> None:
    with pytest.raises(UnknownNationalityError) as refused:
        nationality_of(given)

    assert refused.value.field == "nationality"


@pytest.mark.parametrize("document_type", [DocumentType.CE, DocumentType.PTP, DocumentType.CPP, DocumentType.SOLICITANTE_REFUGIO])
def test_a_peruvian_with_a_document_peru_gives_foreigners_only_is_refused_and_a_correction_to_one_too(document_type: DocumentType) -> None:
    """Tester 262 F5: nationality PE with a CE (a foreigner's card) was taken without comment: one of the two is wrong,
    and the programme's figures by nationality count it. A Venezuelan cédula (a person of both nationalities may hold
    one), a passport and no document stay open to a Peruvian; a Venezuelan keeps every document."""
    with pytest.raises(ForeignersDocumentError) as refused:
        a_member(nationality="pe", document_type=document_type, document_number="001234567")
    assert (refused.value.field, refused.value.rule) == ("document_type", "document_for_foreigners")
    assert document_type.value in str(refused.value) and "001234567" not in str(refused.value)
    for allowed, number in ((DocumentType.CEDULA_VE, "V-12345678"), (DocumentType.PASAPORTE, "120045678"), (DocumentType.NINGUNO, None)):
        assert a_member(nationality="PE", document_type=allowed, document_number=number).nationality == "PE"
    assert a_member(nationality="VE", document_type=document_type, document_number="001234567").document_type == document_type

    venezuelan = a_member(document_type=document_type, document_number="001234567")
    with pytest.raises(ForeignersDocumentError):
        venezuelan.correct(TODAY, nationality="PE")
    peruvian = a_member(nationality="PE", **A_DNI)
    with pytest.raises(ForeignersDocumentError):
        peruvian.correct(TODAY, document=(document_type, "001234567"))
    assert venezuelan.correct(TODAY, nationality="PE", document=(DocumentType.DNI, "45678912"))  # both put right at once


def test_a_peruvian_recorded_with_a_foreigners_card_before_the_rule_is_corrected_in_other_data_and_its_document_put_right() -> None:
    """A member recorded PE with a PTP before tester 262 F5's rule keeps what it holds: a phone corrected is taken; the
    rule judges a correction of the nationality or the document."""
    legacy = Member(
        full_name="Rosa Quispe Mamani", document_type=DocumentType.PTP, document_number="000123456", phone=None,
        nationality="PE", sex=Sex.F, birth_year=1985,
    )
    legacy.join(OSV_ID, Role.MEMBER, date(2020, 3, 1))
    assert legacy.correct(TODAY, phone="+51 987 654 321") and legacy.correct(TODAY, full_name="Rosa Quispe")
    with pytest.raises(ForeignersDocumentError):
        legacy.correct(TODAY, document=(DocumentType.CE, "000123456"))
    assert legacy.correct(TODAY, nationality="VE")


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
    assert a_member(birth_year=2024, joined_on=date(2024, 1, 1)).latest_membership.age_band == AgeBand.CHILD


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

    assert member.latest_membership.age_band == AgeBand.YOUNG_ADULT
    assert member.latest_membership.age_band.value == "18-29"


# Phones and documents as the index knows them ------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [("+51 999 888 777", "+51999888777"), ("(01) 444-5566", "014445566"), ("999.888.777", "999888777"), (None, None), (" ", None)],
)
def test_a_phone_is_kept_as_digits_with_its_plus(given: str | None, kept: str | None) -> None:
    assert normalise_phone(given) == kept


@pytest.mark.parametrize("given", ["12345", "+51 999 888 777 12345", "999-abc-777", "++51999888777"])
def test_a_phone_that_is_not_6_to_15_digits_is_refused(given: str) -> None:
    with pytest.raises(InvalidPhoneError) as refused:
        normalise_phone(given)

    assert (refused.value.field, refused.value.rule) == ("phone", "phone_6_to_15_digits")
    assert given not in str(refused.value)


def test_a_ce_number_is_one_document_with_or_without_its_leading_zeros() -> None:
    assert document_identity(DocumentType.CE, "1234567") == document_identity(DocumentType.CE, "001234567") == "CE:001234567"
    assert document_identity(DocumentType.CE, "N01234") == "CE:N01234"  # an older card's letters: kept as they are
    assert document_identity(DocumentType.DNI, "01234567") != document_identity(DocumentType.CE, "1234567")


def test_a_ce_number_is_also_looked_up_as_earlier_versions_stored_it_without_its_leading_zeros() -> None:
    more = ("CE:0001234567", "CE:00001234567", "CE:000001234567")  # and with more zeros than the card prints, to 12
    coded = ("CE:CE001234567", "CE:CE1234567")  # kept with the card's code before its digits, before it was dropped
    assert document_identities(DocumentType.CE, "001234567") == ("CE:001234567", "CE:01234567", "CE:1234567", *more, *coded)
    assert document_identities(DocumentType.CE, "1234567") == ("CE:001234567", "CE:01234567", "CE:1234567", *more, *coded)
    assert document_identities(DocumentType.CE, "000123456")[:4] == ("CE:000123456", "CE:00123456", "CE:0123456", "CE:123456")
    assert document_identities(DocumentType.CE, "000001234")[:4] == ("CE:000001234", "CE:00001234", "CE:0001234", "CE:001234")
    for kept_as_typed in ("N01234", "A23456789012"):
        assert document_identities(DocumentType.CE, kept_as_typed) == (f"CE:{kept_as_typed}",)
    # Tester 30b M3: typed with more zeros than the card prints, it was kept as typed, and is found so still.
    assert document_identities(DocumentType.CE, "123456789") == (
        "CE:123456789", "CE:0123456789", "CE:00123456789", "CE:000123456789", "CE:CE123456789",
    )
    assert document_identity(DocumentType.CE, "0000371933") == document_identity(DocumentType.CPP, "000371933").replace("CPP", "CE")
    assert "CPP:0000000214733" in document_identities(DocumentType.CPP, "214733")
    assert document_identities(DocumentType.DNI, "01234567") == ("DNI:01234567",)
    assert document_identities(DocumentType.NINGUNO, None) == ()


def test_a_member_registered_before_ce_numbers_were_padded_replays_as_the_same_document() -> None:
    # The Registered event as the service recorded it then: the number as typed.
    member = Member(full_name="Luis Díaz", document_type=DocumentType.CE, document_number="1234567", phone=None,
                    nationality="VE", sex=Sex.M, birth_year=None)

    assert member.document_number == "1234567"  # what was recorded stays recorded
    assert member.document_identity == "CE:001234567"
    assert member.document_identities[:3] == ("CE:001234567", "CE:01234567", "CE:1234567")


@pytest.mark.parametrize("document_type", [DocumentType.CPP, DocumentType.PTP])
def test_a_cpp_or_ptp_number_typed_without_its_leading_zeros_is_kept_as_its_card_prints_it(document_type: DocumentType) -> None:
    """Tester 30 H2: Migraciones prints CPP and PTP numbers in 9 digits like a CE's; "000940407" from a text cell and
    940407 from a numeric one registered one person twice. Padded back as the CE is; one with letters or longer as typed."""
    for typed in ("000940407", "00940407", "940407", " 0009 40407 "):
        assert normalise_document_number(document_type, typed) == "000940407"
        assert document_identity(document_type, normalise_document_number(document_type, typed)) == f"{document_type}:000940407"
    assert document_identity(document_type, "1234567") == f"{document_type}:001234567"  # as registered before: replays padded
    assert document_identity(document_type, "A0940407") == f"{document_type}:A0940407"
    assert document_identity(document_type, "0012345678") == document_identity(document_type, "12345678")  # tester 30b M3
    assert document_identity(document_type, "1012345678") != document_identity(document_type, "12345678")
    assert document_identity(document_type, "940407") != document_identity(DocumentType.CE, "940407")


@pytest.mark.parametrize(
    ("document_type", "with_zeros", "without"),
    [
        (DocumentType.PASAPORTE, "000940407", "940407"),
        (DocumentType.SOLICITANTE_REFUGIO, "000940407", "940407"),
        (DocumentType.CEDULA_VE, "V-01.401.664", "1401664"),
        (DocumentType.CEDULA_VE, "001401664", "V-1.401.664"),
    ],
)
def test_a_passport_claim_or_cedula_number_of_digits_is_one_document_with_or_without_its_leading_zeros(
    document_type: DocumentType, with_zeros: str, without: str
) -> None:
    """Tester 30 H2: these have no one printed length, so nothing is padded: a number of digits only is compared without
    its leading zeros, and kept as typed."""
    kept = normalise_document_number(document_type, with_zeros)
    assert document_identity(document_type, kept) == document_identity(
        document_type, normalise_document_number(document_type, without)
    )
    assert kept is not None and kept.removeprefix("V-").startswith("0")  # kept as typed, its zeros too
    assert document_identity(document_type, "000940407") != document_identity(document_type, "940417")  # zeros only


def test_a_passport_or_claim_number_with_letters_keeps_its_zeros_and_a_dni_is_still_refused_short_of_them() -> None:
    assert document_identity(DocumentType.PASAPORTE, "A0940407") != document_identity(DocumentType.PASAPORTE, "A940407")
    assert document_identity(DocumentType.SOLICITANTE_REFUGIO, "2023-LIM-0042") != document_identity(
        DocumentType.SOLICITANTE_REFUGIO, "2023-LIM-42"
    )
    assert document_identity(DocumentType.PASAPORTE, "000000") == "PASAPORTE:0"
    with pytest.raises(InvalidDocumentNumberError) as refused:
        normalise_document_number(DocumentType.DNI, "1234567")
    assert "if the DNI begins with 0" in refused.value.message


def test_other_documents_are_also_looked_up_as_earlier_versions_stored_them_with_or_without_leading_zeros() -> None:
    """Entries made before tester 30's H2 fix keep the number as typed: looked up under every form with more or fewer
    zeros that the type's rule accepts; written only under the first."""
    assert document_identities(DocumentType.CPP, "940407")[:4] == ("CPP:000940407", "CPP:00940407", "CPP:0940407", "CPP:940407")
    assert document_identities(DocumentType.PTP, "001234567")[:4] == ("PTP:001234567", "PTP:01234567", "PTP:1234567", "PTP:0001234567")
    assert document_identities(DocumentType.PTP, "001234567")[-3] == "PTP:000000001234567"  # to the rule's 15
    assert document_identities(DocumentType.CPP, "1012345678") == ("CPP:1012345678", "CPP:CPP1012345678")  # never padded, nor shortened
    assert document_identities(DocumentType.CEDULA_VE, "V-19876543") == (
        "CEDULA_VE:19876543", "CEDULA_VE:019876543", "CEDULA_VE:0019876543",  # up to the cédula's 10 digits
    )
    assert document_identities(DocumentType.CEDULA_VE, "V-01401664")[:2] == ("CEDULA_VE:1401664", "CEDULA_VE:01401664")
    passport = document_identities(DocumentType.PASAPORTE, "000940407")
    assert passport == document_identities(DocumentType.PASAPORTE, "940407")
    assert passport[0] == "PASAPORTE:940407"
    assert passport[1:] == tuple(f"PASAPORTE:{'0' * n}940407" for n in range(1, 10))  # 7 to 15 characters
    claim = document_identities(DocumentType.SOLICITANTE_REFUGIO, "0042")
    assert claim[0] == "SOLICITANTE_REFUGIO:42" and "SOLICITANTE_REFUGIO:0042" in claim  # as it was stored
    assert len(claim[-1]) == len("SOLICITANTE_REFUGIO:") + 20 and "SOLICITANTE_REFUGIO:042" not in claim  # 4 to 20
    for rule in DOCUMENT_RULES.values():  # the forms looked up reach as far as any rule accepts zeros, and no further
        assert not rule.pattern.fullmatch("0" * (LONGEST_NUMBER + 1))
    assert DOCUMENT_RULES[DocumentType.SOLICITANTE_REFUGIO].pattern.fullmatch("0" * LONGEST_NUMBER)
    for kept_as_typed in (("PASAPORTE", "A0940407"), ("SOLICITANTE_REFUGIO", "2023LIM0042"), ("DNI", "01234567")):
        assert document_identities(DocumentType(kept_as_typed[0]), kept_as_typed[1]) == (":".join(kept_as_typed),)


def test_an_asylum_claim_is_one_document_with_or_without_its_hyphens_and_found_as_stored_with_them() -> None:
    """Tester 137 F1: "0123-2021-CEPR" and "0123 2021 CEPR" registered one person twice (the import took them for one)."""
    hyphens = document_identities(DocumentType.SOLICITANTE_REFUGIO, normalise_document_number(DocumentType.SOLICITANTE_REFUGIO, "0123-2021-cepr"))
    spaces = document_identities(DocumentType.SOLICITANTE_REFUGIO, normalise_document_number(DocumentType.SOLICITANTE_REFUGIO, "0123 2021 CEPR"))
    assert hyphens[0] == spaces[0] == "SOLICITANTE_REFUGIO:01232021CEPR"
    assert hyphens[1:] == ("SOLICITANTE_REFUGIO:0123-2021-CEPR",)  # an entry made before compared the hyphens
    assert document_identity(DocumentType.SOLICITANTE_REFUGIO, "0042-2021") == "SOLICITANTE_REFUGIO:422021"  # digits: zeros too


def test_a_card_recorded_with_its_code_before_the_digits_is_the_same_document_as_the_digits() -> None:
    assert document_identity(DocumentType.CE, "CE001234567") == document_identity(DocumentType.CE, "1234567") == "CE:001234567"
    assert document_identity(DocumentType.CPP, "CPP869323") == "CPP:000869323"
    assert document_identity(DocumentType.CE, "CEX12345") == "CE:CEX12345"  # letters after it: a number of its own


def test_a_venezuelan_cedula_is_one_document_with_or_without_its_prefix() -> None:
    assert document_identity(DocumentType.CEDULA_VE, "V-19876543") == document_identity(DocumentType.CEDULA_VE, "19876543")
    assert document_identity(DocumentType.DNI, "19876543") != document_identity(DocumentType.CE, "19876543")
    assert document_identity(DocumentType.NINGUNO, None) is None


# Registering, joining, changing role and leaving ------------------------------------


def test_a_person_registers_with_their_data_normalised_and_a_first_membership() -> None:
    member = a_member(phone="+51 987 654 321", role=Role.PRESIDENT)

    assert member.document_number == "000012345"
    assert member.nationality == "VE"
    assert member.phone == "+51987654321"
    assert member.personal_data == "kept"
    (membership,) = member.memberships.values()
    assert (membership.osv_id, membership.role, membership.status) == (OSV_ID, Role.PRESIDENT, "active")
    assert [type(e).__name__ for e in member.collect_events()] == ["Registered", "Joined"]


def test_a_member_joins_another_osv_and_rejoins_one_they_left_as_new_memberships() -> None:
    member = a_member(joined_on=date(2024, 3, 1))
    first = member.latest_membership
    other_osv = uuid4()

    # She also joins a second OSV, as a board member.
    second = member.join(other_osv, Role.BOARD_MEMBER, date(2024, 5, 1))
    assert second.membership_id != first.membership_id
    assert len(member.active_memberships) == 2

    # While active, she cannot join the first OSV again.
    with pytest.raises(AlreadyActiveInOSVError) as refused:
        member.join(OSV_ID, Role.MEMBER, date(2024, 6, 1))
    assert (refused.value.field, refused.value.rule) == ("osv_id", "one_active_membership_per_osv")

    # She leaves it, and comes back a year later: a new membership with its own history.
    member.leave_membership(first.membership_id, date(2024, 7, 1), DepartureReason.MOVED_IN_PERU)
    again = member.join(OSV_ID, Role.MEMBER, date(2025, 7, 1))
    assert again.membership_id not in (first.membership_id, second.membership_id)
    assert [m.status for m in member.memberships.values()] == ["left", "active", "active"]


def test_a_rejoining_dated_before_the_day_the_earlier_stay_ended_is_refused() -> None:
    # She was a member from March 2023 to January 2024; "2023-06-01" typed for "2024-06-01" would have her join again
    # while she still was one, counted in the wrong phase. A day before the earlier stay began is no better: the stay
    # begun is open, so it overlapped the earlier one, and its departure then made the overlap for good (tester 149 F1).
    member = a_member(joined_on=date(2023, 3, 1))
    first = member.latest_membership
    member.leave(date(2024, 1, 1), DepartureReason.WITHDREW)
    member.collect_events()
    for day in (date(2022, 1, 10), date(2023, 2, 28), date(2023, 3, 1), date(2023, 6, 1), date(2023, 12, 31)):
        with pytest.raises(RuleViolationError) as refused:
            member.join(OSV_ID, Role.MEMBER, day)
        assert (refused.value.field, refused.value.rule) == ("joined_on", "stays_apart")
        assert str(first.membership_id) in str(refused.value) and "2024-01-01" in str(refused.value)
    assert member.collect_events() == []

    # The day she left, or later, she may join again.
    assert member.join(OSV_ID, Role.MEMBER, date(2024, 1, 1)).joined_on == date(2024, 1, 1)


def test_a_member_cannot_join_before_they_were_born() -> None:
    member = a_member(birth_year=2010, joined_on=date(2024, 3, 1))

    with pytest.raises(BornAfterJoiningError):
        member.join(uuid4(), Role.MEMBER, date(2009, 12, 31))


def test_each_membership_keeps_the_age_band_of_the_year_it_began() -> None:
    member = a_member(birth_year=1995, joined_on=date(2024, 3, 1))

    later = member.join(uuid4(), Role.MEMBER, date(2025, 2, 1))

    assert member.memberships[next(iter(member.memberships))].age_band == AgeBand.YOUNG_ADULT
    assert later.age_band == AgeBand.ADULT


def test_a_member_changes_role_and_the_history_is_kept() -> None:
    member = a_member(joined_on=date(2024, 3, 1))
    membership = member.latest_membership

    member.change_role(membership.membership_id, Role.BOARD_MEMBER, date(2024, 4, 1))
    member.change_role(membership.membership_id, Role.PRESIDENT, date(2024, 9, 1))

    assert membership.role == Role.PRESIDENT
    assert [(r.role, r.since) for r in membership.roles] == [
        (Role.MEMBER, date(2024, 3, 1)),
        (Role.BOARD_MEMBER, date(2024, 4, 1)),
        (Role.PRESIDENT, date(2024, 9, 1)),
    ]


def test_a_role_change_must_change_the_role_after_the_current_one_began_on_an_active_membership() -> None:
    member = a_member(joined_on=date(2024, 3, 1))
    membership_id = member.latest_membership.membership_id

    with pytest.raises(SameRoleError) as same:
        member.change_role(membership_id, Role.MEMBER, date(2024, 4, 1))
    assert (same.value.field, same.value.rule) == ("role", "new_role")

    with pytest.raises(RoleChangedTooEarlyError) as early:
        member.change_role(membership_id, Role.PRESIDENT, date(2024, 2, 1))
    assert isinstance(early.value, RuleViolationError)
    assert (early.value.field, early.value.rule) == ("changed_on", "not_before_current_role")

    with pytest.raises(MembershipNotFoundError):
        member.change_role(uuid4(), Role.PRESIDENT, date(2024, 4, 1))

    member.leave(date(2024, 5, 1), DepartureReason.WITHDREW)
    with pytest.raises(MembershipEndedError) as ended:
        member.change_role(membership_id, Role.PRESIDENT, date(2024, 6, 1))
    assert ended.value.rule == "membership_active"


def test_a_member_leaves_once() -> None:
    member = a_member(joined_on=date(2024, 3, 1))

    # The member moves to Chile; staff record it.
    membership = member.leave(date(2024, 9, 30), DepartureReason.MOVED_ABROAD)
    assert membership.status == "left"
    assert membership.left_on == date(2024, 9, 30)
    assert membership.reason == DepartureReason.MOVED_ABROAD

    # A second departure contradicts the first.
    with pytest.raises(AlreadyLeftError) as refused:
        member.leave(date(2024, 10, 1), DepartureReason.OTHER)
    assert isinstance(refused.value, ConflictError)
    assert (refused.value.field, refused.value.rule) == ("left_on", "leave_once")
    with pytest.raises(AlreadyLeftError):
        member.leave_membership(membership.membership_id, date(2024, 10, 1), DepartureReason.OTHER)
    assert membership.left_on == date(2024, 9, 30)


def test_a_member_cannot_leave_before_they_joined() -> None:
    member = a_member(joined_on=date(2024, 3, 1))

    with pytest.raises(LeftBeforeJoinedError) as refused:
        member.leave(date(2024, 2, 29), DepartureReason.WITHDREW)

    assert isinstance(refused.value, RuleViolationError)
    assert refused.value.field == "left_on"
    assert member.latest_membership.status == "active"


def test_a_member_may_leave_on_the_day_they_joined_and_may_have_died() -> None:
    member = a_member(joined_on=date(2024, 3, 1))

    member.leave(date(2024, 3, 1), DepartureReason.DECEASED)

    assert member.latest_membership.reason == DepartureReason.DECEASED


def test_a_departure_without_a_membership_named_needs_exactly_one_active_membership() -> None:
    member = a_member(joined_on=date(2024, 3, 1))
    member.join(uuid4(), Role.MEMBER, date(2024, 4, 1))

    with pytest.raises(SeveralActiveMembershipsError) as refused:
        member.leave(date(2024, 5, 1), DepartureReason.WITHDREW)

    assert isinstance(refused.value, ConflictError)
    assert (refused.value.field, refused.value.rule) == ("membership_id", "one_active_membership")
    assert len(member.active_memberships) == 2


def test_an_unknown_membership_is_not_found() -> None:
    with pytest.raises(MembershipNotFoundError) as refused:
        a_member().leave_membership(uuid4(), date(2024, 5, 1), DepartureReason.WITHDREW)

    assert isinstance(refused.value, NotFoundError)


# Projects ---------------------------------------------------------------------------


def test_an_active_member_of_the_granted_osv_enrols_in_its_project_once_and_withdraws_once() -> None:
    member = a_member(joined_on=date(2024, 3, 1))
    grant_id = uuid4()

    participation = member.enrol(grant_id, OSV_ID, date(2024, 5, 1))
    assert (participation.osv_id, participation.enrolled_on) == (OSV_ID, date(2024, 5, 1))

    with pytest.raises(AlreadyEnrolledError) as twice:
        member.enrol(grant_id, OSV_ID, date(2024, 6, 1))
    assert isinstance(twice.value, ConflictError)
    assert twice.value.rule == "enrol_once"

    with pytest.raises(WithdrewBeforeEnrollingError) as early:
        member.withdraw(grant_id, date(2024, 4, 30))
    assert (early.value.field, early.value.rule) == ("withdrew_on", "not_before_enrolled_on")

    member.withdraw(grant_id, date(2024, 8, 1))
    assert participation.withdrew_on == date(2024, 8, 1)
    with pytest.raises(AlreadyWithdrewError) as again:
        member.withdraw(grant_id, date(2024, 9, 1))
    assert again.value.rule == "withdraw_once"


def test_only_an_active_member_of_the_granted_osv_takes_part_in_its_project() -> None:
    member = a_member(joined_on=date(2024, 3, 1))

    with pytest.raises(NotMemberOfGrantedOSVError) as elsewhere:
        member.enrol(uuid4(), uuid4(), date(2024, 5, 1))
    assert (elsewhere.value.field, elsewhere.value.rule) == ("grant_id", "member_of_granted_osv")

    member.leave(date(2024, 4, 1), DepartureReason.WITHDREW)
    with pytest.raises(NotMemberOfGrantedOSVError):
        member.enrol(uuid4(), OSV_ID, date(2024, 5, 1))


def test_withdrawing_from_a_project_one_never_joined_is_not_found() -> None:
    with pytest.raises(ParticipationNotFoundError):
        a_member().withdraw(uuid4(), date(2024, 5, 1))


# Forgetting a person ----------------------------------------------------------------


def test_an_erased_person_keeps_their_memberships_without_their_personal_data() -> None:
    member = a_member(joined_on=date(2024, 3, 1), phone="999888777")
    membership = member.latest_membership

    member.erase(date(2025, 1, 10))

    assert (member.full_name, member.document_number, member.phone, member.birth_year) == (REDACTED_NAME, None, None, None)
    assert member.personal_data == "erased"
    assert member.document_identity is None
    # What happened to the membership can still be recorded.
    member.change_role(membership.membership_id, Role.BOARD_MEMBER, date(2025, 2, 1))
    member.leave(date(2025, 3, 1), DepartureReason.DECEASED)
    assert membership.status == "left"


def test_a_person_is_erased_once_and_then_takes_no_new_memberships_or_projects() -> None:
    member = a_member()
    member.erase(date(2025, 1, 10))

    with pytest.raises(AlreadyErasedError) as twice:
        member.erase(date(2025, 1, 11))
    assert isinstance(twice.value, ConflictError)
    assert twice.value.rule == "erase_once"
    with pytest.raises(PersonErasedError) as joining:
        member.join(uuid4(), Role.MEMBER, date(2025, 2, 1))
    assert joining.value.rule == "not_erased"
    with pytest.raises(PersonErasedError):
        member.enrol(uuid4(), OSV_ID, date(2025, 2, 1))
    with pytest.raises(PersonErasedError) as correcting:  # a new registration's advice fitted no date (tester 184 F6)
        member.correct_joining(member.latest_membership.membership_id, date(2024, 6, 1), today=date(2025, 2, 1))
    assert correcting.value.rule == "not_erased"
    assert "new registration" not in str(correcting.value) and "stay as recorded" in str(correcting.value)


# The document index ------------------------------------------------------------------


def test_a_document_is_held_by_one_person_until_released() -> None:
    first, second = uuid4(), uuid4()
    index = DocumentIndex(id=DocumentIndex.id_for("digest"), member_id=first)

    with pytest.raises(PersonAlreadyRegisteredError) as refused:
        index.claim(second)
    assert isinstance(refused.value, ConflictError)
    assert (refused.value.rule, refused.value.member_id) == ("person_already_registered", first)
    assert str(first) in str(refused.value)

    index.release()
    index.claim(second)
    assert index.member_id == second


def test_the_index_entry_of_a_digest_is_always_the_same_and_differs_between_digests() -> None:
    assert DocumentIndex.id_for("a1") == DocumentIndex.id_for("a1")
    assert DocumentIndex.id_for("a1") != DocumentIndex.id_for("a2")
    assert isinstance(DocumentIndex.id_for("a1"), UUID)


# An OSV's roster ------------------------------------------------------------------------


def test_the_roster_counts_active_memberships_by_role_group_and_document_type() -> None:
    roster = OSVRoster(osv_id=OSV_ID)
    ana = a_member(document_type=DocumentType.DNI, document_number="45678912", role=Role.PRESIDENT)
    luis = a_member(document_type=DocumentType.CE, document_number="001234567")
    rosa = a_member(document_type=DocumentType.NINGUNO, document_number=None)
    for person in (ana, luis, rosa):
        roster.seat(person.latest_membership, person.id, person.document_type, TODAY)

    assert roster.board == {"DNI": 1}
    assert roster.members == {"DNI": 1, "CE": 1, "NINGUNO": 1}

    # Luis joins the board; Ana leaves.
    luis_membership = luis.change_role(luis.latest_membership.membership_id, Role.BOARD_MEMBER, date(2024, 6, 1))
    roster.seat(luis_membership, luis.id, luis.document_type, TODAY)
    roster.unseat(ana.leave(date(2024, 7, 1), DepartureReason.MOVED_ABROAD), ana.id, ana.document_type, TODAY)

    assert roster.board == {"CE": 1}
    assert roster.members == {"CE": 1, "NINGUNO": 1}
    last = roster.collect_events()[-1]
    assert (last.board, last.members, last.counted_on) == ({"CE": 1}, {"CE": 1, "NINGUNO": 1}, TODAY)


def test_an_osv_has_one_president_at_a_time_named_by_member_id() -> None:
    roster = OSVRoster(osv_id=OSV_ID)
    ana = a_member(full_name="Ana Quispe", document_type=DocumentType.DNI, document_number="45678912", role=Role.PRESIDENT)
    roster.seat(ana.latest_membership, ana.id, ana.document_type, TODAY)
    luis = a_member(full_name="Luis Pérez", document_type=DocumentType.CE, document_number="001234567", role=Role.PRESIDENT)
    with pytest.raises(PresidentSeatTakenError) as refused:
        roster.seat(luis.latest_membership, luis.id, luis.document_type, TODAY)
    assert (refused.value.field, refused.value.rule, refused.value.holder) == ("role", "one_president", ana.id)
    assert str(ana.id) in refused.value.message and "Ana" not in refused.value.message
    assert len(roster.seats) == 1

    # A member of the OSV made president while Ana holds it: refused too; her own seat counted again is no second president.
    rosa = a_member(document_type=DocumentType.NINGUNO, document_number=None)
    roster.seat(rosa.latest_membership, rosa.id, rosa.document_type, TODAY)
    with pytest.raises(PresidentSeatTakenError):
        roster.check_seat(rosa.latest_membership.membership_id, Role.PRESIDENT)
    roster.check_seat(ana.latest_membership.membership_id, Role.PRESIDENT)
    roster.check_seat(rosa.latest_membership.membership_id, Role.BOARD_MEMBER)

    # Ana steps down first (or leaves): then Rosa takes the presidency.
    roster.seat(ana.change_role(ana.latest_membership.membership_id, Role.BOARD_MEMBER, date(2024, 6, 1)), ana.id, ana.document_type, TODAY)
    roster.seat(rosa.change_role(rosa.latest_membership.membership_id, Role.PRESIDENT, date(2024, 6, 1)), rosa.id, rosa.document_type, TODAY)
    assert [s.role for s in roster.seats.values()] == [Role.BOARD_MEMBER, Role.PRESIDENT]


@pytest.mark.parametrize(
    ("birth_year", "starts_on", "adult"),
    [
        (2006, date(2024, 12, 30), False),  # may have turned 18 in 2024, but only surely by 31 December
        (2006, date(2024, 12, 31), True),
        (2006, date(2025, 1, 1), True),
        (2007, date(2025, 6, 1), False),
        (2020, date(2021, 4, 2), False),  # the tester's one-year-old president
        (1991, date(2024, 3, 1), True),
    ],
)
def test_an_adult_is_18_by_the_conservative_reading_of_a_birth_year(birth_year: int, starts_on: date, adult: bool) -> None:
    assert surely_adult_on(birth_year, starts_on) is adult


@pytest.mark.parametrize("role", [Role.PRESIDENT, Role.BOARD_MEMBER])
def test_a_minor_is_not_registered_on_the_board_but_is_as_a_member(role: Role) -> None:
    with pytest.raises(MinorOnBoardError) as refused:
        a_member(birth_year=2020, joined_on=date(2021, 4, 2), role=role)
    assert (refused.value.field, refused.value.rule) == ("role", "board_role_adult")
    assert "2020" not in refused.value.message and "joined_on 2021-04-02" in refused.value.message
    youth = a_member(birth_year=2009, joined_on=date(2021, 4, 2), role=Role.MEMBER)
    assert (youth.latest_membership.role, youth.latest_membership.age_band) == (Role.MEMBER, AgeBand.CHILD)
    assert a_member(birth_year=None, joined_on=date(2021, 4, 2), role=role).latest_membership.role is role  # nothing to judge by


def test_a_minor_takes_a_board_role_once_surely_18() -> None:
    member = a_member(birth_year=2006, joined_on=date(2024, 3, 1))
    membership_id = member.latest_membership.membership_id
    with pytest.raises(MinorOnBoardError) as refused:
        member.change_role(membership_id, Role.PRESIDENT, date(2024, 12, 30))
    assert (refused.value.field, refused.value.rule) == ("role", "board_role_adult")
    assert "changed_on 2024-12-30" in refused.value.message
    with pytest.raises(MinorOnBoardError):
        member.join(uuid4(), Role.BOARD_MEMBER, date(2024, 6, 1))
    assert member.change_role(membership_id, Role.PRESIDENT, date(2024, 12, 31)).role is Role.PRESIDENT


def test_the_roster_of_an_osv_is_always_the_same_aggregate() -> None:
    assert OSVRoster(osv_id=OSV_ID).id == OSVRoster.create_id(OSV_ID)


# What leaves the service ------------------------------------------------------


def test_the_public_events_of_a_member_say_nothing_that_identifies_them() -> None:
    member = a_member(birth_year=1970, joined_on=date(2024, 3, 1), phone="999888777", role=Role.BOARD_MEMBER)
    membership = member.latest_membership
    grant_id = uuid4()
    member.change_role(membership.membership_id, Role.PRESIDENT, date(2024, 4, 1))
    member.enrol(grant_id, OSV_ID, date(2024, 5, 1))
    member.withdraw(grant_id, date(2024, 6, 1))
    member.leave(date(2025, 1, 20), DepartureReason.MOVED_IN_PERU)
    member.erase(date(2025, 2, 1))
    registered, *events = member.collect_events()

    assert catalogue.to_cloudevent(1, registered) is None  # the personal data never leaves
    data = [catalogue.to_cloudevent(n, e)["data"] for n, e in enumerate(events, start=2)]
    who = {"member_id": str(member.id), "osv_id": str(OSV_ID), "nationality": "VE", "sex": "F", "age_band": "45-59"}
    membership_id = str(membership.membership_id)
    assert data == [
        {**who, "membership_id": membership_id, "role": "board_member", "joined_on": "2024-03-01", "occurred_on": "2024-03-01"},
        {
            "member_id": str(member.id),
            "membership_id": membership_id,
            "osv_id": str(OSV_ID),
            "role": "president",
            "changed_on": "2024-04-01",
            "occurred_on": "2024-04-01",
        },
        {**who, "grant_id": str(grant_id), "enrolled_on": "2024-05-01", "occurred_on": "2024-05-01"},
        {**who, "grant_id": str(grant_id), "withdrew_on": "2024-06-01", "occurred_on": "2024-06-01"},
        {**who, "membership_id": membership_id, "left_on": "2025-01-20", "reason": "moved_in_peru", "occurred_on": "2025-01-20"},
        {"member_id": str(member.id), "osv_id": str(OSV_ID), "erased_on": "2025-02-01", "occurred_on": "2025-02-01"},
    ]
    assert [catalogue.to_cloudevent(n, e)["type"] for n, e in enumerate(events)] == [
        "MemberJoined",
        "MemberRoleChanged",
        "ParticipantEnrolled",
        "ParticipantWithdrew",
        "MemberLeft",
        "PersonalDataErased",
    ]


def test_an_erasure_sends_a_tombstone_to_every_osv_the_person_was_a_member_of() -> None:
    member = a_member(joined_on=date(2024, 3, 1))
    other_osv = uuid4()
    member.leave(date(2024, 6, 1), DepartureReason.MOVED_IN_PERU)
    member.join(other_osv, Role.MEMBER, date(2024, 7, 1))
    member.join(OSV_ID, Role.MEMBER, date(2024, 8, 1))  # back in the first: still one tombstone for it
    member.erase(date(2025, 2, 1))

    tombstones = [e for e in member.collect_events() if type(e).__name__ == "PersonalDataErased"]

    assert [catalogue.to_cloudevent(n, e)["data"]["osv_id"] for n, e in enumerate(tombstones, 1)] == [str(OSV_ID), str(other_osv)]
    assert member.personal_data == "erased"


def test_a_member_without_a_birth_year_goes_out_in_the_unknown_age_band() -> None:
    _, joined = a_member(birth_year=None).collect_events()

    assert catalogue.to_cloudevent(1, joined)["data"]["age_band"] == "unknown"


def test_an_osv_goes_out_as_its_counts_by_document_type_and_nothing_else() -> None:
    roster = OSVRoster(osv_id=OSV_ID)
    member = a_member(role=Role.PRESIDENT)
    roster.seat(member.latest_membership, member.id, member.document_type, TODAY)
    opened, counted = roster.collect_events()

    assert catalogue.to_cloudevent(1, opened) is None
    cloudevent = catalogue.to_cloudevent(2, counted)
    assert cloudevent["type"] == "OSVDocumentsCounted"
    assert cloudevent["data"] == {
        "osv_id": str(OSV_ID),
        "counted_on": "2025-06-15",
        "occurred_on": "2025-06-15",
        "board": {"PTP": 1},
        "members": {"PTP": 1},
    }


def test_the_document_index_never_leaves_the_service() -> None:
    index = DocumentIndex(id=DocumentIndex.id_for("d"), member_id=uuid4())
    index.release()
    index.claim(uuid4())

    assert [catalogue.to_cloudevent(n, e) for n, e in enumerate(index.collect_events())] == [None, None, None]


def test_a_rosters_counts_kept_seat_by_seat_are_the_full_count_of_its_seats_after_every_change() -> None:
    """The roster keeps its counts as each seat changes (a change costs the same with 1,000 members); each
    DocumentsCounted still carries the full count of the seats, in the order of DocumentType."""
    import random
    from types import SimpleNamespace

    from services.engagement.domain.roster import OSVRoster, tally

    rng = random.Random(17)
    roster = OSVRoster(osv_id=uuid4())
    seated: dict = {}
    for _ in range(600):
        if seated and rng.random() < 0.4:
            membership_id = rng.choice(list(seated))
            member_id, document_type = seated[membership_id]
            if rng.random() < 0.5:
                roster.unseat(SimpleNamespace(membership_id=membership_id, role=None), member_id, document_type, date(2024, 1, 1))
                del seated[membership_id]
                continue
        else:
            membership_id, member_id, document_type = uuid4(), uuid4(), rng.choice(list(DocumentType))
        role = rng.choice(list(Role))
        if role is Role.PRESIDENT and any(m != membership_id and s.role is Role.PRESIDENT for m, s in roster.seats.items()):
            with pytest.raises(PresidentSeatTakenError):  # one president at a time: the roster is left as it was
                roster.seat(SimpleNamespace(membership_id=membership_id, role=role), member_id, document_type, date(2024, 1, 1))
            continue
        seated[membership_id] = (member_id, document_type)
        roster.seat(SimpleNamespace(membership_id=membership_id, role=role), member_id, document_type, date(2024, 1, 1))
        counted = roster.pending_events[-1]
        assert counted.members == tally(roster.seats) and counted.board == tally(roster.seats, board_only=True)
    assert list(roster.seats) == [m for m in seated]  # a role changed keeps the member's place


# Rectification (Ley 29733 art. 20) ---------------------------------------------------------


def test_a_correction_replaces_what_is_given_normalised_and_keeps_the_rest() -> None:
    member = a_member(phone="987 654 321")
    member.collect_events()

    assert member.correct(TODAY, full_name="Yusmary Cordero Palacio", document=(DocumentType.CE, "1234567"))

    assert (member.full_name, member.document_type, member.document_number) == ("Yusmary Cordero Palacio", DocumentType.CE, "001234567")
    assert (member.phone, member.birth_year, member.nationality) == ("987654321", 1991, "VE")
    assert [type(e).__name__ for e in member.collect_events()] == ["PersonalDataCorrected"]


def test_a_correction_that_changes_nothing_records_nothing() -> None:
    member = a_member(phone="987654321")
    member.collect_events()

    assert not member.correct(TODAY, document=(DocumentType.PTP, "PTP 0012345"), phone="987 654 321")
    assert member.collect_events() == []


def test_a_birth_year_corrected_across_an_age_band_publishes_each_changed_membership_band_and_never_the_year() -> None:
    member = a_member(joined_on=date(2020, 3, 1), birth_year=1991)  # 29 then: 18-29
    other_osv = uuid4()
    member.join(other_osv, Role.MEMBER, date(2024, 3, 1))  # 33 then: 30-44
    first, second = member.memberships
    member.collect_events()
    with pytest.raises(RuleViolationError) as too_late:
        member.correct(TODAY, birth_year=2021)
    assert too_late.value.rule == "not_after_joined_on" and member.collect_events() == []

    assert member.correct(TODAY, birth_year=1990)  # 30 in 2020: only the first membership changes band

    corrected, band = member.collect_events()
    assert type(corrected).__name__ == "PersonalDataCorrected" and catalogue.is_private(corrected)
    public = catalogue.to_cloudevent(7, band)
    assert public is not None and public["type"] == "MemberAgeBandCorrected"
    assert public["data"] == {
        "member_id": str(member.id), "membership_id": str(first), "osv_id": str(OSV_ID),
        "previous_age_band": "18-29", "age_band": "30-44", "corrected_on": TODAY.isoformat(), "occurred_on": TODAY.isoformat(),
    }
    assert "1990" not in str(public)
    assert [m.age_band for m in member.memberships.values()] == [AgeBand.ADULT, AgeBand.ADULT]
    assert member.memberships[second].age_band == AgeBand.ADULT


def test_a_withdrawal_after_a_band_correction_publishes_the_corrected_band_replayed_or_not() -> None:
    # Closing32: the participation kept the band copied at enrolment, so ParticipantWithdrew said the old one.
    member = a_member(joined_on=date(2020, 3, 1), birth_year=1991)  # 29 then: 18-29
    grant_id, later_grant = uuid4(), uuid4()
    member.enrol(grant_id, OSV_ID, date(2024, 5, 1))
    member.correct(TODAY, birth_year=1990)  # 30 in 2020: 30-44
    member.enrol(later_grant, OSV_ID, date(2024, 6, 1))
    events = member.collect_events()
    replayed = None
    for domain_event in events:
        replayed = domain_event.mutate(replayed)

    for who in (member, replayed):
        assert who is not None
        who.withdraw(grant_id, date(2024, 8, 1))
        who.withdraw(later_grant, date(2024, 8, 1))
        withdrew = [catalogue.to_cloudevent(1, e) for e in who.collect_events()]
        assert [w["data"]["age_band"] for w in withdrew if w is not None] == ["30-44", "30-44"]


def test_a_birth_year_added_to_a_member_registered_without_one_corrects_the_unknown_band() -> None:
    member = a_member(birth_year=None)  # joined 2024: unknown
    member.collect_events()

    assert member.correct(TODAY, birth_year=1991)
    assert [type(e).__name__ for e in member.collect_events()] == ["PersonalDataCorrected", "AgeBandCorrected"]
    assert member.birth_year == 1991 and [m.age_band for m in member.memberships.values()] == [AgeBand.ADULT]

    assert member.correct(TODAY, birth_year=1993)  # 31 in 2024: the same band, nothing public
    assert [type(e).__name__ for e in member.collect_events()] == ["PersonalDataCorrected"]


def test_a_nationality_corrected_is_normalised_and_published_for_each_membership_with_its_days() -> None:
    # A Venezuelan recorded as PE by field staff: the person has the right to have it rectified, and the programme's
    # figures (migrants and host community) count them again.
    member = a_member(nationality="PE", joined_on=date(2020, 3, 1), **A_DNI)
    other_osv = uuid4()
    member.join(other_osv, Role.MEMBER, date(2024, 3, 1))
    first, second = member.memberships
    member.leave_membership(first, date(2022, 5, 1), DepartureReason.MOVED_IN_PERU)
    member.collect_events()

    assert member.correct(TODAY, nationality=" ve ")

    corrected, *public = member.collect_events()
    assert type(corrected).__name__ == "PersonalDataCorrected" and catalogue.is_private(corrected)
    out = [catalogue.to_cloudevent(7, e) for e in public]
    assert [e["type"] for e in out if e is not None] == ["MemberNationalityCorrected", "MemberNationalityCorrected"]
    assert [e["data"] for e in out if e is not None] == [
        {
            "member_id": str(member.id), "membership_id": str(membership), "osv_id": str(osv), "previous_nationality": "PE",
            "nationality": "VE", "joined_on": joined, "left_on": left, "corrected_on": TODAY.isoformat(), "occurred_on": TODAY.isoformat(),
        }
        for membership, osv, joined, left in ((first, OSV_ID, "2020-03-01", "2022-05-01"), (second, other_osv, "2024-03-01", None))
    ]
    assert member.nationality == "VE"
    assert "Yusmary" not in str(out) and "0012345" not in str(out)  # never the name nor the document


def test_a_sex_corrected_is_published_and_later_events_carry_the_corrected_terms_replayed_or_not() -> None:
    member = a_member(sex=Sex.M, nationality="PE", **A_DNI)
    grant_id = uuid4()
    member.enrol(grant_id, OSV_ID, date(2024, 5, 1))

    assert member.correct(TODAY, sex=Sex.F, nationality="VE")
    events = member.collect_events()
    assert [type(e).__name__ for e in events[-3:]] == ["PersonalDataCorrected", "NationalityCorrected", "SexCorrected"]
    sex = catalogue.to_cloudevent(1, events[-1])
    assert sex is not None and (sex["type"], sex["data"]["previous_sex"], sex["data"]["sex"]) == ("MemberSexCorrected", "M", "F")
    replayed = None
    for domain_event in events:
        replayed = domain_event.mutate(replayed)

    for who in (member, replayed):
        assert who is not None and (who.nationality, who.sex) == ("VE", Sex.F)
        who.withdraw(grant_id, date(2024, 8, 1))
        who.leave(date(2024, 9, 1), DepartureReason.WITHDREW)
        later = [catalogue.to_cloudevent(1, e) for e in who.collect_events()]
        assert [(e["data"]["nationality"], e["data"]["sex"]) for e in later if e is not None] == [("VE", "F"), ("VE", "F")]


def test_a_correction_recorded_before_nationality_and_sex_could_be_corrected_keeps_them() -> None:
    member = a_member()
    member.correct(TODAY, full_name="Yusmary Cordero")
    *made, corrected = member.collect_events()
    for old in ("nationality", "sex"):  # as such an event reads back from the store
        del corrected.__dict__[old]
    replayed = None
    for domain_event in [*made, corrected]:
        replayed = domain_event.mutate(replayed)
    assert replayed is not None and (replayed.full_name, replayed.nationality, replayed.sex) == ("Yusmary Cordero", "VE", Sex.F)


def test_a_nationality_or_sex_unchanged_or_of_no_country_records_nothing() -> None:
    member = a_member()
    member.collect_events()

    assert not member.correct(TODAY, nationality="ve", sex=Sex.F)
    with pytest.raises(UnknownNationalityError) as unknown:
        member.correct(TODAY, nationality="XX", phone="987654321")
    assert (unknown.value.field, unknown.value.rule) == ("nationality", "iso_3166_alpha_2")
    assert member.collect_events() == [] and member.phone is None


def test_a_nationality_corrected_within_other_still_goes_out_and_a_name_alone_publishes_nothing() -> None:
    member = a_member(nationality="CO")
    member.collect_events()

    assert member.correct(TODAY, full_name="Yusmary Cordero")
    assert [type(e).__name__ for e in member.collect_events()] == ["PersonalDataCorrected"]
    assert member.correct(TODAY, nationality="EC")  # both "other" for reporting; a partner may count countries
    assert [type(e).__name__ for e in member.collect_events()] == ["PersonalDataCorrected", "NationalityCorrected"]


def test_a_corrected_birth_year_keeps_a_board_role_for_an_adult_on_the_day_it_started() -> None:
    # Tester 30b, M2: a board member since 2024-03-01, born 2005, corrected to 2006 (still 18-29 in 2024) was taken:
    # by the conservative reading she is 18 only from 2024-12-31.
    member = a_member(birth_year=2005, role=Role.BOARD_MEMBER)
    member.collect_events()

    with pytest.raises(RuleViolationError) as refused:
        member.correct(TODAY, birth_year=2006)
    assert (refused.value.rule, refused.value.field) == ("board_role_adult", "birth_year") and "2006" not in refused.value.message
    assert member.birth_year == 2005 and member.collect_events() == []

    membership = next(iter(member.memberships))
    member.change_role(membership, Role.MEMBER, date(2024, 6, 1))  # no longer on the board: the year is hers to correct
    assert member.correct(TODAY, birth_year=2006)


def test_an_erased_person_has_nothing_to_correct() -> None:
    member = a_member()
    member.erase(TODAY)

    with pytest.raises(ConflictError) as refused:
        member.correct(TODAY, full_name="Otra")
    assert refused.value.rule == "not_erased"


def test_once_an_erasure_has_begun_nothing_is_corrected_and_the_erasure_is_made_once() -> None:
    member = a_member()
    member.collect_events()
    member.begin_erasure(TODAY)
    member.begin_erasure(TODAY)  # asked again after stopping midway: begun once
    assert [type(e).__name__ for e in member.collect_events()] == ["ErasureBegun"]

    with pytest.raises(ConflictError) as refused:
        member.correct(TODAY, full_name="Otra")
    assert refused.value.rule == "not_erased"
    member.erase(TODAY)
    assert member.personal_data == "erased"
    with pytest.raises(ConflictError):
        member.begin_erasure(TODAY)


def test_the_correction_is_private_and_sealed_as_the_registration_is() -> None:
    from services.engagement.personaldata import SEALED_FIELDS

    assert SEALED_FIELDS[Member.PersonalDataCorrected] == SEALED_FIELDS[Member.Registered]
    member = a_member()
    member.collect_events()
    member.correct(TODAY, full_name="Otra")
    (corrected,) = member.collect_events()
    assert catalogue.is_private(corrected) and catalogue.to_cloudevent(1, corrected) is None


# A joining date corrected --------------------------------------------------------


def test_a_joining_date_typed_wrong_is_corrected_and_published_with_both_days_and_never_the_person() -> None:
    # A paper list typed in months later with the typing day: Yusmary joined in 2021, not on the day it was typed.
    member = a_member(nationality="PE", joined_on=date(2024, 3, 1), **A_DNI)
    (membership_id,) = member.memberships
    history = member.collect_events()

    assert member.correct_joining(membership_id, date(2021, 3, 1), TODAY)

    events = member.collect_events()
    assert [type(e).__name__ for e in events] == ["JoiningDateCorrected"]  # 1991: 30 on joining in 2021 as in 2024
    out = catalogue.to_cloudevent(3, events[0])
    assert out is not None and out["type"] == "MemberJoiningDateCorrected"
    assert out["data"] == {
        "member_id": str(member.id), "membership_id": str(membership_id), "osv_id": str(OSV_ID), "previous_joined_on": "2024-03-01",
        "joined_on": "2021-03-01", "left_on": None, "nationality": "PE", "sex": "F", "corrected_on": TODAY.isoformat(),
        "occurred_on": TODAY.isoformat(),
    }
    assert "Yusmary" not in str(out) and "0012345" not in str(out) and "1991" not in str(out)
    replayed = None
    for domain_event in history + events:
        replayed = domain_event.mutate(replayed)
    for who in (member, replayed):
        assert who is not None
        membership = who.membership(membership_id)
        assert (membership.joined_on, membership.roles[0].since) == (date(2021, 3, 1), date(2021, 3, 1))


def test_the_same_joining_date_records_nothing() -> None:
    member = a_member()
    (membership_id,) = member.memberships
    member.collect_events()
    assert not member.correct_joining(membership_id, date(2024, 3, 1), TODAY)
    assert member.collect_events() == []


def test_a_joining_date_corrected_into_another_age_band_corrects_the_band_too() -> None:
    # Day and month swapped is one thing; 2012 typed for 2021 makes a 30-year-old a 21-year-old on joining.
    member = a_member(birth_year=1991, joined_on=date(2021, 5, 4))
    (membership_id,) = member.memberships
    grant_id = uuid4()
    member.enrol(grant_id, OSV_ID, date(2024, 5, 1))
    member.collect_events()

    assert member.correct_joining(membership_id, date(2012, 5, 4), TODAY)

    events = [catalogue.to_cloudevent(1, e) for e in member.collect_events()]
    assert [e["type"] for e in events if e is not None] == ["MemberJoiningDateCorrected", "MemberAgeBandCorrected"]
    assert (events[1]["data"]["previous_age_band"], events[1]["data"]["age_band"]) == ("30-44", "18-29")  # type: ignore[index]
    assert member.membership(membership_id).age_band == member.participations[grant_id].age_band == AgeBand.YOUNG_ADULT


@pytest.mark.parametrize(
    ("story", "corrected", "rule", "named"),
    [
        ("left", date(2024, 7, 2), "not_after_left_on", "2024-07-01"),
        ("role", date(2024, 5, 2), "not_after_changed_on", "2024-05-01"),
        ("enrolled", date(2024, 4, 2), "not_after_enrolled_on", "2024-04-01"),
        ("none", date(1990, 12, 31), "not_before_birth_year", "1990-12-31"),
        ("rejoined", date(2023, 12, 31), "stays_apart", "2024-01-01"),
    ],
)
def test_a_joining_date_is_not_corrected_past_what_the_membership_holds(story: str, corrected: date, rule: str, named: str) -> None:
    member = a_member(joined_on=date(2024, 3, 1))
    (membership_id,) = member.memberships
    if story == "left":
        member.leave(date(2024, 7, 1), DepartureReason.WITHDREW)
    elif story == "role":
        member.change_role(membership_id, Role.BOARD_MEMBER, date(2024, 5, 1))
    elif story == "enrolled":
        member.enrol(uuid4(), OSV_ID, date(2024, 4, 1))
    elif story == "rejoined":  # she left in January and came back in March: the second stay cannot start in the first
        member = a_member(joined_on=date(2023, 3, 1))
        member.leave(date(2024, 1, 1), DepartureReason.WITHDREW)
        membership_id = member.join(OSV_ID, Role.MEMBER, date(2024, 3, 1)).membership_id
    member.collect_events()

    with pytest.raises(RuleViolationError) as refused:
        member.correct_joining(membership_id, corrected, TODAY)

    assert (refused.value.field, refused.value.rule) == ("joined_on", rule)
    assert named in str(refused.value) and "1991" not in str(refused.value)
    assert member.collect_events() == []


def test_a_board_role_held_from_joining_is_for_an_adult_on_the_corrected_day() -> None:
    member = a_member(birth_year=2000, role=Role.PRESIDENT, joined_on=date(2024, 3, 1))
    (membership_id,) = member.memberships
    with pytest.raises(MinorOnBoardError) as refused:
        member.correct_joining(membership_id, date(2018, 6, 1), TODAY)
    assert (refused.value.field, refused.value.rule) == ("joined_on", "board_role_adult")
    assert member.correct_joining(membership_id, date(2019, 1, 1), TODAY)  # 18 from 31 December 2018


def test_a_joining_date_is_not_corrected_for_another_membership_nor_once_erased() -> None:
    member = a_member()
    with pytest.raises(MembershipNotFoundError):
        member.correct_joining(uuid4(), date(2024, 1, 1), TODAY)
    (membership_id,) = member.memberships
    member.erase(TODAY)
    with pytest.raises(PersonErasedError):
        member.correct_joining(membership_id, date(2024, 1, 1), TODAY)
