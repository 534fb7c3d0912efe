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
import binascii
import contextlib
import os
from pathlib import Path

from eventsourcing.cryptography import AESCipher
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.files import private_dir
from shared.settings import ServiceSettings

KEY_BYTES = 32


class EngagementSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ENGAGEMENT_", extra="ignore")

    service_name: str = "engagement"
    port: int = 8003
    master_key: SecretStr | None = Field(
        default=None,
        description=(
            "Master key (base64 of 16, 24 or 32 bytes): wraps each person's data key, and yields the store "
            "cipher's key and the document index's HMAC key. "
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

    @property
    def master_key_file(self) -> Path:
        return self.service_dir / "master.key"

    def resolve_index_key(self) -> bytes:
        """The document index's HMAC key: the setting, else the key file's, generating the file the first time."""
        text = self.index_key.get_secret_value() if self.index_key is not None else read_or_create_key(
            self.index_key_file or self.var_dir / "keys" / "engagement-index.key"
        )
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except binascii.Error:
            raise ValueError("ENGAGEMENT_INDEX_KEY must be base64 encoded") from None
        if not 16 <= len(key) <= 64:
            raise ValueError("ENGAGEMENT_INDEX_KEY must be 16 to 64 bytes")
        return key

    def resolve_master_key(self) -> str:
        """The configured key, else the key file's, generating the file the first time."""
        if self.master_key is not None:
            return self.master_key.get_secret_value()
        return read_or_create_key(self.master_key_file)


def read_or_create_key(path: Path) -> str:
    """Read the key file; if there is none, write a new key readable by the owner only.

    The new key is written and synced to a private temporary file, then linked
    into place, so a concurrent start never reads a half-written key: whoever
    links second reads the first one's key.
    """
    if not path.exists():
        private_dir(path.parent)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (AESCipher.create_key(KEY_BYTES) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_text().strip()
