"""Indicators are grouped by the phase whose dates contain the day things happened."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import count

from services.reporting.domain.indicators import Fact, flatten
from services.reporting.domain.tally import report

_ids = count(1)
RECORDED = datetime(2022, 1, 10, tzinfo=timezone.utc)


def fact(event_type: str, day: str, **data: object) -> Fact:
    """A fact recorded a second after the one made before it (so facts fold in the order they are written)."""
    n = next(_ids)
    return Fact(f"t:{n}", event_type, "s", date.fromisoformat(day), RECORDED + timedelta(seconds=n), {"occurred_on": day, **data})


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


def test_members_joined_and_left_are_counted_by_nationality_sex_and_reason() -> None:
    facts = [
        fact("MemberJoined", "2021-10-01", member_id="1", nationality="VE", sex="F"),
        fact("MemberJoined", "2021-10-01", member_id="2", nationality="VE", sex="M"),
        fact("MemberJoined", "2021-10-01", member_id="3", nationality="PE", sex="F"),
        fact("MemberLeft", "2021-11-01", member_id="1", nationality="VE", sex="F", reason="moved_abroad"),
        fact("MemberLeft", "2021-11-02", member_id="3", nationality="PE", sex="F", reason="withdrew"),
    ]
    total = report(facts)["total"]
    assert total["members_joined"] == {"total": 3, "by_nationality": {"PE": 1, "VE": 2}, "by_sex": {"F": 2, "M": 1}}
    assert total["members_left"] == {"total": 2, "by_nationality": {"PE": 1, "VE": 1}, "by_sex": {"F": 2}}
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


# --------------------------------------------------------------------------
# Every indicator of the contract, one story each
# --------------------------------------------------------------------------

F1 = ("F1", "2021-01-01", "2021-06-30")
F2 = ("F2", "2021-07-01", "2021-12-31")


def phases_of(result: dict[str, object]) -> dict[str, dict[str, object]]:
    return {p["code"]: p["indicators"] for p in result["phases"]}  # type: ignore[index, union-attr]


def mapped(osv: str, day: str, district: str = "Comas", zone: str = "Lima Norte") -> Fact:
    return fact("OSVMapped", day, osv_id=osv, district=district, zone=zone, mapped_on=day)


def test_the_registration_rate_divides_registered_by_identified_up_to_each_phase_end() -> None:
    facts = [
        phase(*F1), phase(*F2),
        mapped("a", "2021-02-01"), mapped("b", "2021-03-01"), mapped("c", "2021-08-01"),
        fact("RUOSRegistered", "2021-05-01", osv_id="a"),
        fact("RUOSRegistered", "2021-09-01", osv_id="b"),
    ]
    by_phase = phases_of(report(facts))
    assert (by_phase["F1"]["osvs_registered_ruos"], by_phase["F1"]["osvs_registered_ruos_cumulative"]) == (1, 1)
    assert (by_phase["F2"]["osvs_registered_ruos"], by_phase["F2"]["osvs_registered_ruos_cumulative"]) == (1, 2)
    assert by_phase["F1"]["ruos_registration_rate"] == "0.5000"
    assert by_phase["F2"]["ruos_registration_rate"] == "0.6667"  # 2 of 3, rounded half up
    assert report(facts)["total"]["ruos_registration_rate"] == "0.6667"


def test_the_registration_rate_is_zero_while_no_osv_was_identified() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-08-01")]
    by_phase = phases_of(report(facts))
    assert by_phase["F1"]["ruos_registration_rate"] == "0.0000"
    assert by_phase["F2"]["ruos_registration_rate"] == "0.0000"
    assert report([])["total"]["ruos_registration_rate"] == "0.0000"


def test_observed_applications_are_counted_with_each_reason() -> None:
    facts = [
        phase(*F1), mapped("a", "2021-01-05"),
        fact("RUOSApplicationObserved", "2021-02-01", osv_id="a", reasons=["missing_minutes", "board_incomplete"]),
        fact("RUOSApplicationObserved", "2021-03-01", osv_id="a", reasons=["missing_minutes"]),
    ]
    assert phases_of(report(facts))["F1"]["ruos_applications_observed"] == {
        "total": 2, "by_reason": {"board_incomplete": 1, "missing_minutes": 2}
    }


def test_an_observation_citing_a_reason_twice_counts_once_under_it() -> None:
    """Two documents missing are one observation for a missing document; it counted two (tester 37 F5)."""
    facts = [
        phase(*F1), mapped("a", "2021-01-05"),
        fact("RUOSApplicationObserved", "2021-02-01", osv_id="a", reasons=["missing_document", "missing_document", "other"]),
    ]
    assert phases_of(report(facts))["F1"]["ruos_applications_observed"] == {"total": 1, "by_reason": {"missing_document": 1, "other": 1}}


def enrolled(member: str, grant: str, day: str, nationality: str = "VE", sex: str = "F", osv: str = "a") -> Fact:
    return fact("ParticipantEnrolled", day, member_id=member, grant_id=grant, osv_id=osv, nationality=nationality, sex=sex)


def withdrew(member: str, grant: str, day: str, osv: str = "a") -> Fact:
    return fact("ParticipantWithdrew", day, member_id=member, grant_id=grant, osv_id=osv, nationality="VE", sex="F")


def test_an_agent_of_change_in_two_projects_counts_once_and_only_in_the_phases_they_took_part_in() -> None:
    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"),
        enrolled("ana", "g1", "2021-02-01"), enrolled("ana", "g2", "2021-03-01"),  # two projects, one person
        enrolled("luis", "g1", "2021-02-01", nationality="PE", sex="M"), withdrew("luis", "g1", "2021-05-01"),  # gone before F2
        enrolled("rosa", "g1", "2021-03-01", nationality="CO"), withdrew("rosa", "g1", "2021-07-01"),  # withdrew on F2's first day
        enrolled("omar", "g2", "2022-01-15", sex="M"),  # after F2
    ]
    result = report(facts)
    by_phase = phases_of(result)
    assert by_phase["F1"]["agents_of_change"] == {"total": 3, "new": 3, "by_nationality": {"PE": 1, "VE": 1, "other": 1}, "by_sex": {"F": 2, "M": 1}}
    # active in F2 are ana and rosa, carried over from F1: none of them is new in F2
    assert by_phase["F2"]["agents_of_change"] == {"total": 2, "new": 0, "by_nationality": {"VE": 1, "other": 1}, "by_sex": {"F": 2}}
    assert (result["total"]["agents_of_change"]["total"], result["total"]["agents_of_change"]["new"]) == (4, 4)


def test_a_project_is_active_from_its_grant_until_it_closes_and_goods_are_no_project() -> None:
    def granted(grant: str, day: str, kind: str = "seed_fund") -> Fact:
        return fact("FundGranted", day, grant_id=grant, osv_id="a", amount="1000.00", currency="PEN", kind=kind)

    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"),
        granted("closed-in-f1", "2021-02-01"), fact("GrantClosed", "2021-05-01", grant_id="closed-in-f1", osv_id="a", outcome="completed"),
        granted("open", "2021-03-01"),
        granted("closed-in-f2", "2021-04-01"), fact("GrantClosed", "2021-08-01", grant_id="closed-in-f2", osv_id="a", outcome="cancelled"),
        granted("late", "2021-12-31"),
        granted("goods", "2021-02-01", kind="goods"),
    ]
    result = report(facts)
    by_phase = phases_of(result)
    assert by_phase["F1"]["projects_active"] == 3
    assert by_phase["F2"]["projects_active"] == 3  # open, closed-in-f2 and late
    assert result["total"]["projects_active"] == 4


def activity(activity_id: str, day: str, district: str = "Comas", zone: str = "Lima Norte", **data: object) -> Fact:
    return fact(
        "ActivityReported", day, activity_id=activity_id, osv_id="a", held_on=day, district=district, zone=zone,
        direct_beneficiaries=data.get("direct", [{"nationality": "VE", "sex": "F", "count": 10}, {"nationality": "PE", "sex": "M", "count": 4}]),
        indirect_beneficiaries=data.get("indirect", 30), outputs=data.get("outputs", [{"kind": "mural", "count": 1}]),
    )


def test_beneficiaries_and_outputs_sum_the_activities_of_the_phase_leaving_out_withdrawn_ones() -> None:
    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"),
        activity("kept", "2021-03-01", outputs=[{"kind": "mural", "count": 2}, {"kind": "public_space_recovered", "count": 1}]),
        activity("mistake", "2021-04-01", direct=[{"nationality": "EC", "sex": "F", "count": 50}], indirect=500),
        fact("ActivityWithdrawn", "2021-08-01", activity_id="mistake", osv_id="a", held_on="2021-04-01", withdrawn_on="2021-08-01"),
        activity("f2", "2021-09-01", direct=[{"nationality": "VE", "sex": "X", "count": 3}], indirect=5, outputs=[]),
    ]
    by_phase = phases_of(report(facts))
    # these activities gave counts only: all of their people reached are aggregate
    assert by_phase["F1"]["beneficiaries_direct"] == {"total": 14, "by_nationality": {"PE": 4, "VE": 10}, "by_sex": {"F": 10, "M": 4}, "aggregate": 14}
    assert by_phase["F1"]["attendances"] == {"total": 14, "by_nationality": {"PE": 4, "VE": 10}, "by_sex": {"F": 10, "M": 4}}
    assert (by_phase["F1"]["beneficiaries_indirect"], by_phase["F1"]["murals"], by_phase["F1"]["public_spaces_recovered"]) == (30, 2, 1)
    assert by_phase["F2"]["beneficiaries_direct"] == {"total": 3, "by_nationality": {"VE": 3}, "by_sex": {"X": 3}, "aggregate": 3}
    assert (by_phase["F2"]["beneficiaries_indirect"], by_phase["F2"]["murals"]) == (5, 0)


def test_an_activity_withdrawn_before_the_report_knew_of_it_never_counts() -> None:
    reported = activity("x", "2021-03-01")
    withdrawal = fact("ActivityWithdrawn", "2021-03-02", activity_id="x", osv_id="a", held_on="2021-03-01", withdrawn_on="2021-03-02")
    reported = Fact(reported.event_id, reported.type, reported.subject, reported.occurred_on, withdrawal.recorded_at + timedelta(seconds=1), reported.data)
    assert report([phase(*F1), withdrawal, reported])["total"]["beneficiaries_direct"]["total"] == 0


def test_osvs_supported_are_first_time_or_repeat_when_supported_in_an_earlier_phase() -> None:
    def granted(osv: str, day: str, kind: str = "seed_fund") -> Fact:
        return fact("FundGranted", day, grant_id=f"g-{osv}-{day}", osv_id=osv, amount="500.00", currency="PEN", kind=kind)

    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-02"), mapped("c", "2021-01-02"),
        granted("a", "2021-02-01"), granted("a", "2021-08-01", kind="goods"),  # repeat in F2
        granted("b", "2021-08-01"), granted("b", "2021-09-01"),  # twice in F2: counted once, first time
        granted("c", "2021-10-01", kind="goods"),
    ]
    result = report(facts)
    by_phase = phases_of(result)
    assert by_phase["F1"]["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 0}
    assert by_phase["F2"]["osvs_supported"] == {"total": 3, "first_time": 2, "repeat": 1}
    # in the total, each OSV once; its split adds up the phases' (a first time each, then again in F2)
    assert result["total"]["osvs_supported"] == {"total": 3, "first_time": 3, "repeat": 1}

    # Funding restating a grant's mark (a grant typed in late) changes no figure: the indicators work support out from
    # the grants and phases themselves, whatever mark a grant carried.
    restated = fact(
        "GrantSupportRestated", "2021-12-01", grant_id="g-a-2021-08-01", osv_id="a", previous_support="first_time",
        support="repeat", restated_on="2021-12-01", reason="earlier_grant_recorded", caused_by="g-a-2021-02-01",
    )
    assert report([*facts, restated]) == result


def test_money_is_summed_per_currency_soles_and_dollars_apart() -> None:
    facts = [
        phase(*F1), mapped("a", "2021-01-02"),
        fact("FundGranted", "2021-02-01", grant_id="g", osv_id="a", amount="1500.00", currency="PEN", kind="seed_fund"),
        fact("FundGranted", "2021-02-01", grant_id="u", osv_id="a", amount="300.00", currency="USD", kind="seed_fund"),
        fact("FundGranted", "2021-02-01", grant_id="k", osv_id="a", amount="999.00", currency="PEN", kind="goods"),
        fact("GoodsDelivered", "2021-03-01", grant_id="k", osv_id="a", delivery_id="d", total_value="640.50", currency="PEN", items=[]),
        fact("DisbursementMade", "2021-03-01", grant_id="g", osv_id="a", disbursement_id="1", tranche=1, amount="750.00", currency="PEN"),
        fact("DisbursementMade", "2021-04-01", grant_id="g", osv_id="a", disbursement_id="2", tranche=2, amount="750.25", currency="PEN"),
        fact("DisbursementMade", "2021-04-01", grant_id="u", osv_id="a", disbursement_id="3", tranche=1, amount="300.00", currency="USD"),
    ]
    total = report(facts)["total"]
    assert (total["seed_funds_granted_pen"], total["seed_funds_granted_usd"]) == ("1500.00", "300.00")
    assert (total["goods_delivered_pen"], total["goods_delivered_usd"]) == ("640.50", "0.00")
    assert (total["disbursed_pen"], total["disbursed_usd"]) == ("1500.25", "300.00")


def test_nationalities_other_than_venezuelan_and_peruvian_are_grouped_as_other() -> None:
    facts = [fact("MemberJoined", "2021-02-01", member_id=m, osv_id="a", nationality=n, sex="F") for m, n in (("1", "CO"), ("2", "EC"), ("3", "VE"))]
    assert report(facts)["total"]["members_joined"] == {"total": 3, "by_nationality": {"VE": 1, "other": 2}, "by_sex": {"F": 3}}


def test_contact_lost_counts_each_osv_once_per_phase_and_dissolutions_are_counted() -> None:
    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-02"),
        fact("ContactLost", "2021-02-01", osv_id="a", since="2021-02-01"),
        fact("ContactRestored", "2021-03-01", osv_id="a"),
        fact("ContactLost", "2021-04-01", osv_id="a", since="2021-04-01"),
        fact("ContactLost", "2021-08-01", osv_id="a", since="2021-08-01"),
        fact("OSVDissolved", "2021-09-01", osv_id="b", dissolved_on="2021-09-01", reason="members_left"),
    ]
    result = report(facts)
    by_phase = phases_of(result)
    assert (by_phase["F1"]["osvs_contact_lost"], by_phase["F2"]["osvs_contact_lost"], result["total"]["osvs_contact_lost"]) == (1, 1, 1)
    assert (by_phase["F1"]["osvs_dissolved"], by_phase["F2"]["osvs_dissolved"]) == (0, 1)


def test_actions_agreed_by_a_phase_end_and_not_done_by_then_are_pending_at_its_end() -> None:
    def meeting(day: str, *actions: str) -> Fact:
        return fact("FollowUpMeetingHeld", day, osv_id="a", meeting_id=f"m{day}", action_items=[{"action_id": a, "due_on": day} for a in actions])

    def done(action: str, day: str) -> Fact:
        return fact("ActionItemCompleted", day, osv_id="a", meeting_id="m", action_id=action, due_on=day, completed_on=day)

    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"),
        meeting("2021-03-01", "x", "y", "z"), done("x", "2021-04-01"),
        done("y", "2021-07-15"),  # done, but only after F1 ended
        meeting("2021-08-01", "w"), meeting("2021-09-01"),
    ]
    result = report(facts)
    by_phase = phases_of(result)
    assert (by_phase["F1"]["follow_up_meetings"], by_phase["F1"]["actions_pending_at_phase_end"]) == (1, 2)
    assert (by_phase["F2"]["follow_up_meetings"], by_phase["F2"]["actions_pending_at_phase_end"]) == (2, 2)  # z and w
    assert result["total"]["actions_pending_at_phase_end"] == 2


def test_participatory_budget_submissions_count_once_accepted_and_funded_with_the_amount_in_soles() -> None:
    def decided(submission: str, day: str, outcome: str, amount: str | None = None) -> Fact:
        return fact("ParticipatoryBudgetDecided", day, submission_id=submission, osv_id="a", municipality_id="mml", cycle_year=2021,
                    outcome=outcome, amount_funded=amount, currency="PEN")

    facts = [
        phase(*F1), mapped("a", "2021-01-02"),
        *(fact("ParticipatoryBudgetSubmitted", "2021-02-01", submission_id=s, osv_id="a", municipality_id="mml", cycle_year=2021,
               amount_requested="1000.00", currency="PEN") for s in ("s1", "s2", "s3")),
        decided("s1", "2021-03-01", "accepted"), decided("s1", "2021-04-01", "funded", "800.00"),
        decided("s2", "2021-03-01", "funded", "1200.00"), decided("s3", "2021-03-01", "not_accepted"),
    ]
    assert report(facts)["total"]["participatory_budget"] == {
        "submitted": 3, "accepted": 2, "funded": 2, "amount_funded_pen": "2000.00", "amount_funded_usd": "0.00",
    }


def test_participatory_budget_money_funded_in_dollars_is_counted_in_its_own_part_in_every_report() -> None:
    """A project funded in USD was counted as funded, its amount in no figure (tester 208 F2): it is summed apart, as seed
    funds' dollars are, in the phase, the total and the OSV's zone and district."""
    def submitted(submission: str, currency: str) -> Fact:
        return fact("ParticipatoryBudgetSubmitted", "2021-02-01", submission_id=submission, osv_id="a", municipality_id="mml",
                    cycle_year=2021, amount_requested="20000.00", currency=currency)

    def funded(submission: str, amount: str, currency: str) -> Fact:
        return fact("ParticipatoryBudgetDecided", "2021-03-01", submission_id=submission, osv_id="a", municipality_id="mml",
                    cycle_year=2021, outcome="funded", amount_funded=amount, currency=currency)

    facts = [
        phase(*F1), mapped("a", "2021-01-02", "Comas", "Lima Norte"),
        submitted("soles", "PEN"), submitted("dollars", "USD"),
        funded("soles", "65000.00", "PEN"), funded("dollars", "15000.00", "USD"),
        funded("dollars", "15000.00", "USD"),  # told twice: counted once
    ]
    expected = {"submitted": 2, "accepted": 2, "funded": 2, "amount_funded_pen": "65000.00", "amount_funded_usd": "15000.00"}
    result = report(facts, by="zone")
    assert result["total"]["participatory_budget"] == expected
    assert phases_of(result)["F1"]["participatory_budget"] == expected
    assert result["breakdown"]["groups"]["Lima Norte"]["total"]["participatory_budget"] == expected
    assert report(facts, by="district")["breakdown"]["groups"]["Comas"]["total"]["participatory_budget"] == expected


def test_figures_break_down_by_the_osvs_zone_and_district_and_an_activity_by_its_own() -> None:
    facts = [
        phase(*F1),
        mapped("north", "2021-01-02", "Comas", "Lima Norte"), mapped("east", "2021-01-03", "Ate", "Lima Este"),
        fact("FundGranted", "2021-02-01", grant_id="g", osv_id="east", amount="100.00", currency="PEN", kind="seed_fund"),
        enrolled("ana", "g", "2021-02-02", osv="east"),
        fact("ActivityReported", "2021-03-01", activity_id="act", osv_id="north", held_on="2021-03-01", district="Villa El Salvador",
             zone="Lima Sur", direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 7}], indirect_beneficiaries=0, outputs=[]),
    ]
    zones = report(facts, by="zone")["breakdown"]
    assert zones["by"] == "zone"
    assert set(zones["groups"]) == {"Lima Centro", "Lima Este", "Lima Norte", "Lima Sur"}
    east, north, south = (zones["groups"][z]["total"] for z in ("Lima Este", "Lima Norte", "Lima Sur"))
    assert (east["osvs_identified"], east["projects_active"], east["agents_of_change"]["total"], east["seed_funds_granted_pen"]) == (1, 1, 1, "100.00")
    assert (north["osvs_identified"], north["beneficiaries_direct"]["total"]) == (1, 0)
    assert south["beneficiaries_direct"]["total"] == 7
    assert zones["groups"]["Lima Centro"]["phases"][0]["indicators"]["osvs_identified"] == 0
    districts = report(facts, by="district")["breakdown"]["groups"]
    assert set(districts) == {"Comas", "Ate", "Villa El Salvador"}
    assert districts["Ate"]["phases"][0]["indicators"]["agents_of_change"]["total"] == 1


def test_a_tally_saved_halfway_and_restored_goes_on_to_the_same_report() -> None:
    import json

    from services.reporting.domain.indicators import phases_in
    from services.reporting.domain.tally import Tally

    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-02-02", "Ate", "Lima Este"),
        fact("FundGranted", "2021-02-01", grant_id="g", osv_id="a", amount="1500.00", currency="PEN", kind="seed_fund"),
        enrolled("ana", "g", "2021-02-03"), activity("act", "2021-03-01"),
        fact("ContactLost", "2021-03-02", osv_id="b", since="2021-03-02"),
        # halfway
        withdrew("ana", "g", "2021-08-01"), fact("GrantClosed", "2021-09-01", grant_id="g", osv_id="a", outcome="completed"),
        fact("ActivityWithdrawn", "2021-09-02", activity_id="act", osv_id="a", held_on="2021-03-01", withdrawn_on="2021-09-02"),
        fact("FundGranted", "2021-09-03", grant_id="h", osv_id="a", amount="300.00", currency="PEN", kind="goods"),
    ]
    phases = phases_in(facts)
    lookup = {f.data["activity_id"]: f for f in facts if f.type == "ActivityReported"}.get
    first = Tally(phases, lookup).fold(facts[:8])
    saved = json.loads(json.dumps(first.state()))
    restored = Tally.restore(saved, phases, lookup).fold(facts[8:])
    assert restored.report(phases, "zone") == report(facts, "zone")
    assert report(facts)["total"]["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 1}


def merged(duplicate: str, into: str, day: str, mapped_on: str, district: str = "Comas", zone: str = "Lima Norte") -> Fact:
    return fact("OSVMerged", day, osv_id=duplicate, into_osv_id=into, merged_on=day, district=district, zone=zone, mapped_on=mapped_on)


def test_an_osv_merged_into_another_counts_once_from_the_merge_on_but_reports_as_of_before_it_still_count_it_twice() -> None:
    from services.reporting.domain.tally import evidence

    before = [
        phase(*F1), phase(*F2),
        mapped("a", "2021-01-02"), mapped("b", "2021-08-02", "San Juan de Lurigancho", "Lima Este"),
        fact("FundGranted", "2021-03-01", grant_id="g1", osv_id="a", amount="500.00", currency="PEN", kind="goods"),
        fact("FundGranted", "2021-08-10", grant_id="g2", osv_id="b", amount="700.00", currency="PEN", kind="goods"),
        fact("ContactLost", "2021-09-01", osv_id="a", since="2021-09-01"),
        fact("ContactLost", "2021-09-02", osv_id="b", since="2021-09-02"),
    ]
    as_of_then = report(before)
    assert as_of_then["total"]["osvs_identified"] == 2
    assert as_of_then["total"]["osvs_supported"] == {"total": 2, "first_time": 2, "repeat": 0}

    # b was a second record of a: merged into it
    facts = [*before, merged("b", "a", "2021-10-01", "2021-08-02", "San Juan de Lurigancho", "Lima Este")]
    now = report(facts, "district")
    assert now["total"]["osvs_identified"] == 1
    assert [p["indicators"]["osvs_identified"] for p in now["phases"]] == [1, 0]
    assert "San Juan de Lurigancho" not in now["breakdown"]["groups"]  # nothing counts there any more
    # its support is a's: one OSV, supported in F1 and again in F2
    assert now["total"]["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 1}
    assert [p["indicators"]["osvs_supported"]["total"] for p in now["phases"]] == [1, 1]
    assert now["total"]["osvs_contact_lost"] == 1
    assert now["total"]["ruos_registration_rate"] == "0.0000"
    # the evidence shows both mappings and the merge that takes one back
    adds = [(e["type"], e["adds"]) for e in evidence(facts, "osvs_identified", "total")["events"]]
    assert sorted(adds, key=str) == sorted([("OSVMapped", {"value": 1}), ("OSVMapped", {"value": 1}), ("OSVMerged", {"value": -1})], key=str)


def test_a_grant_to_the_merged_away_osv_recorded_after_the_merge_counts_as_the_survivors() -> None:
    facts = [
        phase(*F1), mapped("a", "2021-01-02"), mapped("b", "2021-01-03"), merged("b", "a", "2021-02-01", "2021-01-03"),
        fact("FundGranted", "2021-01-20", grant_id="g1", osv_id="b", amount="500.00", currency="PEN", kind="goods"),
        fact("FundGranted", "2021-03-01", grant_id="g2", osv_id="a", amount="500.00", currency="PEN", kind="goods"),
        merged("b", "a", "2021-02-01", "2021-01-03"),  # delivered twice: applied once
    ]
    total = report(facts)["total"]
    assert (total["osvs_identified"], total["osvs_supported"]["total"]) == (1, 1)


def test_a_tally_restored_from_before_a_merge_takes_it_in_as_a_full_fold_does() -> None:
    import json

    from services.reporting.domain.indicators import phases_in
    from services.reporting.domain.tally import Tally

    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-08-02", "Ate", "Lima Este"),
        fact("FundGranted", "2021-08-10", grant_id="g2", osv_id="b", amount="700.00", currency="PEN", kind="goods"),
        # halfway
        merged("b", "a", "2021-10-01", "2021-08-02", "Ate", "Lima Este"),
        fact("FundGranted", "2021-11-10", grant_id="g3", osv_id="b", amount="70.00", currency="PEN", kind="goods"),
    ]
    phases = phases_in(facts)
    first = Tally(phases).fold(facts[:5])
    restored = Tally.restore(json.loads(json.dumps(first.state())), phases)
    restored.recall(f for f in facts[:5] if f.type == "OSVMapped" and f.data["osv_id"] in restored.missing(facts[5:])["osv"])
    restored.fold(facts[5:])
    assert restored.report(phases, "zone") == report(facts, "zone")
    assert report(facts)["total"]["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 0}


def workshop(activity_id: str, day: str, people: list[tuple[str, str, str]], district: str = "Comas", zone: str = "Lima Norte") -> Fact:
    """An activity that lists its participants: (person id, nationality, sex)."""
    rows: dict[tuple[str, str], int] = {}
    for _, nationality, sex in people:
        rows[(nationality, sex)] = rows.get((nationality, sex), 0) + 1
    return fact(
        "ActivityReported", day, activity_id=activity_id, osv_id="a", held_on=day, district=district, zone=zone,
        direct_beneficiaries=[{"nationality": n, "sex": s, "count": c} for (n, s), c in rows.items()], indirect_beneficiaries=0, outputs=[],
        participants=[{"person_id": p, "nationality": n, "sex": s} for p, n, s in people], counted_by="persons",
    )


FIVE = [("ve1", "VE", "F"), ("ve2", "VE", "F"), ("ve3", "VE", "F"), ("pe1", "PE", "M"), ("pe2", "PE", "M")]


def test_people_at_two_workshops_of_a_phase_are_reached_once_and_attend_twice() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-02"), workshop("w1", "2021-03-01", FIVE), workshop("w2", "2021-04-01", FIVE)]
    f1 = phases_of(report(facts))["F1"]
    assert f1["beneficiaries_direct"] == {"total": 5, "by_nationality": {"PE": 2, "VE": 3}, "by_sex": {"F": 3, "M": 2}, "aggregate": 0}
    assert f1["attendances"] == {"total": 10, "by_nationality": {"PE": 4, "VE": 6}, "by_sex": {"F": 6, "M": 4}}


def test_a_person_reached_in_two_phases_counts_in_each_and_once_in_the_total_and_aggregate_counts_are_said_apart() -> None:
    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"),
        workshop("w1", "2021-03-01", FIVE),
        workshop("w2", "2021-09-01", [*FIVE[:2], ("ve9", "VE", "F")], district="Ate", zone="Lima Este"),
        activity("fair", "2021-09-02", direct=[{"nationality": "PE", "sex": "F", "count": 20}], indirect=0, outputs=[]),
    ]
    result = report(facts, "zone")
    f1, f2 = (p["indicators"] for p in result["phases"])
    assert (f1["beneficiaries_direct"]["total"], f2["beneficiaries_direct"]["total"]) == (5, 23)
    assert f2["beneficiaries_direct"]["aggregate"] == 20
    assert result["total"]["beneficiaries_direct"] == {
        "total": 26, "by_nationality": {"PE": 22, "VE": 4}, "by_sex": {"F": 24, "M": 2}, "aggregate": 20
    }
    assert result["total"]["attendances"]["total"] == 28
    # a zone counts its own people once: ve1 and ve2 were reached in Lima Norte and in Lima Este
    zones = result["breakdown"]["groups"]
    assert (zones["Lima Norte"]["total"]["beneficiaries_direct"]["total"], zones["Lima Este"]["total"]["beneficiaries_direct"]["total"]) == (25, 3)


def test_withdrawing_one_of_two_workshops_keeps_its_people_reached_by_the_other() -> None:
    from services.reporting.domain.tally import evidence

    facts = [
        phase(*F1), mapped("a", "2021-01-02"), workshop("w1", "2021-03-01", FIVE), workshop("w2", "2021-04-01", FIVE[:3]),
        fact("ActivityWithdrawn", "2021-05-01", activity_id="w1", osv_id="a", held_on="2021-03-01", withdrawn_on="2021-05-01"),
    ]
    f1 = phases_of(report(facts))["F1"]
    assert (f1["beneficiaries_direct"]["total"], f1["attendances"]["total"]) == (3, 3)
    adds = evidence(facts, "beneficiaries_direct", "F1")["events"]
    assert sum(e["adds"].get("total", 0) for e in adds) == 3


def test_a_tally_restored_halfway_counts_people_reached_as_a_full_fold_does() -> None:
    import json

    from services.reporting.domain.indicators import phases_in
    from services.reporting.domain.tally import Tally, activities_in

    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), workshop("w1", "2021-03-01", FIVE),
        # halfway
        workshop("w2", "2021-04-01", FIVE[1:]), workshop("w3", "2021-08-01", FIVE[:1]),
        fact("ActivityWithdrawn", "2021-09-01", activity_id="w1", osv_id="a", held_on="2021-03-01", withdrawn_on="2021-09-01"),
    ]
    phases, lookup = phases_in(facts), activities_in(facts)
    first = Tally(phases, lookup).fold(facts[:4])
    restored = Tally.restore(json.loads(json.dumps(first.state())), phases, lookup).fold(facts[4:])
    assert restored.report(phases, "district") == report(facts, "district")
    assert report(facts)["total"]["beneficiaries_direct"]["total"] == 5


def test_new_in_the_phase_stands_beside_active_in_the_phase_and_new_ones_add_up_to_the_total() -> None:
    def granted(grant: str, day: str) -> Fact:
        return fact("FundGranted", day, grant_id=grant, osv_id="a", amount="1000.00", currency="PEN", kind="seed_fund")

    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"),
        granted("g1", "2021-02-01"), granted("g2", "2021-03-01"), granted("g3", "2021-05-01"), granted("g4", "2021-08-01"),
        fact("GrantClosed", "2021-06-01", grant_id="g3", osv_id="a", outcome="completed"),
        enrolled("ana", "g1", "2021-02-01"), enrolled("bea", "g1", "2021-02-01"), enrolled("carla", "g2", "2021-03-01"),
        enrolled("dora", "g4", "2021-08-02"), enrolled("ana", "g4", "2021-08-02"),
        enrolled("eva", "g2", "2021-07-02"), withdrew("bea", "g1", "2021-06-30"),
    ]
    result = report(facts)
    f1, f2 = (p["indicators"] for p in result["phases"])
    # projects g1, g2 carried over into F2 with g4: 3 active, 1 new
    assert (f1["projects_active"], f1["projects_new"], f2["projects_active"], f2["projects_new"]) == (3, 3, 3, 1)
    assert (f1["agents_of_change"]["total"], f1["agents_of_change"]["new"]) == (3, 3)
    assert (f2["agents_of_change"]["total"], f2["agents_of_change"]["new"]) == (4, 2)  # ana, carla carried over; dora, eva new
    total = result["total"]
    assert total["projects_new"] == f1["projects_new"] + f2["projects_new"] == total["projects_active"] == 4
    assert total["agents_of_change"]["new"] == f1["agents_of_change"]["new"] + f2["agents_of_change"]["new"] == 5


def _before_and_after_the_next_phases() -> tuple[list[Fact], list[Fact], list[Fact]]:
    """Facts up to a checkpoint (F1 known, days into July 2021), the next phases opened, and facts after them."""

    def granted(grant: str, day: str, osv: str = "a") -> Fact:
        return fact("FundGranted", day, grant_id=grant, osv_id=osv, amount="1000.00", currency="PEN", kind="seed_fund")

    saved = [
        phase(*F1), mapped("a", "2021-01-02"), mapped("b", "2021-02-02", "Ate", "Lima Este"),
        granted("g1", "2021-02-01"), granted("g2", "2021-03-01", "b"), granted("g3", "2021-05-01"),
        fact("GrantClosed", "2021-07-20", grant_id="g3", osv_id="a", outcome="completed"),  # closed in the open-ended last segment
        enrolled("ana", "g1", "2021-02-01"), enrolled("bea", "g1", "2021-02-01"), enrolled("carla", "g2", "2021-03-01", osv="b"),
        withdrew("bea", "g1", "2021-07-10"), enrolled("dora", "g3", "2021-07-05"),
        workshop("w1", "2021-03-01", FIVE), workshop("w2", "2021-07-15", FIVE[:2], "Ate", "Lima Este"),
        fact("ContactLost", "2021-07-16", osv_id="b", since="2021-07-16"),
    ]
    opened = [phase(*F2), phase("F3", "2022-01-01", "2022-06-30")]
    after = [
        withdrew("ana", "g1", "2021-09-01"), granted("g4", "2021-08-01"), enrolled("eva", "g4", "2021-08-02"),
        fact("GrantClosed", "2022-02-01", grant_id="g2", osv_id="b", outcome="completed"), withdrew("carla", "g2", "2022-02-01", osv="b"),
        enrolled("ana", "g4", "2022-03-01"), workshop("w3", "2022-03-02", FIVE[1:]),
        fact("ActivityWithdrawn", "2022-03-05", activity_id="w2", osv_id="a", held_on="2021-07-15", withdrawn_on="2022-03-05"),
    ]
    return saved, opened, after


def test_a_tally_saved_before_the_next_phases_opened_is_re_cut_by_them_and_goes_on_to_the_same_report() -> None:
    """Opening the next phase must not need every fact folded again: a checkpoint that counted no day in it is re-cut."""
    import json

    from services.reporting.domain.indicators import phases_in
    from services.reporting.domain.tally import Tally, activities_in

    saved, opened, after = _before_and_after_the_next_phases()
    facts = saved + opened + after
    lookup = activities_in(facts)
    state = json.loads(json.dumps(Tally(phases_in(saved), lookup).fold(saved).state()))
    phases = phases_in(facts)
    restored = Tally.restore(state, phases, lookup)
    assert restored.report(phases, "district") == report(saved + opened, "district")  # re-cut, nothing folded yet
    restored.recall(f for f in saved if f.type in ("OSVMapped", "ParticipantEnrolled", "ParticipantWithdrew", "FundGranted", "GrantClosed"))
    restored.fold(after)
    for by in (None, "zone", "district"):
        assert restored.report(phases, by) == report(facts, by)
    f2 = phases_of(report(facts))["F2"]
    assert (f2["projects_active"], f2["agents_of_change"]["total"]) == (4, 5)  # g1, g2, g3 (closed in July), g4; ana, bea, carla, dora, eva


def test_a_tally_is_not_re_cut_by_a_phase_that_starts_on_or_before_a_day_it_counted() -> None:
    import json

    import pytest

    from services.reporting.domain.indicators import phases_in
    from services.reporting.domain.tally import Tally

    saved, _, _ = _before_and_after_the_next_phases()
    state = json.loads(json.dumps(Tally(phases_in(saved)).fold(saved).state()))
    late = phase("F2", "2021-07-01", "2021-07-14")  # ends before the last day counted (20 July): the boundary after it falls inside
    with pytest.raises(ValueError, match="other phases"):
        Tally.restore(state, phases_in([*saved, late]))
    earlier = phase("F0", "2020-07-01", "2020-12-31")  # a boundary before the ones it was cut by
    with pytest.raises(ValueError, match="other phases"):
        Tally.restore(state, phases_in([*saved, earlier]))
    next_one = phase("F2", "2021-07-01", "2021-07-31")  # after the last day counted: re-cut
    assert Tally.restore(state, phases_in([*saved, next_one])).report(phases_in([*saved, next_one])) == report([*saved, next_one])


def test_osvs_counted_once_add_up_per_district_and_phases_seen_as_they_do_one_osv_at_a_time() -> None:
    """The report counts supported and out-of-contact OSVs by alike groups; the evidence lists them one by one: the same figures."""
    import random
    from collections import defaultdict

    from services.reporting.domain.indicators import phases_in
    from services.reporting.domain.tally import Tally

    rng = random.Random(4)
    places = [("Comas", "Lima Norte"), ("Ate", "Lima Este"), ("Breña", "Lima Centro")]
    facts = [phase(*F1), phase(*F2), phase("F3", "2022-01-01", "2022-06-30")]
    for n in range(300):
        district, zone = rng.choice(places)
        facts.append(mapped(f"o{n}", "2021-01-02", district, zone))
        for _ in range(rng.randrange(0, 4)):
            day = f"202{rng.choice([1, 2])}-{rng.randrange(1, 13):02d}-10"
            facts.append(fact("FundGranted", day, grant_id=f"g{len(facts)}", osv_id=f"o{n}", amount="100.00", currency="PEN", kind="goods"))
        if rng.random() < 0.3:
            facts.append(fact("ContactLost", f"2021-{rng.randrange(1, 13):02d}-01", osv_id=f"o{n}", since="2021-01-01"))
    phases = phases_in(facts)
    tally = Tally(phases).fold(facts)
    for by in (None, "zone", "district"):
        one_by_one: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int))))
        for _, (group, code, name), parts in tally._osv_items(phases, by):
            for part, value in parts.items():
                one_by_one[group][code][name][part] += value
        assert tally._osvs(phases, by) == one_by_one
    assert report(facts)["total"]["osvs_supported"]["repeat"] > 0


# --------------------------------------------------------------------------
# Active in a phase: a participation or project ends when its person or OSV is gone (break29)
# --------------------------------------------------------------------------

F3 = ("F3", "2022-01-01", "2022-06-30")


def left(member: str, day: str, osv: str = "a", nationality: str = "VE", sex: str = "F", reason: str = "moved_abroad") -> Fact:
    return fact("MemberLeft", day, member_id=member, membership_id=member, osv_id=osv, nationality=nationality, sex=sex, left_on=day,
                reason=reason)


def seed_fund(grant: str, osv: str, day: str, amount: str = "1000.00") -> Fact:
    return fact("FundGranted", day, grant_id=grant, osv_id=osv, amount=amount, currency="PEN", kind="seed_fund", granted_on=day)


def dissolved(osv: str, day: str) -> Fact:
    return fact("OSVDissolved", day, osv_id=osv, dissolved_on=day, reason="members_emigrated")


def test_an_agent_of_change_who_leaves_the_osv_takes_part_no_more_from_the_day_after_they_left() -> None:
    """break29 #1: a member who left (moved abroad) stayed an agent of change in every later phase, 2027's included."""
    bea_enrolled = enrolled("bea", "g", "2021-02-10", nationality="PE")
    facts = [
        phase(*F1), phase(*F2), phase(*F3), mapped("a", "2021-01-02"), seed_fund("g", "a", "2021-02-01"),
        enrolled("ana", "g", "2021-02-02"), enrolled("luis", "g", "2021-02-02", nationality="PE", sex="M"),
        left("ana", "2021-08-15"),  # left in F2: still an agent in it, on the days before
        left("bea", "2021-03-01", nationality="PE"),  # left in F1, and her enrolment (dated before) typed in afterwards
        Fact(bea_enrolled.event_id, bea_enrolled.type, bea_enrolled.subject, bea_enrolled.occurred_on,
             RECORDED + timedelta(days=30), bea_enrolled.data),
    ]
    result = report(facts)
    by_phase = phases_of(result)
    assert [by_phase[code]["agents_of_change"]["total"] for code in ("F1", "F2", "F3")] == [3, 2, 1]
    assert by_phase["F3"]["agents_of_change"] == {"total": 1, "new": 0, "by_nationality": {"PE": 1}, "by_sex": {"M": 1}}
    assert (result["total"]["agents_of_change"]["total"], result["total"]["agents_of_change"]["new"]) == (3, 3)


def test_a_member_who_left_and_joined_again_takes_part_again_from_their_new_enrolment() -> None:
    facts = [
        phase(*F1), phase(*F2), phase(*F3), mapped("a", "2021-01-02"), seed_fund("g", "a", "2021-02-01"),
        enrolled("ana", "g", "2021-02-02"), left("ana", "2021-03-01"),
        fact("MemberJoined", "2022-02-01", member_id="ana", membership_id="ana-2", osv_id="a", nationality="VE"),
        enrolled("ana", "g", "2022-02-02"),
    ]
    by_phase = phases_of(report(facts))
    assert [by_phase[code]["agents_of_change"]["total"] for code in ("F1", "F2", "F3")] == [1, 0, 1]


def test_a_dissolved_osvs_projects_and_agents_of_change_count_no_more_after_its_dissolution() -> None:
    """break29 #1: a dissolved OSV's project and agents counted for ever; a backlog typed in after the dissolution too."""
    late_grant, late_enrolment = seed_fund("g2", "a", "2021-07-20"), enrolled("bea", "g2", "2021-07-21")
    facts = [
        phase(*F1), phase(*F2), phase(*F3),
        mapped("a", "2021-01-02"), mapped("b", "2021-01-03", "Ate", "Lima Este"),
        seed_fund("g1", "a", "2021-02-01"), enrolled("ana", "g1", "2021-02-02"),
        seed_fund("g3", "b", "2021-02-01"), enrolled("omar", "g3", "2021-02-02", osv="b", sex="M"),
        dissolved("a", "2021-08-01"),
        late_grant, late_enrolment,  # recorded after the dissolution, dated before it (a backlog from paper)
    ]
    result = report(facts, "district")
    by_phase = phases_of(result)
    assert [by_phase[code]["projects_active"] for code in ("F1", "F2", "F3")] == [2, 3, 1]  # g1 (and g3) in F1; g1, g2, g3 in F2; g3
    assert [by_phase[code]["agents_of_change"]["total"] for code in ("F1", "F2", "F3")] == [2, 3, 1]
    comas = {p["code"]: p["indicators"] for p in result["breakdown"]["groups"]["Comas"]["phases"]}
    assert (comas["F3"]["projects_active"], comas["F3"]["agents_of_change"]["total"]) == (0, 0)
    assert (result["total"]["projects_active"], result["total"]["agents_of_change"]["total"]) == (3, 3)


def test_an_agent_of_change_counts_no_more_after_their_project_closed() -> None:
    """Tester 247 F1: the project stopped counting at its closure, its agents went on in every phase after, until each
    left the OSV (Breña's F2: projects_active 0, agents_of_change 1). A closure typed in before its grant reached the
    tally (a restored one, a relay held up) ends them too; the phase's evidence adds up to its figure."""
    from services.reporting.domain.tally import evidence

    closing = fact("GrantClosed", "2021-09-15", grant_id="g", osv_id="a", outcome="completed")
    facts = [
        phase(*F1), phase(*F2), phase(*F3), mapped("a", "2021-01-02"), seed_fund("g", "a", "2021-02-01"),
        enrolled("kelly", "g", "2021-02-12", nationality="CO"), enrolled("ana", "g", "2021-03-01"),
        seed_fund("h", "a", "2021-03-01"), enrolled("ana", "h", "2021-03-02"),  # ana takes part in another project, still open
        closing, left("kelly", "2022-01-15"),
    ]
    by_phase = phases_of(report(facts))
    assert [by_phase[code]["projects_active"] for code in ("F1", "F2", "F3")] == [2, 2, 1]
    assert [by_phase[code]["agents_of_change"]["total"] for code in ("F1", "F2", "F3")] == [2, 2, 1]  # kelly to 2021-09-15
    assert report(facts)["total"]["agents_of_change"]["total"] == 2
    events = evidence(facts, "agents_of_change", "F3")["events"]  # ana's enrolment in h; kelly's in g is taken back by the closure
    assert [(e["type"], e["adds"]["total"]) for e in events] == [("ParticipantEnrolled", 1)]

    closed_first = [*facts[:4], closing, facts[4], *facts[5:9], facts[10]]  # the closure before its grant
    assert [phases_of(report(closed_first))[code]["agents_of_change"]["total"] for code in ("F1", "F2", "F3")] == [2, 2, 1]


def test_a_record_merged_into_an_osv_that_dissolves_ends_its_projects_with_it() -> None:
    facts = [
        phase(*F1), phase(*F2), phase(*F3), mapped("a", "2021-01-02"), mapped("b", "2021-01-03"),
        seed_fund("g", "b", "2021-02-01"), enrolled("ana", "g", "2021-02-02", osv="b"),
        merged("b", "a", "2021-03-01", "2021-01-03"), dissolved("a", "2021-08-01"),
    ]
    f3 = phases_of(report(facts))["F3"]
    assert (f3["projects_active"], f3["agents_of_change"]["total"]) == (0, 0)


def _recalled(tally: object, earlier: list[Fact], later: list[Fact]) -> list[Fact]:
    """What the read model hands a restored tally before it folds ``later``: the earlier facts of what they name."""
    need = tally.missing(later)  # type: ignore[attr-defined]
    return [
        f for f in earlier
        if (f.type == "OSVMapped" and f.data["osv_id"] in need["osv"])
        or (f.type in ("ParticipantEnrolled", "ParticipantWithdrew", "MemberLeft") and f.subject in need["member"])
        or (f.type in ("FundGranted", "GrantClosed") and f.subject in need["grant"])
    ]


def assert_restored_goes_on_as_a_full_fold(earlier: list[Fact], later: list[Fact]) -> None:
    """A tally saved after ``earlier`` (through JSON, as a checkpoint), restored, handed what the read model recalls and
    folding ``later`` reports as a fold of them all does, for the programme and by zone and district."""
    import json

    from services.reporting.domain.indicators import phases_in
    from services.reporting.domain.tally import Tally, activities_in, histories_in

    facts = earlier + later
    phases, lookup = phases_in(facts), activities_in(facts)
    state = json.loads(json.dumps(Tally(phases, lookup).fold(earlier).state()))
    restored = Tally.restore(state, phases, lookup)
    restored.history = histories_in(facts)
    restored.recall(_recalled(restored, earlier, later))
    restored.fold(later)
    for by in (None, "zone", "district"):
        assert restored.report(phases, by) == report(facts, by), by


def test_a_tally_restored_before_departures_dissolutions_and_merges_goes_on_to_the_same_report_as_a_full_fold() -> None:


    def about(subject: str, made: Fact) -> Fact:
        return Fact(made.event_id, made.type, subject, made.occurred_on, made.recorded_at, made.data)

    earlier = [
        phase(*F1), phase(*F2), phase(*F3),
        about("a", mapped("a", "2021-01-02")), about("b", mapped("b", "2021-01-03", "Ate", "Lima Este")),
        about("c", mapped("c", "2021-01-04", "Breña", "Lima Centro")),
        about("g1", seed_fund("g1", "a", "2021-02-01")), about("ana", enrolled("ana", "g1", "2021-02-02")),
        about("g2", seed_fund("g2", "b", "2021-02-01", "2000.00")), about("luis", enrolled("luis", "g2", "2021-02-02", osv="b", sex="M")),
        about("b", fact("MemberJoined", "2021-02-02", member_id="luis", membership_id="luis", osv_id="b", nationality="VE")),
        about("g2", fact("DisbursementMade", "2021-02-03", grant_id="g2", osv_id="b", disbursement_id="d1", tranche=1, amount="1000.00",
                         currency="PEN")),
        about("b", fact("FollowUpMeetingHeld", "2021-02-04", osv_id="b", meeting_id="m", action_items=[{"action_id": "x", "due_on": "2021-03-01"}])),
        about("g4", seed_fund("g4", "c", "2021-02-01")), about("rosa", enrolled("rosa", "g4", "2021-02-02", osv="c")),
    ]
    later = [
        about("ana", left("ana", "2021-09-01")),  # ana, not in the restored tally's cache
        about("a", dissolved("a", "2021-10-01")),
        about("b", merged("b", "c", "2021-11-01", "2021-01-03", "Ate", "Lima Este")),  # Ate's record is Breña's OSV's
        about("g2", fact("DisbursementMade", "2021-11-03", grant_id="g2", osv_id="b", disbursement_id="d2", tranche=2, amount="1000.00",
                         currency="PEN")),
        about("c", dissolved("c", "2022-03-01")),  # ends b's project and luis's participation too
    ]
    facts = earlier + later
    assert_restored_goes_on_as_a_full_fold(earlier, later)
    f3 = phases_of(report(facts))["F3"]
    assert (f3["projects_active"], f3["agents_of_change"]["total"]) == (2, 2)  # g2 and g4, luis and rosa, until c dissolved


def test_an_osv_is_supported_in_each_phase_it_received_a_tranche_or_goods_in() -> None:
    """break29 #8: tranches paid and goods delivered in a later phase supported nobody in it (only grants made in it did)."""
    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-03"), mapped("c", "2021-01-04"),
        seed_fund("g", "a", "2021-06-20"),
        fact("DisbursementMade", "2021-06-25", grant_id="g", osv_id="a", disbursement_id="1", tranche=1, amount="500.00", currency="PEN"),
        fact("DisbursementMade", "2021-07-20", grant_id="g", osv_id="a", disbursement_id="2", tranche=2, amount="500.00", currency="PEN"),
        fact("FundGranted", "2021-06-28", grant_id="k", osv_id="b", amount="300.00", currency="PEN", kind="goods"),
        fact("GoodsDelivered", "2021-08-02", grant_id="k", osv_id="b", delivery_id="d", total_value="300.00", currency="PEN", items=[]),
        seed_fund("h", "c", "2021-09-01"),
    ]
    result = report(facts)
    f1, f2 = (p["indicators"] for p in result["phases"])
    assert f1["osvs_supported"] == {"total": 2, "first_time": 2, "repeat": 0}
    assert f2["osvs_supported"] == {"total": 3, "first_time": 1, "repeat": 2}  # a's second tranche, b's goods, c's grant
    assert result["total"]["osvs_supported"] == {"total": 3, "first_time": 3, "repeat": 2}
    from services.reporting.domain.tally import evidence

    assert {e["type"] for e in evidence(facts, "osvs_supported", "F2")["events"]} == {"DisbursementMade", "GoodsDelivered", "FundGranted"}


def test_after_a_merge_across_districts_every_fact_of_the_record_counts_in_the_survivors_district_and_zone() -> None:
    """break29 #5: the merged record's support moved to the survivor's district, its money, project and people stayed."""
    from services.reporting.domain.tally import evidence

    sjl, comas, ate = ("San Juan de Lurigancho", "Lima Este"), ("Comas", "Lima Norte"), ("Ate", "Lima Este")
    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02", *sjl), mapped("f", "2021-02-01", *comas), mapped("g", "2021-02-02", *ate),
        fact("MemberJoined", "2021-02-02", member_id="fe", membership_id="fe", osv_id="f", nationality="PE"),
        seed_fund("gf", "f", "2021-02-10", "2000.00"),
        fact("DisbursementMade", "2021-02-11", grant_id="gf", osv_id="f", disbursement_id="1", tranche=1, amount="1000.00", currency="PEN"),
        enrolled("fe", "gf", "2021-02-12", nationality="PE", osv="f"),
        fact("FollowUpMeetingHeld", "2021-02-20", osv_id="f", meeting_id="m", action_items=[{"action_id": "x", "due_on": "2021-03-01"}]),
        activity("fair", "2021-03-05", *comas),  # held in Comas: it stays where it was held
        fact("RUOSApplicationObserved", "2021-03-06", osv_id="g", reasons=["missing_minutes"]),
        merged("g", "f", "2021-04-01", "2021-02-02", *ate),  # Ate's record into Comas's, then both into SJL's
        merged("f", "a", "2021-05-20", "2021-02-01", *comas),
        fact("DisbursementMade", "2021-07-25", grant_id="gf", osv_id="f", disbursement_id="2", tranche=2, amount="1000.00", currency="PEN"),
        fact("ActionItemCompleted", "2021-07-26", osv_id="f", meeting_id="m", action_id="x"),
    ]
    result = report(facts, "district")
    groups = result["breakdown"]["groups"]

    def figures(group: str, code: str) -> dict[str, object]:
        return next(p["indicators"] for p in groups[group]["phases"] if p["code"] == code)

    comas_f1, sjl_f1, sjl_f2 = figures("Comas", "F1"), figures("San Juan de Lurigancho", "F1"), figures("San Juan de Lurigancho", "F2")
    assert (comas_f1["osvs_identified"], comas_f1["osvs_supported"]["total"], comas_f1["seed_funds_granted_pen"], comas_f1["disbursed_pen"],
            comas_f1["projects_active"], comas_f1["agents_of_change"]["total"], comas_f1["members_joined"]["total"],
            comas_f1["follow_up_meetings"], comas_f1["actions_pending_at_phase_end"]) == (0, 0, "0.00", "0.00", 0, 0, 0, 0, 1 - 1)
    assert comas_f1["beneficiaries_direct"]["total"] == 14  # the fair, held in Comas
    assert "Ate" not in groups or all(v in (0, "0.00", "0.0000") or not isinstance(v, (int, str)) for v in figures("Ate", "F1").values())
    assert (sjl_f1["osvs_identified"], sjl_f1["osvs_supported"]["total"], sjl_f1["seed_funds_granted_pen"], sjl_f1["disbursed_pen"],
            sjl_f1["projects_active"], sjl_f1["agents_of_change"]["total"], sjl_f1["members_joined"]["total"],
            sjl_f1["follow_up_meetings"], sjl_f1["actions_pending_at_phase_end"], sjl_f1["ruos_applications_observed"]["total"]) == (
        1, 1, "2000.00", "1000.00", 1, 1, 1, 1, 1, 1)
    assert (sjl_f2["disbursed_pen"], sjl_f2["actions_pending_at_phase_end"], sjl_f2["osvs_supported"]) == (
        "1000.00", 0, {"total": 1, "first_time": 0, "repeat": 1})
    assert result["total"]["seed_funds_granted_pen"] == "2000.00" and result["total"]["osvs_identified"] == 1
    zones = report(facts, "zone")["breakdown"]["groups"]
    north = zones["Lima Norte"]["phases"][0]["indicators"]
    assert (north["seed_funds_granted_pen"], north["projects_active"], north["members_joined"]["total"]) == ("0.00", 0, 0)
    # a focal point of San Juan de Lurigancho sees the organisation whole
    own = report(facts, None, frozenset({"San Juan de Lurigancho"}))["phases"][0]["indicators"]
    assert (own["seed_funds_granted_pen"], own["disbursed_pen"], own["projects_active"], own["agents_of_change"]["total"]) == (
        "2000.00", "1000.00", 1, 1)
    # the evidence of a district's figure adds up to it
    for name in ("seed_funds_granted_pen", "disbursed_pen", "projects_active", "agents_of_change", "members_joined"):
        for group in ("Comas", "San Juan de Lurigancho"):
            found = evidence(facts, name, "F1", group)
            total: dict[str, Decimal] = {}
            for event in found["events"]:
                for part, value in event["adds"].items():
                    total[part] = total.get(part, Decimal(0)) + Decimal(str(value))
            assert {p: v for p, v in total.items() if v} == {p: Decimal(str(v)) for p, v in flatten(found["value"]).items() if Decimal(str(v))}, (name, group)
