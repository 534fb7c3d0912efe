"""The stream's consumer and the feed's follower applying one event at once: the loser skips it at once, no error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Integer, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.reporting.views.readmodel import ReadModel
from shared.settings import sqlalchemy_url
from shared.views import Ledger, View, make_engine


class Base(DeclarativeBase):
    pass


class Applied(Base):
    __tablename__ = "race_applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(Integer)


LEDGER = Ledger(Base, "race_view")


class RaceView(View):
    name = "race-view"
    sources = ("registry",)

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        session.add(Applied(position=cloudevent["position"]))


def mapped(position: int) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"registry:{position}",
        "source": "urn:osv-platform:registry",
        "type": "OSVMapped",
        "subject": f"osv-{position}",
        "time": "2021-03-01T12:00:00Z",
        "position": position,
        "previousposition": position - 1,
        "data": {"osv_id": f"osv-{position}", "district": "150132", "occurred_on": "2021-03-01"},
    }


def losing_the_race(monkeypatch: pytest.MonkeyPatch, consumer: View, follower: View) -> list[int]:
    """Make the follower apply ``mapped(2)`` (and commit) once, after ``consumer``'s claim looked and before it records:
    the list gets what the follower's apply returned."""
    looked = Ledger._applied_among
    raced: list[int] = []

    def look_then_lose_the_race(self: Ledger, session: Session, source: str, positions: Any) -> set[int]:
        done = looked(self, session, source, positions)
        if session.get_bind() is consumer.engine and not raced:
            raced.append(follower.apply([mapped(2)]))  # committed after the consumer looked, before it records
        return done

    monkeypatch.setattr(Ledger, "_applied_among", look_then_lose_the_race)
    return raced


def test_an_event_applied_by_another_transaction_between_the_claims_look_and_its_record_is_skipped(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI logged `IntegrityError: UNIQUE constraint failed: osv_directory_applied...` from engagement's consumer: the
    follower had applied the event from registry's feed as the stream delivered it. The consumer then held its batch
    a second (and the directory with it) before the retry skipped it. Now the apply itself tries again at once."""
    consumer, follower = RaceView(make_engine(database_url), LEDGER), RaceView(make_engine(database_url), LEDGER)
    Base.metadata.create_all(consumer.engine)
    consumer.apply([mapped(1)])
    raced = losing_the_race(monkeypatch, consumer, follower)

    assert consumer.apply([mapped(2), mapped(3)]) == 1
    assert raced == [1]
    with Session(consumer.engine) as session:
        assert sorted(session.scalars(select(Applied.position))) == [1, 2, 3]


def test_reportings_read_model_skips_an_event_the_follower_applied_as_the_stream_delivered_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reporting's read model claims through the same ledger, with its own apply: the same race, the same answer."""
    consumer = ReadModel(make_engine(sqlalchemy_url(database_url)), settle_seconds=3600)
    follower = ReadModel(make_engine(sqlalchemy_url(database_url)), settle_seconds=3600)
    consumer.apply([mapped(1)])
    raced = losing_the_race(monkeypatch, consumer, follower)

    assert consumer.apply([mapped(2), mapped(3)]) == 1
    assert raced == [1]
    assert [fact.subject for fact in consumer.facts()] == ["osv-1", "osv-2", "osv-3"]
