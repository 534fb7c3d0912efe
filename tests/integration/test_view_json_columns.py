"""The read models' JSON columns (``make_engine``): written with orjson, compactly, and read back exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select

from shared.views import make_engine


def test_a_json_column_is_written_compactly_and_reads_back_exactly_what_was_written(database_url: str) -> None:
    engine = make_engine(database_url)
    table = Table("documents", MetaData(), Column("id", Integer, primary_key=True), Column("data", JSON))
    table.metadata.create_all(engine)
    values = {
        1: {"a": [1, 2], "name": "Asociación Señor de los Milagros"},
        2: {"indirect_beneficiaries": 2**64, "amount": "1500.00", "share": 0.1},  # orjson refuses it: the standard library writes it
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(table), [{"id": id_, "data": value} for id_, value in values.items()])
        with engine.connect() as connection:
            assert dict(connection.execute(select(table.c.id, table.c.data)).all()) == values
            stored = connection.exec_driver_sql("SELECT CAST(data AS TEXT) FROM documents WHERE id = 1").scalar()
        # No spaces, UTF-8 rather than \u escapes: the read model's bytes per event are one of its figures (issue 17).
        assert stored == '{"a":[1,2],"name":"Asociación Señor de los Milagros"}'
    finally:
        engine.dispose()
