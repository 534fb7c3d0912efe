"""Follow-up alerts: who to meet, which boards to renew, which municipalities lack a focal point, what was recorded after an OSV dissolved."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from itertools import count

from services.reporting.domain.alerts import (
    ALERT_TYPES,
    alerts,
    board_terms,
    dated_after_dissolution,
    dated_after_merge,
    municipalities_without_focal_point,
    only_in,
    overdue_meetings,
    recorded_after_dissolution,
)
from services.reporting.domain.indicators import Fact
from shared.municipalities import MML_ID, MunicipalityReference, MunicipalityTable
from shared.roles import ALL_LIMA, MunicipalScope

_ids = count(1)
RECORDED = datetime(2024, 6, 1, tzinfo=timezone.utc)
TODAY = date(2024, 6, 1)
COMAS, SJL = "150110", "150132"
SOME_MUNICIPALITIES = [
    MunicipalityReference(MML_ID, "Municipalidad Metropolitana de Lima", None),
    MunicipalityReference(COMAS, "Comas", "Lima Norte"),
]


def fact(event_type: str, day: str, **data: object) -> Fact:
    return Fact(f"t:{next(_ids)}", event_type, "s", date.fromisoformat(day), RECORDED, {"occurred_on": day, **data})


def mapped(osv_id: str, day: str, name: str = "Olla común Las Flores", district: str = "Comas") -> Fact:
    return fact("OSVMapped", day, osv_id=osv_id, name=name, district=district, zone="Lima Norte", mapped_on=day)


def met(osv_id: str, day: str) -> Fact:
    return fact("FollowUpMeetingHeld", day, osv_id=osv_id, meeting_id=f"m-{next(_ids)}", held_on=day, action_items=[])


def registered(osv_id: str, day: str, board_term_ends_on: str | None, **more: object) -> Fact:
    return fact(
        "RUOSRegistered", day, osv_id=osv_id, ruos_number=f"RUOS-{osv_id}", registered_on=day, board_term_ends_on=board_term_ends_on, **more
    )


def assigned(municipality_id: str, post: str, day: str) -> Fact:
    return fact("FocalPointAssigned", day, municipality_id=municipality_id, focal_point_id=post, assigned_on=day)


def left(municipality_id: str, post: str, day: str) -> Fact:
    return fact("FocalPointLeft", day, municipality_id=municipality_id, focal_point_id=post, left_on=day)


# Meetings


def test_an_osv_never_met_is_overdue_counting_from_the_day_it_was_mapped() -> None:
    (alert,) = overdue_meetings([mapped("a", "2024-04-01")], TODAY)
    assert (alert.name, alert.last_met_on, alert.counted_from, alert.days_without_meeting) == (
        "Olla común Las Flores",
        None,
        date(2024, 4, 1),
        61,
    )


def test_an_osv_met_within_the_limit_is_not_overdue_and_the_limit_day_itself_is_not_late() -> None:
    facts = [mapped("a", "2023-01-01"), met("a", "2024-04-17"), mapped("b", "2024-04-17")]
    assert (TODAY - date(2024, 4, 17)).days == 45
    assert overdue_meetings(facts, TODAY) == []
    assert [o.osv_id for o in overdue_meetings(facts, TODAY, after_days=44)] == ["a", "b"]


def test_the_last_meeting_counts_even_when_its_event_arrived_before_an_older_one() -> None:
    facts = [mapped("a", "2023-01-01"), met("a", "2024-05-20"), met("a", "2024-01-10")]
    assert overdue_meetings(facts, TODAY) == []
    (alert,) = overdue_meetings(facts, date(2024, 8, 1))
    assert alert.last_met_on == date(2024, 5, 20)


def test_a_dissolved_osv_is_never_overdue() -> None:
    facts = [mapped("a", "2023-01-01"), fact("OSVDissolved", "2023-06-01", osv_id="a", dissolved_on="2023-06-01", reason="inactive")]
    assert overdue_meetings(facts, TODAY) == []


def test_overdue_osvs_come_longest_waiting_first() -> None:
    facts = [mapped("recent", "2024-03-01", "B"), mapped("old", "2023-03-01", "A"), met("recent", "2024-04-01")]
    assert [o.osv_id for o in overdue_meetings(facts, TODAY)] == ["old", "recent"]


# Board terms


def test_a_board_term_ending_within_sixty_days_or_already_ended_is_flagged_and_a_later_one_is_not() -> None:
    facts = [
        registered("soon", "2022-01-01", "2024-07-31"),
        registered("ended", "2022-01-01", "2024-05-01"),
        registered("later", "2022-01-01", "2024-08-01"),
        registered("unknown", "2022-01-01", None),
    ]
    flagged = board_terms(facts, TODAY)
    assert [(a.osv_id, a.status, a.days_left) for a in flagged] == [("ended", "ended", -31), ("soon", "expiring", 60)]


def test_a_renewed_board_replaces_the_term_given_at_registration() -> None:
    facts = [
        mapped("a", "2021-06-01"),
        registered("a", "2022-01-01", "2024-05-01"),
        fact("BoardRenewed", "2024-04-20", osv_id="a", renewed_on="2024-04-20", term_ends_on="2026-04-20"),
    ]
    assert board_terms(facts, TODAY) == []
    (alert,) = board_terms(facts, date(2026, 3, 1))
    assert (alert.name, alert.ruos_number, alert.term_ends_on) == ("Olla común Las Flores", "RUOS-a", date(2026, 4, 20))


def test_a_board_renewal_of_an_osv_not_registered_in_the_ruos_is_not_a_board_term_alert() -> None:
    facts = [fact("BoardRenewed", "2024-04-20", osv_id="a", renewed_on="2024-04-20", term_ends_on="2024-05-01")]
    assert board_terms(facts, TODAY) == []


def test_a_board_term_alert_names_the_ruos_of_the_registration_and_is_listed_for_that_municipality_alone() -> None:
    """Tester 127 F1: a focal point renews the boards of its own municipality's RUOS alone (registry's 403
    ``own_municipality_ruos``); the alert names that RUOS and goes to its focal point."""
    table = MunicipalityTable.of_lima()
    facts = [
        mapped("district", "2021-06-01", name="A", district="San Juan de Lurigancho"),
        mapped("metropolitan", "2021-06-01", name="B", district="San Juan de Lurigancho"),
        mapped("before", "2021-06-01", name="C", district="San Juan de Lurigancho"),
        mapped("lacked", "2021-06-01", name="D", district="Distrito Nuevo"),
        registered("district", "2022-01-01", "2024-06-10", municipality_id=SJL),
        registered("metropolitan", "2022-01-01", "2024-06-11", municipality_id=MML_ID),
        registered("before", "2022-01-01", "2024-06-12"),  # recorded directly before registrations named their RUOS: the district's
        registered("lacked", "2022-01-01", "2024-06-13"),  # nor does the table know its district: not told
    ]

    def listed(ruos: MunicipalScope) -> list[tuple[str, str | None, str | None]]:
        return [(a.osv_id, a.municipality_id, a.municipality_name) for a in board_terms(facts, TODAY, table=table, ruos=ruos)]

    sjl = "Municipalidad Distrital de San Juan de Lurigancho"
    assert listed(ALL_LIMA) == [
        ("district", SJL, sjl), ("metropolitan", MML_ID, "Municipalidad Metropolitana de Lima"), ("before", SJL, sjl), ("lacked", None, None)
    ]
    assert [osv for osv, *_ in listed(MunicipalScope(ubigeos=frozenset({SJL})))] == ["district", "before"]
    assert [osv for osv, *_ in listed(MunicipalScope(ubigeos=frozenset({MML_ID})))] == ["metropolitan"]


def test_a_dissolved_osvs_board_is_not_flagged() -> None:
    facts = [
        registered("a", "2022-01-01", "2024-05-01"),
        fact("OSVDissolved", "2024-02-01", osv_id="a", dissolved_on="2024-02-01", reason="merged"),
    ]
    assert board_terms(facts, TODAY) == []


# Focal points


def test_a_municipality_never_given_a_focal_point_is_flagged_with_no_date() -> None:
    facts = [assigned(COMAS, "p1", "2024-01-10")]
    (missing,) = municipalities_without_focal_point(facts, SOME_MUNICIPALITIES)
    assert (missing.municipality_id, missing.last_left_on) == (MML_ID, None)


def test_a_municipality_whose_focal_point_left_is_flagged_from_the_day_they_left_until_another_is_assigned() -> None:
    rotated = [assigned(COMAS, "p1", "2024-01-10"), assigned(MML_ID, "m1", "2024-01-10"), left(COMAS, "p1", "2024-03-31")]
    (missing,) = municipalities_without_focal_point(rotated, SOME_MUNICIPALITIES)
    assert (missing.municipality_id, missing.name, missing.last_left_on) == (COMAS, "Comas", date(2024, 3, 31))

    replaced = [*rotated, assigned(COMAS, "p2", "2024-04-15")]
    assert municipalities_without_focal_point(replaced, SOME_MUNICIPALITIES) == []


def test_a_municipality_keeps_its_focal_point_while_one_of_two_posts_remains() -> None:
    facts = [assigned(MML_ID, "m1", "2024-01-10"), assigned(COMAS, "p1", "2024-01-10"), assigned(COMAS, "p2", "2024-02-01")]
    facts.append(left(COMAS, "p1", "2024-03-01"))
    assert municipalities_without_focal_point(facts, SOME_MUNICIPALITIES) == []


def test_lima_has_the_mml_and_forty_three_district_municipalities() -> None:
    municipalities = MunicipalityTable.of_lima().all()
    assert len(municipalities) == 44
    assert municipalities[0].id == MML_ID
    assert SJL in {m.id for m in municipalities}


# Recorded after the OSV's dissolution


def dissolved(osv_id: str, day: str) -> Fact:
    return fact("OSVDissolved", day, osv_id=osv_id, dissolved_on=day, reason="inactive")


def granted(osv_id: str, day: str, amount: str = "1500.00", currency: str = "PEN") -> Fact:
    return fact("FundGranted", day, grant_id=f"g-{next(_ids)}", osv_id=osv_id, amount=amount, currency=currency, kind="seed_fund",
                support="first_time", proposal_id=None, round_id=None, granted_on=day)


def test_a_grant_dated_after_its_osvs_dissolution_is_listed_with_its_money_and_one_dated_on_the_day_itself_is_not() -> None:
    on_the_day, after = granted("a", "2024-03-01", "800.00"), granted("a", "2024-03-02", "1500.00")
    facts = [mapped("a", "2023-01-01"), dissolved("a", "2024-03-01"), on_the_day, after]

    (late,) = recorded_after_dissolution(facts)

    assert (late.osv_id, late.name, late.district, late.dissolved_on) == ("a", "Olla común Las Flores", "Comas", date(2024, 3, 1))
    assert (late.type, late.date_field, late.dated_on, late.amount, late.currency) == ("FundGranted", "granted_on", date(2024, 3, 2), "1500.00", "PEN")
    assert (late.event_id, late.merged_osv_id) == (after.event_id, None)


def test_what_funding_and_engagement_took_after_a_dissolution_is_listed_by_osv_name_then_date_and_counted_in_the_alerts() -> None:
    facts = [
        mapped("b", "2023-01-01", "Comedor Santa Rosa"),
        mapped("a", "2023-01-01", "Asociación El Sol"),
        dissolved("b", "2024-02-01"),
        dissolved("a", "2024-02-01"),
        fact("MemberJoined", "2024-04-01", member_id="m1", membership_id="ms1", osv_id="b", role="member", joined_on="2024-04-01"),
        met("a", "2024-03-15"),
        fact("DisbursementMade", "2024-02-20", grant_id="g1", osv_id="b", disbursement_id="d1", tranche=2, amount="500.00",
             currency="USD", disbursed_on="2024-02-20"),
        fact("TechnicalAssistanceGiven", "2024-01-31", osv_id="a", assistance_id="t1", given_on="2024-01-31", hours="2.00"),
    ]

    listed = alerts(facts, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution

    assert [(r.name, r.type, r.date_field, r.dated_on.isoformat(), r.amount, r.currency) for r in listed] == [
        ("Asociación El Sol", "FollowUpMeetingHeld", "held_on", "2024-03-15", None, None),
        ("Comedor Santa Rosa", "DisbursementMade", "disbursed_on", "2024-02-20", "500.00", "USD"),
        ("Comedor Santa Rosa", "MemberJoined", "joined_on", "2024-04-01", None, None),
    ]


def test_facts_of_one_osv_dated_the_same_day_after_its_dissolution_are_listed_in_recorded_order_whatever_order_they_are_read_in() -> None:
    # The alert facts list each OSV's last meeting before the other late facts; every fact lists them in recorded
    # order: /alerts answered one list two ways (tester 170 F1).
    grant = replace(granted("a", "2024-03-04"), recorded_at=datetime(2024, 3, 5, 9, tzinfo=timezone.utc))
    meeting = replace(met("a", "2024-03-04"), recorded_at=datetime(2024, 3, 5, 10, tzinfo=timezone.utc))
    before = [mapped("a", "2023-01-01"), dissolved("a", "2024-03-02")]

    for facts in (before + [grant, meeting], before + [meeting, grant]):
        listed = alerts(facts, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution
        assert [r.event_id for r in listed] == [grant.event_id, meeting.event_id]


def test_a_joining_date_corrected_to_a_day_after_the_dissolution_is_listed_by_the_corrected_day() -> None:
    joined = fact("MemberJoined", "2024-01-10", member_id="m1", membership_id="ms1", osv_id="a", role="member", joined_on="2024-01-10")
    # Engagement had not heard of the dissolution yet: it took a correction of the joining to after it.
    corrected = fact(
        "MemberJoiningDateCorrected", "2024-03-20", member_id="m1", membership_id="ms1", osv_id="a", joined_on="2024-03-05",
        previous_joined_on="2024-01-10", corrected_on="2024-03-20",
    )
    to_the_day = fact(
        "MemberJoiningDateCorrected", "2024-03-21", member_id="m2", membership_id="ms2", osv_id="a", joined_on="2024-03-01",
        previous_joined_on="2024-02-01", corrected_on="2024-03-21",
    )
    facts = [mapped("a", "2023-01-01"), dissolved("a", "2024-03-01"), joined, corrected, to_the_day]

    (late,) = recorded_after_dissolution(facts)

    assert (late.type, late.date_field, late.dated_on, late.event_id) == (
        "MemberJoiningDateCorrected", "joined_on", date(2024, 3, 5), corrected.event_id
    )


def test_a_joining_after_the_dissolution_leaves_the_alert_once_corrected_to_before_it_and_a_later_correction_stands_alone() -> None:
    late = fact("MemberJoined", "2024-04-01", member_id="m1", membership_id="ms1", osv_id="a", role="member", joined_on="2024-04-01")

    def corrected(day: str, was: str, to: str) -> Fact:
        return fact("MemberJoiningDateCorrected", day, member_id="m1", membership_id="ms1", osv_id="a", joined_on=to,
                    previous_joined_on=was, corrected_on=day)

    facts = [mapped("a", "2023-01-01"), dissolved("a", "2024-03-01"), late]
    assert [r.event_id for r in recorded_after_dissolution(facts)] == [late.event_id]
    back = corrected("2024-04-10", "2024-04-01", "2024-02-01")  # a year typed wrong: it was before the dissolution
    assert recorded_after_dissolution([*facts, back]) == []
    again = corrected("2024-04-20", "2024-02-01", "2024-03-15")  # and then after it after all
    assert [(r.type, r.dated_on) for r in recorded_after_dissolution([*facts, back, again])] == [
        ("MemberJoiningDateCorrected", date(2024, 3, 15))
    ]


def test_an_evaluators_scoring_dated_after_the_dissolution_is_listed_as_funding_refuses_it() -> None:
    """Funding refuses a scoring dated after the OSV's dissolution, as the approval it leads to: one it took meanwhile is
    listed (tester 28). It names no money; the one dated on the day itself is the OSV's."""
    facts = [
        mapped("a", "2023-01-01"),
        dissolved("a", "2024-02-01"),
        fact("ProposalScored", "2024-02-01", proposal_id="p1", round_id="r1", osv_id="a", evaluator="EV-1", scores=[],
             weighted_total="70.00", scored_on="2024-02-01"),
        fact("ProposalScored", "2024-02-02", proposal_id="p1", round_id="r1", osv_id="a", evaluator="EV-2", scores=[],
             weighted_total="65.00", scored_on="2024-02-02"),
    ]
    (late,) = recorded_after_dissolution(facts)
    assert (late.type, late.date_field, late.dated_on, late.amount, late.currency, late.event_id) == (
        "ProposalScored", "scored_on", date(2024, 2, 2), None, None, facts[3].event_id)


def test_what_winds_a_dissolved_osvs_records_down_is_not_listed_nor_what_registry_judges_itself() -> None:
    facts = [
        mapped("a", "2023-01-01"),
        dissolved("a", "2024-02-01"),
        fact("GrantClosed", "2024-03-01", grant_id="g1", osv_id="a", outcome="completed", closed_on="2024-03-01"),
        fact("MemberLeft", "2024-03-01", member_id="m1", membership_id="ms1", osv_id="a", left_on="2024-03-01"),
        fact("ProposalRejected", "2024-03-01", proposal_id="p1", round_id="r1", osv_id="a", rejected_on="2024-03-01"),
        fact("BoardRenewed", "2024-03-01", osv_id="a", renewed_on="2024-03-01", term_ends_on="2026-03-01"),
    ]
    assert recorded_after_dissolution(facts) == []


def reported(osv_id: str, day: str) -> Fact:
    activity = f"act-{next(_ids)}"
    return fact("ActivityReported", day, activity_id=activity, osv_id=osv_id, held_on=day, kind="mural_painting",
                direct_beneficiaries=[], indirect_beneficiaries=0, outputs=[], grant_id=None)


def withdrawn(activity: Fact, day: str) -> Fact:
    return fact("ActivityWithdrawn", day, activity_id=activity.data["activity_id"], osv_id=activity.data["osv_id"],
                held_on=activity.data["held_on"], withdrawn_on=day)


def test_an_activity_reported_after_a_dissolution_leaves_the_alert_once_it_is_withdrawn() -> None:
    """The withdrawal is engagement's undo of a report made by mistake: the record counts no more, and there is nothing
    left to follow up (tester 28). Another activity of the OSV, not withdrawn, stays listed."""
    mistaken, other = reported("a", "2024-03-01"), reported("a", "2024-03-05")
    facts = [mapped("a", "2023-01-01"), dissolved("a", "2024-02-01"), mistaken, other]
    assert [r.event_id for r in recorded_after_dissolution(facts)] == [mistaken.event_id, other.event_id]

    taken_back = [*facts, withdrawn(mistaken, "2024-04-01")]

    assert [r.event_id for r in recorded_after_dissolution(taken_back)] == [other.event_id]
    assert [r.event_id for r in alerts(taken_back, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution] == [other.event_id]


def test_a_grant_recorded_after_a_dissolution_leaves_the_alert_once_funding_withdraws_it() -> None:
    """A grant entered in error after the OSV dissolved is withdrawn in funding (tester 177 F1): it counts no more and there
    is nothing left to follow up; as of before the withdrawal it is listed."""
    grant = fact("FundGranted", "2024-03-01", grant_id="g9", osv_id="a", amount="900.00", currency="PEN", kind="goods",
                 granted_on="2024-03-01")
    facts = [mapped("a", "2023-01-01"), dissolved("a", "2024-02-01"), grant]
    assert [r.event_id for r in recorded_after_dissolution(facts)] == [grant.event_id]
    taken_back = fact("GrantWithdrawn", "2024-04-01", grant_id="g9", osv_id="a", amount="900.00", currency="PEN", kind="goods",
                      granted_on="2024-03-01", reason="entered_in_error", withdrawn_on="2024-04-01")
    assert recorded_after_dissolution([*facts, taken_back]) == []


def test_a_fact_on_a_record_merged_into_an_osv_that_later_dissolved_is_listed_under_that_osv_and_a_merge_alone_lists_nothing() -> None:
    """A merge is no dissolution: the merged record is a second record of the same organisation, which lives on. When the
    organisation dissolves, a tranche or a meeting recorded on either of its records after that day is listed, under the
    OSV that dissolved, naming the merged record it was recorded on (funding judges a tranche on it so)."""
    merged = fact("OSVMerged", "2023-06-01", osv_id="dup", into_osv_id="a", merged_on="2023-06-01")
    tranche = fact("DisbursementMade", "2024-03-01", grant_id="g1", osv_id="dup", disbursement_id="d1", tranche=1, amount="500.00",
                   currency="PEN", disbursed_on="2024-03-01")
    facts = [mapped("a", "2023-01-01", "Asociación El Sol"), mapped("dup", "2023-02-01", "Asoc. El Sol"), merged, tranche]
    assert recorded_after_dissolution(facts) == []

    (late,) = recorded_after_dissolution([*facts, dissolved("a", "2024-02-01")])
    assert (late.osv_id, late.name, late.merged_osv_id, late.dated_on) == ("a", "Asociación El Sol", "dup", date(2024, 3, 1))


def test_a_focal_point_sees_only_what_was_recorded_after_the_dissolution_of_its_municipalitys_osvs() -> None:
    facts = [
        mapped("comas", "2023-01-01", "Olla Comas", district="Comas"),
        mapped("ate", "2023-01-01", "Olla Ate", district="Ate"),
        dissolved("comas", "2024-02-01"),
        dissolved("ate", "2024-02-01"),
        granted("comas", "2024-03-01"),
        granted("ate", "2024-03-01"),
    ]
    scoped = only_in(facts, frozenset({"Comas"}), frozenset({COMAS}))
    assert [r.name for r in alerts(scoped, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution] == ["Olla Comas"]
    assert [r.name for r in alerts(facts, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution] == ["Olla Ate", "Olla Comas"]


def test_a_focal_point_sees_a_late_fact_on_a_record_merged_into_its_dissolved_osv_from_another_district() -> None:
    """A duplicate entered under a neighbouring district is the usual cross-district merge: its grant after the
    survivor's dissolution is the survivor's, and the survivor's focal point must see it (tester 27)."""
    facts = [
        mapped("zarate", "2023-01-01", "Asociación Zárate Unido", district="San Juan de Lurigancho"),
        mapped("dup", "2023-01-01", "Comedor Santa Rosa", district="Comas"),
        fact("OSVMerged", "2023-06-01", osv_id="dup", into_osv_id="zarate", merged_on="2023-06-01"),
        dissolved("zarate", "2024-02-01"),
        granted("dup", "2024-03-01"),
    ]
    scoped = only_in(facts, frozenset({"San Juan de Lurigancho"}), frozenset({SJL}))
    (late,) = alerts(scoped, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution
    assert (late.osv_id, late.merged_osv_id, late.name, late.merged_name) == ("zarate", "dup", "Asociación Zárate Unido", "Comedor Santa Rosa")
    assert alerts(only_in(facts, frozenset({"Comas"}), frozenset({COMAS})), TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution == []


# Recorded after the record's merge


def at(hour: int) -> datetime:
    """A recorded time on the day of :data:`RECORDED`."""
    return RECORDED.replace(hour=hour)


def recorded(when: datetime, event: Fact) -> Fact:
    return replace(event, recorded_at=when)


def merge(duplicate: str, into: str, day: str = "2024-05-01") -> Fact:
    return fact("OSVMerged", day, osv_id=duplicate, into_osv_id=into, merged_on=day, district="Comas", zone="Lima Norte", mapped_on=day)


def test_a_fact_recorded_on_a_record_after_its_merge_is_listed_under_the_osv_that_stays_whatever_its_date() -> None:
    """Funding and engagement refuse a grant or a meeting on a merged record whatever its date, once they know of the
    merge; one they took before (their copy of registry lagged) is on the wrong record, and was in no alert (tester 28).
    A backlog dated before the merge but typed in after it is the race's residue too; one recorded before the merge is
    not, nor a tranche on what the record holds, which funding takes after the merge as before it."""
    before = recorded(at(9), granted("dup", "2024-04-20", "700.00"))
    backlog = recorded(at(11), granted("dup", "2024-04-20", "900.00"))
    after = recorded(at(12), met("dup", "2024-06-01"))
    tranche = recorded(at(12), fact("DisbursementMade", "2024-06-01", grant_id="g1", osv_id="dup", disbursement_id="d1", tranche=2,
                                    amount="500.00", currency="PEN", disbursed_on="2024-06-01"))
    facts = [mapped("a", "2023-01-01", "Asociación El Sol", district="San Juan de Lurigancho"), mapped("dup", "2023-02-01", "Asoc. El Sol"),
             before, recorded(at(10), merge("dup", "a")), backlog, after, tranche]

    listed = alerts(facts, TODAY, SOME_MUNICIPALITIES).recorded_after_merge

    assert [(r.osv_id, r.name, r.district, r.merged_osv_id, r.merged_name, r.type, r.dated_on.isoformat(), r.amount) for r in listed] == [
        ("a", "Asociación El Sol", "San Juan de Lurigancho", "dup", "Asoc. El Sol", "FundGranted", "2024-04-20", "900.00"),
        ("a", "Asociación El Sol", "San Juan de Lurigancho", "dup", "Asoc. El Sol", "FollowUpMeetingHeld", "2024-06-01", None),
    ]
    assert (listed[0].merged_on, listed[0].merge_recorded_at, listed[0].recorded_at, listed[0].event_id) == (
        date(2024, 5, 1), at(10), at(11), backlog.event_id)
    assert alerts(facts, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution == []


def test_a_fact_on_a_record_merged_twice_over_is_listed_under_the_last_osv_and_the_survivors_focal_point_sees_it() -> None:
    facts = [
        mapped("c", "2023-01-01", "Comedor Santa Rosa", district="San Juan de Lurigancho"),
        mapped("b", "2023-01-01", "Comedor Sta. Rosa", district="Comas"),
        mapped("dup", "2023-01-01", "Comedor Sta Rosa", district="Comas"),
        recorded(at(8), merge("dup", "b")),
        recorded(at(9), merge("b", "c")),
        recorded(at(10), fact("MemberJoined", "2024-06-01", member_id="m1", membership_id="ms1", osv_id="dup", joined_on="2024-06-01")),
    ]
    (late,) = alerts(only_in(facts, frozenset({"San Juan de Lurigancho"}), frozenset({SJL})), TODAY, SOME_MUNICIPALITIES).recorded_after_merge
    assert (late.osv_id, late.name, late.merged_osv_id, late.merged_name, late.type) == ("c", "Comedor Santa Rosa", "dup", "Comedor Sta Rosa", "MemberJoined")
    assert alerts(only_in(facts, frozenset({"Comas"}), frozenset({COMAS})), TODAY, SOME_MUNICIPALITIES).recorded_after_merge == []


def test_a_fact_after_the_merge_and_after_the_dissolution_is_listed_once_under_the_dissolution_and_a_withdrawn_one_not_at_all() -> None:
    activity = recorded(at(11), reported("dup", "2024-03-01"))
    facts = [
        mapped("a", "2023-01-01", "Asociación El Sol"),
        mapped("dup", "2023-02-01", "Asoc. El Sol"),
        recorded(at(8), merge("dup", "a", "2024-01-01")),
        recorded(at(9), dissolved("a", "2024-02-01")),
        recorded(at(10), granted("dup", "2024-03-01")),
        activity,
        recorded(at(12), withdrawn(activity, "2024-03-02")),
    ]
    found = alerts(facts, TODAY, SOME_MUNICIPALITIES)
    assert [(r.type, r.merged_osv_id) for r in found.recorded_after_dissolution] == [("FundGranted", "dup")]
    assert found.recorded_after_merge == []


def test_beside_those_types_the_alerts_need_only_the_facts_recorded_after_a_merge() -> None:
    facts = [
        mapped("a", "2023-01-01"),
        mapped("dup", "2023-02-01"),
        recorded(at(9), granted("dup", "2024-04-01")),
        recorded(at(10), merge("dup", "a")),
        recorded(at(11), granted("dup", "2024-04-02")),
        recorded(at(11), granted("a", "2024-04-02")),
    ]
    late = dated_after_merge(facts)
    assert late == [facts[4]]
    read_by_the_dashboard = [f for f in facts if f.type in ALERT_TYPES] + late
    assert alerts(read_by_the_dashboard, TODAY, SOME_MUNICIPALITIES) == alerts(facts, TODAY, SOME_MUNICIPALITIES)
    assert len(alerts(facts, TODAY, SOME_MUNICIPALITIES).recorded_after_merge) == 1


# All together


def test_alerts_gather_every_rule_with_the_limits_they_used() -> None:
    facts = [mapped("a", "2024-01-01"), registered("a", "2024-02-01", "2024-06-30"), assigned(COMAS, "p1", "2024-01-10")]
    result = alerts(facts, TODAY, SOME_MUNICIPALITIES, overdue_after_days=30, within_days=30)
    assert (result.today, result.overdue_after_days, result.within_days) == (TODAY, 30, 30)
    assert [o.osv_id for o in result.overdue_meetings] == ["a"]
    assert [b.osv_id for b in result.board_terms] == ["a"]
    assert [m.municipality_id for m in result.municipalities_without_focal_point] == [MML_ID]


def test_the_alerts_need_no_fact_outside_the_types_the_dashboard_reads() -> None:
    facts = [
        mapped("a", "2024-01-01"),
        mapped("b", "2023-01-01"),
        met("b", "2023-06-01"),  # long ago: overdue, were it not dissolved
        registered("a", "2024-02-01", "2024-06-30"),
        fact("BoardRenewed", "2024-05-01", osv_id="a", term_ends_on="2026-05-01"),
        fact("OSVDissolved", "2024-03-01", osv_id="b", dissolved_on="2024-03-01"),
        assigned(COMAS, "p1", "2024-01-10"),
        left(COMAS, "p1", "2024-04-10"),
        fact("MemberJoined", "2024-01-05", osv_id="a"),
        fact("ActivityReported", "2024-02-05", osv_id="a"),
    ]
    read_by_the_dashboard = [f for f in facts if f.type in ALERT_TYPES]
    assert len(read_by_the_dashboard) == 8
    assert alerts(read_by_the_dashboard, TODAY, SOME_MUNICIPALITIES) == alerts(facts, TODAY, SOME_MUNICIPALITIES)


def test_beside_those_types_the_alerts_need_only_the_facts_dated_after_a_dissolution() -> None:
    """What the read model hands over: never every grant and membership, only the few dated after an OSV dissolved."""
    facts = [
        mapped("a", "2023-01-01"),
        mapped("b", "2023-01-01", "Comedor"),
        dissolved("b", "2024-02-01"),
        granted("a", "2024-03-01"),  # an OSV still alive: not read
        granted("b", "2024-01-15"),  # before the dissolution: not read
        granted("b", "2024-03-01"),
        fact("MemberJoined", "2024-03-05", member_id="m1", osv_id="b", joined_on="2024-03-05"),
    ]
    late = dated_after_dissolution(facts)
    assert [f.event_id for f in late] == [facts[5].event_id, facts[6].event_id]
    read_by_the_dashboard = [f for f in facts if f.type in ALERT_TYPES] + late
    assert alerts(read_by_the_dashboard, TODAY, SOME_MUNICIPALITIES) == alerts(facts, TODAY, SOME_MUNICIPALITIES)
    assert len(alerts(facts, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution) == 2


def test_beside_those_the_alerts_need_the_withdrawals_of_the_activities_dated_after_a_dissolution() -> None:
    activity = reported("b", "2024-03-01")
    facts = [mapped("b", "2023-01-01"), dissolved("b", "2024-02-01"), activity, withdrawn(activity, "2024-03-02")]
    late = dated_after_dissolution(facts)
    assert late == [activity]  # still dated after the dissolution: the withdrawal takes it back, it does not re-date it
    read_by_the_dashboard = [f for f in facts if f.type in ALERT_TYPES] + late
    assert alerts(read_by_the_dashboard, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution != []
    assert alerts([*read_by_the_dashboard, facts[3]], TODAY, SOME_MUNICIPALITIES) == alerts(facts, TODAY, SOME_MUNICIPALITIES)
    assert alerts(facts, TODAY, SOME_MUNICIPALITIES).recorded_after_dissolution == []
