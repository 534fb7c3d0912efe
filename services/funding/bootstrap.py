"""Funding's wiring, in one place: its store, its view of registry's OSVs, and the relay.

:func:`bootstrap` returns the :class:`~shared.web.Runtime` the FastAPI
lifespan starts: it builds the application (the event store and the view
database are opened then, not at import).
"""

from __future__ import annotations

from services.funding.application import Funding
from services.funding.events import catalogue
from services.funding.settings import FundingSettings
from services.funding.views import OSVDirectory
from shared.idempotency import AnswerBook
from shared.sealing import WRAPPING_PURPOSE, KeyRing, MasterKey
from shared.views import make_engine
from shared.web import Runtime


def bootstrap(settings: FundingSettings | None = None) -> Runtime:
    """The funding service's runtime."""
    settings = settings or FundingSettings()

    def application(env: dict[str, str]) -> Funding:
        view_engine = make_engine(settings.view_url())
        answers = AnswerBook(view_engine, retention=settings.idempotency_retention)
        keys = KeyRing(view_engine, MasterKey.from_text(settings.resolve_master_key()).subkey(WRAPPING_PURPOSE))
        return Funding(env, osvs=OSVDirectory(view_engine, settings.service_name), answers=answers, keys=keys)

    def views(funding: Funding) -> list[OSVDirectory]:
        """Funding follows registry's OSVs."""
        return [funding.osvs]

    return Runtime(settings, catalogue, application, views)
