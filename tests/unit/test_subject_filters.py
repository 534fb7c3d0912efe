"""Which events a view's subject filter lets through, as NATS matches subjects."""

from shared.views import subject_matches


def test_a_full_wildcard_takes_every_event_of_the_service_and_nothing_of_another() -> None:
    assert subject_matches("osv.engagement.>", "osv.engagement.MemberJoined")
    assert not subject_matches("osv.engagement.>", "osv.registry.OSVMapped")
    assert not subject_matches("osv.engagement.>", "osv.engagement")


def test_a_named_subject_takes_only_its_event_type() -> None:
    assert subject_matches("osv.engagement.OSVDocumentsCounted", "osv.engagement.OSVDocumentsCounted")
    assert not subject_matches("osv.engagement.OSVDocumentsCounted", "osv.engagement.MemberJoined")


def test_a_token_wildcard_stands_for_exactly_one_token() -> None:
    assert subject_matches("osv.*.OSVMapped", "osv.registry.OSVMapped")
    assert not subject_matches("osv.*", "osv.registry.OSVMapped")
