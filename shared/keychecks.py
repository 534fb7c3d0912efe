"""A service's master key checked against its store at start, before it is used or made.

A store put back from a backup without its master key (``<var_dir>/<service>/master.key``,
or ``<SERVICE>_MASTER_KEY``) cannot be read: every sealed field, and in
engagement every event (the store's cipher), is sealed under the lost key.
The service used to make a new key file as on a first start, say ``ok`` on
``/health`` and answer 500 to everything (tester 245 F1), with a new key file
where the operator had to put the real one back. Now it refuses to start,
with one line naming the file and the setting (never a key):

- the key is missing (no setting, no file) while the store holds data sealed
  under one: a key in its key table, or (engagement) any event, which the
  store's cipher sealed; no key is made;
- the key given does not unwrap the store's first data key (one row read,
  one AES-GCM open): it is another key than the store's.

A fresh, empty store makes its key file as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, Table, inspect, select

from shared.errors import StartupRefusedError
from shared.sealing import NONCE_BYTES, WRAPPING_PURPOSE, Base, DataKey, KeyRing, MasterKey, move_rows
from shared.settings import ServiceSettings
from shared.views import create_tables


class MasterKeyMissingError(StartupRefusedError):
    """The store holds data sealed under a master key, and the service is given none: it makes none, and does not start."""

    def __init__(self, settings: ServiceSettings, held: str) -> None:
        service, file, setting = settings.service_name, settings.master_key_file, settings.env_name("master_key")
        super().__init__(
            f"{service} refuses to start: its store holds {held} sealed under a master key it does not have ({file} is "
            f"missing and {setting} is unset); put back the master.key kept with the backup this store came from at "
            f"{file} (mode 0600), or set {setting} to it. No new key was made: one would read none of it"
        )


class MasterKeyWrongError(StartupRefusedError):
    """The master key given is not the one the store's data keys are wrapped under."""

    def __init__(self, settings: ServiceSettings) -> None:
        service, file, setting = settings.service_name, settings.master_key_file, settings.env_name("master_key")
        given = f"the master key {setting} gives" if settings.master_key is not None else f"the master key in {file}"
        super().__init__(
            f"{service} refuses to start: {given} is not the one its store is sealed under (it cannot unwrap the "
            f"store's data keys); put back the master.key kept with the backup this store came from at {file}, or set "
            f"{setting} to it"
        )


EVENTS_TABLES = ("stored_events", "{service}_events")
"""Where the library keeps a store's events: ``stored_events`` in an SQLite file, ``<service>_events`` on PostgreSQL."""


def holds_events(engine: Engine, service: str) -> bool:
    """Whether the store's database (``engine``, the key table's: the store's own) holds any event (one row read)."""
    names = set(inspect(engine).get_table_names())
    for name in (table.format(service=service) for table in EVENTS_TABLES):
        if name in names:
            with engine.connect() as connection:
                if connection.exec_driver_sql(f'SELECT 1 FROM "{name}" LIMIT 1').first() is not None:  # noqa: S608 - the library's table
                    return True
    return False


def first_wrapped_key(engine: Engine) -> tuple[str, bytes] | None:
    """The key table's first row (owner and wrapped key), or None when it is empty."""
    with engine.connect() as connection:
        row = connection.execute(select(DataKey.owner_id, DataKey.wrapped).limit(1)).first()
    return None if row is None else (row[0], row[1])


def unwraps(master: MasterKey, owner_id: str, wrapped: bytes) -> bool:
    """Whether ``master``'s wrapping subkey opens a data key the key table holds (as :class:`~shared.sealing.KeyRing` does)."""
    try:
        AESGCM(master.subkey(WRAPPING_PURPOSE)).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], UUID(owner_id).bytes)
    except (InvalidTag, ValueError):
        return False
    return True


def checked_master_key(settings: ServiceSettings, engine: Engine, *, store_ciphered: bool = False) -> MasterKey:
    """The service's master key (:meth:`~shared.settings.ServiceSettings.resolve_master_key`), refused if it is missing
    or wrong for the store in ``engine``, whose key table exists (and holds the rows an older ``views.db`` had).

    ``store_ciphered``: every event is sealed under the master key too (engagement's store cipher), so a store that
    holds events needs it though its key table is empty (everyone erased)."""
    first = first_wrapped_key(engine)
    if settings.master_key is None and not Path(settings.master_key_file).exists():
        if first is not None:
            raise MasterKeyMissingError(settings, "data keys")
        if store_ciphered and holds_events(engine, settings.service_name):
            raise MasterKeyMissingError(settings, "events")
    master = MasterKey.from_text(settings.resolve_master_key())
    if first is not None and not unwraps(master, *first):
        raise MasterKeyWrongError(settings)
    return master


def checked_store_cipher(settings: ServiceSettings, app: Any) -> None:
    """Refuse (:class:`MasterKeyWrongError`) an application whose store cipher does not open the store's first event:
    engagement's store sealed under another master key though its key table is empty (one event read)."""
    cipher = app.mapper.cipher
    first = app.recorder.select_notifications(start=1, limit=1)
    if cipher is None or not first:
        return
    try:
        cipher.decrypt(first[0].state)
    except ValueError:  # the library's "Invalid cipher tag"
        raise MasterKeyWrongError(settings) from None


def opened_key_ring(
    settings: ServiceSettings, keys_engine: Engine, view_engine: Engine, *moved: Table, store_ciphered: bool = False
) -> tuple[MasterKey, KeyRing]:
    """The master key and the key ring of a service that seals, in the store's database ``keys_engine``, once an older
    ``views.db`` (``view_engine``) has had its key table (and ``moved``) moved there (:func:`~shared.sealing.move_rows`)
    and the key is checked against the store (:func:`checked_master_key`)."""
    create_tables(Base.metadata, keys_engine)  # the tables rows are moved into, and the key table the check reads
    move_rows(view_engine, keys_engine, DataKey.__table__, *moved)  # an older var/ kept them in views.db
    master = checked_master_key(settings, keys_engine, store_ciphered=store_ciphered)
    return master, KeyRing(keys_engine, master.subkey(WRAPPING_PURPOSE))
