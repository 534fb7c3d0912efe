"""Engagement's wiring, in one place: the master key, its encrypted store, the key ring, its views, the relay, the clock.

:func:`bootstrap` returns the :class:`~shared.web.Runtime` the FastAPI
lifespan starts: the master key is read (or made) and the event store and
view database are opened then, not at import. The key table and the
document directory live in the event store's own database (the SQLite
store's file, or the PostgreSQL database), so that a registration writes
its key, its entry and its events in one transaction; an older ``views.db``
that still holds them has them moved there at start-up
(:func:`~shared.sealing.move_rows`). The master key is checked against
the store (:mod:`shared.keychecks`), and the document index's key, a secret
of its own, against its entries (:func:`checked_document_directory`): missing
or wrong for a store that holds data, engagement refuses to start. The clock is Lima's date by default; tests pass a fake one here.
Engagement refuses to start while its OSV directory holds an OSV of a
district its districts table lacks (:func:`~shared.districts.refuse_lacking`).
Once NATS answers, the erasures a restored store lost are made again from
the stream's tombstones (:mod:`services.engagement.erasures`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import Engine

from services.engagement import erasures
from services.engagement.application import Engagement, cipher_env
from services.engagement.events import catalogue
from services.engagement.personaldata import ANSWERS_PURPOSE, DocumentDirectory, DocumentEntry
from services.engagement.settings import EngagementSettings
from services.engagement.views import GrantDirectory, OSVDirectory
from shared.clock import Clock, today_in_lima
from shared.districts import refuse_lacking
from shared.errors import StartupRefusedError
from shared.idempotency import AnswerBook
from shared.keychecks import checked_store_cipher, opened_key_ring
from shared.sealing import key_engine
from shared.settings import read_or_exit
from shared.views import View, make_engine
from shared.web import Runtime


class IndexKeyMissingError(StartupRefusedError):
    """The document index holds entries, and engagement is given no index key: it makes none, and does not start."""

    def __init__(self, settings: EngagementSettings) -> None:
        file, setting = settings.index_key_path, settings.env_name("index_key")
        super().__init__(
            f"{settings.service_name} refuses to start: its document index holds entries made with an index key it does not "
            f"have ({file} is missing and {setting} is unset), so every registered document would read as never "
            f"registered and its holder be registered again; put back the engagement-index.key kept with the backup this "
            f"store came from at {file} (mode 0600), or set {setting} to it. No new key was made"
        )


class IndexKeyWrongError(StartupRefusedError):
    """The index key given is not the one the document index's entries were made with."""

    def __init__(self, settings: EngagementSettings) -> None:
        file, setting = settings.index_key_path, settings.env_name("index_key")
        given = f"the index key {setting} gives" if settings.index_key is not None else f"the index key in {file}"
        super().__init__(
            f"{settings.service_name} refuses to start: {given} is not the one its document index's entries were made with "
            f"(it does not match the index's check value), so every registered document would read as never registered; "
            f"put back the engagement-index.key kept with the backup this store came from at {file}, or set {setting} to it"
        )


def checked_document_directory(settings: EngagementSettings, engine: Engine) -> DocumentDirectory:
    """The document directory in the store's database ``engine``, its key refused if missing or wrong while the index
    holds entries (tester 245 F2: a store restored without its key file registered people twice, silently); a fresh
    index makes its key file as before."""
    if settings.index_key is None and not settings.index_key_path.exists() and DocumentDirectory.holds_entries(engine):
        raise IndexKeyMissingError(settings)
    documents = DocumentDirectory(engine, settings.resolve_index_key())
    if not documents.key_confirmed():
        raise IndexKeyWrongError(settings)
    return documents


def bootstrap(settings: EngagementSettings | None = None, *, today: Clock = today_in_lima) -> Runtime:
    """The engagement service's runtime; ``today`` is its clock."""
    settings = settings or read_or_exit(EngagementSettings)

    def application(env: dict[str, str]) -> Engagement:
        view_engine = make_engine(settings.view_url(), rebuildable=True)
        keys_engine = key_engine(settings.key_url(), view_engine)
        # the master key checked against the key table and the store's events, both sealed under it
        master, keys = opened_key_ring(settings, keys_engine, view_engine, DocumentEntry.__table__, store_ciphered=True)
        documents = checked_document_directory(settings, keys_engine)
        districts = settings.districts_table()  # one table for the directory and the application
        osvs = OSVDirectory(view_engine, settings.service_name, districts)
        refuse_lacking(settings.service_name, districts, osvs.mapped_districts(), "OSVs its OSV directory holds")
        engagement = Engagement(
            {**env, **cipher_env(master.store_cipher_key())},
            today,
            osvs=osvs,
            grants=GrantDirectory(view_engine),
            keys=keys,
            documents=documents,
            answers=AnswerBook(view_engine, retention=settings.idempotency_retention, secret=master.subkey(ANSWERS_PURPOSE)),
            districts=districts,
        )
        try:
            checked_store_cipher(settings, engagement)  # a store whose key table is empty: its first event
        except StartupRefusedError:
            engagement.close()
            raise
        return engagement

    def views(engagement: Engagement) -> list[View]:
        """Engagement follows registry's OSVs and funding's grants."""
        return [engagement.osvs, engagement.grants]

    runtime = Runtime(settings, catalogue, application, views)

    def background(engagement: Engagement) -> list[Callable[[], Coroutine[Any, Any, None]]]:
        """The erasures a restored store lost, made again from the stream's tombstones (over the runtime's NATS link)."""

        async def erasures_again() -> None:  # the task: engagement-erasures_again
            assert runtime.link is not None  # made by the lifespan before the background tasks
            await erasures.erasures_again(engagement, runtime.link)

        return [erasures_again]

    runtime.background = background
    return runtime
