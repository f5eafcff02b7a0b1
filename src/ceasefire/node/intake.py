"""The node's intake: the center's checks and enrichment, then signed into the outbox.

Why a subclass of the center's :class:`~ceasefire.ingest.pipeline.Intake`: a record is checked
at the node exactly as the center will check it (its contingent, the mission's period, a
location), so what the node accepts the center accepts too, and refusals reach the node's own
operators at once rather than days later. The CoT listeners, the file adapters and the node's
HTTP intake all feed it as they feed the center's intake.
"""

from __future__ import annotations

from typing import Any

import orjson

from ceasefire.geo.engine import Enricher
from ceasefire.ingest.pipeline import CONTROLLED_BY, RECORD, ZONES, Intake
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.origin import sign_records
from ceasefire.mission.model import Mission
from ceasefire.node.outbox import NewRecord, Outbox
from ceasefire.observations import format_time


class NodeIntake(Intake):
    """Checks and enriches like the center's intake, signs, and stores into the outbox."""

    def __init__(
        self,
        outbox: Outbox,
        mission: Mission,
        signer: Ed25519Signer,
        enricher: Enricher | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            outbox.engine,
            mission,
            0,
            enricher=enricher,
            contingent=outbox.contingent,
            correlate="off",
            **options,
        )
        self.outbox = outbox
        self.signer = signer

    def flush(self) -> None:
        pending = self._take_pending()
        tracks, self._tracks = self._tracks, []
        if not pending and not tracks:
            return
        new: list[NewRecord] = []
        if pending:
            tails = self._tails(pending)
            # One Ed25519 signature per group of records, not per record (ledger.origin).
            signatures = sign_records(self.signer, [p.canonical for p in pending])
            for p, tail, signature in zip(pending, tails, signatures, strict=True):
                new.append(
                    NewRecord(
                        "observation",
                        p.observation.id,
                        p.head[RECORD],
                        signature,
                        p.source,
                        tail[ZONES],
                        tail[CONTROLLED_BY],
                        p.digest,
                    )
                )
        for t in tracks:
            t["contingent"] = t["contingent"] or self.contingent
            body = orjson.dumps({**t, "time": format_time(t["time"])}).decode("utf-8")
            new.append(
                NewRecord("track", f"{t['platform_id']}@{t['time']}", body, None, t["source"])
            )
        outcomes = self.outbox.add(new)
        self.result.track_points += outcomes[len(pending) :].count("accepted")
        for p, outcome in zip(pending, outcomes, strict=False):
            if outcome == "conflict":
                self._refuse_taken_id(p)
            else:
                self._outcome("accepted" if outcome == "accepted" else "duplicate", p)
