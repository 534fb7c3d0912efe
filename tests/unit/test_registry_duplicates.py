"""Registry's duplicate-name check, without any I/O: the roll scanned in one batch gives the answers of comparing name by name."""

from __future__ import annotations

import random
import unicodedata
from uuid import UUID

import pytest
from rapidfuzz import fuzz

from services.registry.domain.duplicates import (
    ABBREVIATIONS,
    NEAR_NAME_SCORE,
    DistrictRoll,
    NameWithoutLettersError,
    PossibleDuplicate,
    PossibleDuplicateError,
    check_name,
    contained,
    has_letter_or_digit,
    key_resemblance,
    name_key,
    possible_duplicates,
    words_index,
)
from shared.kept import KeptSnapshot, project_events

KINDS = (
    "Comedor Popular", "Olla Común", "Asociación de Vecinos", "Club de Madres", "Comité del Vaso de Leche",
    "Asociación de Migrantes Venezolanos", "Junta Vecinal", "Comité de Damas", "Asociación Cultural", "Red de Mujeres",
)
CALLED = (
    "Las Flores", "Virgen de Guadalupe", "Unidos por Zárate", "Señor de los Milagros", "Santa Rosa de Lima", "Nueva Esperanza",
    "Simón Bolívar", "Los Olivos de Pro", "Manos Unidas", "Hermanos Venezolanos en el Perú", "Mariátegui", "José Gálvez",
    "Sagrado Corazón de Jesús", "Juntos Sí Podemos", "Perú y Venezuela", "La Unión", "Micaela Bastidas", "Arco Iris",
)
NUMBERED = ("N.º {n}", "N° {n}", "Nro. {n}", "{n}")


def lima_osv_name(pick: random.Random) -> str:
    """A name as promoters type them in Lima: a kind of organisation, what it is called, now and then a number."""
    name = f"{pick.choice(KINDS)} {pick.choice(CALLED)}"
    if pick.random() < 0.4:
        name = f"{name} {pick.choice(NUMBERED).format(n=pick.randint(1, 25))}"
    return name


def typed_again(name: str, pick: random.Random) -> str:
    """``name`` as another promoter types it: in capitals, without accents, words in another order, a typo, another number."""
    way = pick.randrange(6)
    if way == 0:
        return name.upper()
    if way == 1:
        return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    if way == 2:
        words = name.split()
        cut = pick.randrange(1, len(words))
        return " ".join(words[cut:] + words[:cut])
    if way == 3:
        at = pick.randrange(len(name))
        return name[:at] + name[at + 1 :]  # a letter left out
    if way == 4:
        at = pick.randrange(len(name) - 1)
        return name[:at] + name[at + 1] + name[at] + name[at + 2 :]  # two letters swapped
    digits = [c for c in name if c.isdigit()]
    return name.replace(digits[0], str((int(digits[0]) + 1) % 10), 1) if digits else name + " 2"


def name_by_name(
    name: str, entries: dict[UUID, str], keys: dict[UUID, str], distinct_from: frozenset[UUID] = frozenset()
) -> list[PossibleDuplicate]:
    """The check as it was: :func:`key_resemblance` and :func:`contained` on every entry of the roll (``keys``: their names
    folded), best first."""
    key = name_key(name)
    found = [
        PossibleDuplicate(osv_id, other, score)
        for osv_id, other in entries.items()
        if osv_id not in distinct_from
        and ((score := key_resemblance(key, keys[osv_id])) >= NEAR_NAME_SCORE or (score > 0 and contained(key, keys[osv_id])))
    ]
    return sorted(found, key=lambda d: (-d.score, d.name))


def test_the_roll_scanned_in_one_batch_finds_what_comparing_name_by_name_finds_in_the_same_order() -> None:
    pick = random.Random(17)
    originals = [lima_osv_name(pick) for _ in range(200)]
    names = originals + [typed_again(pick.choice(originals), pick) for _ in range(100)]
    names += ["Vecinos de la Paz 12", "Vecinas de la Pax 12", "Club de Madres Las Flores", "Club de Madres Las Flores", "¡¡ !!"]
    names += ["Olla Común Nueva Esperanza Jicamarca", "Comedor Popular Las Flores de Canto Rey 3", "Olla Común", "Comedor Popular"]
    entries = {UUID(int=pick.getrandbits(128)): name for name in names}
    keys = {osv_id: name_key(name) for osv_id, name in entries.items()}
    keys_backwards = dict(reversed(keys.items()))
    asked = [typed_again(pick.choice(names), pick) for _ in range(250)] + [lima_osv_name(pick) for _ in range(50)]
    asked += ["VECINOS DE LA PAZ 12", "club de madres las flores", "...", "Becinos de la Pas 12", "12 Vesinoz de la Paz"]  # just 90
    asked += ["Olla Comun Nueva Esperanza", "Las Flores 3", "Olla Común Jicamarca Nueva Esperanza de Zárate", "Olla Común Las Flores"]

    seen = dict.fromkeys(("found", "contained", "only_word_order", "numbers_differ", "one_name_twice", "just_90_in_order", "just_90_words_moved"), 0)
    for n, name in enumerate(asked):
        expected = name_by_name(name, entries, keys)
        assert possible_duplicates(name, entries, keys=keys) == expected, name
        if n % 10 == 0:
            assert possible_duplicates(name, entries) == expected, name  # the caller keeps no folded names
            assert possible_duplicates(name, entries, keys=keys_backwards) == expected, name  # ties in the order of entries still
        if expected:
            said_distinct = frozenset(pick.sample([d.osv_id for d in expected], k=pick.randint(1, len(expected))))
            said_distinct |= {UUID(int=pick.getrandbits(128))}  # an id not on the roll is no matter
            assert possible_duplicates(name, entries, said_distinct, keys=keys) == name_by_name(name, entries, keys, said_distinct), name

        key = name_key(name)
        seen["found"] += bool(expected)
        seen["contained"] += any(d.score < NEAR_NAME_SCORE for d in expected)
        seen["only_word_order"] += any(fuzz.ratio(key, name_key(d.name)) < NEAR_NAME_SCORE for d in expected)
        seen["just_90_in_order"] += any(fuzz.ratio(key, name_key(d.name)) == d.score == NEAR_NAME_SCORE for d in expected)
        seen["just_90_words_moved"] += any(fuzz.ratio(key, name_key(d.name)) < d.score == NEAR_NAME_SCORE for d in expected)
        seen["one_name_twice"] += len({d.name for d in expected}) < len(expected)
        seen["numbers_differ"] += not seen["numbers_differ"] and any(
            key_resemblance(key, other) == 0 and max(fuzz.ratio(key, other), fuzz.token_sort_ratio(key, other)) >= NEAR_NAME_SCORE
            for other in keys.values()
        )
    # the names asked cover each way a name is near another, or only looks near
    assert seen["found"] >= 150 and all(seen.values()), seen


def test_a_name_whose_number_differs_is_no_duplicate_however_alike_the_rest() -> None:
    first, second = UUID(int=1), UUID(int=2)
    entries = {first: "Comedor Popular Virgen de Guadalupe N.º 1", second: "Olla Común Santa Rosa"}
    asked = "Comedor Popular Virgen de Guadalupe N.º 2"
    assert fuzz.ratio(name_key(asked), name_key(entries[first])) >= NEAR_NAME_SCORE  # one scan does put it forward

    assert possible_duplicates(asked, entries) == []
    DistrictRoll(district="Comas", entries={str(k): v for k, v in entries.items()}).check_new(asked)
    assert possible_duplicates("COMEDOR POPULAR VIRGEN DE GUADALUPE N.º 1", entries) == [
        PossibleDuplicate(first, entries[first], 100.0)
    ]


@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("Comedor Popular N.º 1", "Comedor Popular 1"),
        ("Comedor Popular Nº1", "Comedor Popular 1"),
        ("Comedor Popular N° 1", "Comedor Popular 1"),
        ("Comedor Popular No. 1", "Comedor Popular 1"),
        ("Comedor Popular Nro. 1", "Comedor Popular 1"),
        ("Comedor Popular Núm. 1", "Comedor Popular 1"),
        ("Comedor Popular Número 1", "Comedor Popular 1"),
        ("Comedor Popular # 1", "Comedor Popular 1"),
        ("Asoc. de Vecinos Zárate", "Asociación de Vecinos Zárate"),
        ("ASOC DE VECINOS ZARATE", "Asociación de Vecinos Zárate"),
        ("Org. de Mujeres Las Flores", "Organización de Mujeres Las Flores"),
        ("Olla Común AA.HH. Huáscar", "Olla Común Asentamiento Humano Huáscar"),
        ("AAHH Huáscar Olla Común", "Asentamiento Humano Huáscar Olla Común"),
        ("A.A.H.H. Huáscar Olla Común", "Asentamiento Humano Huáscar Olla Común"),
        ("A.H. Huáscar Olla Común", "Asentamiento Humano Huáscar Olla Común"),
        ("Comedor Sr. de los Milagros", "Comedor Señor de los Milagros"),
        ("Club de Madres Sta. Rosa", "Club de Madres Santa Rosa"),
    ],
)
def test_a_number_sign_before_a_number_is_read_as_nothing_and_an_abbreviation_as_its_word(written: str, plain: str) -> None:
    assert name_key(written) == name_key(plain)
    assert possible_duplicates(written, {UUID(int=1): plain}) == [PossibleDuplicate(UUID(int=1), plain, 100.0)]


@pytest.mark.parametrize(
    ("typed", "mapped"),
    [
        ("Оllа Cоmún Lоs Girаsоles", "Olla Común Los Girasoles"),  # Cyrillic О, а, о: the same on every screen
        ("Comedor Sаntа Rоsа", "Comedor Santa Rosa"),
        ("Club de Μadres Νueva Εsperanza", "Club de Madres Nueva Esperanza"),  # Greek Μ, Ν, Ε
    ],
)
def test_letters_of_another_alphabet_that_look_latin_are_read_as_the_latin_ones(typed: str, mapped: str) -> None:
    assert name_key(typed) == name_key(mapped)
    assert possible_duplicates(typed, {UUID(int=1): mapped}) == [PossibleDuplicate(UUID(int=1), mapped, 100.0)]


def test_only_the_comparison_reads_signs_and_abbreviations_and_numbers_still_tell_names_apart() -> None:
    assert name_key("Comedor Popular N.º 1") != name_key("Comedor Popular N.º 2")
    assert possible_duplicates("Comedor Popular N.º 2", {UUID(int=1): "Comedor Popular Nº 1"}) == []
    assert possible_duplicates("Asoc. Vecinos N.º 2", {UUID(int=1): "Asociación Vecinos 12"}) == []
    # a word that only starts like a sign or an abbreviation, or a letter not before a number, is left as it is
    assert name_key("Plan 2 Norte Nuevo Orgullo Asociados Sra") == "plan 2 norte nuevo orgullo asociados senora"
    assert name_key("No Hay Hambre Nro Uno") == "no hay hambre nro uno"
    assert set(map(name_key, ABBREVIATIONS.values())) == set(ABBREVIATIONS.values())  # the words are folded already


@pytest.mark.parametrize("name", ["!!!", "🙂", "—", "...", "¿?", "_", " "])
def test_a_name_with_no_letter_or_digit_is_refused(name: str) -> None:
    assert not has_letter_or_digit(name)
    with pytest.raises(NameWithoutLettersError) as refused:
        check_name(name)
    assert (refused.value.field, refused.value.rule) == ("name", "name_has_letters")
    for good in ("Nº 7", "7", "Ñ", "北京"):
        check_name(good)


def test_a_merged_name_on_the_roll_names_its_survivor_once_at_its_best_score() -> None:
    a, b, c, other = UUID(int=1), UUID(int=2), UUID(int=3), UUID(int=4)
    roll = DistrictRoll(district="San Juan de Lurigancho", entries={str(a): "Olla Común Los Girasoles", str(b): "Olla Común Girasoles"})
    roll.add(c, "Comedor Popular Girasoles")
    roll.keep_merged(a, into_osv_id=b)
    roll.keep_merged(b, into_osv_id=c)  # a chain, on this roll

    assert roll.duplicates_of("OLLA COMUN LOS GIRASOLES") == [PossibleDuplicate(c, "Olla Común Los Girasoles", 100.0)]
    assert roll.duplicates_of("Olla Común Girasoles") == [PossibleDuplicate(c, "Olla Común Girasoles", 100.0)]
    assert roll.duplicates_of("Olla Común Girasoles", distinct_from=[c]) == []
    # a survivor merged since into an OSV of another district: the caller follows it
    assert roll.duplicates_of("Olla Común Los Girasoles", survivor_of={c: other}.get) == [PossibleDuplicate(other, "Olla Común Los Girasoles", 100.0)]
    assert (roll.entries, roll.merged_names) == ({c: "Comedor Popular Girasoles"}, {a: "Olla Común Los Girasoles", b: "Olla Común Girasoles"})


def test_an_osvs_name_corrected_is_what_the_roll_compares_a_new_osv_with_and_replays_so() -> None:
    a, b = UUID(int=1), UUID(int=2)
    roll = DistrictRoll(district="Comas", entries={str(a): "Club de Madres Las Flores", str(b): "Comite Vecinal Los Jasmines"})
    roll.correct_name(b, "Comité Vecinal Los Jazmines")
    roll.correct_name(UUID(int=9), "Not on this roll")  # an OSV of another district's roll: nothing here

    assert roll.duplicates_of("Comite Vecinal Los Jazmines") == [PossibleDuplicate(b, "Comité Vecinal Los Jazmines", 100.0)]
    assert roll.duplicates_of("Comité Vecinal Los Jazmines", distinct_from=[b]) == []  # the OSV itself, when it is corrected
    replayed = project_events(None, roll.collect_events())
    assert (replayed.entries, replayed.keys) == (roll.entries, roll.keys)
    assert replayed.entries == {a: "Club de Madres Las Flores", b: "Comité Vecinal Los Jazmines"}


def test_a_name_before_a_correction_stays_on_the_roll_as_a_name_of_the_osv_and_follows_it_into_a_merge() -> None:
    a, c = UUID(int=1), UUID(int=3)
    roll = DistrictRoll(district="Comas", entries={str(a): "OSV Unión y Fuerza Venezolana", str(c): "Olla Común Santa Rosa"})
    roll.keep_former(a, "OSV Unión y Fuerza Venezolana")  # the provisional name, kept as the command keeps it
    roll.correct_name(a, "Asociación de Migrantes Renacer de Comas")

    assert roll.duplicates_of("OSV Union y Fuerza Venezolana") == [PossibleDuplicate(a, "OSV Unión y Fuerza Venezolana", 100.0)]
    assert roll.duplicates_of("OSV Union y Fuerza Venezolana", distinct_from=[a]) == []
    replayed = project_events(None, roll.collect_events())
    assert (replayed.entries, replayed.merged_names, replayed.merged_into) == (roll.entries, roll.merged_names, roll.merged_into)
    # merged later into another OSV, its former name names that one, as its own name does
    roll.keep_merged(a, c)
    assert [d.osv_id for d in roll.duplicates_of("OSV Unión y Fuerza Venezolana")] == [c]


def test_a_roll_replays_merges_recorded_before_merged_names_were_kept_as_it_did() -> None:
    """``OSVUnlisted`` (stores written before ``MergedNameKept``) still forgets the name; merges after it keep theirs."""
    a, b, c = UUID(int=1), UUID(int=2), UUID(int=3)
    roll = DistrictRoll(district="Comas", entries={str(a): "Club de Madres Las Flores", str(b): "Vecinos de Collique", str(c): "Mujeres Emprendedoras"})
    roll.unlist(a)
    roll.keep_merged(b, into_osv_id=c)
    replayed = project_events(None, roll.collect_events())
    restored = KeptSnapshot.take(replayed).mutate(None)

    for read in (replayed, restored):
        assert read.duplicates_of("Club de Madres Las Flores") == []
        assert [d.osv_id for d in read.duplicates_of("VECINOS DE COLLIQUE")] == [c]
        assert (read.merged_keys, read.merged_into) == ({b: "vecinos de collique"}, {b: c})


def test_a_name_equal_to_a_survivors_and_to_a_record_merged_into_it_names_the_survivor_by_its_own_name() -> None:
    survivor, duplicate = UUID(int=1), UUID(int=2)
    roll = DistrictRoll(district="Breña", entries={str(survivor): "Asociación Cultural Venezuela en Breña", str(duplicate): "Asoc. Cultural Venezuela en Breña"})
    roll.keep_merged(duplicate, into_osv_id=survivor)
    assert roll.duplicates_of("Asociación Cultural Venezuela en Breña") == [
        PossibleDuplicate(survivor, "Asociación Cultural Venezuela en Breña", 100.0)
    ]


# A name shortened or lengthened (tester 296 F2) ------------------------------------------------------------------------

SJL_ROLL = {
    UUID(int=1): "Olla Común Nueva Esperanza Jicamarca",
    UUID(int=2): "Comedor Popular Las Flores de Canto Rey",
    UUID(int=3): "Club Deportivo Vinotinto",
    UUID(int=4): "Asociación de Migrantes Unidos de Zárate",
    UUID(int=5): "Comedor Popular Los Olivos",
}


@pytest.mark.parametrize(
    ("sent", "osv"),
    [
        ("Olla Comun Nueva Esperanza", 1),  # a place left out
        ("Comedor Popular Las Flores", 2),  # "de Canto Rey" left out
        ("Comedor Las Flores", 2),  # "Popular" and the place left out
        ("Nueva Esperanza Jicamarca", 1),  # the kind left out
        ("Olla Común Nueva Esperanza Jicamarca de SJL", 1),  # words added
        ("Club Deportivo Vinotinto", 3),  # the same name, as before
        ("Asoc. de Migrantes Unidos de Zarate", 4),
    ],
)
def test_a_name_that_is_an_osvs_with_words_left_out_or_added_is_a_possible_duplicate(sent: str, osv: int) -> None:
    assert [d.osv_id for d in possible_duplicates(sent, SJL_ROLL)] == [UUID(int=osv)]
    with pytest.raises(PossibleDuplicateError):
        DistrictRoll(district="San Juan de Lurigancho", entries={str(k): v for k, v in SJL_ROLL.items()}).check_new(sent)


@pytest.mark.parametrize(
    "sent",
    [
        "Comedor Popular Las Flores Del Sur",  # both add words: another organisation
        "Comedor Popular Los Jazmines",
        "Club Deportivo Las Flores",  # another kind of organisation with the same name
        "Olla Común",  # generic words only: in every olla común's name
        "Comedor Popular",
        "Comedor Popular Las Flores de Canto Rey 2",  # numbers differ
        "Asociación de Migrantes",
    ],
)
def test_names_that_share_only_generic_words_or_differ_in_words_or_numbers_are_not_duplicates(sent: str) -> None:
    assert possible_duplicates(sent, SJL_ROLL) == []
    assert not contained(name_key("Comedor Popular Las Flores"), name_key("Comedor Popular Los Olivos"))
    assert not contained(name_key("Olla Común"), name_key("Olla Común Nueva Esperanza"))
    assert not contained(name_key("Olla Común Nueva Esperanza"), name_key("Olla Común"))


def test_a_contained_name_ranks_after_the_same_and_the_near_ones() -> None:
    entries = {UUID(int=1): "Olla Común Nueva Esperanza Jicamarca", UUID(int=2): "Olla Común Nueva Esperanza"}
    found = possible_duplicates("OLLA COMUN NUEVA ESPERANZA", entries)
    assert [(d.osv_id, d.score) for d in found][0] == (UUID(int=2), 100.0)
    assert found[1].osv_id == UUID(int=1) and found[1].score < NEAR_NAME_SCORE
    assert possible_duplicates("Olla Común Nueva Esperanza", entries, distinct_from=[UUID(int=1), UUID(int=2)]) == []


def test_the_rolls_word_index_follows_its_names_and_replays_so() -> None:
    a, b, c, d = UUID(int=1), UUID(int=2), UUID(int=3), UUID(int=4)
    roll = DistrictRoll(district="Comas", entries={str(a): "Comedor Popular Las Flores de Collique", str(b): "Olla Común Santa Rosa"})
    roll.add(c, "Club de Madres Micaela Bastidas")
    roll.keep_former(b, "Olla Común Santa Rosa")
    roll.correct_name(b, "Olla Común Virgen de Guadalupe")
    roll.keep_merged(a, into_osv_id=c)
    roll.add(d, "Junta Vecinal Arco Iris")
    roll.unlist(d)

    assert roll.index == words_index({**roll.keys, **roll.merged_keys})
    assert [x.osv_id for x in roll.duplicates_of("Comedor Las Flores")] == [c]  # the merged name names its survivor
    assert [x.osv_id for x in roll.duplicates_of("Olla Común Santa Rosa de Lima")] == [b]  # the name before the correction
    assert [x.osv_id for x in roll.duplicates_of("Olla Común Guadalupe")] == [b]
    assert roll.duplicates_of("Arco Iris") == []
    replayed = project_events(None, roll.collect_events())
    restored = KeptSnapshot.take(replayed).mutate(None)
    assert replayed.index == restored.index == roll.index
