"""Fixtures of the node tests: the machine's NATS server and streams of a test's own.

Against the machine's NATS server (CEASEFIRE_TEST_NATS, default nats://127.0.0.1:4222); with
CI=true a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

import nats
import pytest
from node_support import reachable

from ceasefire.mission import Mission
from ceasefire.node.jetstream import stream_name

NATS_URL = os.environ.get("CEASEFIRE_TEST_NATS", "nats://127.0.0.1:4222")


@pytest.fixture
def nats_url() -> str:
    if not reachable(NATS_URL):
        message = f"NATS is not reachable at {NATS_URL} (scripts/services.sh starts it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return NATS_URL


@pytest.fixture
def namespace(nats_url: str, demo_mission: Mission) -> Iterator[str]:
    """Streams of this test's own, deleted afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name

    async def clean() -> None:
        client = await nats.connect(nats_url)
        js = client.jetstream()
        for c in demo_mission.contingent_ids():
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream_name(name, demo_mission.id, c))
        await client.close()

    asyncio.run(clean())
