"""Two workers of a service opening a fresh views database at once (make run's first start on a new var/).

SQLAlchemy's create_all looks for each table, then creates it: both workers found none and the second
failed ("table osv_directory_applied already exists"), which start-up logged as a database out of reach
before its retry. (Found by the session-21 tester.)
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table

from shared.views import create_tables, make_engine
from tests.support.processes import failures_two_at_once


def many_tables() -> MetaData:
    metadata = MetaData()
    for i in range(40):
        Table(f"osv_directory_part_{i}", metadata, Column("source", String, primary_key=True), Column("floor", Integer))
    return metadata


def open_views(url: str, start: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue) -> None:  # type: ignore[name-defined]
    engine = make_engine(url)
    start.wait()
    try:
        create_tables(many_tables(), engine)
    except Exception as error:  # noqa: BLE001 - reported to the test
        errors.put(f"{type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        engine.dispose()


def test_two_workers_creating_the_view_tables_of_a_fresh_sqlite_database_at_once_both_succeed(tmp_path: Path) -> None:
    failures = failures_two_at_once(open_views, tmp_path, "views")
    assert not failures, failures
