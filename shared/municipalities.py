"""The municipalities of Lima Metropolitana: the MML and the 43 district municipalities. Pure reference data.

Registry keeps what the programme records about each; funding takes
participatory-budget submissions to them; reporting alerts on those without
a focal point. A municipality's id is ``mml`` or its district's ubigeo.
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

    def of_district(self, district_name: str) -> MunicipalityReference:
        return self._by_id[self.districts.find(district_name).ubigeo]
