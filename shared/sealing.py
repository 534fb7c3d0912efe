"""What can be forgotten in an append-only store: fields sealed with keys of their own, and the keys deleted.

Crypto-shredding. A field that holds personal data (engagement's names,
document numbers, phones) or staff's free text (meeting notes, action items,
an activity's description, why contact was lost…) is sealed (AES-GCM) with
a data key before its event reaches the store. The data keys are kept
wrapped under a subkey of the service's master key in a key table in the
event store's own database (the SQLite store's file, or the PostgreSQL
database), so that a command's new keys are written in its events'
transaction; never inside an event. Deleting a key forgets what it sealed
everywhere at once (every copy of the events: replicas, the stream, exports)
without rewriting the log: the events still load, the sealed fields reading
as their redacted value. (A backup taken before the deletion still holds the
key, wrapped: what it sealed is then as safe as the master key.)

Which key seals a field is the event's :class:`Seal`'s to say: a person's
own key (their id), or one per free text (a meeting's, an activity's, one
event's of an OSV's history, see :func:`text_key`), so that one note can be
redacted without touching the rest.

Nothing here is domain logic: the domain records plain events; the
:class:`SealingMapper` seals and unseals them on the way to and from the store.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder
from sqlalchemy import Connection, Engine, LargeBinary, String, Table, bindparam, delete, exc, insert, make_url, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared import dryrun
from shared.driversql import read_scalar
from shared.views import create_tables, make_engine
from shared.views.erasure import forget_rows, truncate_log

KEY_BYTES = 32
NONCE_BYTES = 12

WRAPPING_PURPOSE = b"osv-platform engagement: wrap personal data keys"
STORE_PURPOSE = b"osv-platform engagement: event store cipher"
ANSWERS_PURPOSE = b"osv-platform engagement: idempotent answers"

REDACTED_TEXT = "[redacted]"
"""What staff's free text reads as once its key is deleted."""


class InvalidMasterKeyError(ValueError):
    """The master key is not base64 of 16, 24 or 32 bytes."""


MASTER_KEY_SIZES = (16, 24, 32)
"""The master key's possible lengths in bytes (an AES key's)."""
MASTER_KEY_FORM = "base64 of 16, 24 or 32 bytes"
"""How a master key is written, as a refusal says it."""


def key_fault(text: str, sizes: range | tuple[int, ...], said: str) -> str | None:
    """Why ``text`` is not a key of one of ``sizes`` bytes written in base64 (``said``, as the message names the form),
    without repeating it (it is a secret); None when it is one. The settings check their keys with it at start
    (:mod:`shared.settings`), and :class:`MasterKey` when it is made."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        return f"is not base64: write it as {said} (openssl rand -base64 32)"
    return None if len(key) in sizes else f"decodes to {len(key)} bytes: write it as {said}"


class MasterKey:
    """The one secret a service is configured with; every other key is derived from it or wrapped by it."""

    def __init__(self, key: bytes) -> None:
        if len(key) not in MASTER_KEY_SIZES:
            raise InvalidMasterKeyError("the master key must be 16, 24 or 32 bytes (base64 encoded)")
        self._key = key

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        """The key written in base64 (a setting, a key file); :class:`InvalidMasterKeyError` saying why it is none."""
        if (why := key_fault(text, MASTER_KEY_SIZES, MASTER_KEY_FORM)) is not None:
            raise InvalidMasterKeyError(f"the master key {why}")
        return cls(base64.b64decode(text.strip(), validate=True))

    def subkey(self, purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(self._key)

    def store_cipher_key(self) -> str:
        """The key of eventsourcing's AESCipher over the whole store, as its settings want it."""
        return base64.b64encode(self.subkey(STORE_PURPOSE)).decode()


# Rows written with a command's events ----------------------------------------------------


@dataclass
class SideWrites:
    """The rows a command's save writes beside its events: the data keys made for it, a document's new entry.

    While a command runs (:func:`writing_with_events`, which ``retried_on_collision``
    opens for each attempt), a new key or entry is kept here, not written: the
    save writes them all with its events (:meth:`shared.store.ServiceApplication.construct_event_store`),
    in the events' transaction when they live in the store's database (as the
    services are wired). A command refused before it saves writes none of them.
    So are the rows it deletes (:attr:`removed`): a re-keyed document's old
    entries and their key, gone with the events or not at all.
    """

    rows: list[tuple[Engine, Table, dict[str, Any]]] = field(default_factory=list)
    keys: dict[UUID, bytes] = field(default_factory=dict)
    """The plain keys made so far, by owner: what :meth:`KeyRing.key_of` reads before they are written."""
    entries: dict[str, UUID] = field(default_factory=dict)
    """The document entries made so far, by digest."""
    fresh: set[UUID] = field(default_factory=set)
    """Owners whose ids this command drew at random (a new person, a new document entry): no key of theirs
    can be stored yet, so :meth:`KeyRing.key_of` does not look for one (see :func:`drawn_at_random`)."""
    removed: list[tuple[Engine, Table, dict[str, Any]]] = field(default_factory=list)
    """Rows to delete with the events, each named by its primary key's values (``{"owner_id": "…"}``)."""

    def add(self, engine: Engine, table: Table, values: dict[str, Any]) -> None:
        self.rows.append((engine, table, values))

    def take(self) -> list[tuple[Engine, Table, dict[str, Any]]]:
        """The rows not written yet (they are written by whoever takes them)."""
        rows, self.rows = self.rows, []
        return rows

    def remove(self, engine: Engine, table: Table, key: dict[str, Any]) -> None:
        self.removed.append((engine, table, key))

    def take_removed(self) -> list[tuple[Engine, Table, dict[str, Any]]]:
        """The rows not deleted yet (they are deleted by whoever takes them)."""
        removed, self.removed = self.removed, []
        return removed


_side_writes: ContextVar[SideWrites | None] = ContextVar("side_writes", default=None)


@contextlib.contextmanager
def writing_with_events() -> Iterator[SideWrites]:
    """Keep the keys and entries made inside the block for the save that writes its events."""
    side = SideWrites()
    token = _side_writes.set(side)
    try:
        yield side
    finally:
        _side_writes.reset(token)


def side_writes() -> SideWrites | None:
    """The rows waiting for the save of the command being run, or None outside a command."""
    return _side_writes.get()


def drawn_at_random(*owner_ids: UUID) -> None:
    """Tell the command's key ring that these owners' ids were just drawn at random (``uuid4``): none has a key yet.

    Their first seal then makes a key without first asking the key table for
    one (a query each: two of a registration's five). Only for ids the
    command itself drew, never for one it was given or found: a stored key
    would be ignored, and the save refused on its row (the library's
    ``IntegrityError``; the command runs again). Outside a command, nothing.
    """
    side = _side_writes.get()
    if side is not None:
        side.fresh.update(owner_ids)


class Base(DeclarativeBase):
    pass


class DataKey(Base):
    """One data key (a person's, an index entry's, a free text's), wrapped under the wrapping subkey."""

    __tablename__ = "personal_data_keys"

    owner_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


KEY_OF = select(DataKey.wrapped).where(DataKey.owner_id == bindparam("owner_id"))


class KeyRing:
    """The data keys, one per owner of sealed fields; deleting one forgets."""

    def __init__(self, engine: Engine, wrapping_key: bytes) -> None:
        """Opens (or makes) the key table in ``engine``'s database; on SQLite its write-ahead log is truncated first
        (:func:`~shared.views.erasure.truncate_log`), in case an erasure before a stop could not truncate it."""
        self.engine = engine
        self._wrapping = AESGCM(wrapping_key)
        create_tables(Base.metadata, engine)
        truncate_log(engine)

    def holds_any(self) -> bool:
        """Whether the table holds any key at all (one row read)."""
        with self.engine.connect() as connection:
            return connection.execute(select(DataKey.owner_id).limit(1)).first() is not None

    def key_of(self, owner_id: UUID) -> bytes | None:
        """The owner's data key, or None once it is forgotten (or never made, or forgotten by the dry run being served)."""
        overlay = dryrun.current()
        if overlay is not None and owner_id in overlay.forgotten:
            return None
        side = side_writes()
        if side is not None:
            if owner_id in side.keys:
                return side.keys[owner_id]
            if owner_id in side.fresh:  # an id the command drew at random: no key stored yet
                return None
        wrapped = read_scalar(self.engine, KEY_OF, {"owner_id": str(owner_id)})  # every sealed field read or written asks
        if wrapped is None:
            return None
        return self._wrapping.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], owner_id.bytes)

    def keys_of(self, owner_ids: Iterable[UUID]) -> dict[UUID, bytes | None]:
        """What :meth:`key_of` gives each owner, read in one query per 500 owners (an aggregate's events, each sealed under its own key)."""
        found: dict[UUID, bytes | None] = {}
        overlay, side = dryrun.current(), side_writes()
        asked: list[UUID] = []
        for owner_id in set(owner_ids):
            if overlay is not None and owner_id in overlay.forgotten:
                found[owner_id] = None
            elif side is not None and owner_id in side.keys:
                found[owner_id] = side.keys[owner_id]
            elif side is not None and owner_id in side.fresh:
                found[owner_id] = None
            else:
                asked.append(owner_id)
        wrapped: dict[str, bytes] = {}
        if not asked:
            return found
        if len(asked) == 1:  # a person's events (one key): the driver's one-row read
            (owner_id,) = asked
            key = read_scalar(self.engine, KEY_OF, {"owner_id": str(owner_id)})
            found[owner_id] = None if key is None else self._wrapping.decrypt(key[:NONCE_BYTES], key[NONCE_BYTES:], owner_id.bytes)
            return found
        with self.engine.connect() as connection:
            for start in range(0, len(asked), 500):
                chunk = [str(owner_id) for owner_id in asked[start:start + 500]]
                wrapped.update({owner: key for owner, key in connection.execute(select(DataKey.owner_id, DataKey.wrapped).where(DataKey.owner_id.in_(chunk)))})
        for owner_id in asked:
            key = wrapped.get(str(owner_id))
            found[owner_id] = None if key is None else self._wrapping.decrypt(key[:NONCE_BYTES], key[NONCE_BYTES:], owner_id.bytes)
        return found

    def key_for_sealing(self, owner_id: UUID) -> bytes:
        """The owner's data key, made and stored the first time something of theirs is sealed."""
        key = self.key_of(owner_id)
        if key is not None:
            return key
        key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        nonce = os.urandom(NONCE_BYTES)
        wrapped = nonce + self._wrapping.encrypt(nonce, key, owner_id.bytes)
        side = side_writes()
        if side is not None:  # written with the command's events
            side.add(self.engine, DataKey.__table__, {"owner_id": str(owner_id), "wrapped": wrapped})
            side.keys[owner_id] = key
            return key
        try:
            with Session(self.engine) as session, session.begin():
                session.add(DataKey(owner_id=str(owner_id), wrapped=wrapped))
        except exc.IntegrityError:  # made at the same moment by another command: use theirs
            return self.key_for_sealing(owner_id)
        return key

    def forget(self, *owner_ids: UUID) -> None:
        """Delete the keys, and the traces of their bytes the database would otherwise keep (:func:`~shared.views.erasure.forget_rows`).

        A dry run (:mod:`shared.dryrun`) forgets nothing: the keys read as gone until it ends.
        """
        overlay = dryrun.current()
        if overlay is not None:
            overlay.forgotten.update(owner_ids)
            return
        ids = [str(owner_id) for owner_id in owner_ids]

        def delete_keys(connection: Connection) -> bool:
            connection.execute(delete(DataKey).where(DataKey.owner_id.in_(ids)))
            return True

        forget_rows(self.engine, DataKey.__tablename__, delete_keys)

    def forget_on_save(self, *owner_ids: UUID) -> None:
        """Delete the keys with the events of the command being run (:class:`SideWrites`), in their transaction: a command
        refused after this, or whose save the store refuses (run again on a collision), has forgotten none. The traces
        of their bytes go as :meth:`forget`'s do, once the events are stored (:mod:`shared.siderows`). Outside a command,
        and in a dry run, as :meth:`forget`."""
        side = side_writes()
        if side is None or dryrun.current() is not None:
            self.forget(*owner_ids)
            return
        for owner_id in owner_ids:
            side.remove(self.engine, DataKey.__table__, {"owner_id": str(owner_id)})


def key_engine(key_url: str, view_engine: Engine) -> Engine:
    """The engine of the key table at ``key_url`` (:meth:`~shared.settings.ServiceSettings.key_url`): ``view_engine`` itself
    when the views share its database (PostgreSQL), else one of its own (the SQLite store's file)."""
    return view_engine if make_url(key_url) == view_engine.url else make_engine(key_url)


MOVED_MARKER = "moved to events.db by a newer version of this service"
"""What a moved table's place in ``views.db`` reads from (a table that does not exist): an older version started
again on this ``var/`` never finishes starting (opening its key table fails naming it, tried again and again), rather than finding no keys (everyone ``[erased]``, every document
new) and acknowledging erasures that delete nothing."""


def move_rows(source: Engine, target: Engine, *tables: Table) -> int:
    """Move every row of ``tables`` from ``source`` into ``target``: the key table and document directory of an older ``var/``.

    Until the key table (and engagement's document directory) moved into the
    store's file, an SQLite service kept them in ``views.db``. At start-up,
    before the service takes a command, each table is moved in two steps,
    each in a transaction holding ``source``'s write lock (two workers
    starting at once: one moves, the other then finds it moved):

    1. the table is renamed ``<name>_moving`` and a view of its name over
       :data:`MOVED_MARKER` put in its place (only the view, on a ``views.db``
       that never had the table: a fresh install), so that from then on an
       older version started again on this ``var/`` cannot start, and so can
       neither read the keys as missing nor erase anyone in the wrong place;
    2. the rows of ``<name>_moving`` are copied into ``target`` (``INSERT OR
       IGNORE``, committed first), then deleted and the table dropped, and
       ``source`` checkpointed as an erasure leaves it
       (:func:`~shared.views.erasure.forget_rows`: overwritten, the write-ahead log
       truncated).

    Killed after step 1, the next start finishes step 2 (the rows copied
    already stay as they are). Nothing to do when ``source`` and ``target``
    are one database (PostgreSQL, or an SQLite URL naming one file for
    both). Returns how many rows were copied (including ones already there).
    SQLite only; errors are SQLAlchemy's.
    """
    if source.url == target.url or source.dialect.name != "sqlite" or target.dialect.name != "sqlite":
        return 0
    copied: list[int] = []
    for table in tables:
        moving = f"{table.name}_moving"
        with source.connect() as old:
            if _kind_of(old, table.name) == "view" and _kind_of(old, moving) is None:  # moved: no lock taken on every start
                continue
        with source.connect() as old:
            old.exec_driver_sql("PRAGMA legacy_alter_table=ON")  # a rename leaves the other marker views unparsed
            try:
                old.exec_driver_sql("BEGIN IMMEDIATE")
                if _kind_of(old, table.name) == "table":
                    old.exec_driver_sql(f'ALTER TABLE "{table.name}" RENAME TO "{moving}"')
                if _kind_of(old, table.name) is None:
                    old.exec_driver_sql(f'CREATE VIEW "{table.name}" AS SELECT * FROM "{MOVED_MARKER}"')
                old.commit()
            finally:
                old.exec_driver_sql("PRAGMA legacy_alter_table=OFF")

        def move(connection: Connection, table: Table = table, moving: str = moving) -> bool:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # source's write lock first, then the read of what to copy
            if _kind_of(connection, moving) != "table":  # another worker moved it meanwhile
                return False
            rows = [dict(row) for row in connection.exec_driver_sql(f'SELECT * FROM "{moving}"').mappings()]
            if rows:
                with target.begin() as into:
                    into.execute(insert(table).prefix_with("OR IGNORE"), rows)
            copied.append(len(rows))
            connection.exec_driver_sql(f'DELETE FROM "{moving}"')
            connection.exec_driver_sql(f'DROP TABLE "{moving}"')
            return True

        forget_rows(source, moving, move)
    return sum(copied)


def _kind_of(connection: Connection, name: str) -> str | None:
    """``table``, ``view`` or None: what ``name`` is in an SQLite database's schema."""
    return connection.exec_driver_sql("SELECT type FROM sqlite_master WHERE name = ?", (name,)).scalar()


# Which fields, under which key ------------------------------------------------------------


def text_key(*parts: object) -> UUID:
    """The id of the key that seals one free text: a meeting's notes (its meeting id), one event of an OSV's history…"""
    return uuid5(NAMESPACE_URL, "urn:osv-platform:free-text:" + "/".join(str(p) for p in parts))


@dataclass(frozen=True)
class Seal:
    """An event's sealed fields, each with what it reads as once forgotten, and whose key seals them.

    A field is a path: ``notes``, or ``action_items.*.description`` for a
    field of every item of a list. ``key_of`` gives the key's owner from the
    event's unsealed fields; by default, the aggregate the event belongs to.
    """

    fields: Mapping[str, Any]
    key_of: Callable[[Any], UUID] | None = None
    paths: tuple[tuple[str, tuple[str, ...]], ...] = field(init=False, repr=False, compare=False)
    """Each field's path and its parts, split once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple((path, tuple(path.split("."))) for path in self.fields))

    def owner(self, domain_event: Any) -> UUID:
        return self.key_of(domain_event) if self.key_of is not None else domain_event.originator_id


def free_text(*paths: str, key_of: Callable[[Any], UUID] | None = None) -> Seal:
    """A seal for staff's free text: each path reads :data:`REDACTED_TEXT` once its key is deleted."""
    return Seal({path: REDACTED_TEXT for path in paths}, key_of)


def withheld(data: Mapping[str, Any], seal: Seal | None, shown_as: str) -> dict[str, Any]:
    """A copy of an event's ``data`` with each free text its ``seal`` names (not null) reading ``shown_as``.

    For a reader who may not read staff's words (:attr:`shared.roles.Caller.may_read_staff_text`): the event and its
    facts stay, the words go. A text already forgotten reads :data:`REDACTED_TEXT` to them too: it holds no words, and
    an auditor sees that the words were destroyed. ``data`` itself is left as it was."""
    copied = copy.deepcopy(dict(data))
    if seal is None:
        return copied
    for _, parts in seal.paths:
        for container, key, _name in _places(copied, list(parts), ""):
            if container[key] is not None and container[key] != REDACTED_TEXT:
                container[key] = shown_as
    return copied


def _places(node: Any, parts: list[str], where: str) -> Iterator[tuple[Any, Any, str]]:
    """``(container, key, name)`` of each value a path reaches: ``("action_items", 0, "description")``…"""
    head, rest = parts[0], parts[1:]
    if head == "*":
        keys: list[Any] = list(range(len(node))) if isinstance(node, list) else []
    else:
        keys = [head] if isinstance(node, dict) and head in node else []
    for key in keys:
        name = f"{where}.{key}" if where else str(key)
        if rest:
            yield from _places(node[key], rest, name)
        else:
            yield node, key, name


SEALED = "sealed"


class SealingMapper(Mapper[UUID]):
    """The library's mapper, sealing the fields its :class:`Seal` names with their owner's data key.

    Each sealed value is AES-GCM encrypted on its own, bound to its owner and
    its field's path; the whole event may then be encrypted again by the
    store's cipher. Reading back, a value whose key is gone reads as its
    redacted value, so aggregates still load, and the relay, ``/events`` and
    rebuilds still run. A null stays null: there is nothing to forget.
    """

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        *,
        keys: KeyRing,
        sealed_fields: Mapping[type, Seal | Mapping[str, Any]],
    ) -> None:
        super().__init__(transcoder, compressor, cipher)
        self.keys = keys
        self.seals = {kind: seal if isinstance(seal, Seal) else Seal(seal) for kind, seal in sealed_fields.items()}

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        seal = self.seals.get(type(domain_event))
        if seal is None:
            return super().to_stored_event(domain_event)
        owner_id = seal.owner(domain_event)
        aead = AESGCM(self.keys.key_for_sealing(owner_id))
        owner = f"{owner_id}/"
        state = dict(vars(domain_event))
        for path, parts in seal.paths:
            head = state.get(parts[0])
            if head is None:  # a null stays null: nothing to forget
                continue
            if len(parts) == 1:  # a plain field (a name, a document number): sealed in place, nothing to copy
                places: Iterable[tuple[Any, Any, str]] = ((state, path, path),)
            else:
                state[parts[0]] = copy.deepcopy(head)  # the domain event itself stays as it was
                places = _places(state, list(parts), "")
            for container, key, name in places:
                if container[key] is None:
                    continue
                nonce = os.urandom(NONCE_BYTES)
                sealed = aead.encrypt(nonce, self.transcoder.encode(container[key]), (owner + name).encode())
                container[key] = {SEALED: base64.b64encode(nonce + sealed).decode()}
        stand_in = object.__new__(type(domain_event))
        object.__setattr__(stand_in, "__dict__", state)
        return super().to_stored_event(stand_in)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        seal = self.seals.get(type(domain_event))
        if seal is None:
            return domain_event
        owner_id = seal.owner(domain_event)
        return self._unsealed(domain_event, seal, owner_id, self.keys.key_of(owner_id))

    def to_domain_events(self, stored_events: Iterable[StoredEvent]) -> list[DomainEventProtocol[UUID]]:
        """:meth:`to_domain_event` of each, with the keys they need read in one query (:meth:`KeyRing.keys_of`), not one each."""
        domain_events = [super(SealingMapper, self).to_domain_event(stored_event) for stored_event in stored_events]
        owners = {}
        for index, domain_event in enumerate(domain_events):
            seal = self.seals.get(type(domain_event))
            if seal is not None:
                owners[index] = (seal, seal.owner(domain_event))
        if not owners:
            return domain_events
        keys = self.keys.keys_of(owner_id for _, owner_id in owners.values())
        for index, (seal, owner_id) in owners.items():
            domain_events[index] = self._unsealed(domain_events[index], seal, owner_id, keys[owner_id])
        return domain_events

    def forgotten_in(self, stored_event: StoredEvent) -> bool:
        """Whether the event held a sealed value whose key is gone (a person erased, a text redacted): it reads as its
        redacted value now. Who asks must not be told what it held, nor whether a guess of it is right."""
        domain_event = super().to_domain_event(stored_event)
        seal = self.seals.get(type(domain_event))
        if seal is None:
            return False
        owner_id = seal.owner(domain_event)
        state = vars(domain_event)
        held = [
            (name, container[place]) for _, parts in seal.paths for container, place, name in _places(state, list(parts), "")
            if isinstance(container[place], dict) and SEALED in container[place]
        ]
        if not held:
            return False
        key = self.keys.key_of(owner_id)
        if key is None:
            return True
        aead = AESGCM(key)
        for name, value in held:  # a key since replaced (a document registered again) no longer opens it either
            sealed = base64.b64decode(value[SEALED])
            try:
                aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _bound_to(owner_id, name))
            except InvalidTag:
                return True
        return False

    def _unsealed(self, domain_event: Any, seal: Seal, owner_id: UUID, key: bytes | None) -> Any:
        state = vars(domain_event)
        aead = AESGCM(key) if key is not None else None
        for path, parts in seal.paths:
            redacted = seal.fields[path]
            for container, place, name in _places(state, list(parts), ""):
                container[place] = self._unseal(aead, owner_id, name, container[place], redacted)
        return domain_event

    def _unseal(self, aead: AESGCM | None, owner_id: UUID, name: str, value: Any, redacted: Any) -> Any:
        if not (isinstance(value, dict) and SEALED in value):
            return value
        if aead is None:
            return redacted
        sealed = base64.b64decode(value[SEALED])
        try:
            plain = aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _bound_to(owner_id, name))
        except InvalidTag:  # sealed under a key since forgotten and replaced (a document registered again)
            return redacted
        return self.transcoder.decode(plain)


def _bound_to(owner_id: UUID, field: str) -> bytes:
    return f"{owner_id}/{field}".encode()
