"""Registry's wiring, in one place: its store, the keys that seal staff's notes, its view of engagement's document counts, the relay, the clock.

:func:`bootstrap` returns the :class:`~shared.web.Runtime` the FastAPI
lifespan starts: it builds the application (the event store and the view
database are opened then, not at import) with a real clock, Lima's date, by
default; tests pass a fake clock here. The key table lives in the event
store's own database, its new keys written in their events' transaction (an
older ``views.db`` holding it has it moved there at start-up,
:func:`~shared.sealing.move_rows`), its master key checked against it first (:mod:`shared.keychecks`). Registry refuses to start while a stored
OSV is in a district its districts table lacks (:func:`~shared.districts.refuse_lacking`,
the districts kept by :class:`~services.registry.views.mappeddistricts.MappedDistricts`, which the running registry
catches up again to tell a district or municipality its table lacks from one of no OSV's).
"""

from __future__ import annotations

from services.registry.application import Registry
from services.registry.decreeddays import shipped_non_working_days
from services.registry.events import catalogue
from services.registry.settings import RegistrySettings
from services.registry.views.documentcounts import DocumentCounts
from services.registry.views.mappeddistricts import MappedDistricts
from shared.clock import Clock, today_in_lima
from shared.districts import refuse_lacking
from shared.idempotency import AnswerBook
from shared.keychecks import opened_key_ring
from shared.sealing import key_engine
from shared.settings import read_or_exit
from shared.views import make_engine
from shared.web import Runtime


def bootstrap(settings: RegistrySettings | None = None, *, today: Clock = today_in_lima) -> Runtime:
    """The registry service's runtime; ``today`` is its clock."""
    settings = settings or read_or_exit(RegistrySettings)

    def application(env: dict[str, str]) -> Registry:
        view_engine = make_engine(settings.view_url(), rebuildable=True)
        keys_engine = key_engine(settings.key_url(), view_engine)
        _, keys = opened_key_ring(settings, keys_engine, view_engine)  # refused if the store's master key is missing or wrong
        districts = settings.districts_table()
        mapped_districts = MappedDistricts(view_engine)
        registry = Registry(
            env,
            districts,
            today=today,
            document_counts=DocumentCounts(view_engine),
            amendment_working_days=settings.ruos_amendment_working_days,
            answers=AnswerBook(view_engine, retention=settings.idempotency_retention),
            shipped_calendar=shipped_non_working_days(settings.non_working_days_file),
            keys=keys,
            mapped_districts=mapped_districts,
        )
        try:
            refuse_lacking(registry.name, districts, mapped_districts.catch_up(registry), "stored OSVs")
        except BaseException:
            registry.close()
            raise
        return registry

    def views(registry: Registry) -> list[DocumentCounts]:
        """Registry follows engagement's identity-document counts."""
        assert registry.document_counts is not None
        return [registry.document_counts]

    return Runtime(settings, catalogue, application, views)
