"""Long-lived aggregates kept between commands (cache and snapshots), on an SQLite file and on PostgreSQL.

An OSV's support history and roster grow with every grant and member: they are
kept in memory and snapshotted (:mod:`shared.kept`). The stories: what is kept
is never a person's plain data; a snapshot that cannot be stored never runs a
command twice; one replica's snapshot and saves are read right by another; a
dry run stores no snapshot and changes nothing kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from services.engagement.application import Engagement, cipher_env
from services.engagement.bootstrap import bootstrap
from services.engagement.domain.followup import AssistanceTopic, FollowUp
from services.engagement.domain.memberrules import Sex
from services.engagement.domain.members import Member
from services.engagement.domain.roster import OSVRoster
from services.engagement.personaldata import WRAPPING_PURPOSE, DocumentDirectory, KeyRing, MasterKey
from services.engagement.settings import EngagementSettings
from services.engagement.views import GrantDirectory
from services.engagement.views import OSVDirectory as EngagementOSVs
from services.funding.application import Funding
from services.funding.domain.grants import GrantKind, SupportHistory
from services.registry.domain.osvs import OSV
from services.registry.events import catalogue as registry_catalogue
from shared import dryrun
from shared.documents import DocumentType
from shared.inplace import without_waiting_on_the_loop
from shared.kept import SealedAggregateKeptError
from shared.money import Currency
from shared.sealing import key_engine
from shared.settings import sqlalchemy_url
from shared.store import persistence_env
from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory


def mapped_osv(name: str = "Mujeres Emprendedoras de Comas") -> tuple[OSV, dict[str, Any]]:
    osv = OSV(name=name, district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 15), kind=None)
    return osv, registry_catalogue.to_cloudevent(1, osv.collect_events()[0])


def views_url(database_url: str, tmp_path: Path) -> str:
    return sqlalchemy_url(database_url) if database_url.startswith("postgres") else f"sqlite:///{tmp_path / 'views.db'}"


class SnapshottingOften(Funding):
    """Funding snapshotting an OSV's support history every second event, so that a few grants take snapshots."""

    snapshotting_intervals = {SupportHistory: 2}


@pytest.fixture
def funding_on(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """``funding_on()``: a new Funding process on the store under test (each with its own memory), closed at the end."""
    opened: list[Funding] = []
    engine = make_engine(views_url(database_url, tmp_path))

    def open_one() -> Funding:
        app = SnapshottingOften(persistence_env(database_url), osvs=OSVDirectory(engine, "funding"))
        opened.append(app)
        return app

    yield open_one
    for app in opened:
        app.close()
    engine.dispose()


def grant(funding: Funding, osv_id: UUID, day: int) -> UUID:
    return funding.grant_fund(osv_id, Decimal("500.00"), Currency.PEN, date(2021, 10, day), GrantKind.GOODS)


def snapshot_versions(app: Any, aggregate_id: UUID) -> list[int]:
    return [s.originator_version for s in app.snapshots.recorder.select_events(aggregate_id)]


# What is kept is never what can be forgotten ---------------------------------------------------


def test_an_application_that_would_keep_a_person_or_snapshot_a_follow_up_is_refused_at_its_definition() -> None:
    for kind in (Member, FollowUp):
        with pytest.raises(SealedAggregateKeptError):
            type("KeepingPeople", (Engagement,), {"snapshotting_intervals": {kind: 10}})
    with pytest.raises(SealedAggregateKeptError):
        type("KeepingPeople", (Engagement,), {"KEPT_AGGREGATES": (Member,)})
    type("KeepingRosters", (Engagement,), {"snapshotting_intervals": {OSVRoster: 10}})  # a roster holds no one's plain data
    # A follow-up records each redaction as an event before its key goes: a copy kept in memory forgets the text too.
    assert FollowUp.REDACTIONS_RECORDED and FollowUp in Engagement.KEPT_AGGREGATES


def test_a_follow_up_kept_in_one_replicas_memory_forgets_notes_redacted_at_another(database_url: str, tmp_path: Path) -> None:
    from services.engagement.domain.followup import ActionItemDraft, MeetingMode, MeetingTopic

    here, there = engagement_on(database_url, tmp_path), engagement_on(database_url, tmp_path)
    try:
        osv, mapped = mapped_osv()
        for app in (here, there):
            app.osvs.apply([mapped])
            app.today = lambda: date(2021, 12, 1)  # type: ignore[method-assign]
        _, meeting = here.hold_meeting(osv.id, date(2021, 11, 2), next(iter(MeetingMode)), [next(iter(MeetingTopic))],
                                       notes="Zoraida Pérez contó su situación", action_items=[ActionItemDraft("Llamar a Zoraida", "Yohana", date(2021, 12, 20))])
        assistance = here.give_assistance(osv.id, date(2021, 11, 3), next(iter(AssistanceTopic)), Decimal("2"), note="Con Zoraida Pérez")
        kept = here.find_follow_up(osv.id)
        assert kept is not None and kept.meetings[meeting.meeting_id].notes == "Zoraida Pérez contó su situación"  # now in here's memory

        there.redact_meeting_text(osv.id, meeting.meeting_id)
        there.redact_assistance_note(osv.id, assistance.assistance_id)
        there.redact_meeting_text(osv.id, meeting.meeting_id)  # again: nothing more recorded

        for app in (here, there, engagement_on(database_url, tmp_path)):
            follow_up = app.find_follow_up(osv.id)
            assert follow_up is not None
            assert follow_up.meetings[meeting.meeting_id].notes == "[redacted]"
            [item] = follow_up.action_items.values()
            assert (item.description, item.owner) == ("[redacted]", "[redacted]")
            assert [a.note for a in follow_up.assistance] == ["[redacted]"]
            assert follow_up.version == 5  # opened, meeting, assistance, two redactions
            app.close() if app not in (here, there) else None
    finally:
        here.close()
        there.close()


class RosterSnapshotsEveryTwo(Engagement):
    snapshotting_intervals = {OSVRoster: 2}


def engagement_on(database_url: str, tmp_path: Path) -> RosterSnapshotsEveryTwo:
    """Engagement wired as its bootstrap wires it (encrypted store, key ring and document index in the store's database, views apart
    on SQLite), snapshotting rosters often."""
    settings = EngagementSettings(var_dir=tmp_path / "var", database_url=database_url, index_key_file=tmp_path / "index.key")
    master = MasterKey.from_text(settings.resolve_master_key())
    engine = make_engine(settings.view_url() if database_url.startswith("postgres") else f"sqlite:///{tmp_path / 'views.db'}")
    keys_engine = key_engine(settings.key_url(), engine)
    return RosterSnapshotsEveryTwo(
        {**bootstrap(settings).application_env(), **cipher_env(master.store_cipher_key())},
        osvs=EngagementOSVs(engine, "engagement"),
        grants=GrantDirectory(engine),
        keys=KeyRing(keys_engine, master.subkey(WRAPPING_PURPOSE)),
        documents=DocumentDirectory(keys_engine, settings.resolve_index_key()),
    )


def test_the_snapshot_table_never_holds_a_members_name_or_document_even_after_erasure(database_url: str, tmp_path: Path) -> None:
    engagement = engagement_on(database_url, tmp_path)
    try:
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        people = [("Zoraida Pérez Quispe", "001234567"), ("Yohana Rincón", "002345678"), ("Maritza Gómez", "003456789")]
        member_ids = [
            engagement.register_member(osv.id, name, DocumentType.CE, number, "VE", Sex.F, date(2021, 10, 5), phone="987654321")
            for name, number in people
        ]
        roster_id = OSVRoster.create_id(osv.id)
        assert snapshot_versions(engagement, roster_id), "the roster was snapshotted"
        with pytest.raises(SealedAggregateKeptError):
            engagement.take_snapshot(member_ids[0])  # a person is never snapshotted, even when asked
        engagement.erase_personal_data(member_ids[0], date(2021, 11, 1))
        engagement.register_member(osv.id, "Ana Torres", DocumentType.CE, "004567890", "VE", Sex.F, date(2021, 10, 6))

        # Read the snapshot table as stored (through the store's cipher, to look past it).
        mapper = engagement.mapper
        raw = b"".join(
            mapper.cipher.decrypt(s.state) if mapper.compressor is None else mapper.compressor.decompress(mapper.cipher.decrypt(s.state))
            for owner in (roster_id, *member_ids)
            for s in engagement.snapshots.recorder.select_events(owner)
        )
        assert b"seats" in raw
        for name, number in people:
            for word in (*name.split(), number):
                assert word.encode() not in raw
        assert b"987654321" not in raw
        assert all(not snapshot_versions(engagement, member_id) for member_id in member_ids)
        # A new process reads the roster from its snapshot: the erased person's membership still counted, unnamed.
        other = engagement_on(database_url, tmp_path)
        try:
            assert len(other.repository.get(roster_id).seats) == 4
        finally:
            other.close()
    finally:
        engagement.close()


# A snapshot is never part of the command ----------------------------------------------------------


def test_a_snapshot_the_store_refuses_after_the_save_never_runs_the_command_again(funding_on: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    funding = funding_on()
    osv, mapped = mapped_osv()
    funding.osvs.apply([mapped])

    def refused(*_: Any, **__: Any) -> None:  # as when another replica stored that version's snapshot first
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(funding.snapshots.recorder, "insert_events", refused)
    grant_id = grant(funding, osv.id, 20)  # the history reaches version 2: a snapshot is due

    assert funding.find_support_history(osv.id).grant_ids == [grant_id]
    granted = [n for n in funding.log_after(0, 100) if n.topic.endswith("FundGranted")]
    assert len(granted) == 1


# Replicas ---------------------------------------------------------------------------------------------


def test_one_replicas_snapshots_and_grants_are_read_right_by_another(funding_on: Any) -> None:
    first, second = funding_on(), funding_on()
    osv, mapped = mapped_osv()
    first.osvs.apply([mapped])

    granted = [grant(first, osv.id, day) for day in range(1, 6)]
    assert snapshot_versions(first, SupportHistory.id_for(osv.id)) == [2, 4, 6]
    assert second.find_support_history(osv.id).grant_ids == granted  # from the last snapshot and the event after it

    granted.append(grant(second, osv.id, 6))
    granted.append(grant(first, osv.id, 7))  # the first replica's kept history is brought up to date, not stale
    assert first.find_support_history(osv.id).grant_ids == granted
    assert second.find_support_history(osv.id).grant_ids == granted
    assert [first.get_grant(g).support.value for g in granted] == ["first_time"] + ["repeat"] * 6
    assert snapshot_versions(second, SupportHistory.id_for(osv.id)) == [2, 4, 6, 8]


# Kept as saved ----------------------------------------------------------------------------------------------


def test_a_history_is_kept_as_its_save_left_it_and_the_event_just_written_is_not_decoded_again(funding_on: Any) -> None:
    funding = funding_on()
    osv, mapped = mapped_osv()
    funding.osvs.apply([mapped])
    granted = [grant(funding, osv.id, 1)]
    decoded: list[int] = []
    read = funding.repository._decoded
    funding.repository._decoded = lambda stored: decoded.append(len(stored)) or read(stored)

    for day in (2, 3, 4):  # versions 3, 4 (a snapshot due), 5
        granted.append(grant(funding, osv.id, day))
        assert funding.find_support_history(osv.id).grant_ids == granted

    assert sum(decoded) == 0  # each grant read the history as the last save left it, comparing its last event's bytes
    assert [funding.get_grant(g).support.value for g in granted] == ["first_time"] + ["repeat"] * 3  # from the kept history


def test_a_kept_history_changed_after_its_save_and_never_saved_again_is_read_afresh(funding_on: Any, caplog: pytest.LogCaptureFixture) -> None:
    funding = funding_on()
    osv, mapped = mapped_osv()
    funding.osvs.apply([mapped])
    first = grant(funding, osv.id, 1)
    saved, history, _ = funding.new_grant(osv.id, Decimal("500.00"), Currency.PEN, date(2021, 10, 2), GrantKind.GOODS)
    funding.save(saved, history)

    history._recorded(grant_id=uuid4(), granted_on=date(2021, 10, 3), kind=GrantKind.GOODS)  # a change no save took

    assert funding.find_support_history(osv.id).grant_ids == [first, saved.id]
    assert grant(funding, osv.id, 4) in funding.find_support_history(osv.id).grant_ids
    assert "restored from a backup" not in caplog.text  # a change no save took is not a store put back under the service


def test_a_save_on_the_event_loop_whose_history_another_thread_is_reading_is_stored_once_and_not_refused_after_its_commit(
    funding_on: Any,
) -> None:
    funding = funding_on()
    osv, mapped = mapped_osv()
    funding.osvs.apply([mapped])
    grant(funding, osv.id, 1)
    saved, history, _ = funding.new_grant(osv.id, Decimal("500.00"), Currency.PEN, date(2021, 10, 2), GrantKind.GOODS)
    lock = funding.repository._use_fastforward_lock(history.id)  # as another thread's command reading the history holds it
    lock.acquire()

    async def on_the_loop() -> int:
        with without_waiting_on_the_loop():  # a command on the loop: nothing may wait (StoreBusyError instead)
            return len(funding.save(saved, history))

    try:
        assert asyncio.run(on_the_loop()) == 2  # a StoreBusyError after the commit would run the command again: a second grant
    finally:
        lock.release()
        funding.repository._disuse_fastforward_lock(history.id)

    assert funding.find_support_history(osv.id).grant_ids[-1] == saved.id
    assert len([n for n in funding.log_after(0, 100) if n.topic.endswith("FundGranted")]) == 2


def test_a_history_the_cache_dropped_and_another_replica_granted_to_since_is_read_without_a_warning_of_a_restored_store(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(views_url(database_url, tmp_path))
    env = {**persistence_env(database_url), "AGGREGATE_CACHE_MAXSIZE": "2"}
    first, second = Funding(env, osvs=OSVDirectory(engine, "funding")), Funding(env, osvs=OSVDirectory(engine, "funding"))
    try:
        x, y, z = (OSV(name=f"Comedor Popular {n}", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 15), kind=None)
                   for n in ("Santa Rosa", "Los Olivos", "San Benito"))
        first.osvs.apply([registry_catalogue.to_cloudevent(n, osv.collect_events()[0]) for n, osv in enumerate((x, y, z), 1)])
        granted = [grant(first, x.id, 1)]
        grant(first, y.id, 2)
        grant(first, z.id, 3)  # the first replica's cache of two drops x's history
        granted.append(grant(second, x.id, 4))  # the other replica grants to x meanwhile

        assert first.find_support_history(x.id).grant_ids == granted  # read afresh
        assert first.find_support_history(x.id).grant_ids == granted  # then kept, and brought up to date as ever
        assert "restored from a backup" not in caplog.text
    finally:
        first.close()
        second.close()
        engine.dispose()


# Dry runs -----------------------------------------------------------------------------------------------


def test_a_dry_run_stores_no_snapshot_and_leaves_the_kept_history_as_it_was(funding_on: Any) -> None:
    funding = funding_on()
    osv, mapped = mapped_osv()
    funding.osvs.apply([mapped])
    kept = grant(funding, osv.id, 1)
    history_id = SupportHistory.id_for(osv.id)
    before = snapshot_versions(funding, history_id)

    with dryrun.dry_running():
        grant(funding, osv.id, 2)  # version 3
        grant(funding, osv.id, 3)  # version 4: a snapshot would be due
        assert len(funding.find_support_history(osv.id).grant_ids) == 3

    assert snapshot_versions(funding, history_id) == before
    assert funding.find_support_history(osv.id).grant_ids == [kept]
