"""Registry's request bodies for corrections kept apart from :mod:`.schemas` (at the bound every module keeps): an OSV's
registration in the RUOS, corrected; an application's observation or rejection, withdrawn."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from services.registry.schemas import RUOS_NUMBER, Number
from shared.schemas import Command, IsoDate, Text


class RUOSRegistrationCorrection(Command):
    """Only the fields given are corrected; at least one, with a value other than the registration's (else 422
    `change_required`). `resolution_number` and `board_term_ends_on` given null are cleared (typed where the
    resolution gave none); `ruos_number` and `registered_on` null are 422 `not_null`."""

    ruos_number: Number | None = Field(
        default=None,
        description=f"{RUOS_NUMBER} The number typed wrong is free from then on.",
    )
    registered_on: IsoDate | None = Field(
        default=None,
        description="The day the municipality registered the OSV, as it should have been recorded: not before the OSV's "
        "mapping (422 `not_before_mapped_on`) nor the last step of the application it closed (422 `not_before_<step>`), not "
        "after its first board renewal (422 `not_after_board_renewed_on`) nor its dissolution (409 `osv_not_dissolved`), "
        "before the registered board's term ends (422 `before_board_term_ends_on`), nor ahead of today in Lima.",
    )
    resolution_number: Number | None = Field(default=None, description="The municipal resolution that registered the OSV.")
    board_term_ends_on: IsoDate | None = Field(
        default=None,
        description="When the registered board's term ends: after `registered_on` (422 `after_registered_on`). A board "
        "renewed since keeps its own term, the one in force (`BoardRenewed`).",
    )

    def changes(self) -> tuple[dict[str, Any], list[str]]:
        """The values given (not null), and the names given null, in the body's field order."""
        given = [name for name in type(self).model_fields if name in self.model_fields_set]
        return {n: getattr(self, n) for n in given if getattr(self, n) is not None}, [n for n in given if getattr(self, n) is None]


class RUOSStepWithdrawal(Command):
    """An observation or a rejection of an RUOS application entered in error, withdrawn: why."""

    reason: Text = Field(
        description="Why the step was entered in error (\"registrada en la solicitud equivocada\"), 1-200 characters of one "
        "line: staff's words, which may name who erred, so sealed in registry's store, never published, `[withheld]` in the "
        "OSV's history to readers without `personal-data:read`, and forgotten with `POST /osvs/{osv_id}/history/{version}/redaction`."
    )
