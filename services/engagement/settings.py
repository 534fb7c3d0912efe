"""Engagement's configuration: environment variables prefixed ``ENGAGEMENT_``.

Members' personal data is encrypted at rest, each person's under their own
key, and every key hangs from one master key: ``ENGAGEMENT_MASTER_KEY`` or,
when that is unset, the key file under ``var_dir`` (created on first use).
Losing the master key loses every member: back the file up apart from the
database, and never beside it. The document index has a key of its own,
``ENGAGEMENT_INDEX_KEY`` (or its file, outside the service's folder).
"""

from __future__ import annotations

import base64
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.sealing import key_fault
from shared.settings import ServiceSettings, read_or_create_key

INDEX_KEY_SIZES = range(16, 65)
"""The document index's HMAC key's possible lengths in bytes."""
INDEX_KEY_FORM = "base64 of 16 to 64 bytes"


class EngagementSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ENGAGEMENT_", extra="ignore")

    service_name: str = "engagement"
    port: int = 8003
    master_key: SecretStr | None = Field(
        default=None,
        description=(
            "Master key (base64 of 16, 24 or 32 bytes): wraps each person's and each free text's data key, and yields "
            "the store cipher's key. "
            "Unset: read from, or first generated into, <var_dir>/engagement/master.key (mode 0600)."
        ),
    )

    index_key: SecretStr | None = Field(
        default=None,
        description=(
            "The document index's key (base64 of 16 to 64 bytes): the HMAC that leads from a document to its index entry. "
            "Kept apart from the master key and the store, so that the store and the master key together cannot confirm "
            "a guessed document number. Unset: read from, or first generated into, `index_key_file`."
        ),
    )
    index_key_file: Path | None = Field(
        default=None,
        description="Where the document index's key is kept when `index_key` is unset: <var_dir>/keys/engagement-index.key "
        "by default (the embedded default only; in production give ENGAGEMENT_INDEX_KEY from a secret store).",
    )

    @field_validator("index_key")
    @classmethod
    def _index_key_reads(cls, key: SecretStr | None) -> SecretStr | None:
        """Refused at start unless base64 of 16 to 64 bytes: it was refused once the service opened its store, in a
        traceback (tester 166 F3)."""
        if key is not None and (why := key_fault(key.get_secret_value(), INDEX_KEY_SIZES, INDEX_KEY_FORM)):
            raise ValueError(why)
        return key

    @property
    def index_key_path(self) -> Path:
        """The document index's key file: ``index_key_file``, else <var_dir>/keys/engagement-index.key."""
        return self.index_key_file or self.var_dir / "keys" / "engagement-index.key"

    def resolve_index_key(self) -> bytes:
        """The document index's HMAC key: the setting, else the key file's, generating the file the first time."""
        text = self.index_key.get_secret_value() if self.index_key is not None else read_or_create_key(self.index_key_path)
        if (why := key_fault(text, INDEX_KEY_SIZES, INDEX_KEY_FORM)) is not None:  # the key file's (the setting's was checked)
            raise ValueError(f"ENGAGEMENT_INDEX_KEY {why}")
        return base64.b64decode(text.strip(), validate=True)

