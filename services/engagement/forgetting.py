"""Forgetting a person: an erasure, and the erasures made again after a restore (the :class:`Engagement` application's).

Kept apart from :mod:`services.engagement.application` by concern: what an erasure deletes (kept answers, the
document's entry, the person's key and their entry's) before it is recorded, in one place for both ways in.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.utils import get_topic

from services.engagement.domain.documents import DocumentIndex
from services.engagement.domain.members import Member
from shared.errors import DateInFutureError, UnavailableError
from shared.store import retried_on_collision
from shared.streamahead import despite_stream_ahead

ERASURES_UNCHECKED_RETRY_AFTER_SECONDS = 5
"""``Retry-After`` (seconds) of :class:`ErasuresNotCheckedError`: the check takes a moment once NATS answers."""


class ErasuresNotCheckedError(UnavailableError):
    """503 ``erasures_not_checked``: personal data is not read before the stream's erasures are checked against the store."""

    retry_after = ERASURES_UNCHECKED_RETRY_AFTER_SECONDS
    extensions = {"rule": "erasures_not_checked"}

    def __init__(self) -> None:
        super().__init__(
            "Personal data is read once engagement has checked the erasures in its stream against its store since it "
            "started (a store put back from a backup older than an erasure would show that person in clear); NATS has "
            "not answered yet. Masked reads and commands are served meanwhile; try again after Retry-After."
        )


class Forgetting:
    """:class:`~services.engagement.application.Engagement`'s erasures (a mixin: ``self`` is the application)."""

    erasures_checked: threading.Event
    """Set once this process has checked its stream's erasures against the store (:meth:`erase_again`); made in ``__init__``."""
    keys_at_start: bool
    """Whether the store held any data key when this process opened it (set in ``__init__``): a fresh store has nobody to erase again."""

    TAKEN_WHILE_BEHIND: ClassVar[frozenset[str]] = frozenset({get_topic(Member.PersonalDataErased), get_topic(DocumentIndex.Released)})
    """What :meth:`erase_again` saves while the store is behind its stream: the erasure and its document's entry released."""

    def forgotten_among(self, saved: list[dict[str, Any]]) -> bool:
        """Whether a keyed request saved a person whose erasure has begun, or events whose sealed data is forgotten since
        (:meth:`~shared.idempotency.records.KeyedRequestRecords.forgotten_among`: an erased person's registration or correction, not
        their role's change, which held none): the key's record outlives them, and comparing a request with it would
        confirm a guess of their name or document (tester 33, F14)."""
        for aggregate in saved:
            if aggregate.get("kind") == Member.__name__:
                member = self.find(UUID(str(aggregate["id"])), Member)  # type: ignore[attr-defined]
                if member is None or (member.erased_on is None and member.erasure_begun_on is not None):
                    return True  # their key not deleted yet: what they are is being forgotten
        return super().forgotten_among(saved)  # type: ignore[misc]  # what the request's own events sealed, its key gone

    @retried_on_collision
    def erase_personal_data(self, member_id: UUID, erased_on: date) -> Member:
        """Forget who the person is: kept answers about them, their document's entry and their key go first, then the erasure is recorded.

        Its beginning is saved first (:meth:`Member.begin_erasure`): no
        correction of the person is saved past it, and one saved before it is
        read before the key goes. Asked again, the answers and the key are
        deleted again (in case an earlier attempt stopped between the steps)
        before the domain refuses a second erasure. While the store is behind its stream, 503
        ``store_behind_stream`` before anything is deleted: its key went, and
        the erasure was never recorded nor told to partners.
        """
        member = self.get_member(member_id)
        self.check_erased_by_today(erased_on)
        member.check_erasure_date(erased_on)  # a refused erasure deletes nothing
        self.refuse_while_behind()  # nor one the store would refuse to record (tester 28b, H1)
        named_up_to = member.version  # the answers kept about the person as they stood before this erasure
        if member.erased_on is None and member.erasure_begun_on is None:
            # The person's next version, taken before anything is deleted: a correction saved meanwhile (a new document
            # claimed) makes this save fail, and asked again the erasure reads it while the key is still there; one not
            # saved yet fails to save (tester 30b, H1: a corrected document stayed in the index of an erased person).
            member.begin_erasure(erased_on)
            self.save(member)
        index = self._forget(member, named_up_to)
        self._record_erasure(member, index, erased_on)
        return member

    def check_erased_by_today(self, erased_on: date) -> None:
        """422 ``not_in_future`` for an erasure dated after today in Lima, with no day's margin: an erasure is done now,
        dated the day it was asked for or today, and a day to come (tester 304 F5: tomorrow's, taken within the margin
        other dates have, went to partners in ``PersonalDataErased`` dated ahead) is a slip of the keyboard."""
        today = self.today()
        if erased_on > today:
            raise DateInFutureError("erased_on", erased_on, today)

    def erase_again(self, erased: Mapping[UUID, date]) -> int:
        """Erase again those of ``erased`` (member id: the date they were erased on) whose key the store still holds;
        how many that was (0 at once, in one query, when none).

        For a store restored from a backup older than their erasures, told
        by the ``PersonalDataErased`` tombstones of the service's stream
        (:mod:`services.engagement.erasures`). Each is forgotten as
        :meth:`erase_personal_data` forgets (kept answers, their document's
        entry, their key and their entry's), and the erasure is recorded again
        when the store lacks it, dated as the tombstone says (no earlier than
        their first joining the store knows of): they read ``[erased]``, their
        document is nobody's, and a later erasure request is a 409, as if
        the store had never lost it. A person whose key is gone is left as
        they are (erased, or an erasure cut short, which asking again finishes).

        Taken while the store is behind its stream, as such a store always is
        (the tombstones are past its head), though commands are refused then
        (:func:`~shared.streamahead.despite_stream_ahead`): the person's data does not
        wait for an operator. ``osv-restore accept-tail`` publishes the
        erasure past the stream's tail; a newer backup put back loses it, and
        it is made again at that start.
        """
        held = [member_id for member_id, key in self.keys.keys_of(erased).items() if key is not None]
        with despite_stream_ahead():  # a restored store is behind its stream, whose tombstones these are
            for member_id in held:
                self._erase_again(member_id, erased[member_id])
        self.erasures_checked.set()
        return len(held)

    def hold_personal_data(self) -> None:
        """503 ``erasures_not_checked`` (:class:`ErasuresNotCheckedError`) for a read of personal data or a lookup by
        document, until this process has checked its stream's erasures against the store (:meth:`erase_again`, at
        each start once NATS answers), if the store held any data key when the process opened it.

        A store put back from a backup older than an erasure holds the person's key again: started while NATS is
        away, it would show them in clear until the tombstones can be read (tester 29b, M3). A store that held no
        key at start has nobody a tombstone could name (a new programme, or tests run without NATS). A few
        milliseconds after each start with NATS up; for as long as NATS stays away otherwise.
        """
        if self._personal_data_held():
            raise ErasuresNotCheckedError

    def _personal_data_held(self) -> bool:
        """Whether this process still holds personal data back: its store held a key at start, its erasures unchecked."""
        return self.keys_at_start and not self.erasures_checked.is_set()

    def held_back(self) -> list[str]:
        """``/health``'s ``held``: reads of personal data, while :meth:`hold_personal_data` refuses them."""
        if not self._personal_data_held():
            return []
        return ["reads of personal data and lookups by document (503 erasures_not_checked): the erasures in the stream "
                "are not checked against the store yet since the start (NATS has not answered)"]

    @retried_on_collision
    def _erase_again(self, member_id: UUID, erased_on: date) -> None:
        member = self.get_member(member_id)
        index = self._forget(member)  # whatever the store says: its key, and what it leads to, go
        if member.erased_on is None:
            first_joined = min(m.joined_on for m in member.memberships.values())
            self._record_erasure(member, index, max(erased_on, first_joined))

    def _forget(self, member: Member, named_up_to: int | None = None) -> DocumentIndex | None:
        """What an erasure deletes before it is recorded: kept answers about the person (as they stood up to version
        ``named_up_to``, the member's own by default: the erasure's own answer, past its beginning, is kept), their
        document's entry, their key and their index entry's key; the index entry (None without one) comes back, to be released."""
        index, identities = self._document_index_of(member)  # read while the person's key is still there
        if self.answers is not None:
            self.answers.forget(member.id, up_to_version=member.version if named_up_to is None else named_up_to)
        self.documents.forget(*identities)  # the document now leads nowhere
        self.keys.forget(member.id, *([index.id] if index is not None else []))
        return index

    def _record_erasure(self, member: Member, index: DocumentIndex | None, erased_on: date) -> None:
        """Record the erasure (a ``PersonalDataErased`` per OSV), its entry released, once :meth:`_forget` has run."""
        member.erase(erased_on)
        if index is not None and member.holds_entry(index.member_id):  # its own, or led to the member it was merged into
            index.release()
        self.save(member, index)
