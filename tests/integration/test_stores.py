"""The same stories on an SQLite file and on a real PostgreSQL server, by changing only the URL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from services.funding.application import Funding
from services.funding.domain.grants import GrantKind
from services.registry.application import Registry
from services.reporting.views.readmodel import ReadModel
from shared.kept import snapshots_disagreeing
from shared.money import Currency
from shared.settings import sqlalchemy_url
from shared.store import persistence_env
from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory
from tests.support.clients import at_once


def registry_on(url: str) -> Registry:
    return Registry(persistence_env(url))


def test_an_osv_survives_a_restart_and_its_log_reads_back_in_order(database_url: str) -> None:
    registry = registry_on(database_url)
    first = registry.map_osv("Mujeres Emprendedoras", "Los Olivos", date(2021, 2, 10))
    second = registry.map_osv("Vecinos de Ate", "ate", date(2021, 2, 11))
    registry.register_in_ruos(first, "RUOS-7", date(2021, 5, 5), municipality_id="mml")
    registry.close()

    # A new process on the same store.
    registry = registry_on(database_url)
    assert [o.id for o in registry.list_osvs()] == [first, second]
    assert registry.get_osv(first).ruos_number == "RUOS-7"
    log = registry.log_after(0, 10)
    # Each mapping's entry in its district's names and the registration's claim on its number (private
    # index events) are stored in the same transaction as the OSV's event.
    assert [type(registry.decode(n)).__name__ for n in log] == [
        "OSVMapped", "DistrictRollOpened", "OSVMapped", "DistrictRollOpened", "RUOSRegistered", "RUOSNumberClaimed"
    ]
    assert registry.log_after(log[1].id, 10)[0].id == log[2].id
    registry.close()


def test_the_relay_position_is_kept_in_the_store_and_only_moves_forward(database_url: str) -> None:
    registry = registry_on(database_url)
    registry.map_osv("Unidos", "Comas", date(2021, 2, 10))
    assert registry.relayed_position() == 0
    registry.record_relayed(1)
    registry.close()
    registry = registry_on(database_url)
    assert registry.relayed_position() == 1
    registry.close()


def test_the_relay_and_published_positions_move_together_each_only_forward(database_url: str) -> None:
    registry = registry_on(database_url)
    for n in range(3):
        registry.map_osv(f"Unidos {n}", "Comas", date(2021, 2, 10))
    registry.record_relayed(3, 2)
    # Another replica's relay got further on one position and not the other: each moves on its own, never back.
    registry.record_relayed(2, 3)
    registry.record_relayed(1)
    assert (registry.relayed_position(), registry.published_position()) == (3, 3)
    registry.close()
    registry = registry_on(database_url)
    assert (registry.relayed_position(), registry.published_position()) == (3, 3)
    registry.record_relayed(4, 4)
    assert (registry.relayed_position(), registry.published_position()) == (4, 4)
    registry.close()


def test_two_writers_saving_the_same_version_conflict_instead_of_overwriting(database_url: str) -> None:
    one, other = registry_on(database_url), registry_on(database_url)
    osv_id = one.map_osv("Unidos", "Comas", date(2021, 2, 10))
    stale = other.get_osv(osv_id)
    one.register_in_ruos(osv_id, "RUOS-1", date(2021, 3, 1), municipality_id="mml")
    stale.register_in_ruos("RUOS-2", date(2021, 3, 2), municipality_id="mml")
    with pytest.raises(IntegrityError):
        other.save(stale)
    assert registry_on(database_url).get_osv(osv_id).ruos_number == "RUOS-1"
    one.close()
    other.close()


def registry_event(position: int, kind: str, osv_id: str, **data: object) -> dict[str, object]:
    return {
        "id": f"registry:{position}",
        "source": "urn:osv-platform:registry",
        "type": kind,
        "subject": osv_id,
        "time": "2021-03-01T12:00:00Z",
        "position": position,
        "data": {"osv_id": osv_id, **data},
    }


def test_funding_applies_each_registry_event_once_even_when_delivered_twice(database_url: str) -> None:
    directory = OSVDirectory(make_engine(sqlalchemy_url(database_url)), "funding")
    osv_id = str(uuid4())
    mapped = registry_event(1, "OSVMapped", osv_id, district="Comas", zone="Lima Norte", mapped_on="2021-03-01", occurred_on="2021-03-01")
    registered = registry_event(2, "RUOSRegistered", osv_id, ruos_number="R-9", registered_on="2021-04-01", occurred_on="2021-04-01")
    directory.apply([mapped, registered])
    directory.apply([mapped, registered])  # redelivered after a crash before the ack
    known = directory.get(osv_id)
    assert known is not None and known.ruos_number == "R-9"
    assert directory.applied_position() == 2

    funding = Funding(persistence_env(database_url), osvs=directory)
    grant_id = funding.grant_fund(UUID(osv_id), Decimal("700"), Currency.PEN, date(2021, 10, 1), GrantKind.GOODS)
    assert funding.get_grant(grant_id).osv_id == UUID(osv_id)
    funding.close()


def test_an_osvs_municipality_is_known_to_the_relay_only_once_its_mapping_has_arrived(database_url: str) -> None:
    directory = OSVDirectory(make_engine(sqlalchemy_url(database_url)), "engagement")
    early, mapped = str(uuid4()), str(uuid4())
    # Events come in any order: a registration may arrive before the mapping of its OSV.
    directory.apply([registry_event(1, "RUOSRegistered", early, ruos_number="R-1", registered_on="2021-04-01", occurred_on="2021-04-01")])
    directory.apply([registry_event(2, "OSVMapped", mapped, district="Comas", zone="Lima Norte", mapped_on="2021-03-01", occurred_on="2021-03-01")])

    assert directory.ubigeo_of(uuid4()) is None
    assert directory.ubigeo_of(early) is None
    assert directory.ubigeo_of(mapped) == directory.ubigeo_of(UUID(mapped)) == "150110"

    directory.apply([registry_event(3, "OSVMapped", early, district="Cercado de Lima", zone="Lima Centro", mapped_on="2021-03-01",
                                    occurred_on="2021-03-01")])
    assert directory.ubigeo_of(early) == "150101"


def test_only_a_directory_whose_service_shows_names_reads_registrys_feed_again_for_names_it_lacks(database_url: str) -> None:
    """Engagement shows no OSV's name: after the upgrade that added the column, it read registry's whole feed for nothing."""
    engine = make_engine(sqlalchemy_url(database_url))
    funding, engagement = OSVDirectory(engine, "funding", shows_names=True), OSVDirectory(engine, "engagement")
    unnamed = registry_event(1, "OSVMapped", str(uuid4()), district="Comas", zone="Lima Norte", mapped_on="2021-03-01", occurred_on="2021-03-01")
    funding.apply([unnamed])  # as applied before the directory kept names
    assert funding.refill_wanted("registry") and not engagement.refill_wanted("registry")


def test_reporting_counts_a_redelivered_batch_once(database_url: str) -> None:
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    osv_id = str(uuid4())
    batch = [registry_event(1, "OSVMapped", osv_id, district="Comas", zone="Lima Norte", mapped_on="2021-03-01", occurred_on="2021-03-01")]
    assert readmodel.apply(batch) == 1
    assert readmodel.apply(batch) == 0
    assert len(readmodel.facts()) == 1
    assert readmodel.positions() == {"registry": 1}


# Replicas started together on a new PostgreSQL database (make faults starts them so) ------------------------------


REPLICAS = 8


def _opened(open_: Callable[[], object]) -> str:
    try:
        open_()
    except Exception as failure:  # noqa: BLE001 - the test names what a replica died of
        return f"{type(failure).__name__}: {failure}"
    return "opened"


def test_replicas_starting_at_once_on_one_new_database_all_open_their_tables(postgres_url: str) -> None:
    # Two reporting replicas (or two funding replicas) launched together create the same tables at the same moment.
    engines = [make_engine(sqlalchemy_url(postgres_url)) for _ in range(REPLICAS)]
    try:
        opened = at_once(REPLICAS, lambda i: _opened(lambda: ReadModel(engines[i])))
    finally:
        for engine in engines:
            engine.dispose()

    assert opened == ["opened"] * REPLICAS


def test_replicas_of_a_write_service_starting_at_once_on_one_new_database_all_open_their_store(postgres_url: str) -> None:
    opened = at_once(REPLICAS, lambda _: _opened(lambda: registry_on(postgres_url)))

    assert opened == ["opened"] * REPLICAS


def test_closing_an_sqlite_store_waits_for_a_thread_still_reading_through_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A service stopping while its relay's batch read still runs in a worker thread: the library's pool closed the
    connection under the read, and SQLite took the whole process down (a segmentation fault in CI)."""
    registry = registry_on(f"sqlite:///{tmp_path / 'events.db'}")
    registry.map_osv("Unidos", "Comas", date(2021, 2, 10))
    holding, go_on = threading.Event(), threading.Event()
    read: list[object] = []

    def relay_read() -> None:
        with registry.recorder.datastore.get_connection(commit=False) as connection:
            holding.set()
            go_on.wait(timeout=30)
            try:
                cursor = connection.cursor()
                cursor.execute("SELECT count(*) FROM stored_events")
                read.append(cursor.fetchone()[0])
            except Exception as error:  # noqa: BLE001 - what the read met is the finding
                read.append(error)

    reader = threading.Thread(target=relay_read)
    reader.start()
    assert holding.wait(timeout=30)
    closer = threading.Thread(target=registry.close)
    closer.start()
    closer.join(timeout=0.5)
    closed_under_the_read = not closer.is_alive()
    go_on.set()
    reader.join(timeout=30)
    closer.join(timeout=30)
    assert not closed_under_the_read
    assert read == [2]
    assert not closer.is_alive()


def test_each_snapshot_is_checked_against_its_events_on_sqlite_and_postgresql(database_url: str) -> None:
    """`GET /verify`'s check of the snapshots, which are outside the hash chain (tester 37b F2), on both stores."""
    funding = Funding(persistence_env(database_url), osvs=OSVDirectory(make_engine(sqlalchemy_url(database_url)), "funding"))
    try:
        assert snapshots_disagreeing(funding) == (0, [])
        for month in range(1, 22):  # the calendar's 20th event is snapshotted
            funding.open_phase(f"F{month}", f"Fase {month}", date(2020 + (month - 1) // 12, (month - 1) % 12 + 1, 1),
                               date(2020 + (month - 1) // 12, (month - 1) % 12 + 1, 28))
        assert snapshots_disagreeing(funding) == (1, [])
    finally:
        funding.close()
