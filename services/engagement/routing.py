"""Engagement's route dependencies, shared by its two route modules (:mod:`.api`, :mod:`.fieldapi`): who may call a route,
what it is handed, and the answers every route naming an OSV may give before it runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.engagement.application import Engagement
from shared import dryrun
from shared.auth import Caller, MunicipalScope, Permission, requires, within
from shared.guards import lost_in_restore, not_heard_of_yet, osv_district_in_table, osv_lost_in_registry
from shared.listing import Page, page_query
from shared.web import application_of

EngagementDep = Annotated[Engagement, Depends(application_of)]
Reads = Annotated[MunicipalScope, Depends(within(Permission.PROGRAMME_READ))]
"""The municipalities the caller reads: an OSV outside them answers 404, lists leave it out."""
MemberReader = Annotated[Caller, Depends(requires(Permission.PROGRAMME_READ))]
MembersReader = Annotated[Caller, Depends(requires(Permission.MEMBERS_READ))]
"""Who reads a member's record or an OSV's members (masked without `personal-data:read`): programme readers and the DPO."""
Finder = Annotated[Caller, Depends(requires(Permission.MEMBERS_FIND))]
WRITES = [Depends(requires(Permission.PROGRAMME_WRITE))]
RECORDS = [Depends(requires(Permission.SUBMISSIONS_RECORD))]  # what a field form's submission sends (the Kobo webhook too)
RECORDS_NAMING_MEMBERS = [*RECORDS, Depends(dryrun.needs_to_read(Permission.MEMBERS_READ, "the members it names"))]
"""A command that names members (a meeting's attendees, an activity's participants): its dry run is for a caller who may read
members (403 `dry_run_reads` on `Dry-Run` to the Kobo webhook's account, tester 218 F1)."""
Recorder = Annotated[Caller, Depends(requires(Permission.SUBMISSIONS_RECORD))]
OSV_NOT_HEARD_OF = {**not_heard_of_yet("osv_mapped_in_registry"), **osv_district_in_table("engagement"), **osv_lost_in_registry()}
"""A command naming an OSV: refused with `Retry-After` while registry's `OSVMapped` has not arrived here, or while the OSV's
district is one this service's districts table lacks (503); without it when registry lost the OSV in a restore (409)."""
GRANT_NOT_HEARD_OF = {**not_heard_of_yet("grant_made_in_funding"), **lost_in_restore("grant_lost_in_funding_restore")}
"""A command naming a grant: refused with `Retry-After` while funding's `FundGranted` has not arrived here; without it when
funding lost the grant in a restore (409)."""
OSV_AND_GRANT_NOT_HEARD_OF = {
    **not_heard_of_yet("osv_mapped_in_registry", "grant_made_in_funding"),
    **osv_district_in_table("engagement"),
    **lost_in_restore("osv_lost_in_registry_restore", "grant_lost_in_funding_restore"),
}
"""A command naming an OSV and, maybe, a grant (an activity): :data:`OSV_NOT_HEARD_OF` and :data:`GRANT_NOT_HEARD_OF` in one."""
OSV_NOT_HEARD_OF_READ = not_heard_of_yet("osv_mapped_in_registry", status=404)
"""A read about an OSV: 404 with `Retry-After` while registry's `OSVMapped` has not arrived here."""
Paged = Annotated[Page, Depends(page_query)]
