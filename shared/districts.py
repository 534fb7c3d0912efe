"""The districts of Lima Metropolitana and their zones: reference data read from ``data/districts.json``.

Staff type district names as registers and people write them: "Brena",
"SJL", "LIMA CERCADO", "EL RIMAC", "Magdalena Vieja" (Pueblo Libre's old
name), "San Martin de Porras"; forms send the INEI ubigeo ("150132").
Matching ignores case, accents, punctuation, repeated spaces, a leading
article and a leading "Distrito de"; what is left must then be a district's
name or one of its aliases exactly. A near miss is never taken for a district
("San Juan de Lurigancho Alto" is not San Juan de Lurigancho, whose OSVs,
focal point and partner it would get): it is refused (422 ``lima_district``)
naming the districts it is near (scored with rapidfuzz). A name the field
uses for more than one place (the file's ``ambiguous``: "Santa María" is
Santa María del Mar, or Santa María de Huachipa in Lurigancho) is refused
naming the districts it may mean, and a zone's name ("Lima Norte") naming the
zone's districts (it is not a near miss of the district Lima). Another
programme's file (Trujillo's) gets the same: its zones' shared first word is
its province's ("Zona Trujillo Norte" is a zone, "Trujillo Oeste" no near miss
of Trujillo), and refusals name the file's ``area`` ("Lima Metropolitana"
when it does not say; the rules stay ``lima_district`` and ``lima_zone``).

The list is data, with its source and the day it is in force from: each
district may carry ``valid_from`` / ``valid_until`` and the law that created
it, so a district created by law is added to the file (or to the file a
service's ``districts_file`` setting names) without a code change. A file is
checked as it is read (:class:`DistrictsDocument`: each district's fields,
one ubigeo and one name or alias per district, ``ambiguous`` naming districts
of the file) and refused in one line naming the setting, the file, the
district and the rule (:class:`DistrictsFileError`).

Records name a district by its name, and each service finds the district
again in its own table to place them (a focal point's scope, an event's
municipality, a ubigeo). A service whose table lacks a district its records
are in refuses to start (:func:`refuse_lacking`); one that meets such a
record while running refuses to record more about it
(:class:`DistrictNotInTableError`, 503) and says so in its log and ``/health``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from rapidfuzz import fuzz, process

from shared.errors import MisconfiguredError, RuleViolationError, StartupRefusedError

NEAR_SCORE = 80.0
"""The least rapidfuzz ratio (0–100) at which a refusal names a district as one a typed name is near (never taken for it)."""
NEAR_MOST = 3
"""The most districts a refusal names as near."""
NEAR_ZONE_SCORE = 90.0
"""The least rapidfuzz ratio at which a refusal names a zone as the one a typed name is near: zones' names differ by a
word ("Lima Este", "Lima Oeste" typed for none), so nearer than :data:`NEAR_SCORE`."""
ZONE_WORDS = frozenset({"norte", "sur", "este", "oeste", "centro"})
"""The words zones are told apart by (:func:`district_key`'s form), with those of a table's own zones
(:attr:`DistrictTable.zone_words`): a name holding one of them is near no zone named by another ("Lima Oeste" is not
"Lima Este", one letter away)."""
DEFAULT_AREA = "Lima Metropolitana"
"""The area a districts file without ``area`` is of (the shipped file's): refusals say "not a district of …"."""
_ARTICLES = ("el ", "la ", "los ", "las ")
_PREFIXES = ("municipalidad distrital de ", "municipalidad de ", "distrito de ", "distrito ")


@dataclass(frozen=True)
class District:
    ubigeo: str
    name: str
    zone: str
    valid_from: date | None = None
    """The day the law creating it took effect; None: before the list's ``effective_on``."""
    valid_until: date | None = None
    created_by: str | None = None

    def in_force_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_until is None or day <= self.valid_until)


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used to compare names (hyphens and punctuation are spaces)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain.lower()).split())


def district_key(text: str) -> str:
    """:func:`fold`, then without a leading "Distrito de" or "Municipalidad (Distrital) de" and a leading article."""
    key = fold(text)
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    for article in _ARTICLES:
        if key.startswith(article) and len(key) > len(article):
            return key[len(article):]
    return key


def _listed(districts: Iterable[District]) -> str:
    named = [f"{d.name} ({d.ubigeo})" for d in districts]
    return ", ".join(named[:-1]) + f" or {named[-1]}" if len(named) > 1 else "".join(named)


class UnknownDistrictError(RuleViolationError):
    """422 ``lima_district``: no district of Lima has that name, usual spelling or ubigeo; ``near``: the districts a
    typed name is near, named in the message (never taken for it)."""

    def __init__(self, given: str, near: Iterable[District] = (), area: str = DEFAULT_AREA) -> None:
        near = list(near)
        hint = f": did you mean {_listed(near)}? Give its name as written" if near else ""
        super().__init__(
            f"'{given}' is not a district of {area}{hint} (a district's name or a usual spelling, case, "
            "accents and spaces aside, or its INEI ubigeo, e.g. 150132)",
            field="district",
            rule="lima_district",
        )


class AmbiguousDistrictError(UnknownDistrictError):
    """422 ``lima_district``: a name the field uses for places in more than one district (the table's ``ambiguous``)."""

    def __init__(self, given: str, districts: Iterable[District], why: str | None = None) -> None:
        RuleViolationError.__init__(
            self,
            f"'{given}' may be {_listed(districts)}" + (f" ({why})" if why else "")
            + ": give the district's full name or its INEI ubigeo",
            field="district",
            rule="lima_district",
        )


class ZoneNotDistrictError(UnknownDistrictError):
    """422 ``lima_district``: the name of one of the programme's zones ("Lima Norte"), not of a district; the message names
    the zone's districts and ``area`` (the table's). A near miss of the district Lima, it was answered "did you mean Lima
    (150101)?", which sends an OSV of Comas to the Cercado (tester 171 F7); "Zona Trujillo Norte" likewise to Trujillo's
    (tester 314 F6)."""

    def __init__(self, given: str, zone: str, districts: Iterable[District], near: bool = False, area: str = DEFAULT_AREA) -> None:
        said = f"is not a district of {area}, and near its zone {zone}" if near else f"is a zone of {area} ({zone}), not a district"
        RuleViolationError.__init__(
            self,
            f"'{given}' {said}: give the district, by its name or its INEI ubigeo, one of {_listed(districts)}",
            field="district",
            rule="lima_district",
        )


class UnknownZoneError(RuleViolationError):
    """422 ``lima_zone``: none of the table's zones (named, with its ``area``)."""

    def __init__(self, given: str, zones: list[str], field: str = "zone", area: str = DEFAULT_AREA) -> None:
        super().__init__(f"'{given}' is not a zone of {area}: one of {', '.join(zones)}", field=field, rule="lima_zone")


class DistrictNotInForceError(RuleViolationError):
    def __init__(self, district: District, day: date, field: str = "district") -> None:
        span = f"from {district.valid_from.isoformat()}" if district.valid_from and day < district.valid_from else (
            f"until {district.valid_until.isoformat()}" if district.valid_until else "")
        law = f" ({district.created_by})" if district.created_by else ""
        super().__init__(
            f"the district {district.name} ({district.ubigeo}) exists {span}{law}, not on {day.isoformat()}",
            field=field,
            rule="district_in_force",
        )


class DistrictsFileError(ValueError):
    """A districts file that does not read as one: not JSON, a district without its name, ubigeo or zone, a ubigeo not of
    six digits, two districts with one ubigeo, one name (or alias) for two districts, an ``ambiguous`` entry naming a
    district the file lacks. ``str()`` is one line naming the setting, the file, the district, the field and the rule.

    Taken, such a file placed one district's OSVs and ubigeo look-ups under another, whose partner then received them
    (tester 314 F3), or crashed ``make run`` with a traceback (``KeyError: 'zone'``).
    """

    def __init__(self, problem: str, path: Path | None = None, setting: str | None = None) -> None:
        self.problem, self.path, self.setting = problem, path, setting
        where = f"the districts file {path}" if path is not None else "the districts table"
        super().__init__(f"{setting} is refused: {where}: {problem}" if setting else f"{where}: {problem}")

    @property
    def of_file(self) -> str:
        """The line without the setting ("the districts file …: …"), for a settings class that names it itself."""
        where = f"the districts file {self.path}" if self.path is not None else "the districts table"
        return f"{where}: {self.problem}"


def _a_name(text: str) -> str:
    if not fold(text):
        raise ValueError("it has no letter or digit")
    if text != text.strip():
        # "Trujillo Sur " was a zone of its own in every by-zone figure, one whose evidence found nothing (tester 318 F1)
        raise ValueError("it has spaces before or after it: remove them (a look-up would not find it as written)")
    return text


Name = Annotated[str, StringConstraints(min_length=1), AfterValidator(_a_name)]
"""A district's name, an alias, an ambiguous name: some letter or digit (what :func:`fold` keeps)."""
UBIGEO = re.compile(r"[0-9]{6}")
"""A district's INEI ubigeo, as a districts file gives it: six digits 0-9 (of Lima's province, 1501, in the shipped file).
Not ``\\d``, which pydantic's patterns and a role's match take for any script's digits ("１３０１０１": tester 318 F2)."""
DEPARTMENTS = range(1, 26)
"""INEI's department codes, a ubigeo's first two digits: 01 Amazonas to 25 Ucayali (07 is Callao)."""


def _a_district_ubigeo(ubigeo: str) -> str:
    """``ubigeo`` when it names a district: a department 01-25, a province and a district not 00 (``000000`` and a
    province's ``130100`` are none)."""
    if int(ubigeo[:2]) not in DEPARTMENTS or ubigeo[2:4] == "00" or ubigeo[4:] == "00":
        raise ValueError(
            f"{ubigeo} is no district's ubigeo: INEI's are a department 01-25, a province and a district, neither 00 (\"130105\")"
        )
    return ubigeo


class DistrictEntry(BaseModel):
    """One of the file's ``districts``: its INEI ubigeo (six digits, a string), official name, programme zone, the other
    spellings of its name (``aliases``) and, for a district created or ended by law, the days it is in force."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ubigeo: Annotated[str, StringConstraints(pattern=rf"^{UBIGEO.pattern}$"), AfterValidator(_a_district_ubigeo)]
    name: Name
    zone: Name
    valid_from: date | None = None
    valid_until: date | None = None
    created_by: str | None = None
    aliases: list[Name] = []

    @model_validator(mode="after")
    def _in_force_some_day(self) -> DistrictEntry:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError(f"valid_until {self.valid_until} is before valid_from {self.valid_from}")
        return self


class AmbiguousEntry(BaseModel):
    """One of the file's ``ambiguous``: a name the field uses for places in several districts (by their names), and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    districts: list[Name] = Field(min_length=2)
    why: str | None = None


class DistrictsDocument(BaseModel):
    """A districts file (``shared/data/districts.json``'s shape); ``description``, ``reviewed_on`` and ``how_to_change``
    are for people.
    ``area``: what the districts are of, as refusals name it ("not a district of Lima Metropolitana", "of Provincia de
    Trujillo"); :data:`DEFAULT_AREA` when the file does not say.

    Beyond each entry's shape, the cross-district rules: each district its own ubigeo; each name and alias (compared as
    :meth:`DistrictTable.find` compares them: :func:`fold`, :func:`district_key`) one district's only; an ambiguous name
    no district's name or alias, listing districts of the file by name."""

    model_config = ConfigDict(extra="forbid")

    districts: list[DistrictEntry] = Field(min_length=1)
    ambiguous: list[AmbiguousEntry] = []
    source: str | None = None
    effective_on: date | None = None
    area: Name = DEFAULT_AREA
    description: str | None = None
    reviewed_on: date | None = None
    how_to_change: str | None = None
    """For people: what the file is, when it was last checked against INEI's list, how to change it. Any other key is
    refused: a misspelt ``ambigous`` was read as no ambiguous names at all (tester 318)."""

    @model_validator(mode="after")
    def _one_district_per_ubigeo_and_name(self) -> DistrictsDocument:
        by_ubigeo: dict[str, DistrictEntry] = {}
        for d in self.districts:
            if (other := by_ubigeo.setdefault(d.ubigeo, d)) is not d:
                raise ValueError(f"the districts '{other.name}' and '{d.name}' have one ubigeo, {d.ubigeo}: each district has its own")
        named: dict[str, tuple[str, DistrictEntry]] = {}
        for d in self.districts:
            for said, text in [(f"the name of '{d.name}' ({d.ubigeo})", d.name)] + [
                (f"'{alias}', an alias of '{d.name}' ({d.ubigeo})", alias) for alias in d.aliases
            ]:
                for key in {fold(text), district_key(text)}:
                    other_said, other = named.setdefault(key, (said, d))
                    if other is not d:
                        raise ValueError(
                            f"{said} is {other_said} too, to a look-up (case, accents and a leading article aside): a name or "
                            "alias names one district; list a name the field uses for places in several districts under 'ambiguous'"
                        )
        names = {d.name for d in self.districts}
        for entry in self.ambiguous:
            if (unknown := [n for n in entry.districts if n not in names]):
                raise ValueError(
                    f"the ambiguous name '{entry.name}' lists '{unknown[0]}', which is no district's name in the file "
                    "(an ambiguous name lists districts by their names as written)"
                )
            if (found := named.get(fold(entry.name)) or named.get(district_key(entry.name))) is not None:
                raise ValueError(f"the ambiguous name '{entry.name}' is {found[0]}: a name is one district's, or ambiguous, not both")
        return self


def _refusal(error: ValidationError, document: Any) -> str:
    """The first of ``error``'s problems as a phrase naming the district (by its name when it has one), field and rule."""
    problems = error.errors()
    first = problems[0]
    loc, why = [str(part) for part in first["loc"]], str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    if not loc:  # the file's own: not an object, or a cross-district rule (its validator's message)
        return ("it is not a JSON object holding 'districts' (a list of districts)" if first["type"] == "model_type" else why) + more
    if len(loc) == 1 and first["type"] == "extra_forbidden":
        return f"it has the key '{loc[0]}', which no districts file has (its keys: {', '.join(DistrictsDocument.model_fields)}){more}"
    if len(loc) < 2 or loc[0] not in ("districts", "ambiguous") or not loc[1].isdigit():
        said = "is missing" if first["type"] == "missing" else f"is refused: {why}"
        return f"'{loc[0]}' {said}{more}"
    index, rest = int(loc[1]), loc[2:]
    rows = document.get(loc[0]) if isinstance(document, dict) else None
    row = rows[index] if isinstance(rows, list) and index < len(rows) else None
    kind, model = ("district", DistrictEntry) if loc[0] == "districts" else ("ambiguous name", AmbiguousEntry)
    name = row.get("name") if isinstance(row, dict) else None
    who = f"the {kind} '{name}'" if isinstance(name, str) and name else f"{kind} {index + 1} of '{loc[0]}'"
    field = ".".join(rest)
    if not rest:
        said = f"is refused: {why}"
    elif first["type"] == "missing":
        required = ", ".join(n for n, f in model.model_fields.items() if f.is_required())
        said = f"has no {field} (every {kind} has {required})"
    elif first["type"] == "extra_forbidden":
        said = f"has the field '{field}', which no {kind} has (its fields: {', '.join(model.model_fields)})"
    elif rest[0] == "ubigeo" and not isinstance(first["input"], str):
        said = f"has the ubigeo {first['input']!r}, not a string: write it in quotes (\"150132\"; a number loses a leading 0)"
    elif rest[0] == "ubigeo" and first["type"] == "string_pattern_mismatch":
        said = f"has the ubigeo {first['input']!r}, not six digits 0-9 (its INEI ubigeo, a string: \"150132\")"
    elif rest[0] == "ubigeo":
        said = f"has the ubigeo {first['input']!r}: {why}"
    else:
        said = f"has {field} {first['input']!r}: {why}"
    return f"{who} {said}{more}"


class DistrictTable:
    """Looks districts up by any of their names; knows the list's source and the day it is in force from."""

    def __init__(
        self,
        districts: list[District],
        aliases: dict[str, str],
        *,
        source: str | None = None,
        effective_on: date | None = None,
        ambiguous: dict[str, tuple[list[str], str | None]] | None = None,
        area: str = DEFAULT_AREA,
    ) -> None:
        """``aliases``: usual spelling → district name; ``ambiguous``: a name of places in several districts → (those
        districts' names, why), refused by :meth:`find` naming them; ``area``: what the districts are of, for refusals."""
        self.districts = districts
        self.area = area
        self.source = source
        self.effective_on = effective_on
        self.path: Path | None = None
        """The file the table was read from (a ``districts_file`` setting); None for the shipped table."""
        self.setting: str | None = None
        """The environment variable that names the file (``REGISTRY_DISTRICTS_FILE``…), for what the service says about the table."""
        by_name = {d.name: d for d in districts}
        self._by_key: dict[str, District] = {}
        for d in districts:
            self._by_key[fold(d.name)] = d
            self._by_key[district_key(d.name)] = d
            self._by_key[d.ubigeo] = d
        for alias, name in aliases.items():
            self._by_key[fold(alias)] = by_name[name]
            self._by_key.setdefault(district_key(alias), by_name[name])
        self._keys = [k for k in self._by_key if not k.isdigit()]
        self._ambiguous: dict[str, tuple[list[District], str | None]] = {}
        for name, (names, why) in (ambiguous or {}).items():
            self._ambiguous[district_key(name)] = ([by_name[n] for n in names], why)
        zones = [district_key(zone).split() for zone in self.zones]
        shared: list[str] = []
        for words in zip(*zones):
            if len(set(words)) > 1:
                break
            shared.append(words[0])
        while shared and shared[-1] in ZONE_WORDS:
            shared.pop()
        self.province: str | None = " ".join(shared) or None
        """The words every zone's name begins with, but a trailing zone word (:func:`district_key`: "lima" for Lima Norte,
        Sur, Este and Centro; "trujillo" for Trujillo Norte…): the province's name, and often a district's (the Cercado),
        which a name with words around it ("Lima Oeste", "Zona Trujillo Norte") is not taken as near
        (:meth:`near`). None when the zones share no first word."""
        self.zone_words = ZONE_WORDS | {word for zone in zones for word in zone[len(shared):]}
        """:data:`ZONE_WORDS` and the words of the table's zones after :attr:`province` (:meth:`near_zone`)."""

    @classmethod
    def from_json(cls, text: str, *, path: Path | None = None, setting: str | None = None) -> DistrictTable:
        """The table a districts file's text holds (:class:`DistrictsDocument`'s shape and rules).

        Raises :class:`DistrictsFileError`, one line naming ``setting``, ``path`` (when given), the district, the field
        and the rule, for a text that is not JSON or breaks one of them."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise DistrictsFileError(f"it is not JSON ({error})", path, setting) from None
        try:
            document = DistrictsDocument.model_validate(raw)
        except ValidationError as error:
            raise DistrictsFileError(_refusal(error, raw), path, setting) from None
        districts = [District(r.ubigeo, r.name, r.zone, r.valid_from, r.valid_until, r.created_by) for r in document.districts]
        aliases = {alias: r.name for r in document.districts for alias in r.aliases}
        ambiguous = {a.name: (list(a.districts), a.why) for a in document.ambiguous}
        return cls(
            districts, aliases, source=document.source, effective_on=document.effective_on, ambiguous=ambiguous, area=document.area
        )

    @classmethod
    def of_lima(cls, path: Path | None = None, *, setting: str | None = None) -> DistrictTable:
        """The table shipped with the service, or the one in ``path`` (a service's ``districts_file`` setting, the
        environment variable ``setting``: named when the service says which table lacks a district).

        Raises :class:`DistrictsFileError` (a :class:`ValueError`; one line naming ``setting``, the file and what is
        wrong) for a file that cannot be read or does not hold a districts table."""
        if path is not None:
            try:
                text = Path(path).read_text("utf-8-sig")  # an editor's byte order mark is no part of the JSON
            except (OSError, UnicodeDecodeError) as error:
                raise DistrictsFileError(f"it cannot be read ({type(error).__name__}: {error})", Path(path), setting) from None
            table = cls.from_json(text, path=Path(path), setting=setting)
        else:
            table = cls.from_json(resources.files("shared").joinpath("data/districts.json").read_text("utf-8"))
        table.path, table.setting = (Path(path) if path is not None else None), setting
        return table

    def described(self) -> str:
        """Which table this is, for a message: "the shipped one (REGISTRY_DISTRICTS_FILE is not set)", "the file … (REGISTRY_DISTRICTS_FILE)"."""
        if self.path is None:
            return "the shipped one" + (f" ({self.setting} is not set)" if self.setting else "")
        return f"the file {self.path}" + (f" ({self.setting})" if self.setting else "")

    def lacking(self, names: Iterable[str | None]) -> list[str]:
        """The district names among ``names`` (as records hold them) that this table does not know, sorted, each once.

        Looked up as :meth:`recorded` looks them up (exactly), so a name this reports is one :meth:`recorded` does not place.
        """
        return sorted({name for name in names if name is not None and self.recorded(name) is None})

    def recorded(self, name: str) -> District | None:
        """The district a record names (an OSV's, an activity's: the name :meth:`find` gave when it was recorded); None
        when this table has no district of that name or of one of its aliases.

        Never a near miss, as :meth:`find` takes none either. A district added by file ("San Juan de Lurigancho Alto")
        is, to a table without it, a near miss of another ("San Juan de Lurigancho"): read as a near miss, its OSVs were
        placed in the other district, their events went to that municipality's partner, and the start-up check missed
        it (tester 28, H1).
        """
        return self._by_key.get(fold(name)) or self._by_key.get(district_key(name))

    def find(self, given: str, on: date | None = None) -> District:
        """The district ``given`` names: its name, an alias or its ubigeo, case, accents, punctuation, spaces, a leading
        article and "Distrito de" aside; with ``on``, one in force that day (422 ``district_in_force``).

        422 ``lima_district`` (:class:`UnknownDistrictError`) for none, naming the districts a near miss is near (it is
        never taken for one of them), for an ambiguous name (:class:`AmbiguousDistrictError`), naming the districts it
        may mean, or for a zone's name ("Lima Norte", :class:`ZoneNotDistrictError`), naming the zone's districts."""
        found = self._lookup(given)
        if found is None:
            ambiguous = self._ambiguous.get(district_key(given))
            if ambiguous is not None:
                raise AmbiguousDistrictError(given, *ambiguous)
            key = district_key(given)
            zone = next((z for z in self.zones if district_key(z) == key), None)
            districts_near = [] if zone is not None else self.near(given)
            # A district named beside the zone ("Lima Este Ate") is the one meant: near() names it (tester 181 F2).
            near = zone is None and not districts_near and (zone := self.near_zone(key)) is not None
            if zone is not None:
                districts = [d for d in self.districts if d.zone == zone and (on is None or d.in_force_on(on))]
                raise ZoneNotDistrictError(given, zone, districts, near=near, area=self.area)
            raise UnknownDistrictError(given, districts_near, area=self.area)
        if on is not None and not found.in_force_on(on):
            raise DistrictNotInForceError(found, on)
        return found

    def _lookup(self, given: str) -> District | None:
        return self._by_key.get(fold(given)) or self._by_key.get(district_key(given))

    def near(self, given: str) -> list[District]:
        """The districts (at most :data:`NEAR_MOST`, nearest first) a name that is none of theirs is near: a letter or two
        away, or a district's name with words before or after it ("San Juan de Lurigancho Alto", "San Juan"). For a
        refusal to name; never taken for the name."""
        key = district_key(given)
        if len(key) < 3:
            return []
        scores: dict[District, float] = {}
        for other, score, _ in process.extract(key, self._keys, scorer=fuzz.ratio, limit=None):
            # "Lima" is also the province's and each zone's first word: "Lima Oeste", "Lima Metropolitana" name no district
            # with words after it, nor the Cercado (tester 176 F2), as "San Juan de Lurigancho Alto" does; so with
            # "Trujillo" in a table of Trujillo's zones (tester 314 F6).
            within = other != self.province and (f" {other} " in f" {key} " or f" {key} " in f" {other} ")
            if score >= NEAR_SCORE or within:
                district = self._by_key[other]
                scores[district] = max(score, scores.get(district, 0.0))
        return sorted(scores, key=lambda d: -scores[d])[:NEAR_MOST]

    def near_zone(self, key: str) -> str | None:
        """The zone a name that is no district's (:func:`district_key`) is near: a letter or two away ("Lima Nortee"), or
        the zone's name with words around it ("Zona Lima Norte", "Lima Sur Alta"); None for none. Nearer than a district
        (:data:`NEAR_ZONE_SCORE`): "Lima Oeste" is not "Lima Este" (tester 176 F2)."""
        words = set(key.split())
        zones = [zone for zone in self.zones if not (words & self.zone_words) - set(district_key(zone).split())]  # "Lima Oeste" is no "Lima Este" (tester 181 F1)
        scored = [(fuzz.ratio(district_key(zone), key), zone) for zone in zones if f" {district_key(zone)} " in f" {key} "]
        scored += [(score, zone) for zone in zones if (score := fuzz.ratio(district_key(zone), key)) >= NEAR_ZONE_SCORE]
        return max(scored)[1] if scored else None

    def in_force(self, on: date) -> list[District]:
        return [d for d in self.districts if d.in_force_on(on)]

    @property
    def zones(self) -> list[str]:
        return sorted({d.zone for d in self.districts})

    def zone(self, given: str, field: str = "zone") -> str:
        """The zone of Lima ``given`` names, case and accents aside (``lima norte``: ``Lima Norte``); 422 ``lima_zone``,
        naming the zones, for none of them: a filter on a zone that does not exist would answer an empty list."""
        wanted = district_key(given)
        for zone in self.zones:
            if district_key(zone) == wanted:
                return zone
        raise UnknownZoneError(given, self.zones, field, area=self.area)


def _named(districts: Iterable[str]) -> str:
    """How a message names districts: "the district 'Nuevo Horizonte'", "the districts 'A', 'B'"."""
    names = list(districts)
    quoted = ", ".join(f"'{name}'" for name in names)
    return f"the district {quoted}" if len(names) == 1 else f"the districts {quoted}"


class DistrictsLackingError(StartupRefusedError):
    """Records a service holds are in districts its table lacks: it refuses to start (:func:`refuse_lacking`)."""

    def __init__(self, service: str, table: DistrictTable, lacking: list[str], held: str) -> None:
        setting = table.setting or "the districts_file setting"
        super().__init__(
            f"{service} refuses to start: {held} are in {_named(lacking)}, which its districts "
            f"table, {table.described()}, lacks. Set {setting} to the districts file the district was added to (the one "
            "registry maps OSVs with: every service needs the same file) and start it again."
        )
        self.service = service
        self.lacking = lacking


def refuse_lacking(service: str, table: DistrictTable, names: Iterable[str | None], held: str) -> None:
    """Raise :class:`DistrictsLackingError` if ``table`` lacks any of the districts ``names`` (those the service's stored
    records are in; ``held`` names those records, in the plural: "stored OSVs"). Called while the service starts: without the district,
    it could not place those records (a focal point's scope, an event's municipality, a ubigeo)."""
    lacking = table.lacking(names)
    if lacking:
        raise DistrictsLackingError(service, table, lacking, held)


class DistrictNotInTableError(MisconfiguredError):
    """A command about an OSV whose district the service's table lacks: 503 with ``Retry-After``, until an operator
    gives the service the districts file and restarts it.

    Taken, the command's events would name no municipality: the relay, which
    publishes every event under its municipality's subject, would stop at the
    first of them for every municipality. The request is fine as it is: the
    same one is taken once the setting is fixed.
    """

    def __init__(self, service: str, table: DistrictTable, osv_id: object, district: str) -> None:
        setting = table.setting or "the districts_file setting"
        super().__init__(
            f"OSV {osv_id} is in the district '{district}', which {service}'s districts table, {table.described()}, lacks: "
            f"{service} cannot name the municipality of its events about this OSV, so it records none until an operator "
            f"sets {setting} to the districts file registry maps OSVs with and restarts it; send the same request again then",
            field="osv_id",
            rule="osv_district_in_table",
        )


class DistrictLackedHereError(MisconfiguredError):
    """A typed district this service's table lacks, though records it holds are in it (another replica mapped them with a
    fuller districts file): 503 with ``Retry-After``, not 422 ``lima_district``, since the request is fine, the setting not.

    Behind a load balancer the same mapping was 201 from a replica with the file and 422, blaming the promoter, from one
    without it (tester 28, L1).
    """

    def __init__(self, service: str, table: DistrictTable, district: str, field: str = "district") -> None:
        setting = table.setting or "the districts_file setting"
        super().__init__(
            f"'{district}' is a district {service}'s records are in, which its districts table, {table.described()}, lacks: "
            f"{service} takes nothing naming it until an operator sets {setting} to the districts file registry maps OSVs "
            "with and restarts it; send the same request again then",
            field=field,
            rule="osv_district_in_table",
        )
