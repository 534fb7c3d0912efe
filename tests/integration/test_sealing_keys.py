"""Reading an aggregate's events asks the key ring once for every key they are sealed under, with the same answers as one by one."""

from __future__ import annotations

import os
from uuid import uuid4

import pytest
import sqlalchemy.exc
from eventsourcing.persistence import DatetimeAsISO, IntegrityError, JSONTranscoder, UUIDAsHex
from sqlalchemy import select

from services.engagement.domain.followup import FollowUp, MeetingMode, MeetingTopic
from services.engagement.personaldata import SEALED_FIELDS
from shared import dryrun
from shared.driversql import write_rows
from shared.sealing import DataKey, KeyRing, SealingMapper, drawn_at_random, text_key, writing_with_events
from shared.settings import sqlalchemy_url
from shared.store import DateAsISO
from shared.views import make_engine


def test_keys_read_together_are_the_keys_read_one_by_one_forgotten_ones_and_a_dry_runs_included(database_url: str) -> None:
    keys = KeyRing(make_engine(sqlalchemy_url(database_url)), os.urandom(32))
    kept, forgotten, in_dry_run, never = uuid4(), uuid4(), uuid4(), uuid4()
    for owner in (kept, forgotten, in_dry_run):
        keys.key_for_sealing(owner)
    keys.forget(forgotten)
    owners = [kept, forgotten, in_dry_run, never]
    together = keys.keys_of(owners)
    assert together == {owner: keys.key_of(owner) for owner in owners}
    assert together[kept] is not None and together[in_dry_run] is not None and together[forgotten] is None and together[never] is None
    with dryrun.dry_running():
        keys.forget(in_dry_run)
        assert keys.keys_of(owners) == {owner: keys.key_of(owner) for owner in owners} and keys.keys_of(owners)[in_dry_run] is None
    assert keys.keys_of([in_dry_run])[in_dry_run] == together[in_dry_run]  # the dry run forgot nothing


def test_a_follow_up_read_in_one_go_unseals_each_meeting_as_reading_them_one_by_one_does(database_url: str) -> None:
    from datetime import date

    keys = KeyRing(make_engine(sqlalchemy_url(database_url)), os.urandom(32))
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    mapper = SealingMapper(transcoder, keys=keys, sealed_fields=SEALED_FIELDS)
    follow_up = FollowUp(osv_id=uuid4())
    meetings = [
        follow_up.hold_meeting(date(2024, 3, day), next(iter(MeetingMode)), [next(iter(MeetingTopic))], [], 0, f"Notas de la reunión {day}", [],
                               known_members=set(), today=date(2024, 4, 1))
        for day in (1, 2, 3)
    ]
    stored = [mapper.to_stored_event(e) for e in follow_up.collect_events()]
    keys.forget(text_key(meetings[1].meeting_id))  # the second meeting's notes redacted
    together = mapper.to_domain_events(stored)
    one_by_one = [mapper.to_domain_event(s) for s in stored]
    assert [vars(e) for e in together] == [vars(e) for e in one_by_one]
    assert [e.notes for e in together if type(e) is FollowUp.FollowUpMeetingHeld] == ["Notas de la reunión 1", "[redacted]", "Notas de la reunión 3"]


def test_a_side_row_already_there_fails_its_write_as_the_store_librarys_integrity_error_and_writes_none_of_the_others(
    database_url: str,
) -> None:
    """The rows a command writes beside its events, where they live apart from the store: a duplicate is the collision the command runs again on."""
    engine = make_engine(sqlalchemy_url(database_url))
    KeyRing(engine, os.urandom(32))  # creates the key table
    there, new = str(uuid4()), str(uuid4())
    write_rows([(engine, DataKey.__table__, {"owner_id": there, "wrapped": b"\x00" * 60})])
    with pytest.raises(IntegrityError):
        write_rows([
            (engine, DataKey.__table__, {"owner_id": new, "wrapped": b"\x01" * 60}),
            (engine, DataKey.__table__, {"owner_id": there, "wrapped": b"\x02" * 60}),
        ])
    with engine.connect() as connection:
        stored = {row.owner_id: row.wrapped for row in connection.execute(select(DataKey.owner_id, DataKey.wrapped))}
    assert stored == {there: b"\x00" * 60}


def test_a_key_made_under_an_id_the_command_drew_is_read_back_within_the_command_and_once_written(database_url: str) -> None:
    keys = KeyRing(make_engine(sqlalchemy_url(database_url)), os.urandom(32))
    owner, stored = uuid4(), uuid4()
    made = keys.key_for_sealing(stored)
    with writing_with_events() as side:
        drawn_at_random(owner)
        assert keys.key_of(owner) is None and keys.keys_of([owner]) == {owner: None}  # none looked for
        key = keys.key_for_sealing(owner)
        assert keys.key_of(owner) == key and keys.keys_of([owner, stored]) == {owner: key, stored: made}
        write_rows(side.take())
    assert keys.key_of(owner) == key
    drawn_at_random(owner)  # outside a command: nothing
    assert keys.key_of(owner) == key


def test_the_drivers_errors_on_a_key_read_or_write_are_sqlalchemys_as_before_and_name_no_key(database_url: str) -> None:
    """A key read or written with the driver's own cursor fails as through SQLAlchemy (a database away: 503), its parameters hidden."""
    engine = make_engine(sqlalchemy_url(database_url))
    keys = KeyRing(engine, os.urandom(32))
    owner = uuid4()
    keys.key_for_sealing(owner)
    with engine.begin() as connection:
        connection.execute(DataKey.__table__.delete())
        connection.exec_driver_sql("DROP TABLE personal_data_keys")
    with pytest.raises(sqlalchemy.exc.DBAPIError) as read:
        keys.key_of(owner)
    with pytest.raises(sqlalchemy.exc.DBAPIError) as written:
        write_rows([(engine, DataKey.__table__, {"owner_id": str(owner), "wrapped": b"\x00" * 60})])
    assert str(owner) not in str(read.value) and str(owner) not in str(written.value)
