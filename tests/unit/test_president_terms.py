"""A president's term, as the roster's rule reads it: days from the role taken until the next role or the departure, never
two presidents' on one day (tester 232 F4). The application's use of it is tests/integration/test_president_terms.py."""

from __future__ import annotations

from datetime import date

import pytest

from services.engagement.domain.memberrules import DepartureReason, Role
from services.engagement.domain.roster import (
    Holder,
    OSVRoster,
    PresidentTermsOverlapError,
    Term,
    check_term_apart,
    terms_of,
)
from shared.documents import DocumentType
from tests.unit.test_engagement_domain import OSV_ID, TODAY, a_member


def test_a_membership_s_terms_as_president_run_from_the_role_taken_to_the_next_role_or_the_departure() -> None:
    rosa = a_member(joined_on=date(2021, 10, 4), role=Role.PRESIDENT)
    membership = rosa.latest_membership
    assert terms_of(membership) == [Term(date(2021, 10, 4))]  # holds it still

    rosa.change_role(membership.membership_id, Role.BOARD_MEMBER, date(2021, 12, 1))
    rosa.change_role(membership.membership_id, Role.PRESIDENT, date(2023, 1, 9))
    rosa.leave(date(2023, 8, 31), DepartureReason.MOVED_ABROAD)

    assert terms_of(membership) == [
        Term(date(2021, 10, 4), date(2021, 12, 1)),
        Term(date(2023, 1, 9), date(2023, 8, 31)),
    ]
    assert terms_of(membership, Role.BOARD_MEMBER) == [Term(date(2021, 12, 1), date(2023, 1, 9))]


def test_terms_overlap_when_they_share_a_day_and_a_handover_day_is_the_new_presidents() -> None:
    rosa = Term(date(2021, 10, 4), date(2021, 12, 1))

    assert rosa.overlaps(Term(date(2021, 11, 15)))
    assert rosa.overlaps(Term(date(2021, 1, 1)))  # an open term from before runs over hers
    assert rosa.overlaps(Term(date(2021, 1, 1), date(2021, 10, 5)))
    assert not rosa.overlaps(Term(date(2021, 12, 1)))  # the day she stepped down
    assert not rosa.overlaps(Term(date(2021, 1, 1), date(2021, 10, 4)))
    assert not rosa.overlaps(Term(date(2021, 11, 1), date(2021, 11, 1)))  # a role held no day
    assert Term(date(2021, 1, 1)).overlaps(Term(date(2024, 1, 1)))


def test_a_term_overlapping_others_is_refused_naming_the_one_that_ended_last_by_its_dates_and_member_id() -> None:
    rosa, maria = a_member(role=Role.PRESIDENT), a_member(document_type=DocumentType.DNI, document_number="41234567")
    others = [
        (Holder.of(rosa, rosa.latest_membership.membership_id), Term(date(2021, 10, 4), date(2021, 12, 1))),
        (Holder.of(maria, maria.latest_membership.membership_id), Term(date(2022, 1, 10), date(2022, 6, 30))),
    ]

    with pytest.raises(PresidentTermsOverlapError) as refused:
        check_term_apart("joined_on", Term(date(2021, 11, 15)), others)

    assert (refused.value.field, refused.value.rule, refused.value.holder) == ("joined_on", "one_president", maria.id)
    assert (
        "2022-01-10" in refused.value.message
        and "2022-06-30" in refused.value.message
        and "Yusmary" not in refused.value.message
    )
    assert refused.value.extensions == {"overlapping_term": {"from": "2022-01-10", "until": "2022-06-30"}}
    check_term_apart("changed_on", Term(date(2022, 6, 30)), others)
    check_term_apart("joined_on", Term(date(2021, 12, 1), date(2022, 1, 10)), others)


def test_the_roster_knows_every_membership_it_seated_as_president_and_so_does_its_replay() -> None:
    roster = OSVRoster(osv_id=OSV_ID)
    rosa = a_member(joined_on=date(2021, 10, 4), role=Role.PRESIDENT)
    maria = a_member(document_type=DocumentType.DNI, document_number="41234567", joined_on=date(2021, 10, 4))
    roster.seat(rosa.latest_membership, rosa.id, rosa.document_type, TODAY)
    roster.seat(maria.latest_membership, maria.id, maria.document_type, TODAY)
    roster.seat(
        rosa.change_role(rosa.latest_membership.membership_id, Role.BOARD_MEMBER, date(2021, 12, 1)),
        rosa.id,
        rosa.document_type,
        TODAY,
    )
    roster.seat(
        maria.change_role(maria.latest_membership.membership_id, Role.PRESIDENT, date(2021, 12, 1)),
        maria.id,
        maria.document_type,
        TODAY,
    )
    roster.unseat(maria.leave(date(2022, 6, 30), DepartureReason.WITHDREW), maria.id, maria.document_type, TODAY)

    expected = {rosa.latest_membership.membership_id: rosa.id, maria.latest_membership.membership_id: maria.id}
    assert roster.presidents == expected
    assert roster.presidents_besides(rosa.latest_membership.membership_id) == {
        maria.latest_membership.membership_id: maria.id
    }

    replayed = None
    for recorded in roster.collect_events():  # as a store's events are read again
        replayed = recorded.mutate(replayed)
    assert replayed is not None and replayed.presidents == expected
