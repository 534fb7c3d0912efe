"""The copy of a kept aggregate a command gets (:func:`shared.kept.copy_kept`): no I/O, the aggregates on their own.

A command changes its copy freely and may fail half-way; what is kept in memory for the next command must not change with
it. The attributes a class names in ``FLAT_COPIED`` are copied without looking at each value, so they must hold only
values that never change: a class that broke that promise is refused when its aggregate is first kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import pytest

from services.engagement.domain.followup import ActionItemDraft, FollowUp, MeetingMode, MeetingTopic
from shared.kept import KeptCache, check_flat_copied, copy_kept

TODAY = date(2025, 6, 15)


def a_follow_up_with_meetings(count: int) -> FollowUp:
    follow_up = FollowUp(osv_id=uuid4())
    for day in range(1, count + 1):
        follow_up.hold_meeting(
            date(2025, 3, day), MeetingMode.IN_PERSON, [MeetingTopic.PROJECT_FOLLOW_UP], [], 4, None,
            [ActionItemDraft("Cotizar pintura", "Tesorería", date(2025, 12, 1))], known_members=(), today=TODAY,
        )
    follow_up.collect_events()
    return follow_up


def test_a_commands_copy_of_a_follow_up_can_gain_meetings_without_the_kept_follow_up_changing() -> None:
    kept = a_follow_up_with_meetings(3)
    check_flat_copied(kept)  # what the cache checks when it first keeps it

    copy = copy_kept(kept)
    copy.hold_meeting(
        date(2025, 3, 20), MeetingMode.VIRTUAL, [MeetingTopic.FINANCES], [], 2, None,
        [ActionItemDraft("Abrir cuenta", "Presidencia", date(2025, 4, 1))], known_members=(), today=TODAY,
    )

    assert len(copy.meetings) == 4 and len(copy.action_items) == 4
    assert len(kept.meetings) == 3 and len(kept.action_items) == 3
    assert all(copy.meetings[m] is kept.meetings[m] for m in kept.meetings)  # the frozen records themselves are shared


@dataclass
class Basket:
    """A record that can change: not to be shared between a kept aggregate and a command's copy."""

    items: list[str]


class Tally:
    FLAT_COPIED = ("entries",)

    def __init__(self, entries: dict[UUID, object]) -> None:
        self.entries = entries
        self.pending_events: list[object] = []


def test_an_aggregate_whose_flat_copied_attribute_holds_a_value_that_can_change_is_refused_when_first_kept() -> None:
    changeable = Tally({uuid4(): "Comas", uuid4(): Basket(["arroz"])})
    cache = KeptCache(10, (Tally,))

    with pytest.raises(TypeError, match=r"Tally\.entries .*Basket\(items=\['arroz'\]\), a value that can change"):
        cache.put("a", changeable)
    with pytest.raises(KeyError):
        cache.get("a")  # not kept

    fine = Tally({uuid4(): "Comas", uuid4(): date(2021, 3, 15)})
    cache.put("b", fine)
    assert cache.get("b") is fine


def test_a_flat_copied_attribute_that_is_no_dict_list_or_set_is_refused() -> None:
    with pytest.raises(TypeError, match=r"Tally\.entries .* holds a tuple, not a dict, list or set"):
        check_flat_copied(Tally(("Comas",)))  # type: ignore[arg-type]
