"""An import right after the mapping: the members of an OSV engagement has not heard of yet wait for it, a bounded while.

Engagement knows registry's OSVs from registry's events, a second or so after
the mapping; until then it refuses a member with 422 ``osv_mapped_in_registry``
and ``Retry-After``. ``osv-import`` (and the Kobo webhook, through the same
:class:`~services.imports.application.Services`) sends the row again after
that delay instead of refusing it, and refuses it only when the OSV stays
unknown (a mistyped id). Engagement is real, in this process; its NATS is out
of reach, so registry's event arrives only when the test hands it over: during
the import's wait (the ``sleep`` it is given), or never.
"""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from services.imports.application import Importer, Outcome, Services, Summary
from services.imports.cli import print_summary
from services.imports.domain.commands import Row, row_of
from services.imports.exports import from_kobo_json
from services.imports.forms import shipped
from services.imports.report import write_report
from shared.errors import LAG_RETRY_AFTER_SECONDS
from tests.support.api import Upstream
from tests.support.clients import application_of
from tests.support.identity import signed_in_headers
from tests.support.kobo import Answers, kobo_json

pytestmark = pytest.mark.timeout(120)

MEMBERS = shipped()["osv_members"]


def members_of(osv_id: str) -> Row:
    """A Kobo submission registering three people in the OSV: three commands to engagement."""
    people = [
        {"nombre_completo": name, "tipo_documento": "DNI", "numero_documento": document, "nacionalidad": "PE", "sexo": "F",
         "rol": "member", "fecha_ingreso": "2021-04-01"}
        for name, document in (("Rosa Quispe", "41234567"), ("Carmen Huamán", "42345678"), ("Lucía Torres", "43456789"))
    ]
    submission = Answers({"osv": osv_id}, {"miembros": people})
    return row_of(MEMBERS, from_kobo_json(kobo_json(MEMBERS, submission), MEMBERS))


def services_on(engagement: TestClient, sleep: list[float], on_sleep: object = None) -> Services:
    """The import's own client, its requests answered by ``engagement``; each wait recorded in ``sleep`` (then ``on_sleep()``)."""

    def waited(seconds: float) -> None:
        sleep.append(seconds)
        if callable(on_sleep):
            on_sleep()

    token = signed_in_headers()["Authorization"].removeprefix("Bearer ")
    urls = {"registry": "http://registry.invalid", "engagement": str(engagement.base_url)}
    return Services(urls, token, transport=engagement._transport, sleep=waited)  # noqa: SLF001 - the test client's app, in process


def test_a_members_row_sent_before_engagement_heard_of_the_osv_is_sent_again_after_the_delay_and_recorded(engagement: TestClient) -> None:
    osv_id = str(uuid4())
    registry, waits = Upstream(application_of(engagement)), []
    services = services_on(engagement, waits, on_sleep=lambda: registry.osv_mapped(osv_id=osv_id, mapped_on="2021-03-15"))

    result = Importer(services).run_row(members_of(osv_id), dry_run=False)

    assert (result.outcome, result.problems) == (Outcome.CREATED, [])
    assert waits == [LAG_RETRY_AFTER_SECONDS]  # once, as long as engagement asked: its view had the OSV then
    roster = engagement.get(f"/osvs/{osv_id}/members", params={"purpose": "follow_up"}).json()
    assert sorted(m["full_name"] for m in roster) == ["Carmen Huamán", "Lucía Torres", "Rosa Quispe"]


def test_a_row_naming_an_osv_that_never_arrives_is_refused_after_a_bounded_wait_paid_once_per_row(engagement: TestClient) -> None:
    waits: list[float] = []
    importer = Importer(services_on(engagement, waits))

    result = importer.run_row(members_of(str(uuid4())), dry_run=False)  # a mistyped id: no event will ever name it

    assert result.outcome == Outcome.REFUSED
    assert {(p.field, p.rule) for p in result.problems} == {("osv_id", "osv_mapped_in_registry")}
    assert waits == [LAG_RETRY_AFTER_SECONDS] * 2  # twice for the first member; the other two are not waited for again
    assert application_of(engagement).log_head() == 0  # nothing recorded


def test_rows_naming_an_osv_waited_for_in_vain_are_not_waited_for_again_but_another_osv_is(engagement: TestClient) -> None:
    """A members' sheet whose rows all carry one mistyped OSV id waited two seconds per row: 500 rows, 17 minutes."""
    waits: list[float] = []
    registry = Upstream(application_of(engagement))
    arriving = str(uuid4())
    importer = Importer(services_on(engagement, waits, on_sleep=lambda: len(waits) > 2 and registry.osv_mapped(osv_id=arriving)))
    mistyped = str(uuid4())

    refused = [importer.run_row(members_of(mistyped), dry_run=False) for _ in range(3)]
    assert [r.outcome for r in refused] == [Outcome.REFUSED] * 3
    assert all({(p.field, p.rule) for p in r.problems} == {("osv_id", "osv_mapped_in_registry")} for r in refused)
    assert waits == [LAG_RETRY_AFTER_SECONDS] * 2  # for the first row only

    assert importer.run_row(members_of(arriving), dry_run=False).outcome == Outcome.CREATED  # another OSV, just mapped: waited for
    assert waits == [LAG_RETRY_AFTER_SECONDS] * 3


def test_the_spreadsheets_report_says_to_run_the_import_again_not_to_retry_after_a_header_it_has_not(
    engagement: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Engagement's "(retry after Retry-After)" reached osv-import's report and output, where there is no header (tester 206 F4)."""
    summary = Summary(results=[Importer(services_on(engagement, [])).run_row(members_of(str(uuid4())), dry_run=False)])
    [problem] = summary.results[0].problems
    assert problem.rule == "osv_mapped_in_registry" and "(retry after Retry-After)" in problem.message  # engagement's words

    sheet = load_workbook(write_report(summary, tmp_path / "socios.import-report.xlsx", "socios.xlsx"))["Problems"]
    [message] = [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert message.endswith("is known within seconds (run the import again in a moment)") and "Retry-After" not in message
    print_summary(summary, MEMBERS, tmp_path / "socios.import-report.xlsx")
    printed = capsys.readouterr().out
    assert "(run the import again in a moment)" in printed and "Retry-After" not in printed
