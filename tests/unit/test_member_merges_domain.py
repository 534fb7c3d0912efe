"""Two records of one person merged, in engagement's domain alone (tester 184 F3): no store, no web.

Yusmary registered with her CPP in one OSV and again with her old PTP in another: merged, the duplicate keeps its
history, says where it went and takes no new record of her; the merge is refused rather than guessed.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from services.engagement.domain.memberrules import DepartureReason, Role, Sex
from services.engagement.domain.members import Member
from services.engagement.domain.merges import (
    EnrolledThroughMergedRecordError,
    MemberMergedError,
    MergeRefusedError,
    MergeWithItselfError,
)
from shared.documents import DocumentType

TODAY = date(2025, 1, 10)
COMAS, LOS_OLIVOS = uuid4(), uuid4()


def register(osv_id: UUID, document_type: DocumentType, number: str, joined_on: date, sex: Sex = Sex.F, nationality: str = "VE") -> Member:
    member = Member.register(
        full_name="Yusmary Pérez", document_type=document_type, document_number=number, nationality=nationality, sex=sex,
        birth_year=1990, osv_id=osv_id, joined_on=joined_on, today=TODAY,
    )
    member.collect_events()
    return member


def yusmary_twice() -> tuple[Member, Member]:
    return (register(COMAS, DocumentType.CPP, "000371933", date(2024, 3, 1)),
            register(LOS_OLIVOS, DocumentType.PTP, "000512344", date(2024, 5, 10)))


def test_the_duplicate_goes_into_the_survivor_and_says_so_once_per_osv_of_either() -> None:
    survivor, duplicate = yusmary_twice()

    duplicate.merge_into(survivor, TODAY)

    published = duplicate.collect_events()
    assert [type(e).__name__ for e in published] == ["MemberMerged", "MemberMerged"]
    assert [e.osv_id for e in published] == [COMAS, LOS_OLIVOS]  # in the order they were joined
    assert {e.into_member_id for e in published} == {survivor.id}
    assert [type(e).__name__ for e in survivor.collect_events()] == ["DuplicateMergedIn"]
    assert (duplicate.merged_into, duplicate.merged_on, survivor.merged_from) == (survivor.id, TODAY, (duplicate.id,))
    assert not any("Yusmary" in repr(e.__dict__) or "000512344" in repr(e.__dict__) for e in published)


def test_a_merged_record_takes_no_new_record_of_the_person_but_winds_down_what_it_holds() -> None:
    survivor, duplicate = yusmary_twice()
    duplicate.merge_into(survivor, TODAY)

    with pytest.raises(MemberMergedError) as joined:
        duplicate.join(COMAS, Role.MEMBER, date(2024, 6, 1))
    assert str(survivor.id) in str(joined.value) and joined.value.rule == "member_not_merged"
    with pytest.raises(MemberMergedError):
        duplicate.enrol(uuid4(), LOS_OLIVOS, date(2024, 6, 1))
    with pytest.raises(MemberMergedError):
        duplicate.correct(TODAY, phone="+51 911 111 111")
    membership = duplicate.latest_membership
    assert duplicate.leave_membership(membership.membership_id, date(2024, 8, 1), DepartureReason.MOVED_IN_PERU).left_on == date(2024, 8, 1)


def test_the_survivor_enrols_through_a_membership_of_the_record_merged_into_it() -> None:
    survivor, duplicate = yusmary_twice()
    duplicate.merge_into(survivor, TODAY)
    grant = uuid4()

    participation = survivor.enrol(grant, LOS_OLIVOS, date(2024, 6, 1), through=[duplicate])

    assert (participation.osv_id, participation.enrolled_on) == (LOS_OLIVOS, date(2024, 6, 1))


def test_the_survivor_is_not_enrolled_in_a_project_a_record_merged_into_it_takes_part_in() -> None:
    """Tester 187 F2: the survivor enrolled in the project the duplicate was enrolled in before the merge, the state the
    merge itself refuses. Withdrawn there or not, the person was enrolled: 409 ``enrol_once`` naming the record."""
    survivor, duplicate = yusmary_twice()
    grant = uuid4()
    duplicate.enrol(grant, LOS_OLIVOS, date(2024, 6, 1))
    duplicate.withdraw(grant, date(2024, 7, 1))
    duplicate.merge_into(survivor, TODAY)
    survivor.collect_events()

    with pytest.raises(EnrolledThroughMergedRecordError) as again:
        survivor.enrol(grant, LOS_OLIVOS, date(2024, 8, 1), through=[duplicate])

    assert again.value.rule == "enrol_once" and again.value.field == "grant_id" and str(duplicate.id) in str(again.value)
    assert survivor.collect_events() == [] and grant not in survivor.participations


def test_a_third_record_is_not_merged_when_a_record_merged_before_takes_part_in_its_project() -> None:
    """The sibling of tester 187 F2: the merge compared the duplicate's projects with the survivor's own only."""
    survivor, duplicate = yusmary_twice()
    grant = uuid4()
    duplicate.enrol(grant, LOS_OLIVOS, date(2024, 6, 1))
    duplicate.merge_into(survivor, TODAY)
    third = register(LOS_OLIVOS, DocumentType.DNI, "45678912", date(2024, 1, 10))
    third.enrol(grant, LOS_OLIVOS, date(2024, 4, 1))
    third.leave(date(2024, 5, 1), DepartureReason.MOVED_IN_PERU)  # apart from the duplicate's stay there
    third.collect_events()

    with pytest.raises(MergeRefusedError) as refused:
        third.merge_into(survivor, TODAY, through=[duplicate])

    assert refused.value.rule == "enrol_once" and str(duplicate.id) in str(refused.value)
    assert third.collect_events() == [] and third.merged_into is None


def test_a_merged_record_says_what_to_do_with_the_member_it_went_into() -> None:
    survivor, duplicate = yusmary_twice()
    duplicate.merge_into(survivor, TODAY)

    with pytest.raises(MemberMergedError) as listed:
        duplicate.check_not_merged("participants.1.member_id", f"member {duplicate.id}", "list member {into} instead")

    assert listed.value.field == "participants.1.member_id" and listed.value.into_member_id == survivor.id
    assert str(listed.value).endswith(f"list member {survivor.id} instead")


@pytest.mark.parametrize(
    ("osv", "sex", "nationality", "rule"),
    [
        ("los_olivos", Sex.M, "VE", "same_sex"),
        ("los_olivos", Sex.F, "PE", "same_nationality"),
        # A stay in the survivor's OSV at the same time, both active, is the same stay twice: merged since helper 311
        # (tests/unit/test_member_merges_same_stay_domain.py), refused only when its departure was recorded.
    ],
)
def test_two_records_that_disagree_are_not_merged(osv: str, sex: Sex, nationality: str, rule: str) -> None:
    survivor, _ = yusmary_twice()
    other = register(COMAS if osv == "comas" else LOS_OLIVOS, DocumentType.DNI, "45678912", date(2024, 4, 1), sex=sex, nationality=nationality)

    with pytest.raises(MergeRefusedError) as refused:
        other.merge_into(survivor, TODAY)

    assert refused.value.rule == rule and other.collect_events() == []


def test_a_stay_in_one_osv_that_ended_before_the_other_began_is_merged() -> None:
    survivor, _ = yusmary_twice()
    earlier = register(COMAS, DocumentType.DNI, "45678912", date(2023, 1, 1))
    earlier.leave(date(2024, 3, 1), DepartureReason.WITHDREW)  # the day the survivor's stay began: apart

    earlier.merge_into(survivor, TODAY)

    assert earlier.merged_into == survivor.id


def test_a_merge_with_itself_twice_into_a_merged_record_or_an_erased_one_is_refused() -> None:
    survivor, duplicate = yusmary_twice()
    with pytest.raises(MergeWithItselfError):
        survivor.merge_into(survivor, TODAY)
    erased = register(LOS_OLIVOS, DocumentType.DNI, "45678912", date(2024, 4, 1))
    erased.erase(TODAY)
    with pytest.raises(MergeRefusedError) as refused:
        erased.merge_into(survivor, TODAY)
    assert refused.value.rule == "not_erased"

    duplicate.merge_into(survivor, TODAY)

    with pytest.raises(MemberMergedError):
        duplicate.merge_into(survivor, TODAY)
    third = register(LOS_OLIVOS, DocumentType.DNI, "07654321", date(2020, 1, 1))
    third.leave(date(2020, 6, 1), DepartureReason.WITHDREW)
    with pytest.raises(MemberMergedError):
        third.merge_into(duplicate, TODAY)  # into a record merged away: into the survivor instead
    with pytest.raises(MergeRefusedError) as chained:
        survivor.merge_into(third, TODAY)
    assert chained.value.rule == "no_merged_records"
