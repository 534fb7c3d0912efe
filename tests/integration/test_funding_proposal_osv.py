"""Every reader of a proposal sees which OSV it is (tester 37c F10): an evaluator, who reads no OSV in registry, was shown
only an ``osv_id`` and scored an organisation it could neither name nor place. A proposal (and the ranking) now shows
its OSV's name, district, zone and RUOS registration from funding's view of registry's OSVs, which keeps the name
``OSVMapped`` gives. A view database made before it kept names has the column added at start and its names filled from
registry's feed; until then a name reads null, never an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from devtools.embedded import NatsServer
from services.funding.settings import FundingSettings
from shared.views import make_engine
from tests.integration.test_funding_rounds_api import a_proposal, a_round, as_holder, registry, score
from tests.support.api import created, ok
from tests.support.identity import SignedInAs
from tests.support.served import served_system
from tests.support.system import eventually, running_system

pytestmark = [pytest.mark.timeout(180), pytest.mark.service("funding")]


def osv_shown(proposal: dict[str, Any]) -> tuple[str | None, str | None, str | None, bool | None]:
    """What a reader is shown of a proposal's OSV: name, district, zone, RUOS registration."""
    osv = proposal["osv"]
    assert osv["id"] == proposal["osv_id"]
    return osv["name"], osv["district"], osv["zone"], osv["registered_in_ruos"]


def test_an_evaluator_reading_a_rounds_proposals_sees_each_ones_osv_by_name_and_district(client: TestClient) -> None:
    upstream = registry(client)
    comas = upstream.osv_mapped("Comas", "Lima Norte", name="Mujeres Emprendedoras de Comas")
    upstream.ruos_registered(comas)
    breña = upstream.osv_mapped("Breña", "Lima Centro", name="Venezolanos Unidos en Breña")
    round_ = a_round(client)
    rid = round_["id"]
    first = a_proposal(client, rid, comas)
    second = a_proposal(client, rid, breña, title="Feria gastronómica")

    # The evaluator (EV-2), who reads no OSV in registry, sees which organisation each proposal is, where, and whether registered.
    evaluator = as_holder(client, "EV-2")
    listed = ok(evaluator.get(f"/rounds/{rid}/proposals"))
    assert [osv_shown(p) for p in listed] == [
        ("Mujeres Emprendedoras de Comas", "Comas", "Lima Norte", True),
        ("Venezolanos Unidos en Breña", "Breña", "Lima Centro", False),
    ]
    assert osv_shown(ok(evaluator.get(f"/proposals/{second['id']}"))) == ("Venezolanos Unidos en Breña", "Breña", "Lima Centro", False)
    only_breña = ok(evaluator.get(f"/rounds/{rid}/proposals", params={"osv_id": breña, "status": "submitted"}))
    assert [(p["id"], osv_shown(p)[0]) for p in only_breña] == [(second["id"], "Venezolanos Unidos en Breña")]
    assert [p["id"] for p in ok(evaluator.get(f"/rounds/{rid}/proposals", params={"limit": 1}))] == [first["id"]]  # a page
    scored = score(client, first["id"], "EV-2", 8, 6, 4)  # its scoring's answer too
    assert osv_shown(scored) == ("Mujeres Emprendedoras de Comas", "Comas", "Lima Norte", True)

    # So do the lead (the submission's answer, the ranking), staff and auditors.
    assert osv_shown(first)[0] == "Mujeres Emprendedoras de Comas"
    for name in ("lead", "staff", "auditor"):
        reader = SignedInAs(client, name)
        assert [osv_shown(p)[0] for p in ok(reader.get(f"/rounds/{rid}/proposals"))] == [
            "Mujeres Emprendedoras de Comas", "Venezolanos Unidos en Breña"
        ], name
        ranked = ok(reader.get(f"/rounds/{rid}/ranking"))["proposals"]
        assert [(s["osv_id"], s["osv"]["name"], s["osv"]["district"]) for s in ranked] == [
            (comas, "Mujeres Emprendedoras de Comas", "Comas"),
            (breña, "Venezolanos Unidos en Breña", "Breña"),
        ], name


def test_a_merged_osvs_proposal_shows_the_osv_as_recorded_and_the_one_it_was_merged_into(client: TestClient) -> None:
    upstream = registry(client)
    duplicate = upstream.osv_mapped("Ate", "Lima Este", name="Asociación Huaycán Solidario")
    survivor = upstream.osv_mapped("Ate", "Lima Este", name="Huaycán Solidario")
    rid = a_round(client)["id"]
    proposal = a_proposal(client, rid, duplicate)
    assert ok(client.get(f"/proposals/{proposal['id']}"))["osv"]["merged_into_osv_id"] is None

    upstream.osv_merged(duplicate, survivor, merged_on="2021-05-20")

    shown = ok(as_holder(client, "EV-2").get(f"/proposals/{proposal['id']}"))["osv"]
    assert (shown["id"], shown["name"], shown["merged_into_osv_id"]) == (duplicate, "Asociación Huaycán Solidario", survivor)


# A views database from before the directory kept names ------------------------------------------------------------


def drop_name_column(settings: FundingSettings) -> None:
    """Funding's view database as the version before this one left it: ``known_osvs`` without ``name``."""
    engine = make_engine(settings.view_url())
    with engine.begin() as connection:
        # SQLite checks every view of the file on DROP COLUMN, and the key table's stand-in reads a table that is gone
        # by design (shared.sealing.move_rows): it is put back as it was.
        views = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'view'")).all() if engine.dialect.name == "sqlite" else []
        for name, _ in views:
            connection.execute(text(f'DROP VIEW "{name}"'))
        connection.execute(text("ALTER TABLE known_osvs DROP COLUMN name"))
        for _, sql in views:
            connection.execute(text(sql))
    engine.dispose()


def test_an_osv_directory_made_before_it_kept_names_gets_the_column_and_its_names_from_registrys_feed(
    tmp_path: Path, nats_server: NatsServer, database_url: str
) -> None:
    var = tmp_path / "var"
    urls = {} if database_url.startswith("sqlite") else {"funding": database_url}
    with served_system(var, nats_server.url, urls) as (system, served):
        osv = created(system.registry.post("/osvs", json={"name": "Unidos por Comas", "district": "comas", "mapped_on": "2021-03-15"}))
        osvs = served["funding"].runtime.app.osvs
        eventually(lambda: osvs.get(UUID(osv["id"])) is not None)
        round_ = a_round(system.funding)
        proposal = a_proposal(system.funding, round_["id"], osv["id"])
        assert proposal["osv"]["name"] == "Unidos por Comas"
    funding = FundingSettings(var_dir=var, database_url=urls.get("funding"))
    drop_name_column(funding)

    # Started again where registry's feed cannot be read: the column is added, and the name reads null, never an error.
    with running_system(var, nats_server.url, urls) as system:
        listed = ok(as_holder(system.funding, "EV-2").get(f"/rounds/{round_['id']}/proposals"))
        assert [osv_shown(p) for p in listed] == [(None, "Comas", "Lima Norte", False)]

    # With registry's feed there, the follower fills the names the rows lack: no step by hand.
    with served_system(var, nats_server.url, urls) as (system, served):
        evaluator = as_holder(system.funding, "EV-2")

        def named() -> bool:
            return [osv_shown(p)[0] for p in ok(evaluator.get(f"/rounds/{round_['id']}/proposals"))] == ["Unidos por Comas"]

        eventually(named, timeout=60)
        # An OSV mapped after the upgrade is named as its OSVMapped arrives.
        later = created(system.registry.post("/osvs", json={"name": "Manos Amigas", "district": "Ate", "mapped_on": "2021-03-20"}))
        osvs = served["funding"].runtime.app.osvs
        eventually(lambda: osvs.describe([later["id"]])[later["id"]].name == "Manos Amigas")
