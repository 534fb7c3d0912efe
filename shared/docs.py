"""Each API's documentation pages, served with the service's own copies of Swagger UI and ReDoc.

FastAPI's default pages load Swagger UI and ReDoc from a CDN, so ``/docs`` is
blank on a machine without internet. The ``fastapi-offline`` package ships the
same bundles (``swagger-ui-bundle.js``, ``swagger-ui.css``,
``redoc.standalone.js``); they are served here under ``/docs/assets/``. Swagger
UI's Authorize button signs in at the programme's identity provider with the
authorization-code flow and PKCE, as the public client ``osv-docs-<service>``,
whose redirect is ``/docs/oauth2-redirect``.
"""

from __future__ import annotations

import secrets
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"


def assets_directory() -> str:
    """The folder of the ``fastapi-offline`` package holding the Swagger UI and ReDoc bundles."""
    return str(resources.files("fastapi_offline").joinpath("static"))


def install_docs(api: FastAPI, oauth: dict[str, Any] | None = None) -> None:
    """``/docs`` (Swagger UI, Authorize with ``oauth``'s client and PKCE), ``/docs/oauth2-redirect`` and ``/redoc``.

    Build ``api`` with ``docs_url=None, redoc_url=None``; nothing here goes to
    the OpenAPI document.
    """
    api.mount(ASSETS_URL, StaticFiles(directory=assets_directory()), name="docs-assets")

    @api.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        # OpenID Connect providers (Canaille among them) want a nonce with the openid scope; Swagger UI sends
        # none of its own, so each page gets a fresh one.
        signing_in = {**oauth, "additionalQueryStringParams": {"nonce": secrets.token_urlsafe(16)}} if oauth else None
        return get_swagger_ui_html(
            openapi_url=api.openapi_url or "/openapi.json",
            title=f"{api.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            init_oauth=signing_in,
            swagger_ui_parameters={"persistAuthorization": False},
        )

    @api.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @api.get(REDOC_URL, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=api.openapi_url or "/openapi.json",
            title=f"{api.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
