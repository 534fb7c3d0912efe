"""Possible duplicate OSVs: the same organisation mapped twice. Pure.

Two promoters meet the same organisation, or one types its name again in
capitals and without accents: "Asociación de Vecinos Unidos por Zárate" and
"ASOCIACION DE VECINOS UNIDOS POR ZARATE" in San Juan de Lurigancho are one
OSV. Each district keeps a roll of its OSVs' names (:class:`DistrictRoll`);
a new name that folds to one on the roll, comes near one (rapidfuzz), or is
one shortened or lengthened ("Olla Común Nueva Esperanza" beside "Olla Común
Nueva Esperanza Jicamarca": :func:`contained`) is a possible duplicate and is
refused unless the request says it is distinct from those OSVs. A roll is saved in the same transaction as the OSV it
lists, so two requests mapping the same name at once cannot both pass.

Names are compared in a folded form (:func:`name_key`: "N.º 1" is "1",
"Asoc." is "asociacion"), never stored or shown. An OSV merged into another
keeps its name on its district's roll as a name of the survivor
(:meth:`DistrictRoll.keep_merged`): typing it again names the survivor.
A name with no letter or digit names nothing (:func:`check_name`, 422).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from rapidfuzz import fuzz, process
from unidecode import unidecode

from shared.districts import fold
from shared.errors import ConflictError, RuleViolationError
from shared.letters import has_name_letter_or_digit

NEAR_NAME_SCORE = 90.0
"""The least rapidfuzz score (0–100, the better of plain and word-order-free ratios) of a near match."""


@dataclass(frozen=True)
class PossibleDuplicate:
    osv_id: UUID
    name: str
    score: float
    """100 when the folded names are equal; at least :data:`NEAR_NAME_SCORE` when near; less for a name only
    :func:`contained` in the other (its :func:`key_resemblance`, whatever it is)."""


ABBREVIATIONS: Mapping[str, str] = {
    "asoc": "asociacion",
    "org": "organizacion",
    "coop": "cooperativa",
    "aa hh": "asentamiento humano",
    "aahh": "asentamiento humano",
    "a a h h": "asentamiento humano",
    "a h": "asentamiento humano",
    "urb": "urbanizacion",
    "sr": "senor",
    "sra": "senora",
    "sta": "santa",
    "sto": "santo",
}
"""The abbreviations promoters in Lima write in OSV names (folded: "Asoc." is ``asoc``, "AA.HH." ``aa hh``) → the words
they stand for, folded. Only those that stand for one word in an OSV's name: "Asoc. de Vecinos", "Org. de Mujeres",
"Coop. de Vivienda", "AA.HH. Huáscar" (also "AAHH", "A.A.H.H." and the singular "A.H."), "Urb. Zárate", "Sr. de los Milagros", "Sta. Rosa", "Sto. Domingo"; not
"Soc." (social or sociedad) nor a place's own abbreviation ("SJL")."""

_ABBREVIATED = re.compile(r"\b(?:" + "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")\b")

_NUMBER_SIGN = re.compile(r"\b(?:numero|num|nro|n o|no|n) ?(?=\d)")
"""A number sign before a number, folded: "N.º 1", "Nº 1", "N° 1", "No. 1", "Nro. 1", "Núm. 1", "Número 1" ("#" folds to
nothing already). Read as nothing: "Comedor Popular N.º 1" is "Comedor Popular 1"."""


def name_key(name: str) -> str:
    """How OSV names are compared: case, accents, punctuation and spacing ignored, a number sign before a number
    ("N.º 1", "Nro. 1") read as nothing and an abbreviation of :data:`ABBREVIATIONS` ("Asoc.") as its word.

    Letters of other alphabets are read as the Latin ones they are written with (``unidecode``): "Оllа" typed with
    Cyrillic "О" and "а", which look the same on every screen and in every report, is "olla" (tester 154 F1).

    The comparison form only: an OSV keeps and shows its name as it was given. Its numbers are kept, so names whose
    numbers differ still differ (:func:`key_resemblance`). Words one space apart.
    """
    key = _NUMBER_SIGN.sub("", fold(unidecode(fold(name))))
    return _ABBREVIATED.sub(lambda m: ABBREVIATIONS[m.group()], key)


FUNCTION_WORDS = frozenset({"a", "al", "con", "de", "del", "e", "el", "en", "la", "las", "lo", "los", "para", "por", "y"})
"""Articles, prepositions and conjunctions, folded: left out when one name's words are looked for in another's
("Comedor Popular Flores" is in "Comedor Popular Las Flores de Canto Rey")."""

GENERIC_WORDS = frozenset({
    "asociacion", "organizacion", "cooperativa", "club", "deportivo", "comedor", "popular", "olla", "comun", "comite",
    "vaso", "leche", "junta", "vecinal", "vecinos", "madres", "damas", "mujeres", "red", "cultural", "migrantes",
    "venezolanos", "asentamiento", "humano", "osv",
})
"""The words, folded, of the kinds of organisation promoters in Lima write before a name ("Comedor Popular", "Olla
Común", "Club Deportivo", "Club de Madres", "Comité del Vaso de Leche", "Comité de Damas", "Red de Mujeres", "Junta
Vecinal", "Asociación de Vecinos", "Asociación Cultural", "Asociación de Migrantes Venezolanos", "AA.HH.", "OSV"): they
say what an OSV is, not which one. A name must hold a word that is neither one of these nor of
:data:`FUNCTION_WORDS` to be :func:`contained` in another: "Olla Común" is in every olla común's name."""


def contained(ka: str, kb: str) -> bool:
    """Whether one of two folded names (:func:`name_key`) is the other with words added: each word of the shorter but
    :data:`FUNCTION_WORDS` is among the other's, in any order, and one of them is not :data:`GENERIC_WORDS` ("Comedor
    Popular Las Flores" and "Comedor Popular Las Flores de Canto Rey"). Not so for "Comedor Popular Las Flores" and
    "Comedor Popular Los Olivos" (only generic words shared), "Club Deportivo Las Flores" and "Comedor Popular Las
    Flores" (another kind), nor "Olla Común" and "Olla Común Nueva Esperanza" (a name of generic words only).
    Numbers are words: "Comedor 1" is in "Comedor 1 Las Flores", never in "Comedor 12" (nor is anything whose numbers
    differ a duplicate: :func:`key_resemblance`)."""
    words_a, which_a = _words_of(ka)
    words_b, which_b = _words_of(kb)
    return bool(which_a and which_b) and (words_a <= words_b or words_b <= words_a)


@functools.lru_cache(maxsize=1 << 15)
def _words_of(key: str) -> tuple[frozenset[str], frozenset[str]]:
    """A folded name's words but :data:`FUNCTION_WORDS`, and those of them not :data:`GENERIC_WORDS` (its distinctive
    words, which :func:`words_index` lists it by). Kept for the most recent names, as :func:`_words_sorted` is."""
    words = frozenset(key.split()) - FUNCTION_WORDS
    return words, words - GENERIC_WORDS


def words_index(keys: Mapping[UUID, str]) -> dict[str, tuple[UUID, ...]]:
    """Distinctive word (:func:`_words_of`) → the ids of ``keys`` (id → :func:`name_key`) whose name has it, in the order
    of ``keys``: the names a name can be :func:`contained` in, or hold, share one of its distinctive words."""
    index: dict[str, tuple[UUID, ...]] = {}
    for osv_id, key in keys.items():
        for word in _words_of(key)[1]:
            index[word] = (*index.get(word, ()), osv_id)
    return index


def _contained_on_roll(key: str, keys: Mapping[UUID, str], index: Mapping[str, tuple[UUID, ...]]) -> set[UUID]:
    """The ids of ``keys`` whose name ``key`` is :func:`contained` in or holds, looked up by ``key``'s distinctive words
    in ``index`` (:func:`words_index` of ``keys``, or of more names)."""
    words, which = _words_of(key)
    found = set()
    for osv_id in {osv_id for word in which for osv_id in index.get(word, ())}:
        other = keys.get(osv_id)
        if other is not None and ((others := _words_of(other)[0]) <= words or words <= others):  # both have words of `which`
            found.add(osv_id)
    return found


def has_letter_or_digit(name: str) -> bool:
    """Whether ``name`` has a letter or a digit: one made of signs only ("!!!", "🙂", "—"), or of modifier letters and
    ordinal signs only (``ʼʼ``, ``ª``, ``ⁿ``: tester 206 F1), names no organisation (:mod:`shared.letters`)."""
    return has_name_letter_or_digit(name)


class NameWithoutLettersError(RuleViolationError):
    """422 ``name_has_letters``: an OSV's name has no letter and no digit."""

    def __init__(self, name: str, field: str = "name") -> None:
        super().__init__(f"an OSV's name needs a letter or a digit, not {name!r}", field=field, rule="name_has_letters")


def check_name(name: str, field: str = "name") -> None:
    """Raises :class:`NameWithoutLettersError` (422 ``name_has_letters`` naming ``field``) for a name with no letter or digit."""
    if not has_letter_or_digit(name):
        raise NameWithoutLettersError(name, field)


def resemblance(a: str, b: str) -> float:
    """0–100: how alike two OSV names are (100 when they fold to the same text).

    Names whose numbers differ are different organisations however alike the
    rest ("Comedor Popular N.º 1" and "N.º 2"): they score 0.
    """
    return key_resemblance(name_key(a), name_key(b))


_NUMBERS = re.compile(r"\d+")


def key_resemblance(ka: str, kb: str) -> float:
    """:func:`resemblance` of two names already folded (:func:`name_key`)."""
    if ka == kb:
        return 100.0
    if _NUMBERS.findall(ka) != _NUMBERS.findall(kb):
        return 0.0
    return max(fuzz.ratio(ka, kb), fuzz.token_sort_ratio(ka, kb))


def possible_duplicates(
    name: str, entries: Mapping[UUID, str], distinct_from: Iterable[UUID] = (), keys: Mapping[UUID, str] | None = None,
    index: Mapping[str, tuple[UUID, ...]] | None = None,
) -> list[PossibleDuplicate]:
    """The OSVs of ``entries`` (id → name) whose name is the same as ``name``, near it or :func:`contained` in it or it in
    theirs, best first, leaving out ``distinct_from``.

    Each scores :func:`key_resemblance` (0–100) of the folded names, at least :data:`NEAR_NAME_SCORE` unless contained;
    names whose numbers differ are never duplicates. Best first is by score falling, then by name, then in the order of
    ``entries``. ``keys`` (id → :func:`name_key` of its name, the same ids as ``entries``) and ``index``
    (:func:`words_index` of those keys, or of more), when the caller keeps them: only ``name`` is folded then.

    The roll is scanned in C by rapidfuzz's batch scorer (``process.extract`` with ``score_cutoff``), not name by
    name in Python: a folded name scores :data:`NEAR_NAME_SCORE` or more only if its plain ratio or its
    word-order-free ratio does (an equal one has a ratio of 100), so two scans find every candidate, the second
    one over the names with their words in order (:func:`_words_sorted`); the numbers rule and the exact score
    of :func:`key_resemblance` are then worked out for those few only. Contained names are looked up by ``name``'s
    distinctive words in ``index``, not scanned for (rapidfuzz's ``token_set_ratio`` over the roll cost 240 µs).
    """
    key = name_key(name)
    if keys is None:
        keys = {osv_id: name_key(other) for osv_id, other in entries.items()}
    if index is None:
        index = words_index(keys)
    others = list(keys.values())
    near = {
        at for _, _, at in process.extract(key, others, scorer=fuzz.ratio, processor=None, limit=None, score_cutoff=NEAR_NAME_SCORE)
    }
    words_sorted = list(map(_words_sorted, others))  # token_sort_ratio sorts each name's words on every call; these are kept
    near.update(
        at
        for _, _, at in process.extract(
            _words_sorted(key), words_sorted, scorer=fuzz.ratio, processor=None, limit=None, score_cutoff=NEAR_NAME_SCORE
        )
    )
    ids = list(keys)
    within = _contained_on_roll(key, keys, index)
    if not near and not within:
        return []
    numbers = _NUMBERS.findall(key)
    skip = set(distinct_from) if distinct_from else ()
    found = [
        PossibleDuplicate(osv_id, entries[osv_id], score)
        for osv_id in {ids[at] for at in near} | within
        if _NUMBERS.findall(other := keys[osv_id]) == numbers  # key_resemblance's rule: numbers first, then the exact score
        and ((score := 100.0 if other == key else max(fuzz.ratio(key, other), fuzz.token_sort_ratio(key, other))) >= NEAR_NAME_SCORE
             or osv_id in within)
        and osv_id not in skip
    ]
    found.sort(key=lambda d: (-d.score, d.name))
    if any(a.score == b.score and a.name == b.name for a, b in itertools.pairwise(found)):  # one name on the roll twice
        position = {osv_id: n for n, osv_id in enumerate(entries)}
        found.sort(key=lambda d: (-d.score, d.name, position[d.osv_id]))
    return found


@functools.lru_cache(maxsize=1 << 15)
def _words_sorted(key: str) -> str:
    """A folded name (:func:`name_key`: words one space apart) with its words in order: rapidfuzz's ``token_sort_ratio`` of
    two folded names is ``ratio`` of these. Kept for the most recent names (about 32,000 of them, a few MB)."""
    return " ".join(sorted(key.split()))


class PossibleDuplicateError(ConflictError):
    """409 ``possible_duplicate``: the problem names each OSV that may be the same organisation."""

    def __init__(self, district: str, duplicates: list[PossibleDuplicate], *, correcting: UUID | None = None) -> None:
        """``correcting``: the OSV whose name is being corrected (not a new one): if it is the same organisation as one
        named, the two records are merged, not renamed alike."""
        named = "; ".join(f"{d.osv_id} ({d.name})" for d in duplicates)
        same = (
            f"merge the two records (POST /osvs/<the one to keep>/merges with the other as duplicate_id) rather than give {correcting} its name"
            if correcting is not None else "use that OSV"
        )
        super().__init__(
            f"{district} already has an OSV with this name, one very like it, or one that is this name with words added or "
            f"left out: {named}. If it is another "
            f'organisation, send the request again with "distinct_from": [<those ids>]; if it is the same, {same}',
            field="name",
            rule="possible_duplicate",
        )
        self.duplicates = duplicates
        self.extensions = {"possible_duplicates": [{"osv_id": str(d.osv_id), "name": d.name} for d in duplicates]}


class DistrictRoll(Aggregate):
    """The names of one district's OSVs, so that a new OSV is compared with them (registry's bookkeeping, never published)."""

    FLAT_COPIED = ("entries", "keys", "merged_names", "merged_keys", "merged_into", "index")
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

    @staticmethod
    def create_id(district: str, **_: object) -> UUID:
        return DistrictRoll.id_for(district)

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def id_for(district: str) -> UUID:
        """The roll's id, from the district's name (worked out once per district: every mapping asks it)."""
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:district-roll:{district}")

    @event("DistrictRollOpened")
    def __init__(self, district: str, entries: dict[str, str]) -> None:
        """``entries`` (OSV id → name): the district's OSVs mapped before the roll was kept."""
        self.district = district
        self.entries: dict[UUID, str] = {UUID(k): v for k, v in entries.items()}
        self.keys: dict[UUID, str] = {osv_id: name_key(v) for osv_id, v in self.entries.items()}
        """Each entry's name folded (:func:`name_key`), kept with it: a check folds only the new name."""
        self.merged_names: dict[UUID, str] = {}
        """The names of the district's OSVs merged into another since :meth:`keep_merged` (merged OSV id → its name):
        names of the organisation that survived, still compared with a new OSV."""
        self.merged_keys: dict[UUID, str] = {}
        """Each merged name folded (:func:`name_key`)."""
        self.merged_into: dict[UUID, UUID] = {}
        """Merged OSV id → the OSV it was merged into, as recorded then (that one may have been merged since)."""
        self.index: dict[str, tuple[UUID, ...]] = words_index(self.keys)
        """:func:`words_index` of :attr:`keys` and :attr:`merged_keys` together, kept with them: a check looks up the
        names a new one may be :func:`contained` in by its distinctive words, not by scanning the roll."""

    def _index(self, osv_id: UUID, key: str) -> None:
        for word in _words_of(key)[1]:
            listed = self.index.get(word, ())
            if osv_id not in listed:
                self.index[word] = (*listed, osv_id)

    def _unindex(self, osv_id: UUID, key: str) -> None:
        for word in _words_of(key)[1]:
            left = tuple(i for i in self.index.get(word, ()) if i != osv_id)
            if left:
                self.index[word] = left
            else:
                self.index.pop(word, None)

    def check_new(
        self, name: str, distinct_from: Iterable[UUID] = (), survivor_of: Callable[[UUID], UUID] | None = None,
        correcting: UUID | None = None,
    ) -> None:
        """A new OSV called ``name`` (or ``correcting``, an OSV whose name is corrected to it) is no possible duplicate of
        one on the roll (but those it is said to be distinct from).

        Raises :class:`PossibleDuplicateError` (409) naming the OSVs of :meth:`duplicates_of`.
        """
        duplicates = self.duplicates_of(name, distinct_from, survivor_of)
        if duplicates:
            raise PossibleDuplicateError(self.district, duplicates, correcting=correcting)

    def duplicates_of(
        self, name: str, distinct_from: Iterable[UUID] = (), survivor_of: Callable[[UUID], UUID] | None = None
    ) -> list[PossibleDuplicate]:
        """:func:`possible_duplicates` of ``name`` on the roll, a merged OSV's name among them as a name of its survivor.

        A merged name that matches names the OSV it was merged into (followed along later merges: those this roll
        recorded, then ``survivor_of``, OSV id → the OSV it was last merged into or itself, for a survivor of another
        district), with the name that matched; each survivor once, at its best score. ``distinct_from`` leaves out a
        survivor named there (or a merged OSV named there by its own id).
        """
        if not self.merged_names:
            return possible_duplicates(name, self.entries, distinct_from, keys=self.keys, index=self.index)
        found = possible_duplicates(
            name, {**self.entries, **self.merged_names}, keys={**self.keys, **self.merged_keys}, index=self.index
        )
        # at one score, the survivor's own name first: "Asociación Cultural…" sent, it was named by a merged record's
        # "Asoc. Cultural…", which folds alike and sorts first (tester 158)
        found.sort(key=lambda d: (-d.score, d.osv_id in self.merged_into))
        skip = set(distinct_from)
        named: dict[UUID, PossibleDuplicate] = {}
        for d in found:  # best first: the first of a survivor is its best
            survivor = d.osv_id
            if survivor in self.merged_into:
                seen = {survivor}
                while (survivor := self.merged_into[survivor]) in self.merged_into and survivor not in seen:
                    seen.add(survivor)
                if survivor_of is not None:
                    survivor = survivor_of(survivor)
            if d.osv_id not in skip and survivor not in skip and survivor not in named:
                named[survivor] = PossibleDuplicate(survivor, d.name, d.score)
        return list(named.values())

    @staticmethod
    def check_names(district: str, entries: Mapping[UUID, str] | Mapping[str, str], name: str, distinct_from: Iterable[UUID] = ()) -> None:
        """409 :class:`PossibleDuplicateError` when ``name`` is the same as or near one of ``entries`` (OSV id → name) not in ``distinct_from``."""
        duplicates = possible_duplicates(name, {UUID(str(k)): v for k, v in entries.items()}, distinct_from)
        if duplicates:
            raise PossibleDuplicateError(district, duplicates)

    @event("OSVListed")
    def add(self, osv_id: UUID, name: str) -> None:
        self.entries[osv_id] = name
        self.keys[osv_id] = name_key(name)
        self._index(osv_id, self.keys[osv_id])

    @event("NameCorrected")
    def correct_name(self, osv_id: UUID, name: str) -> None:
        """An OSV's name was corrected (:class:`~.naming.NameCorrections`): the roll compares a new OSV with the name it has
        now (and with the one before, kept by :meth:`keep_former`)."""
        if osv_id in self.entries:
            self._unindex(osv_id, self.keys[osv_id])
            self.entries[osv_id] = name
            self.keys[osv_id] = name_key(name)
            self._index(osv_id, self.keys[osv_id])

    @staticmethod
    def former_name_id(osv_id: UUID, name: str) -> UUID:
        """The roll's id for a name ``osv_id`` had before a correction (kept as a merged name is, pointing to the OSV)."""
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:registry:former-name:{osv_id}:{name_key(name)}")

    @event("FormerNameKept")
    def keep_former(self, osv_id: UUID, name: str) -> None:
        """A name ``osv_id`` had before a correction stays on the roll as a name of that OSV, as a merged record's does
        (:meth:`keep_merged`): a provisional name, or the one on the field's paper lists, mapped again is a possible
        duplicate of it (tester 154 F3). Recorded beside :meth:`correct_name` since this was kept."""
        former = self.former_name_id(osv_id, name)
        self.merged_names[former] = name
        self.merged_keys[former] = name_key(name)
        self.merged_into[former] = osv_id
        self._index(former, self.merged_keys[former])

    @event("OSVUnlisted")
    def unlist(self, osv_id: UUID) -> None:
        """A duplicate merged into another OSV left the roll, its name forgotten: how merges were recorded before
        :meth:`keep_merged` (replayed as it was then; no longer recorded)."""
        self.entries.pop(osv_id, None)
        key = self.keys.pop(osv_id, None)
        if key is not None:
            self._unindex(osv_id, key)

    @event("MergedNameKept")
    def keep_merged(self, osv_id: UUID, into_osv_id: UUID) -> None:
        """A duplicate merged into another OSV leaves the roll as an OSV, and its name stays on it as a name of the OSV it
        was merged into (``into_osv_id``, of this district or another): a new OSV of that name is a possible duplicate of
        the survivor (:meth:`duplicates_of`)."""
        name = self.entries.pop(osv_id, None)
        key = self.keys.pop(osv_id, None)
        if name is not None and key is not None:
            self.merged_names[osv_id] = name
            self.merged_keys[osv_id] = key  # :attr:`index` lists it still, under the same id
        self.merged_into[osv_id] = into_osv_id
