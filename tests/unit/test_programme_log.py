"""The generated programme's log (:func:`tests.support.programmelog.programme_log`) enrols, closes and pays out only as
engagement and funding would, so the reports' property checks (``tests/integration/test_reporting_as_of*``) compare
figures of a log the services could have published."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.programmelog import STRESSED, programme_log


@pytest.mark.parametrize("count, seed, shares", [(1200, 103, STRESSED), (1500, 3, {}), (1500, 41, {"merges": 0.02, "corrections": 0.04})])
def test_the_programme_log_enrols_and_closes_projects_only_as_engagement_and_funding_would(
    count: int, seed: int, shares: dict[str, float],
) -> None:
    """Helper 283: the log enrolled a member twice in a project (and in projects of OSVs they were no member of, and of
    goods), which engagement refuses, and a checkpoint's report then differed from the full fold's. Each enrolment is of
    an active member of the granted OSV, in a seed fund's open project, once, on or after the grant and the joining; a
    withdrawal ends it once, not before it; a grant closes once, not before its project's enrolments."""
    joined: dict[str, tuple[str, str]] = {}  # member -> OSV, joined on
    left: set[str] = set()
    granted: dict[str, tuple[str, str, str]] = {}  # grant -> OSV, kind, granted on
    closed: dict[str, str] = {}
    enrolled: dict[tuple[str, str], str] = {}
    withdrew: set[tuple[str, str]] = set()
    for e in programme_log(count, seed=seed, **shares):
        d, kind = e["data"], e["type"]
        if kind in ("MemberJoined", "MemberJoiningDateCorrected"):
            joined[d["member_id"]] = (d["osv_id"], d["joined_on"])
        elif kind == "MemberLeft":
            left.add(d["member_id"])
        elif kind == "FundGranted":
            granted[d["grant_id"]] = (d["osv_id"], d["kind"], d["granted_on"])
        elif kind == "GrantClosed":
            assert d["grant_id"] not in closed, e
            assert all(d["closed_on"] >= day for (_, grant), day in enrolled.items() if grant == d["grant_id"]), e
            closed[d["grant_id"]] = d["closed_on"]
        elif kind == "ParticipantEnrolled":
            member, grant = d["member_id"], d["grant_id"]
            osv, what, granted_on = granted[grant]
            assert (member, grant) not in enrolled and member not in left and grant not in closed, e
            assert (d["osv_id"], what) == (osv, "seed_fund") and joined[member][0] == osv, e
            assert d["enrolled_on"] >= max(granted_on, joined[member][1]), e
            enrolled[(member, grant)] = d["enrolled_on"]
        elif kind == "ParticipantWithdrew":
            member, grant = d["member_id"], d["grant_id"]
            assert (member, grant) not in withdrew and d["withdrew_on"] >= enrolled[(member, grant)], e
            withdrew.add((member, grant))
    assert len(enrolled) >= 30 and withdrew and any(grant in closed for _, grant in enrolled)


@pytest.mark.parametrize("count, seed, shares", [(1200, 103, STRESSED), (1500, 3, {})])
def test_the_programme_log_pays_grants_out_only_as_funding_would(count: int, seed: int, shares: dict[str, float]) -> None:
    """Session 65's note: the log paid tranches and goods after a grant's closing, goods on seed funds and tranches on
    goods grants, every tranche numbered 1, beyond the grant and in another currency, all of which funding refuses.
    Each tranche is a seed fund's next, each delivery a goods grant's, in the grant's currency, within its amount, on
    an open grant, not before the grant nor the payout before it; a closing is not before the last payout."""
    granted: dict[str, tuple[str, Decimal, str, str]] = {}  # grant -> kind, amount, currency, granted on
    paid: dict[str, list[tuple[Decimal, str]]] = {}  # grant -> each payout's value and day
    closed: set[str] = set()
    for e in programme_log(count, seed=seed, **shares):
        d, kind = e["data"], e["type"]
        if kind == "FundGranted":
            granted[d["grant_id"]] = (d["kind"], Decimal(d["amount"]), d["currency"], d["granted_on"])
        elif kind in ("DisbursementMade", "GoodsDelivered"):
            what, amount, currency, granted_on = granted[d["grant_id"]]
            before = paid.setdefault(d["grant_id"], [])
            value, on = (Decimal(d["amount"]), d["disbursed_on"]) if kind == "DisbursementMade" else (Decimal(d["total_value"]), d["delivered_on"])
            assert what == ("seed_fund" if kind == "DisbursementMade" else "goods") and d["currency"] == currency, e
            assert d["grant_id"] not in closed and on >= max([granted_on, *(day for _, day in before)]), e
            assert kind == "GoodsDelivered" or d["tranche"] == len(before) + 1, e
            assert sum(v for v, _ in before) + value <= amount, e
            before.append((value, on))
        elif kind == "GrantClosed":
            assert d["closed_on"] >= max(day for _, day in paid.get(d["grant_id"], [(None, "")])), e
            closed.add(d["grant_id"])
    tranches = [n for grant, payouts in paid.items() if granted[grant][0] == "seed_fund" for n in range(len(payouts))]
    assert max(tranches) >= 1 and any(granted[grant][0] == "goods" for grant in paid) and closed & set(paid)
