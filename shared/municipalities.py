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

from dataclasses import dataclass

from shared.districts import DistrictTable
from shared.errors import NotFoundError, RuleViolationError

MML_ID = "mml"
MML_NAME = "Municipalidad Metropolitana de Lima"
NOT_IN_LIMA = "'{}' is not a municipality of Lima Metropolitana: use 'mml' or a district's ubigeo (e.g. 150132)"


@dataclass(frozen=True)
class MunicipalityReference:
    """A municipality as reference data: it exists whether or not anything was recorded about it."""

    id: str
    name: str
    zone: str | None


class UnknownMunicipalityError(NotFoundError):
    def __init__(self, municipality_id: str) -> None:
        super().__init__(NOT_IN_LIMA.format(municipality_id))


class MunicipalityNotInLimaError(RuleViolationError):
    def __init__(self, municipality_id: str, field: str = "municipality_id") -> None:
        super().__init__(NOT_IN_LIMA.format(municipality_id), field=field, rule="lima_municipality")


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
            raise MunicipalityNotInLimaError(municipality_id, field) from None

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
