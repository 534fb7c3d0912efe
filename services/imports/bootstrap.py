"""The one place that builds how the import reaches the services: their URLs and the credential it sends."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from services.imports.application import Services
from services.imports.settings import ImportSettings
from shared.auth import AuthSettings, ServiceCredentials


def cli_services(settings: ImportSettings, token: str, transport: httpx.BaseTransport | None = None) -> Services:
    """``osv-import``'s: a person's bearer token (a ``staff`` account's) on every request."""
    return Services(settings.service_urls(), token, transport=transport)


def lazy_services(
    settings: ImportSettings,
    auth_settings: AuthSettings,
    *,
    auth: httpx.Auth | Callable[[], httpx.Auth] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Callable[[], Services]:
    """The webhook's, made on first use (nothing connects when the app is built).

    Its requests carry ``auth``; by default a client-credentials token of
    ``settings.client_id`` (``osv-imports``, role ``importer``) from the provider
    ``auth_settings`` names.
    """
    made: list[Services] = []
    lock = threading.Lock()

    def services() -> Services:
        with lock:
            if not made:
                chosen = auth() if callable(auth) and not isinstance(auth, httpx.Auth) else auth
                if chosen is None:
                    own = auth_settings.model_copy(
                        update={"service_client_id": settings.client_id, "service_client_secret": settings.client_secret}
                    )
                    chosen = ServiceCredentials(own)
                made.append(Services(settings.service_urls(), chosen, transport=transport))
            return made[0]

    return services
