"""The municipalities of Lima Metropolitana: the MML and the 43 district municipalities. Pure reference data.

Registry keeps what the programme records about each; funding takes
participatory-budget submissions to them; reporting alerts on those without
a focal point. A municipality's id is ``mml`` or its district's ubigeo.

An OSV deals with two of them: its district's municipality and the MML
(:meth:`MunicipalityTable.require_of_osv`). Both see it (a focal point and a
partner see the OSVs of their district, the MML's all of Lima); a third
district's would not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.districts import DistrictTable
from shared.errors import MisconfiguredError, NotFoundError, RuleViolationError

MML_ID = "mml"
MML_NAME = "Municipalidad Metropolitana de Lima"
NOT_IN_LIMA = "'{}' is not a municipality of Lima Metropolitana: use 'mml' or a district's ubigeo (e.g. 150132)"
LIMA_UBIGEO = re.compile(r"1501\d{2}", re.ASCII)
"""The ubigeo of a district of Lima Metropolitana, the province of Lima (1501): a district a law creates gets one too."""


@dataclass(frozen=True)
class MunicipalityReference:
    """A municipality as reference data: it exists whether or not anything was recorded about it."""

    id: str
    name: str
    zone: str | None


class UnknownMunicipalityError(NotFoundError):
    def __init__(self, municipality_id: str) -> None:
        super().__init__(NOT_IN_LIMA.format(municipality_id), field="municipality_id", rule="known_municipality")


class MunicipalityNotInLimaError(RuleViolationError):
    def __init__(self, municipality_id: str, field: str = "municipality_id", named: tuple[str, str] | None = None) -> None:
        """``named``: the district (name, ubigeo) ``municipality_id`` is the name of: the message gives its ubigeo."""
        said = (
            f"'{municipality_id}' is the name of the district {named[0]}: its municipality's id is its ubigeo, '{named[1]}' "
            "('mml' for the Municipalidad Metropolitana de Lima)"
            if named else NOT_IN_LIMA.format(municipality_id)
        )
        super().__init__(said, field=field, rule="lima_municipality")


class MunicipalityLackedHereError(MisconfiguredError):
    """A district's ubigeo of Lima this service's districts table lacks, while records it holds are in districts the
    table lacks (another replica mapped them with a fuller districts file): it may be theirs, so 503 with
    ``Retry-After``, not 422 ``lima_municipality`` blaming the caller, as :class:`~shared.districts.DistrictLackedHereError`
    for a typed district. The same request gets its real answer once the setting is fixed."""

    def __init__(self, service: str, table: DistrictTable, municipality_id: str, lacking: Sequence[str], field: str = "municipality_id") -> None:
        setting = table.setting or "the districts_file setting"
        named = ", ".join(f"'{district}'" for district in lacking)
        super().__init__(
            f"'{municipality_id}' is a district's ubigeo of Lima that {service}'s districts table, {table.described()}, lacks, "
            f"as it lacks {named}, where {service}'s records are: it may be that district's municipality, so {service} takes "
            f"nothing naming it until an operator sets {setting} to the districts file registry maps OSVs with and restarts "
            "it; send the same request again then",
            field=field,
            rule="osv_district_in_table",
        )


class NotTheOSVsMunicipalityError(RuleViolationError):
    """An OSV's application or submission names a municipality that is neither its district's nor the MML."""

    def __init__(
        self, given: MunicipalityReference, district: MunicipalityReference | None, to: str, field: str = "municipality_id"
    ) -> None:
        own = f"its district's municipality ('{district.id}', {district.name}) or of " if district is not None else ""
        super().__init__(
            f"this OSV {to} {own}the MML ('{MML_ID}'), not of {given.name} ('{given.id}'), "
            "which would not see it: a municipality's focal point and partner see the OSVs of its own district",
            field=field,
            rule="municipality_of_the_osv",
        )


class MunicipalityTable:
    """The MML and the 43 district municipalities, by id ("mml" or the district's ubigeo)."""

    def __init__(self, districts: DistrictTable) -> None:
        self.districts = districts
        references = [MunicipalityReference(MML_ID, MML_NAME, None)]
        references += [
            MunicipalityReference(d.ubigeo, f"Municipalidad Distrital de {d.name}", d.zone)
            for d in sorted(districts.districts, key=lambda d: d.ubigeo)
        ]
        self._by_id = {r.id: r for r in references}

    @classmethod
    def of_lima(cls) -> MunicipalityTable:
        return cls(DistrictTable.of_lima())

    def all(self) -> list[MunicipalityReference]:
        """The MML first, then the district municipalities by ubigeo."""
        return list(self._by_id.values())

    def find(self, municipality_id: str) -> MunicipalityReference:
        """The municipality a path names (case and spaces ignored); 404 when there is none."""
        try:
            return self._by_id[municipality_id.strip().lower()]
        except KeyError:
            raise UnknownMunicipalityError(municipality_id) from None

    def require(self, municipality_id: str, field: str = "municipality_id") -> MunicipalityReference:
        """The municipality an input names; 422 naming the field when there is none."""
        try:
            return self.find(municipality_id)
        except UnknownMunicipalityError:
            district = self.districts.recorded(municipality_id)  # a district's name given for its id (tester 133 F7)
            raise MunicipalityNotInLimaError(municipality_id, field, (district.name, district.ubigeo) if district else None) from None

    def require_here(
        self, municipality_id: str, lacking: Callable[[], Sequence[str]], service: str, field: str = "municipality_id"
    ) -> MunicipalityReference:
        """:meth:`require`, for a service that may run on a districts table shorter than another replica's: a district's
        ubigeo of Lima (:data:`LIMA_UBIGEO`) the table lacks is 503 ``osv_district_in_table``
        (:class:`MunicipalityLackedHereError`) while ``lacking()`` names districts the service's records are in that the
        table lacks, since it may be one of theirs; anything else not in the table (``callao``, ``070101``) stays 422
        ``lima_municipality``. ``lacking`` is asked only for an id the table does not know."""
        try:
            return self.require(municipality_id, field)
        except MunicipalityNotInLimaError:
            given = municipality_id.strip()
            if LIMA_UBIGEO.fullmatch(given) and (lacked := lacking()):
                raise MunicipalityLackedHereError(service, self.districts, given, lacked, field) from None
            raise

    def require_of_osv(
        self, municipality_id: str, district_ubigeo: str | None, to: str, field: str = "municipality_id"
    ) -> MunicipalityReference:
        """The municipality an input names, if an OSV of the district ``district_ubigeo`` deals with it: the district's
        municipality or the MML (only the MML when the district is not known).

        ``to`` says what the OSV does, for the message ("applies to the RUOS of").
        422 ``lima_municipality`` when it names none of Lima's, 422 ``municipality_of_the_osv`` for another district's.
        """
        reference = self.require(municipality_id, field)
        if reference.id != MML_ID and reference.id != district_ubigeo:
            district = self._by_id.get(district_ubigeo) if district_ubigeo is not None else None
            raise NotTheOSVsMunicipalityError(reference, district, to, field)
        return reference

    def of_district(self, district_name: str) -> MunicipalityReference:
        return self._by_id[self.districts.find(district_name).ubigeo]
