"""Tables funding builds from other services' events: registry's OSVs (:class:`~shared.views.osvdirectory.OSVDirectory`)
and engagement's enrolments in each grant's project (:class:`~services.funding.views.enrolments.ProjectEnrolments`)."""

from services.funding.views.enrolments import ProjectEnrolments
from shared.views.osvdirectory import OSVDirectory

__all__ = ["OSVDirectory", "ProjectEnrolments"]
