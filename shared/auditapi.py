"""The auditors' API of a service's hash-chained store: ``GET /chain`` and ``GET /verify`` (``audit:verify``), with
their answers' shapes. :class:`shared.web.Runtime` does the checking (``Runtime.verify``); see ``shared/chain.py``
for how each hash is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, Field

from shared.auth import Permission, requires
from shared.chaincheck import chain_page
from shared.problems import MAX_POSITION

if TYPE_CHECKING:
    from shared.web import Runtime


class ChainEntry(BaseModel):
    position: int = Field(description="A position of the store's log (a notification id).")
    digest: str | None = Field(description="SHA-256 of the stored event's columns (its stored bytes); null if the chain names a position the store no longer holds.")
    hash: str | None = Field(description="The chain's hash at this position, as the store recorded it.")


class ChainPage(BaseModel):
    """A page of the store's hash chain (see ``shared/chain.py`` for how each hash is made)."""

    service: str = Field(description="The service whose store this is: `osv-verify --feed` checks it is the one it was named.")
    after: int
    next_after: int = Field(description="Pass as `after` to read on; equals `after` when the page is empty.")
    entries: list[ChainEntry]


class VerifyFailure(BaseModel):
    position: int | None = Field(description="The first position that fails; null when the failure has none.")
    reason: str


class VerifyAnswer(BaseModel):
    """What `GET /verify` found, at the moment it was asked."""

    service: str
    ok: bool
    events_checked: int
    head: dict[str, Any] | None = Field(description="The chain's head recomputed from the stored events: position and hash.")
    heads_checked: int = Field(description="Chain heads published to the OSV_CHAIN_HEADS bucket that were checked.")
    heads_source: str = Field(description="`OSV_CHAIN_HEADS`, or why the published heads could not be read (then only the store's own chain was checked).")
    snapshots_checked: int = Field(
        default=0,
        description="Snapshots the service reads (outside the chain), each checked against its aggregate replayed from its events; "
        "one that differs (changed in the store) is the failure, without a position.",
    )
    first_failure: VerifyFailure | None


def install_audit(api: FastAPI, runtime: Runtime) -> None:
    """``GET /chain`` and ``GET /verify``, for auditors: the service's hash-chained store (:attr:`Runtime.store`), checked
    against its chain and every head given out."""
    auditors = [Depends(requires(Permission.AUDIT_VERIFY))]

    @api.get("/chain", tags=["audit"], response_model=ChainPage, dependencies=auditors)
    def read_chain(
        after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="Return positions after this one.")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000, description="At most this many positions.")] = 500,
    ) -> ChainPage:
        """List each stored position's record digest and hash-chain hash (private events too), and the service, for `osv-verify --feed`."""
        return ChainPage.model_validate({"service": runtime.settings.service_name, **chain_page(runtime.store, after, limit)})

    @api.get("/verify", tags=["audit"], response_model=VerifyAnswer, dependencies=auditors)
    async def verify_log() -> VerifyAnswer:
        """Check the store against its hash chain and every chain head published to OSV_CHAIN_HEADS, and each snapshot against its events; name the first failure."""
        return await runtime.verify()
