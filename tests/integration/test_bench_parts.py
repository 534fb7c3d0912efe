"""`make bench`'s in-process parts run the services' real commands: a rule added to a command can make the bench's own
data refused, and `make bench` then drops the part and its figures (session 61: in-person meetings a day apart by
``i % 200`` met the same-day duplicate rule from the 201st on). Run here on the counts that reach such a repeat."""

from __future__ import annotations

from pathlib import Path

from bench.run import checkpoint_sizes, one_osv_growing
from services.reporting.views.readmodel import ReadModel
from shared.views import make_engine
from tests.integration.test_reporting_as_of import programme_log


def test_one_osv_growing_runs_past_two_hundred_commands_an_osv(tmp_path: Path) -> None:
    """1,000 grants/members/meetings to one OSV in the bench; 260 here pass every repeat of a day or amount under 250."""
    figures = one_osv_growing(tmp_path, 260, 10)

    grants_first, grants_last, members_first, members_last, meetings_first, meetings_last = figures[:6]
    assert min(grants_first, grants_last, members_first, members_last, meetings_first, meetings_last) > 0
    assert all(first > 0 and last > 0 for first, last in figures[6:])  # CPU ms a command, fresh and grown


def test_the_bench_measures_the_checkpoints_in_the_read_models_own_table(tmp_path: Path) -> None:
    """Session 61: the bench named ``tally_checkpoints_5`` itself, and once the read model's checkpoints moved on to a
    new table, ``make bench``'s rebuild part failed ("no such table") and printed none of its figures."""
    import sqlite3

    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'views.db'}"), checkpoint_every=20, settle_seconds=0)
    readmodel.apply(programme_log(200, seed=5))
    assert readmodel.checkpoints()
    with sqlite3.connect(tmp_path / "views.db") as connection:
        total, largest = checkpoint_sizes(connection)
    assert 0 < largest <= total
