"""Funding's configuration: environment variables prefixed ``FUNDING_``."""

from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.funding.domain.grantceilings import DEFAULT_CEILINGS
from shared.money import Currency
from shared.settings import ServiceSettings


class FundingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDING_", extra="ignore")

    service_name: str = "funding"
    port: int = 8002
    grant_ceiling_pen: Decimal = Field(
        default=DEFAULT_CEILINGS[Currency.PEN],
        gt=0,
        description="The largest grant, in PEN, made directly, requested in a proposal or approved (422 `at_most_grant_ceiling` "
        "above it): a typing error's guard.",
    )
    grant_ceiling_usd: Decimal = Field(
        default=DEFAULT_CEILINGS[Currency.USD],
        gt=0,
        description="The largest grant, in USD, made directly, requested in a proposal or approved (422 `at_most_grant_ceiling` "
        "above it).",
    )

    def grant_ceilings(self) -> dict[Currency, Decimal]:
        """The ceiling for one grant, by currency (:mod:`services.funding.domain.grantceilings`)."""
        return {Currency.PEN: self.grant_ceiling_pen, Currency.USD: self.grant_ceiling_usd}
