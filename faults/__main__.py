"""Run the fault suite and print one row per case; exit 1 unless every case lost nothing and doubled nothing.

    .venv/bin/python -m faults                      # every case (under 10 minutes on 2 cores)
    .venv/bin/python -m faults kill_nats replicas   # only these
    .venv/bin/python -m faults --list
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from faults.audit import Row
from faults.cases import CASES, Workbench

COLUMNS = ("case", "sent", "acknowledged", "in feeds", "counted", "duplicates", "lost", "converged in", "")


def cells(row: Row) -> list[str]:
    if row.failure is not None and row.sent == 0:
        return [row.case, "-", "-", "-", "-", "-", "-", "-", "FAILED"]
    seconds = f"{row.seconds:.1f} s" if row.seconds is not None else "never"
    figures = [row.sent, row.acknowledged, row.in_feeds, row.counted, row.duplicates, row.lost]
    return [row.case, *(f"{n:,}" for n in figures), seconds, "ok" if row.passed else "FAILED"]


def render(rows: list[Row]) -> str:
    table = [list(COLUMNS), *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = []
    for n, line in enumerate(table):
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="run only these cases (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--keep", action="store_true", help="keep the stores and logs (printed at the end)")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.name:<22} {case.title}")
        return 0
    unknown = set(args.cases) - {case.name for case in CASES}
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    chosen = [case for case in CASES if not args.cases or case.name in args.cases]
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    root = Path(tempfile.mkdtemp(prefix="osv-faults-"))
    bench = Workbench(root)
    rows: list[Row] = []
    started = time.monotonic()
    try:
        for case in chosen:
            print(f"== {case.name}: {case.title}", flush=True)
            began = time.monotonic()
            try:
                row = case.run(bench, False)
            except Exception as error:  # noqa: BLE001 - the case failed to run: a failed row, and the next case
                row = Row(case.name, failure=f"{type(error).__name__}: {error}")
                traceback.print_exc()
            rows.append(row)
            if row.fault:
                print(f"   {row.fault}", flush=True)
            for note in row.notes[:8]:
                print(f"   {note}", flush=True)
            if row.failure:
                print(f"   failed: {row.failure}", flush=True)
            print(f"   {'ok' if row.passed else 'FAILED'} in {time.monotonic() - began:.0f} s", flush=True)
    finally:
        bench.close()
        if args.keep or not all(row.passed for row in rows):
            print(f"\nstores and logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(render(rows))
    passed = all(row.passed for row in rows) and len(rows) == len(chosen)
    print(f"\n{sum(r.passed for r in rows)} of {len(rows)} cases lost nothing and doubled nothing; {time.monotonic() - started:.0f} s in all")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
