"""The auditor's NATS user reads the chain heads' bucket as nats-py reads a bucket, and may do nothing else there.

A real nats-server with the programme's accounts (:mod:`devtools.nats_accounts`): the services put the heads with
their own user, the auditor signs in with ``auditor_password`` as ``osv-verify --nats`` does.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig

from devtools.embedded import NatsServer
from shared.chainheads import (
    HEADS_BUCKET,
    HEADS_CONSUMER_SECONDS,
    HEADS_STREAM,
    ensure_heads_bucket,
    head_key,
    read_heads,
)

KEYS = [head_key("registry", position) for position in (3, 5)] + [head_key("funding", 2)]
HEAD = json.dumps({"service": "registry", "position": 5, "hash": "ab" * 32}).encode()
SERVICES_READER = "services-reader"
"""A consumer the services made on the heads stream (as ``GET /verify`` reads the heads), which the auditor must not end."""


async def all_answered(nc: Any) -> None:
    """Return once the server has taken everything sent before, each refusal noted: a request it answers in turn (nats-py's
    ``flush`` writes its PING ahead of the commands still buffered, so a refusal could come after its PONG). The heads
    stream's info: a request the auditor may make."""
    await nc.jetstream(timeout=5).stream_info(HEADS_STREAM)


async def heads_put(url: str) -> None:
    """As the services: registry's stream with one event, the heads bucket with :data:`KEYS`, and a consumer of theirs on it."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream(timeout=5)
        await js.add_stream(name="OSV_REGISTRY", subjects=["osv.registry.>"])
        await js.publish("osv.registry.150132.OSVMapped", b"{}")
        kv = await ensure_heads_bucket(js)
        for key in KEYS:
            await kv.put(key, HEAD)
        await js.add_consumer(HEADS_STREAM, ConsumerConfig(name=SERVICES_READER, inactive_threshold=HEADS_CONSUMER_SECONDS))
    finally:
        await nc.close()


async def services_reader_there(url: str) -> bool:
    nc = await nats.connect(url)
    try:
        return SERVICES_READER in {info.name for info in await nc.jetstream(timeout=5).consumers_info(HEADS_STREAM)}
    finally:
        await nc.close()


def test_the_auditors_nats_user_lists_the_heads_with_the_key_value_api_and_may_write_nothing_nor_read_another_stream(
    nats_server: NatsServer,
) -> None:
    """Tester 285 F5: nats-py's `kv.keys()` and `kv.history()` failed for the auditor, on `CONSUMER.INFO` of the
    bucket's stream (and, past some thousand heads, on answering the ordered consumer's flow control)."""
    refused = [
        f"$KV.{HEADS_BUCKET}.{head_key('registry', 9)}",  # a head put
        f"$JS.API.STREAM.PURGE.{HEADS_STREAM}",
        f"$JS.API.STREAM.MSG.DELETE.{HEADS_STREAM}",
        f"$JS.API.STREAM.UPDATE.{HEADS_STREAM}",
        "$JS.API.STREAM.NAMES",
        "$JS.API.STREAM.INFO.OSV_REGISTRY",
        "$JS.API.STREAM.MSG.GET.OSV_REGISTRY",
        "$JS.API.DIRECT.GET.OSV_REGISTRY",
        "$JS.API.CONSUMER.CREATE.OSV_REGISTRY",
        "$JS.API.CONSUMER.INFO.OSV_REGISTRY.reporting",
        "$JS.FC.OSV_REGISTRY.reporting.x",
        "osv.registry.150132.OSVMapped",
    ]

    async def story() -> None:
        await heads_put(nats_server.url)
        errors: list[str] = []

        async def note(error: Exception) -> None:
            errors.append(str(error))

        auditor = await nats.connect(nats_server.auditor_url, error_cb=note)
        try:
            kv = await auditor.jetstream(timeout=5).key_value(HEADS_BUCKET)
            assert sorted(await kv.keys()) == sorted(KEYS)
            history = await kv.history(KEYS[1])
            assert [entry.value for entry in history] == [HEAD]
            assert (await kv.get(KEYS[1])).value == HEAD
            assert (await kv.get(KEYS[1], revision=history[0].revision)).value == HEAD
            # osv-verify --nats reads every head with a pull consumer of its own.
            assert [head.hash for head in await read_heads(auditor.jetstream(timeout=5), "registry")] == ["ab" * 32] * 2
            # An ordered consumer's flow control, which the server asks for once many heads are on their way.
            await auditor.publish(f"$JS.FC.{HEADS_STREAM}.consumer.x", b"")
            await all_answered(auditor)
            assert errors == []

            for subject in refused:
                await auditor.publish(subject, b"{}", reply=auditor.new_inbox())
            await auditor.subscribe("osv.>")
            await all_answered(auditor)
            denied = " ".join(errors).lower()
            assert [s for s in refused if f'publish to "{s.lower()}"' not in denied] == [], errors
            assert 'subscription to "osv.>"' in denied, errors
            with pytest.raises(Exception):  # noqa: B017 - no put: refused, so never acknowledged
                await (await auditor.jetstream(timeout=1).key_value(HEADS_BUCKET)).put(head_key("registry", 9), HEAD)
            assert sorted(await kv.keys()) == sorted(KEYS)
        finally:
            await auditor.close()

    asyncio.run(story())


def test_the_auditor_makes_no_durable_nor_long_lived_consumer_deletes_none_and_reads_no_account_totals(
    nats_server: NatsServer,
) -> None:
    """A tester found the auditor could make named consumers on the heads stream that lived a year, delete any consumer
    there (a service's, another reader's) and read the account's totals (``$JS.API.INFO``). It keeps what nats-py's
    ``kv.get()``, ``kv.keys()`` and ``kv.history()`` use: the ephemeral-only consumer create, whose consumers the server
    removes once unread for :data:`HEADS_CONSUMER_SECONDS`."""
    refused = [
        "$JS.API.INFO",
        f"$JS.API.CONSUMER.CREATE.{HEADS_STREAM}.{SERVICES_READER}",  # a consumer named in the subject
        f"$JS.API.CONSUMER.CREATE.{HEADS_STREAM}.kept.$KV.{HEADS_BUCKET}.registry",  # and its filtered form
        f"$JS.API.CONSUMER.DURABLE.CREATE.{HEADS_STREAM}.kept",
        f"$JS.API.CONSUMER.DELETE.{HEADS_STREAM}.{SERVICES_READER}",
        f"$JS.API.CONSUMER.LIST.{HEADS_STREAM}",
        f"$JS.API.CONSUMER.NAMES.{HEADS_STREAM}",
    ]
    year = 365 * 24 * 3600 * 10**9  # nanoseconds, as the API takes them

    async def story() -> None:
        await heads_put(nats_server.url)
        errors: list[str] = []

        async def note(error: Exception) -> None:
            errors.append(str(error))

        auditor = await nats.connect(nats_server.auditor_url, error_cb=note)
        try:
            for subject in refused:
                await auditor.publish(subject, b"{}", reply=auditor.new_inbox())
            await all_answered(auditor)
            denied = " ".join(errors).lower()
            assert [s for s in refused if f'publish to "{s.lower()}"' not in denied] == [], errors

            # The create it keeps: the server takes no durable there, nor a consumer asking to be kept a year unread.
            async def created(config: dict[str, Any]) -> dict[str, Any]:
                request = json.dumps({"stream_name": HEADS_STREAM, "config": {"ack_policy": "none", **config}}).encode()
                return json.loads((await auditor.request(f"$JS.API.CONSUMER.CREATE.{HEADS_STREAM}", request, timeout=5)).data)

            assert (await created({"durable_name": "kept"}))["error"]["err_code"] == 10020  # ephemeral expected
            assert (await created({"name": "a-year", "inactive_threshold": year}))["error"]["err_code"] == 10153  # past the limit
            ephemeral = await created({})
            assert ephemeral["config"]["inactive_threshold"] == HEADS_CONSUMER_SECONDS * 10**9, ephemeral
        finally:
            await auditor.close()
        assert await services_reader_there(nats_server.url)  # not deleted

    asyncio.run(story())
