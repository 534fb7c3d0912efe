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


def test_the_document_counts_view_takes_the_counts_on_the_programmes_subject_only() -> None:
    view = DocumentCounts.__new__(DocumentCounts)  # only its subject filters are read: no store needed
    assert view.subject_for("engagement") == "osv-programme.engagement.OSVDocumentsCounted"
    assert view.takes("engagement", {"type": "OSVDocumentsCounted", "audience": "programme"})  # as engagement's feed gives it
    assert not view.takes("engagement", {"type": "MemberJoined", "municipality": "150132"})


def test_a_view_following_every_event_of_a_service_takes_those_no_partner_reads_too() -> None:
    """Reporting follows the whole of engagement's log: every position comes to it by the stream, so its floor moves
    without its feed, the counts no partner reads (on `osv-programme.`) included."""

    class Everything(DocumentCounts):
        subjects = {}

    view = Everything.__new__(Everything)
    assert view.subject_for("engagement") == "*.engagement.>"
    assert view.takes("engagement", {"type": "MemberJoined", "municipality": "150132"})
    assert view.takes("engagement", {"type": "PhaseOpened"})  # programme-wide, under `none`
    assert view.takes("engagement", {"type": "OSVDocumentsCounted", "audience": "programme"})
    assert not subject_matches(view.subject_for("engagement"), "osv.registry.150132.OSVMapped")
