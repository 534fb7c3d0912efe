"""What registry's routers share: the application a route calls, and the answers its commands document.

:mod:`.api` holds the routes and the app; a router in a module of its own takes these from here (api.py is near the
bound every module keeps), as engagement's field routes take theirs from :mod:`services.engagement.routing`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.registry.application import Registry
from shared.auth import Permission, RecordingScope, recording
from shared.guards import osv_district_in_table
from shared.preconditions import PRECONDITION_FAILED
from shared.web import application_of

RegistryDep = Annotated[Registry, Depends(application_of)]
NOT_PLACED = osv_district_in_table("registry")
"""A command on an OSV: 503 with `Retry-After` while the OSV's district is one this process's districts table lacks."""
CHANGE = {**NOT_PLACED, **PRECONDITION_FAILED}
"""A change to an OSV's record taking `If-Match`: the 503 of :data:`NOT_PLACED`, and 412 on a record changed since read."""
Records = Annotated[RecordingScope, Depends(recording(Permission.RUOS_RECORD))]
"""The OSVs the caller reaches (404 outside them) and the municipalities whose RUOS decisions it records (a focal point:
its own, the MML's for the MML's; another's is 403 ``own_municipality_ruos`` naming it)."""
RUOS_STEP = {403: {"description": (
    "The caller's roles lack `ruos:record`; or, rule `own_municipality_ruos`, the step is in the RUOS of a municipality "
    "the focal point does not record for (a district's and the MML's each record their own): the problem names it "
    "(`municipality_id`, `municipality_name`). An OSV outside the caller's municipalities is 404, as any record."
)}}
"""A municipality's step in its RUOS: the 403s of a missing permission and of another municipality's RUOS."""
