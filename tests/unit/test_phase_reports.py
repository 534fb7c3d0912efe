"""A phase's report as the leads plan and sign it: targets checked part by part, sign-offs kept with their cut and digest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.reporting.domain.phasereports import (
    PhaseReport,
    SignOffCutError,
    TargetMissingError,
    TargetPartError,
    TargetPartsAboveTotalError,
    TargetValueError,
    UnknownIndicatorError,
    as_signed,
    digest_of,
    intact,
    money_parts,
    part_groups,
    part_mistakes,
    parts_of,
    share_reached,
)

NOW = datetime(2022, 1, 10, 15, tzinfo=timezone.utc)


def test_targets_take_the_parts_the_indicator_is_disaggregated_by() -> None:
    assert parts_of("osvs_identified") == ("value",)
    assert parts_of("agents_of_change") == (
        "total", "by_nationality.VE", "by_nationality.PE", "by_nationality.other", "by_sex.F", "by_sex.M", "by_sex.X",
    )
    assert parts_of("osvs_supported") == ("total", "first_time", "repeat")
    with pytest.raises(UnknownIndicatorError):
        parts_of("happiness")


def test_the_parts_of_an_indicator_that_are_money_are_known_and_a_count_or_rate_has_none() -> None:
    """What the API takes only as a decimal string, as every amount (services.reporting.schemas.TargetsUpdate)."""
    assert money_parts("seed_funds_granted_pen") == money_parts("goods_delivered_usd") == {"value"}
    assert money_parts("participatory_budget") == {"amount_funded_pen", "amount_funded_usd"}  # its submitted, accepted and funded are counts
    assert money_parts("osvs_identified") == money_parts("ruos_registration_rate") == money_parts("agents_of_change") == set()
    assert money_parts("happiness") == set()  # no such indicator: set_targets answers 404 for it


def test_a_lead_sets_targets_written_as_the_figures_are_and_setting_the_same_again_records_nothing() -> None:
    report = PhaseReport(phase="F2")
    assert report.set_targets("agents_of_change", {"total": 0}, {"total": 40, "by_sex.F": "20", "by_nationality.VE": 28.0}, "lead", NOW)
    assert report.set_targets("seed_funds_granted_pen", {}, {"value": "25000"}, "lead", NOW)
    assert report.set_targets("ruos_registration_rate", {"value": 0}, {"value": "0.25"}, "lead", NOW)

    targets = report.targets_as_of(None)
    assert targets["agents_of_change"]["target"] == {"total": "40", "by_sex.F": "20", "by_nationality.VE": "28"}
    assert targets["seed_funds_granted_pen"]["target"] == {"value": "25000.00"}
    assert targets["ruos_registration_rate"]["target"] == {"value": "0.2500"}
    events = len(report.pending_events)
    assert not report.set_targets("agents_of_change", {"total": "0"}, {"total": 40, "by_sex.F": 20, "by_nationality.VE": 28}, "lead", NOW)
    assert len(report.pending_events) == events


def test_targets_as_of_a_moment_are_those_set_by_then() -> None:
    report = PhaseReport(phase="F1")
    report.set_targets("osvs_identified", {}, {"value": 25}, "lead", NOW)
    report.set_targets("osvs_identified", {}, {"value": 30}, "lead", NOW + timedelta(days=30))

    assert report.targets_as_of(NOW + timedelta(days=1))["osvs_identified"]["target"] == {"value": "25"}
    assert report.targets_as_of(None)["osvs_identified"]["target"] == {"value": "30"}
    assert report.targets_as_of(NOW - timedelta(days=1)) == {}


@pytest.mark.parametrize(
    ("indicator", "target", "error", "field"),
    [
        ("agents_of_change", {"by_sex.W": 3}, TargetPartError, "target.by_sex.W"),
        ("osvs_identified", {"total": 3}, TargetPartError, "target.total"),
        ("osvs_identified", {"value": -1}, TargetValueError, "target.value"),
        ("osvs_identified", {"value": 2.5}, TargetValueError, "target.value"),
        ("osvs_identified", {"value": "many"}, TargetValueError, "target.value"),
        ("ruos_registration_rate", {"value": 25}, TargetValueError, "target.value"),
        ("ruos_registration_rate", {"value": 1e-7}, TargetValueError, "target.value"),  # kept as 0.0000 (tester 36d F4)
        ("ruos_registration_rate", {"value": 0.30000000000000004}, TargetValueError, "target.value"),  # kept as 0.3000
        ("seed_funds_granted_pen", {"value": "100.005"}, TargetValueError, "target.value"),  # kept as 100.00 or 100.01
        ("osvs_identified", {}, TargetMissingError, "target"),
    ],
)
def test_a_target_that_is_not_a_figure_of_the_indicator_is_refused_naming_the_part(
    indicator: str, target: dict, error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as refused:
        PhaseReport(phase="F1").set_targets(indicator, {}, target, "lead", NOW)
    assert refused.value.field == field  # type: ignore[attr-defined]


def test_a_total_is_split_into_groups_of_parts_and_a_rate_money_or_sub_count_is_in_none() -> None:
    assert part_groups("beneficiaries_direct") == {
        "by_nationality": ("by_nationality.VE", "by_nationality.PE", "by_nationality.other"),
        "by_sex": ("by_sex.F", "by_sex.M", "by_sex.X"),
    }
    assert part_groups("members_joined") == part_groups("members_left") == {  # by sex too (tester 184 F5)
        "by_nationality": ("by_nationality.VE", "by_nationality.PE", "by_nationality.other"),
        "by_sex": ("by_sex.F", "by_sex.M", "by_sex.X"),
    }
    assert part_groups("osvs_supported") == {"first_time+repeat": ("first_time", "repeat")}  # in a phase, each OSV is one of them
    assert "new" not in str(part_groups("agents_of_change"))  # a sub-count, set by no target
    # No total to add up to: a plain count, money, the registration rate; participatory budget's steps are no split of one.
    for indicator in ("osvs_identified", "seed_funds_granted_pen", "ruos_registration_rate", "participatory_budget", "members_left_by_reason"):
        assert part_groups(indicator) == {}


@pytest.mark.parametrize(
    ("indicator", "figure", "field", "said"),
    [
        ("beneficiaries_direct", {"total": 100, "by_sex.F": 80, "by_sex.M": 70}, "target.by_sex",
         "by_sex.F + by_sex.M add up to 150, more than the total, 100"),
        ("beneficiaries_direct", {"total": 100, "by_sex.F": 120}, "target.by_sex.F", "by_sex.F is 120, more than the total, 100"),
        ("osvs_supported", {"total": 5, "first_time": 10, "repeat": 10}, "target.first_time+repeat",
         "first_time + repeat add up to 20, more than the total, 5"),
        ("agents_of_change", {"total": "0", "by_nationality.other": 1}, "target.by_nationality.other",
         "by_nationality.other is 1, more than the total, 0"),
    ],
)
def test_parts_that_add_up_to_more_than_their_total_are_refused_naming_the_group_and_the_sum(
    indicator: str, figure: dict, field: str, said: str
) -> None:
    """Tester 171 F1: women 80 and men 70 of 100 people were taken, and sent to donors in the IATI file."""
    report = PhaseReport(phase="F3")
    with pytest.raises(TargetPartsAboveTotalError) as refused:
        report.set_targets(indicator, {}, figure, "lead", NOW)
    assert (refused.value.field, refused.value.rule) == (field, "parts_within_total")
    assert refused.value.message.startswith(said), refused.value.message
    with pytest.raises(TargetPartsAboveTotalError) as refused:
        report.set_targets(indicator, figure, {"total": 1000}, "lead", NOW)  # a baseline alike
    assert refused.value.field == field.replace("target", "baseline", 1)
    assert report.targets == [] and report.pending_events[-1].__class__.__name__ == "PhaseReportStarted"  # nothing recorded


def test_parts_may_be_partial_and_add_up_to_the_total_or_less_each_group_on_its_own() -> None:
    report = PhaseReport(phase="F3")
    assert report.set_targets("beneficiaries_direct", {"total": 0, "by_sex.F": 0}, {
        "total": 100, "by_sex.F": 60, "by_sex.M": 40, "by_nationality.VE": 90,  # each group within the total, not the two together
    }, "lead", NOW)
    assert report.set_targets("osvs_supported", {}, {"total": 5, "first_time": 5}, "lead", NOW)
    assert report.set_targets("agents_of_change", {}, {"by_sex.F": 30}, "lead", NOW)  # no total given: nothing to add up to
    assert report.set_targets("participatory_budget", {}, {"submitted": 4, "accepted": 3, "funded": 2}, "lead", NOW)  # no total


def test_every_group_above_its_total_is_told_with_the_other_mistakes_of_the_figure() -> None:
    figure = {"total": 100, "by_sex.F": 80, "by_sex.M": 70, "by_nationality.VE": 90, "by_nationality.PE": 90, "by_sex.W": 1}
    mistakes = [(m.field, m.rule) for m in part_mistakes("beneficiaries_direct", "target", figure)]
    assert mistakes == [
        ("target.by_sex.W", "indicator_part"), ("target.by_nationality", "parts_within_total"), ("target.by_sex", "parts_within_total"),
    ]
    # a part whose value is refused is told so, and the rest of its group is still added up
    assert [(m.field, m.rule) for m in part_mistakes("osvs_supported", "target", {"total": 2, "first_time": 3, "repeat": 1.5})] == [
        ("target.repeat", "target_value"), ("target.first_time", "parts_within_total"),
    ]
    assert [m.field for m in part_mistakes("osvs_supported", "target", {"total": -1, "first_time": 3})] == ["target.total"]


def test_a_disaggregation_sent_as_an_object_is_told_how_its_parts_are_written() -> None:
    """Tester 171 F2: ``"by_sex": {"F": 60}`` was told it must be a number."""
    with pytest.raises(TargetPartError) as refused:
        PhaseReport(phase="F3").set_targets("beneficiaries_direct", {}, {"total": 100, "by_sex": {"F": 60}}, "lead", NOW)
    assert refused.value.field == "target.by_sex"
    assert "by_sex.F, by_sex.M, by_sex.X" in refused.value.message and '"by_sex.F": 60' in refused.value.message, refused.value.message


def test_the_share_reached_is_the_actual_over_the_target_part_by_part() -> None:
    actual = {"total": 42, "by_nationality": {"VE": 29, "PE": 13}, "by_sex": {}}
    assert share_reached(actual, {"total": "40", "by_nationality.VE": "28", "by_sex.F": "20", "by_nationality.other": "0"}) == {
        "total": "1.0500", "by_nationality.VE": "1.0357", "by_sex.F": "0.0000", "by_nationality.other": None,
    }
    assert share_reached("1250.50", {"value": "5000.00"}) == {"value": "0.2501"}


def test_a_sign_off_keeps_the_figures_its_cut_and_a_digest_and_signing_the_same_again_records_nothing() -> None:
    report = PhaseReport(phase="F1")
    cut = NOW - timedelta(days=10)
    figures = {"osvs_identified": 30, "osvs_registered_ruos": 7}

    signed = report.sign_off(cut, figures, "lead", NOW)
    assert signed["digest"] == digest_of("F1", cut, figures) and len(signed["digest"]) == 64
    assert report.sign_off(cut, dict(figures), "lead", NOW + timedelta(hours=1)) == signed  # a retry
    assert len(report.sign_offs) == 1
    later = report.sign_off(cut, {**figures, "osvs_identified": 31}, "lead", NOW + timedelta(days=1))  # late facts, signed again
    assert later["digest"] != signed["digest"]
    assert report.sign_offs_as_of(NOW + timedelta(hours=2)) == [signed]


def test_the_phases_standing_sign_off_is_the_one_from_the_latest_cut_not_the_one_signed_last() -> None:
    """Tester 271 F3: an older cut signed again (to reproduce a past report) became the one donors were told of."""
    report = PhaseReport(phase="F1")
    assert report.standing_sign_off(None) is None
    newer = report.sign_off(NOW - timedelta(days=1), {"osvs_identified": 31}, "lead", NOW)
    older = report.sign_off(NOW - timedelta(days=5), {"osvs_identified": 30}, "lead", NOW + timedelta(hours=1))
    assert report.standing_sign_off(None) == newer
    assert report.standing_sign_off(NOW + timedelta(minutes=30)) == newer  # as of before the older cut was signed too
    assert report.standing_sign_off(NOW - timedelta(minutes=1)) is None  # none signed yet
    # one cut signed twice (facts recorded by it reached reporting after the first): the one signed last
    again = report.sign_off(NOW - timedelta(days=1), {"osvs_identified": 32}, "lead", NOW + timedelta(hours=2))
    assert report.standing_sign_off(None) == again and report.standing_sign_off(NOW + timedelta(hours=1)) == newer
    assert older not in (report.standing_sign_off(None), report.standing_sign_off(NOW + timedelta(hours=1)))


def test_the_digest_depends_on_the_phase_the_cut_and_every_figure() -> None:
    cut = NOW - timedelta(days=1)
    base = digest_of("F1", cut, {"a": 1, "b": {"x": 2}})
    assert base == digest_of("F1", cut.astimezone(timezone(timedelta(hours=-5))), {"b": {"x": 2}, "a": 1})  # same moment, same figures
    assert len({base, digest_of("F2", cut, {"a": 1, "b": {"x": 2}}), digest_of("F1", NOW, {"a": 1, "b": {"x": 2}}),
                digest_of("F1", cut, {"a": 1, "b": {"x": 3}})}) == 4


def test_a_sign_off_is_intact_while_its_figures_give_its_digest_and_not_once_any_of_them_changed() -> None:
    report = PhaseReport(phase="F1")
    signed = report.sign_off(NOW - timedelta(days=10), {"osvs_identified": 76, "agents_of_change": {"total": 5}}, "lead", NOW)
    assert intact(signed)
    assert not intact({**signed, "figures": {**signed["figures"], "osvs_identified": 96}})  # as rewritten in the store
    assert not intact({**signed, "figures": {**signed["figures"], "agents_of_change": {"total": 6}}})
    assert not intact({**signed, "cut": NOW})
    assert not intact({**signed, "figures": {"osvs_identified": object()}})  # figures that cannot be read back: not intact either


def test_a_sign_off_of_facts_not_yet_recorded_is_refused() -> None:
    with pytest.raises(SignOffCutError) as refused:
        PhaseReport(phase="F1").sign_off(NOW + timedelta(minutes=1), {}, "lead", NOW)
    assert refused.value.field == "as_of"


def test_figures_compared_with_a_sign_off_leave_out_the_parts_it_never_signed() -> None:
    """A phase signed before members were counted by sex (tester 184 F5): its by_sex was never signed; one signed empty was."""
    signed = {"members_joined": {"total": 1, "by_nationality": {"VE": 1}}, "agents_of_change": {"total": 0, "by_sex": {}}, "murals": 2}
    now = {"members_joined": {"total": 2, "by_nationality": {"VE": 2}, "by_sex": {"F": 2}}, "agents_of_change": {"total": 1, "by_sex": {"F": 1}},
           "murals": 3, "attendances": {"total": 4}}
    assert as_signed(signed, now) == {
        "members_joined": {"total": 2, "by_nationality": {"VE": 2}}, "agents_of_change": {"total": 1, "by_sex": {"F": 1}}, "murals": 3,
        "attendances": {"total": 4},
    }
