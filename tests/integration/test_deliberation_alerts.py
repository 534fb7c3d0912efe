"""Reporting keeps a round's deliberation, which no partner receives, and its alerts judge it after a dissolution.

Since tester 177 F2, funding publishes `ProposalSubmitted` and `ProposalScored` for the programme alone (`audience`
`programme`, no `municipality`), as engagement publishes `OSVDocumentsCounted`, which reporting leaves out. It keeps the
deliberation: its alerts list a proposal submitted or scored after the OSV dissolved, to those who read proposals.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.clients import application_of
from tests.support.identity import signed_in_headers
from tests.support.reporting_feed import ReportingFeed

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("reporting")]


def for_the_programme(feed: ReportingFeed, event_type: str, on: str, **data: Any) -> str:
    """One event of funding's as it publishes an event no partner reads; its id."""
    feed.positions["funding"] += 1
    position = feed.positions["funding"]
    cloudevent = {
        "id": f"funding:{position}", "type": event_type, "source": "urn:osv-platform:funding", "subject": data["proposal_id"],
        "position": position, "time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"), "audience": "programme",
        "data": {"occurred_on": on, **data},
    }
    assert feed.readmodel.apply([cloudevent]) == 1
    feed.published.append(cloudevent)
    return cloudevent["id"]


def test_a_proposal_submitted_and_scored_after_a_dissolution_is_listed_to_those_who_read_proposals_not_to_the_focal_point(
    client: TestClient,
) -> None:
    readmodel = application_of(client).readmodel
    feed = ReportingFeed(readmodel, date.today())
    osv = feed.osv_mapped("Olla Común Nueva Vida", "San Juan de Lurigancho", "Lima Este", -120)
    feed.dissolved(osv, -40)
    late = feed.day(-30)
    proposal = {"proposal_id": "p-late", "round_id": "r-1", "osv_id": osv}
    submitted = for_the_programme(
        feed, "ProposalSubmitted", late, **proposal, title="Mural", requested_amount="4000.00", currency="PEN",
        planned_direct_beneficiaries=40, planned_indirect_beneficiaries=300, planned_outputs=[], submitted_on=late,
    )
    scored = for_the_programme(
        feed, "ProposalScored", late, **proposal, evaluator="EV-1", scores=[{"criterion": "impact", "score": 4}],
        weighted_total="75.00", scored_on=late,
    )
    # Not a count by document type: the programme's too, but no fact of reporting's (an auditor's feed leaves it out).
    feed.positions["engagement"] += 1
    counted = {"id": f"engagement:{feed.positions['engagement']}", "type": "OSVDocumentsCounted", "source": "urn:osv-platform:engagement",
               "subject": osv, "position": feed.positions["engagement"], "audience": "programme",
               "time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
               "data": {"occurred_on": late, "osv_id": osv, "counted_on": late, "board": {}, "members": {"CE": 1}}}
    assert readmodel.apply([counted]) == 1
    assert not readmodel.facts(types={"OSVDocumentsCounted"})

    listed = client.get("/alerts").json()["recorded_after_dissolution"]  # the tester: a lead and an auditor
    assert [(i["event_id"], i["type"], i["amount"]) for i in listed] == [(submitted, "ProposalSubmitted", "4000.00"), (scored, "ProposalScored", None)]
    audited = client.get("/alerts", headers=signed_in_headers("auditor")).json()["recorded_after_dissolution"]
    assert [i["event_id"] for i in audited] == [submitted, scored]
    # The district's focal point reads no proposal (403 at funding), so no alert of one either.
    focal = client.get("/alerts", headers=signed_in_headers("municipal-150132")).json()["recorded_after_dissolution"]
    assert focal == []

    # A read model made again from the same log (a rebuild) lists them as well.
    kept = client.get("/alerts").json()["recorded_after_dissolution"]
    readmodel.clear()
    assert readmodel.apply([*feed.published, counted]) == len(feed.published) + 1
    assert client.get("/alerts").json()["recorded_after_dissolution"] == kept == listed
