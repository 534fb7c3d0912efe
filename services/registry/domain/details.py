"""What the programme knows of an OSV beyond its name and place, in the field's terms: its kind, who leads it, what it
works on, how it is reached; and why one dissolved. Pure: the OSV aggregate (:mod:`.osvs`) keeps them as these enums."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any


class OSVKind(StrEnum):
    """The kinds of organisation the RUOS recognises, as the practice met them."""

    VULNERABLE_POPULATION = "poblacion_vulnerable"
    NEIGHBOURHOOD = "vecinal"
    CULTURAL = "cultural"
    SPORTS = "deportiva"
    PRODUCTIVE = "productiva"
    OTHER = "other"


class Composition(StrEnum):
    """Who leads the OSV: refugees and migrants, hosts, or both together."""

    MIGRANT_LED = "migrant_led"
    MIXED = "mixed"
    HOST_LED = "host_led"


class FocusArea(StrEnum):
    EMPLOYMENT = "employment"
    ENTREPRENEURSHIP = "entrepreneurship"
    EDUCATION = "education"
    HEALTH = "health"
    CULTURE = "culture"
    DOCUMENTATION = "documentation"
    HOUSING = "housing"
    ANTI_DISCRIMINATION = "anti_discrimination"
    SPORTS = "sports"
    ENVIRONMENT = "environment"
    OTHER = "other"


class ContactChannel(StrEnum):
    """How the programme reaches the OSV: the kind only, never a number or a handle (personal data)."""

    WHATSAPP = "whatsapp"
    FACEBOOK = "facebook"
    PHONE = "phone"
    EMAIL = "email"
    IN_PERSON = "in_person"
    OTHER = "other"


class DissolutionReason(StrEnum):
    INACTIVE = "inactive"
    MEMBERS_EMIGRATED = "members_emigrated"
    MERGED = "merged"
    MEMBERS_DECIDED = "members_decided"
    OTHER = "other"


def focus_areas_kept(areas: Iterable[str] | None) -> list[FocusArea]:
    """The areas once each, in :class:`FocusArea`'s order; ValueError for one not of it."""
    given = {FocusArea(a) for a in areas or ()}
    return [a for a in FocusArea if a in given]


def kept_details(values: Mapping[str, Any]) -> dict[str, Any]:
    """Details as they are kept: enums, focus areas without repeats in a fixed order. KeyError for a name not of a detail."""
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if name == "kind":
            kept[name] = OSVKind(value) if value is not None else None
        elif name == "composition":
            kept[name] = Composition(value) if value is not None else None
        elif name == "contact_channel":
            kept[name] = ContactChannel(value) if value is not None else None
        elif name == "focus_areas":
            kept[name] = focus_areas_kept(value)
        else:
            msg = f"not an OSV detail: {name}"
            raise KeyError(msg)
    return kept
