"""The import's settings: where the services are, its credentials, and the Kobo hooks allowed to post."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ImportSettings(BaseSettings):
    """``osv-import`` and the Kobo webhook (environment prefix ``IMPORTS_``)."""

    model_config = SettingsConfigDict(env_prefix="IMPORTS_", extra="ignore")

    service_name: str = "imports"
    host: str = "127.0.0.1"
    port: int = 8006
    registry_url: str = Field(default="http://127.0.0.1:8001", description="Registry's base URL (OSVs are mapped there).")
    engagement_url: str = Field(default="http://127.0.0.1:8003", description="Engagement's base URL (members, meetings, activities).")
    token: SecretStr | None = Field(
        default=None,
        description="The access token `osv-import` sends (`--token` wins): a `staff` account's, e.g. from `make token USER=staff`.",
    )
    client_id: str = Field(default="osv-imports", description="The webhook's own client (client credentials, role `staff`).")
    client_secret: SecretStr | None = Field(default=None, description="Its secret; `make run` passes the embedded provider's.")
    kobo_hooks: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            'JSON object: form id -> the password its Kobo REST Service sends with HTTP Basic auth, user name the form id, '
            'e.g. `{"osv_members": "<long random secret>"}`. A form not named here cannot be posted.'
        ),
    )
    max_body_bytes: int = Field(default=262_144, description="Largest submission the webhook takes (bytes); larger ones get 413.")

    def service_urls(self) -> dict[str, str]:
        return {"registry": self.registry_url, "engagement": self.engagement_url}
