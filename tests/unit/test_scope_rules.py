"""The business rules behind who sees what, without I/O: a round's evaluators, a municipality's own figures and
alerts, members' purposes, and which roles reach only what was assigned to them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import count

import pytest

from services.engagement.domain.accesslog import AccessLog, Disclosure, Purpose, PurposeRequiredError, check_purpose
from services.funding.domain.phases import PhaseCalendar
from services.funding.domain.rounds import (
    AssignedBeforeOpeningError,
    EvaluatorCodeTakenError,
    EvaluatorNotAssignedError,
    OneCodePerPersonError,
    Round,
)
from services.funding.domain.scoring import Criterion, EvaluatorCodeError
from services.reporting.domain.alerts import only_in
from services.reporting.domain.indicators import Fact
from services.reporting.domain.tally import evidence, report
from shared.auth import Caller, Permission

_ids = count(1)
RECORDED = datetime(2022, 1, 10, tzinfo=timezone.utc)
SJL, COMAS = "San Juan de Lurigancho", "Comas"


def fact(event_type: str, day: str, **data: object) -> Fact:
    n = next(_ids)
    return Fact(f"t:{n}", event_type, str(data.get("osv_id", "s")), date.fromisoformat(day), RECORDED + timedelta(seconds=n), {"occurred_on": day, **data})


# -- a round's evaluators ------------------------------------------------------------------------------------


def a_round() -> Round:
    phase = PhaseCalendar().open_phase("F1", "Fase 1", date(2021, 1, 1), date(2021, 12, 31))
    criteria = [Criterion("organisational_capacity", "Org", Decimal("1"), 0, 10), Criterion("administrative_capacity", "Adm", Decimal("1"), 0, 10)]
    return Round.open(phase, "Ronda", Decimal("1000"), "PEN", date(2021, 4, 1), date(2021, 5, 1), "mapped", criteria)


def test_an_evaluator_assigned_a_code_scores_under_it_and_nobody_else_is_assigned() -> None:
    round_ = a_round()
    round_.assign_evaluator("EV-1", "ana", date(2021, 4, 1))
    assert round_.assigned_to("ana") and not round_.assigned_to("luis")
    assert round_.scoring_code("ana", None) == "EV-1"
    assert round_.scoring_code("ana", "EV-1") == "EV-1"
    with pytest.raises(EvaluatorNotAssignedError):
        round_.scoring_code("ana", "EV-2")
    with pytest.raises(EvaluatorNotAssignedError):
        round_.scoring_code("luis", None)


def test_a_person_holds_one_code_per_round_so_its_codes_are_distinct_people() -> None:
    round_ = a_round()
    round_.assign_evaluator("EV-1", "ana", date(2021, 4, 1))
    with pytest.raises(OneCodePerPersonError) as refused:
        round_.assign_evaluator("EV-2", "ana", date(2021, 4, 2))
    assert (refused.value.field, refused.value.rule) == ("subject", "one_code_per_person")
    assert "'EV-1'" in refused.value.message and "distinct people" in refused.value.message
    assert round_.evaluators == {"EV-1": "ana"}
    round_.assign_evaluator("EV-2", "luis", date(2021, 4, 2))
    assert round_.evaluators == {"EV-1": "ana", "EV-2": "luis"}


def test_a_person_with_several_codes_from_before_the_rule_names_the_one_they_score_under() -> None:
    round_ = a_round()
    # As a round's events recorded before one code per person replay: the assignments, unchecked.
    for code in ("EV-1", "EV-2"):
        round_._evaluator_assigned(evaluator=code, subject="ana", assigned_on=date(2021, 4, 1))
    assert round_.codes_of("ana") == ["EV-1", "EV-2"]
    with pytest.raises(EvaluatorNotAssignedError, match="name the one"):
        round_.scoring_code("ana", None)
    assert round_.scoring_code("ana", "EV-2") == "EV-2"


def test_a_code_stands_for_one_person_is_opaque_and_is_assigned_once_the_round_is_open() -> None:
    round_ = a_round()
    round_.assign_evaluator("EV-1", "ana", date(2021, 4, 1))
    with pytest.raises(EvaluatorCodeTakenError):
        round_.assign_evaluator("EV-1", "luis", date(2021, 4, 2))
    with pytest.raises(EvaluatorCodeError):
        round_.assign_evaluator("Rosa Huamán", "rosa", date(2021, 4, 2))
    with pytest.raises(AssignedBeforeOpeningError):
        round_.assign_evaluator("EV-3", "luis", date(2021, 3, 31))


# -- a municipality's own figures and alerts -----------------------------------------------------------------


def a_year() -> list[Fact]:
    return [
        fact("PhaseOpened", "2021-01-01", code="F1", name="Fase 1", starts_on="2021-01-01", ends_on="2021-12-31"),
        fact("OSVMapped", "2021-02-01", osv_id="a", district=SJL, zone="Lima Este"),
        fact("OSVMapped", "2021-02-02", osv_id="b", district=SJL, zone="Lima Este"),
        fact("OSVMapped", "2021-02-03", osv_id="c", district=COMAS, zone="Lima Norte"),
        fact("RUOSRegistered", "2021-03-01", osv_id="a", ruos_number="R-1", registered_on="2021-03-01"),
        fact("RUOSRegistered", "2021-03-02", osv_id="c", ruos_number="R-2", registered_on="2021-03-02"),
        fact("FundGranted", "2021-04-01", osv_id="c", grant_id="g", amount="900.00", currency="PEN", kind="seed_fund"),
        fact("ParticipantEnrolled", "2021-04-02", osv_id="a", member_id="m1", grant_id="g2", nationality="VE", sex="F"),
        fact("ParticipantEnrolled", "2021-04-02", osv_id="c", member_id="m2", grant_id="g", nationality="PE", sex="M"),
    ]


def test_a_municipalitys_report_counts_its_districts_facts_alone() -> None:
    facts = a_year()
    everything, sjl = report(facts), report(facts, within=frozenset({SJL}))
    assert (everything["total"]["osvs_identified"], sjl["total"]["osvs_identified"]) == (3, 2)
    assert (everything["total"]["osvs_registered_ruos"], sjl["total"]["osvs_registered_ruos"]) == (2, 1)
    assert sjl["total"]["seed_funds_granted_pen"] == "0.00"
    assert sjl["total"]["agents_of_change"]["total"] == 1 and sjl["total"]["agents_of_change"]["by_nationality"] == {"VE": 1}
    assert sjl["phases"][0]["indicators"]["osvs_identified"] == 2
    # Broken down, only its own district (and its zone) appear.
    assert list(report(facts, "district", frozenset({SJL}))["breakdown"]["groups"]) == [SJL]
    assert list(report(facts, "zone", frozenset({SJL}))["breakdown"]["groups"]) == ["Lima Este"]


def test_a_municipalitys_evidence_lists_its_own_events_and_adds_up_to_its_figure() -> None:
    facts = a_year()
    shown = evidence(facts, "osvs_identified", "total", within=frozenset({SJL}))
    assert shown["value"] == 2
    assert sorted(e["subject"] for e in shown["events"]) == ["a", "b"]


def test_a_municipalitys_alerts_read_its_osvs_and_its_own_focal_points_only() -> None:
    facts = [
        *a_year(),
        fact("FollowUpMeetingHeld", "2021-05-01", osv_id="c"),
        fact("FocalPointAssigned", "2021-01-10", municipality_id="150132", focal_point_id="p1"),
        fact("FocalPointAssigned", "2021-01-10", municipality_id="150110", focal_point_id="p2"),
    ]
    kept = only_in(facts, frozenset({SJL}), frozenset({"150132"}))
    assert {f.data.get("osv_id") or f.data.get("municipality_id") for f in kept if f.type != "PhaseOpened"} == {"a", "b", "150132"}


# -- reading members ---------------------------------------------------------------------------------------


def test_a_plain_read_needs_a_purpose_from_the_vocabulary_and_each_is_kept() -> None:
    with pytest.raises(PurposeRequiredError):
        check_purpose(None)
    log = AccessLog(member_id=a_round().id)
    log.record(read_at=RECORDED, reader="staff", purpose=Purpose.CONTACT, disclosure=Disclosure.MEMBER)
    log.record(read_at=RECORDED, reader="lead", purpose="follow_up", disclosure="osv_members")
    assert [(a.reader, a.purpose, a.disclosure) for a in log.accesses] == [
        ("staff", Purpose.CONTACT, Disclosure.MEMBER),
        ("lead", Purpose.FOLLOW_UP, Disclosure.OSV_MEMBERS),
    ]


def test_an_access_logged_before_entries_named_an_osv_replays_with_none() -> None:
    """Tester 221 F2: a refused registration's entry names the OSV it named; ``PersonalDataRead`` events stored before
    have no ``osv_id``, and the access log they make is read as before."""
    log = AccessLog(member_id=a_round().id)
    log.record(read_at=RECORDED, reader="osv-imports", purpose="duplicate_check", disclosure="registration_refused", osv_id=a_round().id)
    log.record(read_at=RECORDED, reader="staff", purpose=Purpose.CONTACT, disclosure=Disclosure.MEMBER)
    opened, *reads = log.collect_events()
    object.__delattr__(reads[1], "osv_id")  # as stored before the field was
    replayed = None
    for stored in (opened, *reads):
        replayed = stored.mutate(replayed)
    assert isinstance(replayed, AccessLog)
    assert [a.osv_id for a in replayed.accesses] == [log.accesses[0].osv_id, None]


# -- roles whose reach is an assignment ----------------------------------------------------------------------


def test_an_evaluator_reads_only_assigned_rounds_unless_another_role_reads_every_round() -> None:
    evaluator = Caller("ana", frozenset({"evaluator"}))
    evaluating_lead = Caller("tester", frozenset({"lead", "evaluator"}))
    assert evaluator.only_assigned(Permission.PROPOSALS_READ)
    assert not evaluating_lead.only_assigned(Permission.PROPOSALS_READ)
    assert not Caller("x", frozenset({"auditor"})).only_assigned(Permission.PROPOSALS_READ)
    assert not Caller("x", frozenset()).only_assigned(Permission.PROPOSALS_READ)
