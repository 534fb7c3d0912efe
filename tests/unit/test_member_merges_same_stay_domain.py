"""One stay recorded twice, merged, in engagement's domain alone (helper 311): no store, no web.

Yusmary was registered in Comas with her PTP, and registered again in Comas when the Kobo form was edited with her
corrected document: two records, two seats, two joinings for one stay. Merged, the duplicate's stay goes into the
survivor's: no longer active, never left, its seat freed; the stay goes on, and ends once, as the survivor's. What
cannot be told apart without guessing is refused, and says what to do.
"""

from __future__ import annotations

import json
from datetime import date
from uuid import UUID, uuid4

import pytest

from services.engagement.domain.memberrules import DepartureReason, Role, Sex
from services.engagement.domain.members import Member
from services.engagement.domain.merges import MergeRefusedError, StayMergedError, check_left_after_merged_stays
from services.engagement.domain.roster import OSVRoster
from shared.documents import DocumentType
from shared.errors import RuleViolationError

TODAY = date(2025, 1, 10)
COMAS, LOS_OLIVOS = uuid4(), uuid4()
COMAS_AGAIN = uuid4()  # a second record of Comas' OSV, merged into it in registry
SECRETS = ("Yusmary", "000371933", "940407")


def register(osv_id: UUID, document_type: DocumentType, number: str, joined_on: date, role: Role = Role.MEMBER) -> Member:
    member = Member.register(
        full_name="Yusmary Pérez", document_type=document_type, document_number=number, nationality="VE", sex=Sex.F,
        birth_year=1990, osv_id=osv_id, joined_on=joined_on, today=TODAY, role=role,
    )
    member.collect_events()
    return member


def stay(member: Member) -> UUID:
    return member.latest_membership.membership_id


def test_the_duplicates_active_stay_goes_into_the_survivors_and_says_what_its_joining_was_counted_under() -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 3, 5))  # the form edited, typed in again

    merged = duplicate.merge_into(survivor, TODAY)

    assert [m.membership_id for m in merged] == [stay(duplicate)]
    published = duplicate.collect_events()
    assert [type(e).__name__ for e in published] == ["MembershipMerged", "MemberMerged"]
    said = published[0]
    assert (said.membership_id, said.into_member_id, said.into_membership_id, said.osv_id) == (stay(duplicate), survivor.id, stay(survivor), COMAS)
    assert (said.joined_on, said.nationality, said.sex, str(said.age_band), said.merged_on) == (date(2024, 3, 5), "VE", Sex.F, "30-44", TODAY)
    assert not any(secret in json.dumps({k: str(v) for k, v in e.__dict__.items()}) for e in published for secret in SECRETS)
    merged_stay = duplicate.latest_membership
    assert (merged_stay.status, merged_stay.active, merged_stay.left_on) == ("merged", False, None)
    assert (merged_stay.merged_into, merged_stay.merged_into_member, merged_stay.merged_on) == (stay(survivor), survivor.id, TODAY)
    assert survivor.latest_membership.status == "active" and duplicate.active_memberships == []


def test_the_roster_seats_the_person_once_after_the_merge() -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 3, 1))
    roster = OSVRoster(osv_id=COMAS)
    for member in (survivor, duplicate):
        roster.seat(member.latest_membership, member.id, member.document_type, TODAY)
    assert roster.members == {"CPP": 1, "PASAPORTE": 1}

    for membership in duplicate.merge_into(survivor, TODAY):
        roster.unseat(membership, duplicate.id, duplicate.document_type, TODAY)

    assert roster.members == {"CPP": 1}
    assert roster.seats_member(survivor.id) and not roster.seats_member(duplicate.id)


def test_a_departure_after_the_merge_ends_the_stay_once_on_the_survivors() -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 3, 1))
    duplicate.merge_into(survivor, TODAY)
    survivor.collect_events()
    duplicate.collect_events()

    for refused in (
        lambda: duplicate.leave_membership(stay(duplicate), date(2025, 2, 1), DepartureReason.MOVED_IN_PERU),
        lambda: duplicate.leave(date(2025, 2, 1), DepartureReason.MOVED_IN_PERU),
        lambda: duplicate.change_role(stay(duplicate), Role.BOARD_MEMBER, date(2025, 2, 1)),
        lambda: duplicate.correct_joining(stay(duplicate), date(2024, 2, 1), TODAY),
    ):
        with pytest.raises(StayMergedError) as merged:
            refused()
        assert (merged.value.field, merged.value.rule) == ("membership_id", "stay_not_merged")
        assert f"/members/{survivor.id}/memberships/{stay(survivor)}" in str(merged.value)
    assert duplicate.collect_events() == []

    survivor.leave(date(2025, 2, 1), DepartureReason.MOVED_IN_PERU)

    assert [type(e).__name__ for e in survivor.collect_events()] == ["Left"]
    assert duplicate.latest_membership.left_on is None  # it never ended: it was the same stay


def test_a_departure_before_a_merged_stays_joining_is_refused_naming_it() -> None:
    """Tester 317 F2: the duplicate's stay, joined on 2024-06-20, went into the survivor's; a departure dated before
    that day made it end before it began. The merged stay is one the departure ends, so it bounds it as her own joining."""
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 6, 20))
    duplicate.merge_into(survivor, TODAY)
    stays = [*survivor.memberships.values(), *duplicate.memberships.values()]

    with pytest.raises(RuleViolationError) as refused:
        check_left_after_merged_stays(survivor.latest_membership, date(2024, 5, 1), stays)

    assert (refused.value.field, refused.value.rule) == ("left_on", "not_before_joined_on")
    assert str(stay(duplicate)) in str(refused.value) and "2024-06-20" in str(refused.value)
    check_left_after_merged_stays(survivor.latest_membership, date(2024, 6, 20), stays)  # its joining day: a day held
    check_left_after_merged_stays(duplicate.latest_membership, date(2024, 5, 1), stays)  # nothing merged into it


def test_a_stay_of_a_record_merged_before_takes_the_same_stay_of_a_third() -> None:
    survivor = register(LOS_OLIVOS, DocumentType.CPP, "000371933", date(2023, 1, 1))
    first = register(COMAS, DocumentType.PTP, "000512344", date(2024, 3, 1))
    first.merge_into(survivor, TODAY)
    third = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 3, 1))

    merged = third.merge_into(survivor, TODAY, through=[first])

    assert [m.merged_into_member for m in merged] == [first.id]
    assert [m.merged_into for m in merged] == [stay(first)]


def test_a_duplicate_stay_whose_departure_was_recorded_is_refused_saying_it_was_counted() -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 3, 1))
    duplicate.leave(date(2024, 6, 20), DepartureReason.MOVED_IN_PERU)
    duplicate.collect_events()

    with pytest.raises(MergeRefusedError) as refused:
        duplicate.merge_into(survivor, TODAY)

    detail = str(refused.value)
    assert (refused.value.field, refused.value.rule) == ("duplicate_id", "stays_apart")
    assert "members_left" in detail and "do not record a departure" in detail and "cannot be merged yet" not in detail
    assert detail.endswith("joined the same day, they are one stay recorded twice")
    assert duplicate.collect_events() == [] and duplicate.merged_into is None


@pytest.mark.parametrize("role", [Role.PRESIDENT, Role.BOARD_MEMBER])
def test_a_duplicate_stay_holding_a_board_role_is_refused_saying_to_record_its_role_change_first(role: Role) -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 3, 1), role=role)

    with pytest.raises(MergeRefusedError) as refused:
        duplicate.merge_into(survivor, TODAY)

    assert (refused.value.field, refused.value.rule) == ("duplicate_id", "no_board_role")
    assert f"POST /members/{duplicate.id}/memberships/{stay(duplicate)}/role" in str(refused.value)
    assert duplicate.collect_events() == []

    duplicate.change_role(stay(duplicate), Role.MEMBER, date(2024, 12, 1))  # following it, the merge is taken
    assert [m.membership_id for m in duplicate.merge_into(survivor, TODAY)] == [stay(duplicate)]


def test_a_duplicate_stay_overlapping_two_of_the_persons_stays_is_refused() -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2021, 1, 1))
    survivor.leave(date(2022, 1, 1), DepartureReason.MOVED_IN_PERU)
    survivor.join(COMAS, Role.MEMBER, date(2023, 1, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2020, 6, 1))  # overlaps both

    with pytest.raises(MergeRefusedError) as refused:
        duplicate.merge_into(survivor, TODAY)

    assert refused.value.rule == "stays_apart" and "2 stays of member" in str(refused.value)
    assert "cannot be told" in str(refused.value) and duplicate.collect_events() == []


def test_two_duplicate_stays_overlapping_one_of_the_persons_are_refused() -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2019, 1, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2020, 1, 1))
    duplicate.leave(date(2021, 1, 1), DepartureReason.MOVED_IN_PERU)
    duplicate.join(COMAS, Role.MEMBER, date(2022, 1, 1))
    duplicate.collect_events()

    with pytest.raises(MergeRefusedError) as refused:
        duplicate.merge_into(survivor, TODAY)

    assert refused.value.rule == "stays_apart" and "2 stays of the duplicate" in str(refused.value)
    assert duplicate.collect_events() == []


def test_a_record_whose_only_stay_was_merged_reads_as_merged_not_left() -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 3, 1))
    duplicate.merge_into(survivor, TODAY)

    assert duplicate.current_membership.status == "merged"


def test_an_active_duplicate_stay_goes_into_the_persons_stay_that_ended_and_ends_with_it() -> None:
    """The survivor's departure was recorded (counted once); the duplicate's stay, the same one, goes into it: the person
    is no longer in the OSV, and no second departure is counted."""
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    survivor.leave(date(2024, 9, 1), DepartureReason.MOVED_IN_PERU)
    duplicate = register(COMAS, DocumentType.PASAPORTE, "940407", date(2024, 3, 1))

    merged = duplicate.merge_into(survivor, TODAY)

    assert [m.merged_into for m in merged] == [stay(survivor)] and not any(m.active for m in (*survivor.memberships.values(), *merged))
    assert not any(type(e).__name__ == "Left" for e in duplicate.collect_events())


def test_stays_in_two_records_of_one_organisation_are_one_stay_once_registrys_merge_is_given() -> None:
    """Tester 317 F1: the raw OSV ids differ, the organisation is one (``osv_now``: registry's merges followed). Its
    joining is taken back under the OSV it was counted under, the duplicate's."""
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS_AGAIN, DocumentType.PASAPORTE, "940407", date(2024, 3, 5))

    merged = duplicate.merge_into(survivor, TODAY, osv_now={COMAS_AGAIN: COMAS, COMAS: COMAS})

    assert [m.membership_id for m in merged] == [stay(duplicate)]
    said = duplicate.collect_events()[0]
    assert (type(said).__name__, said.osv_id, said.into_membership_id) == ("MembershipMerged", COMAS_AGAIN, stay(survivor))
    assert duplicate.active_memberships == [] and survivor.latest_membership.active


def test_a_left_stay_in_another_record_of_the_organisation_is_refused_as_stays_apart() -> None:
    survivor = register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1))
    duplicate = register(COMAS_AGAIN, DocumentType.PASAPORTE, "940407", date(2024, 3, 5))
    duplicate.leave(date(2024, 6, 1), DepartureReason.MOVED_IN_PERU)

    with pytest.raises(MergeRefusedError) as refused:
        duplicate.merge_into(survivor, TODAY, osv_now={COMAS_AGAIN: COMAS})

    assert (refused.value.field, refused.value.rule) == ("duplicate_id", "stays_apart")
