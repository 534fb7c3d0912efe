"""Tables funding builds from other services' events: registry's OSVs (:class:`~shared.views.osvdirectory.OSVDirectory`)."""

from shared.views.osvdirectory import OSVDirectory

__all__ = ["OSVDirectory"]
