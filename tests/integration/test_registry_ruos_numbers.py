"""An RUOS number over HTTP: one OSV's in each municipality's RUOS, however it is typed, what a focal point learns
through it, and a direct registration. Registry runs on its real SQLite store with NATS out of reach."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi.testclient import TestClient

from tests.support.api import assert_problem
from tests.support.clients import application_of, head
from tests.support.identity import IssuedTokens
from tests.support.ruos import (
    ALL_DOCUMENTS,
    COMAS,
    LOS_OLIVOS,
    SJL,
    clock_fixture,  # noqa: F401 - registry's clock, a fixture
    new_osv,
    step,
    submit,
    today_fixture,  # noqa: F401 - registry's clock, a fixture
)


def test_an_ruos_number_belongs_to_one_osv_in_each_municipalitys_ruos(registry: TestClient) -> None:
    """Each municipality (the MML, each district) keeps and numbers its own RUOS: Comas may not give 045-2021 twice,
    Los Olivos and the MML may give it too (tester 127 F4: the second district's registration was refused)."""
    first = new_osv(registry)
    registry.post(f"/osvs/{first}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS-045-2021", "registered_on": "2021-07-12"})
    second = new_osv(registry, name="Otra OSV")
    application_id = submit(registry, second)["application_id"]
    written = head(registry)
    taken = step(registry, second, application_id, "registration", registered_on="2021-07-12", ruos_number="ruos-045-2021")
    problem = assert_problem(taken, 409, "ruos_number", "ruos_number_unique")
    assert first in problem["detail"] and "Comas" in problem["detail"]
    direct = registry.post(f"/osvs/{new_osv(registry, name='Tercera')}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": " RUOS-045-2021", "registered_on": "2021-07-12"})
    assert_problem(direct, 409, "ruos_number", "ruos_number_unique")
    assert head(registry) == written + 2  # only the third OSV's mapping and its (private) entry in the district's names
    assert registry.get(f"/osvs/{second}").json()["ruos_application"]["status"] == "submitted"

    olivos = new_osv(registry, name="Mujeres Emprendedoras", district="Los Olivos")
    in_olivos = registry.post(f"/osvs/{olivos}/ruos-registration", json={"municipality_id": LOS_OLIVOS, "ruos_number": "RUOS-045-2021", "registered_on": "2021-07-12"})
    assert in_olivos.status_code == 201, in_olivos.text
    with_mml = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho")
    application_id = submit(registry, with_mml, municipality_id="mml")["application_id"]
    in_mml = step(registry, with_mml, application_id, "registration", registered_on="2021-07-12", ruos_number="RUOS-045-2021")
    assert in_mml.status_code == 201, in_mml.text
    again_in_mml = registry.post(f"/osvs/{new_osv(registry, name='Cuarta')}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "ruos-045-2021", "registered_on": "2021-07-12"})
    assert with_mml in assert_problem(again_in_mml, 409, "ruos_number", "ruos_number_unique")["detail"]
    # The same number copied from the resolution's PDF, with another dash and spaced (tester 133 F5)
    copied = registry.post(f"/osvs/{new_osv(registry, name='Quinta')}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS \u2013 045\u20102021", "registered_on": "2021-07-12"})
    assert first in assert_problem(copied, 409, "ruos_number", "ruos_number_unique")["detail"]


def test_an_ruos_number_typed_with_spaces_or_without_its_leading_zeros_is_the_number_another_osv_holds(registry: TestClient) -> None:
    """Tester 208 F5: with RUOS-SJL-2026-0101 held in San Juan de Lurigancho's RUOS, "RUOS SJL 2026 0101" and
    "RUOS-SJL-2026-101" were 201, two more OSVs holding the one number. The number stays as it was typed."""
    holder = new_osv(registry, name="Comedor Popular Virgen de Fátima", district="San Juan de Lurigancho")
    first = registry.post(f"/osvs/{holder}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS-SJL-2026-0101", "registered_on": "2021-07-12"})
    assert first.status_code == 201, first.text
    other = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    written = head(registry)
    for typed in ("RUOS SJL 2026 0101", "RUOS-SJL-2026-101", "ruos/sjl/2026/0101", "RUOS.SJL.2026.00101", "RUOS_SJL_2026_0101"):
        again = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        problem = assert_problem(again, 409, "ruos_number", "ruos_number_unique")
        assert holder in problem["detail"] and typed in problem["detail"], (typed, problem)
    assert head(registry) == written
    assert registry.get(f"/osvs/{holder}").json()["ruos"]["number"] == "RUOS-SJL-2026-0101"

    taken = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS SJL 2026 0102", "registered_on": "2021-07-12"})
    assert taken.status_code == 201, taken.text
    assert taken.json()["ruos"]["number"] == "RUOS SJL 2026 0102"  # kept as typed


def test_an_ruos_number_typed_with_another_number_sign_is_the_number_another_osv_holds(registry: TestClient) -> None:
    """Tester 212 F1: "RUOS N.º 077-2021-MDSJL/GDS", "RUOS Nº …", "RUOS N° …" and "ruos n. 77 2021 mdsjl gds" were each 201
    for another OSV of San Juan de Lurigancho: one real number held four times."""
    holder = new_osv(registry, name="Comedor Popular Virgen de Fátima", district="San Juan de Lurigancho")
    first = registry.post(f"/osvs/{holder}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS N.º 077-2021-MDSJL/GDS", "registered_on": "2021-07-12"})
    assert first.status_code == 201, first.text
    other = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    written = head(registry)
    for typed in ("RUOS Nº 077-2021-MDSJL/GDS", "RUOS N° 077-2021-MDSJL/GDS", "ruos n. 77 2021 mdsjl gds", "R.U.O.S. Nro. 077-2021-MDSJL/GDS"):
        again = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        problem = assert_problem(again, 409, "ruos_number", "ruos_number_unique")
        assert holder in problem["detail"] and typed in problem["detail"], (typed, problem)
        # the holder's own typing, so that whoever is refused sees why their number is the one held (tester 215 F1)
        assert "typed 'RUOS N.º 077-2021-MDSJL/GDS' (the same number" in problem["detail"], problem
    assert head(registry) == written
    assert registry.get(f"/osvs/{holder}").json()["ruos"]["number"] == "RUOS N.º 077-2021-MDSJL/GDS"  # kept as typed
    same = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS N.º 077-2021-MDSJL/GDS", "registered_on": "2021-07-12"})
    assert "typed" not in assert_problem(same, 409, "ruos_number", "ruos_number_unique")["detail"]  # typed alike: said once


def test_an_ruos_number_typed_with_a_glued_sign_spaced_dots_or_a_thousands_dot_is_the_number_another_osv_holds(registry: TestClient) -> None:
    """Tester 215 F2: "RUOS Nro0905", "R. U. O. S. 0901" and "RUOS 1.234-2022" were each 201 beside the plain number
    another OSV held. A dash is no thousands separator, and an N with a dash a series: those are other numbers."""
    holder = new_osv(registry, name="Comedor Popular Virgen de Fátima", district="San Juan de Lurigancho")
    first = registry.post(f"/osvs/{holder}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS 1234-2022", "registered_on": "2021-07-12"})
    assert first.status_code == 201, first.text
    other = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    written = head(registry)
    for typed in ("RUOS 1.234-2022", "RUOS Nro1234-2022", "R. U. O. S. 1.234-2022", "R. U. O. S. N. 1234 2022"):
        again = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        problem = assert_problem(again, 409, "ruos_number", "ruos_number_unique")
        assert holder in problem["detail"] and "typed 'RUOS 1234-2022'" in problem["detail"], (typed, problem)
    assert head(registry) == written
    for typed in ("RUOS 1-234-2022", "RUOS N-1234-2022"):
        apart = new_osv(registry, name=f"Vecinos {typed}", district="San Juan de Lurigancho")
        taken = registry.post(f"/osvs/{apart}/ruos-registration",
                              json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        assert taken.status_code == 201, taken.text


def test_an_ruos_number_typed_without_its_accents_with_a_pasted_degree_sign_or_a_thousands_comma_is_the_number_another_osv_holds(
    registry: TestClient,
) -> None:
    """Tester 221 F3, F4: "Resolucion de Gerencia N° 45-2023-GDS-MDSJL" beside "Resolución de Gerencia N.º
    0045-2023-GDS-MDSJL", "RUOS N˚ 0908", "R.U.O.S.N. 0907", "RUOSNº0905" and "RUOS 1,235-2022" beside the plain
    numbers were each 201 for a second OSV. Numbers apart by a digit, an N series or a comma between parts stay apart."""
    held = ("Resolución de Gerencia N.º 0045-2023-GDS-MDSJL", "RUOS 0908", "RUOS 0907", "RUOS 905", "RUOS 1235-2022")
    holders = {}
    for n, number in enumerate(held):
        holders[number] = new_osv(registry, name=f"Comedor Popular {n}", district="San Juan de Lurigancho")
        first = registry.post(f"/osvs/{holders[number]}/ruos-registration", json={"municipality_id": SJL, "ruos_number": number, "registered_on": "2021-07-12"})
        assert first.status_code == 201, first.text
    other = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    written = head(registry)
    for number, typed in zip(held, ("Resolucion de Gerencia N° 45-2023-GDS-MDSJL", "RUOS N˚ 0908", "R.U.O.S.N. 0907", "RUOSNº0905",
                                    "RUOS 1,235-2022"), strict=True):
        again = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        problem = assert_problem(again, 409, "ruos_number", "ruos_number_unique")
        assert holders[number] in problem["detail"] and f"typed '{number}'" in problem["detail"], (typed, problem)
    assert head(registry) == written
    for typed in ("Resolucion de Gerencia N° 46-2023-GDS-MDSJL", "RUOS N-0908", "R.U.O.S.N 0907", "RUOS 1-235-2022", "RUOS 12,3456"):
        apart = new_osv(registry, name=f"Vecinos {typed}", district="San Juan de Lurigancho")
        taken = registry.post(f"/osvs/{apart}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        assert taken.status_code == 201, taken.text


def test_a_focal_point_learns_neither_another_districts_osv_nor_its_municipalitys_documents_through_the_ruos(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    """Trying RUOS numbers named the Comas OSV holding one to San Juan de Lurigancho's focal point, and readiness
    against Comas answered Comas's accepted documents, which that focal point may not read (tester 37 F6). Comas's
    numbers are no longer any claim in San Juan de Lurigancho's RUOS (tester 127 F4): its focal point's registration is
    taken and says nothing of Comas's."""
    comas = new_osv(registry, name="Club de Madres de Collique")
    registry.post(f"/osvs/{comas}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS-MML-2021-0101", "registered_on": "2021-07-12"})
    sjl = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho")
    application_id = submit(registry, sjl, municipality_id=SJL)["application_id"]
    focal_point = tokens.headers("municipal-150132")
    tried = registry.post(
        f"/osvs/{sjl}/ruos-applications/{application_id}/registration", params={"dry_run": "true"}, headers=focal_point,
        json={"registered_on": "2021-08-02", "ruos_number": "RUOS-MML-2021-0101"},
    )
    assert tried.status_code == 201, tried.text
    assert comas not in tried.text

    for reader in (focal_point, {}):
        elsewhere = registry.get(f"/osvs/{sjl}/ruos-readiness", params={"municipality_id": COMAS}, headers=reader)
        assert_problem(elsewhere, 422, "municipality_id", "municipality_of_the_osv")
    assert registry.get(f"/osvs/{sjl}/ruos-readiness", params={"municipality_id": "mml"}, headers=focal_point).status_code == 200


def test_a_focal_point_whose_ruos_holds_a_number_is_not_told_which_osv_when_it_does_not_read_it(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    """An application recorded before applications were held to the OSV's two municipalities may have put a Comas OSV
    in San Juan de Lurigancho's RUOS: its number is held there, and that district's focal point, who does not read
    Comas's OSVs, is told "another OSV" (tester 37 F6), as staff are told which."""
    comas = new_osv(registry, name="Club de Madres de Collique")
    stored = application_of(registry)
    osv = stored.get_osv(UUID(comas))
    before_the_rule = osv.submit_application(SJL, date(2021, 6, 14), ALL_DOCUMENTS, None, None)
    stored.save(osv)
    held = step(registry, comas, str(before_the_rule), "registration", registered_on="2021-07-12", ruos_number="RUOS-045-2021")
    assert held.status_code == 201, held.text

    sjl = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho")
    application_id = submit(registry, sjl, municipality_id=SJL)["application_id"]
    taken = registry.post(
        f"/osvs/{sjl}/ruos-applications/{application_id}/registration", headers=tokens.headers("municipal-150132"),
        json={"registered_on": "2021-08-02", "ruos_number": "ruos-045-2021"},
    )
    problem = assert_problem(taken, 409, "ruos_number", "ruos_number_unique")
    assert comas not in taken.text and "another OSV" in problem["detail"]
    staff = step(registry, sjl, application_id, "registration", registered_on="2021-08-02", ruos_number="ruos-045-2021")
    assert comas in assert_problem(staff, 409, "ruos_number", "ruos_number_unique")["detail"]


def test_a_direct_registration_keeps_working_and_may_carry_the_resolution_and_term(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    response = registry.post(
        f"/osvs/{osv_id}/ruos-registration",
        json={"municipality_id": COMAS, "ruos_number": "RUOS-7", "registered_on": "2021-04-02", "resolution_number": "RGM-7", "board_term_ends_on": "2023-04-01"},
    )
    assert response.status_code == 201, response.text
    osv = response.json()
    assert (osv["ruos"]["number"], osv["resolution_number"], osv["board_term_ends_on"], osv["ruos_application"]) == ("RUOS-7", "RGM-7", "2023-04-01", None)


def test_a_direct_registration_waits_for_an_open_application(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    submit(registry, osv_id)
    assert_problem(registry.post(f"/osvs/{osv_id}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS-7", "registered_on": "2021-07-01"}), 409, rule="one_open_application")
