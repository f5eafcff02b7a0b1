"""The center's settings: one validated TOML file, then ``CEASEFIRE_*`` variables, then options.

Each later source overrides the earlier one field by field (an option given on the command line
wins over the environment, which wins over the file). Every problem is reported at once and
names where the bad value came from: the file and its field, the variable, or the option.
The values are read here and checked by pydantic; nothing else in the center reads them.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.ingest.listeners import TCP_PORT, UDP_PORT
from ceasefire.ingest.tls import TLS_PORT
from ceasefire.workflow.scheduler import DEFAULT_INTERVAL

CONFIG_ENV = "CEASEFIRE_CONFIG"
"""The variable naming the settings file when no ``--config`` is given."""
ENV_PREFIX = "CEASEFIRE_"
ENVIRONMENT, OPTIONS = "environment", "options"


class Settings(BaseModel):
    """Where the center's parts are and how it listens (see docs/config.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    db: str | None = Field(
        None,
        description="Database URL or SQLite path (default: the embedded file).",
    )
    mission: str | None = Field(
        None, description="Built-in mission name or mission folder (default karabakh-2020)."
    )
    keys: Path | None = Field(
        None,
        description="The center's key directory (default $CEASEFIRE_KEYS/MISSION, else "
        "$XDG_DATA_HOME/ceasefire/keys/MISSION).",
    )
    witnesses: dict[str, str] = Field(
        default_factory=dict,
        description="Each contingent's witness URL (overrides witnesses.toml in the key "
        "directory).",
    )
    host: str = Field("127.0.0.1", min_length=1, description="Address the center listens on.")
    port: int = Field(8000, description="HTTP port of the API (0: no HTTP).")
    cot_tcp_port: int = Field(TCP_PORT, description="CoT / TAK stream port over TCP (0: none).")
    cot_udp_port: int = Field(UDP_PORT, description="CoT / TAK mesh port over UDP (0: none).")
    cot_certs: Path | None = Field(
        None,
        description="Directory of `ceasefire certs init`: serves CoT over TLS, each client's "
        "certificate naming its contingent.",
    )
    cot_tls_port: int = Field(TLS_PORT, description="CoT / TAK port over TLS, with cot_certs.")
    cot_tcp_contingent: str | None = Field(
        None,
        description="The contingent the plain TCP listener sends for (none: it refuses every "
        "event in a contingent's name).",
    )
    cot_udp_contingent: str | None = Field(
        None,
        description="The contingent the UDP listener sends for (none: it refuses every event "
        "in a contingent's name).",
    )
    escalate_every: float = Field(
        DEFAULT_INTERVAL,
        description="Seconds between passes escalating overdue decisions (0: never).",
    )
    nats: str | None = Field(
        None,
        description="NATS server URL: also take the contingent nodes' batches from JetStream "
        "(docs/nodes.md).",
    )
    dispatch: bool = Field(
        True,
        description="Run the dispatcher that sends the notices (docs/direct-lines.md).",
    )
    smtp: str = Field(
        "127.0.0.1:25", min_length=3, description="host:port of the SMTP relay for e-mail notices."
    )
    smtp_from: str = Field("", description="The From address of e-mail notices.")
    tak_certs: Path | None = Field(
        None,
        description="Directory of the center's TAK certificates, for tls:// TAK addresses: the "
        "TAK server's authority (ca.pem) and the certificate it issued to the center "
        "(client.pem, client.key).",
    )
    tiles: Path | None = Field(
        None,
        description="An MBTiles file of raster tiles (PNG, JPEG or WebP) drawn beneath the "
        "map, served by the center at /tiles/{z}/{x}/{y} (none: the Natural Earth borders and "
        "the mission's layers only).",
    )
    workers: int = Field(
        1, ge=1, le=64, description="API processes sharing the HTTP port (`serve --workers`)."
    )
    checkpoint_every: float = Field(
        0.0,
        description="Seconds between checkpoints cosigned by every contingent's witness, made "
        "by whichever center holds the checkpointer's lease (0: only `ceasefire checkpoint`).",
    )

    @field_validator("port", "cot_tcp_port", "cot_udp_port", "cot_tls_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError(_("a port is a number from 0 to 65535"))
        return value

    @field_validator("escalate_every", "checkpoint_every")
    @classmethod
    def _seconds(cls, value: float) -> float:
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(_("a number of seconds, 0 or more"))
        return value

    @field_validator("witnesses")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        for contingent, url in value.items():
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    _("{contingent}: a witness URL starts with http:// or https://").format(
                        contingent=contingent
                    )
                )
        return value


FIELDS = tuple(Settings.model_fields)

# CEASEFIRE_KEYS keeps the meaning it had before settings existed: the folder under which each
# mission's key directory lies (see ceasefire.ledger.keys.default_dir), not the directory itself.
_NOT_FROM_ENV = {"keys"}


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in FIELDS:
        name = env_name(field)
        if field in _NOT_FROM_ENV or name not in environ:
            continue
        text = environ[name]
        if field == "witnesses":  # RU=http://...,TR=http://..., as the --witness option
            values[field] = dict(
                part.strip().partition("=")[::2] for part in text.split(",") if part.strip()
            )
        else:
            values[field] = text
    return values


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as error:
        raise InputError(
            Problem(file=str(path), field="", reason=error.strerror or str(error))
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(Problem(file=str(path), field="", reason=str(error))) from None
    # The settings are the [center] table, or the top-level keys of a file without one.
    if "center" not in data:
        return data
    others = sorted(k for k in data if k != "center")
    if others or not isinstance(data["center"], dict):
        raise InputError(
            Problem(
                file=str(path),
                field=(others or ["center"])[0],
                reason=_("the settings are one table, [center]"),
            )
        )
    return dict(data["center"])


def config_path(
    config: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The settings file: the one given, else $CEASEFIRE_CONFIG, else none."""
    if config is not None:
        return Path(config)
    named = (os.environ if environ is None else environ).get(CONFIG_ENV)
    return Path(named) if named else None


def load_settings(
    config: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> Settings:
    """The settings from the file (``config`` or $CEASEFIRE_CONFIG), the environment and the
    options given (those that are ``None`` are not given). Raises ``InputError`` naming each
    bad value's file and field, variable or option."""
    return load_with_origins(config, environ, **options)[0]


def load_with_origins(
    config: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> tuple[Settings, dict[str, str]]:
    """:func:`load_settings`, and where each value given came from (the file's path,
    ``environment`` or ``options``); a field not named took its default."""
    environ = os.environ if environ is None else environ
    path = config_path(config, environ)
    layers: list[tuple[str, dict[str, Any]]] = []
    if path is not None:
        layers.append((str(path), _from_file(path)))
    layers.append((ENVIRONMENT, _from_env(environ)))
    layers.append((OPTIONS, {k: v for k, v in options.items() if v is not None}))
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, values in layers:
        for key, value in values.items():
            merged[key] = value
            origin[key] = source
    try:
        return Settings.model_validate(merged), origin
    except pydantic.ValidationError as error:
        raise InputError([_problem(e, origin) for e in error.errors()]) from None


def _problem(error: Any, origin: dict[str, str]) -> Problem:
    loc = [str(part) for part in error["loc"]]
    field = loc[0] if loc else ""
    source = origin.get(field, "")
    reason = error["msg"]
    if error["type"] == "value_error":  # our own checks: their message as it is
        reason = str(error["ctx"]["error"])
    if error["type"] == "extra_forbidden":
        reason = _("not a setting; the settings are {names}").format(names=", ".join(FIELDS))
    if source == ENVIRONMENT:
        return Problem(file=_("environment"), field=env_name(field), reason=reason)
    if source == OPTIONS:
        return Problem(file=_("options"), field="--" + field.replace("_", "-"), reason=reason)
    return Problem(file=source, field=".".join(loc), reason=reason)


__all__ = [
    "CONFIG_ENV",
    "Settings",
    "config_path",
    "env_name",
    "load_settings",
    "load_with_origins",
]
