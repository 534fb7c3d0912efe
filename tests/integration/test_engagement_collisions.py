"""Two commands on one OSV at the same moment: the roster's version decides, and the loser tries again.

The application runs on SQLite and PostgreSQL. A fake clock (``FakeToday``) lets another
command be saved in the very middle of one (after it has loaded the OSV's
roster, before it saves), which is exactly what a concurrent request does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from services.engagement.application import Engagement
from services.engagement.bootstrap import bootstrap
from services.engagement.domain.documents import PersonAlreadyRegisteredError
from services.engagement.domain.memberrules import Sex
from services.engagement.domain.roster import OSVRoster
from shared.documents import DocumentType
from shared.store import COMMAND_ATTEMPTS
from tests.support.clients import FakeToday, settings_for

pytestmark = pytest.mark.timeout(120)

OSV_ID = uuid4()


@pytest.fixture
def today() -> FakeToday:
    return FakeToday()


@pytest.fixture
def engagement(database_url: str, tmp_path: Path, today: FakeToday) -> Iterator[Engagement]:
    runtime = bootstrap(settings_for("engagement", tmp_path, database_url), today=today)
    app: Engagement = runtime.make_application(runtime.application_env())
    app.osvs.apply([
        {
            "type": "OSVMapped",
            "source": "urn:osv-platform:registry",
            "position": 1,
            "data": {"osv_id": str(OSV_ID), "district": "Ate", "zone": "Lima Este", "mapped_on": "2021-01-01"},
        }
    ])
    yield app
    app.close()


def register(engagement: Engagement, document_number: str) -> UUID:
    return engagement.register_member(
        OSV_ID, "Persona", DocumentType.CE, document_number, "VE", Sex.F, date(2024, 3, 1), 1990
    )


def test_two_people_joining_one_osv_at_once_are_both_counted(engagement: Engagement, today: FakeToday) -> None:
    # The first call to today() checks the command's dates (the date rule, once per command); the third comes
    # after the first registration has loaded the roster.
    today.meanwhile[3] = lambda: register(engagement, "001000002")

    first = register(engagement, "001000001")

    roster: OSVRoster = engagement.repository.get(OSVRoster.create_id(OSV_ID))
    assert roster.members == {"CE": 2}
    assert {seat.member_id for seat in roster.seats.values()} == {first, engagement.find_member(DocumentType.CE, "001000002").id}
    assert today.calls == 7  # 1 for the date rule, 2 for the first attempt, 2 for the one that got in, 2 for the retry


def test_the_same_person_registered_twice_at_once_is_registered_once(engagement: Engagement, today: FakeToday) -> None:
    winner: list[UUID] = []
    today.meanwhile[3] = lambda: winner.append(register(engagement, "001000003"))

    with pytest.raises(PersonAlreadyRegisteredError) as refused:
        register(engagement, "001000003")

    assert refused.value.member_id == winner[0]
    assert engagement.repository.get(OSVRoster.create_id(OSV_ID)).members == {"CE": 1}


def test_a_command_that_keeps_colliding_gives_up_with_a_conflict(engagement: Engagement, today: FakeToday) -> None:
    from eventsourcing.persistence import IntegrityError

    for attempt in range(COMMAND_ATTEMPTS):
        today.meanwhile[3 + 4 * attempt] = lambda n=attempt: register(engagement, f"00200000{n}")

    with pytest.raises(IntegrityError):
        register(engagement, "002999999")

    assert engagement.repository.get(OSVRoster.create_id(OSV_ID)).members == {"CE": COMMAND_ATTEMPTS}


def test_people_registered_into_one_osv_by_two_workers_are_each_counted_on_the_roster_either_keeps(
    engagement: Engagement, database_url: str, tmp_path: Path, today: FakeToday
) -> None:
    # Two uvicorn workers share one store, and each keeps the OSV's roster in memory between commands: a registration
    # in one counts those the other registered since, and the counts published go up one by one, never repeated.
    runtime = bootstrap(settings_for("engagement", tmp_path, database_url), today=today)
    other: Engagement = runtime.make_application(runtime.application_env())
    try:
        registered = [register(worker, f"00300000{n}") for n, worker in enumerate([engagement, other, engagement, other, other, engagement])]

        roster_id = OSVRoster.create_id(OSV_ID)
        for worker in (engagement, other):
            roster: OSVRoster = worker.repository.get(roster_id)
            assert [seat.member_id for seat in roster.seats.values()] == registered
            assert roster.members == {"CE": 6}
        counted = [e.members for e in engagement.events.get(roster_id) if isinstance(e, OSVRoster.DocumentsCounted)]
        assert counted == [{"CE": n} for n in range(1, 7)]
    finally:
        other.close()
