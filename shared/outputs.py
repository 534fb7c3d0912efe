"""What a project leaves behind, by the codes every service uses for it.

A proposal plans outputs (funding), an activity reports them (engagement),
and reporting counts murals and public spaces recovered among them.
"""

from __future__ import annotations

from enum import StrEnum


class OutputKind(StrEnum):
    MURAL = "mural"
    PUBLIC_SPACE_RECOVERED = "public_space_recovered"
    WORKSHOP = "workshop"
    FAIR = "fair"
    CAMPAIGN = "campaign"
    TRAINING = "training"
    OTHER = "other"
