"""The nodes' link plugged into the center: the batch route (and, with NATS, the consumer).

Why a capability: the center (:class:`~ceasefire.center.Center`) takes the nodes' batches
through the same hooks as any other part, so ``ceasefire serve``, the tests and the demo get
the route without wiring it by hand.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Literal

import orjson
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ceasefire.i18n import language
from ceasefire.node.receive import SIGNATURE_HEADER, BatchRefused, Receiver

if TYPE_CHECKING:
    from ceasefire.center import Center

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024


def receiver(center: Center) -> Receiver:
    return Receiver(center.engine, center.mission, center.mission_row, center.enricher, center.lock)


def plug(center: Center) -> None:
    center.add_router(router)
    center.add_job(consumer_job)


class ConsumerJob:
    """The JetStream consumer running beside the API (``ceasefire serve --nats URL``)."""

    def __init__(self, center: Center, url: str) -> None:
        from ceasefire.node.jetstream import Consumer

        take = receiver(center)
        take.correlate = "off"  # jobs run in `ceasefire serve`, whose follower makes incidents
        self.consumer = Consumer(take, url, center.mission.contingent_ids())
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.consumer.run(self.stopping))

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task


def consumer_job(center: Center) -> ConsumerJob | None:
    url = center.settings.nats
    return ConsumerJob(center, url) if url else None


def router(center: Center) -> APIRouter:
    """``POST /api/v1/nodes/{contingent}/batches`` (docs/nodes.md)."""
    from ceasefire.api import problems
    from ceasefire.api.app import _read_body
    from ceasefire.api.params import request_language
    from ceasefire.api.problems import Problem

    api = APIRouter(prefix="/api/v1")
    take = receiver(center)

    @api.post(
        "/nodes/{contingent}/batches",
        summary="A contingent node's signed batch; each record comes back accepted, duplicate "
        "or rejected",
        responses=problems.responses(400, 403, 409, 413),
        tags=["nodes"],
    )
    async def post_node_batch(
        contingent: str, request: Request, signature: str = Header(alias=SIGNATURE_HEADER)
    ) -> Response:
        payload = await _read_body(request, MAX_BODY_BYTES)
        lang = request_language(request)

        def run() -> dict[str, Any]:
            # incidents: the follower's, if one runs on this store; else made with the batch
            correlate: Literal["streaming", "off"] = (
                "off" if center.follower_alive() else "streaming"
            )
            with language(lang):
                return take.receive(contingent, payload, signature, correlate)

        try:
            answer = await run_in_threadpool(run)
        except BatchRefused as refused:
            log.warning("node batch of %s refused: %s", contingent[:8], refused.reason)
            kind = {403: problems.FORBIDDEN, 409: problems.CONFLICT}
            raise Problem(
                refused.status, refused.reason, type=kind.get(refused.status, problems.INVALID_BODY)
            ) from None
        return Response(orjson.dumps(answer), media_type="application/json")

    return api
