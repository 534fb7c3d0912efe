"""A programme's log for the tests of the alerts' facts (``tests/integration/test_dashboard_alert_facts.py`` and
``test_dashboard_alerts_carried_forward.py``): dissolved OSVs that go on getting facts, merges, withdrawals, and the
orders the services' events may arrive in."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from tests.support.programmelog import START, arriving_out_of_order, cloudevent, programme_log


def watched_log() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A programme's log whose dissolved OSVs go on getting facts (as if funding's and engagement's copies lagged
    registry for good), and besides: a record merged into a dissolved OSV with a fact dated after the dissolution, a
    grant to that OSV dated ahead of the day it was recorded (as before the date rule of 2026-12), and two activities of
    that OSV dated after the dissolution, withdrawn: one before the dissolution was recorded, one after, and an evaluator's
    scoring of its proposal dated after the dissolution. And a record merged into an OSV that lives on, with a grant
    recorded before the merge, a backlog grant recorded after it (dated before it), a tranche after it, and an activity
    after it, withdrawn. Returns the log and the ids of those events (``merged_fact``, ``dated_ahead``; the activities'
    reports, ``withdrawn_early`` and ``withdrawn_late``, and the late one's withdrawal, ``withdrawal``; ``scored``;
    ``before_merge``, ``backlog``, ``tranche``, ``merged_activity``, ``merged_withdrawal``) and of the dissolved OSV
    (``dissolved``), the record merged into it (``merged``), the OSV that lives on (``alive``) and the record merged into
    it (``duplicate``)."""
    events = programme_log(1200, seed=41)
    dissolution = next(e for e in events if e["type"] == "OSVDissolved" and e["data"]["dissolved_on"] > "2021-02-01")
    dissolved, day = dissolution["data"]["osv_id"], date.fromisoformat(dissolution["data"]["dissolved_on"])
    gone = {e["data"]["osv_id"] for e in events if e["type"] == "OSVDissolved"}
    merged = next(e["data"] for e in events if e["type"] == "OSVMapped" and e["data"]["osv_id"] not in gone)
    last = {s: max(e["position"] for e in events if e["source"].endswith(s)) for s in ("registry", "funding", "engagement")}
    at = datetime.fromisoformat(dissolution["time"].replace("Z", "+00:00"))
    after = (day + timedelta(days=1)).isoformat()
    ahead = (day + timedelta(days=400)).isoformat()
    events += [
        cloudevent("registry", last["registry"] + 1, "OSVMerged", merged["osv_id"], at - timedelta(minutes=1), osv_id=merged["osv_id"],
                   into_osv_id=dissolved, merged_on=day.isoformat(), district=merged["district"], zone=merged["zone"],
                   mapped_on=merged["mapped_on"], occurred_on=day.isoformat()),
        cloudevent("engagement", last["engagement"] + 1, "TechnicalAssistanceGiven", merged["osv_id"], at + timedelta(days=2),
                   osv_id=merged["osv_id"], assistance_id="ta-merged", given_on=after, hours=3, occurred_on=after),
        cloudevent("funding", last["funding"] + 1, "FundGranted", "grant-ahead", START, grant_id="grant-ahead", osv_id=dissolved,
                   amount="900.00", currency="PEN", kind="seed_fund", support="first_time", proposal_id=None, round_id=None,
                   granted_on=ahead, occurred_on=ahead),
    ]
    position = last["engagement"] + 1
    for name, reported_at, withdrawn_at in (("early", at - timedelta(hours=3), at - timedelta(hours=2)),
                                            ("late", at + timedelta(days=3), at + timedelta(days=5))):
        activity = f"activity-withdrawn-{name}"
        events += [
            cloudevent("engagement", position + 1, "ActivityReported", activity, reported_at, activity_id=activity, osv_id=dissolved,
                       held_on=after, kind="mural_painting", district="Comas", zone="Lima Norte", indirect_beneficiaries=0,
                       grant_id=None, direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 3}], outputs=[], occurred_on=after),
            cloudevent("engagement", position + 2, "ActivityWithdrawn", activity, withdrawn_at, activity_id=activity, osv_id=dissolved,
                       held_on=after, withdrawn_on=withdrawn_at.date().isoformat(), occurred_on=withdrawn_at.date().isoformat()),
        ]
        position += 2
    events.append(cloudevent("funding", last["funding"] + 2, "ProposalScored", "proposal-late", at + timedelta(days=1),
                             proposal_id="proposal-late", round_id="round-1", osv_id=dissolved, evaluator="EV-1",
                             scores=[{"criterion": "impact", "score": 7}], weighted_total="70.00", scored_on=after, occurred_on=after))
    alive, duplicate = [e["data"] for e in events if e["type"] == "OSVMapped" and e["data"]["osv_id"] not in gone][1:3]
    merged_at = at + timedelta(days=10)
    merged_on = merged_at.date().isoformat()
    backlog_on = (merged_at - timedelta(days=20)).date().isoformat()

    def grant(position: int, grant_id: str, time: datetime, on: str) -> dict[str, Any]:
        return cloudevent("funding", position, "FundGranted", grant_id, time, grant_id=grant_id, osv_id=duplicate["osv_id"], amount="300.00",
                          currency="PEN", kind="goods", support="first_time", proposal_id=None, round_id=None, granted_on=on, occurred_on=on)

    events += [
        grant(last["funding"] + 3, "grant-before-merge", merged_at - timedelta(hours=1), backlog_on),
        cloudevent("registry", last["registry"] + 2, "OSVMerged", duplicate["osv_id"], merged_at, osv_id=duplicate["osv_id"],
                   into_osv_id=alive["osv_id"], merged_on=merged_on, district=duplicate["district"], zone=duplicate["zone"],
                   mapped_on=duplicate["mapped_on"], occurred_on=merged_on),
        grant(last["funding"] + 4, "grant-backlog", merged_at + timedelta(hours=1), backlog_on),
        cloudevent("funding", last["funding"] + 5, "DisbursementMade", "grant-before-merge", merged_at + timedelta(hours=2),
                   grant_id="grant-before-merge", osv_id=duplicate["osv_id"], disbursement_id="d-merged", tranche=1, amount="100.00",
                   currency="PEN", disbursed_on=merged_on, occurred_on=merged_on),
        cloudevent("engagement", position + 1, "ActivityReported", "activity-merged", merged_at + timedelta(hours=3),
                   activity_id="activity-merged", osv_id=duplicate["osv_id"], held_on=merged_on, kind="mural_painting", district="Comas",
                   zone="Lima Norte", indirect_beneficiaries=0, grant_id=None, direct_beneficiaries=[], outputs=[], occurred_on=merged_on),
        cloudevent("engagement", position + 2, "ActivityWithdrawn", "activity-merged", merged_at + timedelta(hours=4),
                   activity_id="activity-merged", osv_id=duplicate["osv_id"], held_on=merged_on, withdrawn_on=merged_on, occurred_on=merged_on),
    ]
    ids = {"dissolved": dissolved, "merged": merged["osv_id"], "merged_fact": f"engagement:{last['engagement'] + 1}",
           "dated_ahead": f"funding:{last['funding'] + 1}", "withdrawn_early": f"engagement:{last['engagement'] + 2}",
           "withdrawn_late": f"engagement:{last['engagement'] + 4}", "withdrawal": f"engagement:{last['engagement'] + 5}",
           "scored": f"funding:{last['funding'] + 2}", "alive": alive["osv_id"], "duplicate": duplicate["osv_id"],
           "before_merge": f"funding:{last['funding'] + 3}", "backlog": f"funding:{last['funding'] + 4}",
           "tranche": f"funding:{last['funding'] + 5}", "merged_activity": f"engagement:{position + 1}",
           "merged_withdrawal": f"engagement:{position + 2}"}
    return events, ids


def batches_in(order: str, events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    by_source = {s: [e for e in events if e["source"].endswith(s)] for s in ("registry", "funding", "engagement")}
    if order == "registry first":  # as a rebuild reads the streams
        return [by_source["registry"], by_source["funding"], by_source["engagement"]]
    if order == "registry last":  # every dissolution arrives after the facts it judges
        return [by_source["engagement"], by_source["funding"], by_source["registry"]]
    return arriving_out_of_order(events, seed=42, batch=60)
