"""What leaves registry: codes, dates and counts; never staff notes, never a claim on an index."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from services.registry.domain.details import DissolutionReason
from services.registry.domain.municipalities import Municipality
from services.registry.domain.osvs import OSV
from services.registry.domain.ruos import RejectionReason, RUOSNumberIndex
from services.registry.events import catalogue

NOTE = "Yajaira Díaz, la presidenta, dice que su cédula no la aceptan"


def published(aggregate: Any) -> list[dict[str, Any]]:
    cloudevents = [catalogue.to_cloudevent(position, e) for position, e in enumerate(aggregate.collect_events(), start=1)]
    return [c for c in cloudevents if c is not None]


def osv() -> OSV:
    return OSV(name="Vecinos Unidos de Collique", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 15), kind=None)


def test_an_observation_publishes_its_reason_codes_and_deadline_but_not_staff_words() -> None:
    o = osv()
    application_id = o.submit_application("150110", date(2021, 6, 14), ["estatuto"], 1, 2)
    o.observe_application(application_id, date(2021, 6, 24), [{"code": "id_document_not_accepted", "detail": NOTE}], 5)
    o.reject_application(application_id, date(2021, 7, 9), RejectionReason.AMENDMENT_DEADLINE_MISSED, NOTE)
    submitted, observed, rejected = published(o)[1:]
    assert submitted["data"]["id_documents_flagged"] is True
    # How many hold a refused document is not published: with the members' joinings, it told which one (tester 135 F1)
    assert not {"members_with_unaccepted_documents", "board_members_with_unaccepted_documents"} & submitted["data"].keys()
    assert observed["data"]["reasons"] == ["id_document_not_accepted"]
    assert observed["data"]["amend_by"] == "2021-07-02"
    assert rejected["data"]["reason"] == "amendment_deadline_missed"
    assert NOTE not in json.dumps([submitted, observed, rejected], ensure_ascii=False)


def test_contact_loss_and_dissolution_publish_dates_and_codes_but_not_notes() -> None:
    o = osv()
    o.lose_contact(date(2021, 9, 1), NOTE)
    o.dissolve(date(2021, 12, 1), DissolutionReason.MEMBERS_EMIGRATED, NOTE)
    lost, dissolved = published(o)[1:]
    assert lost["data"] == {"occurred_on": "2021-09-01", "osv_id": str(o.id), "since": "2021-09-01"}
    assert dissolved["type"] == "OSVDissolved"
    assert dissolved["data"] == {
        "occurred_on": "2021-12-01",
        "osv_id": str(o.id),
        "dissolved_on": "2021-12-01",
        "reason": "members_emigrated",
    }


def test_a_details_update_names_the_fields_it_changed() -> None:
    o = osv()
    o.update_details({"composition": "migrant_led", "contact_channel": None}, date(2021, 4, 1))
    (updated,) = published(o)[1:]
    assert updated["data"]["changed"] == ["composition"]
    assert updated["data"]["composition"] == "migrant_led"


def test_a_direct_registration_publishes_the_skeleton_s_fields_its_municipality_and_no_application() -> None:
    o = osv()
    o.register_in_ruos("RUOS-7", date(2021, 5, 5), municipality_id="150110")
    (registered,) = published(o)[1:]
    assert registered["data"]["ruos_number"] == "RUOS-7" and registered["data"]["registered_on"] == "2021-05-05"
    assert registered["data"]["application_id"] is None
    assert registered["data"]["municipality_id"] == "150110"  # was null: partners could not tell whose RUOS (tester 37 F8)


def test_the_claim_on_an_ruos_number_and_the_opening_of_a_municipality_s_record_stay_private() -> None:
    index = RUOSNumberIndex(ruos_number="RUOS-7", osv_id=osv().id, municipality_id="150110")
    assert published(index) == []
    municipality = Municipality(municipality_id="150110")
    municipality.assign_focal_point("Subgerencia de Participación Vecinal", "especialista", date(2021, 2, 1))
    (assigned,) = published(municipality)
    assert assigned["type"] == "FocalPointAssigned"
    assert assigned["data"]["municipality_id"] == "150110"


def test_an_agreement_publishes_how_many_commitments_it_holds_not_their_text() -> None:
    municipality = Municipality(municipality_id="mml")
    municipality.sign_agreement("Convenio", date(2021, 11, 15), [NOTE, "Designar un punto focal"], "Exp. 2021-0456")
    (signed,) = published(municipality)
    assert signed["data"]["commitments_count"] == 2
    assert NOTE not in json.dumps(signed, ensure_ascii=False)
