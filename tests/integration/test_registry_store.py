"""Registry's new records on an SQLite file and on a real PostgreSQL server, by changing only the URL."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from functools import partial
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from eventsourcing.persistence import IntegrityError

from services.registry.application import Registry
from services.registry.domain.ruos import ApplicationStatus, RUOSNumberIndex, RUOSNumberTakenError
from services.registry.events import catalogue
from services.registry.views.documentcounts import DocumentCounts
from shared.settings import sqlalchemy_url
from shared.store import persistence_env
from shared.views import make_engine

ALL = [
    "acta_constitucion",
    "estatuto",
    "acta_aprobacion_estatuto",
    "acta_eleccion_junta_directiva",
    "nomina_junta_directiva",
    "padron_socios",
    "croquis",
]


def registry_on(url: str, counts: DocumentCounts | None = None) -> Registry:
    return Registry(persistence_env(url), document_counts=counts)


def test_an_ruos_number_is_refused_within_the_municipality_whose_ruos_holds_it_and_taken_in_the_others_across_processes(
    database_url: str,
) -> None:
    """Each municipality (the MML, each district) numbers its own RUOS: Los Olivos and the MML may both issue the number
    Comas gave (tester 127 F4); Comas may not give it twice."""
    one, other = registry_on(database_url), registry_on(database_url)
    first = one.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))
    olivos = other.map_osv("Mujeres Emprendedoras", "Los Olivos", date(2021, 3, 16))
    with_mml = other.map_osv("Vecinos Solidarios de Zárate", "San Juan de Lurigancho", date(2021, 3, 16))
    second = other.map_osv("Club de Madres Santa Luzmila", "Comas", date(2021, 3, 17))
    one.register_in_ruos(first, "RUOS-2021-017", date(2021, 7, 12), municipality_id="150110")

    application = other.submit_ruos_application(olivos, "150117", date(2021, 6, 14), ALL)  # Los Olivos: its district
    other.register_ruos_application(olivos, application.application_id, date(2021, 7, 12), "RUOS-2021-017")
    other.register_in_ruos(with_mml, "ruos-2021-017", date(2021, 7, 13), municipality_id="mml")
    holders = {m: other.ruos_number_holder(" ruos-2021-017", m) for m in ("150110", "150117", "mml", "150132")}
    assert holders == {"150110": first, "150117": olivos, "mml": with_mml, "150132": None}

    application = other.submit_ruos_application(second, "150110", date(2021, 6, 14), ALL)
    head = other.log_head()
    with pytest.raises(RUOSNumberTakenError) as refused:
        other.register_ruos_application(second, application.application_id, date(2021, 7, 12), " ruos-2021-017 ")
    assert (refused.value.field, refused.value.rule) == ("ruos_number", "ruos_number_unique")
    assert str(first) in refused.value.message and "Comas" in refused.value.message
    assert other.get_osv(second).ruos_number is None
    assert other.get_osv(second).application.status is ApplicationStatus.SUBMITTED  # type: ignore[union-attr]
    assert other.log_head() == head
    one.close()
    other.close()


def test_a_claim_made_on_a_stale_check_still_fails_and_takes_the_registration_with_it(database_url: str) -> None:
    registry = registry_on(database_url)
    first = registry.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))
    second = registry.map_osv("Mujeres Emprendedoras", "Los Olivos", date(2021, 3, 16))
    registry.register_in_ruos(first, "RUOS-7", date(2021, 7, 12), municipality_id="mml")

    # A writer that looked before the first claim was stored: the store itself refuses the second claim.
    late = registry.get_osv(second)
    late.register_in_ruos("RUOS-7", date(2021, 7, 13), municipality_id="mml")
    with pytest.raises(IntegrityError):
        registry.save(late, RUOSNumberIndex(ruos_number="RUOS-7", osv_id=second, municipality_id="mml"))
    assert registry.get_osv(second).ruos_number is None
    assert registry.ruos_number_holder("RUOS-7", "mml") == first
    registry.close()


def test_of_two_registrations_of_one_number_racing_in_one_ruos_one_is_refused_and_in_two_ruos_both_are_taken(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each registration looks for the number's holder, then saves its claim with it; here a rival's registration, in
    another process, lands between the look and the save. In the same RUOS the store refuses the late claim, which is
    told 409 as if it had looked after the rival; in another municipality's RUOS it is a claim of its own."""
    rival, late = registry_on(database_url), registry_on(database_url)
    comas_rival = rival.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))
    olivos_rival = rival.map_osv("Mujeres Emprendedoras", "Los Olivos", date(2021, 3, 15))
    comas_late = late.map_osv("Club de Madres Santa Luzmila", "Comas", date(2021, 3, 16))
    comas_later = late.map_osv("Vecinos de El Retablo", "Comas", date(2021, 3, 16))
    rivals: list[Callable[[], object]] = []
    looked = late.ruos_number_holder

    def rival_lands_between(ruos_number: str, municipality_id: str) -> UUID | None:
        holder = looked(ruos_number, municipality_id)
        while rivals:
            rivals.pop()()
        return holder

    monkeypatch.setattr(late, "ruos_number_holder", rival_lands_between)
    rivals.append(partial(rival.register_in_ruos, comas_rival, "RUOS-045", date(2021, 7, 12), municipality_id="150110"))
    head = late.log_head()
    with pytest.raises(RUOSNumberTakenError) as refused:
        late.register_in_ruos(comas_late, "RUOS-045", date(2021, 7, 13), municipality_id="150110")
    assert str(comas_rival) in refused.value.message
    assert late.get_osv(comas_late).ruos_number is None and late.log_head() == head + 2  # the rival's registration and claim

    rivals.append(partial(rival.register_in_ruos, olivos_rival, "RUOS-046", date(2021, 7, 12), municipality_id="150117"))
    late.register_in_ruos(comas_later, "RUOS-046", date(2021, 7, 13), municipality_id="150110")
    monkeypatch.undo()
    assert (late.ruos_number_holder("RUOS-046", "150110"), late.ruos_number_holder("RUOS-046", "150117")) == (comas_later, olivos_rival)
    rival.close()
    late.close()


def claimed_as_before(registry: Registry, osv_id: UUID, ruos_number: str, municipality_id: str | None) -> None:
    """Register the OSV and claim its number as registry did before claims named their RUOS: the claim keyed by the
    number alone, its event without ``municipality_id`` (and, for None, a direct registration that did not say whose
    RUOS it was in either, as before session 39)."""
    osv = registry.get_osv(osv_id)
    osv._registered(ruos_number=ruos_number, registered_on=date(2021, 7, 12), municipality_id=municipality_id)
    by_number = RUOSNumberIndex.lima_wide_id(ruos_number)
    claim = RUOSNumberIndex._create(RUOSNumberIndex.RUOSNumberClaimed, id=by_number, ruos_number=ruos_number, osv_id=osv_id, municipality_id=None)
    (claimed,) = claim.pending_events
    del claimed.__dict__["municipality_id"]  # the event as the old class declared it: the number and the OSV
    registry.save(osv, claim)


def test_a_number_claimed_before_claims_named_their_ruos_still_holds_it_in_its_osv_s_ruos_alone(database_url: str) -> None:
    registry = registry_on(database_url)
    by_application = registry.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))
    unsaid = registry.map_osv("Mujeres Emprendedoras", "Los Olivos", date(2021, 3, 16))
    claimed_as_before(registry, by_application, "RUOS-MML-0101", "mml")
    claimed_as_before(registry, unsaid, "RUOS-017", None)  # its district's RUOS, Los Olivos's
    registry.close()

    registry = registry_on(database_url)  # a process of this code, on the store the old one wrote
    stored = registry.find(RUOSNumberIndex.lima_wide_id("RUOS-017"), RUOSNumberIndex)
    assert stored is not None and stored.municipality_id is None
    assert registry.ruos_number_holder("ruos-mml-0101", "mml") == by_application
    assert registry.ruos_number_holder("RUOS-MML-0101", "150110") is None
    assert (registry.ruos_number_holder("RUOS-017", "150117"), registry.ruos_number_holder("RUOS-017", "mml")) == (unsaid, None)

    olivos = registry.map_osv("Club de Madres de Los Olivos", "Los Olivos", date(2021, 3, 17))
    with pytest.raises(RUOSNumberTakenError) as refused:
        registry.register_in_ruos(olivos, " ruos-017", date(2021, 8, 2), municipality_id="150117")
    assert str(unsaid) in refused.value.message
    with pytest.raises(RUOSNumberTakenError):
        registry.register_in_ruos(olivos, "RUOS-MML-0101", date(2021, 8, 2), municipality_id="mml")
    assert registry.get_osv(olivos).ruos_number is None

    registry.register_in_ruos(olivos, "RUOS-017", date(2021, 8, 2), municipality_id="mml")
    comas = registry.map_osv("Club de Madres Santa Luzmila", "Comas", date(2021, 3, 17))
    registry.register_in_ruos(comas, "RUOS-MML-0101", date(2021, 8, 2), municipality_id="150110")
    assert registry.ruos_number_holder("RUOS-017", "mml") == olivos
    assert registry.ruos_number_holder("RUOS-MML-0101", "150110") == comas
    assert registry.ruos_number_holder("RUOS-MML-0101", "mml") == by_application  # the old claim is kept as it was
    registry.close()


def claimed_with_dashes_folded(registry: Registry, osv_id: UUID, ruos_number: str, municipality_id: str) -> None:
    """Register the OSV and claim its number as registry did from tester 133 F5 to tester 208 F5: the claim's id derived
    from the number with its case, spacing around ``-`` and ``/`` and dashes folded, but its separators and zeros as typed."""
    osv = registry.get_osv(osv_id)
    osv._registered(ruos_number=ruos_number, registered_on=date(2021, 7, 12), municipality_id=municipality_id)
    key = ruos_number.replace(" - ", "-").upper()
    then = uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:ruos:{municipality_id}:number:{key}")
    registry.save(osv, RUOSNumberIndex._create(RUOSNumberIndex.RUOSNumberClaimed, id=then, ruos_number=ruos_number, osv_id=osv_id, municipality_id=municipality_id))


def test_numbers_claimed_under_the_key_of_their_day_are_held_after_a_restart_whatever_their_typing(database_url: str) -> None:
    """Tester 208 F5: numbers are compared by their parts now (spaces, dots, slashes and underscores are separators, leading
    zeros do not count). The claims stored before have ids of the key of their day; a restart neither refuses to start
    on two of them that are one number now (taken before, both), nor lets a third typing of it in."""
    registry = registry_on(database_url)
    holder = registry.map_osv("Comedor Popular Virgen de Fátima", "San Juan de Lurigancho", date(2021, 3, 15))
    typed_apart = registry.map_osv("Club de Madres Santa Rosa", "San Juan de Lurigancho", date(2021, 3, 16))
    comas = registry.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 16))
    claimed_with_dashes_folded(registry, holder, "RUOS-SJL-2026-0101", "150132")
    claimed_with_dashes_folded(registry, typed_apart, "RUOS SJL 2026 0101", "150132")  # a second number then
    claimed_with_dashes_folded(registry, comas, "RUOS-SJL-2026-0101", "150110")  # Comas's own RUOS
    registry.close()

    registry = registry_on(database_url)  # a process of this code, on the store the old one wrote
    newcomer = registry.map_osv("Vecinos Solidarios de Zárate", "San Juan de Lurigancho", date(2021, 3, 17))
    head = registry.log_head()
    for typed in ("RUOS-SJL-2026-0101", "RUOS SJL 2026 0101", "RUOS-SJL-2026-101", "ruos.sjl.2026.101"):
        assert registry.ruos_number_holder(typed, "150132") == holder  # the first claimed of the two
        assert registry.ruos_number_holder(typed, "150110") == comas
        with pytest.raises(RUOSNumberTakenError) as refused:
            registry.register_in_ruos(newcomer, typed, date(2021, 8, 2), municipality_id="150132")
        assert str(holder) in refused.value.message
    assert registry.log_head() == head and registry.get_osv(newcomer).ruos_number is None
    assert (registry.get_osv(holder).ruos_number, registry.get_osv(typed_apart).ruos_number) == ("RUOS-SJL-2026-0101", "RUOS SJL 2026 0101")

    registry.register_in_ruos(newcomer, "RUOS-SJL-2026-0101", date(2021, 8, 2), municipality_id="mml")  # the MML's RUOS: another
    assert registry.ruos_number_holder("RUOS SJL 2026 101", "mml") == newcomer
    registry.close()


def test_a_claim_typed_another_way_on_a_stale_check_still_meets_the_first_in_the_store(database_url: str) -> None:
    """Tester 212 F1: "RUOS N.º 077-2021-MDSJL/GDS" and "ruos n. 77 2021 mdsjl gds" are one number; two registrations
    racing for it, each typed its way, claim one id, and the store refuses the second with its registration."""
    registry = registry_on(database_url)
    first = registry.map_osv("Comedor Popular Virgen de Fátima", "San Juan de Lurigancho", date(2021, 3, 15))
    second = registry.map_osv("Club de Madres Santa Rosa", "San Juan de Lurigancho", date(2021, 3, 16))
    registry.register_in_ruos(first, "RUOS N.º 077-2021-MDSJL/GDS", date(2021, 7, 12), municipality_id="150132")

    late = registry.get_osv(second)  # a writer that looked before the first claim was stored
    late.register_in_ruos("ruos n. 77 2021 mdsjl gds", date(2021, 7, 13), municipality_id="150132")
    with pytest.raises(IntegrityError):
        registry.save(late, RUOSNumberIndex(ruos_number="ruos n. 77 2021 mdsjl gds", osv_id=second, municipality_id="150132"))
    assert registry.get_osv(second).ruos_number is None
    assert registry.ruos_number_holder("RUOS Nº 077-2021-MDSJL/GDS", "150132") == first
    registry.close()


def claimed_by_parts_then(registry: Registry, osv_id: UUID, ruos_number: str, municipality_id: str) -> None:
    """Register the OSV and claim its number as registry did from tester 208 F5 to tester 212 F1: the number split at
    spaces, dashes, slashes, dots and underscores alone, no number sign dropped, no ``°`` folded."""
    osv = registry.get_osv(osv_id)
    osv._registered(ruos_number=ruos_number, registered_on=date(2021, 7, 12), municipality_id=municipality_id)
    text = "".join("-" if unicodedata.category(c) == "Pd" else c for c in unicodedata.normalize("NFKC", ruos_number))
    parts = [part for part in re.split(r"[\s\-/._]+", text.upper()) if part]
    key = "-".join((part.lstrip("0") or "0") if part.isascii() and part.isdigit() else part for part in parts)
    then = uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:ruos:{municipality_id}:number:{key}")
    registry.save(osv, RUOSNumberIndex._create(RUOSNumberIndex.RUOSNumberClaimed, id=then, ruos_number=ruos_number, osv_id=osv_id, municipality_id=municipality_id))


def test_of_claims_of_one_number_stored_under_the_key_before_the_first_is_named_though_a_later_ones_id_is_todays(database_url: str) -> None:
    """Tester 212 F6: three typings of one number were each taken before N.º, Nº and the number sign were folded; the
    third one's key then is today's, so the lookup by today's id found it and the 409 named it, not the first claimed."""
    registry = registry_on(database_url)
    osvs = [registry.map_osv(name, "San Juan de Lurigancho", date(2021, 3, 15)) for name in (
        "Comedor Popular Virgen de Fátima", "Club de Madres Santa Rosa", "Vaso de Leche Las Flores", "Vecinos Solidarios de Zárate")]
    typed = ("RUOS N.º 077-2021-MDSJL/GDS", "RUOS Nº 077-2021-MDSJL/GDS", "RUOS 077-2021-MDSJL/GDS")
    for osv_id, number in zip(osvs, typed, strict=False):
        claimed_by_parts_then(registry, osv_id, number, "150132")
    assert RUOSNumberIndex.create_id(typed[2], "150132") == RUOSNumberIndex.create_id(typed[0], "150132")  # today's id, the third's
    registry.close()

    registry = registry_on(database_url)
    head = registry.log_head()
    for number in (*typed, "RUOS N° 077-2021-MDSJL/GDS", "ruos n. 77 2021 mdsjl gds"):
        assert registry.ruos_number_holder(number, "150132") == osvs[0], number
        with pytest.raises(RUOSNumberTakenError) as refused:
            registry.register_in_ruos(osvs[3], number, date(2021, 8, 2), municipality_id="150132")
        assert str(osvs[0]) in refused.value.message
    assert registry.log_head() == head and registry.get_osv(osvs[3]).ruos_number is None
    registry.close()


def claimed_under(registry: Registry, osv_id: UUID, ruos_number: str, municipality_id: str, key_then: str) -> None:
    """Register the OSV and claim its number under the id ``key_then`` derived, the key of the claim's day."""
    osv = registry.get_osv(osv_id)
    osv._registered(ruos_number=ruos_number, registered_on=date(2021, 7, 12), municipality_id=municipality_id)
    then = uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:ruos:{municipality_id}:number:{key_then}")
    registry.save(osv, RUOSNumberIndex._create(RUOSNumberIndex.RUOSNumberClaimed, id=then, ruos_number=ruos_number, osv_id=osv_id, municipality_id=municipality_id))


def test_a_claim_stored_under_a_key_that_told_apart_numbers_less_holds_its_number_alone(database_url: str) -> None:
    """Tester 215 F2, and F1 before it: "RUOS 1.234-2022" was keyed RUOS-1-234-2022 before thousands dots joined,
    "R. G. 0045" R-G-45 before spaced abbreviations did, "RUOS N-0901" RUOS-901 before an N with no dot was a series.
    Each claim's id is today's id of another number ("RUOS 1-234-2022", "R-G-0045", "RUOS 0901"), which that id alone
    refused, naming the old claim as "the same number"; each is claimed under the next id, and the old claims hold
    their own numbers, however typed now."""
    registry = registry_on(database_url)
    old = {number: registry.map_osv(f"Comedor Popular {n}", "San Juan de Lurigancho", date(2021, 3, 15)) for n, number in enumerate(
        ("RUOS 1.234-2022", "R. G. 0045", "RUOS N-0901"))}
    for (number, osv_id), key_then in zip(old.items(), ("RUOS-1-234-2022", "R-G-45", "RUOS-901"), strict=True):
        claimed_under(registry, osv_id, number, "150132", key_then)
    registry.close()

    registry = registry_on(database_url)
    newcomers = [registry.map_osv(f"Club de Madres {n}", "San Juan de Lurigancho", date(2021, 3, 16)) for n in range(6)]
    for number, typed_now in (("RUOS 1.234-2022", "RUOS 1234-2022"), ("R. G. 0045", "R.G. 0045"), ("RUOS N-0901", "RUOS N 901")):
        assert registry.ruos_number_holder(typed_now, "150132") == old[number]
        with pytest.raises(RUOSNumberTakenError):
            registry.register_in_ruos(newcomers[5], typed_now, date(2021, 8, 2), municipality_id="150132")
    for newcomer, number in zip(newcomers, ("RUOS 1-234-2022", "R-G-0045", "RUOS 0901"), strict=False):
        assert registry.ruos_number_holder(number, "150132") is None
        registry.register_in_ruos(newcomer, number, date(2021, 8, 2), municipality_id="150132")
    registry.close()

    registry = registry_on(database_url)
    for newcomer, number in zip(newcomers, ("ruos 1 234 2022", "R G 45", "RUOS 901"), strict=False):
        assert registry.ruos_number_holder(number, "150132") == newcomer
        with pytest.raises(RUOSNumberTakenError) as refused:
            registry.register_in_ruos(newcomers[5], number, date(2021, 8, 2), municipality_id="150132")
        assert str(newcomer) in refused.value.message
    assert [registry.ruos_number_holder(number, "150132") for number in old] == list(old.values())
    # a claim racing for one of them on a stale check derives the same next id, and the store refuses it
    late = registry.get_osv(newcomers[4])
    late.register_in_ruos("RUOS-0901", date(2021, 8, 3), municipality_id="150132")
    with pytest.raises(IntegrityError):
        registry.save(late, RUOSNumberIndex.made_under(registry.ruos_number_claim_id("RUOS-0901", "150132"), "RUOS-0901", newcomers[4], "150132"))
    registry.close()


def test_a_claim_stored_before_tester_221_holds_its_own_number_and_the_number_its_key_was_is_claimed_apart(database_url: str) -> None:
    """Tester 221 F3, F4: "R.U.O.S.N.0901" was keyed RUOSN-901, "RUOSNº0905" RUOSN-905 and "RUOS 1,235-2022"
    RUOS-1-235-2022 before an N. ending an abbreviation, a sign glued to the letters before it and a thousands comma
    joined; "Resolución N.º 0045" kept its accent. Each old claim holds its own number as typed now; "R.U.O.S.N 0901",
    "RUOSN-0905" and "RUOS 1-235-2022", whose ids today are those old claims' (an N without its own dot or º is no
    sign, a dash no thousands separator), are other numbers, claimed under the next ids."""
    registry = registry_on(database_url)
    old = {number: registry.map_osv(f"Comedor Popular {n}", "San Juan de Lurigancho", date(2021, 3, 15)) for n, number in enumerate(
        ("R.U.O.S.N.0901", "RUOSNº0905", "RUOS 1,235-2022", "Resolución N.º 0045"))}
    for (number, osv_id), key_then in zip(old.items(), ("RUOSN-901", "RUOSN-905", "RUOS-1-235-2022", "RESOLUCIÓN-45"), strict=True):
        claimed_under(registry, osv_id, number, "150132", key_then)
    assert RUOSNumberIndex.create_id("R.U.O.S.N 0901", "150132") == uuid5(NAMESPACE_URL, "urn:osv-platform:registry:ruos:150132:number:RUOSN-901")
    registry.close()

    registry = registry_on(database_url)
    newcomers = [registry.map_osv(f"Club de Madres {n}", "San Juan de Lurigancho", date(2021, 3, 16)) for n in range(4)]
    for number, typed_now in zip(old, ("RUOS 0901", "RUOS Nº 905", "RUOS 1235-2022", "Resolucion N° 45"), strict=True):
        assert registry.ruos_number_holder(typed_now, "150132") == old[number]
        with pytest.raises(RUOSNumberTakenError):
            registry.register_in_ruos(newcomers[3], typed_now, date(2021, 8, 2), municipality_id="150132")
    for newcomer, number in zip(newcomers, ("R.U.O.S.N 0901", "RUOSN-0905", "RUOS 1-235-2022"), strict=False):
        assert registry.ruos_number_holder(number, "150132") is None
        registry.register_in_ruos(newcomer, number, date(2021, 8, 2), municipality_id="150132")
    registry.close()

    registry = registry_on(database_url)
    for newcomer, number in zip(newcomers, ("RUOSN 901", "RUOSN/0905", "RUOS 1 235 2022"), strict=False):
        assert registry.ruos_number_holder(number, "150132") == newcomer
    assert [registry.ruos_number_holder(number, "150132") for number in old] == list(old.values())
    registry.close()


def test_municipalities_and_applications_survive_a_restart(database_url: str) -> None:
    registry = registry_on(database_url)
    osv_id = registry.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15), composition=None, focus_areas=["health"])
    _, focal_point = registry.assign_focal_point("150110", "Subgerencia de Participación Vecinal", "especialista", date(2021, 2, 1))
    registry.change_accepted_documents("150110", ["DNI", "CE", "PTP", "CPP", "CEDULA_VE"], date(2021, 9, 1))
    application = registry.submit_ruos_application(osv_id, "150110", date(2021, 6, 14), ALL)
    registry.observe_ruos_application(osv_id, application.application_id, date(2021, 7, 26), [{"code": "other", "detail": "x"}])
    registry.close()

    registry = registry_on(database_url)
    comas = registry.get_municipality("150110").record
    assert comas.current_focal_point is not None and comas.current_focal_point.focal_point_id == focal_point
    assert comas.accepted[-1] == "CEDULA_VE" and comas.accepted_history[0].changed_on == date(2021, 9, 1)
    observed = registry.get_osv(osv_id).find_application(application.application_id)
    assert (observed.status, observed.amend_by) == (ApplicationStatus.OBSERVED, date(2021, 8, 4))
    assert [type(e).__name__ for e in registry.events.get(comas.id)] == [
        "MunicipalityRecordOpened",
        "FocalPointAssigned",
        "AcceptedDocumentsChanged",
    ]
    registry.close()


def test_the_counts_view_keeps_the_latest_tally_once_on_both_databases(database_url: str) -> None:
    counts = DocumentCounts(make_engine(sqlalchemy_url(database_url)))
    registry = registry_on(database_url, counts)
    osv_id = registry.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))

    def tally(position: int, members: dict[str, int]) -> dict[str, object]:
        data = {"osv_id": str(osv_id), "counted_on": "2021-06-10", "occurred_on": "2021-06-10", "board": {"DNI": 1}, "members": members}
        return {"type": "OSVDocumentsCounted", "source": "urn:osv-platform:engagement", "position": position, "data": data}

    counts.apply([tally(4, {"DNI": 1, "CEDULA_VE": 3}), tally(6, {"DNI": 1, "CEDULA_VE": 1})])
    counts.apply([tally(4, {"DNI": 9})])  # redelivered after a restart: already applied
    readiness = registry.ruos_readiness(osv_id)
    assert (readiness.members_total, readiness.members_with_unaccepted_documents) == (2, 1)
    assert counts.applied_position() == 6
    registry.close()


def test_each_osv_another_worker_mapped_is_placed_by_its_district_without_reading_it_back(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mapper, relay = registry_on(database_url), registry_on(database_url)  # two workers on one store; the relay runs in the second
    comas = mapper.map_osv("Vecinos Unidos de Collique", "Comas", date(2021, 3, 15))
    ate = mapper.map_osv("Mujeres Emprendedoras de Huaycán", "Ate", date(2021, 3, 16))
    mapper.register_in_ruos(comas, "RUOS-COMAS-2021-017", date(2021, 7, 12), municipality_id="mml")
    reads: list[object] = []
    real_get = relay.repository.get
    monkeypatch.setattr(relay.repository, "get", lambda *args, **kwargs: reads.append(args) or real_get(*args, **kwargs))

    placed = {}
    for notification in relay.log_after(0, 100):
        cloudevent = catalogue.to_cloudevent(notification.id, relay.decode(notification), locate=relay.municipality_of)
        if cloudevent is not None:
            placed[(cloudevent["type"], cloudevent["subject"])] = cloudevent["municipality"]

    assert placed == {("OSVMapped", str(comas)): "150110", ("OSVMapped", str(ate)): "150103", ("RUOSRegistered", str(comas)): "150110"}
    assert reads == []  # the OSVs' municipalities came from their OSVMapped events, the registration's from there too
