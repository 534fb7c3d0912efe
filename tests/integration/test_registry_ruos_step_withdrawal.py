"""An RUOS application's observation or rejection entered in error is withdrawn over HTTP.

San Juan de Lurigancho's focal point (whose officials rotate) recorded an observation on the wrong OSV's application,
and staff a rejection the municipality never made; neither could be taken back (README, "An RUOS step entered in error":
the OSV amended what needed no amendment, or applied again). Now who records the step withdraws it, with a reason kept
sealed: registry records ``RUOSObservationWithdrawn`` or ``RUOSRejectionWithdrawn`` (published under the OSV's
municipality, without the reason), the application stands as before the step and takes the next one as usual, the OSV's
history says who withdrew it, and reporting counts the observation no more. Registry runs on its SQLite store (the
sealing story on PostgreSQL too); tokens come from the test identity provider.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.reporting.views.readmodel import ReadModel
from shared.views import make_engine
from tests.integration.test_registry_ruos_registration_correction import phases
from tests.support.api import assert_problem, created, ok
from tests.support.clients import FakeToday, application_of, feed, head, service_client
from tests.support.identity import MML_FOCAL_POINT, IssuedTokens, SignedInAs
from tests.support.ruos import new_osv, submit

SJL = "150132"
FOCAL_POINT = f"municipal-{SJL}"
WHY = "Registrada en la solicitud equivocada por Yajaira, la especialista"
DETAIL = "Falta la firma de la presidenta"


@pytest.fixture
def today() -> FakeToday:
    """Registry's clock: the day the mistake is found."""
    return FakeToday(date(2021, 8, 2))


def applying_in_sjl(registry: TestClient, name: str = "Vecinos Solidarios de Zárate") -> tuple[str, str]:
    """An OSV of San Juan de Lurigancho applying to its district's RUOS on 2021-06-14 with every document: its id and its
    application's."""
    osv_id = new_osv(registry, name=name, district="San Juan de Lurigancho")
    return osv_id, submit(registry, osv_id, municipality_id=SJL)["application_id"]


def step(registry: TestClient, osv_id: str, application_id: str, name: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return registry.post(f"/osvs/{osv_id}/ruos-applications/{application_id}/{name}", json=body, headers=headers)


def observe(registry: TestClient, osv_id: str, application_id: str, on: str = "2021-06-18", headers: dict[str, str] | None = None) -> Any:
    return created(step(registry, osv_id, application_id, "observation", {"observed_on": on, "reasons": [{"code": "signatures_missing", "detail": DETAIL}]}, headers))


def withdraw(registry: TestClient, osv_id: str, application_id: str, which: str, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return step(registry, osv_id, application_id, f"{which}/withdrawal", {"reason": WHY, **body}, headers)


def test_the_focal_point_withdraws_an_observation_entered_in_error_and_registers_the_application_as_usual(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    osv_id, application_id = applying_in_sjl(registry)
    observe(registry, osv_id, application_id, headers=tokens.headers(FOCAL_POINT))
    assert [o["id"] for o in ok(registry.get("/osvs", params={"ruos": "observed"}))] == [osv_id]

    withdrawn = withdraw(registry, osv_id, application_id, "observation", tokens.headers(FOCAL_POINT))
    application = ok(withdrawn)
    assert withdrawn.headers["etag"] == f'"{ok(registry.get(f"/osvs/{osv_id}"))["version"]}"'
    assert (application["status"], application["observations"], application["amend_by"]) == ("submitted", [], None)
    assert application["withdrawn_steps"] == [{"step": "observation", "dated_on": "2021-06-18", "withdrawn_on": "2021-08-02"}]
    assert ok(registry.get(f"/osvs/{osv_id}"))["ruos_application"] == application
    assert ok(registry.get(f"/osvs/{osv_id}/ruos-applications/{application_id}")) == application
    assert ok(registry.get("/osvs", params={"ruos": "observed"})) == []
    assert [o["id"] for o in ok(registry.get("/osvs", params={"ruos": "applying"}))] == [osv_id]

    # published under the OSV's municipality, with the observation it takes back; the reason never
    event = feed(registry)[-1]
    assert (event["type"], event["municipality"]) == ("RUOSObservationWithdrawn", SJL)
    assert event["data"] == {
        "occurred_on": "2021-08-02", "osv_id": osv_id, "application_id": application_id, "municipality_id": SJL,
        "observed_on": "2021-06-18", "observation_reasons": ["signatures_missing"], "status": "submitted", "withdrawn_on": "2021-08-02",
    }
    assert "Yajaira" not in repr(feed(registry))
    # the history names who withdrew it, and gives the reason to those who read staff's words alone
    history = ok(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("staff")))
    assert (history[-1]["type"], history[-1]["recorded_by"]["roles"], history[-1]["data"]["reason"]) == ("RUOSObservationWithdrawn", [FOCAL_POINT], WHY)
    assert ok(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("auditor")))[-1]["data"]["reason"] == "[withheld]"

    # the application takes the municipality's next step as any under review: dated from its submission on
    registered = created(step(registry, osv_id, application_id, "registration",
                              {"registered_on": "2021-06-16", "ruos_number": "RUOS-SJL-2021-0070"}, tokens.headers(FOCAL_POINT)))
    assert (registered["status"], registered["withdrawn_steps"][0]["step"]) == ("registered", "observation")


def test_staff_withdraw_a_rejection_entered_in_error_and_the_application_is_the_osvs_open_one_again(registry: TestClient) -> None:
    osv_id, application_id = applying_in_sjl(registry)
    observe(registry, osv_id, application_id)
    created(step(registry, osv_id, application_id, "amendment", {"amended_on": "2021-06-21", "documents": ["croquis"]}))
    created(step(registry, osv_id, application_id, "rejection", {"rejected_on": "2021-06-25", "reason": "not_eligible", "note": "Otra OSV"}))

    application = ok(withdraw(registry, osv_id, application_id, "rejection"))
    assert (application["status"], application["rejected_on"], application["rejection_reason"]) == ("amended", None, None)
    assert application["withdrawn_steps"] == [{"step": "rejection", "dated_on": "2021-06-25", "withdrawn_on": "2021-08-02"}]
    event = feed(registry)[-1]
    assert (event["type"], event["data"]["rejected_on"], event["data"]["rejection_reason"], event["data"]["status"], event["data"]["amend_by"]) == (
        "RUOSRejectionWithdrawn", "2021-06-25", "not_eligible", "amended", None,
    )
    # open again: no second application meanwhile, and the municipality decides on this one
    assert_problem(registry.post(f"/osvs/{osv_id}/ruos-applications", json={"municipality_id": SJL, "submitted_on": "2021-07-01"}),
                   409, "application_id", "one_open_application")
    observed = observe(registry, osv_id, application_id, on="2021-06-23")
    assert (observed["status"], len(observed["observations"])) == ("observed", 2)


def test_a_step_is_withdrawn_only_by_who_records_it_and_only_while_it_is_the_applications_last(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    osv_id, application_id = applying_in_sjl(registry)
    observe(registry, osv_id, application_id)
    in_comas = new_osv(registry, name="Vecinos Unidos de Collique")
    comas_application = submit(registry, in_comas)["application_id"]
    observe(registry, in_comas, comas_application)
    amended_id, amended_application = applying_in_sjl(registry, "Comedor Popular Santa Rosa")
    observe(registry, amended_id, amended_application)
    created(step(registry, amended_id, amended_application, "amendment", {"amended_on": "2021-06-21", "documents": ["croquis"]}))
    applied_again, first = applying_in_sjl(registry, "Club de Madres Virgen de Fátima")
    created(step(registry, applied_again, first, "rejection", {"rejected_on": "2021-06-20", "reason": "requirements_not_met"}))
    second = submit(registry, applied_again, municipality_id=SJL, submitted_on="2021-07-01")["application_id"]
    written = head(registry)

    assert_problem(withdraw(registry, in_comas, comas_application, "observation", tokens.headers(FOCAL_POINT)), 404, "osv_id", "known_osv")
    problem = assert_problem(withdraw(registry, osv_id, application_id, "observation", tokens.headers(MML_FOCAL_POINT)), 403, "municipality_id", "own_municipality_ruos")
    assert problem["municipality_id"] == SJL
    assert withdraw(registry, osv_id, application_id, "observation", tokens.headers("auditor")).status_code == 403
    assert_problem(withdraw(registry, osv_id, str(uuid4()), "observation"), 404, "application_id", "known_application")
    problem = assert_problem(withdraw(registry, amended_id, amended_application, "observation"), 409, "application_id", "withdraw_last_step")
    assert (problem["last_step"], problem["last_step_on"]) == ("amended_on", "2021-06-21")
    assert "its last step is its amendment on 2021-06-21" in problem["detail"]
    assert_problem(withdraw(registry, osv_id, application_id, "rejection"), 409, "application_id", "withdraw_last_step")
    problem = assert_problem(withdraw(registry, applied_again, first, "rejection"), 409, "application_id", "withdraw_last_step")
    assert f"RUOS application {second} was submitted after it" in problem["detail"]
    assert head(registry) == written

    # A duplicate merged into another is told where its records went.
    survivor = new_osv(registry, name="Vecinos Solidarios de Zárate Alto", district="San Juan de Lurigancho", distinct_from=[osv_id])
    created(registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": osv_id, "merged_on": "2021-07-01"}))
    merged = head(registry)
    problem = assert_problem(withdraw(registry, osv_id, application_id, "observation"), 409, "osv_id", "osv_not_merged")
    assert survivor in problem["detail"]
    assert head(registry) == merged


@pytest.mark.parametrize(("body", "field", "rule"), [
    ({}, "reason", "missing"),
    ({"reason": ""}, "reason", None),
    ({"reason": "   "}, "reason", None),
    ({"reason": "x" * 201}, "reason", None),
    ({"reason": "dos\u200blíneas"}, "reason", "visible_text"),
    ({"reason": 7}, "reason", None),
    ({"reason": WHY, "observed_on": "2021-06-18"}, "observed_on", None),
])
def test_a_withdrawal_without_a_readable_reason_is_422_and_writes_nothing(
    registry: TestClient, body: dict[str, Any], field: str, rule: str | None
) -> None:
    osv_id, application_id = applying_in_sjl(registry)
    observe(registry, osv_id, application_id)
    written = head(registry)
    assert_problem(step(registry, osv_id, application_id, "observation/withdrawal", body), 422, field, rule)
    assert head(registry) == written
    assert ok(registry.get(f"/osvs/{osv_id}"))["ruos_application"]["status"] == "observed"


def test_if_match_an_idempotency_key_and_a_dry_run_behave_as_on_the_other_corrections(registry: TestClient) -> None:
    osv_id, application_id = applying_in_sjl(registry)
    observe(registry, osv_id, application_id)
    read = registry.get(f"/osvs/{osv_id}")
    created(registry.post(f"/osvs/{osv_id}/documents", json={"document": "croquis", "prepared_on": "2021-06-19"}))  # someone else, meanwhile
    written = head(registry)
    stale = withdraw(registry, osv_id, application_id, "observation", {"If-Match": read.headers["etag"]})
    assert_problem(stale, 412, "If-Match", "current_version")
    assert head(registry) == written

    dry = registry.post(f"/osvs/{osv_id}/ruos-applications/{application_id}/observation/withdrawal", json={"reason": WHY}, params={"dry_run": "true"})
    assert (dry.status_code, dry.headers["dry-run"], dry.json()["status"]) == (200, "true", "submitted")
    assert "etag" not in dry.headers  # a version never stored names nothing to send in If-Match
    assert head(registry) == written and ok(registry.get(f"/osvs/{osv_id}"))["ruos_application"]["status"] == "observed"

    keyed = {"Idempotency-Key": str(uuid4()), "If-Match": registry.get(f"/osvs/{osv_id}").headers["etag"]}
    first = withdraw(registry, osv_id, application_id, "observation", keyed)
    assert first.status_code == 200, first.text
    written = head(registry)
    again = withdraw(registry, osv_id, application_id, "observation", keyed)
    assert (again.status_code, again.json()) == (200, first.json())
    assert head(registry) == written
    # without the key, the same request finds the observation gone: the application's last step is its submission
    assert_problem(withdraw(registry, osv_id, application_id, "observation"), 409, "application_id", "withdraw_last_step")
    assert head(registry) == written


def test_reporting_counts_the_observation_withdrawn_no_more_and_a_report_as_of_before_it_as_then_known(
    registry: TestClient, tmp_path: Path
) -> None:
    """Observed on 2021-06-18 (F1) by mistake: counted in F1's ruos_applications_observed until withdrawn."""
    osv_id, application_id = applying_in_sjl(registry)
    observe(registry, osv_id, application_id)
    other, other_application = applying_in_sjl(registry, "Comedor Popular Santa Rosa")
    observe(registry, other, other_application, on="2021-06-20")  # a real one, which stays
    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'reporting.db'}"))
    phases(readmodel)
    readmodel.apply(feed(registry))
    before = datetime.now(timezone.utc)

    ok(withdraw(registry, osv_id, application_id, "observation"))
    readmodel.apply(feed(registry))
    observed = [p["indicators"]["ruos_applications_observed"] for p in readmodel.report(today=date(2021, 8, 2))["phases"]]
    assert observed == [{"total": 1, "by_reason": {"signatures_missing": 1}}, {"total": 0, "by_reason": {}}]
    as_then = readmodel.report(as_of=before, today=date(2021, 8, 2))["phases"][0]["indicators"]["ruos_applications_observed"]
    assert as_then == {"total": 2, "by_reason": {"signatures_missing": 2}}
    # the evidence names the withdrawal beside the observation it takes back, in the phase of the observation's day
    rows = readmodel.evidence("ruos_applications_observed", "F1", today=date(2021, 8, 2))["events"]
    assert [(e["type"], e["adds"]) for e in rows] == [
        ("RUOSApplicationObserved", {"total": 1, "by_reason.signatures_missing": 1}),
        ("RUOSApplicationObserved", {"total": 1, "by_reason.signatures_missing": 1}),
        ("RUOSObservationWithdrawn", {"total": -1, "by_reason.signatures_missing": -1}),
    ]


def test_the_reason_is_sealed_withheld_and_forgotten_with_the_osvs_history(tmp_path: Path, database_url: str, today: FakeToday) -> None:
    with service_client("registry", tmp_path / "var", database_url, today=today) as registry:
        osv_id, application_id = applying_in_sjl(registry)
        created(step(registry, osv_id, application_id, "rejection", {"rejected_on": "2021-06-20", "reason": "requirements_not_met"}))
        ok(withdraw(registry, osv_id, application_id, "rejection"))
        observe(registry, osv_id, application_id, on="2021-06-16")  # the application takes its steps again
        ok(withdraw(registry, osv_id, application_id, "observation"))
        stored = b"".join(e.state for e in application_of(registry).recorder.select_events(UUID(osv_id)))
        assert b"Yajaira" not in stored  # sealed in the store, on SQLite and on PostgreSQL

        history = ok(registry.get(f"/osvs/{osv_id}/history"))
        versions = {e["type"]: e["version"] for e in history if e["type"].endswith("Withdrawn")}
        assert {e["type"]: e["data"]["reason"] for e in history if e["type"].endswith("Withdrawn")} == dict.fromkeys(versions, WHY)
        ok(registry.post(f"/osvs/{osv_id}/history/{versions['RUOSRejectionWithdrawn']}/redaction"))
        for reader in ("staff", "auditor"):
            read = ok(SignedInAs(registry, reader).get(f"/osvs/{osv_id}/history"))
            reasons = {e["type"]: e["data"]["reason"] for e in read if e["type"].endswith("Withdrawn")}
            assert reasons == {"RUOSRejectionWithdrawn": "[redacted]", "RUOSObservationWithdrawn": WHY if reader == "staff" else "[withheld]"}
        assert ok(registry.get(f"/osvs/{osv_id}"))["ruos_application"]["status"] == "submitted"
        assert "Yajaira" not in repr(feed(registry))
