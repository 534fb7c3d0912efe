"""Personal data that can be forgotten: each person's own key, sealed fields, free text, a keyed document index.

Crypto-shredding (:mod:`shared.sealing`). A person's name, document number,
phone and birth year are sealed (AES-GCM) with that person's own data key
before their event reaches the store, and staff's free text (meeting notes,
action items, assistance notes, an activity's description) with a key of its
own; the data keys are kept wrapped under a subkey of the master key in the
key table, in the event store's own database (written in the events'
transaction). Deleting a key forgets what it sealed everywhere at once (the
event store, its replicas, the stream, exports) without rewriting an
append-only log: the events still load, with the sealed fields redacted.

Three subkeys are derived from the master key (HKDF-SHA256), one per purpose:
wrapping data keys, the cipher over the whole event store (defence in depth),
and the secret mixed into the keys that seal kept answers of idempotent
requests (see ``shared.idempotency``). The document index has a key of its
own, apart from the master key (:class:`DocumentDirectory`).

Nothing here is domain logic: the domain records plain events; the
:class:`SealingMapper` seals and unseals them on the way to and from the store.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Connection, Engine, String, bindparam, case, delete, exc, insert, literal_column, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.engagement.domain.activities import Activity
from services.engagement.domain.documents import DocumentIndex
from services.engagement.domain.followup import FollowUp
from services.engagement.domain.members import REDACTED_NAME, Member
from shared import dryrun
from shared.driversql import read_scalar
from shared.sealing import (
    ANSWERS_PURPOSE,
    KEY_BYTES,
    NONCE_BYTES,
    REDACTED_TEXT,
    STORE_PURPOSE,
    WRAPPING_PURPOSE,
    Base,
    DataKey,
    InvalidMasterKeyError,
    KeyRing,
    MasterKey,
    Seal,
    SealingMapper,
    drawn_at_random,
    free_text,
    side_writes,
    text_key,
)
from shared.views import create_tables
from shared.views.erasure import forget_rows

__all__ = [
    "ANSWERS_PURPOSE",
    "KEY_BYTES",
    "NONCE_BYTES",
    "REDACTED_TEXT",
    "SEALED_FIELDS",
    "STORE_PURPOSE",
    "WRAPPING_PURPOSE",
    "DataKey",
    "DocumentDirectory",
    "DocumentEntry",
    "IndexKeyCheck",
    "InvalidMasterKeyError",
    "KeyRing",
    "MasterKey",
    "SealingMapper",
]

# Finding a document without keeping it ----------------------------------------------


class DocumentEntry(Base):
    """Which document-index entry (a random aggregate id) a document's keyed digest leads to; deleted on erasure."""

    __tablename__ = "document_index_entries"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(36))


class IndexKeyCheck(Base):
    """The document index's key's check value, ``HMAC(index key, KEY_CHECK)``: whether a key given at start is the one
    the index's entries were made with (:meth:`DocumentDirectory.key_confirmed`). It confirms no document."""

    __tablename__ = "document_index_key_check"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    check_value: Mapped[str] = mapped_column(String(64))


KEY_CHECK = b"osv-platform engagement: the document index's key"
"""What the check value is the HMAC of: no document's identity (``TYPE:number``) reads so."""

ENTRY_OF = select(DocumentEntry.entry_id).where(DocumentEntry.digest == bindparam("digest"))

MOST_FORMS = 16
"""The most forms one document is looked up under in one query: every form of a card's, a passport's or a cédula's
number (a CE's 9 digits: 5 to 8; a 6-digit passport's: 10), and of an asylum claim's of 5 characters or more (16 at 5);
a 4-character claim's 17 take two queries. Four took a CE's registration two (py-spy: the lookup was a tenth of it)."""
_FORMS = [bindparam(f"digest_{n}") for n in range(MOST_FORMS)]
ENTRY_OF_ANY = (
    select(DocumentEntry.entry_id)
    .where(DocumentEntry.digest.in_(_FORMS))
    .order_by(case(*((DocumentEntry.digest == form, literal_column(str(n))) for n, form in enumerate(_FORMS))))
)
"""The entry under the first of up to :data:`MOST_FORMS` digests that has one (fewer: the last repeated); the first
row is read (:func:`~shared.driversql.read_scalar`), of at most one a digest."""


class DocumentDirectory:
    """From a document to the id of its index entry, through a keyed HMAC kept in a table that forgets.

    The index entry (a :class:`DocumentIndex` aggregate) has a random id, so
    the event store alone says nothing about any document. The link from a
    document to it is a row keyed by ``HMAC(index key, type:number)`` beside
    the key ring (in the store's database, written in the registration's
    events' transaction); an erasure deletes the row (its bytes overwritten or
    vacuumed), after which nothing, not even the index key and every file
    together, confirms that a guessed document was ever registered. The
    index key is a secret of its own (``ENGAGEMENT_INDEX_KEY``), apart from
    the master key and the store.

    A document may have been indexed by an earlier version under another form
    of its number (a CE, CPP or PTP without its leading zeros, a passport with
    them:
    :func:`~services.engagement.domain.documents.document_identities`). The
    methods take every form, the current one first: they find a row under
    any of them and write one under the first only. Nothing is re-keyed, so
    no start-up step reads anyone's sealed number and no migration state is
    kept: an older row is found (and forgotten) where it is.
    """

    def __init__(self, engine: Engine, key: bytes) -> None:
        self.engine = engine
        self._key = key
        create_tables(Base.metadata, engine)

    def digest(self, identity: str) -> str:
        return hmac.new(self._key, identity.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def holds_entries(engine: Engine) -> bool:
        """Whether the index in ``engine`` (its table made) leads from any document to a person (one row read)."""
        with engine.connect() as connection:
            return connection.execute(select(DocumentEntry.digest).limit(1)).first() is not None

    def key_confirmed(self) -> bool:
        """Whether this directory's key is the one the index's entries were made with, by the check value kept beside
        them (:class:`IndexKeyCheck`); False when it is another and the index holds entries.

        An index with no check value yet (a fresh one, or one an earlier version made: its key is taken for the right
        one), or with no entry (nothing to find again), is given this key's. At start-up, one row read (two the first
        time), so that a restored store given another key refuses to start rather than find no one (tester 245 F2).
        """
        check = hmac.new(self._key, KEY_CHECK, hashlib.sha256).hexdigest()
        for _ in range(2):  # two replicas writing the first check at once: the second reads the first's
            try:
                with self.engine.begin() as connection:
                    stored = connection.execute(select(IndexKeyCheck.check_value)).scalar()
                    if stored is not None and hmac.compare_digest(stored, check):
                        return True
                    if stored is not None and connection.execute(select(DocumentEntry.digest).limit(1)).first() is not None:
                        return False
                    connection.execute(delete(IndexKeyCheck))
                    connection.execute(insert(IndexKeyCheck).values(name="index_key", check_value=check))
                    return True
            except exc.IntegrityError:
                continue
        return False

    def entry_of(self, *identities: str) -> UUID | None:
        """The id of the document's index entry, under the first of ``identities`` that has one; None when no registered
        person holds it (or ever did, unerased). One query, however many forms (up to :data:`MOST_FORMS`)."""
        return self._entry_under([self.digest(identity) for identity in identities])

    def _entry_under(self, digests: list[str]) -> UUID | None:
        """:meth:`entry_of`, given the forms' digests (:meth:`digest`), in the same order."""
        side = side_writes()
        if side is not None:
            made = next((side.entries[digest] for digest in digests if digest in side.entries), None)
            if made is not None:
                return made
        if len(digests) == 1:
            entry_id = read_scalar(self.engine, ENTRY_OF, {"digest": digests[0]})  # on every registration's path
        else:
            entry_id = None
            for start in range(0, len(digests), MOST_FORMS):
                some = digests[start : start + MOST_FORMS]
                some += some[-1:] * (MOST_FORMS - len(some))
                entry_id = read_scalar(self.engine, ENTRY_OF_ANY, {f"digest_{n}": d for n, d in enumerate(some)})
                if entry_id is not None:
                    break
        return UUID(entry_id) if entry_id is not None else None

    def entry_for_claim(self, identity: str, *earlier: str) -> UUID:
        """The id of the document's index entry, made (a random id, under ``identity``) the first time the document is
        registered; found under ``identity`` or any of its ``earlier`` forms otherwise.

        A row left by a command that then failed leads to an entry never
        saved: the next registration opens it. Two registrations of a new
        document at once get one id; the index entry's version decides.
        An entry made here is a new owner of a key (:func:`~shared.sealing.drawn_at_random`)
        and :meth:`made_now` says so.
        """
        digests = [self.digest(form) for form in (identity, *earlier)]  # each form's HMAC once: the lookup's, then the row's
        found = self._entry_under(digests)
        if found is not None:
            return found
        digest = digests[0]
        if dryrun.active():  # a dry run writes nothing, not even the way to an entry
            return uuid4()
        side = side_writes()
        if side is not None:  # written with the command's events, or not at all
            entry_id = side.entries.setdefault(digest, uuid4())
            side.add(self.engine, DocumentEntry.__table__, {"digest": digest, "entry_id": str(entry_id)})
            drawn_at_random(entry_id)
            return entry_id
        try:
            with Session(self.engine) as session, session.begin():
                entry_id = uuid4()
                session.add(DocumentEntry(digest=digest, entry_id=str(entry_id)))
        except exc.IntegrityError:  # made at the same moment by another registration: use theirs
            return self.entry_for_claim(identity, *earlier)
        return entry_id

    @staticmethod
    def made_now(entry_id: UUID) -> bool:
        """Whether the command being run made this entry (a random id no index was ever saved under): nothing to load."""
        side = side_writes()
        return side is not None and entry_id in side.fresh

    def forget(self, *identities: str) -> None:
        """Delete the rows of the document under each of ``identities``, and every trace of them the database would keep
        (:func:`~shared.views.erasure.forget_rows`), in one transaction.

        A dry run forgets nothing.
        """
        if dryrun.active() or not identities:
            return
        digests = [self.digest(identity) for identity in identities]

        def delete_row(connection: Connection) -> bool:
            return bool(connection.execute(delete(DocumentEntry).where(DocumentEntry.digest.in_(digests))).rowcount)

        forget_rows(self.engine, DocumentEntry.__tablename__, delete_row)

    def forget_on_save(self, *identities: str) -> None:
        """Delete the rows of the document under each of ``identities`` with the events of the command being run, in
        their transaction (:meth:`~shared.sealing.KeyRing.forget_on_save`): a command refused after this, or whose save
        the store refuses, has forgotten none (tester 233 F1: a correction refused after its save collided left its
        person found by no number, and registered twice). Outside a command, and in a dry run, as :meth:`forget`."""
        side = side_writes()
        if side is None or dryrun.active():
            self.forget(*identities)
            return
        for identity in identities:
            side.remove(self.engine, DocumentEntry.__table__, {"digest": self.digest(identity)})


# Sealing on the way to the store ------------------------------------------------------

SEALED_FIELDS: Mapping[type, Seal | Mapping[str, Any]] = {
    Member.Registered: {"full_name": REDACTED_NAME, "document_number": None, "phone": None, "birth_year": None},
    # A rectification holds the same fields, sealed the same way, under the same person's key: an erasure forgets both.
    Member.PersonalDataCorrected: {"full_name": REDACTED_NAME, "document_number": None, "phone": None, "birth_year": None},
    DocumentIndex.Opened: {"member_id": None},
    DocumentIndex.Claimed: {"member_id": None},
    # Staff's free text, each under a key of its own so that one can be redacted: a meeting's notes and
    # the actions it agreed (the meeting's key), an assistance note, an activity's description and why
    # it was withdrawn (the activity's text key).
    FollowUp.FollowUpMeetingHeld: free_text(
        "notes", "action_items.*.description", "action_items.*.owner", key_of=lambda e: text_key(e.meeting_id)
    ),
    # Why a meeting was withdrawn, in staff's words: under the meeting's key, forgotten with its notes.
    FollowUp.FollowUpMeetingWithdrawn: free_text("note", key_of=lambda e: text_key(e.meeting_id)),
    FollowUp.TechnicalAssistanceGiven: free_text("note", key_of=lambda e: text_key(e.assistance_id)),
    FollowUp.TechnicalAssistanceWithdrawn: free_text("note", key_of=lambda e: text_key(e.assistance_id)),
    Activity.ActivityReported: free_text("description", key_of=lambda e: text_key(e.originator_id)),
    Activity.ActivityWithdrawn: free_text("reason", key_of=lambda e: text_key(e.originator_id)),
}
"""For each domain event that holds personal data or free text: its sealed fields, what each reads as once
forgotten, and whose key seals them (the person's, the index entry's, or the free text's own)."""
