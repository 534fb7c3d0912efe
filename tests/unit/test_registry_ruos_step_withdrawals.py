"""An RUOS application's observation or rejection entered in error, withdrawn, without any I/O: how the application stands
after it, what the next steps take, what is refused, and what is published (never the staff's reason)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from services.registry.domain.osvs import OSV
from services.registry.domain.ruos import ApplicationStatus, WithdrawnStep
from services.registry.domain.ruoswithdrawals import StepNotLastError
from services.registry.domain.workingdays import NonWorkingDay, WorkingCalendar
from services.registry.events import catalogue
from shared.errors import OSVMergedError

ALL_DOCUMENTS = ["acta_constitucion", "estatuto", "acta_aprobacion_estatuto", "acta_eleccion_junta_directiva",
                 "nomina_junta_directiva", "padron_socios", "croquis"]
TODAY = date(2021, 8, 2)
SJL = "150132"
WHY = "Registrada por error en la solicitud de otra OSV"


def applying() -> tuple[OSV, UUID]:
    """An OSV of San Juan de Lurigancho mapped on 2021-03-15, applying to its district's RUOS on 2021-06-14 with every document."""
    osv = OSV(name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho", zone="Lima Este", mapped_on=date(2021, 3, 15), kind=None)
    return osv, osv.submit_application(SJL, date(2021, 6, 14), ALL_DOCUMENTS, 0, 0)


def observed(osv: OSV, application_id: UUID, on: date, code: str = "signatures_missing") -> None:
    osv.observe_application(application_id, on, [{"code": code, "detail": "Falta la firma de la presidenta"}], 5)


def published(osv: OSV) -> dict[str, object]:
    (event,) = [catalogue.to_cloudevent(1, e) for e in osv.collect_events()]
    assert event is not None
    return {"type": event["type"], **event["data"]}


# The observation ------------------------------------------------------------------


def test_an_observation_withdrawn_leaves_the_application_under_review_as_if_never_observed() -> None:
    osv, application_id = applying()
    observed(osv, application_id, date(2021, 6, 18))
    osv.withdraw_observation(application_id, TODAY, WHY, SJL)

    application = osv.find_application(application_id)
    assert (application.status, application.observations, application.amend_by) == (ApplicationStatus.SUBMITTED, [], None)
    assert application.withdrawn == [WithdrawnStep("observation", date(2021, 6, 18), TODAY)]
    assert application.last_step() == ("submitted_on", date(2021, 6, 14))
    # the municipality's next step is taken as on any application under review, dated from its submission on
    osv.register_application(application_id, date(2021, 6, 16), "RUOS-SJL-2021-0070", None, None)
    assert (osv.registered_on, application.status) == (date(2021, 6, 16), ApplicationStatus.REGISTERED)


def test_the_second_observation_withdrawn_leaves_the_first_amended_and_the_application_observed_again() -> None:
    osv, application_id = applying()
    observed(osv, application_id, date(2021, 6, 18))
    osv.amend_application(application_id, date(2021, 6, 21), [])
    observed(osv, application_id, date(2021, 6, 25), "board_term_expired")
    osv.withdraw_observation(application_id, TODAY, WHY, SJL)

    application = osv.find_application(application_id)
    assert (application.status, [o.observed_on for o in application.observations]) == (ApplicationStatus.AMENDED, [date(2021, 6, 18)])
    observed(osv, application_id, date(2021, 6, 23), "document_defective")  # after the amendment that stands, not the withdrawn day
    assert application.status is ApplicationStatus.OBSERVED


def test_the_withdrawal_is_published_with_the_observation_it_takes_back_and_never_the_staffs_reason() -> None:
    osv, application_id = applying()
    observed(osv, application_id, date(2021, 6, 18))
    osv.collect_events()
    osv.withdraw_observation(application_id, TODAY, WHY, SJL)
    assert published(osv) == {
        "type": "RUOSObservationWithdrawn", "occurred_on": "2021-08-02", "osv_id": str(osv.id), "application_id": str(application_id),
        "municipality_id": SJL, "observed_on": "2021-06-18", "observation_reasons": ["signatures_missing"], "status": "submitted",
        "withdrawn_on": "2021-08-02",
    }


def test_only_the_applications_last_step_is_withdrawn() -> None:
    osv, application_id = applying()
    with pytest.raises(StepNotLastError) as never:
        osv.withdraw_observation(application_id, TODAY, WHY, SJL)
    assert (never.value.field, never.value.rule) == ("application_id", "withdraw_last_step")
    assert never.value.extensions == {"last_step": "submitted_on", "last_step_on": "2021-06-14"}

    observed(osv, application_id, date(2021, 6, 18))
    osv.amend_application(application_id, date(2021, 6, 21), [])
    with pytest.raises(StepNotLastError, match="its last step is its amendment on 2021-06-21"):
        osv.withdraw_observation(application_id, TODAY, WHY, SJL)
    with pytest.raises(StepNotLastError, match="not a rejection"):
        osv.withdraw_rejection(application_id, TODAY, WHY, SJL)

    osv.register_application(application_id, date(2021, 6, 30), "RUOS-SJL-2021-0070", None, None)
    with pytest.raises(StepNotLastError) as registered:
        osv.withdraw_observation(application_id, TODAY, WHY, SJL)
    assert registered.value.extensions == {"last_step": "registered_on", "last_step_on": "2021-06-30"}
    assert osv.collect_events()[-1].__class__.__name__ == "RUOSRegistered"  # nothing recorded by the refusals


# The rejection --------------------------------------------------------------------


def test_a_rejection_withdrawn_opens_the_application_again_as_it_stood_and_the_next_decision_is_taken_on_it() -> None:
    osv = OSV(name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho", zone="Lima Este", mapped_on=date(2021, 3, 15), kind=None)
    application_id = osv.submit_application(SJL, date(2021, 6, 14), ALL_DOCUMENTS[:-1], 0, 0)
    osv.reject_application(application_id, date(2021, 6, 20), "requirements_not_met", "Faltaba el croquis")
    osv.record_document("croquis", date(2021, 7, 1))  # recorded while it stood rejected: the application takes it once open
    osv.withdraw_rejection(application_id, TODAY, WHY, SJL)

    application = osv.find_application(application_id)
    assert (application.status, application.rejected_on, application.rejection_reason) == (ApplicationStatus.SUBMITTED, None, None)
    assert osv.open_application is application
    assert application.withdrawn == [WithdrawnStep("rejection", date(2021, 6, 20), TODAY)]
    assert (application.documents, application.missing_documents) == (ALL_DOCUMENTS, [])
    observed(osv, application_id, date(2021, 6, 16))  # dated from the submission: the rejection never was
    assert application.status is ApplicationStatus.OBSERVED


def test_a_rejection_of_an_observed_application_withdrawn_leaves_it_observed_with_its_deadline_in_the_calendar() -> None:
    osv, application_id = applying()
    observed(osv, application_id, date(2021, 6, 18))  # five working days: 2021-06-25
    osv.reject_application(application_id, date(2021, 6, 28), "amendment_deadline_missed")
    calendar = WorkingCalendar([NonWorkingDay(date(2021, 6, 21), "D.S. de prueba")])
    osv.collect_events()
    osv.withdraw_rejection(application_id, TODAY, WHY, SJL, calendar)

    data = published(osv)
    assert {k: data[k] for k in ("type", "rejected_on", "rejection_reason", "status", "amend_by", "withdrawn_on")} == {
        "type": "RUOSRejectionWithdrawn", "rejected_on": "2021-06-28", "rejection_reason": "amendment_deadline_missed",
        "status": "observed", "amend_by": "2021-06-28", "withdrawn_on": "2021-08-02",
    }
    assert "reason" not in data
    application = osv.find_application(application_id)
    assert (application.status, application.amendment_deadline(calendar)) == (ApplicationStatus.OBSERVED, date(2021, 6, 28))
    osv.reject_application(application_id, date(2021, 6, 29), "amendment_deadline_missed", calendar=calendar)  # the right day


def test_a_rejection_followed_by_a_new_application_or_a_registration_is_not_withdrawn() -> None:
    osv, application_id = applying()
    osv.reject_application(application_id, date(2021, 6, 20), "requirements_not_met")
    again = osv.submit_application(SJL, date(2021, 7, 1), [], 0, 0)
    with pytest.raises(StepNotLastError, match=f"RUOS application {again} was submitted after it, on 2021-07-01") as followed:
        osv.withdraw_rejection(application_id, TODAY, WHY, SJL)
    assert followed.value.extensions == {"last_step": "submitted_on", "last_step_on": "2021-07-01"}

    registered, first = applying()
    registered.reject_application(first, date(2021, 6, 20), "requirements_not_met")
    registered.register_in_ruos("RUOS-SJL-2021-0071", date(2021, 7, 5), municipality_id=SJL)
    with pytest.raises(StepNotLastError, match="registered in the RUOS after it was rejected"):
        registered.withdraw_rejection(first, TODAY, WHY, SJL)


def test_a_rejection_is_withdrawn_from_a_dissolved_osv_and_nothing_from_a_merged_record() -> None:
    osv, application_id = applying()
    osv.dissolve(date(2021, 7, 1), "inactive", None)
    osv.reject_application(application_id, date(2021, 7, 10), "withdrawn")
    osv.withdraw_rejection(application_id, TODAY, WHY, SJL)
    assert osv.find_application(application_id).status is ApplicationStatus.SUBMITTED

    duplicate, duplicate_application = applying()
    observed(duplicate, duplicate_application, date(2021, 6, 18))
    survivor = OSV(name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho", zone="Lima Este", mapped_on=date(2021, 3, 1), kind=None)
    duplicate.merge_into(survivor, date(2021, 7, 1))
    with pytest.raises(OSVMergedError):
        duplicate.withdraw_observation(duplicate_application, TODAY, WHY, SJL)


def test_a_day_decreed_after_the_withdrawal_moves_the_deadline_of_an_application_observed_again_and_of_none_withdrawn() -> None:
    decreed = NonWorkingDay(date(2021, 6, 22), "D.S. de prueba")
    before, after = WorkingCalendar(), WorkingCalendar([decreed])
    withdrawn, first = applying()
    observed(withdrawn, first, date(2021, 6, 18))
    withdrawn.withdraw_observation(first, TODAY, WHY, SJL)
    assert withdrawn.move_amendment_deadline(before, after, TODAY, decreed) == []  # no deadline runs any more

    reopened, second = applying()
    observed(reopened, second, date(2021, 6, 18))  # to 2021-06-25
    reopened.reject_application(second, date(2021, 6, 21), "not_eligible")
    assert reopened.move_amendment_deadline(before, after, TODAY, decreed) == []  # rejected: under observation no more
    reopened.withdraw_rejection(second, TODAY, WHY, SJL, before)
    (move,) = reopened.move_amendment_deadline(before, after, TODAY, decreed)
    assert (move.previous_amend_by, move.amend_by) == (date(2021, 6, 25), date(2021, 6, 28))
