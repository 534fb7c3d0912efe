"""Registry's domain: staff's words in an OSV's history, forgotten. Pure.

An observation's detail, a rejection's, a loss of contact's and a dissolution's note are staff's words, which may name
people: registry seals each under a key of its event's own (:mod:`services.registry.history`), and a redaction deletes
that key. A note stored before registry sealed them is in clear in its event, where deleting a key forgets nothing: so
the redaction is recorded here (``HistoryTextRedacted``, the version only, no text), and the note at that version reads
``[redacted]`` to every reader from then on. Its words stay in the stored event: the log is append-only.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate


class HistoryRedactions:
    """Redactions of the OSV's history: a mixin of :class:`~.osvs.OSV`, one of its direct bases, so that its event is
    stored as the OSV's other events are (``OSV.HistoryTextRedacted``, private: never published)."""

    redacted_history: frozenset[int] = frozenset()
    """The versions of the OSV's history whose staff's words a redaction forgot (empty for an OSV none was recorded of)."""

    class HistoryTextRedacted(Aggregate.Event):
        """The staff's words in the OSV's event at ``redacted_version`` were forgotten: they read ``[redacted]`` from
        then on, whether sealed or stored in clear. Ids and the version only."""

        redacted_version: int

        def apply(self, aggregate: Any) -> None:
            aggregate.redacted_history = aggregate.redacted_history | {self.redacted_version}

    def redact_history_text(self, version: int) -> bool:
        """Record ``HistoryTextRedacted`` for the event at ``version``; whether it did: a version redacted already records
        nothing (a retry finds it done).

        Taken from any OSV, a dissolved or merged one too: it changes no fact of the organisation, and a dissolution's
        note is on a dissolved OSV. The caller checks that the OSV has an event at ``version`` holding staff's words.
        """
        if version in self.redacted_history:
            return False
        self.trigger_event(self.HistoryTextRedacted, redacted_version=version)  # type: ignore[attr-defined]
        return True
