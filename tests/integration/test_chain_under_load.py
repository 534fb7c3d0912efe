"""The hash chain's reads (one SELECT each, autocommit) while commands are saved.

An auditor checks a running service's store (``GET /verify``, ``osv-verify``,
``GET /chain``) while staff keep mapping OSVs. A check must never report a
change nobody made: each positions' event and chain hash are read together.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from services.registry.application import Registry
from shared.chaincheck import chain_page, entries_of_store, verify
from shared.store import persistence_env

DISTRICTS = ["Comas", "Ate", "San Juan de Lurigancho", "Los Olivos", "Villa María del Triunfo"]


def mapped(registry: Registry, n: int) -> None:
    for i in range(n):
        registry.map_osv(f"Venezolanos en {DISTRICTS[i % 5]} {i}", DISTRICTS[i % 5], date(2021, 3, 1 + i % 28))


def saving_between_the_reads(registry: Registry, times: int = 1) -> None:
    """Make the store's next empty read of the log be followed at once by an OSV mapped (a command from another client)."""
    real = registry.recorder.select_notifications
    left = [times]

    def select_notifications(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        if not found and left[0] > 0:
            left[0] -= 1
            registry.map_osv("Asociación de Migrantes Nueva Esperanza", "Carabayllo", date(2021, 5, 2))
        return found

    registry.recorder.select_notifications = select_notifications  # type: ignore[method-assign]


def test_a_verification_that_reaches_the_log_end_while_an_osv_is_mapped_reports_no_deleted_event(database_url: str) -> None:
    registry = Registry(persistence_env(database_url))
    try:
        mapped(registry, 5)
        saving_between_the_reads(registry)
        verdict = verify("registry", entries_of_store(registry), [])
        assert verdict.ok, verdict.describe()
    finally:
        registry.close()


def test_the_chain_feed_read_at_the_log_end_while_an_osv_is_mapped_names_no_position_without_its_event(database_url: str) -> None:
    registry = Registry(persistence_env(database_url))
    try:
        mapped(registry, 3)
        last = registry.recorder.max_notification_id() or 0
        saving_between_the_reads(registry)
        page = chain_page(registry, last, 100)
        assert all(entry["digest"] is not None for entry in page["entries"]), page
    finally:
        registry.close()


def test_verifications_run_while_staff_map_osvs_from_four_threads_all_pass(database_url: str) -> None:
    registry = Registry(persistence_env(database_url))
    stop = threading.Event()
    try:
        mapped(registry, 2)

        def staff(k: int) -> None:
            i = 0
            while not stop.is_set():
                registry.map_osv(f"Club de Madres {k}-{i}", DISTRICTS[(k + i) % 5], date(2021, 6, 1 + i % 28))
                i += 1

        workers = [threading.Thread(target=staff, args=(k,)) for k in range(4)]
        for worker in workers:
            worker.start()
        failures = []
        for _ in range(60):
            verdict = verify("registry", entries_of_store(registry), [])
            if not verdict.ok:
                failures.append(verdict.describe())
        stop.set()
        for worker in workers:
            worker.join()
        assert not failures, failures[:3]
    finally:
        stop.set()
        registry.close()
