"""Registry's configuration: environment variables prefixed ``REGISTRY_``."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    service_name: str = "registry"
    port: int = 8001
    ruos_amendment_working_days: int = Field(
        default=5,
        ge=1,
        description="Working days an observed RUOS application has to be amended, when the observation does not say.",
    )
    non_working_days_file: Path | None = Field(
        default=None,
        description="A list of días no laborables (JSON, as shared/data/dias_no_laborables.json) to use instead of the shipped one.",
    )
