"""Registry's new records on an SQLite file and on a real PostgreSQL server, by changing only the URL."""

from __future__ import annotations

from datetime import date

import pytest
from eventsourcing.persistence import IntegrityError

from services.registry.application import Registry
from services.registry.domain.ruos import ApplicationStatus, RUOSNumberIndex, RUOSNumberTakenError
from services.registry.events import catalogue
from services.registry.views.documentcounts import DocumentCounts
from shared.settings import sqlalchemy_url
from shared.store import persistence_env
from shared.views import make_engine

ALL = [
    "acta_constitucion",
    "estatuto",
    "acta_aprobacion_estatuto",
    "acta_eleccion_junta_directiva",
    "nomina_junta_directiva",
    "padron_socios",
    "croquis",
]


def registry_on(url: str, counts: DocumentCounts | None = None) -> Registry:
    return Registry(persistence_env(url), document_counts=counts)


def test_an_ruos_number_taken_by_one_osv_is_refused_to_another_across_processes(database_url: str) -> None:
    one, other = registry_on(database_url), registry_on(database_url)
    first = one.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))
    second = other.map_osv("Mujeres Emprendedoras", "Los Olivos", date(2021, 3, 16))
    one.register_in_ruos(first, "RUOS-COMAS-2021-017", date(2021, 7, 12), municipality_id="mml")
    head = other.log_head()

    application = other.submit_ruos_application(second, "150117", date(2021, 6, 14), ALL)  # Los Olivos: its district
    with pytest.raises(RUOSNumberTakenError) as refused:
        other.register_ruos_application(second, application.application_id, date(2021, 7, 12), " ruos-comas-2021-017 ")
    assert (refused.value.field, refused.value.rule) == ("ruos_number", "ruos_number_unique")
    assert other.get_osv(second).ruos_number is None
    assert other.get_osv(second).application.status is ApplicationStatus.SUBMITTED  # type: ignore[union-attr]
    assert other.log_head() == head + 1  # the submission only
    one.close()
    other.close()


def test_a_claim_made_on_a_stale_check_still_fails_and_takes_the_registration_with_it(database_url: str) -> None:
    registry = registry_on(database_url)
    first = registry.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))
    second = registry.map_osv("Mujeres Emprendedoras", "Los Olivos", date(2021, 3, 16))
    registry.register_in_ruos(first, "RUOS-7", date(2021, 7, 12), municipality_id="mml")

    # A writer that looked before the first claim was stored: the store itself refuses the second claim.
    late = registry.get_osv(second)
    late.register_in_ruos("RUOS-7", date(2021, 7, 13), municipality_id="mml")
    with pytest.raises(IntegrityError):
        registry.save(late, RUOSNumberIndex(ruos_number="RUOS-7", osv_id=second))
    assert registry.get_osv(second).ruos_number is None
    assert registry.ruos_number_holder("RUOS-7") == first
    registry.close()


def test_municipalities_and_applications_survive_a_restart(database_url: str) -> None:
    registry = registry_on(database_url)
    osv_id = registry.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15), composition=None, focus_areas=["health"])
    _, focal_point = registry.assign_focal_point("150110", "Subgerencia de Participación Vecinal", "especialista", date(2021, 2, 1))
    registry.change_accepted_documents("150110", ["DNI", "CE", "PTP", "CPP", "CEDULA_VE"], date(2021, 9, 1))
    application = registry.submit_ruos_application(osv_id, "150110", date(2021, 6, 14), ALL)
    registry.observe_ruos_application(osv_id, application.application_id, date(2021, 7, 26), [{"code": "other", "detail": "x"}])
    registry.close()

    registry = registry_on(database_url)
    comas = registry.get_municipality("150110").record
    assert comas.current_focal_point is not None and comas.current_focal_point.focal_point_id == focal_point
    assert comas.accepted[-1] == "CEDULA_VE" and comas.accepted_history[0].changed_on == date(2021, 9, 1)
    observed = registry.get_osv(osv_id).find_application(application.application_id)
    assert (observed.status, observed.amend_by) == (ApplicationStatus.OBSERVED, date(2021, 8, 4))
    assert [type(e).__name__ for e in registry.events.get(comas.id)] == [
        "MunicipalityRecordOpened",
        "FocalPointAssigned",
        "AcceptedDocumentsChanged",
    ]
    registry.close()


def test_the_counts_view_keeps_the_latest_tally_once_on_both_databases(database_url: str) -> None:
    counts = DocumentCounts(make_engine(sqlalchemy_url(database_url)))
    registry = registry_on(database_url, counts)
    osv_id = registry.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))

    def tally(position: int, members: dict[str, int]) -> dict[str, object]:
        data = {"osv_id": str(osv_id), "counted_on": "2021-06-10", "occurred_on": "2021-06-10", "board": {"DNI": 1}, "members": members}
        return {"type": "OSVDocumentsCounted", "source": "urn:osv-platform:engagement", "position": position, "data": data}

    counts.apply([tally(4, {"DNI": 1, "CEDULA_VE": 3}), tally(6, {"DNI": 1, "CEDULA_VE": 1})])
    counts.apply([tally(4, {"DNI": 9})])  # redelivered after a restart: already applied
    readiness = registry.ruos_readiness(osv_id)
    assert (readiness.members_total, readiness.members_with_unaccepted_documents) == (2, 1)
    assert counts.applied_position() == 6
    registry.close()


def test_each_osv_another_worker_mapped_is_placed_by_its_district_without_reading_it_back(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mapper, relay = registry_on(database_url), registry_on(database_url)  # two workers on one store; the relay runs in the second
    comas = mapper.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))
    ate = mapper.map_osv("Mujeres Emprendedoras de Huaycán", "Ate", date(2021, 3, 16))
    mapper.register_in_ruos(comas, "RUOS-COMAS-2021-017", date(2021, 7, 12), municipality_id="mml")
    reads: list[object] = []
    real_get = relay.repository.get
    monkeypatch.setattr(relay.repository, "get", lambda *args, **kwargs: reads.append(args) or real_get(*args, **kwargs))

    placed = {}
    for notification in relay.log_after(0, 100):
        cloudevent = catalogue.to_cloudevent(notification.id, relay.decode(notification), locate=relay.municipality_of)
        if cloudevent is not None:
            placed[(cloudevent["type"], cloudevent["subject"])] = cloudevent["municipality"]

    assert placed == {("OSVMapped", str(comas)): "150110", ("OSVMapped", str(ate)): "150103", ("RUOSRegistered", str(comas)): "150110"}
    assert reads == []  # the OSVs' municipalities came from their OSVMapped events, the registration's from there too
