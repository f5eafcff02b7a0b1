"""Release bundles: made from the database, checked offline; tampering, rollback and forks are
caught; and any RFC 9162 implementation can check one (shown with hashlib and cryptography)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from test_store_support import ingest, keyring, record

from ceasefire.errors import InputError
from ceasefire.geo import Enricher
from ceasefire.ledger import CosignatureSigner, log
from ceasefire.ledger.bundle import BundleError, verify_bundle
from ceasefire.ledger.entry import parse_envelope
from ceasefire.ledger.keys import KeyRing
from ceasefire.ledger.release import Selection, build_bundle, write_release
from ceasefire.mission import Mission
from ceasefire.store import open_database

OBS = "observation"
Bundle = dict[str, Any]


class Center:
    """A center's database and keys, releasing bundles."""

    def __init__(self, path: Path, ring: KeyRing) -> None:
        self.engine = open_database(f"sqlite:///{path}")
        self.ring = ring
        self.path = path

    def release(self, to: str, refs: list[str] | None, since: tuple[int, ...] = ()) -> Bundle:
        out = self.path.with_name(
            f"{self.path.stem}-{to}-{len(list(self.path.parent.iterdir()))}.json"
        )
        write_release(
            self.engine, self.ring, out, to, [Selection(OBS, tuple(refs) if refs else None)], since
        )
        data: Bundle = json.loads(out.read_text(encoding="utf-8"))
        return data


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, demo_mission: Mission, demo_enricher: Enricher
) -> Iterator[dict[str, Any]]:
    """An honest center with two releases, and a forked copy of it holding all the keys."""
    tmp = tmp_path_factory.mktemp("bundles")
    ring = keyring(tmp / "keys", demo_mission)
    honest = Center(tmp / "honest.db", ring)
    ingest(honest.engine, demo_mission, demo_enricher, [record(i) for i in range(5)])
    first = honest.release("AM", ["RU/RU-T00001", "RU/RU-T00003"])
    ingest(honest.engine, demo_mission, demo_enricher, [record(i, "TR") for i in range(4)])
    second = honest.release("AM", None)  # the same party: proofs from its own first release
    # The fork: someone with every key (or the contingents colluding) shows another history,
    # of the same size as the first release's and then grown past it.
    forked = Center(tmp / "fork.db", ring)
    ingest(
        forked.engine, demo_mission, demo_enricher, [record(i, remarks="other") for i in range(5)]
    )
    same_size = forked.release("AM", ["RU/RU-T00001"])
    ingest(
        forked.engine, demo_mission, demo_enricher, [record(i, "TR", remarks="x") for i in range(6)]
    )
    grown = forked.release("AM", ["RU/RU-T00001"], since=(first["log_size"],))
    yield {
        "ring": ring,
        "honest": honest,
        "first": first,
        "second": second,
        "same_size": same_size,
        "grown": grown,
    }
    honest.engine.dispose()
    forked.engine.dispose()


def trusted(ring: KeyRing) -> list[str]:
    return [vkey for _holder, vkey in ring.vkeys()]


def test_good_bundles_verify(world: dict[str, Any]) -> None:
    first, second, ring = world["first"], world["second"], world["ring"]
    report = verify_bundle(json.dumps(first), trusted_keys=trusted(ring))
    assert (report.origin, report.log_size, report.released_to, report.entries) == (
        "ceasefire/karabakh-2020",
        8,
        "AM",
        2,
    )
    assert sorted(report.cosigners) == [ring.cosigner_verifiers[c].name for c in ("RU", "TR")]
    assert not report.warnings
    refs = [parse_envelope(e["record"]).ref for e in first["entries"]]
    assert refs == ["RU/RU-T00001", "RU/RU-T00003"]
    # The second release proves consistency from the first release's size (logged as a
    # "release" entry), so the party that kept the first bundle can check it.
    assert [p["old_size"] for p in second["consistency_proofs"]] == [8]
    report = verify_bundle(json.dumps(second), previous_checkpoint=json.dumps(first))
    assert report.consistent_with == 8 and report.entries == 9
    assert report.warnings  # keys taken from the bundle itself
    # The same checkpoint as "previous" is consistent (same size, same root).
    assert verify_bundle(second, previous_checkpoint=second["checkpoint"]).consistent_with == 13


def test_the_release_is_logged(world: dict[str, Any]) -> None:
    center: Center = world["honest"]
    with center.engine.connect() as db:
        releases = log.entries_of(db, "release")
    records = [parse_envelope(e.entry).record for e in releases]
    assert [(r["released_to"], r["log_size"]) for r in records] == [("AM", 8), ("AM", 13)]
    assert records[0]["entries"] == [e["index"] for e in world["first"]["entries"]]


def test_unknown_refs_are_refused(world: dict[str, Any]) -> None:
    center: Center = world["honest"]
    with pytest.raises(InputError, match="RU/RU-T09999"):
        build_bundle(center.engine, center.ring, "AM", [Selection(OBS, ("RU/RU-T09999",))])


def flip(text: str) -> str:
    """The base64 text with one bit of its last byte flipped."""
    raw = bytearray(base64.b64decode(text))
    raw[-1] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def other_cosigner(ring: KeyRing, contingent: str) -> str:
    return CosignatureSigner.generate(ring.cosigner_verifiers[contingent].name).vkey


TAMPERING: dict[str, tuple[Callable[[Bundle, KeyRing], None], str]] = {
    "record edited": (
        lambda b, r: b["entries"][0].update(
            record=b["entries"][0]["record"].replace("T00001", "T00002")
        ),
        "entry 0 (log index 1): the record is not proven",
    ),
    "record moved to another index": (
        lambda b, r: b["entries"][0].update(index=2),
        "entry 0 (log index 2): the record is not proven",
    ),
    "proof hash flipped": (
        lambda b, r: b["entries"][1]["inclusion_proof"].__setitem__(
            0, flip(b["entries"][1]["inclusion_proof"][0])
        ),
        "entry 1 (log index 3): the record is not proven",
    ),
    "proof truncated": (
        lambda b, r: b["entries"][1]["inclusion_proof"].pop(),
        "fewer hashes",
    ),
    "proof lengthened": (
        lambda b, r: b["entries"][1]["inclusion_proof"].append(
            b["entries"][1]["inclusion_proof"][0]
        ),
        "more hashes",
    ),
    "proof hash not 32 bytes": (
        lambda b, r: b["entries"][1]["inclusion_proof"].__setitem__(0, "AAAA"),
        "not a base64 32-byte hash",
    ),
    "checkpoint size edited": (
        lambda b, r: b.update(checkpoint=b["checkpoint"].replace("\n8\n", "\n9\n", 1)),
        "invalid signature",
    ),
    "checkpoint cosignature removed": (
        lambda b, r: b.update(
            checkpoint="".join(
                line + "\n"
                for line in b["checkpoint"].splitlines()
                if not line.startswith("— " + r.cosigner_verifiers["TR"].name + " ")
            )
        ),
        "lacks a valid signature of: ceasefire/karabakh-2020/TR",
    ),
    "checkpoint signature flipped": (
        lambda b, r: b.update(
            checkpoint=b["checkpoint"].replace(
                b["checkpoint"].split("\n")[-2].split(" ")[-1],
                flip(b["checkpoint"].split("\n")[-2].split(" ")[-1]),
            )
        ),
        "checkpoint does not verify",
    ),
    "cosigner key replaced": (
        lambda b, r: b["verifier_keys"].__setitem__(
            b["verifier_keys"].index(r.cosigner_verifiers["TR"].vkey), other_cosigner(r, "TR")
        ),
        "lacks a valid signature of: ceasefire/karabakh-2020/TR",
    ),
    "key corrupted": (
        lambda b, r: b["verifier_keys"].__setitem__(0, b["verifier_keys"][0][:-3] + "abc"),
        "is malformed",
    ),
    "log key removed": (
        lambda b, r: b["verifier_keys"].pop(0),
        "exactly one log key",
    ),
    "log size edited": (lambda b, r: b.update(log_size=9), "not the bundle's log_size 9"),
    "origin edited": (lambda b, r: b.update(origin="ceasefire/other"), "not the bundle's origin"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_is_detected(world: dict[str, Any], name: str) -> None:
    tamper, message = TAMPERING[name]
    bundle = copy.deepcopy(world["first"])
    tamper(bundle, world["ring"])
    with pytest.raises(BundleError) as refused:
        verify_bundle(json.dumps(bundle, ensure_ascii=False))
    assert any(message in p for p in refused.value.problems), refused.value.problems


def test_a_cosigner_dropped_with_its_key_is_caught_by_trusted_keys(world: dict[str, Any]) -> None:
    ring: KeyRing = world["ring"]
    bundle = copy.deepcopy(world["first"])
    tr = ring.cosigner_verifiers["TR"]
    bundle["verifier_keys"].remove(tr.vkey)
    bundle["checkpoint"] = "".join(
        line + "\n" for line in bundle["checkpoint"].splitlines() if f" {tr.name} " not in line
    )
    verify_bundle(bundle)  # consistent on its own terms...
    with pytest.raises(BundleError, match="no key of trusted cosigner ceasefire/karabakh-2020/TR"):
        verify_bundle(bundle, trusted_keys=trusted(ring))  # ...but not with the keys one trusts


def test_rollback_and_split_views_are_detected(world: dict[str, Any]) -> None:
    first, second = world["first"], world["second"]
    with pytest.raises(BundleError, match="rollback: the bundle's checkpoint has size 8"):
        verify_bundle(first, previous_checkpoint=second["checkpoint"])
    # The forked log verifies on its own (it holds every key)...
    verify_bundle(world["grown"])
    verify_bundle(world["same_size"])
    # ...but not against a checkpoint kept from the honest log.
    with pytest.raises(BundleError, match="split view: the kept checkpoint and the bundle's have"):
        verify_bundle(world["same_size"], previous_checkpoint=first["checkpoint"])
    with pytest.raises(BundleError, match=r"split view: the bundle's log \(size \d+\) does not"):
        verify_bundle(world["grown"], previous_checkpoint=first["checkpoint"])
    without = copy.deepcopy(world["grown"])
    without["consistency_proofs"] = []
    with pytest.raises(BundleError, match="no consistency proof from the kept checkpoint's size 8"):
        verify_bundle(without, previous_checkpoint=first["checkpoint"])


# --- any RFC 9162 implementation can check a bundle: here with hashlib and cryptography only ---


def independent_check(bundle: Bundle) -> int:
    """Check signatures and inclusion proofs from the specs alone; the number of records."""
    note: str = bundle["checkpoint"]
    body, _, block = note.rpartition("\n\n")
    text = (body + "\n").encode()
    keys: dict[tuple[str, bytes], tuple[int, Ed25519PublicKey]] = {}
    for vkey in bundle["verifier_keys"]:  # C2SP signed-note: name+hex(key id)+base64(type||key)
        name, key_id, material = vkey.split("+", 2)
        raw = base64.b64decode(material)
        assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_id
        keys[(name, bytes.fromhex(key_id))] = (raw[0], Ed25519PublicKey.from_public_bytes(raw[1:]))
    signed = set()
    for line in block.rstrip("\n").split("\n"):
        assert line.startswith("\u2014 ")
        name, signature = line[2:].split(" ")
        blob = base64.b64decode(signature)
        kind, public = keys[(name, blob[:4])]
        if kind == 0x01:  # the log's Ed25519 signature over the checkpoint text
            public.verify(blob[4:], text)
        else:  # tlog-cosignature/v1: 8-byte timestamp, then Ed25519 over the cosigned message
            assert kind == 0x04
            stamp = int.from_bytes(blob[4:12], "big")
            public.verify(blob[12:], b"cosignature/v1\ntime %d\n" % stamp + text)
        signed.add(name)
    assert signed == {name for name, _id in keys}  # every listed key signed
    origin, size_line, root_line = body.split("\n")[:3]
    size, root = int(size_line), base64.b64decode(root_line)
    assert origin == bundle["origin"] and size == bundle["log_size"]
    for item in bundle["entries"]:  # RFC 9162 section 2.1.3.2
        fn, sn = item["index"], size - 1
        r = hashlib.sha256(b"\x00" + item["record"].encode()).digest()
        for p in (base64.b64decode(h) for h in item["inclusion_proof"]):
            assert sn != 0
            if fn & 1 or fn == sn:
                r = hashlib.sha256(b"\x01" + p + r).digest()
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
            else:
                r = hashlib.sha256(b"\x01" + r + p).digest()
            fn, sn = fn >> 1, sn >> 1
        assert sn == 0 and r == root
        assert json.loads(item["record"])["kind"] == "observation"
    return len(bundle["entries"])


def test_an_independent_rfc9162_check_accepts_good_bundles(world: dict[str, Any]) -> None:
    assert independent_check(world["first"]) == 2
    assert independent_check(world["second"]) == 9


def test_an_independent_rfc9162_check_refuses_a_tampered_record(world: dict[str, Any]) -> None:
    bundle = copy.deepcopy(world["first"])
    bundle["entries"][0]["record"] = bundle["entries"][0]["record"].replace(
        '"count":1', '"count":5'
    )
    with pytest.raises(AssertionError):
        independent_check(bundle)


def test_bundle_needs_no_database(world: dict[str, Any], tmp_path: Path) -> None:
    """The checking side imports nothing of the store (a party has no database)."""
    import subprocess
    import sys

    path = tmp_path / "b.json"
    path.write_text(json.dumps(world["first"]))
    code = (
        "import sys, json\n"
        "from ceasefire.ledger.bundle import verify_bundle\n"
        f"r = verify_bundle(open({str(path)!r}).read())\n"
        "assert 'sqlalchemy' not in sys.modules, 'the bundle check loaded the database layer'\n"
        "print(r.entries)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"
