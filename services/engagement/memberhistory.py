"""A member's history, the auditors' trail of who recorded each fact of a person's record (:mod:`shared.history`): a
mixin of :class:`~services.engagement.application.Engagement` (``self`` is the application: its store, its key ring and
its scope check), kept apart from the commands that record those facts by concern.

Nothing personal is in it, to any reader: the person's name, document number, phone and birth year (the fields
:data:`~services.engagement.personaldata.SEALED_FIELDS` seals under their key) and their document's type (which says
their migration status, shown by ``GET /members/{id}`` to a logged read only) read
:data:`~shared.roles.WITHHELD_TEXT`, the sealed ones :data:`~shared.sealing.REDACTED_TEXT` once the person's key is
deleted. So reading it discloses nothing of the person and is not written to their access log
(:mod:`~services.engagement.domain.accesslog` records the reads that show a name, document number, phone or birth year);
their data is read through ``GET /members/{id}`` (logged) or the DPO's subject-access report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from services.engagement.domain.members import Member
from services.engagement.personaldata import SEALED_FIELDS
from shared.history import RecordedEvent, stored_history
from shared.roles import ALL_LIMA, WITHHELD_TEXT, MunicipalScope
from shared.sealing import REDACTED_TEXT, Seal

if TYPE_CHECKING:
    from shared.sealing import KeyRing


def _sealed(kind: type) -> tuple[str, ...]:
    """The fields of an event of ``kind`` sealed under the person's key."""
    seal = SEALED_FIELDS[kind]
    return tuple(seal.fields if isinstance(seal, Seal) else seal)


UNSEALED_PERSONAL = ("document_type",)
"""The person's data stored unsealed: their document's type (it outlives an erasure in the store, shown by no route after it)."""
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    kind.__name__: (*_sealed(kind), *UNSEALED_PERSONAL) for kind in (Member.Registered, Member.PersonalDataCorrected)
}
"""The person's data in a member's events, by event type: what each registration and correction sealed under their key,
and :data:`UNSEALED_PERSONAL`."""


def without_personal_data(recorded: RecordedEvent, forgotten: bool) -> RecordedEvent:
    """``recorded`` with each personal field (:data:`PERSONAL_FIELDS`) read :data:`~shared.roles.WITHHELD_TEXT`, null or
    not: a null left as it was told an auditor who gave no phone, and who has no document (tester 317 F4); once the
    person is ``forgotten`` (their key deleted), each sealed one :data:`~shared.sealing.REDACTED_TEXT`."""
    fields = PERSONAL_FIELDS.get(recorded.type, ())
    for name in fields:
        if name not in recorded.data:
            continue
        if forgotten and name not in UNSEALED_PERSONAL:
            recorded.data[name] = REDACTED_TEXT
        else:
            recorded.data[name] = WITHHELD_TEXT
    return recorded


class MemberHistory:
    """:class:`~services.engagement.application.Engagement`'s member history (a mixin)."""

    if TYPE_CHECKING:
        keys: KeyRing

        def get_member(self, member_id: UUID, scope: MunicipalScope = ALL_LIMA) -> Member: ...

    def member_history(self, member_id: UUID, scope: MunicipalScope = ALL_LIMA) -> list[RecordedEvent]:
        """The member record's own events as engagement stored them, oldest first (``Registered``, each ``Joined``,
        ``RoleChanged``, ``Left``, ``JoiningDateCorrected``, ``AgeBandCorrected``, ``NationalityCorrected``,
        ``SexCorrected``, ``PersonalDataCorrected``, ``Enrolled``, ``Withdrew``, ``MembershipMerged``, ``MemberMerged``,
        ``DuplicateMergedIn``, ``ErasureBegun``, ``PersonalDataErased``), each with who made the command that recorded it
        (:mod:`shared.actors`).

        404 ``known_member`` as :meth:`get_member` (none, or none of their OSVs nor of the records merged into them in
        ``scope``). The person's data reads ``[withheld]`` to every reader, ``[redacted]`` once erased
        (:func:`without_personal_data`): not a disclosure, so not logged. A survivor's history holds its own events, each
        ``DuplicateMergedIn`` naming a record merged into it (``duplicate_id``), whose events are under its own id."""
        member = self.get_member(member_id, scope)
        forgotten = self.keys.key_of(member.id) is None
        return [without_personal_data(e, forgotten) for e in stored_history(self, member.id, text=False)]

