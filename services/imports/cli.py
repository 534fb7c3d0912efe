"""``osv-import``: bring a KoboToolbox export (XLSX or CSV) into the services, checked before anything is written.

    osv-import --dry-run miembros.xlsx      # check every row; write miembros.dry-run-report.xlsx
    osv-import miembros.xlsx                # record the valid rows; write miembros.import-report.xlsx
    osv-import osvs --output osvs.csv       # the OSV list the forms choose from (a Kobo media file)
    osv-import mapeo.xlsx --distinct 14=<id>  # row 14 is another organisation than OSV <id> (a possible duplicate)
    osv-import reuniones.xlsx --distinct 6=<id>  # row 6 is another meeting than meeting <id>, held that day too

The form is found from the file's columns (``--form`` names it). The token
is ``--token`` or ``IMPORTS_TOKEN``, a ``staff`` account's (``make token
USER=staff``). Services: ``--registry-url``/``--engagement-url`` or
``IMPORTS_REGISTRY_URL``/``IMPORTS_ENGAGEMENT_URL``, by default where ``make
run`` serves them (``OSV_HOST``, ``REGISTRY_PORT``, ``ENGAGEMENT_PORT``). The same file imported
twice records nothing the second time. Exit status: 0 when no row was
refused, 1 when some were (see the report), 2 when the import stopped. An
edit made in Kobo whose commands were taken is no refusal: the summary line
counts it and the report notes it (``edited_in_kobo``: if an earlier version
was recorded, what the edit took out is not undone); it exits 0, or every
later import of an export holding it would exit 1 for good.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from pydantic import ValidationError
from tqdm import tqdm

from services.imports.application import Importer, takes_distinct_from
from services.imports.bootstrap import cli_services
from services.imports.client import ImportStopped, Services
from services.imports.domain.commands import Problem, Row, row_of
from services.imports.exports import ExportError, read_export, sniff_form
from services.imports.forms import Form, form_named, shipped
from services.imports.outcomes import Outcome, Summary
from services.imports.refusals import for_a_spreadsheet
from services.imports.report import report_path, write_report
from services.imports.settings import ImportSettings
from shared.listing import MAX_LIMIT
from shared.spreadsheets import csv_writer

SHARED_VARIABLES = ("OSV_HOST", "REGISTRY_PORT", "ENGAGEMENT_PORT")
"""`make run`'s own variables, read without the ``IMPORTS_`` prefix."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="osv-import", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a Kobo export (.xlsx or .csv), or `osvs` to write the OSV list")
    parser.add_argument("--dry-run", action="store_true", help="check every row against the services; record nothing")
    parser.add_argument("--form", help=f"the form the file is an export of: {', '.join(sorted(shipped()))} (default: found from the columns)")
    parser.add_argument("--xlsform", type=Path, help="read the export through this XLSForm instead of the shipped one")
    parser.add_argument("--token", help="bearer token of a staff account (default: IMPORTS_TOKEN)")
    parser.add_argument("--registry-url")
    parser.add_argument("--engagement-url")
    parser.add_argument(
        "--distinct", action="append", default=[], metavar="ROW=ID[,ID...]",
        help="row ROW (of the main sheet, as the report numbers it) maps another organisation than these OSVs, or records "
        "another meeting or activity than these, which the service named as possible duplicates: record it all the same "
        "(the service's distinct_from); repeat for other rows",
    )
    parser.add_argument("--report", type=Path, help="where to write the report (default: beside the input)")
    parser.add_argument("--output", type=Path, default=Path("osvs.csv"), help="with `osvs`: the CSV to write")
    return parser


def main(argv: Sequence[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = ImportSettings()
    except ValidationError as error:
        wrong = error.errors()[0]
        variable = "IMPORTS_" + str(wrong["loc"][0]).upper() if wrong["loc"] and wrong["loc"][0] not in SHARED_VARIABLES else wrong["loc"][0]
        print(f"osv-import: {variable}={wrong.get('input')!r}: {wrong['msg']}", file=sys.stderr)
        return 2
    token = args.token or (settings.token.get_secret_value() if settings.token else None)
    if not token:
        print("osv-import: no token: give --token or IMPORTS_TOKEN (make token USER=staff)", file=sys.stderr)
        return 2
    given = {"registry_url": args.registry_url, "engagement_url": args.engagement_url}
    settings = settings.model_copy(update={k: v for k, v in given.items() if v})
    services = cli_services(settings, token, transport)
    try:
        if str(args.file) == "osvs":
            return write_osv_list(services, args.output)
        return import_file(args, services)
    except ImportStopped as error:
        stopped = str(error).rstrip(".")  # a service's detail ends with its own full stop
        # A refused token fails the same way however often it is run: said what to do instead (tester 296 F5).
        advice = error.advice
        if str(args.file) == "osvs":
            print(f"osv-import: stopped: {stopped}. No list was written{'; ' + advice if advice else ''}.", file=sys.stderr)
        elif args.dry_run:  # it recorded nothing: no row stands (tester 226 F8)
            print(f"osv-import: stopped: {stopped}. A dry run: nothing was recorded, and no report written; "
                  f"{advice or 'run it again'}.", file=sys.stderr)
        elif advice:
            print(f"osv-import: stopped: {stopped}. Rows done stand; {advice}, and import the file with it to go on "
                  "(nothing is recorded twice).", file=sys.stderr)
        else:
            print(f"osv-import: stopped: {stopped}. Rows done stand; run it again to go on (nothing is recorded twice).", file=sys.stderr)
        return 2
    finally:
        services.close()


def import_file(args: argparse.Namespace, services: Services) -> int:
    source: Path = args.file
    if not source.exists():
        print(f"osv-import: {source}: no such file", file=sys.stderr)
        return 2
    try:
        if args.xlsform:
            form = Form.load(args.xlsform)
        elif args.form:
            form = form_named(args.form)
        else:
            form = sniff_form(source, shipped())
        sheet = read_export(source, form)
    except (ExportError, KeyError) as error:
        print(f"osv-import: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    for name, columns in sheet.ignored.items():
        print(f"osv-import: sheet {name!r}: columns not in the form, ignored: {', '.join(columns)}", file=sys.stderr)
    rows = [row_of(form, submission) for submission in sheet.submissions]
    try:
        distinct = distinct_rows(args.distinct, rows)
    except ValueError as error:
        print(f"osv-import: --distinct {error}", file=sys.stderr)
        return 2
    importer = Importer(services, distinct)
    with tqdm(total=len(rows), unit="row", desc="checking" if args.dry_run else "importing", disable=None) as bar:
        summary = importer.run(rows, dry_run=args.dry_run, progress=lambda _: bar.update())
    report = write_report(summary, args.report or report_path(source, args.dry_run), source.name, sheet.ignored)
    print_summary(summary, form, report)
    if sheet.ignored:  # after the rows' lines, where it is read: their answers were not imported
        count = sum(len(columns) for columns in sheet.ignored.values())
        print(f"{count} column(s) not in the form were ignored, their answers not imported: see the report's 'Ignored columns'")
    return 1 if summary.count(Outcome.REFUSED) or summary.count(Outcome.PARTIAL) else 0


def distinct_rows(given: Sequence[str], rows: Sequence[Row]) -> dict[int, tuple[UUID, ...]]:
    """``--distinct`` values (``ROW=ID[,ID...]``) as row number → the ids of the OSVs (a mapping's row), meetings or
    activities (a meeting's or an activity's row) it is another than.

    Raises :class:`ValueError` naming the value at fault: not of that shape, an id that is not a UUID, or a row that is
    not one of the file's rows mapping an OSV or recording a meeting or an activity (a mistyped row would otherwise be
    ignored without a word).
    """
    taking = {row.where.row for row in rows if any(takes_distinct_from(command) for command in row.commands)}
    distinct: dict[int, tuple[UUID, ...]] = {}
    for value in given:
        number, equals, ids = value.partition("=")
        if not equals or not number.strip().isdigit() or not ids.strip():
            raise ValueError(f"{value!r}: give ROW=ID[,ID...], the row as the report numbers it and the ids it names")
        try:
            record_ids = tuple(UUID(record_id.strip()) for record_id in ids.split(",") if record_id.strip())
        except ValueError:
            raise ValueError(f"{value!r}: an id is a UUID, as the report gives it") from None
        row = int(number)
        if row not in taking:
            raise ValueError(f"{value!r}: row {row} is not a row of this file that maps an OSV or records a meeting or an activity")
        distinct[row] = tuple(dict.fromkeys((*distinct.get(row, ()), *record_ids)))
    return distinct


def print_summary(summary: Summary, form: Form, report: Path) -> None:
    print(f"{form.form_id}: {len(summary.results)} rows: {summary.line()}")
    for result in summary.results:
        for problem in result.problems:
            print(f"  {problem_line(problem)}")
    print(f"report: {report}")


def problem_line(problem: Problem) -> str:
    """One problem of the summary as the officer finds it: its sheet, row and column (``Miembros de la OSV row 2 column
    miembros/dni``), the row alone where it is of no one column (a submission recorded before, its key: tester 300 F8
    read "column -"), then the field, the rule and the message."""
    cell = problem.cell
    where = f"{cell.sheet} row {cell.row}" + (f" column {cell.column}" if cell.column else "")
    return f"{where}: {problem.field or '-'} [{problem.rule}] {for_a_spreadsheet(problem.message)}"


def write_osv_list(services: Services, output: Path) -> int:
    """Registry's OSVs not dissolved as the forms' choice list (``name``: the OSV id, ``label``: its name and district).

    Every page of ``GET /osvs`` is read, following its ``Link: rel="next"``: the first page alone (100 OSVs) left
    the others out of the forms without a word, and promoters could not choose them (tester 25b).
    """
    url: str | None = services.urls["registry"].rstrip("/") + "/osvs"
    params: dict[str, int] | None = {"limit": OSV_PAGE}
    osvs: list[dict[str, Any]] = []
    while url is not None:
        try:
            response = services.client.get(url, params=params)
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # InvalidURL: a host such as OSV_HOST=127.0.0.1:8001
            raise ImportStopped(f"registry could not be reached at {url}: {error}") from None
        if response.status_code != 200:
            status = 401 if response.status_code == 401 else None  # a 403's advice is of the commands an import makes
            raise ImportStopped(f"registry answered {response.status_code} to GET /osvs", status)
        osvs.extend(response.json())
        following = response.links.get("next", {}).get("url")
        url, params = (str(response.url.join(following)) if following else None), None  # the next link carries the query
    with output.open("w", newline="", encoding="utf-8") as file:
        writer = csv_writer(file)
        writer.writerow(["name", "label"])
        for osv in osvs:
            if osv.get("dissolution"):
                continue
            writer.writerow([osv["id"], f"{osv['name']} ({osv['district']})"])
    print(f"wrote {output}")
    return 0


OSV_PAGE = MAX_LIMIT
"""OSVs asked for per page of ``GET /osvs`` (its most)."""


if __name__ == "__main__":
    raise SystemExit(main())
