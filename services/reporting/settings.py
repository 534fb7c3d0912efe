"""Reporting's configuration: environment variables prefixed ``REPORTING_``."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.reporting.iati import Programme
from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    service_name: str = "reporting"
    port: int = 8004
    workers: int = Field(
        default=1,
        ge=1,
        le=32,
        description="Processes serving the API (uvicorn's `--workers`, started by `make run`). One by default: the read model's "
        "writers are its consumers, and on SQLite one process keeps them apart; on PostgreSQL, replicas share it as the write services do.",
    )
    consumer_batch: int = 1000
    checkpoint_every: int = Field(
        default=500,
        description="Save the indicators' tally every this many facts (in recorded order): an as-of report folds at most this many "
        "after restoring one (500: p99 245 ms against 352 ms with 1,000 in `make bench` on a million events, for twice the checkpoints' 126 MB).",
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "The URL browsers reach reporting at (`https://osv.example.org/reporting`): the dashboard's sign-in sends the "
            "provider back to `<public_url>/dashboard/callback`. Unset: the URL the request came to."
        ),
    )
    checkpoint_settle_seconds: float = Field(
        default=60.0, description="Checkpoint only facts this much older than the newest one, so late relays rarely drop a checkpoint."
    )

    iati: Programme = Field(
        default_factory=Programme,
        description="What the IATI activity file says of the programme (JSON): identifier, reporting and participating organisations, title, "
        "sectors (OECD DAC CRS purpose codes whose percentages add up to 100; refused at start otherwise).",
    )

    def view_url(self) -> str:
        if self.database_url:
            return super().view_url()
        return f"sqlite:///{(self.service_dir / 'readmodel.db').as_posix()}"
