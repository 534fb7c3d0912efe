"""Funding's wiring, in one place: its store, its views of registry's OSVs and engagement's enrolments and activities, and
the relay.

:func:`bootstrap` returns the :class:`~shared.web.Runtime` the FastAPI
lifespan starts: it builds the application (the event store and the view
database are opened then, not at import). The key table that seals staff's
free text lives in the event store's own database, its new keys written in
their events' transaction (an older ``views.db`` holding it has it moved
there at start-up, :func:`~shared.sealing.move_rows`); its master key is checked against it first
(:mod:`shared.keychecks`: missing or wrong, funding does not start). Funding refuses to
start while its OSV directory holds an OSV of a district its districts table
lacks (:func:`~shared.districts.refuse_lacking`).
"""

from __future__ import annotations

from services.funding.application import Funding
from services.funding.events import catalogue
from services.funding.settings import FundingSettings
from services.funding.views import OSVDirectory, ProjectActivities, ProjectEnrolments
from shared.districts import refuse_lacking
from shared.idempotency import AnswerBook
from shared.keychecks import opened_key_ring
from shared.sealing import key_engine
from shared.settings import read_or_exit
from shared.views import View, make_engine
from shared.web import Runtime


def bootstrap(settings: FundingSettings | None = None) -> Runtime:
    """The funding service's runtime."""
    settings = settings or read_or_exit(FundingSettings)

    def application(env: dict[str, str]) -> Funding:
        view_engine = make_engine(settings.view_url(), rebuildable=True)
        answers = AnswerBook(view_engine, retention=settings.idempotency_retention)
        keys_engine = key_engine(settings.key_url(), view_engine)
        _, keys = opened_key_ring(settings, keys_engine, view_engine)  # refused if the store's master key is missing or wrong
        districts = settings.districts_table()  # one table for the directory and the application
        osvs = OSVDirectory(view_engine, settings.service_name, districts, shows_names=True)  # a proposal's OSV, by name
        refuse_lacking(settings.service_name, districts, osvs.mapped_districts(), "OSVs its OSV directory holds")
        enrolments = ProjectEnrolments(view_engine)  # the enrolments a closing is not dated before (tester 251 F2)
        activities = ProjectActivities(view_engine)  # and the activities of its project not withdrawn
        funding = Funding(
            env, osvs=osvs, enrolments=enrolments, activities=activities, answers=answers, keys=keys, districts=districts,
            grant_ceilings=settings.grant_ceilings(),
        )
        osvs.on_merge = funding.take_merge  # a merge's grants weighed together before the directory takes it
        return funding

    def views(funding: Funding) -> list[View]:
        """Funding follows registry's OSVs and, of engagement's events, ``ParticipantEnrolled``, ``ActivityReported`` and
        ``ActivityWithdrawn`` alone (one view each): each view takes its events as they come, and funding takes commands
        with either service away."""
        engagements: list[View] = [funding.enrolments] if funding.enrolments is not None else []
        if funding.activities is not None:
            engagements += [funding.activities, funding.activities.withdrawals]
        return [funding.osvs, *engagements]

    return Runtime(settings, catalogue, application, views)
