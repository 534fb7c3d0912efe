"""Registry's configuration: environment variables prefixed ``REGISTRY_``."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    service_name: str = "registry"
    port: int = 8001
