"""Is an OSV ready to apply to a municipality's RUOS? Pure: documents, counts, accepted types.

The practice's lesson: districts refuse migrants' identity documents. Engagement
publishes, per OSV, how many board members and members hold each document
type (never who); registry compares those counts with what the municipality
accepts, before the OSV applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from services.registry.domain.ruos import RUOSDocument, missing_from
from shared.documents import DocumentType


@dataclass(frozen=True)
class DocumentTally:
    """Engagement's latest count of the identity documents an OSV's people hold, by type code.

    ``members`` counts every active membership (the board included); ``board``
    the presidents and board members.
    """

    counted_on: date
    board: Mapping[str, int]
    members: Mapping[str, int]


def unaccepted(counts: Mapping[str, int], accepted: Iterable[str]) -> int:
    """How many hold a type the municipality does not accept (a code it does not know counts as unaccepted)."""
    taken = {str(t) for t in accepted}
    return sum(n for code, n in counts.items() if code not in taken)


@dataclass(frozen=True)
class UnacceptedCounts:
    board_members: int | None
    members: int | None


def unaccepted_counts(tally: DocumentTally | None, accepted: Iterable[str]) -> UnacceptedCounts:
    """What an application records: None for both when engagement has not counted yet."""
    if tally is None:
        return UnacceptedCounts(None, None)
    accepted = list(accepted)
    return UnacceptedCounts(unaccepted(tally.board, accepted), unaccepted(tally.members, accepted))


@dataclass(frozen=True)
class Readiness:
    municipality_id: str
    prepared_documents: dict[RUOSDocument, date]
    missing_documents: list[RUOSDocument]
    accepted_document_types: list[DocumentType]
    counts_known: bool
    counted_on: date | None
    board_members_total: int | None
    board_members_with_unaccepted_documents: int | None
    members_total: int | None
    members_with_unaccepted_documents: int | None
    board_by_document_type: dict[str, int]
    members_by_document_type: dict[str, int]

    @property
    def ready(self) -> bool:
        """Every document ready and nobody holding a document the municipality refuses; unknown counts are not ready."""
        return (
            self.counts_known
            and not self.missing_documents
            and self.board_members_with_unaccepted_documents == 0
            and self.members_with_unaccepted_documents == 0
        )


def assess(
    municipality_id: str,
    prepared_documents: Mapping[RUOSDocument, date],
    accepted: Iterable[DocumentType],
    tally: DocumentTally | None,
) -> Readiness:
    accepted = list(accepted)
    counts = unaccepted_counts(tally, accepted)
    return Readiness(
        municipality_id=municipality_id,
        prepared_documents=dict(prepared_documents),
        missing_documents=missing_from(prepared_documents),
        accepted_document_types=accepted,
        counts_known=tally is not None,
        counted_on=tally.counted_on if tally else None,
        board_members_total=sum(tally.board.values()) if tally else None,
        board_members_with_unaccepted_documents=counts.board_members,
        members_total=sum(tally.members.values()) if tally else None,
        members_with_unaccepted_documents=counts.members,
        board_by_document_type=dict(tally.board) if tally else {},
        members_by_document_type=dict(tally.members) if tally else {},
    )
