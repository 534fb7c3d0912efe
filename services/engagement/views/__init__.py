"""Tables engagement builds from other services' events: registry's OSVs and funding's grants."""

from services.engagement.views.grants import GrantDirectory
from shared.views.osvdirectory import OSVDirectory

__all__ = ["GrantDirectory", "OSVDirectory"]
