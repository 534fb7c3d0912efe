"""Indicators are grouped by the phase whose dates contain the day things happened."""

from __future__ import annotations

from datetime import date, datetime, timezone
from itertools import count

from services.reporting.indicators import Fact, report

_ids = count(1)
RECORDED = datetime(2022, 1, 10, tzinfo=timezone.utc)


def fact(event_type: str, day: str, **data: object) -> Fact:
    return Fact(f"t:{next(_ids)}", event_type, "s", date.fromisoformat(day), RECORDED, {"occurred_on": day, **data})


def phase(code: str, starts: str, ends: str) -> Fact:
    return fact("PhaseOpened", starts, code=code, name=f"Fase {code}", starts_on=starts, ends_on=ends)


def test_facts_recorded_before_their_phase_was_opened_still_count_in_it() -> None:
    facts = [
        fact("OSVMapped", "2021-03-01", osv_id="a"),
        fact("OSVMapped", "2021-11-01", osv_id="b"),
        phase("F2", "2021-10-01", "2021-12-31"),
        phase("F1", "2021-01-01", "2021-09-30"),
    ]
    result = report(facts)
    assert [p["code"] for p in result["phases"]] == ["F1", "F2"]
    assert [p["indicators"]["osvs_identified"] for p in result["phases"]] == [1, 1]
    assert result["total"]["osvs_identified"] == 2


def test_a_fact_outside_every_phase_counts_only_in_the_total() -> None:
    facts = [phase("F1", "2021-01-01", "2021-09-30"), fact("OSVMapped", "2020-12-31", osv_id="a")]
    result = report(facts)
    assert result["phases"][0]["indicators"]["osvs_identified"] == 0
    assert result["total"]["osvs_identified"] == 1


def test_osvs_supported_counts_each_osv_once_and_seed_funds_sum_only_seed_funds_in_soles() -> None:
    facts = [
        fact("FundGranted", "2021-10-02", osv_id="a", amount="1000.00", currency="PEN", kind="seed_fund"),
        fact("FundGranted", "2021-10-03", osv_id="a", amount="250.50", currency="PEN", kind="seed_fund"),
        fact("FundGranted", "2021-10-04", osv_id="b", amount="800.00", currency="PEN", kind="goods"),
        fact("FundGranted", "2021-10-05", osv_id="c", amount="90.00", currency="USD", kind="seed_fund"),
    ]
    total = report(facts)["total"]
    assert total["osvs_supported"] == {"total": 3, "first_time": 3, "repeat": 0}
    assert total["seed_funds_granted_pen"] == "1250.50"


def test_members_joined_and_left_are_counted_by_nationality_and_reason() -> None:
    facts = [
        fact("MemberJoined", "2021-10-01", member_id="1", nationality="VE"),
        fact("MemberJoined", "2021-10-01", member_id="2", nationality="VE"),
        fact("MemberJoined", "2021-10-01", member_id="3", nationality="PE"),
        fact("MemberLeft", "2021-11-01", member_id="1", nationality="VE", reason="moved_abroad"),
        fact("MemberLeft", "2021-11-02", member_id="3", nationality="PE", reason="withdrew"),
    ]
    total = report(facts)["total"]
    assert total["members_joined"] == {"total": 3, "by_nationality": {"PE": 1, "VE": 2}}
    assert total["members_left"] == {"total": 2, "by_nationality": {"PE": 1, "VE": 1}}
    assert total["members_left_by_reason"] == {"moved_abroad": 1, "withdrew": 1}


def test_an_osv_registered_counts_in_the_phase_of_its_registration_not_of_its_mapping() -> None:
    facts = [
        phase("F1", "2021-01-01", "2021-09-30"),
        phase("F2", "2021-10-01", "2021-12-31"),
        fact("OSVMapped", "2021-05-01", osv_id="a"),
        fact("RUOSRegistered", "2021-10-15", osv_id="a", ruos_number="1"),
    ]
    first, second = report(facts)["phases"]
    assert (first["indicators"]["osvs_identified"], first["indicators"]["osvs_registered_ruos"]) == (1, 0)
    assert (second["indicators"]["osvs_identified"], second["indicators"]["osvs_registered_ruos"]) == (0, 1)
