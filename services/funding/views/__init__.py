"""Tables funding builds from other services' events: registry's OSVs (:class:`~shared.views.osvdirectory.OSVDirectory`),
engagement's enrolments in each grant's project (:class:`~services.funding.views.enrolments.ProjectEnrolments`) and its
activities there (:class:`~services.funding.views.activities.ProjectActivities`)."""

from services.funding.views.activities import ProjectActivities
from services.funding.views.enrolments import ProjectEnrolments
from shared.views.osvdirectory import OSVDirectory

__all__ = ["OSVDirectory", "ProjectActivities", "ProjectEnrolments"]
