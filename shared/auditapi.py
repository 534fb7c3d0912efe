"""The auditors' API of a service's hash-chained store: ``GET /chain`` and ``GET /verify`` (``audit:verify``), with
their answers' shapes. :class:`shared.web.Runtime` does the checking (``Runtime.verify``); see ``shared/chain.py``
for how each hash is made.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, Field

from shared.auth import Permission, requires
from shared.chaincheck import chain_page
from shared.problems import MAX_POSITION
from shared.restore import accepted_losses

if TYPE_CHECKING:
    from shared.web import Runtime


class ChainEntry(BaseModel):
    position: int = Field(description="A position of the store's log (a notification id).")
    digest: str | None = Field(description="SHA-256 of the stored event's columns (its stored bytes); null if the chain names a position the store no longer holds.")
    hash: str | None = Field(description="The chain's hash at this position, as the store recorded it.")


class AcceptedLossRecord(BaseModel):
    """An `osv-restore accept-tail` record (private `StreamTailAccepted`): the operator accepted that the stream's events
    after `shared_position` are not in this store."""

    position: int = Field(description="Where the record stands in the log: the last position given out when it was recorded.")
    accepted_at: str | None = Field(description="When it was recorded (RFC 3339); null if the record could not be read.")
    shared_position: int | None = Field(description="The last position store and stream shared then.")
    stream_position: int | None = Field(description="The stream's last position then.")
    head_given_out: int | None = Field(description="The highest chain head given out then (0 if none).")
    lost: int | None = Field(description="How many of the stream's events the store lacks (partners and reporting keep them).")
    moved: int | None = Field(description="How many of the store's unpublished events were moved past the record.")


class ChainPage(BaseModel):
    """A page of the store's hash chain (see ``shared/chain.py`` for how each hash is made)."""

    service: str = Field(description="The service whose store this is: `osv-verify --feed` checks it is the one it was named.")
    after: int
    next_after: int = Field(description="Pass as `after` to read on; equals `after` when the page is empty.")
    entries: list[ChainEntry]
    accepted_losses: list[AcceptedLossRecord] = Field(
        default_factory=list,
        description="The `osv-restore accept-tail` records among this page's positions: `osv-verify --feed` does not check "
        "heads given out in the gap each accounts for, and says so.",
    )


class AcceptedLossFound(AcceptedLossRecord):
    """An accept-tail record as the check found it in the chain."""

    lost_after: int = Field(description="It accounts for the positions after this one up to its own: the store holds none of them but the record.")
    heads_in_it: list[int] = Field(
        description="Positions of heads given out there, each once (a key holds a head put again as another revision): "
        "they named events of the lost tail, and are not checked."
    )
    heads_in_it_differing: list[int] = Field(
        default_factory=list,
        description="Those of `heads_in_it` whose heads carry different hashes: the lost log there changed between them.",
    )
    heads_of_record: int = Field(
        default=0,
        description="Heads given out at the record's own position that give its chain hash (put while the record was the "
        "store's last event, by an accept-tail that recorded no notice after it): checked, and they agree.",
    )
    heads_after: int = Field(description="Heads given out after the record that agree with the chain.")
    heads_after_failing: int = Field(
        default=0, description="Heads given out after the record that do not agree with the chain (then `outcome` is `failed`)."
    )


class VerifyFailure(BaseModel):
    position: int | None = Field(description="The first position that fails; null when the failure has none.")
    reason: str


class VerifyAnswer(BaseModel):
    """What `GET /verify` found, at the moment it was asked."""

    service: str
    ok: bool = Field(description="True only when nothing failed and the log holds no accepted loss (`outcome` `ok`).")
    outcome: str = Field(
        description="`ok`; `accepted_loss`: the chain holds, and an operator accepted that the stream's tail is not in the "
        "store (`osv-restore accept-tail`, named in `accepted_losses`: not tampering, but never a silent pass); `failed`."
    )
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
    accepted_losses: list[AcceptedLossFound] = Field(
        default_factory=list, description="Each `osv-restore accept-tail` record in the log, and the heads given out in the gap it accounts for."
    )


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
        page = chain_page(runtime.store, after, limit)
        accepted = [asdict(a) for a in accepted_losses(runtime.store, after, page["next_after"])] if page["entries"] else []
        return ChainPage.model_validate({"service": runtime.settings.service_name, **page, "accepted_losses": accepted})

    @api.get("/verify", tags=["audit"], response_model=VerifyAnswer, dependencies=auditors)
    async def verify_log() -> VerifyAnswer:
        """Check the store against its hash chain and every chain head published to OSV_CHAIN_HEADS, and each snapshot against its events; name the first failure."""
        return await runtime.verify()
