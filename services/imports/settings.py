"""The import's settings: where the services are, its credentials, and the Kobo hooks allowed to post."""

from __future__ import annotations

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ImportSettings(BaseSettings):
    """``osv-import`` and the Kobo webhook (environment prefix ``IMPORTS_``)."""

    model_config = SettingsConfigDict(env_prefix="IMPORTS_", extra="ignore")

    service_name: str = "imports"
    host: str = "127.0.0.1"
    port: int = 8006
    registry_url: str = Field(
        default="",
        description="Registry's base URL (OSVs are mapped there). Unset: where `make run` serves it, `http://<OSV_HOST>:<REGISTRY_PORT>`.",
    )
    engagement_url: str = Field(
        default="",
        description="Engagement's base URL (members, meetings, activities). Unset: `http://<OSV_HOST>:<ENGAGEMENT_PORT>`.",
    )
    osv_host: str = Field(default="127.0.0.1", validation_alias="OSV_HOST", description="`make run`'s host (its variable, no prefix).")
    registry_port: int = Field(default=8001, ge=1, le=65535, validation_alias="REGISTRY_PORT", description="Registry's port under `make run`.")
    engagement_port: int = Field(default=8003, ge=1, le=65535, validation_alias="ENGAGEMENT_PORT", description="Engagement's port under `make run`.")
    token: SecretStr | None = Field(
        default=None,
        description="The access token `osv-import` sends (`--token` wins): a `staff` account's, e.g. from `make token USER=staff`.",
    )
    client_id: str = Field(default="osv-imports", description="The webhook's own client (client credentials, role `importer`: it records, and reads nobody's data).")
    client_secret: SecretStr | None = Field(default=None, description="Its secret; `make run` passes the embedded provider's.")
    kobo_hooks: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            'JSON object: form id -> the password its Kobo REST Service sends with HTTP Basic auth, user name the form id, '
            'e.g. `{"osv_members": "<long random secret>"}`. A form not named here cannot be posted.'
        ),
    )
    max_body_bytes: int = Field(default=262_144, description="Largest submission the webhook takes (bytes); larger ones get 413.")

    @field_validator("registry_url", "engagement_url")
    @classmethod
    def _a_base_url(cls, value: str) -> str:
        """Empty (where `make run` serves it), or an http(s) URL with a host: ``http://127.0.0.1:8001``."""
        if value and not _is_base_url(value):
            raise ValueError("must be an http(s) URL with a host, such as http://127.0.0.1:8001")
        return value

    @field_validator("osv_host")
    @classmethod
    def _a_host(cls, value: str) -> str:
        """A host name or address alone (no scheme, no port): ``127.0.0.1``."""
        if not _is_base_url(f"http://{value}:1") or httpx.URL(f"http://{value}:1").host != value.strip("[]").lower():
            raise ValueError("must be a host name or address alone, such as 127.0.0.1 (no scheme, no port)")
        return value

    @model_validator(mode="after")
    def _where_make_run_serves_them(self) -> ImportSettings:
        """A service URL not given is the one `make run` serves it on, as `make demo` finds it."""
        self.registry_url = self.registry_url or f"http://{self.osv_host}:{self.registry_port}"
        self.engagement_url = self.engagement_url or f"http://{self.osv_host}:{self.engagement_port}"
        return self

    def service_urls(self) -> dict[str, str]:
        return {"registry": self.registry_url, "engagement": self.engagement_url}


def _is_base_url(text: str) -> bool:
    try:
        url = httpx.URL(text)
        _ = url.port
    except (httpx.InvalidURL, ValueError):
        return False
    return url.scheme in ("http", "https") and bool(url.host)
