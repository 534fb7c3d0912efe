"""A redaction of a proposal's summary forgets it for every reader, a summary stored in clear before funding sealed it
too.

Found by helper h269 (registry's agreements and OSV histories): ``POST /proposals/{id}/summary/redaction`` forgot a
summary by deleting the key that sealed it, and answered 200 for one stored before funding sealed any (before commit
f772185), which then still read in clear, to staff and to the round's evaluators: the DPO was told it was gone when it
was not. The redaction is now recorded on the proposal (a private ``ProposalSummaryRedacted``, no text), after which the
summary reads ``[redacted]`` to everyone, after a restart too; it stays in the stored event (README, "Free text"). The
stories run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import Mapper
from fastapi.testclient import TestClient

from services.funding.application import Funding
from services.funding.domain.proposals import Proposal
from shared.sealing import text_key
from tests.integration.test_funding_rounds_api import a_proposal, a_round
from tests.support.api import assert_problem, ok
from tests.support.clients import application_of, feed, head, service_client
from tests.support.identity import SignedInAs

pytestmark = pytest.mark.timeout(180)

NAME = "Yusmary Cordero"
SUMMARY = f"La señora {NAME} coordina el mural con sus vecinos"
OTHER = "Pintar el muro del parque con la junta directiva"
WITHHELD, REDACTED = "[withheld]", "[redacted]"
READERS = ("tester", "staff", "lead", "evaluator", "evaluator-2", "auditor")
"""Who reads a proposal: staff and leads, the round's evaluators (EV-1 is the tester's, EV-2 and EV-3 the others'), auditors."""
UNKNOWN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def a_round_with_two_proposals(funding: TestClient) -> tuple[str, str, str]:
    """A round whose three evaluator codes are assigned, with a proposal summarised in words naming a person, and
    another; the round's id, the first proposal's and the other's."""
    round_ = a_round(funding)
    return round_["id"], a_proposal(funding, round_["id"], summary=SUMMARY)["id"], a_proposal(funding, round_["id"], summary=OTHER)["id"]


def summary_read_by(funding: TestClient, who: str, round_id: str, proposal_id: str) -> str:
    """The proposal's summary as ``who`` reads it: in ``GET /proposals/{id}`` and, the same, in the round's list."""
    reader = SignedInAs(funding, who)
    shown = ok(reader.get(f"/proposals/{proposal_id}"))["summary"]
    listed = next(p for p in ok(reader.get(f"/rounds/{round_id}/proposals")) if p["id"] == proposal_id)
    assert listed["summary"] == shown
    return str(shown)


def stored_summary(funding: TestClient, proposal_id: str) -> str | None:
    """The summary of the proposal's stored ``ProposalSubmitted`` as the store holds it: as written when stored in clear,
    None when sealed (its key's to open)."""
    app = application_of(funding)
    submitted = Mapper.to_domain_event(app.mapper, app.recorder.select_events(UUID(proposal_id))[0])
    assert isinstance(submitted, Proposal.ProposalSubmitted)
    return submitted.summary if isinstance(submitted.summary, str) else None


def recorded_types(funding: TestClient, proposal_id: str) -> list[str]:
    return [type(e).__name__ for e in application_of(funding).events.get(UUID(proposal_id))]


def never_published(funding: TestClient) -> None:
    """Neither the redaction nor a word of a summary reaches ``GET /events``: the tester's feed, the auditor's, nor
    San Juan de Lurigancho's partner's."""
    auditors = SignedInAs(funding, "auditor").get("/events", params={"limit": 1000})
    partners = SignedInAs(funding, "partner-150132").get("/events", params={"limit": 1000})
    for events in (feed(funding), ok(auditors)["events"], ok(partners)["events"]):
        assert "ProposalSummaryRedacted" not in [e["type"] for e in events] and NAME not in repr(events)
    assert "ProposalSubmitted" in [e["type"] for e in ok(auditors)["events"]]  # the auditor reads the round's deliberation


def test_a_summary_stored_in_clear_before_it_was_sealed_reads_redacted_once_forgotten_after_a_restart_too(
    var_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before_sealing:  # funding as it was before f772185: nothing sealed
        before_sealing.setattr(Funding, "SEALED_FIELDS", {})
        with service_client("funding", var_dir, database_url) as funding:
            round_id, proposal_id, other_id = a_round_with_two_proposals(funding)
            assert stored_summary(funding, proposal_id) == SUMMARY

    with service_client("funding", var_dir, database_url) as funding:
        assert summary_read_by(funding, "staff", round_id, proposal_id) == SUMMARY
        assert summary_read_by(funding, "evaluator", round_id, proposal_id) == SUMMARY
        assert summary_read_by(funding, "auditor", round_id, proposal_id) == WITHHELD
        path = f"/proposals/{proposal_id}/summary/redaction"

        rehearsed = funding.post(path, params={"dry_run": "true"})
        assert rehearsed.headers["dry-run"] == "true" and ok(rehearsed)["summary"] == REDACTED  # what the real one answers
        assert summary_read_by(funding, "staff", round_id, proposal_id) == SUMMARY  # the rehearsal forgot nothing

        redacted = ok(funding.post(path))
        assert {k: v for k, v in rehearsed.json().items() if k != "version"} == {k: v for k, v in redacted.items() if k != "version"}
        assert (redacted["summary"], redacted["title"], redacted["status"]) == (REDACTED, "Mural de la integración", "submitted")
        assert recorded_types(funding, proposal_id)[-1] == "ProposalSummaryRedacted"
        for reader in READERS:
            assert summary_read_by(funding, reader, round_id, proposal_id) == REDACTED
        assert summary_read_by(funding, "evaluator", round_id, other_id) == OTHER  # one proposal, not the others

        before, answered = head(funding), ok(funding.get(f"/proposals/{proposal_id}"))
        assert ok(funding.post(path)) == answered  # asked again: the same answer, nothing more recorded
        assert head(funding) == before
        never_published(funding)

    with service_client("funding", var_dir, database_url) as funding:  # the redaction is recorded: it holds after a restart
        for reader in READERS:
            assert summary_read_by(funding, reader, round_id, proposal_id) == REDACTED
        never_published(funding)
        # As README says: the log is not rewritten, so the summary stays in the event that recorded it in clear.
        assert stored_summary(funding, proposal_id) == SUMMARY


def test_a_sealed_summary_is_redacted_as_before_and_one_forgotten_already_records_nothing(var_dir: Path, database_url: str) -> None:
    with service_client("funding", var_dir, database_url) as funding:
        round_id, proposal_id, other_id = a_round_with_two_proposals(funding)
        assert stored_summary(funding, proposal_id) is None  # sealed
        keys = application_of(funding).keys
        assert keys.key_of(text_key(UUID(proposal_id))) is not None

        assert ok(funding.post(f"/proposals/{proposal_id}/summary/redaction"))["summary"] == REDACTED
        assert recorded_types(funding, proposal_id)[-1] == "ProposalSummaryRedacted"
        assert keys.key_of(text_key(UUID(proposal_id))) is None
        for reader in READERS:
            assert summary_read_by(funding, reader, round_id, proposal_id) == REDACTED

        # Forgotten by the redaction as it was before it was recorded (the key deleted, nothing recorded): asked again,
        # the same answer as then, with nothing more recorded.
        version = ok(funding.get(f"/proposals/{other_id}"))["version"]
        application_of(funding).forget_text(UUID(other_id), version, text_key(UUID(other_id)))
        before, answered = head(funding), ok(funding.get(f"/proposals/{other_id}"))
        assert answered["summary"] == REDACTED
        assert ok(funding.post(f"/proposals/{other_id}/summary/redaction")) == answered
        assert head(funding) == before

        assert_problem(funding.post(f"/proposals/{UNKNOWN}/summary/redaction"), 404, "proposal_id", "known_proposal")
        never_published(funding)

    with service_client("funding", var_dir, database_url) as funding:
        for reader in READERS:
            assert summary_read_by(funding, reader, round_id, proposal_id) == REDACTED
