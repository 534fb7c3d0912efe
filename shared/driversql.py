"""Rows written and read with the database driver's own cursor, for the few statements on every command's path.

Through ``Connection.execute`` one short statement costs 130-220 µs of CPU on
SQLite (its cache key, its execution context, its result); with the
driver's own cursor, about 30 µs (measured). These helpers keep SQLAlchemy
for what it is good at (the statement, compiled once per dialect and cached
here; the column types' conversions; its errors) and leave the driver the
execution. Everywhere else the services go through SQLAlchemy as usual.

Used for a command's side rows (a person's data key, a document's entry,
written in its events' transaction, or deleted in it), the data-key and document lookups and
the local OSV directory's check of the OSV a command names.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError
from sqlalchemy import Connection, Engine, Table, and_, bindparam, delete, exc, insert


def write_rows(rows: list[tuple[Engine, Table, dict[str, Any]]], connection: Connection | None = None) -> None:
    """Insert ``rows``: on ``connection`` (inside its transaction), or one transaction per engine.

    Each row's values are plain ``str`` or ``bytes`` (a key's owner and wrapped
    key, a document's digest and entry), which every driver takes as they are.
    Raises the store library's :class:`~eventsourcing.persistence.IntegrityError`
    when a row is already there (another command made the same entry first):
    the command runs again and finds theirs. Any other error of the driver is
    SQLAlchemy's, as through ``Connection.execute`` (a database away: 503).
    """
    try:
        if connection is not None:
            for _, table, values in rows:
                connection.execute(insert(table), values)
            return
        for engine in dict.fromkeys(engine for engine, _, _ in rows):
            mine = [(table, values) for row_engine, table, values in rows if row_engine is engine]
            with engine.begin() as own:
                # The driver's own cursor, statements compiled once per table: a registration's three rows cost
                # about a third of the CPU they took through ``Connection.execute`` (its cache key, its result).
                cursor = own.connection.cursor()
                try:
                    for table, values in mine:
                        sql, order = _driver_sql(engine.dialect, _insert_of(table, tuple(values)))
                        _on_driver(engine, sql, cursor.execute, _in_order(values, order))
                finally:
                    cursor.close()
    except exc.IntegrityError as error:
        raise IntegrityError(str(error.orig)) from error


def insert_sql(engine: Engine, table: Table, values: dict[str, Any]) -> tuple[str, Any]:
    """The INSERT of ``values`` into ``table`` in ``engine``'s own SQL, and its parameters as the driver takes them.

    For a driver whose parameters are named (psycopg: ``%(owner_id)s``) they
    are ``values`` itself; for a positional one (``sqlite3``: ``?``) a tuple
    in the statement's order. The statement is compiled once per table and columns.
    """
    sql, order = _driver_sql(engine.dialect, _insert_of(table, tuple(values)))
    return sql, _in_order(values, order)


def delete_sql(engine: Engine, table: Table, values: dict[str, Any]) -> tuple[str, Any]:
    """The DELETE of the row of ``table`` whose columns hold ``values`` (its primary key's), in ``engine``'s own SQL, and its
    parameters as the driver takes them, as :func:`insert_sql` gives an insert's."""
    sql, order = _driver_sql(engine.dialect, delete_of(table, tuple(values)))
    return sql, _in_order(values, order)


def statement_sql(engine: Engine, statement: Any, values: dict[str, Any]) -> tuple[str, Any]:
    """``statement`` (a select, say) in ``engine``'s own SQL and its parameters as the driver takes them, as
    :func:`insert_sql` gives an insert's: for a cursor of the caller's own, in a transaction it holds. Its rows come
    as the driver gives them (no column types' conversions: for text and integers)."""
    sql, order = _driver_sql(engine.dialect, statement)
    return sql, _in_order(values, order)


def read_scalar(engine: Engine, statement: Any, values: dict[str, Any]) -> Any:
    """The first column of the first row ``statement`` selects (None for no row), read with the driver's own cursor.

    For the one-row lookups on every command's path (a data key, a document's
    entry): about 30 µs on SQLite against 130-220 µs through ``Connection.execute``
    (measured). The statement is compiled once per dialect; errors are SQLAlchemy's.
    """
    row = read_row(engine, statement, values)
    return None if row is None else row[0]


def read_row(engine: Engine, statement: Any, values: dict[str, Any]) -> Any:
    """The first row ``statement`` selects (None for no row), read with the driver's own cursor, as a named tuple
    whose fields are the statement's column names, each value converted by its column's type as
    ``Connection.execute`` would (a ``Date`` stored as text on SQLite read as a ``date``).

    For a one-row lookup on every command's path (the OSV a command names);
    errors are SQLAlchemy's.
    """
    rows = _read(engine, statement, values, every=False)
    return rows[0] if rows else None


def read_rows(engine: Engine, statement: Any, values: dict[str, Any]) -> list[Any]:
    """Every row ``statement`` selects, as :func:`read_row` reads one (for a short list read on every keyed command's path:
    the erasures' tombstones of what its answer is about)."""
    return _read(engine, statement, values, every=True)


def _read(engine: Engine, statement: Any, values: dict[str, Any], *, every: bool) -> list[Any]:
    sql, order = _driver_sql(engine.dialect, statement)
    kind, conversions = _row_shape(engine.dialect, statement)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            _on_driver(engine, sql, cursor.execute, _in_order(values, order))
            rows = _on_driver(engine, sql, cursor.fetchall) if every else _on_driver(engine, sql, lambda: cursor.fetchmany(1))
        finally:
            cursor.close()
    finally:
        connection.close()
    return [kind._make(v if convert is None or v is None else convert(v) for v, convert in zip(row, conversions)) for row in rows]


@functools.lru_cache(maxsize=64)
def _row_shape(dialect: Any, statement: Any) -> tuple[type, tuple[Callable[[Any], Any] | None, ...]]:
    """The named tuple of ``statement``'s columns, and each column's conversion from the driver's value (None: as it comes)."""
    columns = list(statement.selected_columns)
    kind = namedtuple("Row", [column.key for column in columns])  # one per statement, made once
    return kind, tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)


def _on_driver(engine: Engine, sql: str, call: Callable[..., Any], *args: Any) -> Any:
    """``call(sql, *args)`` (or ``call()`` with no args), the driver's errors raised as SQLAlchemy's (parameters hidden: keys, digests)."""
    error_class = engine.dialect.loaded_dbapi.Error
    try:
        return call(sql, *args) if args else call()
    except error_class as error:
        raise exc.DBAPIError.instance(sql, None, error, error_class, hide_parameters=True, dialect=engine.dialect) from error


def _in_order(values: dict[str, Any], order: tuple[str, ...] | None) -> Any:
    return values if order is None else tuple(values[name] for name in order)


@functools.lru_cache(maxsize=64)
def _insert_of(table: Table, columns: tuple[str, ...]) -> Any:
    return insert(table).values({name: bindparam(name) for name in columns})


@functools.lru_cache(maxsize=64)
def delete_of(table: Table, columns: tuple[str, ...]) -> Any:
    """The DELETE of the rows of ``table`` whose ``columns`` hold the values bound under their names (SQLAlchemy's
    statement, for a connection; :func:`delete_sql` gives it in the driver's own SQL)."""
    return delete(table).where(and_(*(table.c[name] == bindparam(name) for name in columns)))


@functools.lru_cache(maxsize=64)
def _driver_sql(dialect: Any, statement: Any) -> tuple[str, tuple[str, ...] | None]:
    """``statement`` in the dialect's own SQL, and for a positional paramstyle (SQLite's) the order of its parameters."""
    compiled = statement.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None

