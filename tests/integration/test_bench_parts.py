"""`make bench`'s in-process parts run the services' real commands: a rule added to a command can make the bench's own
data refused, and `make bench` then drops the part and its figures (session 61: in-person meetings a day apart by
``i % 200`` met the same-day duplicate rule from the 201st on). Run here on the counts that reach such a repeat."""

from __future__ import annotations

from pathlib import Path

from bench.run import one_osv_growing


def test_one_osv_growing_runs_past_two_hundred_commands_an_osv(tmp_path: Path) -> None:
    """1,000 grants/members/meetings to one OSV in the bench; 260 here pass every repeat of a day or amount under 250."""
    figures = one_osv_growing(tmp_path, 260, 10)

    grants_first, grants_last, members_first, members_last, meetings_first, meetings_last = figures[:6]
    assert min(grants_first, grants_last, members_first, members_last, meetings_first, meetings_last) > 0
    assert all(first > 0 and last > 0 for first, last in figures[6:])  # CPU ms a command, fresh and grown
