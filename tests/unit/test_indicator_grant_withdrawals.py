"""A grant withdrawn as entered in error counts nowhere from its withdrawal on (tester 177 F1); a report as of before it
still counts it as it was then. Pure: the tally folded from hand-built facts."""

from __future__ import annotations

import json

from services.reporting.domain.indicators import Fact, phases_in
from services.reporting.domain.tally import RECALLED, Tally, evidence, histories_in, report
from tests.unit.test_indicators import enrolled, fact, mapped, merged, phase

F1 = ("F1", "2021-01-01", "2021-06-30")
F2 = ("F2", "2021-07-01", "2021-12-31")


def granted(grant: str, osv: str, day: str, amount: str = "3500.00", kind: str = "seed_fund", currency: str = "PEN") -> Fact:
    return fact("FundGranted", day, grant_id=grant, osv_id=osv, amount=amount, currency=currency, kind=kind, granted_on=day)


def withdrawn(grant: Fact, day: str = "2021-12-01", reason: str = "duplicate") -> Fact:
    d = grant.data
    return fact(
        "GrantWithdrawn", day, grant_id=d["grant_id"], osv_id=d["osv_id"], amount=d["amount"], currency=d["currency"],
        kind=d["kind"], granted_on=d["granted_on"], proposal_id=None, round_id=None, reason=reason, withdrawn_on=day,
    )


def figures(result: dict, name: str) -> tuple[object, ...]:
    return (*(p["indicators"][name] for p in result["phases"]), result["total"][name])


def test_a_seed_fund_typed_twice_and_withdrawn_counts_once_in_funds_projects_and_support() -> None:
    before = [phase(*F1), phase(*F2), mapped("a", "2021-01-05")]
    twice = granted("g2", "a", "2021-08-10")
    before += [granted("g1", "a", "2021-08-10"), twice]
    as_of_before = report(before)
    assert figures(as_of_before, "seed_funds_granted_pen") == ("0.00", "7000.00", "7000.00")
    assert figures(as_of_before, "projects_new") == (0, 2, 2)

    now = report([*before, withdrawn(twice)])
    assert figures(now, "seed_funds_granted_pen") == ("0.00", "3500.00", "3500.00")
    assert figures(now, "projects_new") == (0, 1, 1)
    assert figures(now, "projects_active") == (0, 1, 1)
    assert now["total"]["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 0}
    # The report as of before the withdrawal is what it was: the facts recorded by then.
    assert report(before) == as_of_before


def test_a_grant_on_the_wrong_osv_withdrawn_leaves_that_osv_unsupported_and_its_only_project_gone() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05"), mapped("b", "2021-01-06")]
    wrong = granted("g1", "b", "2021-03-01")
    facts += [wrong, withdrawn(wrong)]
    result = report(facts)
    assert figures(result, "osvs_supported") == ({"total": 0, "first_time": 0, "repeat": 0},) * 3
    assert figures(result, "projects_active") == (0, 0, 0)
    assert figures(result, "projects_new") == (0, 0, 0)
    assert result["total"]["seed_funds_granted_pen"] == "0.00"


def test_a_withdrawn_earlier_grant_no_longer_makes_the_osvs_later_support_repeat() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05")]
    wrong = granted("g1", "a", "2021-03-01", "800.00", kind="goods")
    facts += [wrong, granted("g2", "a", "2021-08-01")]
    assert report(facts)["total"]["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 1}
    result = report([*facts, withdrawn(wrong)])
    assert figures(result, "osvs_supported") == (
        {"total": 0, "first_time": 0, "repeat": 0}, {"total": 1, "first_time": 1, "repeat": 0}, {"total": 1, "first_time": 1, "repeat": 0}
    )
    # Its tranche or goods would have kept it supported: funding withdraws no grant with anything paid out on it.


def test_the_evidence_of_seed_funds_lists_the_withdrawal_taking_the_grant_back() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05"), granted("g1", "a", "2021-08-10")]
    twice = granted("g2", "a", "2021-08-10", "1200.00")
    facts += [twice, withdrawn(twice)]
    adds = sorted((e["type"], e["adds"]["value"]) for e in evidence(facts, "seed_funds_granted_pen", "F2")["events"])
    assert adds == [("FundGranted", "1200.00"), ("FundGranted", "3500.00"), ("GrantWithdrawn", "-1200.00")]
    assert sum(1 for e in evidence(facts, "projects_new", "F2")["events"] if e["type"] == "GrantWithdrawn") == 1


def test_a_grant_withdrawn_on_a_record_later_merged_across_districts_stays_taken_back() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05"), mapped("b", "2021-01-06", "Ate", "Lima Este")]
    wrong = granted("g1", "b", "2021-03-01")  # the helpers record facts in the order they are made
    facts += [
        wrong, granted("g2", "b", "2021-08-01", "900.00"), withdrawn(wrong, "2021-09-01"),
        merged("b", "a", "2021-10-01", "2021-01-06", "Ate", "Lima Este"),
    ]
    result = report(facts, "district")
    assert result["total"]["seed_funds_granted_pen"] == "900.00"
    assert result["breakdown"]["groups"]["Comas"]["total"]["seed_funds_granted_pen"] == "900.00"
    assert result["breakdown"]["groups"].get("Ate", {"total": {"seed_funds_granted_pen": "0.00"}})["total"]["seed_funds_granted_pen"] == "0.00"
    assert figures(result, "projects_new") == (0, 1, 1)


def test_a_tally_saved_before_a_withdrawal_and_restored_goes_on_to_the_same_report() -> None:
    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-05"), granted("g0", "a", "2021-02-01", "50.00", kind="goods"),
        granted("g1", "a", "2021-08-10"),
    ]
    twice = granted("g2", "a", "2021-08-10", "1200.00")
    again = withdrawn(twice)
    facts += [twice, again, again]  # saved after the grants; the withdrawal delivered twice is taken back once
    phases = phases_in(facts)
    first = Tally(phases).fold(facts[:6])
    restored = Tally.restore(json.loads(json.dumps(first.state())), phases)
    restored.history = histories_in(facts)
    missing = restored.missing(facts[6:])
    restored.recall(f for f in facts[:6] if f.data.get("grant_id") in missing["grant"] or f.data.get("osv_id") in missing["osv"])
    restored.fold(facts[6:])
    assert restored.report(phases, "zone") == report(facts, "zone")
    assert report(facts)["total"]["seed_funds_granted_pen"] == "3500.00"
    # and a tally saved after the withdrawal recalls no project of the grant withdrawn
    later = Tally.restore(json.loads(json.dumps(Tally(phases).fold(facts).state())), phases)
    later.recall(facts)
    assert "g2" not in later.projects


# Agents of change enrolled in a withdrawn grant's project (grant withdrawal in engagement) ----------------------------


def test_agents_of_change_enrolled_only_in_a_withdrawn_grant_count_no_more_and_one_in_another_project_still_does() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05"), granted("g1", "a", "2021-08-01")]
    twice = granted("g2", "a", "2021-08-01")
    facts += [
        twice,
        enrolled("ana", "g2", "2021-08-05"),  # only in the project typed twice
        enrolled("bea", "g2", "2021-08-05", nationality="PE"), enrolled("bea", "g1", "2021-09-01", nationality="PE"),
    ]
    as_of_before = report(facts)
    assert figures(as_of_before, "agents_of_change")[1]["total"] == 2

    now = report([*facts, withdrawn(twice)])
    f1, f2, total = figures(now, "agents_of_change")
    assert (f1["total"], f2["total"], total["total"]) == (0, 1, 1)
    assert f2["by_nationality"] == {"PE": 1} and (f2["new"], total["new"]) == (1, 1)
    assert report(facts) == as_of_before  # a report as of before the withdrawal counts them as it did
    # The evidence names the withdrawal taking ana back.
    events = evidence([*facts, withdrawn(twice)], "agents_of_change", "F2")["events"]
    assert any(e["type"] == "GrantWithdrawn" for e in events)


def test_an_enrolment_in_a_withdrawn_grant_recorded_after_the_withdrawal_counts_nowhere() -> None:
    """Engagement hears of the withdrawal a moment after funding records it: an enrolment taken meanwhile stays recorded there."""
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05")]
    wrong = granted("g1", "a", "2021-08-01")
    facts += [wrong, withdrawn(wrong), enrolled("ana", "g1", "2021-08-05")]
    assert figures(report(facts), "agents_of_change")[2]["total"] == 0


def test_a_tally_restored_before_a_withdrawal_takes_its_agents_of_change_back_as_a_whole_fold_does() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05"), granted("g1", "a", "2021-08-01")]  # made in recorded order
    twice = granted("g2", "a", "2021-08-01")
    facts += [twice, enrolled("ana", "g2", "2021-08-05"), enrolled("bea", "g1", "2021-08-05"), withdrawn(twice)]
    phases = phases_in(facts)
    restored = Tally.restore(json.loads(json.dumps(Tally(phases).fold(facts[:7]).state())), phases)
    restored.history = histories_in(facts)
    # As the read model recalls: the grants' facts and the OSVs' mappings, no enrolment (the members come from the history)
    restored.recall(f for f in facts[:7] if f.type in RECALLED["grant"] or f.type == "OSVMapped")
    restored.fold(facts[7:])
    assert restored.report(phases, "zone") == report(facts, "zone")
    assert report(facts)["total"]["agents_of_change"]["total"] == 1


def adds_of(facts: list[Fact], name: str, phase_code: str) -> list[tuple[str, str, dict]]:
    """Each evidence row of one figure as (event id, type, what it adds)."""
    return [(e["event_id"], e["type"], e["adds"]) for e in evidence(facts, name, phase_code)["events"]]


def test_the_evidence_of_osvs_supported_names_the_withdrawal_and_adds_up_to_the_figure_in_every_phase() -> None:
    # Tester 239 F3: the evidence read the OSVs supported at the end, so support a withdrawal took back had no line
    # (and no event behind a restatement); F2's support turned first_time with nothing saying why.
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05"), mapped("b", "2021-01-06")]
    wrong, later, only = granted("g1", "a", "2021-03-01", "800.00", kind="goods"), granted("g2", "a", "2021-08-01"), granted("g3", "b", "2021-03-02")
    taken_back, gone = withdrawn(wrong), withdrawn(only)
    facts += [wrong, later, only, taken_back, gone]
    assert adds_of(facts, "osvs_supported", "F1") == [
        (wrong.event_id, "FundGranted", {"first_time": 1, "total": 1}),
        (only.event_id, "FundGranted", {"first_time": 1, "total": 1}),
        (taken_back.event_id, "GrantWithdrawn", {"first_time": -1, "total": -1}),
        (gone.event_id, "GrantWithdrawn", {"first_time": -1, "total": -1}),
    ]
    assert adds_of(facts, "osvs_supported", "F2") == [
        (later.event_id, "FundGranted", {"repeat": 1, "total": 1}),
        (taken_back.event_id, "GrantWithdrawn", {"first_time": 1, "repeat": -1}),  # a's support in F2 is its first from then on
    ]
    result = report(facts)
    for code, figure in zip(("F1", "F2", "total"), figures(result, "osvs_supported"), strict=True):
        summed: dict[str, int] = {}
        for _, _, adds in adds_of(facts, "osvs_supported", code):
            for part, value in adds.items():
                summed[part] = summed.get(part, 0) + value
        assert {part: value for part, value in summed.items() if value} == {part: value for part, value in figure.items() if value}, code


def test_the_evidence_of_osvs_supported_names_the_other_grant_that_supports_the_osv_once_one_is_withdrawn() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05")]
    twice, kept = granted("g1", "a", "2021-03-01"), granted("g2", "a", "2021-03-05")
    facts += [twice, kept, withdrawn(twice)]
    assert [(kind, adds) for _, kind, adds in adds_of(facts, "osvs_supported", "F1")] == [
        ("FundGranted", {"first_time": 1, "total": 1}),  # g1, the first to support it
        ("FundGranted", {"first_time": 1, "total": 1}),  # g2, what supports it once g1 is withdrawn
        ("GrantWithdrawn", {"first_time": -1, "total": -1}),
    ]


def test_the_evidence_of_osvs_supported_names_the_merge_that_makes_two_osvs_supported_one() -> None:
    facts = [phase(*F1), phase(*F2), mapped("a", "2021-01-05"), mapped("b", "2021-01-06"), granted("g1", "a", "2021-03-01"),
             granted("g2", "b", "2021-03-02"), merged("b", "a", "2021-05-01", "2021-01-06")]
    assert report(facts)["phases"][0]["indicators"]["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 0}
    assert [(kind, adds) for _, kind, adds in adds_of(facts, "osvs_supported", "F1")] == [
        ("FundGranted", {"first_time": 1, "total": 1}), ("FundGranted", {"first_time": 1, "total": 1}),
        ("OSVMerged", {"first_time": -1, "total": -1}),
    ]


def test_after_a_merge_across_districts_the_evidence_lists_the_records_support_once_in_the_district_it_counts_in() -> None:
    # Tester 242 F4: a grant in Ate to a record merged into an SJL OSV (whose own grant was withdrawn). The figures count
    # the record whole in SJL (as if held there from the start, as its seed funds), but Ate's evidence of osvs_supported
    # listed the grant +1 naming SJL and the merge -1, SJL's the same grant +1 again, and seed funds' Ate had no row.
    sjl, ate = ("San Juan de Lurigancho", "Lima Este"), ("Ate", "Lima Este")
    start = [phase(*F1), phase(*F2), mapped("s", "2021-01-05", *sjl), mapped("w", "2021-01-06", *ate)]
    own = granted("gs", "s", "2021-10-01")
    taken_back = withdrawn(own, "2021-10-20")
    seed = granted("gw", "w", "2021-11-05", "2000.00")
    seed.data["municipality_id"] = "150103"  # funding names the OSV's district's municipality, Ate's
    merge = merged("w", "s", "2021-12-15", "2021-01-06", *ate)
    for facts in ([*start, own, taken_back, seed, merge], [*start, own, seed, merge, taken_back]):  # withdrawn before or after
        each_district_lists_what_counts_there(facts)


def each_district_lists_what_counts_there(facts: list[Fact]) -> None:
    def rows(name: str, group: str | None) -> list[tuple[str, str | None, str | None, dict]]:
        return [(e["type"], e["osv"]["id"], e["district"], e["adds"]) for e in evidence(facts, name, "F2", group)["events"]]

    assert evidence(facts, "osvs_supported", "F2", "Ate")["value"]["total"] == 0  # the figures were right
    assert evidence(facts, "osvs_supported", "F2", "San Juan de Lurigancho")["value"]["total"] == 1
    for name in ("osvs_supported", "seed_funds_granted_pen"):
        assert rows(name, "Ate") == [], name  # nothing of the record counts in Ate any more, as in its figure
        assert ("FundGranted", "w", "San Juan de Lurigancho") in [row[:3] for row in rows(name, "San Juan de Lurigancho")], name
        whole: dict[tuple[str, str], float] = {}
        found = evidence(facts, name, "F2", "San Juan de Lurigancho")
        assert {e["district"] for e in found["events"]} == {"San Juan de Lurigancho"}, name  # each row names where it counts
        assert "150103" not in {e["municipality_id"] for e in found["events"]}, name  # and not Ate's municipality with it
        summed: dict[str, float] = {}
        for e in found["events"]:
            for part, value in e["adds"].items():
                summed[part] = summed.get(part, 0) + float(value)
                whole[(e["event_id"], part)] = whole.get((e["event_id"], part), 0) + float(value)
        figure = found["value"] if isinstance(found["value"], dict) else {"value": found["value"]}
        assert {p: v for p, v in summed.items() if v} == {p: float(v) for p, v in figure.items() if float(v)}, name
        # the districts' rows, event by event, are the whole programme's: no event counts twice
        ungrouped = {(e["event_id"], part): float(v) for e in evidence(facts, name, "F2")["events"] for part, v in e["adds"].items()}
        assert {k: v for k, v in whole.items() if v} == ungrouped, name
    # a report as of before the merge still lists the grant in Ate, where it counted then
    cut = [f for f in facts if f.recorded_at < merge_of(facts).recorded_at]
    assert ("FundGranted", "w", "Ate") in [row[:3] for row in (
        (e["type"], e["osv"]["id"], e["district"]) for e in evidence(cut, "osvs_supported", "F2", "Ate")["events"])]


def merge_of(facts: list[Fact]) -> Fact:
    return next(f for f in facts if f.type == "OSVMerged")
