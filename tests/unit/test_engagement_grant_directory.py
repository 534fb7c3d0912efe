"""Engagement's view of funding's grants takes a grant's withdrawal (grant withdrawal in engagement, after tester 177 F1).

Funding withdraws a grant entered in error (``GrantWithdrawn``); engagement's directory keeps the day, refuses new records
naming the grant (409 ``grant_not_withdrawn``), ends the same whatever order the events arrive in, and a directory made
before it kept withdrawals reads them again once from funding's feed. The view on an in-memory SQLite database: no file,
no network.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from services.engagement.views.grants import GrantDirectory, GrantWithdrawnError, KnownGrant
from shared.views import make_engine


def directory() -> GrantDirectory:
    return GrantDirectory(make_engine("sqlite://"))


def funding_event(position: int, event_type: str, previous: int | None = None, **data: Any) -> dict[str, Any]:
    event = {"id": f"funding:{position}", "source": "urn:osv-platform:funding", "type": event_type, "position": position, "data": data}
    return event if previous is None else {**event, "previousposition": previous}


def a_grant_and_its_withdrawal(grant_id: str, osv_id: str, first: int = 1) -> list[dict[str, Any]]:
    said = {"grant_id": grant_id, "osv_id": osv_id, "kind": "seed_fund", "amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20"}
    return [
        funding_event(first, "FundGranted", **said, support="first_time", proposal_id=None, round_id=None, occurred_on="2021-10-20"),
        funding_event(
            first + 1, "GrantWithdrawn", **said, proposal_id=None, round_id=None, reason="duplicate", withdrawn_on="2021-12-01",
            occurred_on="2021-12-01", previous=first,
        ),
    ]


def rows(view: GrantDirectory) -> list[tuple[Any, ...]]:
    with view.engine.connect() as connection:
        table = KnownGrant.__table__
        return [tuple(row) for row in connection.execute(select(table).order_by(table.c.grant_id))]


def test_a_withdrawn_grant_is_kept_with_its_day_and_takes_no_new_record() -> None:
    view = directory()
    grant_id, osv_id = str(uuid4()), str(uuid4())
    view.apply(a_grant_and_its_withdrawal(grant_id, osv_id))

    known = view.get(UUID(grant_id))
    assert known is not None and known.withdrawn_on == date(2021, 12, 1) and known.osv_id == osv_id
    with pytest.raises(GrantWithdrawnError) as refused:
        view.require_open(UUID(grant_id), on=date(2021, 11, 5), dated="held_on")  # dated before the withdrawal all the same
    assert (refused.value.field, refused.value.rule) == ("grant_id", "grant_not_withdrawn")
    assert "2021-12-01" in refused.value.message and "stays as recorded" in refused.value.message


def test_a_withdrawal_arriving_before_its_grant_leaves_the_row_as_in_order_and_refused() -> None:
    grant_id, osv_id = str(uuid4()), str(uuid4())
    in_order, reversed_ = directory(), directory()
    events = a_grant_and_its_withdrawal(grant_id, osv_id)
    in_order.apply(events)
    reversed_.apply([events[1]])
    with pytest.raises(GrantWithdrawnError):  # the withdrawal repeats what FundGranted said: known, and refused, at once
        reversed_.require(UUID(grant_id))
    reversed_.apply([events[0]])
    reversed_.apply(events)  # redelivered: applied once
    assert rows(reversed_) == rows(in_order)


def test_a_directory_rebuilt_from_the_log_in_any_order_reaches_the_same_rows() -> None:
    events: list[dict[str, Any]] = []
    for i in range(5):
        grant_id, osv_id = str(uuid4()), str(uuid4())
        pair = a_grant_and_its_withdrawal(grant_id, osv_id, first=len(events) + 1)
        events.extend(pair if i % 2 else pair[:1])  # every other grant withdrawn
    events.append(funding_event(len(events) + 1, "GrantClosed", grant_id=events[0]["data"]["grant_id"], osv_id=events[0]["data"]["osv_id"],
                                outcome="completed", final_report_reference="INF-1", closed_on="2021-12-20", occurred_on="2021-12-20"))
    live = directory()
    for event in events:
        live.apply([event])
    shuffled = events[:]
    random.Random(177).shuffle(shuffled)
    rebuilt = directory()
    rebuilt.apply(shuffled)
    assert rows(rebuilt) == rows(live)
    with live.engine.connect() as connection:  # every other grant withdrawn, by its column (not its place in the row)
        assert connection.execute(select(func.count()).select_from(KnownGrant).where(KnownGrant.withdrawn_on.is_not(None))).scalar() == 2


def test_a_directory_made_before_it_kept_withdrawals_reads_them_again_once_from_fundings_feed() -> None:
    view = directory()
    grant_id, osv_id = str(uuid4()), str(uuid4())
    feed = a_grant_and_its_withdrawal(grant_id, osv_id)
    view.apply(feed)
    # What the version before left: the withdrawal applied (claimed in the ledger) and nothing kept of it, no column.
    with view.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE known_grants DROP COLUMN withdrawn_on")
        connection.exec_driver_sql("DROP TABLE grant_directory_refills")
    upgraded = GrantDirectory(view.engine)  # the next start adds the column: null, until the feed is read again
    assert upgraded.get(UUID(grant_id)).withdrawn_on is None  # type: ignore[union-attr]
    assert upgraded.refill_wanted("funding")

    assert upgraded.refill(feed) == 1
    upgraded.refilled("funding")
    with pytest.raises(GrantWithdrawnError):
        upgraded.require(UUID(grant_id))
    assert not upgraded.refill_wanted("funding")
    assert not GrantDirectory(view.engine).refill_wanted("funding")  # marked: a restart does not read the feed again


def test_a_directory_that_applied_nothing_of_fundings_reads_no_feed_again() -> None:
    view = directory()
    assert not view.refill_wanted("funding")
    view.apply(a_grant_and_its_withdrawal(str(uuid4()), str(uuid4())))
    assert not view.refill_wanted("funding")
