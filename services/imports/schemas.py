"""The webhook's answer bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SubmissionPublic(BaseModel):
    """What became of one submission."""

    form_id: str
    uuid: str | None = Field(description="The submission's `_uuid`.")
    outcome: str = Field(description="`created` or `already there`.")
    commands: int = Field(description="How many commands the submission made.")
