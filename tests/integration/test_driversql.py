"""Rows read with the driver's own cursor (shared.driversql) are the rows SQLAlchemy reads, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, bindparam, exc, select

from shared.driversql import read_row
from shared.errors import OSVDissolvedError, OSVMergedError
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory, OSVNotInRegistryError
from tests.integration.test_stores import registry_event

METADATA = MetaData()
PLACES = Table(
    "places", METADATA,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=True),
    Column("opened_on", Date, nullable=True),
    Column("households", Integer, nullable=True),
)
ONE_PLACE = select(PLACES.c.name, PLACES.c.opened_on, PLACES.c.households).where(PLACES.c.id == bindparam("id"))


def test_a_row_read_on_the_driver_is_the_row_sqlalchemy_reads_with_its_types(database_url: str) -> None:
    engine = make_engine(sqlalchemy_url(database_url))
    METADATA.create_all(engine)
    rows = [
        {"id": "full", "name": "Los Olivos Unidos", "opened_on": date(2021, 3, 1), "households": 40},
        {"id": "empty", "name": None, "opened_on": None, "households": None},
    ]
    with engine.begin() as connection:
        connection.execute(PLACES.insert(), rows)

    for row in rows:
        with engine.connect() as connection:
            expected = connection.execute(ONE_PLACE, {"id": row["id"]}).first()
        read = read_row(engine, ONE_PLACE, {"id": row["id"]})
        assert tuple(read) == tuple(expected)
        assert read.opened_on == row["opened_on"] and read.households == row["households"]  # a date, not SQLite's text
    assert read_row(engine, ONE_PLACE, {"id": "nowhere"}) is None


def test_a_drivers_error_is_sqlalchemys_without_the_parameters(database_url: str) -> None:
    engine = make_engine(sqlalchemy_url(database_url))
    nowhere = Table("no_such_table", MetaData(), Column("secret", String))
    missing = select(nowhere.c.secret).where(nowhere.c.secret == bindparam("secret"))
    with pytest.raises(exc.DBAPIError) as raised:
        read_row(engine, missing, {"secret": "AB-123456"})
    assert "AB-123456" not in str(raised.value)


def test_a_commands_osv_is_read_with_its_standing_and_dates(database_url: str) -> None:
    """``OSVDirectory.require_active`` (on every grant's, member's and meeting's path) reads through the driver."""
    directory = OSVDirectory(make_engine(sqlalchemy_url(database_url)), "funding")
    active, dissolved, duplicate = str(uuid4()), str(uuid4()), str(uuid4())
    directory.apply([
        registry_event(1, "OSVMapped", active, district="Comas", zone="Lima Norte", mapped_on="2021-03-01", occurred_on="2021-03-01"),
        registry_event(2, "RUOSRegistered", active, ruos_number="R-9", registered_on="2021-04-01", occurred_on="2021-04-01"),
        registry_event(3, "OSVMapped", dissolved, district="Comas", zone="Lima Norte", mapped_on="2021-03-02", occurred_on="2021-03-02"),
        registry_event(4, "OSVDissolved", dissolved, dissolved_on="2021-09-30", occurred_on="2021-09-30"),
        registry_event(5, "OSVMapped", duplicate, district="Comas", zone="Lima Norte", mapped_on="2021-03-03", occurred_on="2021-03-03"),
        registry_event(6, "OSVMerged", duplicate, into_osv_id=active, merged_on="2021-05-05", occurred_on="2021-05-05"),
    ])

    osv = directory.require_active(UUID(active), on=date(2021, 10, 20), dated="granted_on")
    assert (osv.osv_id, osv.district, osv.zone) == (active, "Comas", "Lima Norte")
    assert (osv.mapped_on, osv.ruos_number, osv.registered_on, osv.dissolved_on) == (date(2021, 3, 1), "R-9", date(2021, 4, 1), None)

    assert directory.require_active(UUID(dissolved), on=date(2021, 9, 30), dated="granted_on").dissolved_on == date(2021, 9, 30)
    with pytest.raises(OSVDissolvedError, match="2021-09-30"):
        directory.require_active(UUID(dissolved), on=date(2021, 10, 1), dated="granted_on")
    with pytest.raises(OSVMergedError, match=f"merged into OSV {active} on 2021-05-05"):
        directory.require_active(UUID(duplicate), on=date(2021, 10, 1), dated="granted_on")
    with pytest.raises(OSVNotInRegistryError):
        directory.require_active(uuid4(), on=date(2021, 10, 1), dated="granted_on")


def test_an_osv_merged_into_one_merged_since_sends_the_caller_to_the_last_of_the_chain(database_url: str) -> None:
    """Tester 126 F5: A merged into B, then B into C; a grant to A was told "record it there" (B), which refused it too."""
    directory = OSVDirectory(make_engine(sqlalchemy_url(database_url)), "funding")
    a, b, c = (str(uuid4()) for _ in range(3))
    mapped = [registry_event(n, "OSVMapped", osv, district="Comas", zone="Lima Norte", mapped_on="2021-03-01", occurred_on="2021-03-01")
              for n, osv in enumerate((a, b, c), start=1)]
    directory.apply([
        *mapped,
        registry_event(4, "OSVMerged", a, into_osv_id=b, merged_on="2021-05-05", occurred_on="2021-05-05"),
        registry_event(5, "OSVMerged", b, into_osv_id=c, merged_on="2021-06-06", occurred_on="2021-06-06"),
    ])

    with pytest.raises(OSVMergedError, match=f"merged into OSV {b} on 2021-05-05 .*merged since: record it in OSV {c}"):
        directory.require_active(UUID(a), on=date(2021, 10, 1), dated="granted_on")
    with pytest.raises(OSVMergedError, match=f"merged into OSV {c} on 2021-06-06 .*: record it there$"):
        directory.require_active(UUID(b), on=date(2021, 10, 1), dated="granted_on")
    assert directory.require_active(UUID(c), on=date(2021, 10, 1), dated="granted_on").osv_id == c
