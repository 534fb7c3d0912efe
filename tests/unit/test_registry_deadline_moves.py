"""Which amendment deadlines a día no laborable decreed or revoked moves, and what the OSV records of it; no I/O."""

from __future__ import annotations

from datetime import date

from services.registry.domain.deadlines import DeadlineMove, moved_deadlines
from services.registry.domain.osvs import OSV
from services.registry.domain.ruos import RejectionReason, RUOSApplication, RUOSDocument
from services.registry.domain.workingdays import NonWorkingDay, WorkingCalendar

ALL = [str(d) for d in RUOSDocument]
REASONS = [{"code": "signatures_missing", "detail": None}]
BEFORE = WorkingCalendar()
MONDAY = NonWorkingDay(date(2022, 9, 5), "D.S. N.º 998-2022-PCM")
AFTER = BEFORE.with_days([MONDAY])
TODAY = date(2022, 9, 2)


def mapped_osv(name: str = "Vecinos Unidos de Collique") -> OSV:
    return OSV(name=name, district="Comas", zone="Lima Norte", mapped_on=date(2022, 3, 15), kind=None)


def observed(osv: OSV, on: date, window: int, municipality_id: str = "150110") -> RUOSApplication:
    application_id = osv.submit_application(municipality_id, date(2022, 8, 25), ALL, 0, 0)
    osv.observe_application(application_id, on, REASONS, window)
    return osv.find_application(application_id)


def test_a_day_decreed_within_the_window_moves_the_deadline_of_an_application_under_observation_only() -> None:
    # Observed Thursday 1 September with 3 working days: Friday 2, Monday 5, Tuesday 6. Monday 5 is decreed.
    within = observed(mapped_osv(), date(2022, 9, 1), 3)
    to_the_mml = observed(mapped_osv("Club de Madres"), date(2022, 9, 1), 3, municipality_id="mml")
    after_the_day = observed(mapped_osv("Vecinos de Setiembre"), date(2022, 9, 6), 1)  # the window opens after Monday
    assert moved_deadlines([within, to_the_mml, after_the_day], BEFORE, AFTER) == [
        DeadlineMove(within.application_id, "150110", date(2022, 9, 6), date(2022, 9, 7)),
        DeadlineMove(to_the_mml.application_id, "mml", date(2022, 9, 6), date(2022, 9, 7)),
    ]
    # Its revocation moves them back.
    assert moved_deadlines([within], AFTER, BEFORE) == [DeadlineMove(within.application_id, "150110", date(2022, 9, 7), date(2022, 9, 6))]


def test_an_application_no_longer_observed_has_no_deadline_to_move() -> None:
    amended_osv = mapped_osv()
    amended = observed(amended_osv, date(2022, 9, 1), 3)
    amended_osv.amend_application(amended.application_id, date(2022, 9, 2), ["croquis"])
    registered_osv = mapped_osv("Vecinos Registrados")
    registered = observed(registered_osv, date(2022, 9, 1), 3)
    registered_osv.amend_application(registered.application_id, date(2022, 9, 2), ["croquis"])
    registered_osv.register_application(registered.application_id, date(2022, 9, 2), "045-2022", None, None)
    withdrawn_osv = mapped_osv("Vecinos que Desisten")
    withdrawn = observed(withdrawn_osv, date(2022, 9, 1), 3)
    withdrawn_osv.reject_application(withdrawn.application_id, date(2022, 9, 2), RejectionReason.WITHDRAWN)
    submitted_osv = mapped_osv("Vecinos por Observar")
    submitted = submitted_osv.find_application(submitted_osv.submit_application("150110", date(2022, 9, 1), ALL, 0, 0))
    assert moved_deadlines([amended, registered, withdrawn, submitted], BEFORE, AFTER) == []


def test_a_day_that_was_no_working_day_already_or_lies_outside_lima_moves_nothing() -> None:
    application = observed(mapped_osv(), date(2022, 9, 1), 3)
    saturday = BEFORE.with_days([NonWorkingDay(date(2022, 9, 3), "D.S. N.º 997-2022-PCM")])
    cusco = BEFORE.with_days([NonWorkingDay(date(2022, 9, 5), "D.S. N.º 996-2022-PCM", "Región Cusco")])
    assert moved_deadlines([application], BEFORE, saturday) == moved_deadlines([application], BEFORE, cusco) == []


def test_revoking_a_day_the_observation_already_skipped_keeps_the_deadline_it_recorded() -> None:
    """The municipality gave its deadline counting the day as non-working: registry never shortens it."""
    osv = mapped_osv()
    application_id = osv.submit_application("150110", date(2022, 8, 25), ALL, 0, 0)
    assert osv.observe_application(application_id, date(2022, 9, 1), REASONS, 3, AFTER) == date(2022, 9, 7)
    assert moved_deadlines([osv.find_application(application_id)], AFTER, BEFORE) == []


def test_the_osv_records_the_move_with_the_day_and_its_decree_and_a_merged_record_records_none() -> None:
    osv = mapped_osv()
    application = observed(osv, date(2022, 9, 1), 3)
    osv.collect_events()
    assert osv.move_amendment_deadline(BEFORE, AFTER, TODAY, MONDAY) == [
        DeadlineMove(application.application_id, "150110", date(2022, 9, 6), date(2022, 9, 7))
    ]
    [moved] = osv.collect_events()
    assert isinstance(moved, OSV.RUOSAmendmentDeadlineMoved)
    assert (moved.application_id, moved.municipality_id, moved.previous_amend_by, moved.amend_by) == (
        application.application_id, "150110", date(2022, 9, 6), date(2022, 9, 7)
    )
    assert (moved.moved_on, moved.day, moved.decree, moved.revoked) == (TODAY, MONDAY.day, MONDAY.decree, False)
    assert application.amendment_deadline(AFTER) == date(2022, 9, 7)  # the calendar still says it: the event tells it

    osv.move_amendment_deadline(AFTER, BEFORE, TODAY, MONDAY, revoked=True)
    [back] = osv.collect_events()
    assert (back.previous_amend_by, back.amend_by, back.revoked) == (date(2022, 9, 7), date(2022, 9, 6), True)
    assert osv.move_amendment_deadline(BEFORE, BEFORE, TODAY, MONDAY) == [] and osv.collect_events() == []

    survivor, duplicate = mapped_osv("Vecinos Unidos"), mapped_osv("Vecinos Unidos de Collique (2)")
    observed(duplicate, date(2022, 9, 1), 3)
    duplicate.merge_into(survivor, date(2022, 9, 2))
    duplicate.collect_events()
    assert duplicate.move_amendment_deadline(BEFORE, AFTER, TODAY, MONDAY) == [] and duplicate.collect_events() == []
