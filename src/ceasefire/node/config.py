"""A node's settings: ``node.toml`` in the node's directory, overridden on the command line.

```toml
contingent = "RU"
mission = "karabakh-2020"          # a built-in mission's name or a mission directory
center = "http://10.10.0.1:8000"   # the center's API
transport = "http"                 # or "nats": JetStream
nats = "nats://127.0.0.1:4222"     # with transport = "nats"
key = "RU.intake.skey"             # default <contingent>.intake.skey; paths from this file
outbox = "outbox.db"
batch = 1000                       # records per forwarded batch
host = "127.0.0.1"                 # where the node's own sensors reach it
http_port = 8300                   # the node's HTTP intake; 0: a free port; -1: none
cot_tcp_port = 8087                # -1: none
cot_udp_port = 6969                # -1: none
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.ledger.keys import _read, origin_of
from ceasefire.ledger.note import Ed25519Signer, KeyFormatError
from ceasefire.ledger.origin import intake_key_name

CONFIG_FILE = "node.toml"


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contingent: str = Field(pattern=r"^[A-Z]{2,3}$")
    mission: str
    center: str = "http://127.0.0.1:8000"
    transport: Literal["http", "nats"] = "http"
    nats: str = "nats://127.0.0.1:4222"
    nats_namespace: str = Field(default="ceasefire", pattern=r"^[A-Za-z0-9_-]+$")
    key: Path | None = None
    outbox: Path = Path("outbox.db")
    batch: int = Field(default=1000, ge=1, le=10_000)
    host: str = "127.0.0.1"
    http_port: int = Field(default=8300, ge=-1, le=65535)
    cot_tcp_port: int = Field(default=8087, ge=-1, le=65535)
    cot_udp_port: int = Field(default=6969, ge=-1, le=65535)

    def key_path(self) -> Path:
        return self.key or Path(f"{self.contingent}.intake.skey")


def load_config(directory: Path, **overrides: Any) -> NodeConfig:
    """``directory``/node.toml (if there) with ``overrides`` (None: not given) on top; paths
    are made relative to ``directory``."""
    path = directory / CONFIG_FILE
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise InputError(Problem(file=str(path), field="", reason=str(e))) from e
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        config = NodeConfig.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise InputError(
            Problem(
                file=str(path),
                field=".".join(str(p) for p in first["loc"]),
                reason=first["msg"],
            )
        ) from None
    config.key = directory / config.key_path()
    config.outbox = directory / config.outbox
    return config


def load_signer(path: Path, mission_id: str, contingent: str) -> Ed25519Signer:
    """The node's intake signer key, checked to be this mission's key for this contingent."""
    text = _read(path, True)
    try:
        signer = Ed25519Signer.from_skey(text)
    except KeyFormatError as e:
        raise InputError(Problem(file=str(path), field="", reason=str(e))) from e
    expected = intake_key_name(origin_of(mission_id), contingent)
    if signer.name != expected:
        raise InputError(
            Problem(
                file=str(path),
                field="",
                reason=_("the key is named {name}, not {expected}").format(
                    name=signer.name, expected=expected
                ),
            )
        )
    return signer
