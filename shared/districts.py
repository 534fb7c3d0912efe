"""The districts of Lima Metropolitana and their zones, read from ``data/districts.json``.

Staff type district names as they say them: "Brena", "SJL", "cercado de lima";
forms send the INEI ubigeo ("150132"). Matching ignores case, accents, hyphens
and repeated spaces.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from importlib import resources

from shared.errors import RuleViolationError


@dataclass(frozen=True)
class District:
    ubigeo: str
    name: str
    zone: str


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used to compare names."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("-", " ").lower().split())


class UnknownDistrictError(RuleViolationError):
    def __init__(self, given: str) -> None:
        super().__init__(
            f"'{given}' is not one of the 43 districts of Lima Metropolitana",
            field="district",
            rule="lima_district",
        )


class DistrictTable:
    """Looks districts up by any of their names."""

    def __init__(self, districts: list[District], aliases: dict[str, str]) -> None:
        self.districts = districts
        self._by_key = {fold(d.name): d for d in districts}
        self._by_key.update({d.ubigeo: d for d in districts})
        for alias, name in aliases.items():
            self._by_key[fold(alias)] = self._by_key[fold(name)]

    @classmethod
    def from_json(cls, text: str) -> DistrictTable:
        rows = json.loads(text)["districts"]
        districts = [District(r["ubigeo"], r["name"], r["zone"]) for r in rows]
        aliases = {alias: r["name"] for r in rows for alias in r.get("aliases", [])}
        return cls(districts, aliases)

    @classmethod
    def of_lima(cls) -> DistrictTable:
        """The table shipped with the service."""
        text = resources.files("shared").joinpath("data/districts.json").read_text("utf-8")
        return cls.from_json(text)

    def find(self, given: str) -> District:
        try:
            return self._by_key[fold(given)]
        except KeyError:
            raise UnknownDistrictError(given) from None

    @property
    def zones(self) -> list[str]:
        return sorted({d.zone for d in self.districts})
