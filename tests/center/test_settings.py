"""The center's settings: one file, then CEASEFIRE_* variables, then options; errors named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ceasefire.center import Settings, load_settings
from ceasefire.center.settings import load_with_origins
from ceasefire.errors import InputError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "center.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_file_variables_or_options_the_defaults_hold() -> None:
    assert load_settings(environ={}) == Settings()
    assert Settings().port == 8000 and Settings().escalate_every == 60.0


def test_options_win_over_variables_which_win_over_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[center]\nport = 9000\nhost = "127.0.0.2"\nescalate_every = 5\n'
        '[center.witnesses]\nRU = "http://127.0.0.1:8180"\n',
    )
    environ = {"CEASEFIRE_PORT": "9100", "CEASEFIRE_HOST": "127.0.0.3", "CEASEFIRE_LANG": "ru"}
    found, origin = load_with_origins(path, environ, port=9200, db=None)
    assert found.port == 9200 and origin["port"] == "options"
    assert found.host == "127.0.0.3" and origin["host"] == "environment"
    assert found.escalate_every == 5.0 and origin["escalate_every"] == str(path)
    assert found.witnesses == {"RU": "http://127.0.0.1:8180"}
    assert "db" not in origin and found.db is None  # an option given as None is not given


def test_the_file_may_be_named_by_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, 'mission = "mini"\n')  # top-level keys: read as [center]
    assert load_settings(environ={"CEASEFIRE_CONFIG": str(path)}).mission == "mini"
    assert load_settings(path, environ={}).mission == "mini"


def test_every_bad_value_is_named_with_its_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, '[center]\nport = 70000\nbogus = 1\nescalate_every = "x"\n')
    with pytest.raises(InputError) as refused:
        load_settings(path, environ={})
    where = {(p.file, p.field) for p in refused.value.problems}
    assert where == {(str(path), "port"), (str(path), "bogus"), (str(path), "escalate_every")}
    reasons = {p.field: p.reason for p in refused.value.problems}
    assert reasons["port"] == "a port is a number from 0 to 65535"
    assert "not a setting" in reasons["bogus"]


def test_a_bad_variable_or_option_is_named_as_such() -> None:
    environ = {"CEASEFIRE_ESCALATE_EVERY": "inf", "CEASEFIRE_WITNESSES": "RU=ftp://x"}
    with pytest.raises(InputError) as refused:
        load_settings(None, environ, cot_udp_port=-1)
    where = {(p.file, p.field) for p in refused.value.problems}
    assert where == {
        ("environment", "CEASEFIRE_ESCALATE_EVERY"),
        ("environment", "CEASEFIRE_WITNESSES"),
        ("options", "--cot-udp-port"),
    }


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    broken = write(tmp_path, "[center\nport = ")
    with pytest.raises(InputError, match=r"center\.toml"):
        load_settings(broken, environ={})
    with pytest.raises(InputError, match=r"missing\.toml"):
        load_settings(tmp_path / "missing.toml", environ={})
    other = write(tmp_path, "[center]\nport = 1\n[centre]\nport = 2\n")
    with pytest.raises(InputError) as refused:
        load_settings(other, environ={})
    assert refused.value.problems[0].field == "centre"


def test_config_show_and_validate(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CEASEFIRE_CONFIG", raising=False)
    monkeypatch.delenv("CEASEFIRE_DB", raising=False)
    monkeypatch.setenv("CEASEFIRE_COT_TCP_PORT", "9087")
    path = write(tmp_path, '[center]\nport = 9000\n[center.witnesses]\nRU = "http://h:1"\n')
    shown = cli("--config", str(path), "config", "show", "--format", "json")
    assert shown.code == 0, shown.err
    data = shown.json()
    assert data["settings"]["port"] == 9000 and data["sources"]["port"] == str(path)
    assert data["settings"]["cot_tcp_port"] == 9087
    assert data["sources"]["cot_tcp_port"] == "CEASEFIRE_COT_TCP_PORT"
    assert data["sources"]["host"] == "default"
    text = cli("--config", str(path), "config", "show")
    assert text.code == 0, text.err
    # what it prints is a settings file that reads back as the same settings
    again = write(tmp_path, text.out)
    assert load_settings(again, environ={}).model_dump() == {
        **Settings().model_dump(),
        "port": 9000,
        "cot_tcp_port": 9087,
        "witnesses": {"RU": "http://h:1"},
    }
    assert cli("config", "validate", str(path)).code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("port = -1\n", encoding="utf-8")
    result = cli("config", "validate", str(bad))
    assert result.code == 1 and f"{bad}, port: a port is a number" in result.err
    nothing = cli("config", "validate")
    assert nothing.code == 1 and "CEASEFIRE_CONFIG" in nothing.err
    assert json.loads(cli("config", "show", "--format", "json").out)["sources"]["port"] == (
        "default"
    )


def test_serve_takes_its_ports_from_the_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "[center]\nport = 0\ncot_tcp_port = 0\ncot_udp_port = 0\n")
    result = cli("--config", str(path), "serve")
    assert result.code == 1 and "every listener is disabled" in result.err


def test_the_key_directory_and_witnesses_come_from_the_settings(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys"
    path = write(tmp_path, f'[center]\nkeys = "{keys}"\n')
    made = cli("--config", str(path), "keys", "init")
    assert made.code == 0, made.err
    assert (keys / "center.vkey").exists()
    shown = cli("--config", str(path), "keys", "show")
    assert shown.code == 0 and "center" in shown.out
    wrong = write(tmp_path, f'[center]\nkeys = "{keys}"\n[center.witnesses]\nXX = "http://h:1"\n')
    refused = cli("--config", str(wrong), "keys", "show")
    assert refused.code == 1 and "witnesses, XX=http://h:1" in refused.err
