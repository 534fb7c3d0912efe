"""A person's nationality or sex rectified: the figures count them as corrected in every phase, from the correction on.

Field staff recorded a Venezuelan as PE, or swapped F and M; engagement publishes the correction per membership
(``MemberNationalityCorrected``, ``MemberSexCorrected``). The value was always wrong, so every report made after the
correction counts the person as if they had been recorded right, the past phases included; a report as of before it
shows what was known then. Attendances stay as each activity's report counted its rows.
"""

from __future__ import annotations

import json
from datetime import timedelta

from services.reporting.domain.indicators import Fact, phases_in
from services.reporting.domain.tally import RECALLED, Tally, activities_in, evidence, histories_in, report
from tests.unit.test_indicators import F1, F2, RECORDED, enrolled, fact, mapped, merged, phase, phases_of, workshop

F3 = ("F3", "2022-01-01", "2022-06-30")


def about(made: Fact) -> Fact:
    """The fact with the member it speaks of as its subject, as engagement publishes it (a restored tally recalls by it)."""
    return Fact(made.event_id, made.type, str(made.data["member_id"]), made.occurred_on, made.recorded_at, made.data)


def joined(member: str, day: str, nationality: str, sex: str, osv: str = "a") -> Fact:
    return about(fact("MemberJoined", day, member_id=member, membership_id=f"{member}@{osv}", osv_id=osv, nationality=nationality, sex=sex))


def left(member: str, day: str, nationality: str, sex: str, osv: str = "a") -> Fact:
    return about(fact("MemberLeft", day, member_id=member, membership_id=f"{member}@{osv}", osv_id=osv, nationality=nationality, sex=sex,
                      reason="moved_in_peru"))


def nationality_corrected(member: str, day: str, was: str, now: str, joined_on: str, left_on: str | None = None, osv: str = "a") -> Fact:
    return about(fact("MemberNationalityCorrected", day, member_id=member, membership_id=f"{member}@{osv}", osv_id=osv,
                      previous_nationality=was, nationality=now, joined_on=joined_on, left_on=left_on, corrected_on=day))


def sex_corrected(member: str, day: str, was: str, now: str, joined_on: str, left_on: str | None = None, osv: str = "a") -> Fact:
    return about(fact("MemberSexCorrected", day, member_id=member, membership_id=f"{member}@{osv}", osv_id=osv,
                      previous_sex=was, sex=now, joined_on=joined_on, left_on=left_on, corrected_on=day))


def rosas_story(nationality: str, sex: str) -> list[Fact]:
    """Rosa joins OSV a in F1, takes part in its project and a workshop, and leaves in F2, recorded as ``nationality`` and ``sex``."""
    return [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"),
        fact("FundGranted", "2021-02-01", grant_id="g", osv_id="a", amount="1000.00", currency="PEN", kind="seed_fund"),
        joined("rosa", "2021-02-10", nationality, sex), joined("luz", "2021-02-11", "VE", "F"),
        about(enrolled("rosa", "g", "2021-03-01", nationality, sex)),
        workshop("w", "2021-04-01", [("rosa", nationality, sex), ("luz", "VE", "F")]),
        left("rosa", "2021-08-01", nationality, sex),
    ]


def restored_and_recut(earlier: list[Fact], later: list[Fact], facts: list[Fact], by: str) -> dict[str, object]:
    """The report (by ``by``) of a tally kept as ``earlier`` left it (its state through JSON, as a checkpoint), given what
    ``later`` names, folded on with ``later``, and kept again and restored under every phase of ``facts`` (a phase opened
    since re-cuts it): what a read model restoring checkpoints gives."""
    phases, lookup = phases_in(earlier), activities_in(facts)
    restored = Tally.restore(json.loads(json.dumps(Tally(phases, lookup).fold(earlier).state())), phases, lookup)
    restored.recall(recalled(restored, earlier, later))
    restored.fold(later)
    all_phases = phases_in(facts)
    return Tally.restore(json.loads(json.dumps(restored.state())), all_phases, lookup).report(all_phases, by)


def recalled(tally: Tally, earlier: list[Fact], later: list[Fact]) -> list[Fact]:
    """What the read model hands a restored tally before it folds ``later``: the earlier facts of what they name."""
    need = tally.missing(later)
    return [
        f for f in earlier
        if (f.type == "OSVMapped" and f.data["osv_id"] in need["osv"])
        or (f.type in RECALLED["member"] and f.subject in need["member"])
        or (f.type in RECALLED["grant"] and f.subject in need["grant"])
    ]


def without_attendances(result: dict[str, object]) -> str:
    """A report with each ``attendances`` figure left out (they stay as each activity's report counted its rows)."""
    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "attendances"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return json.dumps(strip(result), sort_keys=True)


def test_a_venezuelan_recorded_as_peruvian_counts_as_venezuelan_in_every_phase_once_corrected_and_as_recorded_before() -> None:
    recorded = rosas_story("PE", "M")
    corrections = [
        nationality_corrected("rosa", "2021-10-01", "PE", "VE", "2021-02-10", "2021-08-01"),
        sex_corrected("rosa", "2021-10-01", "M", "F", "2021-02-10", "2021-08-01"),
    ]

    before, after = phases_of(report(recorded)), phases_of(report(recorded + corrections))

    assert before["F1"]["members_joined"] == {"total": 2, "by_nationality": {"PE": 1, "VE": 1}, "by_sex": {"F": 1, "M": 1}}
    assert after["F1"]["members_joined"] == {"total": 2, "by_nationality": {"VE": 2}, "by_sex": {"F": 2}}
    assert (before["F2"]["members_left"], after["F2"]["members_left"]) == (
        {"total": 1, "by_nationality": {"PE": 1}, "by_sex": {"M": 1}}, {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    )
    assert after["F1"]["agents_of_change"] == {"total": 1, "new": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    assert after["F1"]["beneficiaries_direct"] == {"total": 2, "by_nationality": {"VE": 2}, "by_sex": {"F": 2}, "aggregate": 0}
    assert after["F1"]["attendances"] == before["F1"]["attendances"]  # the workshop's rows, as its report gave them
    # the evidence names the correction beside the joining it restates (a sign-off's restatement shows it so)
    joinings = evidence(recorded + corrections, "members_joined", "F1")["events"]
    assert [(e["type"], e["adds"]) for e in joinings if e["adds"].get("by_nationality.PE")] == [
        ("MemberJoined", {"by_nationality.PE": 1, "by_sex.M": 1, "total": 1}),
        ("MemberNationalityCorrected", {"by_nationality.PE": -1, "by_nationality.VE": 1}),
    ]
    # every report after the correction is the one Rosa recorded right from the start would have made
    for by in (None, "zone", "district"):
        assert without_attendances(report(recorded + corrections, by)) == without_attendances(report(rosas_story("VE", "F"), by))


def test_a_correction_within_other_moves_nothing_and_one_of_each_membership_moves_its_own_joining() -> None:
    recorded = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-03", "Ate", "Lima Este"),
        joined("ana", "2021-02-01", "CO", "F"), joined("ana", "2021-09-01", "CO", "F", osv="b"),
    ]
    within_other = [nationality_corrected("ana", "2021-10-01", "CO", "EC", "2021-02-01"),
                    nationality_corrected("ana", "2021-10-01", "CO", "EC", "2021-09-01", osv="b")]
    assert report(recorded + within_other, "district") == report(recorded, "district")

    to_pe = [nationality_corrected("ana", "2021-11-01", "EC", "PE", "2021-02-01"),
             nationality_corrected("ana", "2021-11-01", "EC", "PE", "2021-09-01", osv="b")]
    result = report(recorded + within_other + to_pe, "district")
    districts = result["breakdown"]["groups"]
    assert phases_of(districts["Comas"])["F1"]["members_joined"] == {"total": 1, "by_nationality": {"PE": 1}, "by_sex": {"F": 1}}
    assert phases_of(districts["Ate"])["F2"]["members_joined"] == {"total": 1, "by_nationality": {"PE": 1}, "by_sex": {"F": 1}}


def test_a_tally_restored_before_a_correction_and_re_cut_by_the_next_phase_goes_on_to_the_same_report() -> None:
    # Rosa still takes part when corrected: what is open-ended moves too, so the next phase, opened later, counts her as VE.
    earlier = [f for f in rosas_story("PE", "M") if f.type != "MemberLeft"]
    later = [
        nationality_corrected("rosa", "2021-10-01", "PE", "VE", "2021-02-10"),
        sex_corrected("rosa", "2021-10-01", "M", "F", "2021-02-10"),
    ]
    facts = earlier + later + [phase(*F3)]
    phases, lookup = phases_in(earlier), activities_in(facts)
    restored = Tally.restore(json.loads(json.dumps(Tally(phases, lookup).fold(earlier).state())), phases, lookup)
    assert {k: v for k, v in restored.missing(later).items() if v} == {"member": {"rosa"}, "osv": {"a"}}
    restored.recall(recalled(restored, earlier, later))
    restored.fold(later)
    all_phases = phases_in(facts)
    recut = Tally.restore(json.loads(json.dumps(restored.state())), all_phases, lookup)

    assert recut.report(all_phases, "zone") == report(facts, "zone")
    f3 = phases_of(report(facts))["F3"]
    assert f3["agents_of_change"] == {"total": 1, "new": 0, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}


def test_a_record_merged_across_districts_after_a_correction_moves_the_corrected_figures() -> None:
    recorded = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-03", "Ate", "Lima Este"),
        joined("rosa", "2021-02-10", "PE", "M", osv="b"), left("rosa", "2021-03-10", "PE", "M", osv="b"),
        nationality_corrected("rosa", "2021-05-01", "PE", "VE", "2021-02-10", "2021-03-10", osv="b"),
        merged("b", "a", "2021-06-01", "2021-01-03", "Ate", "Lima Este"),
    ]
    right = [f for f in recorded if f.type != "MemberNationalityCorrected"]
    right[4:6] = [joined("rosa", "2021-02-10", "VE", "M", osv="b"), left("rosa", "2021-03-10", "VE", "M", osv="b")]

    result = report(recorded, "district")
    assert json.dumps(result, sort_keys=True) == json.dumps(report(right, "district"), sort_keys=True)
    comas = phases_of(result["breakdown"]["groups"]["Comas"])["F1"]
    assert (comas["members_joined"], comas["members_left"]) == ({"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"M": 1}},) * 2
    assert "Ate" not in result["breakdown"]["groups"]  # nothing is left counted there, not even a PE below 0


def test_a_dissolution_after_a_correction_ends_the_participation_under_the_corrected_value_restored_or_not() -> None:
    earlier = [f for f in rosas_story("PE", "M") if f.type != "MemberLeft"]
    later = [
        nationality_corrected("rosa", "2021-10-01", "PE", "VE", "2021-02-10"),
        fact("OSVDissolved", "2021-11-01", osv_id="a", dissolved_on="2021-11-01", reason="inactive"),
    ]
    facts = earlier + later
    phases, lookup = phases_in(facts), activities_in(facts)
    restored = Tally.restore(json.loads(json.dumps(Tally(phases, lookup).fold(earlier + later[:1]).state())), phases, lookup)
    restored.history = histories_in(facts)
    restored.recall(recalled(restored, earlier + later[:1], later[1:]))
    restored.fold(later[1:])

    assert restored.report(phases, "district") == report(facts, "district")
    f2 = phases_of(report(facts))["F2"]
    assert f2["agents_of_change"] == {"total": 1, "new": 0, "by_nationality": {"VE": 1}, "by_sex": {"M": 1}}


def test_each_place_a_person_with_two_memberships_was_restated_in_cites_the_correction_of_the_membership_there() -> None:
    # Ana is a member of OSV a (Comas, Lima Norte) and of OSV b (Ate, Lima Este), takes part in a project and a workshop
    # of each. Her nationality rectified, engagement publishes one correction per membership: the first restates her
    # everywhere (the second finds it done), and each district's and zone's evidence still names the correction of the
    # membership there, its OSV and district, as a municipality's own evidence reads it.
    recorded = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-03", "Ate", "Lima Este"),
        fact("FundGranted", "2021-02-01", grant_id="g", osv_id="a", amount="1000.00", currency="PEN", kind="seed_fund"),
        fact("FundGranted", "2021-02-01", grant_id="h", osv_id="b", amount="1000.00", currency="PEN", kind="seed_fund"),
        joined("ana", "2021-02-01", "CO", "F"), joined("ana", "2021-02-02", "CO", "F", osv="b"),
        about(enrolled("ana", "g", "2021-03-01", "CO", "F")), about(enrolled("ana", "h", "2021-03-02", "CO", "F", osv="b")),
        workshop("w", "2021-04-01", [("ana", "CO", "F")]), workshop("v", "2021-04-02", [("ana", "CO", "F")], "Ate", "Lima Este"),
    ]
    corrections = [nationality_corrected("ana", "2021-10-01", "CO", "VE", "2021-02-01"),
                   nationality_corrected("ana", "2021-10-01", "CO", "VE", "2021-02-02", osv="b")]
    facts = recorded + corrections

    for name in ("agents_of_change", "beneficiaries_direct"):
        for group, osv, district in (("Comas", "a", "Comas"), ("Lima Norte", "a", "Comas"), ("Ate", "b", "Ate"), ("Lima Este", "b", "Ate")):
            cited = [e for e in evidence(facts, name, "F1", group)["events"] if e["type"] == "MemberNationalityCorrected"]
            assert [(e["osv"]["id"], e["district"], e["adds"]) for e in cited] == [
                (osv, district, {"by_nationality.VE": 1, "by_nationality.other": -1})
            ], (name, group)
        # all of Lima counts her once: one correction restates her there
        assert len([e for e in evidence(facts, name, "F1")["events"] if e["type"] == "MemberNationalityCorrected"]) == 1
    assert phases_of(report(facts))["F1"]["agents_of_change"]["by_nationality"] == {"VE": 1}



def test_the_evidence_lists_the_corrections_of_one_save_in_their_log_order() -> None:
    # The two memberships' corrections are stored in one save, at one recorded instant: positions 9 and 10 of
    # engagement's log, listed so, not "engagement:10" first as their ids sort as text.
    recorded = [phase(*F1), mapped("a", "2021-01-02"), joined("ana", "2021-02-01", "CO", "F"), joined("ana", "2021-02-02", "CO", "F", osv="b")]
    at = RECORDED + timedelta(days=1)
    one_save = [
        Fact(f"engagement:{n}", made.type, made.subject, made.occurred_on, at, made.data, "engagement", n)
        for n, made in ((9, nationality_corrected("ana", "2021-10-01", "CO", "VE", "2021-02-01")),
                        (10, nationality_corrected("ana", "2021-10-01", "CO", "VE", "2021-02-02", osv="b")))
    ]
    listed = evidence(recorded + one_save, "members_joined", "F1")["events"]
    assert [e["event_id"] for e in listed if e["type"] == "MemberNationalityCorrected"] == ["engagement:9", "engagement:10"]
