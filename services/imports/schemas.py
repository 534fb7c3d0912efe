"""The webhook's answer bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SubmissionNote(BaseModel):
    """Something the person behind a submission must know although nothing was refused."""

    field: str = Field(description="What it is about (`Idempotency-Key`: the submission's keys).")
    rule: str = Field(
        description="`recorded_otherwise`: recorded before by another account, nothing recorded again; `edited_in_kobo`: an "
        "edit made in Kobo, recorded as far as its answers go (if an earlier version of it was recorded, what this one took "
        "out of it or changed in it is not undone: the message names the commands that do it); the same note on Kobo's "
        "retry of the post."
    )
    message: str


class SubmissionPublic(BaseModel):
    """What became of one submission."""

    form_id: str
    uuid: str | None = Field(description="The submission's `_uuid`.")
    outcome: str = Field(description="`created` or `already there`.")
    commands: int = Field(description="How many commands the submission made.")
    notes: list[SubmissionNote] = Field(
        default_factory=list,
        description="The `recorded_otherwise` note when another account (a colleague's import) recorded the same submission, "
        "or part of it, first; the `edited_in_kobo` note instead for every edit made in Kobo. "
        "Empty otherwise.",
    )
