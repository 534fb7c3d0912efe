"""Personal data that can be forgotten: each person's own key, sealed fields, a keyed document index.

Crypto-shredding. A person's name, document number, phone and birth year are
sealed (AES-GCM) with that person's own data key before their event reaches
the store; the data key is kept wrapped under a subkey of the master key in
the key table, beside engagement's views. Deleting the key forgets the person
everywhere at once (the event store, its backups, replicas) without rewriting
an append-only log: the events still load, with the sealed fields redacted.

Three subkeys are derived from the master key (HKDF-SHA256), one per purpose:
wrapping data keys, the cipher over the whole event store (defence in depth),
and the secret mixed into the keys that seal kept answers of idempotent
requests (see ``shared.idempotency``). The document index has a key of its
own, apart from the master key (:class:`DocumentDirectory`).

Nothing here is domain logic: the domain records plain events; the
:class:`SealingMapper` seals and unseals them on the way to and from the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder
from sqlalchemy import Connection, Engine, LargeBinary, String, delete, exc, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.engagement.domain.documents import DocumentIndex
from services.engagement.domain.members import REDACTED_NAME, Member
from shared.views import forget_rows

KEY_BYTES = 32
NONCE_BYTES = 12

WRAPPING_PURPOSE = b"osv-platform engagement: wrap personal data keys"
STORE_PURPOSE = b"osv-platform engagement: event store cipher"
ANSWERS_PURPOSE = b"osv-platform engagement: idempotent answers"


class InvalidMasterKeyError(ValueError):
    """The master key is not base64 of 16, 24 or 32 bytes."""


class MasterKey:
    """The one secret engagement is configured with; every other key is derived from it or wrapped by it."""

    def __init__(self, key: bytes) -> None:
        if len(key) not in (16, 24, 32):
            raise InvalidMasterKeyError("the master key must be 16, 24 or 32 bytes (base64 encoded)")
        self._key = key

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        try:
            return cls(base64.b64decode(text.strip(), validate=True))
        except binascii.Error:
            raise InvalidMasterKeyError("the master key must be base64 encoded") from None

    def subkey(self, purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(self._key)

    def store_cipher_key(self) -> str:
        """The key of eventsourcing's AESCipher over the whole store, as its settings want it."""
        return base64.b64encode(self.subkey(STORE_PURPOSE)).decode()


# The key table -------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class DataKey(Base):
    """One person's (or one index entry's) data key, wrapped under the wrapping subkey."""

    __tablename__ = "personal_data_keys"

    owner_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


class KeyRing:
    """The data keys, one per aggregate whose events hold personal data; deleting one forgets."""

    def __init__(self, engine: Engine, wrapping_key: bytes) -> None:
        self.engine = engine
        self._wrapping = AESGCM(wrapping_key)
        Base.metadata.create_all(engine)

    def key_of(self, owner_id: UUID) -> bytes | None:
        """The owner's data key, or None once it is forgotten (or never made)."""
        with Session(self.engine) as session:
            wrapped = session.scalar(select(DataKey.wrapped).where(DataKey.owner_id == str(owner_id)))
        if wrapped is None:
            return None
        return self._wrapping.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], owner_id.bytes)

    def key_for_sealing(self, owner_id: UUID) -> bytes:
        """The owner's data key, made and stored the first time something of theirs is sealed."""
        key = self.key_of(owner_id)
        if key is not None:
            return key
        key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        nonce = os.urandom(NONCE_BYTES)
        wrapped = nonce + self._wrapping.encrypt(nonce, key, owner_id.bytes)
        try:
            with Session(self.engine) as session, session.begin():
                session.add(DataKey(owner_id=str(owner_id), wrapped=wrapped))
        except exc.IntegrityError:  # made at the same moment by another command: use theirs
            return self.key_for_sealing(owner_id)
        return key

    def forget(self, *owner_ids: UUID) -> None:
        """Delete the keys, and the traces of their bytes the database would otherwise keep (:func:`~shared.views.forget_rows`)."""
        ids = [str(owner_id) for owner_id in owner_ids]

        def delete_keys(connection: Connection) -> bool:
            connection.execute(delete(DataKey).where(DataKey.owner_id.in_(ids)))
            return True

        forget_rows(self.engine, DataKey.__tablename__, delete_keys)


# Finding a document without keeping it ----------------------------------------------


class DocumentEntry(Base):
    """Which document-index entry (a random aggregate id) a document's keyed digest leads to; deleted on erasure."""

    __tablename__ = "document_index_entries"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(36))


class DocumentDirectory:
    """From a document to the id of its index entry, through a keyed HMAC kept in a table that forgets.

    The index entry (a :class:`DocumentIndex` aggregate) has a random id, so
    the event store alone says nothing about any document. The link from a
    document to it is a row keyed by ``HMAC(index key, type:number)`` beside
    the key ring; an erasure deletes the row (its bytes overwritten or
    vacuumed), after which nothing, not even the index key and every file
    together, confirms that a guessed document was ever registered. The
    index key is a secret of its own (``ENGAGEMENT_INDEX_KEY``), apart from
    the master key and the store.
    """

    def __init__(self, engine: Engine, key: bytes) -> None:
        self.engine = engine
        self._key = key
        Base.metadata.create_all(engine)

    def digest(self, identity: str) -> str:
        return hmac.new(self._key, identity.encode(), hashlib.sha256).hexdigest()

    def entry_of(self, identity: str) -> UUID | None:
        """The id of the document's index entry, or None when no registered person holds it (or ever did, unerased)."""
        with Session(self.engine) as session:
            entry_id = session.scalar(select(DocumentEntry.entry_id).where(DocumentEntry.digest == self.digest(identity)))
        return UUID(entry_id) if entry_id is not None else None

    def entry_for_claim(self, identity: str) -> UUID:
        """The id of the document's index entry, made (a random id) the first time the document is registered.

        A row left by a command that then failed leads to an entry never
        saved: the next registration opens it. Two registrations of a new
        document at once get one id; the index entry's version decides.
        """
        found = self.entry_of(identity)
        if found is not None:
            return found
        try:
            with Session(self.engine) as session, session.begin():
                entry_id = uuid4()
                session.add(DocumentEntry(digest=self.digest(identity), entry_id=str(entry_id)))
        except exc.IntegrityError:  # made at the same moment by another registration: use theirs
            return self.entry_for_claim(identity)
        return entry_id

    def forget(self, identity: str) -> None:
        """Delete the document's row and every trace of it the database would keep (:func:`~shared.views.forget_rows`)."""
        digest = self.digest(identity)

        def delete_row(connection: Connection) -> bool:
            return bool(connection.execute(delete(DocumentEntry).where(DocumentEntry.digest == digest)).rowcount)

        forget_rows(self.engine, DocumentEntry.__tablename__, delete_row)


# Sealing on the way to the store ------------------------------------------------------

SEALED_FIELDS: Mapping[type, Mapping[str, Any]] = {
    Member.Registered: {"full_name": REDACTED_NAME, "document_number": None, "phone": None, "birth_year": None},
    DocumentIndex.Opened: {"member_id": None},
    DocumentIndex.Claimed: {"member_id": None},
}
"""For each domain event that holds personal data: its sealed fields, and what each reads as once forgotten."""

SEALED = "sealed"


class SealingMapper(Mapper[UUID]):
    """The library's mapper, sealing personal fields with the originator's data key.

    Each sealed field is AES-GCM encrypted on its own, bound to the aggregate and
    the field's name; the whole event is then encrypted again by the store's
    cipher. Reading back, a field whose key is gone reads as its redacted value,
    so aggregates still load, and the relay, ``/events`` and rebuilds still run.
    """

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        *,
        keys: KeyRing,
        sealed_fields: Mapping[type, Mapping[str, Any]] = SEALED_FIELDS,
    ) -> None:
        super().__init__(transcoder, compressor, cipher)
        self.keys = keys
        self.sealed_fields = sealed_fields

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        fields = self.sealed_fields.get(type(domain_event))
        if not fields:
            return super().to_stored_event(domain_event)
        owner_id = domain_event.originator_id
        aead = AESGCM(self.keys.key_for_sealing(owner_id))
        state = dict(vars(domain_event))
        for name in fields:
            nonce = os.urandom(NONCE_BYTES)
            sealed = aead.encrypt(nonce, self.transcoder.encode(state[name]), _bound_to(owner_id, name))
            state[name] = {SEALED: base64.b64encode(nonce + sealed).decode()}
        stand_in = object.__new__(type(domain_event))
        object.__setattr__(stand_in, "__dict__", state)
        return super().to_stored_event(stand_in)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        fields = self.sealed_fields.get(type(domain_event))
        if not fields:
            return domain_event
        owner_id = domain_event.originator_id
        key = self.keys.key_of(owner_id)
        state = vars(domain_event)
        for name, redacted in fields.items():
            state[name] = self._unseal(key, owner_id, name, state[name], redacted)
        return domain_event

    def _unseal(self, key: bytes | None, owner_id: UUID, name: str, value: Any, redacted: Any) -> Any:
        if not (isinstance(value, dict) and SEALED in value):
            return value
        if key is None:
            return redacted
        sealed = base64.b64decode(value[SEALED])
        try:
            plain = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _bound_to(owner_id, name))
        except InvalidTag:  # sealed under a key since forgotten and replaced (a document registered again)
            return redacted
        return self.transcoder.decode(plain)


def _bound_to(owner_id: UUID, field: str) -> bytes:
    return f"{owner_id}/{field}".encode()
