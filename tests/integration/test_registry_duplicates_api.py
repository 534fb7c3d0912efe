"""The same organisation mapped twice: refused as a possible duplicate, or merged afterwards and counted once."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from services.registry.domain.duplicates import NameWithoutLettersError
from services.registry.domain.osvs import OSVNotFoundError, OSVToMergeNotFoundError
from services.reporting.application import Reporting
from services.reporting.views.readmodel import ReadModel
from shared.roles import MunicipalScope
from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory
from tests.support.api import assert_problem
from tests.support.clients import FakeToday, application_of, head
from tests.support.identity import signed_in_headers

ZARATE = "Asociación de Vecinos Unidos por Zárate"


@pytest.fixture
def today() -> FakeToday:
    """Registry's clock."""
    return FakeToday(date(2021, 8, 2))


def mapped(registry: TestClient, name: str, district: str = "San Juan de Lurigancho", **more: object) -> str:
    response = registry.post("/osvs", json={"name": name, "district": district, "mapped_on": "2021-03-15", **more})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize(
    "again",
    [ZARATE, "ASOCIACION DE VECINOS UNIDOS POR ZARATE", "asociación de vecinos unidos por zárate.", "Asociacion de Vecinos Unidas por Zarate"],
)
def test_the_same_or_a_near_name_in_the_same_district_is_a_possible_duplicate_naming_the_osv(registry: TestClient, again: str) -> None:
    first = mapped(registry, ZARATE)
    written = head(registry)

    problem = assert_problem(
        registry.post("/osvs", json={"name": again, "district": "sjl", "mapped_on": "2021-04-01"}), 409, "name", "possible_duplicate"
    )
    assert problem["possible_duplicates"] == [{"osv_id": first, "name": ZARATE}]
    assert first in problem["detail"]
    assert head(registry) == written
    assert [o["id"] for o in registry.get("/osvs").json()] == [first]

    # staff know it is another organisation: they say which one it is not
    second = mapped(registry, again, distinct_from=[first])
    assert second != first
    assert registry.get(f"/osvs/{second}").json()["id"] == second
    assert registry.get("/events").json()["events"][-1]["data"]["distinct_from"] == [first]


def test_other_districts_and_other_names_are_no_duplicates_and_numbered_names_differ(registry: TestClient) -> None:
    mapped(registry, ZARATE)
    mapped(registry, ZARATE, district="Ate")
    mapped(registry, "Comedor Popular Nº 1 Zárate")
    mapped(registry, "Comedor Popular Nº 2 Zárate")
    mapped(registry, "Club de Madres Las Flores")
    assert len(registry.get("/osvs").json()) == 5


def test_distinct_from_must_name_every_possible_duplicate(registry: TestClient) -> None:
    first = mapped(registry, ZARATE)
    second = mapped(registry, "Asociación Vecinos Unidos por Zárate", distinct_from=[first])
    problem = assert_problem(
        registry.post("/osvs", json={"name": ZARATE.upper(), "district": "SJL", "mapped_on": "2021-04-01", "distinct_from": [first]}),
        409, "name", "possible_duplicate",
    )
    assert [d["osv_id"] for d in problem["possible_duplicates"]] == [second]
    assert_problem(registry.post("/osvs", json={"name": "X", "district": "Ate", "mapped_on": "2021-04-01", "distinct_from": ["nope"]}), 422, "distinct_from.0")


def test_two_records_of_one_osv_are_merged_keeping_both_histories_and_counting_once(registry: TestClient, tmp_path: Path) -> None:
    survivor = mapped(registry, ZARATE)
    duplicate = mapped(registry, "AVUZ - Vecinos de Zárate", contact_channel="whatsapp")
    assert registry.post(f"/osvs/{duplicate}/contact-lost", json={"since": "2021-05-01"}).status_code == 201
    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'reporting.db'}"))
    reporting = Reporting(readmodel)
    readmodel.apply(registry.get("/events").json()["events"])
    assert reporting.indicators()["total"]["osvs_identified"] == 2
    before_merge = datetime.now(timezone.utc)

    merged = registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-07-01"})
    assert merged.status_code == 201, merged.text
    assert merged.json()["merged_from"] == [duplicate]
    gone = registry.get(f"/osvs/{duplicate}").json()
    assert (gone["merged_into"], gone["merged_on"]) == (survivor, "2021-07-01")

    # both histories are kept under their own ids
    assert [e["type"] for e in registry.get(f"/osvs/{duplicate}/history").json()] == ["OSVMapped", "ContactLost", "OSVMerged"]
    assert [e["type"] for e in registry.get(f"/osvs/{survivor}/history").json()] == ["OSVMapped", "DuplicateMergedIn"]
    # the list shows the organisation once; the duplicate takes no new record, naming where it went
    assert [o["id"] for o in registry.get("/osvs").json()] == [survivor]
    problem = assert_problem(registry.post(f"/osvs/{duplicate}/contact-restored", json={"restored_on": "2021-07-02"}), 409, "osv_id", "osv_not_merged")
    assert survivor in problem["detail"]
    # its name now leads to the survivor: mapping it again is a possible duplicate of nothing but the survivor
    assert_problem(registry.post("/osvs", json={"name": ZARATE, "district": "SJL", "mapped_on": "2021-08-01"}), 409, "name", "possible_duplicate")

    # partners read the merge; reporting counts the organisation once from then on, and as it was before
    feed = registry.get("/events").json()["events"]
    merge = [e for e in feed if e["type"] == "OSVMerged"]
    assert [e["data"] for e in merge] == [
        {"occurred_on": "2021-07-01", "osv_id": duplicate, "into_osv_id": survivor, "merged_on": "2021-07-01",
         "district": "San Juan de Lurigancho", "zone": "Lima Este", "mapped_on": "2021-03-15"}
    ]
    assert [e["data"] for e in feed if e["type"] == "DuplicateMergedIn"] == [
        {"occurred_on": "2021-07-01", "osv_id": survivor, "duplicate_id": duplicate, "merged_on": "2021-07-01",
         "duplicate_name": "AVUZ - Vecinos de Zárate", "duplicate_district": "San Juan de Lurigancho"}
    ]
    readmodel.apply(feed)  # the survivor's side of the merge counts nothing more
    assert reporting.indicators()["total"]["osvs_identified"] == 1
    assert reporting.indicators()["total"]["osvs_contact_lost"] == 1
    assert reporting.indicators(as_of=before_merge)["total"]["osvs_identified"] == 2

    # funding's and engagement's directories refuse new records for the duplicate, naming the survivor
    directory = OSVDirectory(make_engine(f"sqlite:///{tmp_path / 'funding-views.db'}"), "funding")
    directory.apply(feed)
    assert [o.osv_id for o in directory.active()] == [survivor]
    with pytest.raises(Exception, match=survivor) as refused:
        directory.require_active(duplicate, on=date(2021, 7, 2), dated="granted_on")  # type: ignore[arg-type]
    assert getattr(refused.value, "rule", None) == "osv_not_merged"


def test_a_merge_across_districts_reaches_the_partner_of_the_surviving_osvs_municipality(registry: TestClient, tmp_path: Path) -> None:
    """OSVMerged belongs to the duplicate's district; the survivor's partner learns of the merge from DuplicateMergedIn."""
    survivor = mapped(registry, ZARATE)  # San Juan de Lurigancho, 150132
    duplicate = mapped(registry, "AVUZ - Vecinos de Zárate", district="Comas")  # 150110
    assert registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-07-01"}).status_code == 201

    everything = registry.get("/events", headers=signed_in_headers("auditor")).json()["events"]
    merge = [(e["type"], e["subject"], e["municipality"]) for e in everything if e["type"] in ("OSVMerged", "DuplicateMergedIn")]
    assert sorted(merge) == [("DuplicateMergedIn", survivor, "150132"), ("OSVMerged", duplicate, "150110")]  # one save
    assert len({e["position"] for e in everything}) == len(everything)  # one event per position

    partner = registry.get("/events", headers=signed_in_headers("partner-150132")).json()["events"]
    assert [(e["type"], e["subject"]) for e in partner] == [("OSVMapped", survivor), ("DuplicateMergedIn", survivor)]
    assert partner[-1]["data"] == {
        "occurred_on": "2021-07-01", "osv_id": survivor, "duplicate_id": duplicate, "merged_on": "2021-07-01",
        "duplicate_name": "AVUZ - Vecinos de Zárate", "duplicate_district": "Comas",
    }

    # reporting counts the organisation once, in the survivor's district, whichever of the two events it reads
    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'reporting.db'}"))
    readmodel.apply(everything)
    figures = Reporting(readmodel).indicators(by="district")
    assert figures["total"]["osvs_identified"] == 1
    assert {d: f["total"]["osvs_identified"] for d, f in figures["breakdown"]["groups"].items() if f["total"]["osvs_identified"]} == {
        "San Juan de Lurigancho": 1
    }


@pytest.mark.parametrize(
    ("survivor_first", "field", "status", "rule"),
    [(True, "duplicate_id", 422, "another_osv"), (False, "merged_on", 422, "not_before_mapped_on")],
)
def test_a_merge_needs_another_osv_and_a_day_after_both_were_mapped(
    registry: TestClient, survivor_first: bool, field: str, status: int, rule: str
) -> None:
    a = mapped(registry, ZARATE)
    b = mapped(registry, "Otra Asociación", district="Ate")
    duplicate = a if survivor_first else b
    written = head(registry)
    assert_problem(registry.post(f"/osvs/{a}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-01-01" if not survivor_first else "2021-07-01"}), status, field, rule)
    assert_problem(registry.post(f"/osvs/{a}/merges", json={"duplicate_id": "00000000-0000-4000-8000-000000000000", "merged_on": "2021-07-01"}), 422, "duplicate_id", "known_osv")
    assert head(registry) == written


def test_a_merge_dated_before_the_duplicates_own_records_is_422_and_stores_nothing(registry: TestClient) -> None:
    """Tester 215 F4: a merge was checked only against both mappings, so a duplicate whose croquis was prepared on
    2021-06-10 was merged on 2021-05-01, folded before its own papers. The survivor's own later records bound nothing."""
    survivor = mapped(registry, ZARATE)  # both mapped 2021-03-15
    duplicate = mapped(registry, "Vecinos de Zárate Sector 2", distinct_from=[survivor])
    for osv_id, day in ((duplicate, "2021-06-10"), (survivor, "2021-07-20")):
        recorded = registry.post(f"/osvs/{osv_id}/documents", json={"document": "croquis", "prepared_on": day})
        assert recorded.status_code == 201, recorded.text
    written = head(registry)

    back_dated = registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-05-01"})
    problem = assert_problem(back_dated, 422, "merged_on", "not_before_prepared_on")
    assert "merged_on 2021-05-01 is before the duplicate's last record, its croquis was prepared on 2021-06-10" in problem["detail"], problem
    assert head(registry) == written and registry.get(f"/osvs/{duplicate}").json()["merged_into"] is None

    merged = registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-06-10"})
    assert merged.status_code == 201, merged.text  # the day itself, before the survivor's own croquis


def test_a_merge_is_not_dated_before_a_record_merged_into_the_duplicate(registry: TestClient) -> None:
    """A into B on 2021-07-01, then B into C: B holds A's merge, so B's merge is not dated before it."""
    a = mapped(registry, "Comedor Popular Santa Rosa de Jicamarca")
    b = mapped(registry, "Comedor Santa Rosa Jicamarca Sector 2", distinct_from=[a])
    c = mapped(registry, "Comedor Popular Santa Rosa", district="Ate")
    assert registry.post(f"/osvs/{b}/merges", json={"duplicate_id": a, "merged_on": "2021-07-01"}).status_code == 201
    written = head(registry)
    problem = assert_problem(registry.post(f"/osvs/{c}/merges", json={"duplicate_id": b, "merged_on": "2021-06-20"}), 422, "merged_on", "not_before_merged_on")
    assert "a record was merged into it on 2021-07-01" in problem["detail"], problem
    assert head(registry) == written
    assert registry.post(f"/osvs/{c}/merges", json={"duplicate_id": b, "merged_on": "2021-07-01"}).status_code == 201


def test_the_survivors_dissolution_is_not_dated_before_what_the_duplicate_folded_into_it_held(registry: TestClient) -> None:
    """Tester 215 F4: the survivor's dissolution is bounded by the merge's day alone; now that no merge is dated before
    the duplicate's records, its dissolution is not either (the duplicate's application submitted on 2021-06-10)."""
    survivor = mapped(registry, ZARATE)
    duplicate = mapped(registry, "Vecinos de Zárate Sector 2", distinct_from=[survivor])
    submitted = registry.post(f"/osvs/{duplicate}/ruos-applications", json={"municipality_id": "150132", "submitted_on": "2021-06-10"})
    assert submitted.status_code == 201, submitted.text
    assert_problem(registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-05-01"}), 422, "merged_on", "not_before_submitted_on")
    assert registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-06-10"}).status_code == 201
    written = head(registry)

    back_dated = registry.post(f"/osvs/{survivor}/dissolution", json={"dissolved_on": "2021-05-15", "reason": "inactive"})
    assert_problem(back_dated, 422, "dissolved_on", "not_before_merged_on")
    assert head(registry) == written
    assert registry.post(f"/osvs/{survivor}/dissolution", json={"dissolved_on": "2021-06-10", "reason": "inactive"}).status_code == 201


def test_a_merge_reaches_only_osvs_in_the_callers_municipalities(registry: TestClient) -> None:
    """Both records must be the caller's to command: a survivor outside its scope is 404, a duplicate 422 as unknown."""
    sjl = UUID(mapped(registry, ZARATE))
    sjl_again = UUID(mapped(registry, "AVUZ - Vecinos de Zárate"))
    ate = UUID(mapped(registry, "Vecinos Unidos por Zárate", district="Ate"))
    app, only_sjl = application_of(registry), MunicipalScope(ubigeos=frozenset({"150132"}))
    written = head(registry)
    with pytest.raises(OSVNotFoundError):
        app.merge_osvs(survivor_id=ate, duplicate_id=sjl, merged_on=date(2021, 7, 1), scope=only_sjl)
    with pytest.raises(OSVToMergeNotFoundError) as refused:
        app.merge_osvs(survivor_id=sjl, duplicate_id=ate, merged_on=date(2021, 7, 1), scope=only_sjl)
    assert (refused.value.field, refused.value.rule) == ("duplicate_id", "known_osv")
    assert head(registry) == written
    assert app.merge_osvs(survivor_id=sjl, duplicate_id=sjl_again, merged_on=date(2021, 7, 1), scope=only_sjl).merged_from == [sjl_again]


def test_a_registered_duplicate_is_kept_and_two_registered_osvs_are_not_merged(registry: TestClient) -> None:
    a = mapped(registry, ZARATE)
    b = mapped(registry, "Otra Asociación", district="Ate")
    assert registry.post(f"/osvs/{b}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "R-77", "registered_on": "2021-05-01"}).status_code == 201
    assert_problem(registry.post(f"/osvs/{a}/merges", json={"duplicate_id": b, "merged_on": "2021-07-01"}), 409, "duplicate_id", "keep_the_registered_osv")
    assert registry.post(f"/osvs/{b}/merges", json={"duplicate_id": a, "merged_on": "2021-07-01"}).status_code == 201
    c = mapped(registry, "Tercera", district="Comas")
    assert registry.post(f"/osvs/{c}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "R-78", "registered_on": "2021-05-01"}).status_code == 201
    assert_problem(registry.post(f"/osvs/{c}/merges", json={"duplicate_id": b, "merged_on": "2021-07-01"}), 409, "duplicate_id", "not_both_registered")


def test_the_same_name_sent_by_many_promoters_at_once_is_mapped_once(registry: TestClient) -> None:
    from tests.support.clients import at_once

    body = {"name": ZARATE, "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"}
    responses = at_once(6, lambda i: registry.post("/osvs", json={**body, "name": body["name"].upper() if i % 2 else body["name"]}))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    assert len(registry.get("/osvs").json()) == 1


def test_a_merged_records_own_name_typed_again_is_a_possible_duplicate_of_the_survivor(registry: TestClient) -> None:
    """Staff merged "Olla Común Los Girasoles de Jicamarca" into "Comedor Popular Girasoles": the first name, typed again
    in the district, names the survivor (not a third record of one organisation); staff can still say it is another."""
    duplicate = mapped(registry, "Olla Común Los Girasoles de Jicamarca")
    survivor = mapped(registry, "Comedor Popular Girasoles")
    assert registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-07-01"}).status_code == 201
    written = head(registry)

    again = {"name": "OLLA COMUN LOS GIRASOLES DE JICAMARCA", "district": "SJL", "mapped_on": "2021-08-01"}
    problem = assert_problem(registry.post("/osvs", json=again), 409, "name", "possible_duplicate")
    assert problem["possible_duplicates"] == [{"osv_id": survivor, "name": "Olla Común Los Girasoles de Jicamarca"}]
    assert head(registry) == written

    assert registry.post("/osvs", json={**again, "distinct_from": [survivor]}).status_code == 201


def test_a_merged_name_follows_later_merges_to_the_last_survivor_in_any_district(registry: TestClient) -> None:
    """A into B (both San Juan de Lurigancho), then B into C (Ate): A's and B's names in San Juan de Lurigancho name C, once."""
    a = mapped(registry, "Olla Común Los Girasoles de Jicamarca")
    b = mapped(registry, "Olla Común Girasoles de Jicamarca 2000", distinct_from=[a])
    c = mapped(registry, "Comedor Popular Girasoles", district="Ate")
    assert registry.post(f"/osvs/{b}/merges", json={"duplicate_id": a, "merged_on": "2021-07-01"}).status_code == 201
    assert registry.post(f"/osvs/{c}/merges", json={"duplicate_id": b, "merged_on": "2021-07-02"}).status_code == 201

    for name in ("Olla Común Los Girasoles de Jicamarca", "Olla Comun Girasoles de Jicamarca 2000"):
        problem = assert_problem(registry.post("/osvs", json={"name": name, "district": "SJL", "mapped_on": "2021-08-01"}), 409, "name", "possible_duplicate")
        assert [d["osv_id"] for d in problem["possible_duplicates"]] == [c]
    mapped(registry, "Olla Común Los Girasoles de Jicamarca", distinct_from=[c])


def test_a_command_on_an_osv_merged_into_one_merged_since_is_sent_to_the_last_survivor(registry: TestClient) -> None:
    """A into B, then B into C: a record for A is refused naming C, where it goes; it named B, which refuses it too
    (tester 126 F5; funding and engagement already followed the chain)."""
    a = mapped(registry, "Club de Madres Virgen de Fátima")
    b = mapped(registry, "Club de Madres Virgen de Fatima Sector 2", distinct_from=[a])
    c = mapped(registry, "Asociación de Madres Fátima", district="Ate")
    assert registry.post(f"/osvs/{b}/merges", json={"duplicate_id": a, "merged_on": "2021-07-01"}).status_code == 201
    once = assert_problem(registry.post(f"/osvs/{a}/contact-restored", json={"restored_on": "2021-07-02"}), 409, "osv_id", "osv_not_merged")
    assert f"merged into OSV {b}" in once["detail"] and "record it there" in once["detail"]
    assert registry.post(f"/osvs/{c}/merges", json={"duplicate_id": b, "merged_on": "2021-07-03"}).status_code == 201

    said = {
        merged: assert_problem(registry.post(f"/osvs/{merged}/contact-restored", json={"restored_on": "2021-07-04"}), 409, "osv_id", "osv_not_merged")["detail"]
        for merged in (a, b)
    }
    assert f"merged into OSV {b}" in said[a] and f"merged since: record it in OSV {c}" in said[a]
    assert f"merged into OSV {c}" in said[b] and "record it there" in said[b]


@pytest.mark.parametrize("name", ["!!!", "🙂", "—", "...", "¿?", " _ "])
def test_a_name_with_no_letter_or_digit_is_refused_naming_the_rule(registry: TestClient, name: str) -> None:
    """Such a name names no organisation, and would be a 100-score duplicate of every other one in its district."""
    written = head(registry)
    assert_problem(registry.post("/osvs", json={"name": name, "district": "SJL", "mapped_on": "2021-03-15"}), 422, "name", "name_has_letters")
    with pytest.raises(NameWithoutLettersError):  # a caller in process meets the same rule
        application_of(registry).map_osv(name, "SJL", date(2021, 3, 15))
    assert head(registry) == written
    mapped(registry, "Nº 7")  # a number is a name


@pytest.mark.parametrize(
    ("name", "named"),
    [("\u202eSOLEUQ ed lapicinuM", "U+202E (RIGHT-TO-LEFT OVERRIDE)"), ("Junta\u200bVecinal Los Pinos", "U+200B (ZERO WIDTH SPACE)"),
     ("Vaso de Le\u00adche Santa Rosa", "U+00AD (SOFT HYPHEN)"), ("Olla Común\u2066 Las Flores", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
     ("\u3164\u3164\u3164", "U+3164 (HANGUL FILLER)"), ("Come\u034fdor Popular", "U+034F (COMBINING GRAPHEME JOINER)"),
     ("Come\ufe0fdor Popular", "U+FE0F (VARIATION SELECTOR-16)"),
     ("Vecinos \ufffe Unidos", "U+FFFE (a noncharacter)"), ("Vecinos \ufdd0 Unidos", "U+FDD0 (a noncharacter)")],  # tester 136 F4
)
def test_a_name_holding_a_character_no_one_sees_is_refused_naming_it(registry: TestClient, name: str, named: str) -> None:
    """Published to partners, the HXL sheet and the dashboard, a right-to-left override shows the name reversed (tester 24)."""
    written = head(registry)
    problem = assert_problem(registry.post("/osvs", json={"name": name, "district": "SJL", "mapped_on": "2021-03-15"}), 422, "name", "visible_text")
    assert named in problem["errors"][0]["message"]
    assert head(registry) == written


def test_a_name_with_combining_marks_piled_on_a_letter_is_refused_naming_it(registry: TestClient) -> None:
    """Tester 203 F4: "V", 150 stacked marks, "ecinos": published to partners, in IATI, HXL and the dashboard."""
    written = head(registry)
    name = "V" + "\u0301\u0300\u0302" * 50 + "ecinos Zalgo"
    problem = assert_problem(registry.post("/osvs", json={"name": name, "district": "SJL", "mapped_on": "2021-03-15"}), 422, "name", "combining_marks")
    assert "character 1 carries 150 combining marks, at most 6" in problem["errors"][0]["message"]
    assert head(registry) == written


@pytest.mark.parametrize("name", ["ʼʼʼ", "ªª", "ⁿ", "ー", "ـــ"])
def test_a_name_of_modifier_letters_or_ordinal_signs_alone_is_refused(registry: TestClient, name: str) -> None:
    """Tester 206 F1: Unicode counts them as letters (``isalnum``); "ʼʼʼ" was mapped through the Kobo webhook."""
    assert_problem(registry.post("/osvs", json={"name": name, "district": "SJL", "mapped_on": "2021-03-15"}), 422, "name", "name_has_letters")


def test_spacing_marks_between_piled_marks_do_not_let_them_through(registry: TestClient) -> None:
    """Tester 206 F2: 24 non-spacing marks on one letter, broken up by Devanagari's visarga (a spacing mark), passed."""
    name = "Ana" + ("\u0346\u0347\u0348\u0349" + "\u0903") * 6 + " Vecinos"
    assert_problem(registry.post("/osvs", json={"name": name, "district": "SJL", "mapped_on": "2021-03-15"}), 422, "name", "combining_marks")
    myanmar = registry.post("/osvs", json={"name": "မြှော့ Vecinos", "district": "SJL", "mapped_on": "2021-03-15"})  # five marks: a word
    assert myanmar.status_code == 201, myanmar.text


def test_a_name_passed_off_as_another_with_a_joiner_after_every_letter_is_refused_not_mapped_twice(registry: TestClient) -> None:
    """U+034F shows as nothing: the name looks the same as one mapped, and evaded the duplicate check (tester 24b)."""
    mapped(registry, "Comedor Popular Santa Rosa de Bayóvar")
    lookalike = "".join(f"{letter}\u034f" for letter in "Comedor Popular Santa Rosa de Bayóvar")
    assert_problem(registry.post("/osvs", json={"name": lookalike, "district": "SJL", "mapped_on": "2021-03-15"}), 422, "name", "visible_text")


@pytest.mark.parametrize(
    "name",
    ["Colectivo 🏳️‍🌈 Diversidad", "Mujeres 👩🏽‍🍳 Cocineras", "Mamás Unidas 👩‍👧‍👦", "Vecinos 🇻🇪🇵🇪 ❤️ 1️⃣",
     "Comité ශ්\u200dරී ලංකා", "Anjoman-e علی\u200cرضا", "Olla Común Qʼeswa", "Vecinos 2"],
)
def test_a_name_with_emoji_or_joiners_of_its_script_is_mapped_as_typed(registry: TestClient, name: str) -> None:
    """The joiners inside one emoji are part of it, and visible as it (a phone's Kobo form offers emoji); so is a
    joiner of Sinhala's "ශ්‍රී" (U+200D) or of a Persian compound name (U+200C), refused as invisible (tester 206 F3)."""
    osv = registry.post("/osvs", json={"name": name, "district": "SJL", "mapped_on": "2021-03-15"})
    assert osv.status_code == 201, osv.text
    assert osv.json()["name"] == name


def test_a_ruos_number_holding_a_character_no_one_sees_is_refused(registry: TestClient) -> None:
    osv = mapped(registry, "Club de Madres Virgen de Fátima")
    body = {"registered_on": "2021-05-01", "ruos_number": "RUOS-\u202e1202-SJL", "resolution_number": "RES-045"}
    assert_problem(registry.post(f"/osvs/{osv}/ruos-registration", json=body), 422, "ruos_number", "visible_text")
    body = {"registered_on": "2021-05-01", "ruos_number": "RUOS-2021-SJL-017", "resolution_number": "RES\u200b-045"}
    assert_problem(registry.post(f"/osvs/{osv}/ruos-registration", json=body), 422, "resolution_number", "visible_text")


def test_a_name_typed_over_two_lines_is_one_name_with_a_space(registry: TestClient) -> None:
    """A promoter's phone wraps a long name, or Enter slips in: the name is one line, as the feeds and exports show it."""
    osv = registry.post("/osvs", json={"name": "Junta Vecinal\nLos Pinos\t de Zárate", "district": "SJL", "mapped_on": "2021-03-15"})
    assert osv.status_code == 201, osv.text
    assert osv.json()["name"] == "Junta Vecinal Los Pinos de Zárate"


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("Comedor Popular N.º 1", "Comedor Popular 1"),
        ("Comedor Popular Nº 1 Zárate", "Comedor Popular #1 Zarate"),
        ("Comedor Popular Nro. 12", "COMEDOR POPULAR N° 12"),
        ("Asociación de Vecinos Zárate", "Asoc. de Vecinos Zárate"),
        ("Asentamiento Humano Huáscar Olla Común", "AA.HH. Huáscar Olla Común"),
    ],
)
def test_the_same_organisation_written_with_a_number_sign_or_an_abbreviation_is_a_possible_duplicate(
    registry: TestClient, first: str, again: str
) -> None:
    osv = mapped(registry, first)
    problem = assert_problem(registry.post("/osvs", json={"name": again, "district": "SJL", "mapped_on": "2021-04-01"}), 409, "name", "possible_duplicate")
    assert problem["possible_duplicates"] == [{"osv_id": osv, "name": first}]
    assert registry.get(f"/osvs/{mapped(registry, again, distinct_from=[osv])}").json()["name"] == again  # kept as typed


def test_an_osvs_name_shortened_on_another_tablet_is_a_possible_duplicate_unless_said_distinct(registry: TestClient) -> None:
    """Tester 296 F2: "Olla Comun Nueva Esperanza" beside "Olla Común Nueva Esperanza Jicamarca" was mapped again."""
    first = mapped(registry, "Olla Común Nueva Esperanza Jicamarca")
    mapped(registry, "Olla Común Los Olivos")  # only generic words in common: no duplicate
    written = head(registry)

    sent = {"name": "Olla Comun Nueva Esperanza", "district": "San Juan de Lurigancho", "mapped_on": "2021-04-01"}
    for dry_run in ("?dry_run=true", ""):
        problem = assert_problem(registry.post(f"/osvs{dry_run}", json=sent), 409, "name", "possible_duplicate")
        assert problem["possible_duplicates"] == [{"osv_id": first, "name": "Olla Común Nueva Esperanza Jicamarca"}]
        assert "words added or left out" in problem["detail"]
    assert head(registry) == written

    second = mapped(registry, sent["name"], distinct_from=[first])
    assert second != first
    assert len(registry.get("/osvs").json()) == 3
