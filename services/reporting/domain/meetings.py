"""Follow-up meetings in the tally: each counts in the phase it was held, its actions pending until done, and a meeting
withdrawn as recorded by mistake (engagement's ``FollowUpMeetingWithdrawn``) is taken back. Pure: no I/O.

A mixin of :class:`~.tally.Tally`, which counts (``_count``: a fact's change to a counter, in the segment of its day or
of ``day``, in its OSV's district as the merges known place it).
"""

from __future__ import annotations

from datetime import date

from services.reporting.domain.indicators import Fact

MEETINGS, PENDING = "follow_up_meetings/value", "actions_pending_at_phase_end/value"


class FollowUpMeetings:
    """What :class:`~.tally.Tally` does with a meeting, an action done and a meeting withdrawn."""

    # from the tally: _count

    def _meeting(self, fact: Fact) -> None:
        osv = fact.data.get("osv_id")
        self._count(MEETINGS, fact, osv=osv)
        self._count(PENDING, fact, len(fact.data.get("action_items") or []), osv=osv)

    def _action_completed(self, fact: Fact) -> None:
        self._count(PENDING, fact, -1, osv=fact.data.get("osv_id"))

    def _meeting_withdrawn(self, fact: Fact) -> None:
        """Take back a meeting recorded by mistake as if it had never been: no longer counted in the phase of its
        ``held_on``, and its actions as if never agreed: each no longer pending from that day, and one done (before the
        withdrawal) no longer taken off on the day it was done. The withdrawal repeats the meeting's day and its actions'
        dates (engagement refuses a second one, and any completion after it), so nothing is looked up."""
        osv, held_on = fact.data.get("osv_id"), date.fromisoformat(str(fact.data["held_on"]))
        actions = fact.data.get("action_items") or []
        self._count(MEETINGS, fact, -1, osv=osv, day=held_on)
        self._count(PENDING, fact, -len(actions), osv=osv, day=held_on)
        for action in actions:
            if action.get("completed_on"):
                self._count(PENDING, fact, 1, osv=osv, day=date.fromisoformat(str(action["completed_on"])))
