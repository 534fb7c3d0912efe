"""An OSV's details, its contact with the programme and its dissolution, without any I/O."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic, resolve_topic

from services.registry.domain.details import Composition, ContactChannel, DissolutionReason, FocusArea, OSVKind
from services.registry.domain.lifecycle import (
    ContactAlreadyLostError,
    ContactNotLostError,
    DissolvedBeforeRecordError,
    MergedBeforeRecordError,
)
from services.registry.domain.mappingdates import MappedAfterError
from services.registry.domain.osvs import OSV, NothingToChangeError
from services.registry.domain.ruos import RejectionReason, RUOSDocument
from shared.errors import DateBeforeError, OSVDissolvedError


def mapped_osv(**details: Any) -> OSV:
    return OSV(name="Unidos por Breña", district="Breña", zone="Lima Centro", mapped_on=date(2021, 3, 1), kind=details.pop("kind", None), **details)


def replayed(osv: OSV) -> OSV:
    """The same OSV rebuilt from the events it recorded."""
    copy = None
    for domain_event in osv.collect_events():
        copy = domain_event.mutate(copy)
    assert copy is not None
    return copy


def test_an_osv_is_mapped_with_its_composition_focus_areas_and_contact_channel() -> None:
    osv = mapped_osv(composition="mixed", focus_areas=["health", "employment", "health"], contact_channel="whatsapp")
    assert osv.composition is Composition.MIXED
    assert osv.focus_areas == [FocusArea.EMPLOYMENT, FocusArea.HEALTH]
    assert osv.contact_channel is ContactChannel.WHATSAPP


def test_a_change_of_details_records_only_what_differs() -> None:
    osv = mapped_osv(kind="vecinal", composition="mixed")
    changed = osv.update_details({"kind": "vecinal", "composition": "migrant_led", "focus_areas": ["culture"]}, date(2021, 4, 1))
    assert changed == {"composition": Composition.MIGRANT_LED, "focus_areas": [FocusArea.CULTURE]}
    assert (osv.kind, osv.composition, osv.focus_areas) == (OSVKind.NEIGHBOURHOOD, Composition.MIGRANT_LED, [FocusArea.CULTURE])
    assert replayed(osv).composition is Composition.MIGRANT_LED


def test_a_change_that_changes_nothing_is_refused() -> None:
    osv = mapped_osv(kind="vecinal", focus_areas=["culture", "sports"])
    for nothing in ({}, {"kind": "vecinal"}, {"focus_areas": ["sports", "culture"]}):
        with pytest.raises(NothingToChangeError) as refused:
            osv.update_details(nothing, date(2021, 4, 1))
        assert (refused.value.field, refused.value.rule) == ("body", "change_required")
    assert osv.version == 1


def test_a_detail_can_be_cleared_when_it_was_wrong() -> None:
    osv = mapped_osv(contact_channel="phone")
    osv.update_details({"contact_channel": None}, date(2021, 4, 1))
    assert osv.contact_channel is None


def test_a_change_dated_before_the_mapping_is_refused() -> None:
    with pytest.raises(DateBeforeError) as refused:
        mapped_osv().update_details({"kind": "cultural"}, date(2021, 2, 1))
    assert (refused.value.field, refused.value.rule) == ("updated_on", "not_before_mapped_on")


def test_a_document_ready_counts_towards_the_application() -> None:
    osv = mapped_osv()
    osv.record_document(RUOSDocument.ESTATUTO, date(2021, 5, 1))
    assert osv.documents_ready == {RUOSDocument.ESTATUTO: date(2021, 5, 1)}
    assert RUOSDocument.ESTATUTO not in osv.missing_documents and len(osv.missing_documents) == 6
    assert replayed(osv).documents_ready == osv.documents_ready


def test_contact_is_lost_once_and_restored_once() -> None:
    osv = mapped_osv()
    with pytest.raises(ContactNotLostError):
        osv.restore_contact(date(2021, 5, 1))
    osv.lose_contact(date(2021, 6, 1), "no responden al WhatsApp desde que la presidenta viajó")
    assert osv.contact_lost
    with pytest.raises(ContactAlreadyLostError) as twice:
        osv.lose_contact(date(2021, 7, 1))
    assert (twice.value.rule, twice.value.field) == ("contact_not_lost", "since")
    with pytest.raises(DateBeforeError):
        osv.restore_contact(date(2021, 5, 31))
    osv.restore_contact(date(2021, 8, 2))
    assert (osv.contact_lost, osv.contact_restored_on) == (False, date(2021, 8, 2))
    with pytest.raises(DateBeforeError) as earlier:
        osv.lose_contact(date(2021, 8, 1))
    assert earlier.value.rule == "not_before_last_restored_on"


def test_a_history_stored_under_the_osvs_topics_loads_its_contact_dissolution_and_merge() -> None:
    """Stored events name their class by topic (``module:Class.Event``): moving the OSV's lifecycle into a mixin
    (``lifecycle.py``) must keep the topics and fields every stored history was written under."""
    osv, survivor = mapped_osv(), mapped_osv()
    osv.lose_contact(date(2021, 6, 1), "la presidenta viajó")
    osv.restore_contact(date(2021, 7, 1))
    osv.merge_into(survivor, date(2021, 8, 1))
    stored = [(get_topic(type(e)), dict(e.__dict__)) for e in [*osv.collect_events(), *survivor.collect_events()]]
    assert [topic for topic, _ in stored] == [
        f"services.registry.domain.osvs:OSV.{name}"
        for name in ("OSVMapped", "ContactLost", "ContactRestored", "OSVMerged", "OSVMapped", "DuplicateMergedIn")
    ]
    assert stored[1][1]["since"] == date(2021, 6, 1) and stored[3][1]["into_osv_id"] == survivor.id

    copies: dict[Any, OSV | None] = {}
    for topic, state in stored:  # as the store's mapper rebuilds them: the class by topic, its fields as stored
        domain_event = object.__new__(resolve_topic(topic))
        domain_event.__dict__.update(state)
        copies[state["originator_id"]] = domain_event.mutate(copies.get(state["originator_id"]))
    copy, survivor_copy = copies[osv.id], copies[survivor.id]
    assert copy is not None and survivor_copy is not None
    assert (copy.contact_lost, copy.contact_restored_on, copy.merged_into) == (False, date(2021, 7, 1), survivor.id)
    assert survivor_copy.merged_from == [osv.id]
    dissolved = mapped_osv()
    dissolved.dissolve(date(2021, 9, 1), DissolutionReason(next(iter(DissolutionReason))), "se mudaron")
    assert get_topic(type(dissolved.pending_events[-1])) == "services.registry.domain.osvs:OSV.OSVDissolved"
    assert replayed(dissolved).dissolution_note == "se mudaron"


def test_a_dissolution_is_dated_no_earlier_than_the_mapping() -> None:
    osv = mapped_osv()
    with pytest.raises(DateBeforeError):
        osv.dissolve(date(2021, 2, 1), DissolutionReason.INACTIVE)
    osv.dissolve(date(2021, 12, 1), DissolutionReason.MEMBERS_EMIGRATED, "casi todos se fueron a Chile")
    assert (osv.dissolved_on, osv.dissolution_reason) == (date(2021, 12, 1), DissolutionReason.MEMBERS_EMIGRATED)
    assert replayed(osv).dissolved


def _submitted(osv: OSV) -> UUID:
    return osv.submit_application("150105", date(2021, 5, 3), list(RUOSDocument), None, None)


def _observed(osv: OSV) -> UUID:
    application_id = _submitted(osv)
    osv.observe_application(application_id, date(2021, 6, 1), [{"code": "signatures_missing"}], 10)
    return application_id


RECORDED_BEFORE_DISSOLVING: dict[str, tuple[Callable[[OSV], object], str, date, str]] = {
    # what registry holds of the OSV: (how it was recorded, the rule's field, its day, how the message says it)
    "document": (lambda o: o.record_document(RUOSDocument.CROQUIS, date(2021, 9, 1)), "prepared_on", date(2021, 9, 1), "its croquis was prepared"),
    "application": (lambda o: o.submit_application("150105", date(2021, 9, 1), [], None, None), "submitted_on", date(2021, 9, 1), "its RUOS application was submitted"),
    "observation": (
        lambda o: o.observe_application(_submitted(o), date(2021, 9, 1), [{"code": "signatures_missing"}], 10),
        "observed_on", date(2021, 9, 1), "its RUOS application was observed",
    ),
    "amendment": (lambda o: o.amend_application(_observed(o), date(2021, 6, 8), []), "amended_on", date(2021, 6, 8), "its RUOS application was amended"),
    "registration": (
        lambda o: o.register_application(_submitted(o), date(2021, 9, 1), "RUOS-BREÑA-2021-0007", None, None),
        "registered_on", date(2021, 9, 1), "it was registered in the RUOS",
    ),
    "direct_registration": (
        lambda o: o.register_in_ruos("RUOS-BREÑA-2021-0007", date(2021, 9, 1), municipality_id="mml"),
        "registered_on", date(2021, 9, 1), "it was registered in the RUOS",
    ),
    "board_renewal": (
        lambda o: (o.register_in_ruos("RUOS-BREÑA-2021-0007", date(2021, 6, 1), municipality_id="mml"), o.renew_board(date(2021, 10, 1), date(2023, 10, 1))),
        "board_renewed_on", date(2021, 10, 1), "its board was renewed",
    ),
    "contact_restored": (
        lambda o: (o.lose_contact(date(2021, 6, 1)), o.restore_contact(date(2021, 9, 1))), "contact_restored_on", date(2021, 9, 1), "contact with it was restored",
    ),
    # tester 212 F3: a contact restored and lost again still bounds it by its restoring (the loss does not)
    "contact_restored_and_lost_again": (
        lambda o: (o.lose_contact(date(2021, 6, 1)), o.restore_contact(date(2021, 9, 1)), o.lose_contact(date(2021, 10, 1))),
        "contact_restored_on", date(2021, 9, 1), "contact with it was restored",
    ),
    # tester 212 F4: a document recorded again bounds it by its last day, not the first kept for the application
    "document_recorded_again": (
        lambda o: (o.record_document(RUOSDocument.CROQUIS, date(2021, 3, 20)), o.record_document(RUOSDocument.CROQUIS, date(2021, 9, 1))),
        "prepared_on", date(2021, 9, 1), "its croquis was prepared",
    ),
}
"""Each recorded before the dissolution and dated after the day it is given (tester 208 F1: the OSV read registered on
2026-06-01, its board renewed to 2028, and dissolved on 2026-04-01). Registry refuses each dated after a dissolution
recorded first, so it refuses a dissolution dated before it too."""


@pytest.mark.parametrize("recorded", RECORDED_BEFORE_DISSOLVING)
def test_a_dissolution_is_not_dated_before_what_registry_holds_of_the_osv(recorded: str) -> None:
    record, field, day, said = RECORDED_BEFORE_DISSOLVING[recorded]
    osv = mapped_osv()
    record(osv)
    version = osv.version
    with pytest.raises(DissolvedBeforeRecordError) as refused:
        osv.dissolve(date(2021, 4, 1), DissolutionReason.INACTIVE)
    assert (refused.value.field, refused.value.rule) == ("dissolved_on", f"not_before_{field}")
    assert f"dissolved_on 2021-04-01 is before {said} on {day.isoformat()}" in refused.value.message
    assert osv.version == version and not osv.dissolved

    osv.dissolve(day, DissolutionReason.INACTIVE)  # the day itself is still the OSV's
    assert replayed(osv).dissolved_on == day


def test_a_dissolution_names_the_last_of_the_osvs_records_and_of_the_records_merged_into_it() -> None:
    osv = mapped_osv()
    osv.register_in_ruos("RUOS-BREÑA-2021-0007", date(2021, 6, 1), municipality_id="mml")
    osv.lose_contact(date(2021, 6, 15))
    osv.restore_contact(date(2021, 7, 1))
    with pytest.raises(DissolvedBeforeRecordError) as refused:
        osv.dissolve(date(2021, 5, 1), DissolutionReason.INACTIVE)
    assert refused.value.rule == "not_before_contact_restored_on"
    with pytest.raises(DissolvedBeforeRecordError) as refused:
        osv.dissolve(date(2021, 7, 1), DissolutionReason.INACTIVE, merged_in=[date(2021, 8, 1), date(2021, 3, 2)])
    assert (refused.value.rule, "a record was merged into it on 2021-08-01" in refused.value.message) == ("not_before_merged_on", True)
    osv.dissolve(date(2021, 8, 1), DissolutionReason.INACTIVE, merged_in=[date(2021, 8, 1)])
    assert osv.dissolved_on == date(2021, 8, 1)


def test_a_dissolution_may_be_dated_before_its_applications_rejection() -> None:
    """A rejection winds the application down and is taken from a dissolved OSV whatever its date: it bounds no dissolution."""
    osv = mapped_osv()
    application_id = _submitted(osv)
    osv.reject_application(application_id, date(2021, 9, 1), RejectionReason.WITHDRAWN)
    osv.dissolve(date(2021, 6, 1), DissolutionReason.INACTIVE)
    assert osv.dissolved_on == date(2021, 6, 1)


def test_a_dissolution_learned_of_after_a_change_of_details_may_be_dated_before_it() -> None:
    """A change of details is dated the day it is recorded when no day is given, and that day cannot be corrected: a
    dissolution learned of after staff changed the OSV's contact channel would be dated by no day but that one."""
    osv = mapped_osv()
    osv.update_details({"kind": "cultural"}, date(2021, 9, 1))
    osv.dissolve(date(2021, 6, 1), DissolutionReason.INACTIVE)
    assert replayed(osv).dissolved_on == date(2021, 6, 1)


def test_a_dissolution_learned_of_after_contact_was_lost_may_be_dated_before_the_loss() -> None:
    """Tester 212 F3: staff record that they lost touch with an OSV and learn only later that it had dissolved before
    (often why they lost it); a loss cannot be corrected, so the dissolution's true day could never be recorded."""
    osv = mapped_osv()
    osv.lose_contact(date(2022, 1, 10))
    osv.dissolve(date(2021, 12, 15), DissolutionReason.INACTIVE)
    again = replayed(osv)
    assert (again.dissolved_on, again.contact_lost_since) == (date(2021, 12, 15), date(2022, 1, 10))


def _survivor() -> OSV:
    """Another record of the organisation :func:`mapped_osv` maps, on the same day."""
    return OSV(name="Vecinos Unidos de Breña", district="Breña", zone="Lima Centro", mapped_on=date(2021, 3, 1), kind=None)


REGISTERED_ONLY = frozenset({"registration", "direct_registration", "board_renewal"})
"""What a duplicate cannot hold: a registered record is kept and the other merged into it (409 ``keep_the_registered_osv``)."""


@pytest.mark.parametrize("recorded", [kind for kind in RECORDED_BEFORE_DISSOLVING if kind not in REGISTERED_ONLY])
def test_a_merge_is_not_dated_before_what_registry_holds_of_the_duplicate(recorded: str) -> None:
    """Tester 215 F4: a duplicate whose RUOS application was submitted on 2021-09-01 was merged on 2021-04-01, folded before
    its own papers; it takes nothing after its merge, so the merge is judged as its dissolution would be."""
    record, field, day, said = RECORDED_BEFORE_DISSOLVING[recorded]
    duplicate, survivor = mapped_osv(), _survivor()
    record(duplicate)
    versions = (duplicate.version, survivor.version)
    with pytest.raises(MergedBeforeRecordError) as refused:
        duplicate.merge_into(survivor, date(2021, 4, 1))
    assert (refused.value.field, refused.value.rule) == ("merged_on", f"not_before_{field}")
    assert f"merged_on 2021-04-01 is before the duplicate's last record, {said} on {day.isoformat()}" in refused.value.message
    assert (duplicate.version, survivor.version) == versions and not duplicate.merged and survivor.merged_from == []

    duplicate.merge_into(survivor, day)  # the day itself is taken
    assert replayed(duplicate).merged_on == day and survivor.merged_from == [duplicate.id]


def test_a_merge_is_not_dated_before_a_record_merged_into_the_duplicate() -> None:
    duplicate, survivor = mapped_osv(), _survivor()
    with pytest.raises(MergedBeforeRecordError) as refused:
        duplicate.merge_into(survivor, date(2021, 7, 1), merged_in=[date(2021, 3, 2), date(2021, 8, 1)])
    assert refused.value.rule == "not_before_merged_on"
    assert "the duplicate's last record, a record was merged into it on 2021-08-01" in refused.value.message
    duplicate.merge_into(survivor, date(2021, 8, 1), merged_in=[date(2021, 8, 1)])
    assert duplicate.merged_on == date(2021, 8, 1)


def test_a_merge_may_be_dated_before_the_survivors_own_records() -> None:
    """The survivor's records are not folded by the merge: they stay its own whatever the merge's day."""
    duplicate, survivor = mapped_osv(), _survivor()
    survivor.register_in_ruos("RUOS-BREÑA-2021-0007", date(2021, 9, 1), municipality_id="mml")
    survivor.renew_board(date(2021, 10, 1), date(2023, 10, 1))
    duplicate.merge_into(survivor, date(2021, 4, 1))
    assert (duplicate.merged_on, survivor.merged_from) == (date(2021, 4, 1), [duplicate.id])


def test_a_merge_may_be_dated_before_the_duplicates_rejection_change_of_details_or_loss_of_contact() -> None:
    """What bounds no dissolution bounds no merge: the merge's day bounds the survivor's dissolution, so an organisation
    that dissolved before staff lost touch with one of its records can still be dissolved on its true day."""
    duplicate, survivor = mapped_osv(), _survivor()
    duplicate.reject_application(_submitted(duplicate), date(2021, 9, 1), RejectionReason.WITHDRAWN)
    duplicate.update_details({"kind": "cultural"}, date(2021, 9, 2))
    duplicate.lose_contact(date(2021, 9, 3))
    duplicate.merge_into(survivor, date(2021, 6, 1))
    survivor.dissolve(date(2021, 6, 1), DissolutionReason.INACTIVE, merged_in=[date(2021, 6, 1)])
    assert (replayed(duplicate).merged_on, survivor.dissolved_on) == (date(2021, 6, 1), date(2021, 6, 1))


EARLIEST_OF_A_KIND: dict[str, tuple[Callable[[OSV], object], str, date]] = {
    # recorded more than once, the first of each kind bounds a mapping day's correction: (how, the rule's field, its day)
    "details": (
        lambda o: (o.update_details({"contact_channel": "whatsapp"}, date(2021, 5, 1)), o.update_details({"contact_channel": "phone"}, date(2021, 9, 1))),
        "updated_on", date(2021, 5, 1),
    ),
    "details_typed_out_of_order": (
        lambda o: (o.update_details({"contact_channel": "phone"}, date(2021, 9, 1)), o.update_details({"contact_channel": "whatsapp"}, date(2021, 5, 1))),
        "updated_on", date(2021, 5, 1),
    ),
    "contact_lost_restored_and_lost_again": (
        lambda o: (o.lose_contact(date(2021, 4, 1)), o.restore_contact(date(2021, 5, 1)), o.lose_contact(date(2021, 7, 1))),
        "contact_lost_since", date(2021, 4, 1),
    ),
    "document_recorded_again_earlier": (
        lambda o: (o.record_document(RUOSDocument.CROQUIS, date(2021, 9, 1)), o.record_document(RUOSDocument.CROQUIS, date(2021, 5, 1))),
        "prepared_on", date(2021, 5, 1),
    ),
}
"""Tester 212 F2: only the last change of details and the current loss of contact were kept, and a mapping day was
corrected past the earlier ones: the history held a change, a loss, dated before the OSV's mapping."""


@pytest.mark.parametrize("recorded", EARLIEST_OF_A_KIND)
def test_a_mapping_day_is_not_corrected_past_the_first_of_a_kind_of_record(recorded: str) -> None:
    record, field, day = EARLIEST_OF_A_KIND[recorded]
    osv = mapped_osv()  # 2021-03-01
    record(osv)
    osv = replayed(osv)  # what it keeps is rebuilt from its events
    version = osv.version
    with pytest.raises(MappedAfterError) as refused:
        osv.correct_mapping_date(date(2021, 8, 1), date(2021, 10, 1))
    assert (refused.value.field, refused.value.rule) == ("mapped_on", f"not_after_{field}")
    assert f"on {day.isoformat()} ({field})" in refused.value.message
    assert osv.version == version
    assert osv.correct_mapping_date(day, date(2021, 10, 1)) and osv.mapped_on == day  # the day itself: mapped, then that


COMMANDS: dict[str, Callable[[OSV], object]] = {
    "update_details": lambda o: o.update_details({"kind": "cultural"}, date(2022, 1, 2)),
    "record_document": lambda o: o.record_document(RUOSDocument.CROQUIS, date(2022, 1, 2)),
    "submit_application": lambda o: o.submit_application("150105", date(2022, 1, 2), [], None, None),
    "register_in_ruos": lambda o: o.register_in_ruos("RUOS-9", date(2022, 1, 2), municipality_id="mml"),
    "renew_board": lambda o: o.renew_board(date(2022, 1, 2), date(2024, 1, 1)),
    "lose_contact": lambda o: o.lose_contact(date(2022, 1, 2)),
    "dissolve": lambda o: o.dissolve(date(2022, 1, 2), DissolutionReason.OTHER),
}
"""Each dated after the dissolution (2021-12-01); a second dissolution is refused whatever its date."""


@pytest.mark.parametrize("command", COMMANDS)
def test_a_dissolved_osv_takes_no_command_dated_after_it_and_says_since_when(command: str) -> None:
    osv = mapped_osv()
    osv.submit_application("150105", date(2021, 6, 1), [], None, None)
    osv.dissolve(date(2021, 12, 1), DissolutionReason.INACTIVE)
    version = osv.version
    with pytest.raises(OSVDissolvedError) as refused:
        COMMANDS[command](osv)
    assert refused.value.rule == "osv_not_dissolved" and "2021-12-01" in refused.value.message
    assert osv.version == version


def test_a_dissolved_osvs_backlog_and_its_applications_rejection_are_recorded_after_the_dissolution_and_replay() -> None:
    osv = mapped_osv()
    osv.submit_application("150105", date(2021, 6, 1), [], None, None)
    osv.dissolve(date(2021, 12, 1), DissolutionReason.INACTIVE)

    osv.lose_contact(date(2021, 11, 1))  # typed in from paper: dated before the dissolution
    osv.record_document(RUOSDocument.CROQUIS, date(2021, 12, 1))  # the day itself is still the OSV's
    osv.reject_application(osv.applications[0].application_id, date(2022, 1, 2), RejectionReason.WITHDRAWN)  # winds it down
    with pytest.raises(OSVDissolvedError, match="restored_on 2021-12-02 is after"):
        osv.restore_contact(date(2021, 12, 2))

    copy = replayed(osv)
    assert (copy.dissolved_on, copy.contact_lost_since, copy.open_application) == (date(2021, 12, 1), date(2021, 11, 1), None)
    assert RUOSDocument.CROQUIS in copy.documents_ready


def test_a_redaction_of_the_history_is_recorded_once_with_the_version_only_and_taken_from_a_dissolved_or_merged_osv() -> None:
    """The record is what makes a note stored in clear (before registry sealed the history's words) read ``[redacted]``:
    deleting a key forgets nothing of a note never sealed."""
    osv, survivor = mapped_osv(), mapped_osv()
    osv.lose_contact(date(2021, 6, 1), "Llamar a la señora Yusmary Cordero")
    osv.dissolve(date(2021, 9, 1), DissolutionReason.INACTIVE, "se mudó con Yusmary")
    osv.collect_events()

    assert osv.redact_history_text(2) is True and osv.redact_history_text(3) is True  # a dissolved OSV's notes too
    redactions = osv.collect_events()
    assert [(get_topic(type(e)), {k: v for k, v in vars(e).items() if not k.startswith("originator") and k != "timestamp"}) for e in redactions] == [
        ("services.registry.domain.osvs:OSV.HistoryTextRedacted", {"redacted_version": 2}),
        ("services.registry.domain.osvs:OSV.HistoryTextRedacted", {"redacted_version": 3}),
    ]
    assert osv.redacted_history == {2, 3} and mapped_osv().redacted_history == frozenset()

    assert osv.redact_history_text(2) is False  # asked again: nothing more recorded
    assert osv.collect_events() == []

    survivor.lose_contact(date(2021, 6, 1), "Yusmary")
    other = mapped_osv()
    survivor.merge_into(other, date(2021, 8, 1))
    assert survivor.redact_history_text(2) is True and replayed(survivor).redacted_history == {2}
