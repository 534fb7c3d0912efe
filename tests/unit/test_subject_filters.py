"""Which events a view's subject filter lets through, as NATS matches subjects."""

from services.registry.views.documentcounts import DocumentCounts
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


def test_a_view_takes_the_events_of_its_named_type_under_any_municipality_and_no_other_type() -> None:
    view = DocumentCounts.__new__(DocumentCounts)  # only its subject filters are read: no store needed
    assert view.subject_for("engagement") == "osv.engagement.*.OSVDocumentsCounted"
    assert view.takes("engagement", {"type": "OSVDocumentsCounted", "municipality": "150132"})
    assert view.takes("engagement", {"type": "OSVDocumentsCounted"})  # an OSV the feed cannot place yet: `none`
    assert not view.takes("engagement", {"type": "MemberJoined", "municipality": "150132"})
