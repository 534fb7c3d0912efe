"""Two staff members correcting the same OSV at once: with the `ETag` they read sent in `If-Match`, the later change is
refused (412) instead of silently undoing the earlier (tester 154 F6). Without the header a change is taken as before."""

from __future__ import annotations

from uuid import uuid4

from fastapi.testclient import TestClient

from tests.integration.test_registry_duplicates_api import mapped, today  # noqa: F401 - registry's clock, a fixture
from tests.support.api import assert_problem
from tests.support.clients import at_once, head


def test_a_correction_sent_with_the_etag_read_before_another_change_is_refused_and_records_nothing(registry: TestClient) -> None:
    osv = mapped(registry, "Olla Común Los Girasoles")
    read = registry.get(f"/osvs/{osv}")
    assert read.headers["ETag"] == '"1"' and read.json()["version"] == 1
    first = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Olla Común Los Girasoles de Jicamarca"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"2"' == f'"{first.json()["version"]}"'

    written = head(registry)
    for path, body in (
        ("name-correction", {"name": "Olla Común Girasoles"}),
        ("mapping-date-correction", {"mapped_on": "2021-03-14"}),
    ):
        stale = registry.post(f"/osvs/{osv}/{path}", json=body, headers={"If-Match": read.headers["ETag"]})
        problem = assert_problem(stale, 412, "If-Match", "current_version")
        assert problem["current_version"] == 2 and '"2"' in problem["detail"], problem
        assert stale.headers["ETag"] == '"2"'  # the tag now, to send the change again on without a GET (tester F9)
    stale = registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412, "If-Match", "current_version")
    assert head(registry) == written
    assert registry.get(f"/osvs/{osv}").json()["name"] == "Olla Común Los Girasoles de Jicamarca"

    # the tag read again, a list naming it, or `*`, is taken; a weak tag never matches (RFC 9110's strong comparison)
    assert_problem(registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers={"If-Match": 'W/"2"'}), 412, "If-Match", "current_version")
    changed = registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers={"If-Match": '"1", "2"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"3"', changed.text
    moved = registry.post(f"/osvs/{osv}/mapping-date-correction", json={"mapped_on": "2021-03-14"}, headers={"If-Match": "*"})
    assert moved.status_code == 200 and moved.headers["ETag"] == '"4"', moved.text
    # and without it, as before
    assert registry.post(f"/osvs/{osv}/name-correction", json={"name": "Olla Común Girasoles"}).status_code == 200


def test_an_if_match_that_is_no_etag_of_this_service_is_refused_naming_the_header(registry: TestClient) -> None:
    osv = mapped(registry, "Comedor Popular Santa Rosa")
    written = head(registry)
    for given in ("1", '"v1"', '"1', '""', b'"\xb2"'):  # unquoted, not a version, unterminated, empty, a superscript two (a digit to str.isdigit)
        refused = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Comedor Santa Rosa"}, headers={"If-Match": given})
        assert_problem(refused, 422, "If-Match", "entity_tag")
    too_long = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Comedor Santa Rosa"}, headers={"If-Match": '"1", ' * 300})
    assert_problem(too_long, 422, "If-Match", "string_too_long")
    assert head(registry) == written


def test_of_two_corrections_sent_at_once_with_the_same_etag_one_is_taken_and_the_other_refused(registry: TestClient) -> None:
    osv = mapped(registry, "Vecinos Unidos de Zárate")
    names = ["Asociación Vecinos Unidos de Zárate", "Vecinos Unidos por Zárate", "Junta Vecinal Unidos de Zárate", "Vecinos de Zárate Unidos"]
    answers = at_once(len(names), lambda i: registry.post(
        f"/osvs/{osv}/name-correction", json={"name": names[i], "distinct_from": []}, headers={"If-Match": '"1"'},
    ))
    assert sorted(a.status_code for a in answers) == [200, 412, 412, 412], [a.text for a in answers]
    taken = next(a for a in answers if a.status_code == 200)
    assert registry.get(f"/osvs/{osv}").json()["name"] == taken.json()["name"]
    assert [e["type"] for e in registry.get(f"/osvs/{osv}/history").json()] == ["OSVMapped", "OSVNameCorrected"]


def test_a_keyed_corrections_retry_gives_back_the_etag_it_answered(registry: TestClient) -> None:
    osv = mapped(registry, "Club de Madres Nueva Esperanza")
    keyed = {"If-Match": '"1"', "Idempotency-Key": str(uuid4())}
    first = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Club de Madres Nueva Esperanza de Huáscar"}, headers=keyed)
    again = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Club de Madres Nueva Esperanza de Huáscar"}, headers=keyed)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers["ETag"] == first.headers["ETag"] == '"2"'


def test_if_match_sent_to_a_change_that_does_not_check_it_is_refused_not_ignored(registry: TestClient) -> None:
    """RFC 9110 has a server evaluate If-Match before it acts: a client that sent it to a change ignoring it believed
    itself protected from a concurrent change, and the change was taken whatever came in between."""
    osv = mapped(registry, "Asociación Cultural Los Andes")
    written = head(registry)
    for request in (
        lambda: registry.post(f"/osvs/{osv}/contact-lost", json={"since": "2021-07-01"}, headers={"If-Match": '"1"'}),
        lambda: registry.post("/osvs", json={"name": "Otra OSV", "district": "Comas", "mapped_on": "2021-03-15"}, headers={"If-Match": "*"}),
        lambda: registry.get(f"/osvs/{osv}", headers={"If-Match": '"1"'}),
    ):
        refused = request()
        problem = assert_problem(refused, 422, "If-Match", "if_match_not_checked")
        assert "does not check If-Match" in problem["detail"]
    assert head(registry) == written
    # a change that checks it takes it
    assert registry.post(f"/osvs/{osv}/name-correction", json={"name": "Asociación Cultural Los Andes de Comas"}, headers={"If-Match": '"1"'}).status_code == 200


def test_a_dry_run_answers_no_etag_for_the_version_it_never_stored(registry: TestClient) -> None:
    """Tester 158 F3: a dry run answered `ETag: "2"`; sent back, it matched the next change someone else made, which
    the dry run's author never read, and undid it."""
    osv = mapped(registry, "Comité de Vaso de Leche Las Flores")
    tried = registry.post(f"/osvs/{osv}/name-correction?dry_run=true", json={"name": "Vaso de Leche Las Flores"}, headers={"If-Match": '"1"'})
    assert tried.status_code == 200 and tried.headers["Dry-Run"] == "true", tried.text
    assert "ETag" not in tried.headers
    assert "ETag" not in registry.patch(f"/osvs/{osv}?dry_run=true", json={"kind": "vecinal"}).headers
    assert "ETag" not in registry.post("/osvs?dry_run=true", json={"name": "Otra", "district": "Comas", "mapped_on": "2021-03-15"}).headers

    # a keyed request carried out, then tried again as a dry run: its first answer, the tag of what was stored
    keyed = {"If-Match": '"1"', "Idempotency-Key": str(uuid4())}
    done = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Vaso de Leche Las Flores"}, headers=keyed)
    again = registry.post(f"/osvs/{osv}/name-correction?dry_run=true", json={"name": "Vaso de Leche Las Flores"}, headers=keyed)
    assert done.headers["ETag"] == again.headers["ETag"] == '"2"' and again.headers["Idempotent-Replayed"] == "true"
    # a dry run refused on a stale tag answers the tag stored, as the real request would
    stale = registry.post(f"/osvs/{osv}/name-correction?dry_run=true", json={"name": "Vaso de Leche Flores"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412, "If-Match", "current_version")
    assert stale.headers["ETag"] == '"2"' and stale.headers["Dry-Run"] == "true"


def test_every_change_that_answers_the_osv_answers_its_etag(registry: TestClient) -> None:
    created = registry.post("/osvs", json={"name": "Club Deportivo Unión Jicamarca", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"})
    assert created.status_code == 201 and created.headers["ETag"] == '"1"', created.text
    osv = created.json()["id"]
    lost = registry.post(f"/osvs/{osv}/contact-lost", json={"since": "2021-05-01"})
    assert lost.headers["ETag"] == f'"{lost.json()["version"]}"' == '"2"'
    restored = registry.post(f"/osvs/{osv}/contact-restored", json={"restored_on": "2021-06-01"})
    assert restored.headers["ETag"] == '"3"'
    # and that tag is the one a change checks
    assert registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers={"If-Match": restored.headers["ETag"]}).status_code == 200


def test_if_match_is_read_over_every_line_and_a_tag_this_service_never_gives_is_refused(registry: TestClient) -> None:
    """Tester 158 F4, F5: `"04"` matched version 4; of two `If-Match` lines only the first was read."""
    osv = mapped(registry, "Asociación de Comerciantes Nuevo Progreso")
    written = head(registry)
    for given in ('"01"', '"1", "001"'):
        assert_problem(registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers={"If-Match": given}), 422, "If-Match", "entity_tag")
    garbage_second = registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers=[("If-Match", '"1"'), ("If-Match", "garbage")])
    assert_problem(garbage_second, 422, "If-Match", "entity_tag")
    assert head(registry) == written
    second_line = registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers=[("If-Match", '"7"'), ("If-Match", '"1"')])
    assert second_line.status_code == 200 and second_line.headers["ETag"] == '"2"', second_line.text


def test_empty_elements_of_an_if_match_list_are_ignored_and_a_list_of_nothing_is_refused(registry: TestClient) -> None:
    """RFC 9110 §5.6.1.2: a recipient accepts and ignores empty list elements. `"1",` (a list written by a loop) was 422."""
    osv = mapped(registry, "Comedor Popular Micaela Bastidas")
    written = head(registry)
    for given in (",", " , ,"):
        assert_problem(registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers={"If-Match": given}), 422, "If-Match", "entity_tag")
    assert head(registry) == written
    trailing = registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers={"If-Match": '"1",'})
    assert trailing.status_code == 200 and trailing.headers["ETag"] == '"2"', trailing.text
    leading = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Comedor Micaela Bastidas"}, headers={"If-Match": ', "2"'})
    assert leading.status_code == 200 and leading.headers["ETag"] == '"3"', leading.text
    stale = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Comedor Popular Bastidas"}, headers={"If-Match": '"2", ,'})
    assert_problem(stale, 412, "If-Match", "current_version")


def test_a_keyed_retry_with_other_preconditions_is_another_request_not_a_replay(registry: TestClient) -> None:
    """Tester 158 F6: the same key sent again with a stale or broken `If-Match` got the first answer, unchecked."""
    osv = mapped(registry, "Olla Común Virgen de Guadalupe")
    key = str(uuid4())
    first = registry.post(f"/osvs/{osv}/contact-lost", json={"since": "2021-05-01"}, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    for conditions in ({"If-Match": '"1"'}, {"If-Match": "junk"}, {"If-None-Match": "*"}):
        retried = registry.post(f"/osvs/{osv}/contact-lost", json={"since": "2021-05-01"}, headers={"Idempotency-Key": key, **conditions})
        problem = assert_problem(retried, 422, "Idempotency-Key", "idempotency_key_reused")
        assert "Idempotent-Replayed" not in retried.headers and problem["same_request"] is False
        assert "If-*" in problem["detail"]  # tester F7: it said "another path or body", when only the conditions differed
    assert registry.post(f"/osvs/{osv}/contact-lost", json={"since": "2021-05-01"}, headers={"Idempotency-Key": key}).headers["Idempotent-Replayed"] == "true"


def test_a_change_sent_with_a_precondition_no_change_checks_is_refused_naming_it(registry: TestClient) -> None:
    """Tester 158 F8: `If-None-Match: "2"` on a PATCH of an OSV at version 2 was ignored, and the change taken."""
    osv = mapped(registry, "Junta Vecinal Santa María")
    written = head(registry)
    for header, value in (("If-None-Match", '"1"'), ("If-None-Match", "*"), ("If-Unmodified-Since", "Tue, 01 Jun 2021 00:00:00 GMT")):
        refused = registry.patch(f"/osvs/{osv}", json={"kind": "vecinal"}, headers={header: value})
        assert_problem(refused, 422, header, "precondition_not_checked")
    assert head(registry) == written
    assert registry.get(f"/osvs/{osv}", headers={"If-None-Match": '"1"'}).status_code == 200  # a read may ignore it
