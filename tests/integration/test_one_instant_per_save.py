"""The events of one save are recorded at one instant, on an SQLite file and on PostgreSQL.

A registration stores the person, the OSV's roster and the membership's events in one transaction. Reporting cuts its
``as_of`` reports by the instant each event was recorded: events stamped microseconds apart, as the library makes
them, let a cut fall between them and show a registration half made. So every event of a save carries one instant,
and the aggregates the process keeps after the save are the ones a reload from the store gives.
"""

from __future__ import annotations

from pathlib import Path

from services.engagement.domain.roster import OSVRoster
from tests.integration.test_kept_aggregates import engagement_on, mapped_osv
from tests.integration.test_registration_in_one_save import register


def test_the_events_of_one_save_share_one_instant_and_what_is_kept_after_it_equals_what_is_read_back(
    database_url: str, tmp_path: Path
) -> None:
    engagement, another_process = engagement_on(database_url, tmp_path), engagement_on(database_url, tmp_path)
    try:
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        roster_id = OSVRoster.create_id(osv.id)

        # the first registration creates the roster, the second adds to it: each a save of several events
        for number in ("001234567", "002345678"):
            head = engagement.log_head()
            member_id = register(engagement, osv.id, number)
            saved = [engagement.decode(n) for n in engagement.log_after(head, 100)]
            assert len(saved) >= 3, [type(e).__qualname__ for e in saved]
            assert len({e.timestamp for e in saved}) == 1, [(type(e).__qualname__, e.timestamp) for e in saved]
            instant = saved[0].timestamp

            kept, read_back = engagement.repository.get(roster_id), another_process.repository.get(roster_id)
            assert kept == read_back  # its version, created_on, modified_on and state
            assert kept.modified_on == instant
            member = engagement.get_member(member_id)
            assert member.created_on == member.modified_on == instant == another_process.get_member(member_id).modified_on
        assert kept.created_on < kept.modified_on  # created by the first registration, kept from it
    finally:
        engagement.close()
        another_process.close()
