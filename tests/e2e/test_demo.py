"""The demo is the practice's 2021 story, and the report shows exactly the practice's figures."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from deploy.demo import DIRECT_BENEFICIARIES, INDIRECT_BENEFICIARIES, Apis, load
from devtools.embedded import NatsServer
from tests.support.identity import SECOND_EVALUATOR, TESTER, SignedInAs
from tests.support.system import running_system


class PhaseTable(HTMLParser):
    """The dashboard's phase table as {indicator: [text of each phase's cell, then the total's]}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self._row: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr" and dict(attrs).get("data-indicator") and self._row is None:
            self._row = dict(attrs)["data-indicator"]
            self.rows.setdefault(self._row, [])
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self.rows[self._row].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_the_2021_story_loaded_through_the_apis_gives_the_practices_figures_on_the_indicators_and_the_dashboard(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        # The shared clients sign in as the tester, lead and evaluator at once: it assigns itself each round's first evaluator
        # code, and the second to another person, who scores under it (a round's codes are distinct people's).
        loaded = load(Apis(
            system.registry, system.funding, system.engagement, evaluator=TESTER,
            second_scoring=SignedInAs(system.funding, SECOND_EVALUATOR), second_evaluator=SECOND_EVALUATOR,
        ))
        system.wait_relayed()
        system.wait_applied()
        report = system.indicators()
        dashboard = system.reporting.get("/dashboard").text
        # The README's as_of example: the moment funding recorded the demo's first grant.
        first_grant = next(e["time"] for e in system.funding.get("/events", params={"limit": 1000}).json()["events"] if e["type"] == "FundGranted")
        then = system.reporting.get("/indicators", params={"as_of": first_grant}).json()

    assert len(loaded.osv_ids) == 30
    phase1, phase2 = report["phases"]
    one, two = phase1["indicators"], phase2["indicators"]

    # As of the first grant's recording: phase 1's OSVs and registrations, one grant, no agent of change yet.
    assert then["as_of"] is not None
    first = {p["code"]: p["indicators"] for p in then["phases"]}
    assert (first["F1"]["osvs_identified"], first["F1"]["osvs_registered_ruos"]) == (30, 7)
    assert then["total"]["osvs_supported"]["total"] == 1 and then["total"]["agents_of_change"]["total"] == 0

    # Phase 1: 30 OSVs identified, 7 registered in the RUOS.
    assert (phase1["code"], one["osvs_identified"], one["osvs_registered_ruos"]) == ("F1", 30, 7)

    # Phase 2, October to December 2021.
    assert phase2["code"] == "F2"
    assert two["projects_active"] == 4
    assert two["osvs_supported"] == {"total": 5, "first_time": 3, "repeat": 2}
    assert two["agents_of_change"]["total"] == 42
    assert two["agents_of_change"]["by_nationality"] == {"VE": 29, "PE": 13}
    assert (DIRECT_BENEFICIARIES, INDIRECT_BENEFICIARIES) == (496, 1215)
    assert two["beneficiaries_direct"]["total"] == 496
    assert two["beneficiaries_indirect"] == 1215
    assert two["murals"] == 4
    assert two["public_spaces_recovered"] == 4

    # The dashboard, in Spanish, shows the same figures in its phase table (the first table on the page).
    table = PhaseTable()
    table.feed(dashboard)
    rows = table.rows
    assert rows["osvs_identified"][0] == "30"
    assert rows["osvs_registered_ruos"][0] == "7"
    assert rows["projects_active"][1] == "4"
    assert rows["beneficiaries_indirect"][1] == "1215"
    assert "Total: 496" in rows["beneficiaries_direct"][1]
    assert "Total: 42" in rows["agents_of_change"][1]
    assert "Perú: 13" in rows["agents_of_change"][1] and "Venezuela: 29" in rows["agents_of_change"][1]
    assert "Total: 5" in rows["osvs_supported"][1] and "Nuevamente: 2" in rows["osvs_supported"][1]
    assert rows["murals"][1] == "4"
