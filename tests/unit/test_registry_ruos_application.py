"""The RUOS application (Ordenanza 1762-2013-MML), step by step, without any I/O."""

from __future__ import annotations

import unicodedata
from datetime import date
from uuid import NAMESPACE_URL, uuid5

import pytest

from services.registry.decreeddays import shipped_non_working_days
from services.registry.domain.osvs import OSV, NotAfterError, NotRegisteredError
from services.registry.domain.ruos import (
    REQUIRED_DOCUMENTS,
    AlreadyRegisteredError,
    AmendmentDeadlinePassedError,
    AmendmentWindowError,
    AnotherMunicipalitysRUOSError,
    ApplicationNotFoundError,
    ApplicationOpenError,
    ApplicationStateError,
    ApplicationStatus,
    DeadlineNotMissedError,
    NoObservationReasonError,
    RegisteringMunicipalityUnknownError,
    RejectionReason,
    RepeatedDocumentError,
    RepeatedReasonError,
    RUOSDocument,
    RUOSNumberIndex,
    check_recorded_for,
    registering_municipality,
)
from services.registry.domain.ruoskeys import ruos_number_key
from services.registry.domain.workingdays import (
    DecreedDays,
    NeverWorkingDayDecreedError,
    NonWorkingDay,
    NonWorkingDayAlreadyRecordedError,
    NonWorkingDayNotRecordedError,
    WorkingCalendar,
    add_working_days,
    is_working_day,
)
from shared.errors import DateBeforeError, ForbiddenError
from shared.municipalities import MunicipalityTable
from shared.roles import ALL_LIMA, Caller, MunicipalScope, Permission

ALL = [str(d) for d in REQUIRED_DOCUMENTS]
ID_NOT_ACCEPTED = [{"code": "id_document_not_accepted", "detail": None}]


def mapped_osv() -> OSV:
    return OSV(name="Vecinos Unidos de Collique", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 15), kind=None)


def applied(osv: OSV, on: date = date(2021, 6, 14), documents: list[str] = ALL, board: int | None = 0, members: int | None = 0):
    application_id = osv.submit_application("150110", on, documents, board, members)
    return osv.find_application(application_id)


# Working days -------------------------------------------------------------------


def test_a_deadline_skips_the_weekend_and_the_independence_holidays() -> None:
    # Monday 26 July 2021; 28 and 29 July are Fiestas Patrias, 31 July and 1 August a weekend.
    assert not is_working_day(date(2021, 7, 28)) and not is_working_day(date(2021, 7, 29))
    assert add_working_days(date(2021, 7, 26), 5) == date(2021, 8, 4)


def test_a_deadline_skips_san_pedro_y_san_pablo() -> None:
    # Thursday 24 June 2021: Fri 25, Mon 28, (Tue 29 holiday), Wed 30, Thu 1, Fri 2.
    assert add_working_days(date(2021, 6, 24), 5) == date(2021, 7, 2)


def test_one_working_day_after_a_friday_is_the_monday() -> None:
    assert add_working_days(date(2021, 6, 4), 1) == date(2021, 6, 7)


SHIPPED = shipped_non_working_days()


def test_decreed_non_working_days_are_left_out_of_a_deadline_like_holidays() -> None:
    # D.S. 161-2021-PCM: 24, 27 and 31 December 2021 and 3 January 2022; 25 Dec and 1 Jan are holidays.
    # Observed Thursday 23 Dec: (24 decreed, 25-26 weekend, 27 decreed) 28, 29, 30, (31 decreed, 1-2, 3 decreed) 4, 5.
    assert SHIPPED.add_working_days(date(2021, 12, 23), 5) == date(2022, 1, 5)
    assert not SHIPPED.is_working_day(date(2022, 10, 7))  # D.S. 033-2022-PCM
    assert not SHIPPED.is_working_day(date(2024, 11, 15))  # APEC, Lima and Callao: D.S. 110-2024-PCM


def test_a_day_decreed_for_another_region_moves_no_deadline_in_lima() -> None:
    """A decree for Cusco moved San Juan de Lurigancho's deadline a day (tester 37d F5)."""
    monday = date(2026, 11, 9)
    for scope, moved in (("Región Cusco", False), ("nacional", True), ("Lima Metropolitana y Callao", True), ("LIMA", True)):
        calendar = WorkingCalendar([NonWorkingDay(monday, "D.S. N.º 998-2026-PCM", scope)])
        assert calendar.is_working_day(monday) is not moved, scope
        assert calendar.add_working_days(date(2026, 11, 6), 1) == (date(2026, 11, 10) if moved else monday), scope


def test_every_shipped_non_working_day_names_its_decree_and_a_source_and_falls_on_a_weekday() -> None:
    days = list(SHIPPED.decreed.values())
    assert {d.day.year for d in days} >= {2021, 2022, 2023, 2024, 2025, 2026}
    for day in days:
        assert day.decree.startswith("D.S. N.º ") and day.decree.endswith("-PCM"), day
        assert day.source and day.source.startswith("https://"), day
        assert day.day.weekday() < 5 or day.decree == "D.S. N.º 110-2024-PCM", day  # APEC's Saturday 16 Nov 2024


def test_an_observation_on_23_december_2021_gives_until_5_january_and_an_amendment_on_the_4th_is_in_time() -> None:
    osv = mapped_osv()
    application = applied(osv, on=date(2021, 12, 1))
    assert osv.observe_application(application.application_id, date(2021, 12, 23), ID_NOT_ACCEPTED, 5, SHIPPED) == date(2022, 1, 5)
    osv.amend_application(application.application_id, date(2022, 1, 4), ["padron_socios"], SHIPPED)
    assert application.status is ApplicationStatus.AMENDED


def test_a_day_decreed_after_the_observation_moves_the_deadline_of_the_amendment() -> None:
    osv = mapped_osv()
    application = applied(osv, on=date(2021, 6, 1))
    amend_by = osv.observe_application(application.application_id, date(2021, 6, 2), ID_NOT_ACCEPTED, 1)
    assert amend_by == date(2021, 6, 3)
    later = WorkingCalendar([NonWorkingDay(date(2021, 6, 3), "D.S. N.º 999-2021-PCM")])
    osv.amend_application(application.application_id, date(2021, 6, 4), ["padron_socios"], later)
    assert application.status is ApplicationStatus.AMENDED


def test_a_day_decreed_after_the_observation_moves_the_deadline_every_answer_and_rule_goes_by() -> None:
    """The amendment took a day decreed since into account; the deadline shown and the rejection did not (tester 37 F3)."""
    osv = mapped_osv()
    application = applied(osv, on=date(2022, 8, 25))
    assert osv.observe_application(application.application_id, date(2022, 9, 1), ID_NOT_ACCEPTED, 3) == date(2022, 9, 6)
    decreed = WorkingCalendar([NonWorkingDay(date(2022, 9, 5), "D.S. N.º 998-2022-PCM")])
    assert application.amend_by == date(2022, 9, 6)  # as recorded with the observation
    assert application.amendment_deadline(decreed) == application.observations[-1].deadline(decreed) == date(2022, 9, 7)
    assert application.amendment_deadline(None) == date(2022, 9, 6)
    with pytest.raises(DeadlineNotMissedError) as early:
        osv.reject_application(application.application_id, date(2022, 9, 7), RejectionReason.AMENDMENT_DEADLINE_MISSED, calendar=decreed)
    assert (early.value.field, early.value.rule) == ("rejected_on", "amendment_deadline_passed")
    assert "2022-09-07" in early.value.message


def test_a_rejection_for_a_missed_deadline_comes_after_the_deadline_of_an_observed_application() -> None:
    """A focal point rejected for "amendment_deadline_missed" on the day of the observation (tester 37 F4)."""
    osv = mapped_osv()
    application = applied(osv, on=date(2021, 7, 19))
    with pytest.raises(DeadlineNotMissedError) as not_observed:
        osv.reject_application(application.application_id, date(2021, 7, 20), RejectionReason.AMENDMENT_DEADLINE_MISSED)
    assert (not_observed.value.field, not_observed.value.rule) == ("reason", "amendment_deadline_passed")
    osv.observe_application(application.application_id, date(2021, 7, 26), ID_NOT_ACCEPTED, 5)  # amend by 2021-08-04
    for early in (date(2021, 7, 26), date(2021, 8, 4)):
        with pytest.raises(DeadlineNotMissedError):
            osv.reject_application(application.application_id, early, RejectionReason.AMENDMENT_DEADLINE_MISSED)
    assert application.status is ApplicationStatus.OBSERVED
    osv.reject_application(application.application_id, date(2021, 8, 4), RejectionReason.REQUIREMENTS_NOT_MET)  # other reasons: any day
    assert application.status is ApplicationStatus.REJECTED

    late = mapped_osv()
    other = applied(late, on=date(2021, 7, 19))
    late.observe_application(other.application_id, date(2021, 7, 26), ID_NOT_ACCEPTED, 5)
    late.reject_application(other.application_id, date(2021, 8, 5), RejectionReason.AMENDMENT_DEADLINE_MISSED)
    assert other.rejection_reason is RejectionReason.AMENDMENT_DEADLINE_MISSED


def test_an_observation_gives_each_reason_once_and_a_code_twice_only_with_different_details() -> None:
    """A code given twice was counted twice by the indicator of observations by reason (tester 37 F5)."""
    osv = mapped_osv()
    application = applied(osv)
    twice = [{"code": "signatures_missing", "detail": None}, {"code": "signatures_missing", "detail": None}]
    with pytest.raises(RepeatedReasonError) as refused:
        osv.observe_application(application.application_id, date(2021, 6, 24), twice, 5)
    assert (refused.value.field, refused.value.rule) == ("reasons.1", "unique_reasons")
    two_documents = [{"code": "missing_document", "detail": "acta de asamblea"}, {"code": "missing_document", "detail": "padrón"}]
    osv.observe_application(application.application_id, date(2021, 6, 24), two_documents, 5)
    assert application.observations[-1].reason_codes == ["missing_document", "missing_document"]


def test_a_recorded_decree_is_one_per_day_and_can_be_revoked() -> None:
    recorded = DecreedDays()
    recorded.decree(date(2027, 7, 27), "D.S. N.º 001-2027-PCM", "nacional", None, SHIPPED.decreed)
    with pytest.raises(NonWorkingDayAlreadyRecordedError):
        recorded.decree(date(2027, 7, 27), "D.S. N.º 002-2027-PCM", "nacional", None, SHIPPED.decreed)
    with pytest.raises(NonWorkingDayAlreadyRecordedError):
        recorded.decree(date(2021, 12, 24), "D.S. N.º 002-2021-PCM", "nacional", None, SHIPPED.decreed)  # shipped already
    recorded.revoke(date(2027, 7, 27), "D.S. N.º 003-2027-PCM")
    assert recorded.days == {}
    with pytest.raises(NonWorkingDayNotRecordedError):
        recorded.revoke(date(2027, 7, 27), "again")


def test_a_decree_on_a_weekend_or_a_public_holiday_is_refused_as_a_mistyped_day_whatever_its_scope() -> None:
    """Tester 208 F8: the domain refuses it too, not only the HTTP body; the holiday named as the library names it in Spanish."""
    recorded = DecreedDays()
    for day, why in ((date(2026, 11, 28), "a Saturday"), (date(2026, 11, 29), "a Sunday"),
                     (date(2026, 12, 8), "a public holiday in Peru (Inmaculada Concepción)"),
                     (date(2026, 7, 28), "a public holiday in Peru (Día de la Independencia)")):
        for scope in ("nacional", "Región Cusco"):
            with pytest.raises(NeverWorkingDayDecreedError) as refused:
                recorded.decree(day, "D.S. N.º 999-2026-PCM", scope, None, SHIPPED.decreed)
            assert (refused.value.field, refused.value.rule) == ("day", "working_day")
            assert f"{day.isoformat()} is {why}:" in str(refused.value)
    assert recorded.days == {}
    assert recorded.decree(date(2026, 11, 27), "D.S. N.º 999-2026-PCM", "nacional", None, SHIPPED.decreed).day == date(2026, 11, 27)


# Submission ---------------------------------------------------------------------


def test_a_submission_lists_what_was_filed_and_what_is_missing_in_the_ordinance_order() -> None:
    osv = mapped_osv()
    application = applied(osv, documents=["croquis", "estatuto"])
    assert application.status is ApplicationStatus.SUBMITTED
    assert application.documents == [RUOSDocument.ESTATUTO, RUOSDocument.CROQUIS]
    assert RUOSDocument.ACTA_CONSTITUCION in application.missing_documents
    assert len(application.missing_documents) == len(REQUIRED_DOCUMENTS) - 2
    assert osv.open_application is application


def test_people_holding_refused_documents_flag_the_application_without_stopping_it() -> None:
    flagged = applied(mapped_osv(), board=1, members=2)
    assert flagged.id_documents_flagged is True
    assert (flagged.board_members_with_unaccepted_documents, flagged.members_with_unaccepted_documents) == (1, 2)
    assert applied(mapped_osv(), board=0, members=0).id_documents_flagged is False
    assert applied(mapped_osv(), board=None, members=None).id_documents_flagged is False


def test_only_one_application_is_open_at_a_time_and_a_rejected_one_makes_room() -> None:
    osv = mapped_osv()
    first = applied(osv)
    with pytest.raises(ApplicationOpenError) as refused:
        applied(osv, on=date(2021, 6, 20))
    assert refused.value.rule == "one_open_application" and "submitted" in refused.value.message
    osv.reject_application(first.application_id, date(2021, 7, 1), RejectionReason.REQUIREMENTS_NOT_MET, "falta firma")
    second = applied(osv, on=date(2021, 8, 2))
    assert osv.application is second and len(osv.applications) == 2


def test_a_new_application_may_not_be_dated_before_the_rejection_of_the_last() -> None:
    osv = mapped_osv()
    first = applied(osv)
    osv.reject_application(first.application_id, date(2021, 7, 1), RejectionReason.OTHER)
    with pytest.raises(DateBeforeError) as refused:
        applied(osv, on=date(2021, 6, 30))
    assert (refused.value.field, refused.value.rule) == ("submitted_on", "not_before_previous_rejected_on")


def test_a_registered_osv_does_not_apply_again() -> None:
    osv = mapped_osv()
    osv.register_in_ruos("RUOS-0042", date(2021, 6, 1), municipality_id="mml")
    with pytest.raises(AlreadyRegisteredError):
        applied(osv)


def test_an_application_submitted_before_the_mapping_is_refused() -> None:
    osv = mapped_osv()
    with pytest.raises(DateBeforeError) as refused:
        applied(osv, on=date(2021, 3, 14))
    assert (refused.value.field, refused.value.rule) == ("submitted_on", "not_before_mapped_on")
    assert osv.applications == []


# Observation and amendment ---------------------------------------------------------


def test_an_observation_gives_five_working_days_by_default_and_the_municipality_may_give_more() -> None:
    osv = mapped_osv()
    application = applied(osv, on=date(2021, 7, 19))
    amend_by = osv.observe_application(application.application_id, date(2021, 7, 26), ID_NOT_ACCEPTED, 5)
    assert amend_by == date(2021, 8, 4)
    assert application.status is ApplicationStatus.OBSERVED and application.amend_by == date(2021, 8, 4)

    other = mapped_osv()
    longer = applied(other, on=date(2021, 7, 19))
    assert other.observe_application(longer.application_id, date(2021, 7, 26), ID_NOT_ACCEPTED, 10) == date(2021, 8, 11)


def test_an_amendment_on_the_deadline_is_in_time_and_one_day_later_is_not() -> None:
    late = mapped_osv()
    application = applied(late, on=date(2021, 7, 19))
    late.observe_application(application.application_id, date(2021, 7, 26), ID_NOT_ACCEPTED, 5)
    with pytest.raises(AmendmentDeadlinePassedError) as refused:
        late.amend_application(application.application_id, date(2021, 8, 5), ["nomina_junta_directiva"])
    assert (refused.value.field, refused.value.rule) == ("amended_on", "within_amendment_deadline")
    assert application.status is ApplicationStatus.OBSERVED

    late.amend_application(application.application_id, date(2021, 8, 4), ["nomina_junta_directiva"])
    assert application.status is ApplicationStatus.AMENDED
    assert application.observations[-1].amended_on == date(2021, 8, 4)


def test_an_amendment_files_the_documents_that_were_missing() -> None:
    osv = mapped_osv()
    application = applied(osv, documents=[d for d in ALL if d != "croquis"])
    assert application.missing_documents == [RUOSDocument.CROQUIS]
    osv.observe_application(application.application_id, date(2021, 6, 24), [{"code": "missing_document", "detail": None}], 5)
    osv.amend_application(application.application_id, date(2021, 6, 30), ["croquis"])
    assert application.missing_documents == [] and RUOSDocument.CROQUIS in application.documents


def test_a_document_filed_twice_in_one_application_or_amendment_is_refused_naming_the_first() -> None:
    osv = mapped_osv()
    with pytest.raises(RepeatedDocumentError) as refused:
        osv.submit_application("150110", date(2021, 6, 14), ["estatuto", "croquis", "estatuto"], 0, 0)
    assert (refused.value.field, refused.value.rule) == ("documents.2", "unique_documents")
    assert "documents.0" in refused.value.message
    assert osv.applications == [] and osv.version == 1  # nothing recorded past its mapping

    application = applied(osv, documents=["estatuto"])
    osv.observe_application(application.application_id, date(2021, 6, 24), [{"code": "missing_document", "detail": None}], 5)
    with pytest.raises(RepeatedDocumentError):
        osv.amend_application(application.application_id, date(2021, 6, 30), ["croquis", "croquis"])
    assert application.status == ApplicationStatus.OBSERVED


def test_an_application_that_was_not_observed_cannot_be_amended_and_the_error_names_its_state() -> None:
    osv = mapped_osv()
    application = applied(osv)
    with pytest.raises(ApplicationStateError) as refused:
        osv.amend_application(application.application_id, date(2021, 6, 20), ["croquis"])
    assert refused.value.rule == "application_observed" and "is submitted" in refused.value.message


def test_an_observation_needs_a_reason_and_a_window_of_at_least_one_day() -> None:
    osv = mapped_osv()
    application = applied(osv)
    with pytest.raises(NoObservationReasonError):
        osv.observe_application(application.application_id, date(2021, 6, 24), [], 5)
    with pytest.raises(AmendmentWindowError):
        osv.observe_application(application.application_id, date(2021, 6, 24), ID_NOT_ACCEPTED, 0)
    assert application.status is ApplicationStatus.SUBMITTED


def test_an_observation_dated_before_the_submission_is_refused() -> None:
    osv = mapped_osv()
    application = applied(osv)
    with pytest.raises(DateBeforeError) as refused:
        osv.observe_application(application.application_id, date(2021, 6, 13), ID_NOT_ACCEPTED, 5)
    assert (refused.value.field, refused.value.rule) == ("observed_on", "not_before_submitted_on")


def test_an_amended_application_can_be_observed_again() -> None:
    osv = mapped_osv()
    application = applied(osv)
    osv.observe_application(application.application_id, date(2021, 6, 24), ID_NOT_ACCEPTED, 5)
    osv.amend_application(application.application_id, date(2021, 6, 30), ["nomina_junta_directiva"])
    with pytest.raises(DateBeforeError) as refused:
        osv.observe_application(application.application_id, date(2021, 6, 29), [{"code": "signatures_missing", "detail": None}], 5)
    assert refused.value.rule == "not_before_amended_on"
    osv.observe_application(application.application_id, date(2021, 7, 5), [{"code": "signatures_missing", "detail": None}], 5)
    assert len(application.observations) == 2 and application.status is ApplicationStatus.OBSERVED


def test_an_unknown_application_is_not_found() -> None:
    osv = mapped_osv()
    applied(osv)
    with pytest.raises(ApplicationNotFoundError):
        osv.observe_application(uuid5(NAMESPACE_URL, "not an application"), date(2021, 6, 24), ID_NOT_ACCEPTED, 5)


# Registration and rejection ----------------------------------------------------------


def test_a_registration_closes_the_application_and_keeps_the_resolution_and_the_board_term() -> None:
    osv = mapped_osv()
    application = applied(osv)
    osv.register_application(application.application_id, date(2021, 7, 12), "RUOS-COMAS-2021-017", "RGM-0456-2021-MDC", date(2023, 7, 11))
    assert application.status is ApplicationStatus.REGISTERED
    assert (osv.ruos_status, osv.ruos_number, osv.registered_on) == ("registered", "RUOS-COMAS-2021-017", date(2021, 7, 12))
    assert (osv.resolution_number, osv.board_term_ends_on, osv.ruos_municipality_id) == ("RGM-0456-2021-MDC", date(2023, 7, 11), "150110")
    assert osv.open_application is None


def test_an_observed_application_must_be_amended_before_it_is_registered() -> None:
    osv = mapped_osv()
    application = applied(osv)
    osv.observe_application(application.application_id, date(2021, 6, 24), ID_NOT_ACCEPTED, 5)
    with pytest.raises(ApplicationStateError) as refused:
        osv.register_application(application.application_id, date(2021, 7, 12), "RUOS-1", None, None)
    assert refused.value.rule == "application_under_review" and "is observed" in refused.value.message
    assert osv.ruos_number is None


def test_a_board_term_that_ends_before_the_registration_is_refused() -> None:
    osv = mapped_osv()
    application = applied(osv)
    with pytest.raises(NotAfterError) as refused:
        osv.register_application(application.application_id, date(2021, 7, 12), "RUOS-1", None, date(2021, 7, 12))
    assert (refused.value.field, refused.value.rule) == ("board_term_ends_on", "after_registered_on")


def test_a_rejected_application_takes_no_further_step() -> None:
    osv = mapped_osv()
    application = applied(osv)
    osv.reject_application(application.application_id, date(2021, 7, 1), RejectionReason.NOT_ELIGIBLE, None)
    assert (application.status, application.rejection_reason) == (ApplicationStatus.REJECTED, RejectionReason.NOT_ELIGIBLE)
    with pytest.raises(ApplicationStateError) as refused:
        osv.register_application(application.application_id, date(2021, 7, 12), "RUOS-1", None, None)
    assert "is rejected" in refused.value.message
    with pytest.raises(ApplicationStateError) as again:
        osv.reject_application(application.application_id, date(2021, 7, 12), RejectionReason.OTHER)
    assert again.value.rule == "application_open"


def test_an_observed_application_left_past_its_deadline_can_be_rejected() -> None:
    osv = mapped_osv()
    application = applied(osv)
    osv.observe_application(application.application_id, date(2021, 6, 24), ID_NOT_ACCEPTED, 5)
    osv.reject_application(application.application_id, date(2021, 7, 9), RejectionReason.AMENDMENT_DEADLINE_MISSED)
    assert application.status is ApplicationStatus.REJECTED


def test_a_direct_registration_waits_while_an_application_is_open() -> None:
    osv = mapped_osv()
    applied(osv)
    with pytest.raises(ApplicationOpenError):
        osv.register_in_ruos("RUOS-1", date(2021, 7, 1), municipality_id="mml")


def test_a_direct_registration_may_carry_the_resolution_and_the_board_term() -> None:
    osv = mapped_osv()
    osv.register_in_ruos("RUOS-1", date(2021, 7, 1), "RGM-1", date(2023, 6, 30), municipality_id="mml")
    assert (osv.resolution_number, osv.board_term_ends_on, osv.application) == ("RGM-1", date(2023, 6, 30), None)


# The board's term ---------------------------------------------------------------------


def test_a_board_is_renewed_only_once_the_osv_is_registered() -> None:
    osv = mapped_osv()
    with pytest.raises(NotRegisteredError) as refused:
        osv.renew_board(date(2023, 7, 1), date(2025, 6, 30))
    assert refused.value.rule == "registered_in_ruos"
    osv.register_in_ruos("RUOS-1", date(2021, 7, 1), board_term_ends_on=date(2023, 6, 30), municipality_id="mml")
    osv.renew_board(date(2023, 7, 1), date(2025, 6, 30))
    assert osv.board_term_ends_on == date(2025, 6, 30)


def test_a_renewal_before_the_registration_or_with_a_term_ending_first_is_refused() -> None:
    osv = mapped_osv()
    osv.register_in_ruos("RUOS-1", date(2021, 7, 1), municipality_id="mml")
    with pytest.raises(DateBeforeError) as early:
        osv.renew_board(date(2021, 6, 30), date(2023, 6, 30))
    assert early.value.rule == "not_before_registered_on"
    with pytest.raises(NotAfterError) as inverted:
        osv.renew_board(date(2023, 7, 1), date(2023, 7, 1))
    assert (inverted.value.field, inverted.value.rule) == ("term_ends_on", "after_renewed_on")


def test_a_board_term_is_expiring_within_the_window_or_once_it_has_ended() -> None:
    osv = mapped_osv()
    assert not osv.board_term_ends_within(date(2023, 6, 1), 60)
    osv.register_in_ruos("RUOS-1", date(2021, 7, 1), board_term_ends_on=date(2023, 6, 30), municipality_id="mml")
    assert osv.board_term_ends_within(date(2023, 6, 1), 60)
    assert not osv.board_term_ends_within(date(2023, 4, 1), 60)
    assert osv.board_term_ends_within(date(2024, 1, 1), 0)


# The index of RUOS numbers ----------------------------------------------------------------


def test_an_ruos_number_has_one_index_id_in_a_municipality_s_ruos_whatever_its_case_and_spacing() -> None:
    assert RUOSNumberIndex.create_id("ruos-comas 017", "150110") == RUOSNumberIndex.create_id("  RUOS-COMAS   017 ", "150110")
    assert RUOSNumberIndex.create_id("RUOS-1", "150110") != RUOSNumberIndex.create_id("RUOS-2", "150110")


def test_an_ruos_number_copied_with_another_dash_full_width_digits_or_spaced_separators_is_the_same_number() -> None:
    """Tester 133 F5: "PAC 012‐2026" (U+2010, from a resolution's PDF) was a second number beside "PAC 012-2026"."""
    same = ["PAC 012-2026", "PAC 012\u20102026", "pac\u2003012 \u2013 2026", "ＰＡＣ ０１２－２０２６", "PAC 012\u22122026", "PAC 012 -2026"]
    assert {RUOSNumberIndex.create_id(number, "150123") for number in same} == {RUOSNumberIndex.create_id("PAC 012-2026", "150123")}
    assert RUOSNumberIndex.create_id("045/ 2026", "150110") == RUOSNumberIndex.create_id("045/2026", "150110")
    assert RUOSNumberIndex.create_id("PAC 012-2026", "150123") != RUOSNumberIndex.create_id("PAC 0122026", "150123")


def test_an_ruos_number_typed_with_other_separators_or_without_its_leading_zeros_is_the_same_number() -> None:
    """Tester 208 F5: beside "RUOS-SJL-2026-0101", "RUOS SJL 2026 0101" and "RUOS-SJL-2026-101" were taken as new numbers."""
    same = ["RUOS-SJL-2026-0101", "RUOS SJL 2026 0101", "RUOS-SJL-2026-101", "ruos/sjl/2026/0101", "RUOS.SJL.2026.0101",
            "RUOS_SJL_2026_101", "RUOS \u2013 SJL \u2013 2026 \u2013 0101", " RUOS -SJL- 2026/ 00101 "]
    assert {ruos_number_key(number) for number in same} == {"RUOS-SJL-2026-101"}
    assert len({RUOSNumberIndex.create_id(number, "150132") for number in same}) == 1
    assert ruos_number_key("R-000") == "R-0" and ruos_number_key("RUOS-045-2021") != ruos_number_key("RUOS-45-2022")
    assert ruos_number_key("RUOS-SJL-2026-0101") != ruos_number_key("RUOS-SJL2026-0101")  # a part is not split further
    # Letters keep their zeros: "0A1" is no number's digits alone
    assert ruos_number_key("OSV-0A1") == "OSV-0A1"


def test_an_ruos_number_typed_with_any_number_sign_abbreviation_or_separator_is_the_same_number() -> None:
    """Tester 212 F1: in San Juan de Lurigancho four OSVs were registered with "RUOS N.º 077-2021-MDSJL/GDS", "RUOS Nº
    077-2021-MDSJL/GDS", "RUOS N° 077-2021-MDSJL/GDS" and "ruos n. 77 2021 mdsjl gds": staff type the number sign any
    way, and "R.U.O.S." for RUOS, and copy numbers with commas or middle dots between their parts."""
    same = ["RUOS N.º 077-2021-MDSJL/GDS", "RUOS Nº 077-2021-MDSJL/GDS", "RUOS N° 077-2021-MDSJL/GDS", "ruos n. 77 2021 mdsjl gds",
            "RUOS No. 077-2021-MDSJL/GDS", "RUOS Nro. 077-2021-MDSJL-GDS", "RUOS Núm. 77-2021 MDSJL GDS", "RUOS \u2116 077-2021-MDSJL/GDS",
            "RUOS N ° 077/2021/MDSJL/GDS", "R.U.O.S. N.º 077-2021-MDSJL/GDS", "RUOS 077-2021-MDSJL/GDS", "RUOS,077,2021,MDSJL,GDS"]
    assert {ruos_number_key(number) for number in same} == {"RUOS-77-2021-MDSJL-GDS"}
    assert len({RUOSNumberIndex.create_id(number, "150132") for number in same}) == 1
    assert {ruos_number_key(n) for n in ("R.U.O.S. 0901", "RUOS-0901", "RUOS,0901", "RUOS\u00b70901", "RUOS #0901", "r.u.o.s.0901")} == {"RUOS-901"}
    assert ruos_number_key("S.J.L.-2026-0101") == ruos_number_key("SJL 2026 101")
    # what stays apart: a part is not split further, single letters apart from dots are parts, zeros of letters and digits
    assert ruos_number_key("PAC 0122026") != ruos_number_key("PAC 012-2026")
    assert ruos_number_key("RUOS-A-B-1") == "RUOS-A-B-1" and ruos_number_key("OSV-0A1") == "OSV-0A1"
    assert ruos_number_key("RUOS N") == "RUOS-N"  # a number sign only before digits
    assert ruos_number_key("RUOS Nº A-0904") == ruos_number_key("RUOS A-0904") == "RUOS-A-904"  # before a series letter too


def test_an_n_series_is_part_of_an_ruos_number_not_a_number_sign() -> None:
    """Tester 215 F1: "RUOS 0903-N-2022" held, "RUOS 0903-2022" was refused as taken (and "RUOS N-0901-2022-MDSJL" against
    "RUOS 0901-2022-MDSJL"): an N after the number began, or with no dot, º or ° to write it as a sign, is a series."""
    assert ruos_number_key("RUOS 0903-N-2022") != ruos_number_key("RUOS 0903-2022")
    assert ruos_number_key("RUOS N-0901-2022-MDSJL") == "RUOS-N-901-2022-MDSJL" != ruos_number_key("RUOS 0901-2022-MDSJL")
    assert ruos_number_key("RUOS 12 Nº 5") == "RUOS-12-NO-5"  # a sign after the number began is kept as typed
    assert ruos_number_key("RUOS n. 0901") == ruos_number_key("RUOS N° 901") == "RUOS-901"
    assert ruos_number_key("ÑAÑA·2021") == "NANA-2021"  # letters are letters, their accents dropped (tester 221 F3)


def test_a_number_sign_glued_to_the_digits_is_dropped_as_one_written_apart() -> None:
    """Tester 215 F2: "RUOS Nro0905" was another number than "RUOS 905": a sign word glued to the digits is the sign."""
    same = ["RUOS Nro0905", "RUOS nro0905", "RUOS No0905", "RUOS NR0905", "RUOS Núm0905", "RUOS Numero0905", "RUOS Nro. 0905", "RUOS 905"]
    assert {ruos_number_key(number) for number in same} == {"RUOS-905"}
    assert ruos_number_key("RUOS Nro0905-2022-MDSJL") == ruos_number_key("RUOS 905-2022-MDSJL") == "RUOS-905-2022-MDSJL"
    assert ruos_number_key("RUOS Nro0905A") == ruos_number_key("RUOS Nro. 0905A") == "RUOS-0905A"  # the rest as a part is
    # what stays apart: an N alone is a series glued as written apart, a sign after the number began is typed
    assert ruos_number_key("RUOS N0905") == "RUOS-N0905" != ruos_number_key("RUOS 905")
    assert ruos_number_key("RUOS 12 Nro5") == "RUOS-12-NRO5"
    assert ruos_number_key("RUOS NROX5") == "RUOS-NROX5" and ruos_number_key("NORTE5") == "NORTE5"  # no sign word before the digits


def test_an_abbreviation_spaced_after_its_dots_is_the_abbreviation_written_close() -> None:
    """Tester 215 F2: "R. G. 0045" (Resolución de Gerencia) was another number than "R.G. 0045", and "R. U. O. S. 0901"
    than "RUOS 0901": single letters each written with its dot are one part, with or without spaces after the dots."""
    assert {ruos_number_key(n) for n in ("R. G. 0045", "R.G. 0045", "R.G.0045", "R. G.0045", "r. g. 45")} == {"RG-45"}
    assert {ruos_number_key(n) for n in ("R. U. O. S. 0901", "R.U. O.S. 0901", "R. U. O. S. N.º 0901", "RUOS 0901")} == {"RUOS-901"}
    assert ruos_number_key("S. J. L. 2026 0101") == ruos_number_key("SJL-2026-0101")
    # an N. before the number is its sign, not the abbreviation's last letter
    assert ruos_number_key("R.U.O.S. N. 0901") == ruos_number_key("R. U. O. S. N. 0901") == "RUOS-901"
    assert ruos_number_key("R. U. O. S. N. A-0904") == "RUOS-A-904"
    # what stays apart: letters without their dots are parts, a letter without its dot ends the abbreviation
    assert ruos_number_key("R G 0045") == ruos_number_key("R-G-0045") == "R-G-45" != ruos_number_key("R. G. 0045")
    assert ruos_number_key("RUOS N. A-0904") == "RUOS-A-904" and ruos_number_key("RUOS A. 12") == "RUOS-A-12"


def test_a_thousands_dot_within_digits_does_not_split_the_number() -> None:
    """Tester 215 F2: "RUOS 1.234-2022" was parts 1 and 234, another number than "RUOS 1234-2022". A dot joins digits
    only as a thousands separator: one to three digits, not led by a zero, then groups of exactly three."""
    assert {ruos_number_key(n) for n in ("RUOS 1.234-2022", "RUOS 1234-2022", "RUOS 01234-2022")} == {"RUOS-1234-2022"}
    assert ruos_number_key("RUOS 1.234.567") == "RUOS-1234567" and ruos_number_key("RUOS Nº 12.345") == "RUOS-12345"
    # what stays apart: a dash is no thousands separator, nor a dot before other than three digits or after a year
    assert ruos_number_key("RUOS 12-2022") != ruos_number_key("RUOS 1-22022")
    assert ruos_number_key("RUOS 1-234-2022") == "RUOS-1-234-2022" != ruos_number_key("RUOS 1.234-2022")
    assert ruos_number_key("RUOS 2022.123") == "RUOS-2022-123"  # four digits before: a year and a number
    assert ruos_number_key("RUOS 012.345") == "RUOS-12-345"  # led by a zero: no thousands
    assert ruos_number_key("RUOS 1.23") == "RUOS-1-23" and ruos_number_key("RUOS 1.2345") == "RUOS-1-2345"
    assert ruos_number_key("RUOS 1.234.5") == "RUOS-1-234-5"  # a group of other than three: the dots all separators
    assert ruos_number_key("RUOS 1. 234") == "RUOS-1-234"  # a spaced dot separates


def test_an_ruos_number_typed_with_or_without_its_accents_is_the_same_number() -> None:
    """Tester 221 F3: "Resolución de Gerencia N.º 0045-2023-GDS-MDSJL" and "Resolucion de Gerencia N° 45-2023-GDS-MDSJL"
    were two numbers: staff often type without accents, so a letter's accents and other marks make no new number."""
    same = ["Resolución de Gerencia N.º 0045-2023-GDS-MDSJL", "Resolucion de Gerencia N° 45-2023-GDS-MDSJL",
            "RESOLUCIÓN DE GERENCIA Nº 045-2023-GDS-MDSJL", "Resolucio\u0301n de Gerencia Nº 45-2023-GDS-MDSJL"]
    assert {ruos_number_key(number) for number in same} == {"RESOLUCION-DE-GERENCIA-45-2023-GDS-MDSJL"}
    assert ruos_number_key("RUOS Breña 0045") == ruos_number_key("RUOS BRENA 45") == "RUOS-BRENA-45"
    assert ruos_number_key("RUOS Núm. 0905") == ruos_number_key("RUOS Num0905") == "RUOS-905"  # the sign still a sign
    # what stays apart: another letter, another digit, the number sign's rules as before
    assert ruos_number_key("Resolución de Gerencia N.º 0046-2023-GDS-MDSJL") != ruos_number_key(same[1])
    assert ruos_number_key("RUOS BREÑA 0045") != ruos_number_key("RUOS BREMA 0045")
    assert ruos_number_key("RUOS Ñ-0901") == ruos_number_key("RUOS N-0901") == "RUOS-N-901" != ruos_number_key("RUOS 0901")


def test_a_look_alike_of_the_degree_sign_after_n_is_the_number_sign_and_no_key_keeps_a_lone_mark() -> None:
    """Tester 221 F4: "RUOS N˚ 0908" (U+02DA, ring above) was keyed RUOS-N-̊-908, a lone combining mark its own part.
    What staff paste for ``°`` or ``º`` after N is the number sign; ``Nª`` too (``ª`` is ``º`` shifted)."""
    same = ["RUOS N˚ 0908", "RUOS Nᵒ 0908", "RUOS N⁰ 0908", "RUOS N\u030a 0908", "RUOS N∘ 0908", "RUOS N\u0366 0908",
            "RUOS N.˚ 0908", "RUOS Nª 0908", "RUOS N° 0908", "RUOS Nº 0908", "RUOS 908"]
    assert {ruos_number_key(number) for number in same} == {"RUOS-908"}
    assert ruos_number_key("RUOS Nª A-0904") == ruos_number_key("RUOS Nº A-0904") == "RUOS-A-904"
    # elsewhere than after N a spacing look-alike separates as º does, and a combining mark is dropped with the others
    assert ruos_number_key("RUOS 12˚5") == ruos_number_key("RUOS 12º5") == "RUOS-12-5"
    marks = [chr(code) for code in range(0x300, 0x370)]
    for mark in [*marks, "\u02da", "\u1d52", "\u00b4", "\u02dc"]:
        for typed in (f"RUOS N{mark} 0908", f"RUOS {mark}0908", f"RUOS{mark}-A{mark}1"):
            assert not any(unicodedata.category(char).startswith("M") for char in ruos_number_key(typed)), (typed, ruos_number_key(typed))
    # what stays apart: an N series, and a sign after the number began, as before
    assert ruos_number_key("RUOS N˚ 0908") != ruos_number_key("RUOS N-0908")
    assert ruos_number_key("RUOS 12 N˚ 5") == "RUOS-12-NO-5"


def test_an_n_with_its_dot_ending_an_abbreviation_right_before_the_number_is_its_sign_spaced_or_not() -> None:
    """Tester 221 F3: "R.U.O.S.N. 0907" was RUOSN-907, another number than "RUOS 0907", and "R.G.N. 123-2022-MDSMP"
    than "R.G. N° 123-2022-MDSMP": the N. closing an unspaced abbreviation is the sign, as in "R. U. O. S. N. 0901"."""
    assert {ruos_number_key(n) for n in ("R.U.O.S.N. 0907", "R.U.O.S.N.0907", "r.u.o.s.n.907", "R.U.O.S. N. 0907", "RUOS 0907")} == {"RUOS-907"}
    assert ruos_number_key("R.G.N. 123-2022-MDSMP") == ruos_number_key("R.G. N° 123-2022-MDSMP") == "RG-123-2022-MDSMP"
    # what stays apart: an N with no dot of its own ends the abbreviation as before, and an N. after the number began
    assert ruos_number_key("R.U.O.S.N 0907") == ruos_number_key("R.U.O.S.N-0907") == "RUOSN-907" != ruos_number_key("RUOS 0907")
    assert ruos_number_key("R.U.O.S. 12 N. 5") == "RUOS-12-N-5" and ruos_number_key("R.U.O.S.N.") == "RUOSN"
    assert ruos_number_key("R.G.N. 123-2022-MDSMP") != ruos_number_key("R.G.N. 124-2022-MDSMP")


def test_a_number_sign_glued_to_the_letters_before_it_is_the_sign() -> None:
    """Tester 221 F4: "RUOSNº0905" was RUOSN-905, another number than "RUOS 905": the º after the N writes the sign,
    glued on both sides too."""
    same = ["RUOSNº0905", "RUOSN°0905", "ruosnº905", "RUOSN.º0905", "RUOSN˚0905", "RUOS Nº 0905", "RUOS 905"]
    assert {ruos_number_key(number) for number in same} == {"RUOS-905"}
    assert ruos_number_key("R.G.Nº123-2022") == ruos_number_key("R.G. N° 123-2022") == "RG-123-2022"
    # what stays apart: a glued N with no º is a part as before, and a sign after the number began is kept
    assert ruos_number_key("RUOSN0905") == "RUOSN0905" and ruos_number_key("RUOSN-0905") == "RUOSN-905" != ruos_number_key("RUOS 905")
    assert ruos_number_key("RUOS12Nº5") == "RUOS12-NO-5" != ruos_number_key("RUOS12-5")


def test_a_thousands_comma_within_digits_does_not_split_the_number() -> None:
    """Tester 221 F4: "RUOS 1,235-2022" was parts 1 and 235, another number than "RUOS 1235-2022". A comma joins digits
    as a dot does, only as a thousands separator: one to three digits, not led by a zero, then groups of exactly three."""
    assert {ruos_number_key(n) for n in ("RUOS 1,235-2022", "RUOS 1235-2022", "RUOS 1.235-2022", "RUOS Nº 1,235-2022")} == {"RUOS-1235-2022"}
    assert ruos_number_key("RUOS 1,234,567") == "RUOS-1234567" and ruos_number_key("RUOS 12,345-2022") == "RUOS-12345-2022"
    # what stays apart: commas between parts, led by a zero, before other than three digits, after a year, mixed
    assert ruos_number_key("RUOS,077,2021") == "RUOS-77-2021" and ruos_number_key("RUOS,077,2021,MDSJL,GDS") == "RUOS-77-2021-MDSJL-GDS"
    assert ruos_number_key("RUOS 12,3456") == "RUOS-12-3456" and ruos_number_key("RUOS 1,23") == "RUOS-1-23"
    assert ruos_number_key("RUOS 2022,123") == "RUOS-2022-123" and ruos_number_key("RUOS 012,345") == "RUOS-12-345"
    assert ruos_number_key("RUOS 1,234.5") == "RUOS-1-234-5" and ruos_number_key("RUOS 1, 234") == "RUOS-1-234"
    assert ruos_number_key("RUOS 1-235-2022") == "RUOS-1-235-2022" != ruos_number_key("RUOS 1,235-2022")
    assert ruos_number_key("RUOS 1.234,567") == ruos_number_key("RUOS 1.234-567") == "RUOS-1234-567"  # dots as before


def test_the_plural_number_sign_is_a_number_sign() -> None:
    """Tester 221 F4, the rarer forms: "RUOS Nros. 0905" was RUOS-NROS-905; "Nros." is typed for "Nro." as well."""
    same = ["RUOS Nros. 0905", "RUOS nros 0905", "RUOS Nros0905", "RUOS Nro. 0905", "RUOS 905"]
    assert {ruos_number_key(number) for number in same} == {"RUOS-905"}
    assert ruos_number_key("RUOS NROS. A-0905") == ruos_number_key("RUOS A-0905") == "RUOS-A-905"
    # what stays apart: after the number began it is kept as typed, and a word that only begins like it is a word
    assert ruos_number_key("RUOS 12 Nros. 5") == "RUOS-12-NROS-5" and ruos_number_key("RUOS NROSA5") == "RUOS-NROSA5"


def test_an_n_with_a_dot_before_the_number_is_its_sign_and_an_n_with_a_dash_a_series() -> None:
    """Helper 213: "RUOS N. 0901" is "RUOS 0901" (the sign written "N."), "RUOS N-0901" an N series: the dot, not the
    separator after it, writes the sign."""
    assert {ruos_number_key(n) for n in ("RUOS N. 0901", "RUOS N.0901", "RUOS n. 901", "RUOS 0901")} == {"RUOS-901"}
    assert {ruos_number_key(n) for n in ("RUOS N-0901", "RUOS N 0901", "RUOS N/0901", "RUOS N0901")} == {"RUOS-N-901", "RUOS-N0901"}
    assert ruos_number_key("RUOS N-0901") == ruos_number_key("RUOS N 0901") == "RUOS-N-901" != ruos_number_key("RUOS 0901")


def test_each_municipality_s_ruos_claims_its_own_numbers_apart_from_the_claims_made_before_they_said_whose() -> None:
    """Each municipality numbers its own RUOS: Comas's 045-2026 and San Juan de Lurigancho's are two claims (tester 127
    F4). A claim made before claims named their municipality kept the id of the number alone, which is still found."""
    comas, sjl, mml = (RUOSNumberIndex.create_id("045-2026", m) for m in ("150110", "150132", "mml"))
    assert len({comas, sjl, mml}) == 3
    before = RUOSNumberIndex.lima_wide_id(" 045-2026")
    assert before == uuid5(NAMESPACE_URL, "urn:osv-platform:registry:ruos-number:045-2026")  # as the claims stored say
    assert before not in {comas, sjl, mml}


# Whose RUOS a step is in ------------------------------------------------------------------

MUNICIPALITIES = MunicipalityTable.of_lima()
SJL, MML = MUNICIPALITIES.find("150132"), MUNICIPALITIES.find("mml")


def recorder(*roles: str) -> MunicipalScope:
    """The municipalities a caller with ``roles`` records RUOS decisions for."""
    return Caller(subject="someone", roles=frozenset(roles)).recording(Permission.RUOS_RECORD).acts_for


def test_each_focal_point_records_its_own_municipalitys_ruos_and_staff_any() -> None:
    """A district's focal point took the MML's decisions on its OSVs (tester 37 F8); the MML's, reading all of Lima, the districts'."""
    check_recorded_for(recorder("municipal-150132"), SJL, "the registration")
    check_recorded_for(recorder("municipal-mml"), MML, "the registration")
    for roles in (("staff",), ("lead",), ("municipal-150132", "municipal-mml")):
        check_recorded_for(recorder(*roles), SJL, "the registration")
        check_recorded_for(recorder(*roles), MML, "the registration")
    with pytest.raises(AnotherMunicipalitysRUOSError) as district:
        check_recorded_for(recorder("municipal-150132"), MML, "a board renewal of this OSV")
    assert isinstance(district.value, ForbiddenError) and (district.value.field, district.value.rule) == ("municipality_id", "own_municipality_ruos")
    assert district.value.extensions == {"municipality_id": "mml", "municipality_name": "Municipalidad Metropolitana de Lima"}
    assert district.value.message.startswith("a board renewal of this OSV is in the RUOS of Municipalidad Metropolitana de Lima ('mml')")
    with pytest.raises(AnotherMunicipalitysRUOSError) as mml:
        check_recorded_for(recorder("municipal-mml"), SJL, "the observation")
    assert mml.value.extensions["municipality_id"] == "150132"


def test_the_mmls_focal_point_reaches_all_of_lima_but_records_for_the_mml_alone() -> None:
    recording = Caller(subject="mml", roles=frozenset({"municipal-mml"})).recording(Permission.RUOS_RECORD)
    assert recording.reaches == ALL_LIMA and recording.acts_for == MunicipalScope(ubigeos=frozenset({"mml"}))
    assert Caller(subject="x", roles=frozenset({"auditor"})).recording(Permission.RUOS_RECORD).acts_for.is_empty


def test_a_direct_registration_is_with_the_municipality_named_or_the_one_the_focal_point_records_for() -> None:
    assert registering_municipality("mml", "150132", ALL_LIMA) == "mml"
    assert registering_municipality(None, "150132", recorder("municipal-150132")) == "150132"
    assert registering_municipality(None, "150132", recorder("municipal-mml")) == "mml"
    for acts_for in (ALL_LIMA, recorder("municipal-150132", "municipal-mml")):  # either may be meant: it is not known
        with pytest.raises(RegisteringMunicipalityUnknownError) as unknown:
            registering_municipality(None, "150132", acts_for)
        assert (unknown.value.field, unknown.value.rule) == ("municipality_id", "registering_municipality_known")
        assert "'150132'" in unknown.value.message and "'mml'" in unknown.value.message


def test_a_direct_registration_keeps_the_municipality_that_registered_the_osv() -> None:
    osv = mapped_osv()
    osv.register_in_ruos("RUOS-1", date(2021, 7, 1), municipality_id="mml")
    assert osv.ruos_municipality_id == "mml"
