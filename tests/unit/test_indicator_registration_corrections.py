"""An OSV's registration in the RUOS corrected: ``osvs_registered_ruos`` counts it in the phase of the right day, and the
board-term alerts go by the corrected term, from the correction on (tester t286 F1).

Registry publishes ``RUOSRegistrationCorrected`` with every value of the registration before and after. The OSV was
always registered on the corrected day, so every report made after the correction counts it there, past phases
included; a report as of before it shows what was known then. Checkpoints, merges and a full fold agree.
"""

from __future__ import annotations

from datetime import date

from services.reporting.domain.alerts import board_terms
from services.reporting.domain.indicators import Fact
from services.reporting.domain.tally import evidence, report
from tests.unit.test_indicator_corrections import F3, restored_and_recut
from tests.unit.test_indicators import F1, F2, fact, mapped, merged, phase, phases_of

NUMBER = "RUOS-SJL-2021-0007"


def registered(osv: str, day: str, term: str | None = "2023-06-30") -> Fact:
    return fact("RUOSRegistered", day, osv_id=osv, ruos_number=NUMBER, registered_on=day, municipality_id="150132", board_term_ends_on=term)


def corrected(osv: str, day: str, was: str, now: str, *, number: str = NUMBER, term_was: str | None = "2023-06-30",
              term: str | None = "2023-06-30") -> Fact:
    names = [n for n, changed in (("ruos_number", number != NUMBER), ("registered_on", was != now), ("board_term_ends_on", term != term_was)) if changed]
    return fact("RUOSRegistrationCorrected", day, osv_id=osv, corrected=names, ruos_number=number, registered_on=now,
                resolution_number=None, board_term_ends_on=term, previous_ruos_number=NUMBER, previous_registered_on=was,
                previous_resolution_number=None, previous_board_term_ends_on=term_was, municipality_id="150132",
                application_id=None, corrected_on=day)


def story(a_registered_on: str) -> list[Fact]:
    """OSVs a and b mapped in F1 in Comas, c in Ate; a registered on ``a_registered_on``, c in F2."""
    return [
        phase(*F1), phase(*F2), mapped("a", "2021-02-01"), mapped("b", "2021-03-01"), mapped("c", "2021-03-01", "Ate", "Lima Este"),
        registered("a", a_registered_on), registered("c", "2021-09-01"),
    ]


def test_a_registration_typed_in_the_next_phase_counts_in_the_phase_it_was_made_once_corrected() -> None:
    recorded = story("2021-07-05")  # the resolution's day was 2021-06-30, in F1
    correction = [corrected("a", "2021-12-01", "2021-07-05", "2021-06-30")]

    before, after = phases_of(report(recorded)), phases_of(report(recorded + correction))
    assert (before["F1"]["osvs_registered_ruos"], before["F2"]["osvs_registered_ruos"]) == (0, 2)
    assert (after["F1"]["osvs_registered_ruos"], after["F2"]["osvs_registered_ruos"]) == (1, 1)
    assert (after["F1"]["osvs_registered_ruos_cumulative"], after["F1"]["ruos_registration_rate"]) == (1, "0.3333")
    assert report(recorded + correction)["total"]["osvs_registered_ruos"] == 2
    # the evidence names the correction beside the registration it moves (a sign-off's restatement shows it so)
    f2 = evidence(recorded + correction, "osvs_registered_ruos", "F2")["events"]
    assert [(e["type"], e["adds"]) for e in f2] == [
        ("RUOSRegistered", {"value": 1}), ("RUOSRegistered", {"value": 1}), ("RUOSRegistrationCorrected", {"value": -1}),
    ]
    # every report after the correction is the one the registration typed right from the start would have made
    for by in (None, "zone", "district"):
        assert report(recorded + correction, by) == report(story("2021-06-30"), by)


def test_a_report_cut_before_the_correction_or_before_the_corrected_day_counts_as_it_then_knew() -> None:
    recorded = story("2021-07-05")
    correction = [corrected("a", "2021-12-01", "2021-07-05", "2021-06-30")]
    # as of a moment before the correction: its facts are those recorded then, the correction not among them
    assert phases_of(report(recorded, today=date(2021, 11, 30)))["F1"]["osvs_registered_ruos"] == 0
    # a registration corrected to tomorrow (the date rule's margin) counts nowhere in a report of today, from its day on
    later = [corrected("a", "2021-07-06", "2021-07-05", "2021-07-07")]
    assert report(recorded + later, today=date(2021, 7, 6))["total"]["osvs_registered_ruos"] == 0
    assert report(recorded + later, today=date(2021, 7, 7))["total"]["osvs_registered_ruos"] == 1
    assert phases_of(report(recorded + correction))["F1"]["osvs_registered_ruos"] == 1


def test_a_correction_within_the_phase_or_of_the_number_alone_moves_nothing() -> None:
    recorded = story("2021-07-05")
    assert report(recorded + [corrected("a", "2021-12-01", "2021-07-05", "2021-09-30")]) == report(recorded)
    assert report(recorded + [corrected("a", "2021-12-01", "2021-07-05", "2021-07-05", number="RUOS-SJL-2021-0070")]) == report(recorded)


def test_a_tally_restored_before_a_registration_correction_and_re_cut_by_the_next_phase_goes_on_to_the_same_report() -> None:
    earlier = story("2021-07-05")
    later = [corrected("a", "2021-12-01", "2021-07-05", "2021-06-30")]
    facts = earlier + later + [phase(*F3)]
    assert restored_and_recut(earlier, later, facts, "district") == report(facts, "district")


def test_a_corrected_registration_moves_with_its_record_merged_across_districts() -> None:
    """Registry merges no registered record into another now; one merged before the rule moves its registration, as
    corrected, to the survivor's district (and a correction recorded after the merge is refused in registry)."""
    facts = [*story("2021-07-05"), corrected("a", "2021-11-01", "2021-07-05", "2021-06-30"), merged("a", "c", "2021-12-01", "2021-02-01")]
    groups = report(facts, "district")["breakdown"]["groups"]
    by_district = {district: [p["indicators"]["osvs_registered_ruos"] for p in group["phases"]] for district, group in groups.items()}
    assert by_district == {"Ate": [1, 1], "Comas": [0, 0]}  # a in F1 (corrected), c in F2: both in Ate now


def test_the_board_term_alert_goes_by_the_corrected_term_and_a_renewal_keeps_its_own() -> None:
    typed = [mapped("a", "2021-02-01"), registered("a", "2021-06-30", term="2021-09-30")]  # typed for 2023-09-30
    correction = corrected("a", "2021-08-02", "2021-06-30", "2021-06-30", term_was="2021-09-30", term="2023-09-30")
    (alert,) = board_terms(typed, date(2021, 8, 15))
    assert alert.term_ends_on == date(2021, 9, 30)  # as known before the correction
    assert board_terms([*typed, correction], date(2021, 8, 15)) == []
    (alert,) = board_terms([*typed, correction], date(2023, 9, 1))
    assert (alert.term_ends_on, alert.ruos_number, alert.municipality_id) == (date(2023, 9, 30), NUMBER, "150132")
    # a number corrected is the one the alert names
    renumbered = corrected("a", "2021-08-03", "2021-06-30", "2021-06-30", number="RUOS-SJL-2021-0070", term_was="2023-09-30", term="2023-09-30")
    (alert,) = board_terms([*typed, correction, renumbered], date(2023, 9, 1))
    assert alert.ruos_number == "RUOS-SJL-2021-0070"
    # a board renewed is in force whatever the registration's term is corrected to, before or after the renewal
    renewal = fact("BoardRenewed", "2021-07-10", osv_id="a", renewed_on="2021-07-10", term_ends_on="2023-07-10")
    for facts in ([*typed, renewal, correction], [*typed, correction, renewal]):
        (alert,) = board_terms(facts, date(2023, 7, 1))
        assert alert.term_ends_on == date(2023, 7, 10)
    # a term cleared (typed where the resolution gave none) flags nothing
    cleared = corrected("a", "2021-08-02", "2021-06-30", "2021-06-30", term_was="2021-09-30", term=None)
    assert board_terms([*typed, cleared], date(2021, 9, 29)) == []
