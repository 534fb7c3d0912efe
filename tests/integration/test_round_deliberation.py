"""A funding round's deliberation stays the programme's: no municipal partner receives a proposal or its scores.

Tester 177 F2: a municipality's focal point is refused every proposal over HTTP (403), while its partner system,
subscribed on NATS, was sent each `ProposalSubmitted` (title, amount, planned beneficiaries) and each evaluator's
`ProposalScored` as the round was being scored: an interested party watched the deliberation. Both now go out under
`osv-programme.funding.<type>`, which no partner's filter takes; auditors read them in `GET /events`, reporting keeps
them for its alerts; what the round decides (`ProposalApproved`, the grant) still goes to the OSV's municipality.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import create_engine

from devtools import partners
from devtools.embedded import NatsServer
from devtools.nats_accounts import PARTNER_STREAM, source_filter
from services.funding.events import ProposalScored, ProposalSubmitted
from services.reporting.views.readmodel import ReadModel
from shared.events import decode
from shared.messaging import messages_on
from shared.roles import ALL_LIMA
from tests.integration.test_funding_rounds_api import RUBRIC, scoring
from tests.integration.test_programme_subjects import held
from tests.integration.test_subjects import subjects
from tests.support.clients import application_of
from tests.support.identity import TESTER, IssuedTokens
from tests.support.partners import Partner, created, events_of, partner_feed, stream_types
from tests.support.system import System, eventually, running_system

SJL = "150132"
DELIBERATION = {"ProposalSubmitted", "ProposalScored"}


def a_round_scored_and_decided(system: System) -> dict[str, str]:
    """An OSV of San Juan de Lurigancho submits a proposal to an open round; EV-1 scores it; the lead approves it and
    grants its seed fund. The ids of the OSV, the round and the proposal."""
    phase = created(system.funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))
    osv = created(system.registry.post("/osvs", json={"name": "Unidas de SJL", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"}))
    round_body = {
        "phase_id": phase, "name": "Fondos semilla 2021", "budget": "10000.00", "currency": "PEN", "opens_on": "2021-05-01",
        "closes_on": "2021-05-31", "eligibility": "mapped", "criteria": RUBRIC,
    }
    opened = system.funding.post("/rounds", json=round_body)
    assert opened.status_code == 201, opened.text
    round_id = opened.json()["id"]
    assigned = {"evaluator": "EV-1", "subject": TESTER, "assigned_on": "2021-05-01"}
    assert system.funding.post(f"/rounds/{round_id}/evaluators", json=assigned).status_code == 201
    proposal = {
        "osv_id": osv, "title": "Mural de la integración", "summary": "Un mural con vecinos.", "requested_amount": "4000.00",
        "planned_direct_beneficiaries": 40, "planned_indirect_beneficiaries": 300, "planned_outputs": [{"kind": "mural", "count": 1}],
        "submitted_on": "2021-05-10",
    }
    proposal_id = eventually(lambda: created(system.funding.post(f"/rounds/{round_id}/proposals", json=proposal)))  # once funding knows the OSV
    scored = system.funding.post(f"/proposals/{proposal_id}/scores", json=scoring("EV-1", 7, 6, 4))
    assert scored.status_code == 201, scored.text
    approved = system.funding.post(f"/proposals/{proposal_id}/approval", json={"amount": "4000.00", "approved_on": "2021-06-10"})
    assert approved.status_code == 201, approved.text
    system.wait_relayed()
    return {"osv": osv, "round": round_id, "proposal": proposal_id}


def funding_feed(system: System, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return system.funding.get("/events", params={"limit": 1000}, headers=headers or {}).json()["events"]  # type: ignore[no-any-return]


def partner_stream_types(credentials: partners.Credentials, expected: int) -> list[str]:
    """The type of every event the partner's stream holds, read with its own user once it holds ``expected`` (and a
    moment more, for a deliberation event to come, were it sourced)."""

    async def read() -> list[str]:
        async with Partner(credentials) as partner:
            for _ in range(600):
                if (await partner.js.stream_info(PARTNER_STREAM)).state.messages >= expected:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            messages = await partner.messages(f"all-{uuid4().hex[:8]}", ConsumerConfig(ack_policy=AckPolicy.NONE), batch=1000)
            return [json.loads(m.data)["type"] for m in messages]

    return asyncio.run(read())


def test_no_municipal_partner_receives_a_rounds_proposals_or_scores_and_the_programme_and_auditors_do(
    tmp_path: Path, nats_server: NatsServer, tokens: IssuedTokens
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        sjl = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
        mml = partners.add(nats_server.store_dir, "mml", nats_server.public_url)
        ids = a_round_scored_and_decided(system)

        # On the funding stream: the deliberation under the programme's own subjects, the decision under the OSV's municipality.
        assert subjects(nats_server.url, "OSV_FUNDING") == [
            "osv.funding.none.PhaseOpened",
            "osv.funding.none.RoundOpened",
            "osv-programme.funding.ProposalSubmitted",
            "osv-programme.funding.ProposalScored",
            f"osv.funding.{SJL}.ProposalApproved",
        ]
        feed = funding_feed(system)
        deliberation = [e for e in feed if e["type"] in DELIBERATION]
        assert [(e["type"], e.get("audience"), e.get("municipality")) for e in deliberation] == [
            ("ProposalSubmitted", "programme", None), ("ProposalScored", "programme", None),
        ]

        # Neither the district's partner nor the MML's, on NATS (their own users and streams) or in their feeds.
        district = events_of(system, SJL)
        assert "ProposalApproved" in {e["type"] for e in feed if e["id"] in district}
        assert sorted(partner_stream_types(sjl, len(district))) == ["OSVMapped", "ProposalApproved"]
        lima = {e["id"] for client in system.writers().values() for e in client.get("/events", params={"limit": 1000}).json()["events"]
                if e.get("audience") is None}
        assert not DELIBERATION & set(partner_stream_types(mml, len(lima)))
        assert not DELIBERATION & set(stream_types(nats_server.url, "OSV_FUNDING", source_filter("funding", "mml")))  # a consumer it may make
        assert not DELIBERATION & {e["type"] for e in funding_feed(system, tokens.headers(f"partner-{SJL}"))}
        assert partner_feed(system, tokens.headers(f"partner-{SJL}")) == district
        mml_page = system.funding.app.state.runtime.event_page(0, 1000, ALL_LIMA, programme=False)  # type: ignore[attr-defined] # partner-mml's reach
        assert [e["type"] for e in mml_page.events] == ["PhaseOpened", "RoundOpened", "ProposalApproved"]
        # The focal point's API says the same: no proposal (403), so no feed of them either.
        assert system.funding.get(f"/proposals/{ids['proposal']}", headers=tokens.headers(f"municipal-{SJL}")).status_code == 403

        # The programme's services consume them on their own subject; auditors read them in the feed, with no hole.
        assert stream_types(nats_server.url, "OSV_FUNDING", "osv-programme.funding.>") == ["ProposalSubmitted", "ProposalScored"]
        audited = funding_feed(system, tokens.headers("auditor"))
        assert [e["id"] for e in audited] == [e["id"] for e in feed]
        assert [e["previousposition"] for e in audited] == [0, *(e["position"] for e in audited[:-1])]
        scored = next(e for e in audited if e["type"] == "ProposalScored")["data"]
        assert (scored["evaluator"], [s["score"] for s in scored["scores"]]) == ("EV-1", [7, 6, 4])
        # Reporting kept both: its alerts judge them after a dissolution.
        facts = application_of(system.reporting).readmodel.facts(types=DELIBERATION)
        assert sorted(f.type for f in facts) == ["ProposalScored", "ProposalSubmitted"]


async def stream_events(url: str, stream: str) -> list[dict[str, Any]]:
    """Every message the stream holds, decoded, in order (the sequences a purge left empty skipped)."""
    nc = await nats.connect(url)
    try:
        return [decode(message.data) async for message in messages_on(nc.jetstream(), stream, ">")]
    finally:
        await nc.close()


def a_second_proposal_scored(system: System, round_id: str) -> None:
    """An OSV of Comas submits a proposal to the round, and EV-1 scores it."""
    osv = created(system.registry.post("/osvs", json={"name": "Unidos por Comas", "district": "Comas", "mapped_on": "2021-03-16"}))
    proposal = {
        "osv_id": osv, "title": "Feria binacional", "summary": "Una feria.", "requested_amount": "3000.00",
        "planned_direct_beneficiaries": 20, "planned_indirect_beneficiaries": 100, "planned_outputs": [], "submitted_on": "2021-05-12",
    }
    proposal_id = eventually(lambda: created(system.funding.post(f"/rounds/{round_id}/proposals", json=proposal)))
    assert system.funding.post(f"/proposals/{proposal_id}/scores", json=scoring("EV-1", 5, 5, 3)).status_code == 201
    system.wait_relayed()


def test_proposals_and_scores_a_running_system_sent_partners_are_moved_off_their_subjects_and_every_rebuild_keeps_them(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch, tokens: IssuedTokens
) -> None:
    """The version before published the deliberation under the OSV's municipality (``osv.funding.150132.ProposalScored``),
    as partners' events, and partners' streams took it. The new version, started on the same stores and nats-server:
    the server's start purges the partners' streams, funding's relay moves its stream's copies to the programme's subject;
    reporting keeps every proposal and score, applied before the move or rebuilt after it from the stream or the feed."""
    var = tmp_path / "var"
    with monkeypatch.context() as earlier:
        for public in (ProposalSubmitted, ProposalScored):
            earlier.setattr(public, "for_partners", True)
        with running_system(var, nats_server.url) as system:
            sjl = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
            ids = a_round_scored_and_decided(system)
            district = events_of(system, SJL)
            assert DELIBERATION <= set(partner_stream_types(sjl, len(district)))  # the fault
            before = [e for e in funding_feed(system) if e["type"] in DELIBERATION]
            assert [e["municipality"] for e in before] == [SJL, SJL] and not any("audience" in e for e in before)
    formers = [s for s, _ in asyncio.run(held(nats_server.url, "OSV_FUNDING")) if s.endswith(tuple(DELIBERATION))]
    assert formers == [f"osv.funding.{SJL}.ProposalSubmitted", f"osv.funding.{SJL}.ProposalScored"]

    nats_server.restart()  # the new version: its start purges the partners' streams
    with running_system(var, nats_server.url) as system:
        eventually(lambda: not any(s.startswith("osv.funding.") and s.endswith(tuple(DELIBERATION))
                                   for s, _ in asyncio.run(held(nats_server.url, "OSV_FUNDING"))) or None)
        moved = [(s, i) for s, i in asyncio.run(held(nats_server.url, "OSV_FUNDING")) if s.startswith("osv-programme.")]
        assert moved == [("osv-programme.funding.ProposalSubmitted", f"{before[0]['id']}:moved"),
                         ("osv-programme.funding.ProposalScored", f"{before[1]['id']}:moved")]
        assert sorted(partner_stream_types(sjl, 2)) == ["OSVMapped", "ProposalApproved"]
        a_second_proposal_scored(system, ids["round"])  # after the move: under the programme's subject from the start
        reporting = application_of(system.reporting).readmodel
        eventually(lambda: len(reporting.facts(types=DELIBERATION)) == 4 or None)
        kept = sorted(f.event_id for f in reporting.facts(types=DELIBERATION))
        audited = [e for e in funding_feed(system, tokens.headers("auditor")) if e["type"] in DELIBERATION]
        assert all(e["audience"] == "programme" and "municipality" not in e for e in audited)

    # A read model made again from the stream (old copies carry no audience, new events do), and one from an
    # auditor's feed (osv-replay's), each keeps all four, once.
    from_stream = ReadModel(create_engine(f"sqlite:///{tmp_path / 'from-stream.db'}"))
    from_stream.apply(asyncio.run(stream_events(nats_server.url, "OSV_FUNDING")))
    assert sorted(f.event_id for f in from_stream.facts(types=DELIBERATION)) == kept
    from_feed = ReadModel(create_engine(f"sqlite:///{tmp_path / 'from-feed.db'}"))
    from_feed.apply(audited)
    assert sorted(f.event_id for f in from_feed.facts(types=DELIBERATION)) == kept == sorted(e["id"] for e in audited)
