"""Over JetStream a node lets only a few batches wait for the center's answer: the records
received meanwhile go in fuller batches, not in ever more small ones."""

from __future__ import annotations

from pathlib import Path

from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.origin import intake_key_name
from ceasefire.node.jetstream import IN_FLIGHT, JetStreamTransport
from ceasefire.node.outbox import NewRecord, Outbox

SIGNER = Ed25519Signer.generate(intake_key_name("ceasefire/test", "RU"))


def _add(outbox: Outbox, first: int, n: int) -> None:
    outbox.add(
        NewRecord("observation", f"RU-{i}", f'{{"id":"RU-{i}"}}', None, "test")
        for i in range(first, first + n)
    )


def test_batches_wait_while_too_many_are_unanswered(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db", "RU")
    try:
        sent = []
        for k in range(2):
            _add(outbox, 10 * k, 3)
            batch = outbox.next_batch(SIGNER, 1000, in_flight=2)
            assert batch is not None and batch.records == 3
            outbox.delivered(batch.sequence)
            sent.append(batch.sequence)
        _add(outbox, 100, 5)
        assert outbox.next_batch(SIGNER, 1000, in_flight=2) is None  # two wait for answers
        outbox.answered(sent[0], {"results": []})
        _add(outbox, 200, 4)
        fuller = outbox.next_batch(SIGNER, 1000, in_flight=2)
        assert fuller is not None and fuller.records == 5 + 4
        # without a limit (HTTP: each batch is answered before the next) nothing waits
        _add(outbox, 300, 1)
        assert outbox.next_batch(SIGNER, 1000) is not None
    finally:
        outbox.close()


def test_the_records_received_while_waiting_go_in_one_batch(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db", "RU")
    try:
        _add(outbox, 0, 2)
        first = outbox.next_batch(SIGNER, 1000, in_flight=1)
        assert first is not None
        outbox.delivered(first.sequence)
        for k in range(5):  # five receipts while the center is behind
            _add(outbox, 10 + 10 * k, 2)
            assert outbox.next_batch(SIGNER, 1000, in_flight=1) is None
        outbox.answered(first.sequence, {"results": []})
        second = outbox.next_batch(SIGNER, 1000, in_flight=1)
        assert second is not None and second.records == 10
    finally:
        outbox.close()


def test_jetstream_transport_limits_batches_in_flight() -> None:
    assert JetStreamTransport.max_in_flight == IN_FLIGHT >= 1
